//! The store contract: the same checks against every backend — `SqliteStore` always, `MongoStore` when
//! `GIFCHAT_TEST_MONGODB_URI` is set. The trait's doc lines are the contract; each check names the rule.

use std::collections::HashSet;
use std::sync::Arc;

use gifchat::domain::{now_millis, ClientKey, EventKind, GifName, MemberId, RoomId, Visibility};
use gifchat::store::{
    Appended, GifPut, GifQuota, MongoStore, NewRoom, OutboxChange, Page, SeatClaim, SessionRow, SqliteStore, Store,
    StoredGif,
};

use crate::support::{required_mongodb_uri, uri_with_database};

/// A store under test, with whatever keeps it alive.
pub(crate) struct Backend {
    pub(crate) store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    /// Where it lives, to open a second, independent store on the same data.
    place: Place,
}

/// The data a backend's store is opened on.
#[derive(Clone)]
enum Place {
    Dir(std::path::PathBuf),
    Uri(String),
}

impl Place {
    /// A new store on the same data, sharing no connection (and no cache) with the one under test.
    async fn open_fresh(&self) -> Arc<dyn Store> {
        match self {
            Place::Dir(dir) => Arc::new(SqliteStore::open(dir).unwrap()),
            Place::Uri(uri) => Arc::new(MongoStore::open(uri).await.unwrap()),
        }
    }
}

pub(crate) fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let place = Place::Dir(dir.path().to_path_buf());
    Backend { store: Arc::new(SqliteStore::open(dir.path()).unwrap()), _dir: Some(dir), place }
}

/// A migrated `MongoStore` on a fresh database (the test fails without `GIFCHAT_TEST_MONGODB_URI`).
pub(crate) async fn mongo() -> Backend {
    let uri = required_mongodb_uri();
    let name = format!("gifchat_contract_{}", ulid::Ulid::new().to_string().to_lowercase());
    let uri = uri_with_database(&uri, &name);
    crate::support::migrate_test_database(&uri).await;
    Backend { store: Arc::new(MongoStore::open(&uri).await.unwrap()), _dir: None, place: Place::Uri(uri) }
}

/// Declares each check once per backend, as `store_contract::<backend>::<check>`.
macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::sqlite().store).await;
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
                async fn $check() {
                    let backend = super::mongo().await;
                    super::$check(backend.store).await;
                }
            )*
        }
    };
}

/// Like `contract!`, for checks that also open a second store on the same data.
macro_rules! contract_with_place {
    ($($check:ident),* $(,)?) => {
        mod sqlite_fresh {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let backend = super::sqlite();
                    super::$check(backend.store.clone(), backend.place.clone()).await;
                }
            )*
        }
        mod mongo_fresh {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
                async fn $check() {
                    let backend = super::mongo().await;
                    super::$check(backend.store.clone(), backend.place.clone()).await;
                }
            )*
        }
    };
}

contract_with_place!(an_acknowledged_append_is_read_back_by_a_store_opened_afterwards);

/// Quotas and usage of GIF storage (after the macros, which it uses).
mod gif_quota;

contract!(
    concurrent_appends_to_many_rooms_are_gap_free_per_room_and_in_commit_order,
    appends_to_a_room_deleted_meanwhile_fail_alone_and_left_no_gap_before,
    rooms_are_created_listed_oldest_first_and_keep_their_secret_parts,
    set_owner_only_changes_an_owner_that_is_still_the_expected_one,
    claim_seat_tells_every_outcome_apart_and_gives_an_ownerless_room_to_the_first_member,
    a_thousand_concurrent_claims_for_ten_places_admit_exactly_ten_repeatedly,
    a_kicked_member_loses_the_seat_and_cannot_take_one_again,
    seq_is_gap_free_and_in_commit_order_under_twenty_concurrent_senders,
    a_client_key_returns_the_first_event_per_member_and_room,
    whispers_are_visible_only_to_sender_and_recipient_and_pages_work,
    sessions_are_created_once_replaced_expire_and_are_purged,
    gifs_round_trip_and_are_refused_for_a_missing_room,
    whispered_gifs_are_listed_only_for_their_pair_and_keep_their_pair,
    deleting_a_room_takes_its_seats_events_and_gifs_with_it,
    the_outbox_lists_changes_in_order_and_ids_are_never_reused,
    removable_rooms_are_empty_non_persistent_entered_or_too_old,
);

