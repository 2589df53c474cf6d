//! The lobby's listing in the store contract: order, keyset paging, the literal title filter and the
//! rooms a member was removed from — the same checks against `SqliteStore` and (with
//! `GIFCHAT_TEST_MONGODB_URI`) `MongoStore`, as `room_listing::<backend>::<check>`.

use std::sync::Arc;
use std::time::Duration;

use gifchat::domain::{now_millis, EventKind, MemberId, RoomId};
use gifchat::store::{fold, NewRoom, RoomCursor, RoomQuery, Store};

macro_rules! listing_contract {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(crate::store_contract::sqlite().store).await;
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
                async fn $check() {
                    let backend = crate::store_contract::mongo().await;
                    super::$check(backend.store).await;
                }
            )*
        }
    };
}

listing_contract!(
    rooms_with_people_come_first_by_latest_chat_then_empty_rooms_newest_first,
    pages_follow_each_other_without_gaps_or_repeats_and_survive_deletions,
    the_title_filter_is_case_insensitive_and_matches_hostile_text_literally,
);

/// `kicked_from` on each backend; on MongoDB it is skipped under nx-27017, which answers its query wrongly.
mod kicked_from {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lists_exactly_the_rooms_a_member_was_removed_from_on_sqlite() {
        super::kicked_from_lists_exactly_the_rooms_a_member_was_removed_from(crate::store_contract::sqlite().store)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
    async fn lists_exactly_the_rooms_a_member_was_removed_from_on_mongodb() {
        let backend = crate::store_contract::mongo().await;
        if crate::support::skip_on_nx(crate::support::NX_ARRAY_EQUALITY).await {
            return;
        }
        super::kicked_from_lists_exactly_the_rooms_a_member_was_removed_from(backend.store).await;
    }
}

/// Creates a room titled `title`; waits a little first, so ids (ULIDs) and creation times order.
async fn room(store: &Arc<dyn Store>, title: &str) -> RoomId {
    tokio::time::sleep(Duration::from_millis(3)).await;
    let new = NewRoom {
        id: RoomId::generate(),
        title: title.into(),
        capacity: 10,
        password_hash: None,
        owner: None,
        persistent: false,
        created_at: now_millis(),
    };
    store.create_room(new, "t").await.unwrap().id
}

fn all(first: u32) -> RoomQuery {
    RoomQuery { first, after: None, title: None }
}

/// Every id of the listing, read page by page with `size` rooms per page.
async fn walk(store: &Arc<dyn Store>, size: u32, title: Option<&str>) -> Vec<RoomId> {
    let mut ids = Vec::new();
    let mut query = RoomQuery { first: size, after: None, title: title.map(fold) };
    loop {
        let page = store.rooms_page(&query).await.unwrap();
        assert!(page.rooms.len() <= size as usize);
        ids.extend(page.rooms.iter().map(|r| r.id.clone()));
        if !page.has_next {
            return ids;
        }
        query.after = Some(RoomCursor::of(page.rooms.last().expect("a page with more after it is not empty")));
    }
}

async fn rooms_with_people_come_first_by_latest_chat_then_empty_rooms_newest_first(store: Arc<dyn Store>) {
    let (a, b) = (MemberId::generate(), MemberId::generate());
    let r1 = room(&store, "one").await;
    let r2 = room(&store, "two").await;
    let r3 = room(&store, "three").await;
    let r4 = room(&store, "four").await;
    let r5 = room(&store, "five").await;
    let ids = |page: gifchat::store::RoomsPage| page.rooms.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.rooms_page(&all(10)).await.unwrap()),
        vec![r5.clone(), r4.clone(), r3.clone(), r2.clone(), r1.clone()],
        "empty rooms: newest first"
    );

    // People in r2 and r4; r2 then has a message, so it is the most recently active.
    store.claim_seat(&r2, &a, now_millis()).await.unwrap();
    store.claim_seat(&r4, &b, now_millis()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    store.append_event(&r2, Some(&a), &EventKind::Message { text: "hi".into() }, None, now_millis()).await.unwrap();
    let page = store.rooms_page(&all(10)).await.unwrap();
    assert_eq!(page.total, 5);
    assert!(!page.has_next);
    assert_eq!(page.rooms[0].member_count, 1);
    assert!(page.rooms[0].activity_at > page.rooms[0].created_at, "a message is activity");
    assert_eq!(ids(page), vec![r2.clone(), r4.clone(), r5.clone(), r3.clone(), r1.clone()]);

    // A notice (someone joining) is not chat: r4 stays behind r2. A whisper in r4 is chat: r4 goes first.
    tokio::time::sleep(Duration::from_millis(3)).await;
    store.append_event(&r4, Some(&b), &EventKind::Joined, None, now_millis()).await.unwrap();
    assert_eq!(ids(store.rooms_page(&all(2)).await.unwrap()), vec![r2.clone(), r4.clone()]);
    tokio::time::sleep(Duration::from_millis(3)).await;
    let whisper = EventKind::Whisper { to: b.clone(), text: "psst".into() };
    store.append_event(&r4, Some(&b), &whisper, None, now_millis()).await.unwrap();
    assert_eq!(ids(store.rooms_page(&all(2)).await.unwrap()), vec![r4.clone(), r2.clone()]);

    // Leaving empties r2: back among the empty rooms, in creation order.
    store.release_seat(&r2, &a).await.unwrap();
    assert_eq!(ids(store.rooms_page(&all(10)).await.unwrap()), vec![r4, r5, r3, r2, r1]);
}

