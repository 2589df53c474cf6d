//! Shared execution of subscription items: each room event (or lobby change) is executed and serialised
//! once per *group* of subscribers — same document, same operation, same variables apart from the root
//! field's own arguments — and every subscriber of the group gets the same bytes.
//!
//! How a subscription joins this path:
//! 1. `ws.rs` starts the operation with a [`Tap`] in the request data. The root resolver does all its
//!    checks and takes its seat as usual, then hands its raw item stream to the tap and returns an empty
//!    stream instead of one async-graphql would execute per subscriber.
//! 2. For each item, the socket asks the [`FrameCache`] for the payload. Items with a shared identity (a
//!    persisted event or a lobby change, both `Arc`s on the bus) are executed once per group: the first
//!    subscriber to ask runs the operation with the item as a [`Preset`] (the root resolver returns just
//!    that item) and *no* viewer; the others wait for and reuse its bytes. Items without one (typing,
//!    resync, closed, snapshots) are executed per subscriber, with the viewer.
//! 3. A field that depends on who is asking calls [`super::viewer`], which in a shared execution marks the
//!    result as personal instead of answering; the whole group then falls back to per-subscriber
//!    execution for that item, and each subscription remembers it. So no member's answer is ever served
//!    from another member's execution. Visibility (whispers) is decided before this point, by the hub's
//!    per-subscriber stream: a member never receives an item it may not see, shared or not.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::Name;
use async_graphql_value::Value;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::sync::OnceCell;

use super::{AppSchema, Viewer};
use crate::domain::{LobbyEvent, RoomId};
use crate::hub::RoomUpdate;
use crate::store::RoomsPage;

/// One raw item of a tapped subscription, before execution.
#[derive(Clone)]
pub enum LiveItem {
    /// An item of the `room` subscription.
    Room(RoomUpdate),
    /// An item of the `lobby` subscription.
    Lobby(LobbyItem),
}

/// An item of the `lobby` subscription.
#[derive(Clone)]
pub enum LobbyItem {
    /// The listing's first page now (first item, and after a lag).
    Snapshot(Arc<RoomsPage>),
    /// A change, shared by every lobby subscriber.
    Change(Arc<LobbyEvent>),
}

/// The identity of an item whose execution can be shared. A persisted event is known by its room and `seq`
/// (so events replayed from the store share with live ones); a lobby change by the address of its `Arc`,
/// which the cache entry keeps alive so the address cannot be reused while the entry exists.
#[derive(Clone)]
enum Shareable {
    Event(RoomId, i64),
    Lobby(Arc<LobbyEvent>),
}

impl Shareable {
    fn of(item: &LiveItem) -> Option<Self> {
        match item {
            LiveItem::Room(RoomUpdate::Event(e)) => Some(Shareable::Event(e.room.clone(), e.seq)),
            LiveItem::Lobby(LobbyItem::Change(c)) => Some(Shareable::Lobby(c.clone())),
            _ => None,
        }
    }
}

impl PartialEq for Shareable {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Shareable::Event(r1, s1), Shareable::Event(r2, s2)) => s1 == s2 && r1 == r2,
            (Shareable::Lobby(a), Shareable::Lobby(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
impl Eq for Shareable {}
impl Hash for Shareable {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Shareable::Event(room, seq) => {
                room.hash(state);
                seq.hash(state);
            }
            Shareable::Lobby(c) => (Arc::as_ptr(c) as usize).hash(state),
        }
    }
}

/// Where a root resolver leaves its item stream when the socket executes items itself.
#[derive(Default)]
pub struct Tap(Mutex<Option<BoxStream<'static, LiveItem>>>);

impl Tap {
    /// Stores the subscription's raw stream.
    pub fn put(&self, stream: BoxStream<'static, LiveItem>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(stream);
    }

    /// Takes the stream, if the resolver left one.
    pub fn take(&self) -> Option<BoxStream<'static, LiveItem>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The one item a root resolver returns when an item is being executed (see the module docs).
pub struct Preset(Mutex<Option<LiveItem>>);

impl Preset {
    /// Takes the preset item (once).
    pub fn take(&self) -> Option<LiveItem> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Marks an execution shared by a group; records whether a field asked for the viewer.
#[derive(Default)]
pub struct Shared {
    needs_viewer: AtomicBool,
}

impl Shared {
    /// Called by [`super::viewer`] when a field needs to know who is asking.
    pub fn mark_personal(&self) {
        self.needs_viewer.store(true, Ordering::Relaxed);
    }
}

/// What identifies a group of subscriptions whose items execute to the same bytes: the operation and every
/// variable except those used only as the root field's arguments (they choose *which* items a subscriber
/// gets, e.g. the room and where to resume, never how an item is rendered).
#[derive(Debug)]
pub struct GroupKey {
    text: String,
    hash: u64,
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}
impl Eq for GroupKey {}
impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// What the socket needs to know of an operation before starting it; the document is parsed once.
pub struct Inspected {
    /// Whether the selected operation is a subscription (unparsable requests are not; they fail at once).
    pub subscription: bool,
    /// For a subscription the socket can execute itself (exactly one root field), its group.
    pub group: Option<GroupKey>,
}

/// Parses `request` once and says what it is.
pub fn inspect(request: &async_graphql::Request) -> Inspected {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return Inspected { subscription: false, group: None };
    };
    match selected_operation(&doc, request.operation_name.as_deref()) {
        Some(op) if op.ty == OperationType::Subscription => {
            Inspected { subscription: true, group: GroupKey::of(request, &doc, op) }
        }
        _ => Inspected { subscription: false, group: None },
    }
}

/// The operation a request runs: the only one, or the one it names.
fn selected_operation<'d>(doc: &'d ExecutableDocument, name: Option<&str>) -> Option<&'d OperationDefinition> {
    match &doc.operations {
        DocumentOperations::Single(op) => Some(&op.node),
        // Named operations land here even when there is only one (then no operation name is needed).
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.iter().find(|(n, _)| n.as_str() == name).map(|(_, op)| &op.node),
            None if ops.len() == 1 => ops.values().next().map(|op| &op.node),
            None => None,
        },
    }
}

