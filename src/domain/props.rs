//! Property tests of the domain's parsers: for any input at all — every Unicode scalar, controls, bidi
//! marks, huge strings — `parse` never panics, anything accepted obeys the documented bounds and parses
//! back to itself, and anything refused gets exactly the error its rule names. The expected outcome is
//! worked out here from the documented rules (an oracle written apart from the code), not by calling it.
//!
//! Case counts are bounded (`CASES`) so the suite stays fast; proptest shrinks a failure to a small input
//! and records it under `proptest-regressions/` (commit those files: they are replayed first).

use proptest::prelude::*;

use super::{Capacity, ClientKey, Color, GifName, InputError, MemberId, MessageText, Password, RoomId, RoomTitle};

/// Cases per property: enough to find the boundaries below every run, few enough to stay quick.
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, ..ProptestConfig::default() }
}

/// Characters that sit on a rule's edge: line breaks and tabs, C0/C1 controls, every bidi mark the rules
/// name, the BOM, Unicode spaces that `trim` removes, look-alikes that are allowed (zero-width joiner,
/// non-breaking space), and multi-byte letters (the limits count characters, not bytes).
const EDGE: &[char] = &[
    '\0', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}', ' ', '\u{a0}',
    '\u{1680}', '\u{2000}', '\u{200b}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}', '\u{202a}',
    '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{061c}',
    '\u{3000}', '\u{feff}', '\u{fffd}', '가', 'é', '😀', 'a', '<', '&', '"',
];

/// Any character, weighted towards the edges above and printable ASCII.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => proptest::char::range(' ', '~'),
        4 => proptest::sample::select(EDGE),
    ]
}

/// Text of up to `max` hostile characters.
fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(hostile_char(), 0..=max).prop_map(|cs| cs.into_iter().collect())
}

/// Text that is allowed everywhere (letters, digits, punctuation, inner spaces), of `len` characters.
fn clean_text(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    let clean =
        prop_oneof![proptest::char::range('!', '~'), proptest::sample::select(&['가', 'é', '😀', '\u{200d}'][..])];
    proptest::collection::vec(clean, len).prop_map(|cs| cs.into_iter().collect())
}

/// Whitespace `str::trim` removes, to pad inputs with.
fn padding() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(&[' ', '\t', '\n', '\r', '\u{3000}', '\u{a0}', '\u{2028}'][..]),
        0..4,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// The documented forbidden set: C0/C1 controls, bidi embeddings/overrides/isolates and marks, the BOM —
/// and, in a title, line breaks (a title is one line: `\n`, `\r` and the Unicode line and paragraph
/// separators), while a message may break lines and hold tabs.
fn forbidden(c: char, in_message: bool) -> bool {
    let line_break = matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}');
    if in_message && (line_break || c == '\t') {
        return false;
    }
    line_break
        || c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{feff}')
}