async fn pages_follow_each_other_without_gaps_or_repeats_and_survive_deletions(store: Arc<dyn Store>) {
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(room(&store, &format!("room {i}")).await);
    }
    let member = MemberId::generate();
    store.claim_seat(&made[1], &member, now_millis()).await.unwrap();
    store.claim_seat(&made[3], &member, now_millis()).await.unwrap();
    let whole = walk(&store, 100, None).await;
    assert_eq!(whole.len(), 7);
    assert_eq!(&whole[..2], &[made[3].clone(), made[1].clone()], "rooms with people first");
    for size in [1, 2, 3, 6, 7] {
        assert_eq!(walk(&store, size, None).await, whole, "pages of {size}");
    }
    let first = store.rooms_page(&all(3)).await.unwrap();
    assert!(first.has_next);
    assert_eq!(first.total, 7);

    // The room a cursor points at is deleted: the next page still starts right after it.
    let cursor = RoomCursor::of(first.rooms.last().unwrap());
    assert!(store.delete_room(&first.rooms[2].id, "t").await.unwrap());
    let next = store.rooms_page(&RoomQuery { first: 3, after: Some(cursor), title: None }).await.unwrap();
    let next_ids: Vec<_> = next.rooms.iter().map(|r| r.id.clone()).collect();
    assert_eq!(next_ids, whole[3..6].to_vec());
    assert_eq!(next.total, 6);

    // A cursor into the empty rooms skips the rooms with people entirely.
    let idle = RoomCursor::Idle { id: whole[4].clone() };
    let rest = store.rooms_page(&RoomQuery { first: 10, after: Some(idle), title: None }).await.unwrap();
    assert_eq!(rest.rooms.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), whole[5..].to_vec());
    assert!(!rest.has_next);
}

async fn the_title_filter_is_case_insensitive_and_matches_hostile_text_literally(store: Arc<dyn Store>) {
    let titles = [
        "Café 수다방",
        "100% 진짜",
        "a_b",
        "a.b*c",
        "$where",
        "(x|y)",
        "ÉCOLE",
        "plain",
        "back\\slash",
        "{\"$gt\": 1}",
    ];
    let mut ids = Vec::new();
    for t in titles {
        ids.push(room(&store, t).await);
    }
    let found = |q: &'static str| {
        let store = store.clone();
        async move {
            let mut titles: Vec<String> = Vec::new();
            let query = RoomQuery { first: 100, after: None, title: Some(fold(q)) };
            let page = store.rooms_page(&query).await.unwrap();
            titles.extend(page.rooms.iter().map(|r| r.title.clone()));
            assert_eq!(page.total as usize, titles.len(), "{q}: total counts the filtered rooms");
            titles.sort();
            titles
        }
    };
    // Case-insensitive across scripts, substring anywhere.
    assert_eq!(found("CAFÉ").await, vec!["Café 수다방"]);
    assert_eq!(found("수다").await, vec!["Café 수다방"]);
    assert_eq!(found("école").await, vec!["ÉCOLE"]);
    assert_eq!(found("LAIN").await, vec!["plain"]);
    // SQL LIKE wildcards mean themselves.
    assert_eq!(found("%").await, vec!["100% 진짜"]);
    assert_eq!(found("_").await, vec!["a_b"]);
    // Regular-expression operators mean themselves (a regex `.` or `.*` would match every title).
    assert_eq!(found(".").await, vec!["a.b*c"]);
    assert_eq!(found(".*").await, Vec::<String>::new());
    assert_eq!(found("b*c").await, vec!["a.b*c"]);
    assert_eq!(found("(x|y)").await, vec!["(x|y)"]);
    assert_eq!(found("x|y").await, vec!["(x|y)"]);
    assert_eq!(found("^").await, Vec::<String>::new());
    assert_eq!(found("\\").await, vec!["back\\slash"]);
    // MongoDB operators are text, not queries.
    assert_eq!(found("$where").await, vec!["$where"]);
    assert_eq!(found("{\"$gt\"").await, vec!["{\"$gt\": 1}"]);
    assert_eq!(found("nothing like it").await, Vec::<String>::new());
    // Paging works within a filter: "a" is in six titles.
    let with_a = walk(&store, 2, Some("a")).await;
    assert_eq!(with_a.len(), found("a").await.len());
    assert!(with_a.len() >= 5, "positive control: the filter matches several rooms");
}

