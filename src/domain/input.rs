//! Validated inputs. Each newtype can only be built through `parse`, so holding one proves the rule held.

use std::fmt;

/// Why an input was refused; the text is safe to show to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The title is empty after trimming.
    #[error("the room title is empty")]
    EmptyTitle,
    /// The title is over 80 characters.
    #[error("the room title is longer than {max} characters")]
    TitleTooLong {
        /// The limit.
        max: usize,
    },
    /// Control or bidirectional-override characters, which can spoof or hide text (or, in a title, a line break).
    #[error("the {field} contains control or text-direction characters")]
    ForbiddenCharacters {
        /// Which input.
        field: &'static str,
    },
    /// Capacity outside 2..=100.
    #[error("the capacity must be a whole number from {min} to {max}")]
    Capacity {
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// The message is empty after trimming.
    #[error("the message is empty")]
    EmptyMessage,
    /// The message is over 1000 characters.
    #[error("the message is longer than {max} characters")]
    MessageTooLong {
        /// The limit.
        max: usize,
    },
    /// The password is over the byte limit (checked before hashing, so huge inputs cost nothing).
    #[error("the password is longer than {max} bytes")]
    PasswordTooLong {
        /// The limit.
        max: usize,
    },
    /// The client key is not 1–64 printable ASCII characters.
    #[error("the client key must be 1 to 64 printable ASCII characters")]
    ClientKey,
}

/// Characters refused in titles and messages: C0/C1 controls and line breaks (except line breaks and tabs
/// where allowed), bidi embeddings/overrides/isolates (Trojan-Source style spoofing) and the BOM.
fn is_forbidden(c: char, allow_newlines: bool) -> bool {
    match c {
        '\n' | '\t' | '\r' | '\u{2028}' | '\u{2029}' if allow_newlines => false,
        // Unicode's line and paragraph separators are not controls but break a line as `\n` does, and a
        // title is one line (a lobby row, a CLI listing).
        '\u{2028}' | '\u{2029}' => true,
        c if c.is_control() => true,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}' => true,
        '\u{FEFF}' => true,
        _ => false,
    }
}

/// A room title: trimmed, 1–80 characters, no control or bidi-override characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomTitle(String);

impl RoomTitle {
    /// Longest title in characters (Unicode scalar values).
    pub const MAX_CHARS: usize = 80;

    /// Parses untrusted text into a title.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(InputError::EmptyTitle);
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(InputError::TitleTooLong { max: Self::MAX_CHARS });
        }
        if t.chars().any(|c| is_forbidden(c, false)) {
            return Err(InputError::ForbiddenCharacters { field: "title" });
        }
        Ok(Self(t.to_owned()))
    }

    /// The title text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many members a room admits at once: 2–100, default 10 (the book's default and minimum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity(u32);

impl Capacity {
    /// Smallest capacity; a room for one is not a chat.
    pub const MIN: u32 = 2;
    /// Largest capacity; bounds fan-out per room.
    pub const MAX: u32 = 100;
    /// The book's default.
    pub const DEFAULT: Capacity = Capacity(10);

    /// Checks a number.
    pub fn new(n: i64) -> Result<Self, InputError> {
        if (Self::MIN as i64..=Self::MAX as i64).contains(&n) {
            Ok(Self(n as u32))
        } else {
            Err(InputError::Capacity { min: Self::MIN, max: Self::MAX })
        }
    }

