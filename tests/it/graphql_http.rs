//! GraphQL over HTTP beyond what graphql-http's audit checks: our session on GET, which failures count
//! as "before execution", and hostile URLs and headers at the endpoint.

use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::support::*;

const GQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` as JSON with `accept` (if any); returns status, content type and the body as JSON.
async fn post(m: &Member, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = m.http.post(format!("{}/graphql", m.base)).json(&body);
    if let Some(accept) = accept {
        req = req.header(ACCEPT, accept);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn responses_are_written_in_the_type_the_client_accepts() {
    let app = TestApp::spawn().await;
    let m = app.member();
    // A member with a session, so `me` has an id to write in every type.
    m.create_room("negotiation", 5, None).await;
    let query = json!({ "query": "{ me { id } }" });
    for (accept, expected) in [
        (Some(GQL_RESPONSE), GQL_RESPONSE),
        (Some("application/json"), "application/json"),
        (Some("application/graphql-response+json;q=0.5, application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
    ] {
        let (status, ct, body) = post(&m, accept, query.clone()).await;
        assert_eq!(status, 200, "{accept:?}");
        assert!(ct.starts_with(expected), "{accept:?} → {ct}");
        assert!(body["data"]["me"]["id"].is_string(), "{body}");
    }
    // Neither type acceptable: 406, as the spec recommends, and no GraphQL body.
    let resp =
        m.http.post(format!("{}/graphql", app.base)).header(ACCEPT, "text/html").json(&query).send().await.unwrap();
    assert_eq!(resp.status(), 406);
}

#[tokio::test]
async fn a_request_that_fails_before_execution_has_no_data_and_is_400_only_under_graphql_response_json() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let deep =
        format!("{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}", "{ ofType ".repeat(9), "}".repeat(9));
    let failures = [
        ("parse", json!({ "query": "{" })),
        ("validation", json!({ "query": "{ noSuchField }" })),
        ("coercion", json!({ "query": "query($id: ID!) { room(id: $id) { id } }", "variables": { "id": null } })),
        ("missing operation", json!({ "query": "query A { me { id } } query B { me { id } }" })),
        ("depth limit", json!({ "query": deep })),
    ];
    for (what, body) in failures {
        let (status, ct, json) = post(&m, Some(GQL_RESPONSE), body.clone()).await;
        assert_eq!((status, ct.starts_with(GQL_RESPONSE)), (400, true), "{what}: {json}");
        assert!(json.get("data").is_none() && json["errors"][0]["message"].is_string(), "{what}: {json}");
        let (status, ct, json) = post(&m, Some("application/json"), body).await;
        assert_eq!((status, ct.starts_with("application/json")), (200, true), "{what}: {json}");
        assert!(json.get("data").is_none() && json["errors"][0]["message"].is_string(), "{what}: {json}");
    }
}

#[tokio::test]
async fn a_field_error_during_execution_is_200_with_a_data_entry_under_either_type() {
    let app = TestApp::spawn().await;
    let m = app.member();
    // `messages` of a room that does not exist fails at the field: execution ran, `data` is null.
    let body = json!({ "query": "{ messages(roomId: \"no-such-room\") { seq } }" });
    for accept in [GQL_RESPONSE, "application/json"] {
        let (status, _, json) = post(&m, Some(accept), body.clone()).await;
        assert_eq!(status, 200, "{accept}: {json}");
        assert!(json.get("data").is_some_and(Value::is_null), "{accept}: {json}");
        assert_eq!(json["errors"][0]["path"], json!(["messages"]), "{json}");
    }
}

#[tokio::test]
async fn a_query_by_get_runs_as_the_sessions_member() {
    let app = TestApp::spawn().await;
    let m = app.member();
    m.create_room("by get", 5, None).await;
    let (id, _) = m.me().await;
    let url = format!("{}/graphql?query=%7B%20me%20%7B%20id%20%7D%20%7D", app.base);
    let resp = m.http.get(&url).header(ACCEPT, GQL_RESPONSE).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()[CONTENT_TYPE].to_str().unwrap().starts_with(GQL_RESPONSE));
    assert_eq!(resp.headers()["cache-control"], "no-store", "per-session answers are never cached");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["me"]["id"], json!(id));
}

#[tokio::test]
async fn a_mutation_selected_by_get_is_405_with_allow_and_runs_nothing() {
    let app = TestApp::spawn().await;
    let m = app.member();
    // A member with a session (so `me` below has an id) and one room of their own.
    let mine = m.create_room("by post", 5, None).await;
    let doc = "query Q { me { id } } mutation M { createRoom(title: \"by get\") { id } }";
    let get = |operation: &'static str| {
        let url = format!("{}/graphql", app.base);
        m.http.get(url).query(&[("query", doc), ("operationName", operation)]).send()
    };
    let refused = get("M").await.unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()[ALLOW], "POST");
    // The query of the same document runs by GET (so the 405 is about the mutation, not the document).
    let allowed = get("Q").await.unwrap();
    assert_eq!(allowed.status(), 200);
    let body: Value = allowed.json().await.unwrap();
    assert!(body["data"]["me"]["id"].is_string(), "{body}");
    // Only the room created by POST: the mutation selected by GET created nothing.
    assert_eq!(m.ok("{ rooms { nodes { id } } }", json!({})).await["rooms"]["nodes"], json!([{ "id": mine }]));
}

#[tokio::test]
async fn hostile_get_urls_are_refused_with_a_clear_status() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let url = format!("{}/graphql", app.base);
    // Over the 16 KiB cap: refused before anything is parsed.
    let long = format!("{{ me {{ id }} }} #{}", "x".repeat(17 * 1024));
    let resp = app.http().get(&url).query(&[("query", long.as_str())]).send().await.expect("sent");
    assert_eq!(resp.status(), 414, "a query string over the cap");
    // Just under the cap the same query runs (a comment pads it).
    let fits = format!("{{ me {{ id }} }} #{}", "x".repeat(15 * 1024));
    let resp = m.http.get(&url).query(&[("query", fits.as_str())]).send().await.expect("sent");
    assert_eq!(resp.status(), 200);
    for (params, what) in [
        (
            vec![("query", "{ me { id } }"), ("query", "mutation { leaveRoom(id: \"x\") }")],
            "`query` parameter is given more than once",
        ),
        (vec![("query", "{ me { id } }"), ("variables", "{nope")], "`variables` parameter must be a JSON object"),
        (vec![("query", "{ me { id } }"), ("extensions", "[1]")], "`extensions` parameter must be a JSON object"),
        (vec![("operationName", "Q")], "`query` parameter is required"),
    ] {
        let resp = m.http.get(&url).query(&params).header(ACCEPT, "application/json").send().await.unwrap();
        assert_eq!(resp.status(), 400, "{params:?}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(what), "{body}");
    }
    // Positive control: the same endpoint still answers a well-formed GET.
    let resp = m.http.get(&url).query(&[("query", "{ me { id } }")]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn only_json_bodies_in_utf8_are_read() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let body = r#"{"query":"mutation { createRoom(title: \"latin\") { id } }"}"#;
    for ct in ["application/json; charset=iso-8859-1", "application/graphql", "text/plain;charset=UTF-8"] {
        let resp =
            m.http.post(format!("{}/graphql", app.base)).header(CONTENT_TYPE, ct).body(body).send().await.unwrap();
        assert_eq!(resp.status(), 415, "{ct}");
    }
    let resp = m
        .http
        .post(format!("{}/graphql", app.base))
        .header(CONTENT_TYPE, "application/json; charset=UTF-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the same body as UTF-8 JSON is read");
    assert_eq!(m.ok("{ rooms { nodes { title } } }", json!({})).await["rooms"]["nodes"], json!([{ "title": "latin" }]));
}

#[tokio::test]
async fn the_playground_is_shown_only_to_browsers_without_a_query() {
    let app = TestApp::spawn().await;
    let browser = "text/html,application/xhtml+xml,*/*;q=0.8";
    let url = format!("{}/graphql", app.base);
    let page = app.http().get(&url).header(ACCEPT, browser).send().await.unwrap();
    assert!(page.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    // With a query, even a browser gets the GraphQL answer.
    let answer =
        app.http().get(&url).query(&[("query", "{ me { id } }")]).header(ACCEPT, browser).send().await.unwrap();
    assert!(answer.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    // Without a query, a non-browser client is told what is missing.
    let bare = app.http().get(&url).send().await.unwrap();
    assert_eq!(bare.status(), 400);
}