impl GroupKey {
    /// The key of subscription `op` of `request`, or `None` when its root selection is anything but
    /// exactly one field.
    fn of(request: &async_graphql::Request, doc: &ExecutableDocument, op: &OperationDefinition) -> Option<Self> {
        let [item] = op.selection_set.node.items.as_slice() else { return None };
        let Selection::Field(root) = &item.node else { return None };

        // Variables the rendering can depend on: everything outside the root field's arguments.
        let mut rendering = HashSet::new();
        collect_directive_vars(op.directives.iter().chain(&root.node.directives), &mut rendering);
        let mut seen = HashSet::new();
        collect_selection_vars(doc, &root.node.selection_set.node, &mut rendering, &mut seen);
        let mut root_only = HashSet::new();
        for (_, v) in &root.node.arguments {
            collect_vars(&v.node, &mut root_only);
        }
        let kept: BTreeMap<&str, &async_graphql::Value> = request
            .variables
            .iter()
            .filter(|(name, _)| rendering.contains(name.as_str()) || !root_only.contains(name.as_str()))
            .map(|(name, value)| (name.as_str(), value))
            .collect();
        let vars = serde_json::to_string(&kept).ok()?;
        let text = format!("{}\u{0}{}\u{0}{}", request.operation_name.as_deref().unwrap_or(""), request.query, vars);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        Some(GroupKey { hash: hasher.finish(), text })
    }
}

fn collect_vars(value: &Value, out: &mut HashSet<String>) {
    match value {
        Value::Variable(name) => {
            out.insert(name.to_string());
        }
        Value::List(items) => items.iter().for_each(|v| collect_vars(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| collect_vars(v, out)),
        _ => {}
    }
}

fn collect_directive_vars<'a>(
    directives: impl IntoIterator<Item = &'a Positioned<Directive>>,
    out: &mut HashSet<String>,
) {
    for d in directives {
        for (_, v) in &d.node.arguments {
            collect_vars(&v.node, out);
        }
    }
}

fn collect_selection_vars(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    out: &mut HashSet<String>,
    seen: &mut HashSet<Name>,
) {
    for item in &set.items {
        let (directives, nested) = match &item.node {
            Selection::Field(f) => {
                for (_, v) in &f.node.arguments {
                    collect_vars(&v.node, out);
                }
                (&f.node.directives, Some(&f.node.selection_set.node))
            }
            Selection::InlineFragment(f) => (&f.node.directives, Some(&f.node.selection_set.node)),
            Selection::FragmentSpread(s) => {
                let name = &s.node.fragment_name.node;
                let nested = if seen.insert(name.clone()) {
                    doc.fragments.get(name).map(|f| {
                        collect_directive_vars(&f.node.directives, out);
                        &f.node.selection_set.node
                    })
                } else {
                    None
                };
                (&s.node.directives, nested)
            }
        };
        collect_directive_vars(directives, out);
        if let Some(nested) = nested {
            collect_selection_vars(doc, nested, out, seen);
        }
    }
}

/// What a subscription needs to execute its items: the request it was started with (root arguments
/// included, so the document validates as it did then).
pub struct Template {
    query: String,
    operation_name: Option<String>,
    variables: async_graphql::Variables,
}

impl Template {
    /// Keeps what is needed to re-execute `request`.
    pub fn of(request: &async_graphql::Request) -> Self {
        Template {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
        }
    }

    fn request(&self, item: LiveItem) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query.clone()).variables(self.variables.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        request.data(Preset(Mutex::new(Some(item))))
    }
}