fn new_room(capacity: u32, owner: Option<&MemberId>) -> NewRoom {
    NewRoom {
        id: RoomId::generate(),
        title: "contract".into(),
        capacity,
        password_hash: None,
        owner: owner.cloned(),
        persistent: false,
        created_at: now_millis(),
    }
}

fn text(s: &str) -> EventKind {
    EventKind::Message { text: s.into() }
}

const ALL: Page = Page { after: None, before: None, limit: 10_000, newest: false };

async fn rooms_are_created_listed_oldest_first_and_keep_their_secret_parts(store: Arc<dyn Store>) {
    let owner = MemberId::generate();
    let first = store.create_room(new_room(5, Some(&owner)), "t").await.unwrap();
    // Ids are ULIDs, ordered by their millisecond: let the clock move so "oldest first" is defined.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let mut secret = new_room(7, None);
    secret.password_hash = Some("$argon2id$v=19$fake".into());
    secret.persistent = true;
    let second = store.create_room(secret, "t").await.unwrap();
    assert!(second.secret && second.persistent && second.owner.is_none());

    let rooms = store.rooms().await.unwrap();
    assert_eq!(rooms.iter().map(|r| &r.id).collect::<Vec<_>>(), vec![&first.id, &second.id]);
    assert_eq!(rooms[0], first, "what is listed is what was created");
    let rec = store.room(&second.id).await.unwrap().unwrap();
    assert_eq!(rec.password_hash.as_deref(), Some("$argon2id$v=19$fake"));
    assert_eq!((rec.room.capacity, rec.room.member_count, rec.entered), (7, 0, false));
    assert!(store.room(&RoomId::generate()).await.unwrap().is_none());
}

async fn set_owner_only_changes_an_owner_that_is_still_the_expected_one(store: Arc<dyn Store>) {
    let (a, b) = (MemberId::generate(), MemberId::generate());
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    assert!(!store.set_owner(&room, Some(&a), Some(&b)).await.unwrap(), "expected a, but there is no owner");
    assert!(store.set_owner(&room, None, Some(&a)).await.unwrap());
    assert!(!store.set_owner(&room, None, Some(&b)).await.unwrap(), "a owns it now");
    assert!(store.set_owner(&room, Some(&a), Some(&b)).await.unwrap());
    assert_eq!(store.room(&room).await.unwrap().unwrap().room.owner, Some(b.clone()));
    assert!(store.set_owner(&room, Some(&b), None).await.unwrap());
    assert_eq!(store.room(&room).await.unwrap().unwrap().room.owner, None);
    assert!(!store.set_owner(&RoomId::generate(), None, Some(&a)).await.unwrap(), "no such room");
}

async fn claim_seat_tells_every_outcome_apart_and_gives_an_ownerless_room_to_the_first_member(store: Arc<dyn Store>) {
    let (a, b, c) = (MemberId::generate(), MemberId::generate(), MemberId::generate());
    assert_eq!(store.claim_seat(&RoomId::generate(), &a, 1).await.unwrap(), SeatClaim::NoRoom);
    let room = store.create_room(new_room(2, None), "t").await.unwrap().id;
    assert_eq!(store.claim_seat(&room, &a, 10).await.unwrap(), SeatClaim::Claimed { became_owner: true });
    assert_eq!(store.claim_seat(&room, &a, 11).await.unwrap(), SeatClaim::AlreadyPresent);
    assert_eq!(store.claim_seat(&room, &b, 12).await.unwrap(), SeatClaim::Claimed { became_owner: false });
    assert_eq!(store.claim_seat(&room, &c, 13).await.unwrap(), SeatClaim::Full);
    let rec = store.room(&room).await.unwrap().unwrap();
    assert_eq!((rec.room.owner.as_ref(), rec.room.member_count, rec.entered), (Some(&a), 2, true));
    let present = store.present_members(&room).await.unwrap();
    assert_eq!(present.iter().map(|p| (&p.member, p.joined_at)).collect::<Vec<_>>(), vec![(&a, 10), (&b, 12)]);
    let all: HashSet<_> = store.all_present().await.unwrap().into_iter().collect();
    assert_eq!(all, HashSet::from([(room.clone(), a.clone()), (room.clone(), b.clone())]));

    assert!(store.release_seat(&room, &a).await.unwrap());
    assert!(!store.release_seat(&room, &a).await.unwrap(), "a seat is released once");
    assert_eq!(store.claim_seat(&room, &c, 14).await.unwrap(), SeatClaim::Claimed { became_owner: false });
    assert_eq!(store.room(&room).await.unwrap().unwrap().room.member_count, 2);
    // A room created with an owner never hands ownership to a joiner.
    let owned = store.create_room(new_room(3, Some(&a)), "t").await.unwrap().id;
    assert_eq!(store.claim_seat(&owned, &b, 1).await.unwrap(), SeatClaim::Claimed { became_owner: false });
}

