//! The lobby's room listing, shared by both backends: its order, its keyset cursors and its title filter.
//!
//! Order: rooms with somebody present come first, most recent activity (last message, whisper or GIF;
//! creation time before any) first; then empty rooms, newest first. Ties break on the id (a ULID, so
//! creation order). A cursor is the sort key of the last room of a page, not a position, so a page
//! continues correctly when rooms are created or deleted meanwhile; a room whose key changed between
//! two pages (someone entered, or posted) may be seen twice or not at all — clients de-duplicate by id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::{Millis, Room, RoomId};

/// Where a page of rooms ends: the sort key of its last room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomCursor {
    /// A room with somebody present, by (activity, id), both descending.
    Active {
        /// Its `activity_at`.
        at: Millis,
        /// Its id.
        id: RoomId,
    },
    /// An empty room, by id descending (newest first).
    Idle {
        /// Its id.
        id: RoomId,
    },
}

impl RoomCursor {
    /// The sort key of `room` (where a page ending with it ends).
    pub fn of(room: &Room) -> RoomCursor {
        if room.member_count > 0 {
            RoomCursor::Active { at: room.activity_at, id: room.id.clone() }
        } else {
            RoomCursor::Idle { id: room.id.clone() }
        }
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let plain = match self {
            RoomCursor::Active { at, id } => format!("a:{at}:{id}"),
            RoomCursor::Idle { id } => format!("i:{id}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a cursor this server handed out; `None` for anything else.
    pub fn decode(text: &str) -> Option<RoomCursor> {
        // A cursor is short; refuse long input before decoding it.
        if text.len() > 96 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        let mut parts = plain.split(':');
        let cursor = match (parts.next()?, parts.next(), parts.next()) {
            ("a", Some(at), Some(id)) => RoomCursor::Active { at: at.parse().ok()?, id: RoomId::parse(id)? },
            ("i", Some(id), None) => RoomCursor::Idle { id: RoomId::parse(id)? },
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
    }
}

/// One page request for the room listing.
#[derive(Debug, Clone)]
pub struct RoomQuery {
    /// At most this many rooms.
    pub first: u32,
    /// Only rooms after this one in the listing order.
    pub after: Option<RoomCursor>,
    /// Only rooms whose folded title contains this folded text, matched literally ([`fold`]).
    pub title: Option<String>,
}

/// One page of the room listing.
#[derive(Debug, Clone)]
pub struct RoomsPage {
    /// The rooms, in listing order.
    pub rooms: Vec<Room>,
    /// Whether more rooms follow the last one.
    pub has_next: bool,
    /// How many rooms match the filter in all (every page).
    pub total: u64,
}

/// Case folding for the title filter, done in Rust for both backends so they agree on every script:
/// the stored `title_folded` and the search text both go through it, and matching is plain substring.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// `text` as a PCRE pattern that matches exactly itself: every ASCII character that is not a letter or a
/// digit gets a backslash (in PCRE a backslash before a non-alphanumeric character always means that
/// character literally); other characters are literal already. For MongoDB's `$regex`.
pub fn literal_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii() && !c.is_ascii_alphanumeric() && !c.is_ascii_whitespace() && !c.is_ascii_control() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_itself() {
        let id = RoomId::generate();
        for c in [RoomCursor::Active { at: 1_733_000_000_123, id: id.clone() }, RoomCursor::Idle { id }] {
            assert_eq!(RoomCursor::decode(&c.encode()), Some(c));
        }
    }

    #[test]
    fn text_that_is_not_a_cursor_of_ours_is_refused() {
        let id = RoomId::generate();
        for bad in [
            String::new(),
            "a:1:2".into(),
            "%%%".into(),
            URL_SAFE_NO_PAD.encode(format!("i:{id}:extra")),
            URL_SAFE_NO_PAD.encode(format!("a:soon:{id}")),
            URL_SAFE_NO_PAD.encode("i:../../etc"),
            "A".repeat(4000),
        ] {
            assert_eq!(RoomCursor::decode(&bad), None, "{bad}");
        }
        assert!(RoomCursor::decode(&URL_SAFE_NO_PAD.encode(format!("i:{id}"))).is_some(), "positive control");
    }

    #[test]
    fn a_literal_pattern_escapes_every_regex_operator() {
        assert_eq!(literal_pattern("a.b*c"), "a\\.b\\*c");
        assert_eq!(literal_pattern("(x|y)$^[z]{2}\\"), "\\(x\\|y\\)\\$\\^\\[z\\]\\{2\\}\\\\");
        assert_eq!(literal_pattern("수다 방 100%"), "수다 방 100\\%");
    }

    #[test]
    fn folding_is_unicode_aware() {
        assert_eq!(fold("ÉCOLE Straße ΣΟΦΙΑ"), "école straße σοφια");
        assert_eq!(fold("수다방"), "수다방");
    }
}
