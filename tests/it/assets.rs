//! Static assets: embedded in the binary (served from an empty directory, never from the disk),
//! content-hashed URLs with long caching, plain URLs revalidated by ETag, gzip/br when accepted, an
//! import map that gives module imports their hashed URLs, and hostile paths answered with 404.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// The running binary, killed when dropped (a failing assertion must not leave it behind).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `gifchat serve` with `cwd` as its current directory and returns it with its base URL.
fn serve_in(cwd: &std::path::Path, data: &std::path::Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gifchat"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(cli_store_env(data))
        .env("RUST_LOG", "info")
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gifchat");
    let mut stderr = child.stderr.take().expect("stderr");
    let running = Running(child);
    // Drain stderr for the server's whole life: a closed pipe would fail its log writes.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut buf) {
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let deadline = std::time::Instant::now() + WAIT * 4;
    loop {
        let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
        if let Some(at) = text.find("(http://") {
            if let Some(end) = text[at..].find(')') {
                return (running, text[at + 1..at + end].to_owned());
            }
        }
        assert!(std::time::Instant::now() < deadline, "the server did not say where it listens: {text}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The same-origin asset URLs a page references: `<link href>`, `<script src>`, `<img src>` that start
/// with `/`, plus every target of its import map.
fn asset_urls(html: &str) -> BTreeSet<String> {
    let mut urls = BTreeSet::new();
    for tag in html.split('<').skip(1) {
        let name = tag.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or_default();
        let attr = match name.to_ascii_lowercase().as_str() {
            "link" => "href=\"",
            "script" | "img" => "src=\"",
            _ => continue,
        };
        let head = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(at) = head.find(attr) {
            let value = &head[at + attr.len()..];
            let value = &value[..value.find('"').unwrap_or(value.len())];
            if value.starts_with('/') && !value.starts_with("//") {
                urls.insert(value.to_owned());
            }
        }
    }
    if let Some(map) = import_map(html) {
        urls.extend(map.values().map(|v| v.as_str().expect("a URL").to_owned()));
    }
    urls
}

/// The page's import map (`imports`), if it has one.
fn import_map(html: &str) -> Option<serde_json::Map<String, Value>> {
    let open = "<script type=\"importmap\">";
    let start = html.find(open)? + open.len();
    let end = start + html[start..].find("</script>")?;
    let map: Value = serde_json::from_str(&html[start..end]).expect("the import map is JSON");
    Some(map["imports"].as_object().expect("imports").clone())
}

/// The content type an asset must be served with, by extension.
fn expected_type(url: &str) -> &'static str {
    match url.rsplit('.').next() {
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        other => panic!("unexpected asset type {other:?} in {url}"),
    }
}

/// Relative module imports (`from './x.js'`) of a JavaScript file.
fn relative_imports(js: &str) -> Vec<String> {
    js.split("from '")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .filter(|s| s.starts_with("./"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_binary_serves_every_asset_of_every_page_from_an_empty_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    prepare_cli_store(data.path());
    let (_server, base) = serve_in(cwd.path(), data.path());
    // Files planted where a disk-serving server would look are never served: only the embedded set is.
    std::fs::create_dir_all(cwd.path().join("static")).unwrap();
    std::fs::write(cwd.path().join("static/main.css"), "PLANTED").unwrap();
    std::fs::write(cwd.path().join("static/planted.txt"), "PLANTED").unwrap();

    let owner = Member::new(&base);
    let open = owner.create_room("assets", 5, None).await;
    let secret = owner.create_room("secret assets", 5, Some("pw-assets")).await;
    let guest = Member::new(&base);
    let get = |m: &Member, path: &str| m.http.get(format!("{base}{path}")).header("accept", "text/html").send();
    let mut pages = vec![
        ("lobby", get(&owner, "/").await.unwrap()),
        ("create form", get(&owner, "/room").await.unwrap()),
        ("room", get(&owner, &format!("/room/{open}")).await.unwrap()),
        ("password form", get(&guest, &format!("/room/{secret}")).await.unwrap()),
        ("playground", get(&owner, "/graphql").await.unwrap()),
    ];
    let cross_site = guest
        .http
        .post(format!("{base}/room/{secret}/enter"))
        .header("origin", "https://evil.example")
        .form(&[("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    pages.push(("failure", cross_site));

    let mut all = BTreeSet::new();
    let mut imports_seen = 0;
    let mut modules_mapped = BTreeSet::new();
    for (name, resp) in pages {
        assert!(resp.status() == 200 || name == "failure", "{name}: {}", resp.status());
        let html = resp.text().await.unwrap();
        let urls = asset_urls(&html);
        assert!(urls.iter().any(|u| u.starts_with("/static/")), "{name} references assets: {html}");
        if let Some(map) = import_map(&html) {
            modules_mapped.extend(map.keys().cloned());
        }
        all.extend(urls);
    }
    // Positive controls: the parser found the stylesheet, both entry modules, the playground's script.
    for expected in
        ["/static/main.", "/static/js/lobby.", "/static/js/room.", "/static/playground/playground.", "/static/favicon."]
    {
        assert!(all.iter().any(|u| u.starts_with(expected)), "{expected}… among {all:?}");
    }
    all.insert("/favicon.ico".to_owned());

    let http = reqwest::Client::new();
    for url in &all {
        let resp = http.get(format!("{base}{url}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(expected_type(url)), "{url}: {ct}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("PLANTED"), "{url} came from the disk");
        // Every relative import of a module resolves to a URL the import map gives a hashed target.
        if url.starts_with("/static/js/") {
            for import in relative_imports(&body) {
                imports_seen += 1;
                let resolved = format!("/static/js/{}", &import[2..]);
                assert!(modules_mapped.contains(&resolved), "{url} imports {import}, not in the import map");
            }
        }
    }
    assert!(imports_seen > 0, "the modules' imports were found and checked");
    let planted = http.get(format!("{base}/static/planted.txt")).send().await.unwrap();
    assert_eq!(planted.status(), 404);
}

#[tokio::test]
async fn hashed_urls_are_immutable_plain_urls_revalidate_and_both_answer_if_none_match() {
    let app = TestApp::spawn().await;
    let page = app.http().get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    let css = asset_urls(&page).into_iter().find(|u| u.starts_with("/static/main.")).expect("main.css");
    assert!(css.len() == "/static/main..css".len() + 16, "hashed: {css}");
    let http = reqwest::Client::new();

    let hashed = http.get(format!("{}{css}", app.base)).send().await.unwrap();
    assert_eq!(hashed.status(), 200);
    assert_eq!(hashed.headers()["cache-control"], "public, max-age=31536000, immutable");
    let etag = hashed.headers()["etag"].clone();
    let body = hashed.bytes().await.unwrap();

    let plain = http.get(format!("{}/static/main.css", app.base)).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert_eq!(plain.headers()["etag"], etag, "one file, one validator");
    assert_eq!(plain.bytes().await.unwrap(), body);

    for url in [css.as_str(), "/static/main.css", "/favicon.ico"] {
        let first = http.get(format!("{}{url}", app.base)).send().await.unwrap();
        let tag = first.headers()["etag"].clone();
        let again = http.get(format!("{}{url}", app.base)).header("if-none-match", tag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{url}");
        assert!(again.bytes().await.unwrap().is_empty());
        // Positive control: another validator gets the file.
        let other = http.get(format!("{}{url}", app.base)).header("if-none-match", "\"other\"").send().await.unwrap();
        assert_eq!(other.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn assets_are_compressed_only_when_the_client_accepts_it() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let url = format!("{}/static/main.css", app.base);
    let identity = http.get(&url).send().await.unwrap();
    assert!(identity.headers().get("content-encoding").is_none());
    assert!(identity.headers()["vary"].to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"));
    let plain = identity.bytes().await.unwrap();
    assert!(!plain.is_empty());

    let gz = http.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let packed = gz.bytes().await.unwrap();
    assert!(packed.len() < plain.len());
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut unpacked).unwrap();
    assert_eq!(unpacked, plain);

    let br = http.get(&url).header("accept-encoding", "gzip, deflate, br").send().await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let packed = br.bytes().await.unwrap();
    let mut unpacked = Vec::new();
    brotli::Decompressor::new(&packed[..], 4096).read_to_end(&mut unpacked).unwrap();
    assert_eq!(unpacked, plain);

    let refused = http.get(&url).header("accept-encoding", "br;q=0, gzip;q=0").send().await.unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
    assert_eq!(refused.bytes().await.unwrap(), plain);
}

/// Sends `path` exactly as written (no client-side normalisation of `..` or escapes) and returns the
/// status code and body.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {text}"));
    (status, text)
}

#[tokio::test]
async fn hostile_asset_paths_get_404_and_nothing_outside_the_embedded_set() {
    let app = TestApp::spawn().await;
    // Positive control: the same raw request for an embedded file succeeds.
    let (status, body) = raw_get(app.addr, "/static/main.css").await;
    assert_eq!(status, 200);
    assert!(body.contains('{'), "a stylesheet: {body}");

    let long = format!("/static/{}.css", "a".repeat(8000));
    let hostile = [
        "/static/../Cargo.toml",
        "/static/../../../../etc/passwd",
        "/static/..%2fCargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/.%2e/src/main.rs",
        "/static/js/..%5c..%5cCargo.toml",
        "/static/%252e%252e/Cargo.toml",
        "/static//etc/passwd",
        "/static/main.css%00.js",
        "/static/main.0000000000000000.css",
        "/static/main.css.0000000000000000",
        "/static/js/",
        "/static/",
        "/static",
        "/static/build.rs",
        "/static/../static/main.css",
        long.as_str(),
    ];
    for path in hostile {
        let (status, body) = raw_get(app.addr, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("[package]") && !body.contains("root:") && !body.contains("fn main"), "{path}: {body}");
    }
    // The API and pages still answer after all that (nothing was disturbed).
    assert!(app.member().ok("{ me { id } }", json!({})).await.as_object().is_some_and(|d| d.contains_key("me")));
}
