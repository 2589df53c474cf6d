//! The `rooms` query's answer: a Relay-style cursor connection over the lobby's listing (see
//! `store::listing` for the order and what a cursor guarantees). Only this type may carry what depends on
//! the viewer (`RoomEdge.removed`): the lobby subscription's types are the same for every subscriber.

use std::collections::HashSet;

use async_graphql::{Object, SimpleObject};

use super::types::RoomObject;
use crate::domain::RoomId;
use crate::store::{RoomCursor, RoomsPage};

/// One page of rooms.
pub struct RoomConnection {
    /// The page from the store.
    pub page: RoomsPage,
    /// Whether the page was asked for after a cursor.
    pub after: bool,
    /// Rooms the viewer was removed from (kicked).
    pub removed: HashSet<RoomId>,
}

/// One page of rooms in the lobby's order, with its cursors and the total.
#[Object]
impl RoomConnection {
    /// The rooms of this page, each with its cursor.
    async fn edges(&self) -> Vec<RoomEdge> {
        self.page
            .rooms
            .iter()
            .map(|room| RoomEdge {
                cursor: RoomCursor::of(room).encode(),
                removed: self.removed.contains(&room.id),
                node: RoomObject(room.clone()),
            })
            .collect()
    }

    /// The rooms of this page, without cursors.
    async fn nodes(&self) -> Vec<RoomObject> {
        self.page.rooms.iter().cloned().map(RoomObject).collect()
    }

    /// Where this page ends and whether more follow.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            has_previous_page: self.after,
            start_cursor: self.page.rooms.first().map(|r| RoomCursor::of(r).encode()),
            end_cursor: self.page.rooms.last().map(|r| RoomCursor::of(r).encode()),
        }
    }

    /// How many rooms match (on every page together).
    async fn total_count(&self) -> i32 {
        i32::try_from(self.page.total).unwrap_or(i32::MAX)
    }
}

/// A room of a page with its cursor.
#[derive(SimpleObject)]
pub struct RoomEdge {
    /// Pass as `after` to continue after this room.
    pub cursor: String,
    /// The room.
    pub node: RoomObject,
    /// The owner removed you from this room: you cannot enter it again.
    pub removed: bool,
}

/// Paging state of a connection (Relay).
#[derive(SimpleObject)]
pub struct PageInfo {
    /// More rooms follow `endCursor`.
    pub has_next_page: bool,
    /// The page was asked for after a cursor (rooms come before it).
    pub has_previous_page: bool,
    /// Cursor of the first room of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last room of the page: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}
