//! The official GraphQL-over-HTTP audit (`auditServer` of the npm package graphql-http, pinned in
//! tests/js) passes in full against a real server: every audit `ok`, none a notice, warning or error.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

/// How many audits graphql-http 1.23.1 runs; a different count means the pin moved or the package changed,
/// and the new audits deserve a look rather than a silent pass.
const AUDITS: usize = 61;

#[tokio::test]
async fn the_graphql_over_http_audit_passes_in_full() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/graphql-http-audit.mjs");
    assert!(
        script.with_file_name("node_modules").join("graphql-http").exists(),
        "run `npm ci --prefix tests/js` first (.ci/run does)"
    );
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql", app.base);
    let child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    // Sixty-one small requests; the bound only catches a hang, it does not time anything.
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the audit finished")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the audit could not run: {:?}\n{stderr}", output.status);
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("the audit prints a JSON array");
    let failing: Vec<&Value> = results.iter().filter(|r| r["status"] != "ok").collect();
    let report = serde_json::to_string_pretty(&failing).unwrap();
    assert_eq!(results.len(), AUDITS, "graphql-http ran a different set of audits; not ok:\n{report}");
    assert!(failing.is_empty(), "{} of {} audits are not ok:\n{report}", failing.len(), results.len());
    // Each entry names its audit: an empty or malformed output cannot pass as "all ok".
    assert!(results.iter().all(|r| r["id"].is_string() && r["name"].is_string()), "{results:?}");
}