async fn a_thousand_concurrent_claims_for_ten_places_admit_exactly_ten_repeatedly(store: Arc<dyn Store>) {
    for round in 0..3 {
        let room = store.create_room(new_room(10, None), "t").await.unwrap().id;
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (store, room) = (store.clone(), room.clone());
                tokio::spawn(async move {
                    let m = MemberId::generate();
                    (store.claim_seat(&room, &m, now_millis()).await.unwrap(), m)
                })
            })
            .collect();
        let mut admitted = HashSet::new();
        let mut owners = 0;
        for t in tasks {
            match t.await.unwrap() {
                (SeatClaim::Claimed { became_owner }, m) => {
                    owners += usize::from(became_owner);
                    admitted.insert(m);
                }
                (SeatClaim::Full, _) => {}
                (other, _) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(admitted.len(), 10, "round {round}");
        assert_eq!(owners, 1, "round {round}: exactly one first member becomes owner");
        let present: HashSet<_> = store.present_members(&room).await.unwrap().into_iter().map(|p| p.member).collect();
        assert_eq!(present, admitted, "round {round}");
        let rec = store.room(&room).await.unwrap().unwrap();
        assert_eq!(rec.room.member_count, 10);
        assert!(admitted.contains(rec.room.owner.as_ref().unwrap()));
    }
}

async fn a_kicked_member_loses_the_seat_and_cannot_take_one_again(store: Arc<dyn Store>) {
    let (owner, guest, stranger) = (MemberId::generate(), MemberId::generate(), MemberId::generate());
    let room = store.create_room(new_room(3, Some(&owner)), "t").await.unwrap().id;
    store.claim_seat(&room, &owner, 1).await.unwrap();
    store.claim_seat(&room, &guest, 2).await.unwrap();
    assert!(!store.kick_member(&room, &stranger).await.unwrap(), "holds no seat: nothing to kick");
    assert_eq!(store.claim_seat(&room, &stranger, 3).await.unwrap(), SeatClaim::Claimed { became_owner: false });
    assert!(!store.is_kicked(&room, &guest).await.unwrap());
    assert!(store.kick_member(&room, &guest).await.unwrap());
    assert!(!store.kick_member(&room, &guest).await.unwrap(), "kicked once");
    assert!(store.is_kicked(&room, &guest).await.unwrap());
    assert!(!store.is_kicked(&room, &stranger).await.unwrap());
    assert_eq!(store.room(&room).await.unwrap().unwrap().room.member_count, 2);
    assert_eq!(store.claim_seat(&room, &guest, 4).await.unwrap(), SeatClaim::Kicked);
    assert!(!store.release_seat(&room, &guest).await.unwrap());
    let present: Vec<_> = store.present_members(&room).await.unwrap().into_iter().map(|p| p.member).collect();
    assert_eq!(present, vec![owner, stranger]);
}

