//! Room operations other than presence: create, enter, talk, upload, delete, read.

use std::sync::Arc;

use super::{Action, Hub, HubError};
use crate::domain::{
    now_millis, Capacity, ClientAddr, ClientKey, EventKind, GifName, LobbyEvent, MemberId, MessageText, Password, Room,
    RoomEvent, RoomId, RoomSignal, RoomTitle, Visibility,
};
use crate::gifcheck::{self, GifLimits};
use crate::store::{fold, Appended, NewRoom, Page, RoomCursor, RoomQuery, RoomRecord, RoomsPage};

/// Who created a room: a member (who becomes owner and has access) or the operator's CLI.
#[derive(Debug, Clone)]
pub enum Creator {
    /// A visitor, owner from the start, acting from a client address (none for in-process callers).
    Member(MemberId, Option<ClientAddr>),
    /// `gifchat rooms create`: no owner until someone enters.
    Operator {
        /// Never deleted for being empty.
        persistent: bool,
    },
}

/// Largest history page.
pub const MAX_PAGE: u32 = 100;

/// Largest page of the room listing.
pub const MAX_ROOMS_PAGE: u32 = 100;

/// Longest search text: titles are at most this long, so longer text could match nothing.
pub const MAX_SEARCH_CHARS: usize = RoomTitle::MAX_CHARS;

impl Hub {
    /// Creates a room; the creating member owns it. Lobbies hear of it at once.
    pub async fn create_room(
        &self,
        creator: Creator,
        title: &str,
        capacity: Option<i64>,
        password: Option<&str>,
    ) -> Result<Room, HubError> {
        let title = RoomTitle::parse(title)?;
        let capacity = capacity.map(Capacity::new).transpose()?.unwrap_or(Capacity::DEFAULT);
        let password = Password::parse_optional(password)?;
        let (owner, persistent) = match creator {
            Creator::Member(m, addr) => {
                self.check_rate(&m, addr, Action::CreateRoom)?;
                (Some(m), false)
            }
            Creator::Operator { persistent } => (None, persistent),
        };
        let password_hash = match password {
            Some(p) => Some(self.hasher.hash(p).await?),
            None => None,
        };
        let new = NewRoom {
            id: RoomId::generate(),
            title: title.as_str().to_owned(),
            capacity: capacity.get(),
            password_hash,
            owner,
            persistent,
            created_at: now_millis(),
        };
        let room = self.store.create_room(new, &self.origin).await?;
        self.bus.publish_lobby(LobbyEvent::Created(room.clone()));
        tracing::info!(room = %room.id, "room created");
        Ok(room)
    }

    /// Looks a room up, `NOT_FOUND` when missing.
    pub async fn room(&self, id: &RoomId) -> Result<RoomRecord, HubError> {
        self.store.room(id).await?.ok_or(HubError::NotFound)
    }

    /// Every room, oldest first (`gifchat rooms list`; the lobby pages through `rooms_page`).
    pub async fn rooms(&self) -> Result<Vec<Room>, HubError> {
        Ok(self.store.rooms().await?)
    }

