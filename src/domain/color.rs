//! Member colours: every member gets a stable display colour derived from
//! their member id, so the same person looks the same on every page and in
//! every client without storing anything. The derivation is a faithful port of
//! the npm package `color-hash` 2.0.1 with default options (`new
//! ColorHash().hex(id)`): the first 32 bits of the package's SHA-256 pick a hue
//! from 0..359 and one of three saturations and lightnesses, and the HSL result
//! is turned into `#rrggbb`. Matching that package bit for bit matters because the
//! browser side (and the book's palette) uses it, so a Rust-rendered colour
//! must never disagree with a JS-rendered one.

use sha2::{Digest, Sha256};
use std::fmt;

/// The saturation and lightness choices `color-hash` uses when none are given.
const LEVELS: [f64; 3] = [0.35, 0.5, 0.65];

/// A member's display colour, `#rrggbb` lowercase, computed from their member id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Color(String);

impl Color {
    /// Colour of `input` by the color-hash v2 algorithm (the book's palette).
    pub fn of(input: &str) -> Color {
        let (h, s, l) = hsl_of(input);
        let [r, g, b] = hsl_to_rgb(h, s, l);
        Color(format!("#{r:02x}{g:02x}{b:02x}"))
    }

    /// The `#rrggbb` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Relative luminance (WCAG 2.x) of the colour, 0.0..=1.0 — pages use it to pick a readable text/background pairing.
    pub fn luminance(&self) -> f64 {
        let [r, g, b] = self.channels();
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// The three 8-bit channels back out of the text; the text is always
    /// produced by `of`, so it is always well-formed.
    fn channels(&self) -> [u8; 3] {
        let hex = &self.0[1..];
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("Color is always #rrggbb");
        [byte(0), byte(2), byte(4)]
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The (hue, saturation, lightness) that `ColorHash.prototype.hsl` picks.
///
/// JS does the arithmetic in doubles, so it is mirrored in `f64` here. The
/// hash is below 2^32, so every quotient is exact enough that `ceil` never
/// lands differently from integer ceiling division — but doing it the JS way
/// keeps the port obviously line-for-line.
fn hsl_of(input: &str) -> (f64, f64, f64) {
    let mut hash = f64::from(package_sha256_prefix(input));
    // 359, not 360: the package's own quirk, which leaves hue 359 unused.
    let hue = hash % 359.0;
    hash = (hash / 360.0).ceil();
    let saturation = LEVELS[(hash % 3.0) as usize];
    hash = (hash / 3.0).ceil();
    let lightness = LEVELS[(hash % 3.0) as usize];
    (hue, saturation, lightness)
}

/// First 32 bits of SHA-256 over the UTF-8 bytes of `input` (the package's "first 8 hex digits").
///
/// The package's own SHA-256 port mis-pads a few non-ASCII strings whose multi-byte character straddles
/// its last block; member ids are ASCII ULIDs and never reach that case, so plain SHA-256 is used.
fn package_sha256_prefix(input: &str) -> u32 {
    let digest = Sha256::digest(input.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The package's `HSL2RGB`, kept in the same operation order so the doubles
/// round identically before `Math.round`.
fn hsl_to_rgb(hue: f64, saturation: f64, lightness: f64) -> [u8; 3] {
    let h = hue / 360.0;
    let q =
        if lightness < 0.5 { lightness * (1.0 + saturation) } else { lightness + saturation - lightness * saturation };
    let p = 2.0 * lightness - q;
    [h + 1.0 / 3.0, h, h - 1.0 / 3.0].map(|mut c| {
        if c < 0.0 {
            c += 1.0;
        }
        if c > 1.0 {
            c -= 1.0;
        }
        let v = if c < 1.0 / 6.0 {
            p + (q - p) * 6.0 * c
        } else if c < 0.5 {
            q
        } else if c < 2.0 / 3.0 {
            p + (q - p) * 6.0 * (2.0 / 3.0 - c)
        } else {
            p
        };
        js_round(v * 255.0)
    })
}

/// `Math.round` for the non-negative, at-most-255 values seen here: nearest
/// integer with halves going up, which is what `f64::round` does for
/// non-negative numbers (it differs from JS only for negative halves).
fn js_round(v: f64) -> u8 {
    v.round() as u8
}

/// WCAG 2.x sRGB channel linearisation. WCAG's 0.03928 threshold and sRGB's
/// 0.04045 agree on every 8-bit value (10/255 is below both, 11/255 above).
fn linear(channel: u8) -> f64 {
    let c = f64::from(channel) / 255.0;
    if c <= 0.03928 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abc_hashes_to_the_book_palette_colour() {
        assert_eq!(Color::of("abc").as_str(), "#e0d66c");
    }

    #[test]
    fn hello_hashes_to_the_book_palette_colour() {
        assert_eq!(Color::of("hello").as_str(), "#1f932d");
    }

    #[test]
    fn the_empty_string_still_gets_a_colour() {
        assert_eq!(Color::of("").as_str(), "#535dac");
    }

    #[test]
    fn text_with_spaces_and_capitals_hashes_like_the_npm_package() {
        assert_eq!(Color::of("Hello World").as_str(), "#7984d2");
    }

    #[test]
    fn ulid_member_ids_match_color_hash_2_0_1() {
        // Produced by `new ColorHash().hex(id)` from npm color-hash@2.0.1,
        // on randomly generated ULID-shaped ids.
        let vectors = [
            ("75MMEH1PS7XFSNBPVJ2AFE9F9Q", "#a887c5"),
            ("5NYR63H4EH77GB38T6M4DJBNK9", "#d29e79"),
            ("2A4GRC3SHM307FFRXGPGAVPPYH", "#2d56d2"),
            ("0MHB9DS4BYC6EQRE10VF43XX3Z", "#a8ac53"),
            ("1V6X6622PVKYMX04ZJM02TFQVW", "#4e783a"),
            ("3VVPBN986WV203MNHQB9CDVCCJ", "#b040bf"),
            ("032C7A5KK97RZCZ3HRD8SK1G08", "#3a4278"),
            ("7WE480FZW1B55H54H8S4C4FBJ2", "#d22d2d"),
            ("0P7ZB44CRE7N11CTE4C3AJAN5J", "#6ce089"),
            ("5TDHH9EWDG0KFABBETA9MKHCJN", "#ac5357"),
            ("4FP3PAXHDH88KFHPSYSP971QVM", "#864a2d"),
            ("4JKMM2CSJV9A9CNBCTMBPF5ABG", "#87c5c5"),
        ];
        for (id, hex) in vectors {
            assert_eq!(Color::of(id).as_str(), hex, "colour of {id}");
        }
    }

    #[test]
    fn hsl_steps_match_the_package_for_known_ids() {
        // Intermediate (H, S, L) from `ColorHash.hsl` in color-hash@2.0.1, so a
        // regression points at the hashing step rather than the RGB step.
        assert_eq!(hsl_of("abc"), (55.0, 0.65, 0.65));
        assert_eq!(hsl_of(""), (233.0, 0.35, 0.5));
        assert_eq!(hsl_of("7WE480FZW1B55H54H8S4C4FBJ2"), (0.0, 0.65, 0.5));
        assert_eq!(hsl_of("5TDHH9EWDG0KFABBETA9MKHCJN"), (357.0, 0.35, 0.5));
    }

    #[test]
    fn plain_text_uses_standard_sha256() {
        // First 32 bits of sha256("abc") from FIPS 180-4's own example.
        assert_eq!(package_sha256_prefix("abc"), 0xba7816bf);
        // Spans two blocks.
        assert_eq!(package_sha256_prefix(&"a".repeat(60)), 0x11ee3912);
    }

    #[test]
    fn non_ascii_text_matches_color_hash_2_0_1() {
        // Produced by `new ColorHash().hex(s)` from npm color-hash@2.0.1.
        assert_eq!(Color::of("ünïcødé ✓").as_str(), "#2db4d2");
        assert_eq!(Color::of("😀").as_str(), "#937e1f");
    }

    #[test]
    fn the_same_id_always_gets_the_same_colour() {
        assert_eq!(Color::of("01HZY3J8K0ABCDEFGHJKMNPQRS"), Color::of("01HZY3J8K0ABCDEFGHJKMNPQRS"));
    }

    #[test]
    fn display_prints_the_hex_text() {
        assert_eq!(Color::of("abc").to_string(), "#e0d66c");
    }

    #[test]
    fn output_is_always_lowercase_seven_character_hex() {
        for id in ["abc", "", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "ünïcødé ✓"] {
            let c = Color::of(id);
            let s = c.as_str();
            assert_eq!(s.len(), 7, "{s}");
            assert!(s.starts_with('#'));
            assert!(s[1..].chars().all(|ch| matches!(ch, '0'..='9' | 'a'..='f')), "{s}");
        }
    }

    #[test]
    fn luminance_of_black_and_white_are_the_wcag_extremes() {
        assert_eq!(Color("#000000".into()).luminance(), 0.0);
        assert!((Color("#ffffff".into()).luminance() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn luminance_weights_green_above_red_above_blue() {
        let red = Color("#ff0000".into()).luminance();
        let green = Color("#00ff00".into()).luminance();
        let blue = Color("#0000ff".into()).luminance();
        assert!((red - 0.2126).abs() < 1e-12);
        assert!((green - 0.7152).abs() < 1e-12);
        assert!((blue - 0.0722).abs() < 1e-12);
    }

    #[test]
    fn luminance_of_a_palette_colour_matches_the_wcag_formula() {
        // #e0d66c worked by hand with the WCAG 2.x formula.
        let expected = 0.2126 * ((224.0 / 255.0 + 0.055) / 1.055f64).powf(2.4)
            + 0.7152 * ((214.0 / 255.0 + 0.055) / 1.055f64).powf(2.4)
            + 0.0722 * ((108.0 / 255.0 + 0.055) / 1.055f64).powf(2.4);
        let got = Color::of("abc").luminance();
        assert!((got - expected).abs() < 1e-12);
        assert!((0.0..=1.0).contains(&got));
    }

    #[test]
    fn dark_channels_use_the_linear_segment() {
        // 10/255 is under WCAG's 0.03928 threshold, so it is divided, not powered.
        assert!((linear(10) - (10.0 / 255.0) / 12.92).abs() < 1e-15);
    }
}
