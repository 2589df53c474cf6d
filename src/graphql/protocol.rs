//! The client's half of graphql-transport-ws (PROTOCOL.md of the `graphql-ws` package), read without I/O:
//! one text frame in, one message — or the reason the socket closes with 4400 — out. Kept pure so that it
//! is property-tested directly on arbitrary text and on damaged messages (below).
//!
//! Every field is checked as the protocol writes it, as the reference server does: `id` a non-empty
//! string, `payload` an object (or, where optional, null or absent), a `subscribe` payload with a `query`
//! string. async-graphql alone would take a missing `query` as the empty document and answer with a
//! GraphQL error instead of the protocol's close.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Longest operation id, in bytes: ids key the socket's table of operations, and clients use counters or
/// UUIDs, so a longer one is refused as an invalid message rather than stored.
pub(super) const MAX_ID_BYTES: usize = 128;

/// Close reason for anything that is not a message the protocol lets a client send.
pub(super) const INVALID_MESSAGE: &str = "Invalid message received";
/// Close reason for an empty or over-long operation id.
pub(super) const INVALID_ID: &str = "Invalid operation id";

/// A message a client may send, with its fields checked.
#[derive(Debug)]
pub(super) enum ClientMessage {
    ConnectionInit,
    Ping,
    Pong,
    // Boxed: a request is large, the other messages are tiny.
    Subscribe { id: String, payload: Box<async_graphql::Request> },
    Complete { id: String },
}

/// The wire form. Payloads of the messages that carry no data are read only to check their shape.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    ConnectionInit {
        #[serde(default, rename = "payload")]
        _payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default, rename = "payload")]
        _payload: Option<Map<String, Value>>,
    },
    Pong {
        #[serde(default, rename = "payload")]
        _payload: Option<Map<String, Value>>,
    },
    Subscribe {
        id: String,
        payload: Map<String, Value>,
    },
    Complete {
        id: String,
    },
}

impl ClientMessage {
    /// Reads one text frame; `Err` is the reason to close with 4400.
    pub(super) fn parse(text: &str) -> Result<Self, &'static str> {
        let wire: Wire = serde_json::from_str(text).map_err(|_| INVALID_MESSAGE)?;
        Ok(match wire {
            Wire::ConnectionInit { .. } => Self::ConnectionInit,
            Wire::Ping { .. } => Self::Ping,
            Wire::Pong { .. } => Self::Pong,
            Wire::Subscribe { id, payload } => {
                let id = checked_id(id)?;
                if !matches!(payload.get("query"), Some(Value::String(_))) {
                    return Err(INVALID_MESSAGE);
                }
                // `operationName`, `variables` and `extensions` must be a string/object or null: the
                // request's own deserialisation says so.
                let request = serde_json::from_value(Value::Object(payload)).map_err(|_| INVALID_MESSAGE)?;
                Self::Subscribe { id, payload: Box::new(request) }
            }
            Wire::Complete { id } => Self::Complete { id: checked_id(id)? },
        })
    }
}