async fn seq_is_gap_free_and_in_commit_order_under_twenty_concurrent_senders(store: Arc<dyn Store>) {
    let room = store.create_room(new_room(20, None), "t").await.unwrap().id;
    let tasks: Vec<_> = (0..20)
        .map(|sender| {
            let (store, room) = (store.clone(), room.clone());
            tokio::spawn(async move {
                let m = MemberId::generate();
                let mut mine = Vec::new();
                for i in 0..100 {
                    let kind = text(&format!("{sender}/{i}"));
                    match store.append_event(&room, Some(&m), &kind, None, now_millis()).await.unwrap() {
                        Appended::New(e) => mine.push(e.seq),
                        Appended::Existing(e) => panic!("no key, yet an existing event {e:?}"),
                    }
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        // Each sender's own appends commit in order, so their seqs rise.
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=2000).collect::<Vec<i64>>(), "every seq exactly once, no gap");
    let reader = MemberId::generate();
    let stored = store.events(&room, &reader, ALL).await.unwrap();
    assert_eq!(stored.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=2000).collect::<Vec<i64>>());
    // The text each sender put at each seq is what the store returns for it.
    let texts: HashSet<_> = stored.iter().map(|e| format!("{:?}", e.kind)).collect();
    assert_eq!(texts.len(), 2000);
}

async fn a_client_key_returns_the_first_event_per_member_and_room(store: Arc<dyn Store>) {
    let (a, b) = (MemberId::generate(), MemberId::generate());
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let other = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let key = ClientKey::parse("retry-1").unwrap();
    let Appended::New(first) = store.append_event(&room, Some(&a), &text("once"), Some(&key), 1).await.unwrap() else {
        panic!("first use of a key is new")
    };
    let Appended::Existing(again) = store.append_event(&room, Some(&a), &text("twice"), Some(&key), 2).await.unwrap()
    else {
        panic!("a reused key returns the first event")
    };
    assert_eq!((again.seq, again.kind.clone()), (first.seq, text("once")));
    assert!(matches!(store.append_event(&room, Some(&b), &text("b"), Some(&key), 3).await.unwrap(), Appended::New(_)));
    assert!(matches!(store.append_event(&other, Some(&a), &text("o"), Some(&key), 4).await.unwrap(), Appended::New(_)));
    // Keyless events never collide with each other.
    for _ in 0..3 {
        assert!(matches!(store.append_event(&room, Some(&a), &text("x"), None, 5).await.unwrap(), Appended::New(_)));
    }
    // Racing retries of one key store it once.
    let racing = ClientKey::parse("racing").unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, room, a, racing) = (store.clone(), room.clone(), a.clone(), racing.clone());
            tokio::spawn(
                async move { store.append_event(&room, Some(&a), &text("r"), Some(&racing), 6).await.unwrap() },
            )
        })
        .collect();
    let mut seqs = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Appended::New(e) | Appended::Existing(e) => seqs.insert(e.seq),
        };
    }
    assert_eq!(seqs.len(), 1, "one event for one key");
    let seqs: Vec<i64> = store.events(&room, &a, ALL).await.unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>(), "no gap left by refused duplicates");
}

async fn whispers_are_visible_only_to_sender_and_recipient_and_pages_work(store: Arc<dyn Store>) {
    let (a, b, c) = (MemberId::generate(), MemberId::generate(), MemberId::generate());
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    store.append_event(&room, Some(&a), &text("1"), None, 1).await.unwrap();
    let whisper = EventKind::Whisper { to: b.clone(), text: "psst".into() };
    store.append_event(&room, Some(&a), &whisper, None, 2).await.unwrap();
    store.append_event(&room, Some(&c), &text("3"), None, 3).await.unwrap();
    store.append_event(&room, None, &EventKind::OwnerChanged { from: None }, None, 4).await.unwrap();
    let seqs = |events: Vec<gifchat::domain::RoomEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(store.events(&room, &a, ALL).await.unwrap()), vec![1, 2, 3, 4]);
    assert_eq!(seqs(store.events(&room, &b, ALL).await.unwrap()), vec![1, 2, 3, 4]);
    assert_eq!(seqs(store.events(&room, &c, ALL).await.unwrap()), vec![1, 3, 4], "not c's whisper");
    let whispered = &store.events(&room, &b, ALL).await.unwrap()[1];
    assert_eq!((whispered.kind.clone(), whispered.member.clone(), whispered.at), (whisper, Some(a.clone()), 2));
    assert_eq!(store.events(&room, &a, ALL).await.unwrap()[3].member, None);
    let page = |after, before, limit, newest| Page { after, before, limit, newest };
    assert_eq!(seqs(store.events(&room, &a, page(None, None, 2, true)).await.unwrap()), vec![3, 4]);
    assert_eq!(seqs(store.events(&room, &a, page(Some(1), None, 2, false)).await.unwrap()), vec![2, 3]);
    assert_eq!(seqs(store.events(&room, &a, page(None, Some(3), 5, true)).await.unwrap()), vec![1, 2]);
    assert_eq!(seqs(store.events(&room, &c, page(Some(1), Some(4), 5, false)).await.unwrap()), vec![3]);
}