async fn kicked_from_lists_exactly_the_rooms_a_member_was_removed_from(store: Arc<dyn Store>) {
    let (kicked, other) = (MemberId::generate(), MemberId::generate());
    let r1 = room(&store, "one").await;
    let r2 = room(&store, "two").await;
    for r in [&r1, &r2] {
        store.claim_seat(r, &kicked, now_millis()).await.unwrap();
        store.claim_seat(r, &other, now_millis()).await.unwrap();
    }
    assert!(store.kicked_from(&kicked).await.unwrap().is_empty());
    assert!(store.kick_member(&r2, &kicked).await.unwrap());
    assert_eq!(store.kicked_from(&kicked).await.unwrap(), vec![r2.clone()]);
    assert!(store.kicked_from(&other).await.unwrap().is_empty(), "only the kicked member");
    // The kick also took the seat: r2 has one member left, and still counts as a room with people.
    let page = store.rooms_page(&all(10)).await.unwrap();
    let r2_now = page.rooms.iter().find(|r| r.id == r2).unwrap();
    assert_eq!(r2_now.member_count, 1);
}

/// MongoDB's migration 2 fills `last_activity` and `title_folded` for rooms written by version 1.
#[tokio::test]
#[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
async fn mongo_migration_two_fills_the_listing_fields_of_version_one_rooms() {
    use mongodb::bson::{doc, Document};
    let base = crate::support::required_mongodb_uri();
    // Migrating from version 1 runs step 4, which indexes the room written below.
    if crate::support::skip_on_nx(crate::support::NX_INDEX_ON_ID).await {
        return;
    }
    let name = format!("gifchat_listing_{}", ulid::Ulid::new().to_string().to_lowercase());
    let uri = crate::support::uri_with_database(&base, &name);
    crate::support::migrate_test_database(&uri).await;
    let store = gifchat::store::MongoStore::connect(&uri).await.unwrap();
    // A room as version 1 wrote it (no listing fields), with one message, and the schema set back to 1.
    let db = mongodb::Client::with_uri_str(&uri).await.unwrap().database(&name);
    let id = RoomId::generate();
    let room = doc! {
        "_id": id.as_str(), "title": "Café ÉCOLE", "capacity": 10_i64, "persistent": false, "entered": true,
        "created_at": 100_i64, "present": ["m"], "joined": { "m": 1_i64 }, "present_count": 1_i64, "kicked": [],
    };
    db.collection::<Document>("rooms").insert_one(room).await.unwrap();
    let message = doc! { "_id": "e1", "room_id": id.as_str(), "seq": 1_i64, "at": 500_i64, "kind": "message",
    "body": { "Message": { "text": "hi" } } };
    db.collection::<Document>("events").insert_one(message).await.unwrap();
    db.collection::<Document>("meta")
        .update_one(doc! { "_id": "schema" }, doc! { "$set": { "version": 1_i64 } })
        .await
        .unwrap();
    // Version 2 and every later step.
    assert_eq!(store.migrate().await.unwrap(), (2..=gifchat::store::MONGO_SCHEMA_VERSION).collect::<Vec<_>>());
    let opened = gifchat::store::MongoStore::open(&uri).await.unwrap();
    let page = opened.rooms_page(&RoomQuery { first: 10, after: None, title: Some(fold("école")) }).await.unwrap();
    assert_eq!(page.rooms.len(), 1, "the folded title was filled in");
    assert_eq!(page.rooms[0].activity_at, 500, "the newest chat is the activity");
    db.drop().await.unwrap();
}