/// An operation id the socket will keep: 1 to [`MAX_ID_BYTES`] bytes.
fn checked_id(id: String) -> Result<String, &'static str> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(INVALID_ID);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_five_client_messages_parse() {
        assert!(matches!(ClientMessage::parse(r#"{"type":"connection_init"}"#), Ok(ClientMessage::ConnectionInit)));
        assert!(matches!(ClientMessage::parse(r#"{"type":"ping","payload":null}"#), Ok(ClientMessage::Ping)));
        assert!(matches!(ClientMessage::parse(r#"{"type":"pong","payload":{"a":1}}"#), Ok(ClientMessage::Pong)));
        let sub = r#"{"type":"subscribe","id":"1","payload":{"query":"{ me { id } }","variables":{"a":[1]}}}"#;
        let Ok(ClientMessage::Subscribe { id, payload }) = ClientMessage::parse(sub) else { panic!("{sub}") };
        assert_eq!((id.as_str(), payload.query.as_str()), ("1", "{ me { id } }"));
        assert!(
            matches!(ClientMessage::parse(r#"{"type":"complete","id":"1"}"#), Ok(ClientMessage::Complete { id }) if id == "1")
        );
    }

    #[test]
    fn empty_and_over_long_operation_ids_are_invalid() {
        for id in [String::new(), "x".repeat(MAX_ID_BYTES + 1), "가".repeat(43)] {
            let sub = json!({"type": "subscribe", "id": id, "payload": {"query": "{ me { id } }"}}).to_string();
            assert_eq!(ClientMessage::parse(&sub).err(), Some(INVALID_ID), "{id:?}");
            let complete = json!({"type": "complete", "id": id}).to_string();
            assert_eq!(ClientMessage::parse(&complete).err(), Some(INVALID_ID), "{id:?}");
        }
        // Positive control: the longest id fits.
        let longest = json!({"type": "complete", "id": "x".repeat(MAX_ID_BYTES)}).to_string();
        assert!(ClientMessage::parse(&longest).is_ok());
    }

    #[test]
    fn a_subscribe_without_a_query_string_is_invalid_not_an_empty_document() {
        for payload in [json!({}), json!({"query": null}), json!({"query": 5}), json!({"operationName": "x"})] {
            let sub = json!({"type": "subscribe", "id": "1", "payload": payload}).to_string();
            assert_eq!(ClientMessage::parse(&sub).err(), Some(INVALID_MESSAGE), "{payload}");
        }
    }

    #[test]
    fn server_messages_and_non_object_payloads_are_invalid_from_a_client() {
        for text in [
            r#"{"type":"next","id":"1","payload":{}}"#,
            r#"{"type":"connection_ack"}"#,
            r#"{"type":"connection_init","payload":"token"}"#,
            r#"{"type":"ping","payload":[1]}"#,
            r#"{"type":"subscribe","id":"1","payload":"{ me { id } }"}"#,
            r#"{"type":"complete","id":1}"#,
            r#"{"id":"1"}"#,
            "null",
            "",
        ] {
            assert_eq!(ClientMessage::parse(text).err(), Some(INVALID_MESSAGE), "{text}");
        }
    }

    // --- Properties -------------------------------------------------------------------------------

    /// Whether PROTOCOL.md lets a client send `v`, worked out from the document, apart from `parse`.
    fn valid_per_protocol(v: &Value) -> bool {
        let Some(m) = v.as_object() else { return false };
        let object_or_null = |f: Option<&Value>| matches!(f, None | Some(Value::Null) | Some(Value::Object(_)));
        let string_or_null = |f: Option<&Value>| matches!(f, None | Some(Value::Null) | Some(Value::String(_)));
        let good_id = || matches!(m.get("id"), Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_BYTES);
        match m.get("type").and_then(Value::as_str) {
            Some("connection_init" | "ping" | "pong") => object_or_null(m.get("payload")),
            Some("complete") => good_id(),
            Some("subscribe") => {
                let Some(Value::Object(p)) = m.get("payload") else { return false };
                good_id()
                    && matches!(p.get("query"), Some(Value::String(_)))
                    && string_or_null(p.get("operationName"))
                    && object_or_null(p.get("variables"))
                    && object_or_null(p.get("extensions"))
            }
            _ => false,
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A field that is absent (`None`), or present with a value from `value`.
    fn maybe(value: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![1 => Just(None), 3 => value.prop_map(Some)]
    }

    fn message_type() -> impl Strategy<Value = Value> {
        const NAMES: &[&str] = &[
            "connection_init",
            "ping",
            "pong",
            "subscribe",
            "complete",
            "next",
            "error",
            "connection_ack",
            "Ping",
            "",
        ];
        prop_oneof![4 => proptest::sample::select(NAMES).prop_map(Value::from), 1 => any_json()]
    }

    fn operation_id() -> impl Strategy<Value = Value> {
        prop_oneof![
            3 => "[a-z0-9-]{1,12}".prop_map(Value::from),
            1 => Just(Value::from("")),
            1 => Just(Value::from("i".repeat(MAX_ID_BYTES))),
            1 => Just(Value::from("i".repeat(MAX_ID_BYTES + 1))),
            1 => ".{40,50}".prop_map(Value::from),
            1 => any_json(),
        ]
    }

    fn subscribe_payload() -> impl Strategy<Value = Value> {
        let query = prop_oneof![3 => "\\{ ?me ?\\{ id \\} ?\\}|subscription \\{ lobby \\{ __typename \\} \\}|.{0,12}".prop_map(Value::from), 1 => any_json()];
        let object = || {
            proptest::collection::btree_map("[a-z]{1,4}", any_json(), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        };
        (
            maybe(query),
            maybe(prop_oneof![".{0,6}".prop_map(Value::from), any_json()]),
            maybe(prop_oneof![object(), any_json()]),
            maybe(prop_oneof![object(), any_json()]),
        )
            .prop_map(|(query, name, variables, extensions)| {
                let mut p = Map::new();
                for (k, v) in
                    [("query", query), ("operationName", name), ("variables", variables), ("extensions", extensions)]
                {
                    if let Some(v) = v {
                        p.insert(k.to_owned(), v);
                    }
                }
                Value::Object(p)
            })
    }

    /// Messages shaped like the protocol's, each field right, wrong, or missing.
    fn message() -> impl Strategy<Value = Value> {
        (
            message_type(),
            maybe(operation_id()),
            maybe(prop_oneof![3 => subscribe_payload(), 1 => any_json()]),
            maybe(any_json()),
        )
            .prop_map(|(kind, id, payload, extra)| {
                let mut m = Map::new();
                m.insert("type".to_owned(), kind);
                for (k, v) in [("id", id), ("payload", payload), ("junk", extra)] {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v);
                    }
                }
                Value::Object(m)
            })
    }

    /// One edit to a message's text.
    fn damage(text: &str, at: usize, what: u8, c: char) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return c.to_string();
        }
        let i = at % chars.len();
        match what % 3 {
            0 => chars[i] = c,
            1 => {
                chars.remove(i);
            }
            _ => chars.insert(i, c),
        }
        chars.into_iter().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn a_message_parses_exactly_when_the_protocol_allows_it(v in message()) {
            let text = v.to_string();
            let parsed = ClientMessage::parse(&text);
            prop_assert_eq!(parsed.is_ok(), valid_per_protocol(&v), "{}", text);
            match parsed {
                Ok(ClientMessage::Subscribe { id, payload }) => {
                    prop_assert_eq!(Some(id.as_str()), v["id"].as_str());
                    prop_assert_eq!(Some(payload.query.as_str()), v["payload"]["query"].as_str());
                    prop_assert_eq!(payload.operation_name.as_deref(), v["payload"]["operationName"].as_str());
                }
                Ok(ClientMessage::Complete { id }) => prop_assert_eq!(Some(id.as_str()), v["id"].as_str()),
                Ok(_) => {}
                // A bad id has its own reason; everything else is an invalid message.
                Err(reason) => prop_assert!(reason == INVALID_ID || reason == INVALID_MESSAGE),
            }
        }

        #[test]
        fn arbitrary_text_never_panics_and_is_only_accepted_as_a_valid_message(
            text in prop_oneof![any::<String>(), ".{0,64}", "\\{\"type\":\"[a-z_]{0,16}\"(,\"id\":\"[^\"]{0,4}\")?\\}"],
        ) {
            if ClientMessage::parse(&text).is_ok() {
                let v: Value = serde_json::from_str(&text).expect("accepted text is JSON");
                prop_assert!(valid_per_protocol(&v), "{}", text);
            }
        }

        #[test]
        fn a_damaged_message_never_panics_and_is_only_accepted_if_still_valid(
            v in message(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), prop_oneof![any::<char>(), proptest::sample::select(&['"', '{', '}', ',', ':', '\\', '[', ']', '0', 'n'][..])]), 1..4),
        ) {
            let mut text = v.to_string();
            for (at, what, c) in edits {
                text = damage(&text, at, what, c);
            }
            if ClientMessage::parse(&text).is_ok() {
                let v: Value = serde_json::from_str(&text).expect("accepted text is JSON");
                prop_assert!(valid_per_protocol(&v), "{}", text);
            }
        }
    }
}