async fn sessions_are_created_once_replaced_expire_and_are_purged(store: Arc<dyn Store>) {
    let now = now_millis();
    let live = SessionRow { data: r#"{"gifchat":1}"#.into(), expires_at: now + 60_000 };
    assert!(store.session_create("s1", &live).await.unwrap());
    assert!(!store.session_create("s1", &live).await.unwrap(), "the id exists");
    let loaded = store.session_load("s1", now).await.unwrap().unwrap();
    assert_eq!((loaded.data, loaded.expires_at), (live.data.clone(), live.expires_at));
    let changed = SessionRow { data: r#"{"gifchat":2}"#.into(), expires_at: now + 120_000 };
    store.session_save("s1", &changed).await.unwrap();
    assert_eq!(store.session_load("s1", now).await.unwrap().unwrap().data, changed.data);
    store.session_save("s2", &live).await.unwrap();
    assert!(store.session_load("s2", now).await.unwrap().is_some(), "save inserts too");
    // Expired sessions are never loaded, whether or not anything deleted them yet.
    let old = SessionRow { data: "{}".into(), expires_at: now - 1 };
    store.session_save("old", &old).await.unwrap();
    assert!(store.session_load("old", now).await.unwrap().is_none());
    assert!(store.session_load("s2", now + 60_000).await.unwrap().is_none(), "expiry is exclusive");
    assert_eq!(store.sessions_purge(now).await.unwrap(), 1);
    assert!(store.session_load("s1", now).await.unwrap().is_some(), "purge keeps live sessions");
    store.session_delete("s1").await.unwrap();
    assert!(store.session_load("s1", now).await.unwrap().is_none());
    store.session_delete("never-was").await.unwrap();
}

async fn gifs_round_trip_and_are_refused_for_a_missing_room(store: Arc<dyn Store>) {
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let name = GifName::generate();
    // A 3 MiB body of every byte value: binary-safe and well past small-document sizes.
    let bytes: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        store.gif_put(&room, &name, &Visibility::Room, bytes.clone(), GifQuota::NONE).await.unwrap(),
        GifPut::Stored
    );
    assert_eq!(store.gif_get(&name).await.unwrap(), Some(StoredGif { bytes, visibility: Visibility::Room }));
    assert_eq!(store.gif_get(&GifName::generate()).await.unwrap(), None);
    let orphan = GifName::generate();
    assert!(
        store
            .gif_put(&RoomId::generate(), &orphan, &Visibility::Room, b"GIF89a".to_vec(), GifQuota::NONE)
            .await
            .is_err(),
        "no such room"
    );
    assert_eq!(store.gif_get(&orphan).await.unwrap(), None, "nothing kept for a missing room");
}

async fn whispered_gifs_are_listed_only_for_their_pair_and_keep_their_pair(store: Arc<dyn Store>) {
    let (a, b, c) = (MemberId::generate(), MemberId::generate(), MemberId::generate());
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let (public, private) = (GifName::generate(), GifName::generate());
    let pair = Visibility::Pair(a.clone(), b.clone());
    assert_eq!(
        store.gif_put(&room, &public, &Visibility::Room, b"GIF89a-public".to_vec(), GifQuota::NONE).await.unwrap(),
        GifPut::Stored
    );
    assert_eq!(
        store.gif_put(&room, &private, &pair, b"GIF89a-private".to_vec(), GifQuota::NONE).await.unwrap(),
        GifPut::Stored
    );
    assert_eq!(store.gif_get(&public).await.unwrap().unwrap().visibility, Visibility::Room);
    assert_eq!(
        store.gif_get(&private).await.unwrap(),
        Some(StoredGif { bytes: b"GIF89a-private".to_vec(), visibility: pair })
    );
    store.append_event(&room, Some(&a), &EventKind::Gif { name: public.clone(), to: None }, None, 1).await.unwrap();
    let whispered = EventKind::Gif { name: private.clone(), to: Some(b.clone()) };
    store.append_event(&room, Some(&a), &whispered, None, 2).await.unwrap();
    let seqs = |events: Vec<gifchat::domain::RoomEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(store.events(&room, &a, ALL).await.unwrap()), vec![1, 2], "the sender sees both");
    assert_eq!(seqs(store.events(&room, &b, ALL).await.unwrap()), vec![1, 2], "the recipient sees both");
    assert_eq!(seqs(store.events(&room, &c, ALL).await.unwrap()), vec![1], "the third member only the public one");
    assert_eq!(store.events(&room, &b, ALL).await.unwrap()[1].kind, whispered, "read back with its recipient");
}

