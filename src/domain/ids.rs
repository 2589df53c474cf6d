//! Identifiers. Room and member ids are ULIDs kept as their 26-character text, so both stores, URLs and
//! GraphQL use the same sortable string; GIF names are 128 random bits in hex.

use std::fmt;

use rand::RngCore;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id, sortable by creation time.
            pub fn generate() -> Self {
                Self(ulid::Ulid::new().to_string())
            }

            /// Parses a ULID from untrusted text; `None` for anything else, so a malformed id is simply
            /// "not found" rather than an internal error.
            pub fn parse(text: &str) -> Option<Self> {
                ulid::Ulid::from_string(text.trim()).ok().map(|u| Self(u.to_string()))
            }

            /// The canonical 26-character text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

ulid_id!(
    /// Identifies a room.
    RoomId
);
ulid_id!(
    /// Identifies an anonymous member (one per browser session).
    MemberId
);

/// The stored name of an uploaded GIF: 32 lowercase hex digits (128 random bits), never the client's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct GifName(String);

impl GifName {
    /// A fresh random name; 128 bits make names unguessable, so a GIF URL is as private as the room.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Accepts exactly 32 lowercase hex digits, optionally followed by `.gif`; anything else (path
    /// separators, dots, other lengths) is refused, so a name can never escape the GIF folder.
    pub fn parse(text: &str) -> Option<Self> {
        let stem = text.strip_suffix(".gif").unwrap_or(text);
        let ok = stem.len() == 32 && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(stem.to_owned()))
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The public URL path of this GIF.
    pub fn url(&self) -> String {
        format!("/gif/{}.gif", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_room_id_parses_back_to_itself() {
        let id = RoomId::generate();
        assert_eq!(RoomId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn garbage_and_object_ids_are_not_room_ids() {
        assert_eq!(RoomId::parse("../etc/passwd"), None);
        assert_eq!(RoomId::parse("64b7f0c2a1e4d5f6a7b8c9d0"), None);
        assert_eq!(RoomId::parse(""), None);
    }

    #[test]
    fn gif_names_refuse_path_tricks() {
        let name = GifName::generate();
        assert_eq!(GifName::parse(&format!("{}.gif", name.as_str())), Some(name.clone()));
        assert_eq!(GifName::parse("../../secret"), None);
        assert_eq!(GifName::parse(&name.as_str().to_uppercase()), None);
        assert_eq!(GifName::parse(&format!("{}.html", name.as_str())), None);
    }

    #[test]
    fn two_generated_gif_names_differ() {
        assert_ne!(GifName::generate(), GifName::generate());
    }
}