    /// One page of the lobby's listing (rooms with people by latest activity, then empty rooms newest
    /// first): `first` rooms (default: the configured lobby page), after a cursor from an earlier page,
    /// whose titles contain `search` (case-insensitive, literal text; blank means every room).
    pub async fn rooms_page(
        &self,
        first: Option<i64>,
        after: Option<&str>,
        search: Option<&str>,
    ) -> Result<RoomsPage, HubError> {
        let first = match first {
            None => self.config.lobby_page,
            Some(n) if (1..=i64::from(MAX_ROOMS_PAGE)).contains(&n) => n as u32,
            Some(_) => return Err(HubError::invalid("BAD_INPUT", format!("first must be from 1 to {MAX_ROOMS_PAGE}"))),
        };
        let after = match after {
            None => None,
            Some(text) => Some(
                RoomCursor::decode(text)
                    .ok_or_else(|| HubError::invalid("BAD_INPUT", "after is not a cursor this server gave out"))?,
            ),
        };
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS) {
            return Err(HubError::invalid(
                "TOO_LONG",
                format!("the search text is longer than {MAX_SEARCH_CHARS} characters"),
            ));
        }
        let query = RoomQuery { first, after, title: search.map(fold) };
        Ok(self.store.rooms_page(&query).await?)
    }

    /// The rooms the owner kicked `member` from (the lobby shows them without an active 입장).
    pub async fn kicked_from(&self, member: &MemberId) -> Result<Vec<RoomId>, HubError> {
        Ok(self.store.kicked_from(member).await?)
    }

    /// Whether `member` may read and enter `rec` without a password: public room, owner, or granted earlier.
    pub fn has_access(rec: &RoomRecord, member: &MemberId, granted: bool) -> bool {
        !rec.room.secret || granted || rec.room.owner.as_ref() == Some(member)
    }

    /// `enterRoom`: exists → access (password) → capacity (advisory; the subscription takes the seat).
    /// Returns true when a password was checked and the caller should remember the grant in the session.
    /// Counts as a join; a password attempt is admitted by its own limits before Argon2 runs.
    pub async fn enter_room(
        &self,
        id: &RoomId,
        member: &MemberId,
        addr: Option<ClientAddr>,
        granted: bool,
        password: Option<&str>,
    ) -> Result<bool, HubError> {
        self.check_rate(member, addr, Action::Join)?;
        let rec = self.room(id).await?;
        // A kicked member is told so at once, before any password or capacity question.
        if self.store.is_kicked(id, member).await? {
            return Err(HubError::Removed);
        }
        let mut newly_granted = false;
        if !Self::has_access(&rec, member, granted) {
            let supplied = Password::parse_optional(password).map_err(|_| HubError::WrongPassword)?;
            let (Some(supplied), Some(hash)) = (supplied, rec.password_hash.clone()) else {
                return Err(HubError::WrongPassword);
            };
            self.limits.password_attempt(id, addr).map_err(HubError::RateLimited)?;
            if !self.hasher.verify(supplied, hash).await? {
                self.limits.password_wrong(id, addr);
                return Err(HubError::WrongPassword);
            }
            self.limits.password_right(id, addr);
            newly_granted = true;
        }
        if rec.room.is_full() && !self.is_member(id, member).await {
            return Err(HubError::RoomFull);
        }
        Ok(newly_granted)
    }

    /// `sendMessage`: members only; a retry with the same client key returns the first message.
    pub async fn send_message(
        &self,
        room: &RoomId,
        member: &MemberId,
        addr: Option<ClientAddr>,
        text: &str,
        key: Option<&str>,
    ) -> Result<Arc<RoomEvent>, HubError> {
        let text = MessageText::parse(text)?;
        let key = key.map(ClientKey::parse).transpose()?;
        let cell = self.existing_cell(room).ok_or(HubError::Forbidden("enter the room first"))?;
        let live = cell.live.lock().await;
        if !live.seats.contains_key(member) {
            return Err(HubError::Forbidden("enter the room first"));
        }
        let kind = EventKind::Message { text: text.as_str().to_owned() };
        self.check_rate(member, addr, Action::Message)?;
        // Appending and publishing under the room lock keeps publish order equal to `seq` order.
        match self.store.append_event(room, Some(member), &kind, key.as_ref(), now_millis()).await? {
            Appended::Existing(first) => Ok(Arc::new(first)),
            Appended::New(event) => {
                let event = Arc::new(event);
                self.bus.publish_room(room, RoomSignal::Event(event.clone()));
                Ok(event)
            }
        }
    }

    /// Whether `member` may upload to `room` now — seated there and within the upload rate — asked before
    /// the upload's body is read, so neither a stranger nor a flood gets megabytes buffered. Counts
    /// against the rate.
    pub async fn admit_upload(
        &self,
        room: &RoomId,
        member: &MemberId,
        addr: Option<ClientAddr>,
    ) -> Result<(), HubError> {
        if !self.is_member(room, member).await {
            return Err(HubError::Forbidden("enter the room first"));
        }
        self.check_rate(member, addr, Action::Upload)
    }

    /// `POST /room/:id/gif`, after [`Hub::admit_upload`]: members only; the bytes must decode completely as
    /// a GIF within `limits`; anything after the GIF trailer is dropped before storing. With `to`, a
    /// whispered GIF: stored and
    /// filtered exactly like a text whisper (`to` must be another member present in the room), and its
    /// file is served to the pair only. Public and whispered GIFs alike count toward the room's and the
    /// total GIF quota; a full one refuses with `QUOTA_EXCEEDED` and stores nothing.
    pub async fn post_gif(
        &self,
        room: &RoomId,
        member: &MemberId,
        to: Option<&MemberId>,
        mut bytes: Vec<u8>,
        limits: GifLimits,
    ) -> Result<Arc<RoomEvent>, HubError> {
        if !self.is_member(room, member).await {
            return Err(HubError::Forbidden("enter the room first"));
        }
        // Checked before the decoding work, and again under the room lock before the event is recorded.
        if let Some(to) = to {
            Self::check_recipient(member, to, self.is_member(room, to).await)?;
        }
        // Decoding is CPU work: keep it off the async workers, and a few at a time in all rooms together.
        let decode = self.decodes.clone().try_acquire_owned().map_err(|_| HubError::busy())?;
        let (checked, returned) = tokio::task::spawn_blocking(move || {
            let _decode = decode;
            let r = gifcheck::check(&bytes, &limits);
            (r, bytes)
        })
        .await
        .map_err(|e| HubError::from(crate::store::StoreError::Backend(format!("gif check task: {e}"))))?;
        bytes = returned;
        bytes.truncate(checked?);
        let name = GifName::generate();
        let visibility = match to {
            Some(to) => Visibility::Pair(member.clone(), to.clone()),
            None => Visibility::Room,
        };
        let cell = self.cell(room);
        let live = cell.live.lock().await;
        if !live.seats.contains_key(member) {
            return Err(HubError::Forbidden("enter the room first"));
        }
        if let Some(to) = to {
            Self::check_recipient(member, to, live.seats.contains_key(to))?;
        }
        // Stored under the room's lock, after the seat checks: a refused upload leaves nothing behind that
        // would count against the quota, and uploads to one room meet the quota one at a time.
        self.store_gif(room, &name, &visibility, bytes).await?;
        self.record(room, Some(member), EventKind::Gif { name, to: to.cloned() }).await
    }

    /// The rule for a whisper's recipient (text or GIF): someone else, present in the room now.
    pub(super) fn check_recipient(from: &MemberId, to: &MemberId, present: bool) -> Result<(), HubError> {
        if from == to {
            return Err(HubError::invalid("SELF", "you cannot whisper to yourself"));
        }
        if !present {
            return Err(HubError::invalid("NOT_PRESENT", "that member is not in this room"));
        }
        Ok(())
    }

    /// `deleteRoom`: the owner deletes the room; everyone inside is told, lobbies lose it.
    pub async fn delete_room(&self, room: &RoomId, member: &MemberId) -> Result<(), HubError> {
        let cell = self.room_cell(room).await?;
        let _live = cell.live.lock().await;
        let rec = self.room(room).await?;
        if rec.room.owner.as_ref() != Some(member) {
            return Err(HubError::Forbidden("only the owner can delete the room"));
        }
        self.remove_room_locked(room).await
    }

    /// `gifchat rooms delete`: the operator deletes any room.
    pub async fn delete_room_as_operator(&self, room: &RoomId) -> Result<(), HubError> {
        let cell = self.room_cell(room).await?;
        let _live = cell.live.lock().await;
        if !self.store.delete_room(room, &self.origin).await? {
            return Err(HubError::NotFound);
        }
        self.forget_room(room);
        Ok(())
    }

    /// History of a room for `reader`: the latest page, or the page before/after a `seq`.
    pub async fn messages(
        &self,
        room: &RoomId,
        reader: &MemberId,
        granted: bool,
        after: Option<i64>,
        before: Option<i64>,
        last: Option<i64>,
    ) -> Result<Vec<RoomEvent>, HubError> {
        let rec = self.room(room).await?;
        if !Self::has_access(&rec, reader, granted) {
            return Err(HubError::Forbidden("this room needs its password"));
        }
        // A kicked member is out for as long as the room exists: its later history included.
        if self.store.is_kicked(room, reader).await? {
            return Err(HubError::Removed);
        }
        let limit = last.unwrap_or(MAX_PAGE as i64).clamp(1, MAX_PAGE as i64) as u32;
        // Without `after`, the newest page of the range (scrolling back); with it, the oldest (catching up).
        let page = Page { after, before, limit, newest: after.is_none() };
        Ok(self.store.events(room, reader, page).await?)
    }
}