async fn deleting_a_room_takes_its_seats_events_and_gifs_with_it(store: Arc<dyn Store>) {
    let a = MemberId::generate();
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let kept = store.create_room(new_room(5, None), "t").await.unwrap().id;
    store.claim_seat(&room, &a, 1).await.unwrap();
    store.claim_seat(&kept, &a, 1).await.unwrap();
    store.append_event(&room, Some(&a), &text("gone"), None, 1).await.unwrap();
    store.append_event(&kept, Some(&a), &text("kept"), None, 1).await.unwrap();
    let (gone_gif, kept_gif) = (GifName::generate(), GifName::generate());
    assert_eq!(
        store.gif_put(&room, &gone_gif, &Visibility::Room, b"GIF89a-gone".to_vec(), GifQuota::NONE).await.unwrap(),
        GifPut::Stored
    );
    assert_eq!(
        store.gif_put(&kept, &kept_gif, &Visibility::Room, b"GIF89a-kept".to_vec(), GifQuota::NONE).await.unwrap(),
        GifPut::Stored
    );

    assert!(store.delete_room(&room, "t").await.unwrap());
    assert!(!store.delete_room(&room, "t").await.unwrap(), "already gone");
    assert!(store.room(&room).await.unwrap().is_none());
    assert!(store.events(&room, &a, ALL).await.unwrap().is_empty());
    assert!(store.present_members(&room).await.unwrap().is_empty());
    assert_eq!(store.gif_get(&gone_gif).await.unwrap(), None);
    assert_eq!(store.all_present().await.unwrap(), vec![(kept.clone(), a.clone())]);
    assert_eq!(store.events(&kept, &a, ALL).await.unwrap().len(), 1, "other rooms keep theirs");
    assert!(store.gif_get(&kept_gif).await.unwrap().is_some());
    assert!(store.append_event(&room, Some(&a), &text("late"), None, 2).await.is_err(), "no events for a deleted room");
    assert!(store.events(&room, &a, ALL).await.unwrap().is_empty());
}

async fn the_outbox_lists_changes_in_order_and_ids_are_never_reused(store: Arc<dyn Store>) {
    let start = store.outbox_head().await.unwrap();
    let one = store.create_room(new_room(5, None), "cli-1").await.unwrap().id;
    let two = store.create_room(new_room(5, None), "server-1").await.unwrap().id;
    assert!(store.delete_room(&one, "cli-1").await.unwrap());
    let entries = store.outbox_after(start).await.unwrap();
    let seen: Vec<_> = entries.iter().map(|e| (e.origin.as_str(), e.change.clone())).collect();
    assert_eq!(
        seen,
        vec![
            ("cli-1", OutboxChange::RoomCreated(one.clone())),
            ("server-1", OutboxChange::RoomCreated(two.clone())),
            ("cli-1", OutboxChange::RoomRemoved(one.clone())),
        ]
    );
    assert!(entries.windows(2).all(|w| w[0].id < w[1].id));
    let head = store.outbox_head().await.unwrap();
    assert_eq!(head, entries.last().unwrap().id);
    assert!(store.outbox_after(head).await.unwrap().is_empty());
    assert!(store.changed_elsewhere().await.is_ok());
    // Pruning everything still never lets a later entry reuse an id a tailer has passed.
    store.outbox_prune(now_millis() + 60_000).await.unwrap();
    let three = store.create_room(new_room(5, None), "cli-2").await.unwrap().id;
    let later = store.outbox_after(head).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].change, OutboxChange::RoomCreated(three));
    assert!(later[0].id > head);
    store.ping().await.unwrap();
}

