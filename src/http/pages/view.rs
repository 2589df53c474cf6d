//! What the templates show: rooms and events turned into plain strings and flags, so templates hold no
//! logic beyond loops and conditions. The browser client builds the same markup for live events
//! (`static/js/render.js`); both must agree on classes and structure.

use crate::domain::{Color, EventKind, MemberId, Room, RoomEvent};
use crate::graphql::rfc3339;
use crate::http::texts::Texts;

/// Colours darker than this luminance get light text, lighter ones dark text. At 0.179 the contrast
/// with black and with white is equal (about 4.6:1), so either choice stays above WCAG AA's 4.5:1.
const DARK_BELOW: f64 = 0.179;

/// A member's colour with the ink that stays readable on it.
pub struct Swatch {
    /// `#rrggbb`.
    pub color: String,
    /// `"light"` or `"dark"` text on this colour.
    pub ink: &'static str,
}

impl Swatch {
    /// The swatch of `member`.
    pub fn of(member: &MemberId) -> Swatch {
        let color = Color::of(member.as_str());
        let ink = if color.luminance() < DARK_BELOW { "light" } else { "dark" };
        Swatch { color: color.to_string(), ink }
    }
}

/// One row of the lobby table.
pub struct RoomRow {
    pub id: String,
    pub title: String,
    pub secret: bool,
    pub capacity: u32,
    pub member_count: u32,
    pub full: bool,
    /// The owner kicked the reader from this room: no 입장, a short reason instead.
    pub removed: bool,
    /// The owner's colour, if the room has an owner.
    pub owner: Option<Swatch>,
    /// Whether the reader owns it.
    pub owner_is_me: bool,
    /// Sort key for live updates (`static/js/lobby.js`): somebody is present, and the activity time.
    pub active: bool,
    /// `activity_at` in milliseconds.
    pub activity_at: i64,
}

impl RoomRow {
    /// The row of `room` as `reader` sees it (identity by member id, never by colour; none for a visitor
    /// without a session); `removed` when the owner kicked the reader from it.
    pub fn new(room: Room, reader: Option<&MemberId>, removed: bool) -> RoomRow {
        RoomRow {
            id: room.id.to_string(),
            full: room.is_full(),
            removed,
            active: room.member_count > 0,
            activity_at: room.activity_at,
            // An owner is shown only while someone is in the room: an empty room has nobody in charge.
            owner_is_me: room.member_count > 0 && reader.is_some() && room.owner.as_ref() == reader,
            owner: room.owner.as_ref().filter(|_| room.member_count > 0).map(Swatch::of),
            title: room.title,
            secret: room.secret,
            capacity: room.capacity,
            member_count: room.member_count,
        }
    }
}

/// One message or notice in a room's history.
pub struct EventView {
    pub seq: i64,
    /// `mine`, `other` or `system` (the book's classes).
    pub class: &'static str,
    /// The actor's colour (none for events without a member).
    pub who: Option<Swatch>,
    /// Text of a message or whisper.
    pub text: Option<String>,
    /// A GIF's URL and its alt text.
    pub gif: Option<(String, String)>,
    /// A system notice in the reader's language.
    pub notice: Option<String>,
    /// Whether it is a whisper.
    pub whisper: bool,
    /// A whisper's label: to whom (the reader sent it) or "to you" (the reader received it).
    pub whisper_label: Option<String>,
    /// RFC 3339, for `<time datetime>`; the client shows it in local time.
    pub at: String,
    /// `HH:MM` (UTC) until the client localises it.
    pub at_short: String,
}

impl EventView {
    /// `event` as `reader` sees it, in the language of `t`.
    pub fn new(event: &RoomEvent, reader: &MemberId, t: &Texts) -> EventView {
        let who = event.member.as_ref().map(Swatch::of);
        let color = who.as_ref().map(|s| s.color.clone()).unwrap_or_default();
        let mine = event.member.as_ref() == Some(reader);
        let chat_class = if mine { "mine" } else { "other" };
        // A notice about the reader says so: "#53ac82 (나)님이 방장이 되었습니다.".
        let target_color = |m: &MemberId| {
            let color = Color::of(m.as_str()).to_string();
            if m == reader {
                format!("{color} ({})", t.yours)
            } else {
                color
            }
        };
        let subject = event.member.as_ref().map(target_color).unwrap_or_default();
        let (class, text, gif, notice, whisper) = match &event.kind {
            EventKind::Message { text } => (chat_class, Some(text.clone()), None, None, false),
            EventKind::Whisper { text, .. } => (chat_class, Some(text.clone()), None, None, true),
            EventKind::Gif { name, to } => {
                (chat_class, None, Some((name.url(), Texts::with_color(t.gif_alt, &color))), None, to.is_some())
            }
            EventKind::Joined => ("system", None, None, Some(Texts::with_color(t.joined, &subject)), false),
            EventKind::Left => ("system", None, None, Some(Texts::with_color(t.left, &subject)), false),
            EventKind::OwnerChanged { .. } => {
                ("system", None, None, Some(Texts::with_color(t.owner_changed, &subject)), false)
            }
            EventKind::Kicked { target } => {
                ("system", None, None, Some(Texts::with_color(t.kicked, &target_color(target))), false)
            }
        };
        // History holds only whispers the reader sent or received (the store filters them per reader).
        let whisper_label = match event.kind.recipient() {
            Some(to) if mine => Some(Texts::with_color(t.whisper_to, &target_color(to))),
            Some(_) => Some(t.whisper_to_me.to_owned()),
            None => None,
        };
        let at = rfc3339(event.at);
        let at_short = at.get(11..16).unwrap_or_default().to_owned();
        EventView { seq: event.seq, class, who, text, gif, notice, whisper, whisper_label, at, at_short }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RoomId;
    use crate::http::texts::{EN, KO};

    fn whisper(from: &MemberId, to: &MemberId) -> RoomEvent {
        let kind = EventKind::Whisper { to: to.clone(), text: "psst".into() };
        RoomEvent { room: RoomId::generate(), seq: 7, at: 0, member: Some(from.clone()), kind }
    }

    #[test]
    fn a_whisper_is_labelled_with_its_recipient_for_the_sender_and_as_yours_for_the_recipient() {
        let (a, b) = (MemberId::generate(), MemberId::generate());
        let sent = EventView::new(&whisper(&a, &b), &a, &KO);
        assert!(sent.whisper);
        assert_eq!(sent.class, "mine");
        assert_eq!(sent.whisper_label, Some(format!("{}님에게 귓속말", Color::of(b.as_str()))));
        let received = EventView::new(&whisper(&a, &b), &b, &EN);
        assert_eq!(received.class, "other");
        assert_eq!(received.whisper_label.as_deref(), Some("whisper to you"));
    }

    #[test]
    fn a_kick_notice_names_the_kicked_member_not_the_owner() {
        let (owner, target) = (MemberId::generate(), MemberId::generate());
        let kind = EventKind::Kicked { target: target.clone() };
        let event = RoomEvent { room: RoomId::generate(), seq: 3, at: 0, member: Some(owner.clone()), kind };
        let view = EventView::new(&event, &owner, &KO);
        assert_eq!(view.notice, Some(format!("{}님이 강퇴되었습니다.", Color::of(target.as_str()))));
        assert_eq!(view.whisper_label, None);
    }
}