/// An executed item, ready to wrap in a `next` message.
enum Frame {
    /// The serialised `ExecutionResult`, the same for every subscriber of the group.
    Shared(Arc<str>),
    /// A field needed the viewer: execute per subscriber.
    Personal,
}

type SlotKey = (Shareable, Arc<GroupKey>);
type Generation = HashMap<SlotKey, Arc<OnceCell<Frame>>>;

/// Executed items by (item, group), in two generations: when the current one fills, it becomes the previous
/// and the oldest is dropped. An evicted item is simply executed again if a slow subscriber still needs it.
pub struct FrameCache {
    generations: Mutex<(Generation, Generation)>,
    per_generation: usize,
    stats: [AtomicU64; 3],
}

/// What the frame cache has done since the server started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStats {
    /// Items executed once for a group.
    pub shared: u64,
    /// Payloads reused from an earlier execution for the group.
    pub reused: u64,
    /// Items executed for one subscriber (no shared identity, or a field needed the viewer).
    pub personal: u64,
}

impl std::fmt::Debug for FrameCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCache").field("per_generation", &self.per_generation).finish_non_exhaustive()
    }
}

impl FrameCache {
    /// A cache holding up to about `2 × per_generation` executed items.
    pub fn new(per_generation: usize) -> Self {
        FrameCache {
            generations: Mutex::new((HashMap::new(), HashMap::new())),
            per_generation,
            stats: Default::default(),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> FrameStats {
        let [shared, reused, personal] = &self.stats;
        FrameStats {
            shared: shared.load(Ordering::Relaxed),
            reused: reused.load(Ordering::Relaxed),
            personal: personal.load(Ordering::Relaxed),
        }
    }

    fn count(&self, which: usize) {
        self.stats[which].fetch_add(1, Ordering::Relaxed);
    }

    fn slot(&self, item: Shareable, group: &Arc<GroupKey>) -> Arc<OnceCell<Frame>> {
        let key = (item, group.clone());
        let mut g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = g.0.get(&key) {
            return slot.clone();
        }
        if let Some(slot) = g.1.remove(&key) {
            g.0.insert(key, slot.clone());
            return slot;
        }
        if g.0.len() >= self.per_generation {
            g.1 = std::mem::take(&mut g.0);
        }
        let slot = Arc::new(OnceCell::new());
        g.0.insert(key, slot.clone());
        slot
    }
}

const SHARED: usize = 0;
const REUSED: usize = 1;
const PERSONAL: usize = 2;

/// One live subscription on a socket: how its items become payloads.
pub struct LiveOp {
    template: Template,
    group: Arc<GroupKey>,
    /// Set once an item needed the viewer: later items skip the shared attempt.
    personal: bool,
}

impl LiveOp {
    /// A subscription started from `template`, in `group`.
    pub fn new(template: Template, group: GroupKey) -> Self {
        LiveOp { template, group: Arc::new(group), personal: false }
    }

    /// The payload (a serialised `ExecutionResult`) of `item` for this subscriber.
    pub async fn payload(
        &mut self,
        schema: &AppSchema,
        cache: &FrameCache,
        viewer: &Viewer,
        item: LiveItem,
    ) -> Arc<str> {
        if !self.personal {
            if let Some(shareable) = Shareable::of(&item) {
                let slot = cache.slot(shareable, &self.group);
                let mut executed = false;
                let frame = slot
                    .get_or_init(|| {
                        executed = true;
                        cache.count(SHARED);
                        execute_shared(schema, &self.template, item.clone())
                    })
                    .await;
                match frame {
                    Frame::Shared(bytes) => {
                        if !executed {
                            cache.count(REUSED);
                        }
                        return bytes.clone();
                    }
                    Frame::Personal => self.personal = true,
                }
            }
        }
        cache.count(PERSONAL);
        execute(schema, self.template.request(item).data(viewer.clone())).await
    }
}

async fn execute_shared(schema: &AppSchema, template: &Template, item: LiveItem) -> Frame {
    let shared = Arc::new(Shared::default());
    let request = template.request(item).data(shared.clone());
    let payload = execute(schema, request).await;
    if shared.needs_viewer.load(Ordering::Relaxed) {
        Frame::Personal
    } else {
        Frame::Shared(payload)
    }
}

async fn execute(schema: &AppSchema, request: async_graphql::Request) -> Arc<str> {
    let response = schema.execute_stream(request).next().await.unwrap_or_else(|| {
        // The root resolver returns its preset item; no item means it refused, which it did not at start.
        async_graphql::Response::from_errors(vec![async_graphql::ServerError::new("item not produced", None)])
    });
    serde_json::to_string(&response)
        .unwrap_or_else(|_| r#"{"errors":[{"message":"could not serialise the result"}]}"#.to_owned())
        .into()
}