async fn removable_rooms_are_empty_non_persistent_entered_or_too_old(store: Arc<dyn Store>) {
    let a = MemberId::generate();
    let now = now_millis();
    let fresh = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let mut old = new_room(5, None);
    old.created_at = now - 10_000;
    let old = store.create_room(old, "t").await.unwrap().id;
    let mut kept = new_room(5, None);
    kept.persistent = true;
    kept.created_at = now - 10_000;
    let kept = store.create_room(kept, "t").await.unwrap().id;
    let left = store.create_room(new_room(5, None), "t").await.unwrap().id;
    store.claim_seat(&left, &a, now).await.unwrap();
    let busy = store.create_room(new_room(5, None), "t").await.unwrap().id;
    store.claim_seat(&busy, &a, now).await.unwrap();
    assert!(store.release_seat(&left, &a).await.unwrap());

    let removable: HashSet<_> = store.removable_rooms(now - 5_000).await.unwrap().into_iter().collect();
    assert_eq!(removable, HashSet::from([old.clone(), left.clone()]));
    assert!(!removable.contains(&fresh) && !removable.contains(&kept) && !removable.contains(&busy));
}

async fn concurrent_appends_to_many_rooms_are_gap_free_per_room_and_in_commit_order(store: Arc<dyn Store>) {
    const ROOMS: usize = 20;
    const SENDERS: usize = 4;
    const EACH: i64 = 15;
    let mut rooms = Vec::new();
    for _ in 0..ROOMS {
        rooms.push(store.create_room(new_room(10, None), "t").await.unwrap().id);
    }
    // Every sender of every room at once: appends of many rooms share the writer (and, on SQLite, batches).
    let mut tasks = Vec::new();
    for (r, room) in rooms.iter().enumerate() {
        for sender in 0..SENDERS {
            let (store, room) = (store.clone(), room.clone());
            tasks.push(tokio::spawn(async move {
                let m = MemberId::generate();
                let mut mine = Vec::new();
                for i in 0..EACH {
                    let body = format!("{r}/{sender}/{i}");
                    let key = ClientKey::parse(&format!("k{i}")).unwrap();
                    match store.append_event(&room, Some(&m), &text(&body), Some(&key), now_millis()).await.unwrap() {
                        Appended::New(e) => {
                            assert_eq!(e.room, room, "the event is in the room it was sent to");
                            mine.push((e.seq, body));
                        }
                        Appended::Existing(e) => panic!("fresh keys, yet an existing event {e:?}"),
                    }
                }
                (r, mine)
            }));
        }
    }
    let mut acked: Vec<Vec<(i64, String)>> = vec![Vec::new(); ROOMS];
    for t in tasks {
        let (r, mine) = t.await.unwrap();
        // One sender's appends commit one after the other, so their seqs rise.
        assert!(mine.windows(2).all(|w| w[0].0 < w[1].0), "{mine:?}");
        acked[r].extend(mine);
    }
    let reader = MemberId::generate();
    let per_room = SENDERS as i64 * EACH;
    for (room, mut mine) in rooms.iter().zip(acked) {
        mine.sort();
        let seqs: Vec<i64> = mine.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, (1..=per_room).collect::<Vec<_>>(), "each room's seqs exactly once, no gap");
        // What the store holds at each seq is what that append was acknowledged with.
        let stored = store.events(room, &reader, ALL).await.unwrap();
        let stored: Vec<(i64, String)> = stored
            .into_iter()
            .map(|e| match e.kind {
                EventKind::Message { text } => (e.seq, text),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(stored, mine);
    }
}

async fn appends_to_a_room_deleted_meanwhile_fail_alone_and_left_no_gap_before(store: Arc<dyn Store>) {
    const OTHERS: usize = 7;
    const EACH: i64 = 40;
    /// A bound on the doomed room's appends, far beyond what it takes until the deletion lands.
    const AT_MOST: i64 = 20_000;
    let doomed = store.create_room(new_room(10, None), "t").await.unwrap().id;
    let mut others = Vec::new();
    for _ in 0..OTHERS {
        others.push(store.create_room(new_room(10, None), "t").await.unwrap().id);
    }
    // The doomed room is written to until an append fails; the others each get EACH appends meanwhile.
    let doomed_acks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let doomed_task = {
        let (store, room, acks) = (store.clone(), doomed.clone(), doomed_acks.clone());
        tokio::spawn(async move {
            let m = MemberId::generate();
            let mut acked = Vec::new();
            for i in 0..AT_MOST {
                match store.append_event(&room, Some(&m), &text(&format!("{i}")), None, now_millis()).await {
                    Ok(Appended::New(e)) => {
                        acked.push(e.seq);
                        acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Ok(Appended::Existing(e)) => panic!("no key, yet an existing event {e:?}"),
                    Err(_) => break,
                }
            }
            // Once the room is gone, appends keep failing.
            let again = store.append_event(&room, Some(&m), &text("after"), None, now_millis()).await;
            (acked, again.is_err())
        })
    };
    let tasks: Vec<_> = others
        .iter()
        .map(|room| {
            let (store, room) = (store.clone(), room.clone());
            tokio::spawn(async move {
                let m = MemberId::generate();
                let mut seqs = Vec::new();
                for i in 0..EACH {
                    match store.append_event(&room, Some(&m), &text(&format!("{i}")), None, now_millis()).await {
                        Ok(Appended::New(e)) => seqs.push(e.seq),
                        other => panic!("an append to a live room failed: {other:?}"),
                    }
                }
                seqs
            })
        })
        .collect();
    // Delete the doomed room while its appends (and everyone else's) are under way.
    while doomed_acks.load(std::sync::atomic::Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(store.delete_room(&doomed, "t").await.unwrap());
    let (acked, failed_after) = doomed_task.await.unwrap();
    // Acknowledged appends took 1, 2, 3, … without a gap, and the deletion stopped them.
    assert!(acked.len() >= 3, "appends before the deletion were acknowledged: {acked:?}");
    assert!((acked.len() as i64) < AT_MOST, "the deletion ended the appends");
    assert_eq!(acked, (1..=acked.len() as i64).collect::<Vec<_>>());
    assert!(failed_after, "after the deletion an append fails");
    assert!(store.room(&doomed).await.unwrap().is_none());
    // Every other room was untouched by its neighbour's failures.
    for t in tasks {
        assert_eq!(t.await.unwrap(), (1..=EACH).collect::<Vec<_>>());
    }
}

async fn an_acknowledged_append_is_read_back_by_a_store_opened_afterwards(store: Arc<dyn Store>, place: Place) {
    let mut rooms = Vec::new();
    for _ in 0..10 {
        rooms.push(store.create_room(new_room(10, None), "t").await.unwrap().id);
    }
    let tasks: Vec<_> = rooms
        .iter()
        .enumerate()
        .map(|(r, room)| {
            let (store, room, place) = (store.clone(), room.clone(), place.clone());
            tokio::spawn(async move {
                let m = MemberId::generate();
                for i in 0..5 {
                    let body = format!("durable {r}/{i}");
                    let Appended::New(e) =
                        store.append_event(&room, Some(&m), &text(&body), None, now_millis()).await.unwrap()
                    else {
                        panic!("no key, yet an existing event")
                    };
                    // Right after the ack, a store with its own connections must already see it committed.
                    let fresh = place.open_fresh().await;
                    let page = Page { after: Some(e.seq - 1), before: Some(e.seq + 1), limit: 1, newest: false };
                    let seen = fresh.events(&room, &m, page).await.unwrap();
                    assert_eq!(seen.len(), 1, "seq {} of room {r} is not visible after its ack", e.seq);
                    assert_eq!(seen[0].kind, text(&body));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}