    /// Parses form text; empty means the default, anything not a whole number is refused.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Self::DEFAULT);
        }
        t.parse::<i64>().map_err(|_| InputError::Capacity { min: Self::MIN, max: Self::MAX }).and_then(Self::new)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Message text: trimmed, 1–1000 characters; line breaks allowed, other controls and bidi overrides not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Longest message in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Parses untrusted text into a message.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(InputError::EmptyMessage);
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(InputError::MessageTooLong { max: Self::MAX_CHARS });
        }
        if t.chars().any(|c| is_forbidden(c, true)) {
            return Err(InputError::ForbiddenCharacters { field: "message" });
        }
        Ok(Self(t.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A room password in clear text, only ever held long enough to hash or verify it. `Debug` is redacted
/// so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Longest password in bytes; checked before hashing so a 1 MB "password" costs nothing.
    pub const MAX_BYTES: usize = 256;

    /// Parses an optional password: absent or empty means "no password" (a public room).
    pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, InputError> {
        match text {
            None | Some("") => Ok(None),
            Some(t) if t.len() > Self::MAX_BYTES => Err(InputError::PasswordTooLong { max: Self::MAX_BYTES }),
            Some(t) => Ok(Some(Self(t.to_owned()))),
        }
    }

    /// The secret text (for the hasher only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A client-chosen key that makes `sendMessage` idempotent: a retry with the same key returns the first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey(String);

impl ClientKey {
    /// Accepts 1–64 printable ASCII characters (UUIDs, ULIDs, counters).
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let ok = (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InputError::ClientKey)
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed() {
        assert_eq!(RoomTitle::parse("  수다방 ").unwrap().as_str(), "수다방");
    }

    #[test]
    fn a_blank_title_is_refused() {
        assert_eq!(RoomTitle::parse(" \t "), Err(InputError::EmptyTitle));
    }

    #[test]
    fn eighty_characters_fit_but_eighty_one_do_not() {
        assert!(RoomTitle::parse(&"가".repeat(80)).is_ok());
        assert_eq!(RoomTitle::parse(&"가".repeat(81)), Err(InputError::TitleTooLong { max: 80 }));
    }

    #[test]
    fn bidi_overrides_and_controls_are_refused_in_titles() {
        for bad in ["abc\u{202E}cba", "a\u{0000}b", "a\nb", "\u{2066}x", "a\u{1b}[31m"] {
            assert!(RoomTitle::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn unicode_line_and_paragraph_separators_are_refused_in_titles_but_not_in_messages() {
        for sep in ['\u{2028}', '\u{2029}'] {
            let text = format!("first{sep}second");
            assert_eq!(RoomTitle::parse(&text), Err(InputError::ForbiddenCharacters { field: "title" }));
            assert_eq!(MessageText::parse(&text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn html_in_a_title_is_just_text() {
        assert!(RoomTitle::parse("<script>alert(1)</script>").is_ok());
    }

    #[test]
    fn capacity_accepts_two_to_one_hundred() {
        assert_eq!(Capacity::new(2).unwrap().get(), 2);
        assert_eq!(Capacity::new(100).unwrap().get(), 100);
        for bad in [1, 0, -5, 101, i64::MAX] {
            assert!(Capacity::new(bad).is_err());
        }
    }

    #[test]
    fn capacity_text_must_be_a_whole_number() {
        assert_eq!(Capacity::parse("").unwrap(), Capacity::DEFAULT);
        assert_eq!(Capacity::parse(" 7 ").unwrap().get(), 7);
        for bad in ["2.5", "1e3", "ten", "0x10", "99999999999999999999"] {
            assert!(Capacity::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_message_keeps_inner_newlines_but_not_escape_codes() {
        assert_eq!(MessageText::parse(" a\nb ").unwrap().as_str(), "a\nb");
        assert!(MessageText::parse("a\u{1b}b").is_err());
        assert_eq!(MessageText::parse("   "), Err(InputError::EmptyMessage));
    }

    #[test]
    fn a_message_of_a_thousand_characters_fits() {
        assert!(MessageText::parse(&"é".repeat(1000)).is_ok());
        assert!(MessageText::parse(&"é".repeat(1001)).is_err());
    }

    #[test]
    fn an_empty_password_means_a_public_room() {
        assert_eq!(Password::parse_optional(Some("")), Ok(None));
        assert_eq!(Password::parse_optional(None), Ok(None));
    }

    #[test]
    fn an_overlong_password_is_refused_before_hashing() {
        let huge = "x".repeat(1 << 20);
        assert!(Password::parse_optional(Some(&huge)).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password::parse_optional(Some("hunter2")).unwrap().unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn client_keys_are_short_printable_ascii() {
        assert!(ClientKey::parse("01HZX-abc").is_ok());
        assert!(ClientKey::parse("").is_err());
        assert!(ClientKey::parse("has space").is_err());
        assert!(ClientKey::parse(&"k".repeat(65)).is_err());
    }
}