/// What a title or message parser must answer for `text`, from the documented rules in their order.
fn expected_text(text: &str, max: usize, in_message: bool) -> Result<String, InputError> {
    let t = text.trim();
    let field = if in_message { "message" } else { "title" };
    if t.is_empty() {
        return Err(if in_message { InputError::EmptyMessage } else { InputError::EmptyTitle });
    }
    if t.chars().count() > max {
        return Err(if in_message { InputError::MessageTooLong { max } } else { InputError::TitleTooLong { max } });
    }
    if t.chars().any(|c| forbidden(c, in_message)) {
        return Err(InputError::ForbiddenCharacters { field });
    }
    Ok(t.to_owned())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_title_is_accepted_exactly_when_the_rules_allow_it(text in hostile_text(100)) {
        let got = RoomTitle::parse(&text).map(|t| t.as_str().to_owned());
        prop_assert_eq!(got, expected_text(&text, RoomTitle::MAX_CHARS, false));
    }

    #[test]
    fn an_accepted_title_is_trimmed_bounded_one_line_and_parses_back_to_itself(
        (pad_l, body, pad_r) in (padding(), clean_text(1..=100), padding()),
    ) {
        let input = format!("{pad_l}{body}{pad_r}");
        match RoomTitle::parse(&input) {
            Ok(title) => {
                let s = title.as_str();
                prop_assert_eq!(s, body.trim());
                prop_assert!((1..=RoomTitle::MAX_CHARS).contains(&s.chars().count()));
                prop_assert!(!s.chars().any(|c| forbidden(c, false)), "{:?}", s);
                prop_assert_eq!(RoomTitle::parse(s), Ok(title.clone()));
            }
            Err(e) => prop_assert_eq!(e, InputError::TitleTooLong { max: 80 }, "{:?}", input),
        }
    }

    #[test]
    fn a_message_is_accepted_exactly_when_the_rules_allow_it(text in hostile_text(1100)) {
        let got = MessageText::parse(&text).map(|m| m.as_str().to_owned());
        prop_assert_eq!(got, expected_text(&text, MessageText::MAX_CHARS, true));
    }

    #[test]
    fn an_accepted_message_keeps_its_inner_line_breaks_and_parses_back_to_itself(
        (pad, lines) in (padding(), proptest::collection::vec(clean_text(1..=40), 1..30)),
    ) {
        let body = lines.join("\n");
        let input = format!("{pad}{body}{pad}");
        match MessageText::parse(&input) {
            Ok(m) => {
                prop_assert_eq!(m.as_str(), body.as_str());
                prop_assert!(m.as_str().chars().count() <= MessageText::MAX_CHARS);
                prop_assert_eq!(MessageText::parse(m.as_str()), Ok(m.clone()));
            }
            Err(e) => {
                prop_assert!(body.chars().count() > MessageText::MAX_CHARS);
                prop_assert_eq!(e, InputError::MessageTooLong { max: 1000 });
            }
        }
    }

    #[test]
    fn capacity_accepts_exactly_two_to_one_hundred(n in prop_oneof![any::<i64>(), -5i64..120]) {
        let refused = InputError::Capacity { min: 2, max: 100 };
        let expected = if (2..=100).contains(&n) { Ok(n as u32) } else { Err(refused) };
        prop_assert_eq!(Capacity::new(n).map(Capacity::get), expected.clone());
        // The form's text of the same number, padded, gives the same answer and round-trips.
        prop_assert_eq!(Capacity::parse(&format!(" {n}\t")).map(Capacity::get), expected);
        if let Ok(c) = Capacity::new(n) {
            prop_assert_eq!(Capacity::parse(&c.get().to_string()), Ok(c));
        }
    }

    #[test]
    fn capacity_text_is_the_default_a_bounded_number_or_the_capacity_error(text in hostile_text(30)) {
        match Capacity::parse(&text) {
            Ok(c) if text.trim().is_empty() => prop_assert_eq!(c, Capacity::DEFAULT),
            Ok(c) => {
                prop_assert!((2..=100).contains(&c.get()));
                prop_assert_eq!(text.trim().parse::<i64>(), Ok(i64::from(c.get())));
            }
            Err(e) => prop_assert_eq!(e, InputError::Capacity { min: 2, max: 100 }),
        }
    }

    #[test]
    fn a_password_is_kept_byte_for_byte_up_to_its_limit_and_never_shown(text in hostile_text(300)) {
        match Password::parse_optional(Some(&text)) {
            Ok(None) => prop_assert!(text.is_empty()),
            Ok(Some(p)) => {
                prop_assert!(!text.is_empty() && text.len() <= Password::MAX_BYTES);
                prop_assert_eq!(p.expose(), text.as_str());
                prop_assert_eq!(format!("{p:?}"), "Password(<redacted>)");
            }
            Err(e) => {
                prop_assert!(text.len() > Password::MAX_BYTES);
                prop_assert_eq!(e, InputError::PasswordTooLong { max: 256 });
            }
        }
    }

    #[test]
    fn a_client_key_is_one_to_sixty_four_printable_ascii_characters(text in hostile_text(80)) {
        let ok = (1..=64).contains(&text.len()) && text.bytes().all(|b| (b'!'..=b'~').contains(&b));
        match ClientKey::parse(&text) {
            Ok(k) => {
                prop_assert!(ok, "{:?}", text);
                prop_assert_eq!(k.as_str(), text.as_str());
            }
            Err(e) => {
                prop_assert!(!ok, "{:?}", text);
                prop_assert_eq!(e, InputError::ClientKey);
            }
        }
    }

    #[test]
    fn anything_that_parses_as_an_id_is_a_canonical_ulid(text in prop_oneof![hostile_text(40), "[0-9A-Za-z]{26}"]) {
        for canonical in [RoomId::parse(&text).map(|i| i.to_string()), MemberId::parse(&text).map(|i| i.to_string())]
            .into_iter()
            .flatten()
        {
            // 26 Crockford base-32 digits: nothing that could leave a path, a URL segment or a query.
            prop_assert_eq!(canonical.len(), 26);
            prop_assert!(canonical.bytes().all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)), "{}", canonical);
            prop_assert_eq!(RoomId::parse(&canonical).map(|i| i.to_string()), Some(canonical.clone()));
            prop_assert_eq!(ulid::Ulid::from_string(text.trim()).map(|u| u.to_string()).ok(), Some(canonical));
        }
    }

    #[test]
    fn every_ulid_round_trips_in_either_case(bits in any::<u128>()) {
        let text = ulid::Ulid(bits).to_string();
        let id = RoomId::parse(&text).expect("a ULID is a room id");
        prop_assert_eq!(id.as_str(), text.as_str());
        prop_assert_eq!(RoomId::parse(&text.to_lowercase()), Some(id.clone()));
        prop_assert_eq!(MemberId::parse(&format!(" {text} ")).map(|m| m.to_string()), Some(text));
    }

    #[test]
    fn a_gif_name_is_thirty_two_lowercase_hex_digits_and_nothing_else(
        text in prop_oneof![hostile_text(40), "[0-9a-fA-F./]{30,40}", "[0-9a-f]{32}(\\.gif)?"],
    ) {
        let stem = text.strip_suffix(".gif").unwrap_or(&text);
        let ok = stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match GifName::parse(&text) {
            Some(name) => {
                prop_assert!(ok, "{:?}", text);
                prop_assert_eq!(name.as_str(), stem);
                prop_assert_eq!(name.url(), format!("/gif/{stem}.gif"));
                prop_assert_eq!(GifName::parse(&name.url()["/gif/".len()..]), Some(name));
            }
            None => prop_assert!(!ok, "{:?}", text),
        }
    }

    #[test]
    fn every_text_gets_a_well_formed_colour_with_a_luminance_in_range(text in hostile_text(200)) {
        let colour = Color::of(&text);
        let s = colour.as_str();
        prop_assert_eq!(s.len(), 7);
        prop_assert!(s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", s);
        prop_assert!((0.0..=1.0).contains(&colour.luminance()));
        prop_assert_eq!(Color::of(&text), colour, "the same text, the same colour");
    }
}

proptest! {
    // Huge inputs: a handful of cases each, as every case allocates megabytes.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn huge_inputs_are_refused_with_the_named_error_and_no_panic(
        (unit, reps) in (hostile_char(), 100_000usize..300_000),
    ) {
        let huge: String = std::iter::repeat_n(unit, reps).collect::<String>() + "x";
        prop_assert_eq!(RoomTitle::parse(&huge).map(|t| t.as_str().len()), expected_text(&huge, 80, false).map(|t| t.len()));
        prop_assert_eq!(MessageText::parse(&huge).map(|m| m.as_str().len()), expected_text(&huge, 1000, true).map(|t| t.len()));
        prop_assert_eq!(Password::parse_optional(Some(&huge)), Err(InputError::PasswordTooLong { max: 256 }));
        prop_assert_eq!(ClientKey::parse(&huge), Err(InputError::ClientKey));
        prop_assert_eq!(Capacity::parse(&huge), Err(InputError::Capacity { min: 2, max: 100 }));
        prop_assert_eq!(RoomId::parse(&huge), None);
        prop_assert_eq!(GifName::parse(&huge), None);
        prop_assert_eq!(Color::of(&huge).as_str().len(), 7);
    }
}
