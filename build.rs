//! Build step: embeds `static/` in the binary (memory-serve) and writes the table of content-hashed
//! asset URLs, the import map of the JavaScript modules and that import map's CSP hash to `OUT_DIR`,
//! so templates and the page CSP get them as compile-time constants (`src/http/assets.rs`).
//!
//! Why hash here and not at start-up: the page CSP stays a `const` that names the one inline script
//! (the import map) by its hash, and nothing about the assets is computed or can fail at run time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Hex digits of the content hash in a hashed URL (64 bits: collisions between two builds' files of
/// the same name are not a concern).
const HASH_HEX: usize = 16;

fn main() {
    println!("cargo::rerun-if-changed=static");
    // memory-serve reports every file as a cargo warning; the listing belongs in the build log only.
    std::env::set_var("MEMORY_SERVE_QUIET", "1");
    // Always embed, also in debug builds: the binary must not depend on the checkout it was built in.
    memory_serve::load_directory_with_embed("static", true);

    let mut files = Vec::new();
    collect(Path::new("static"), &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    let mut imports = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("read a static file");
        let hash = hex(&Sha256::digest(&bytes));
        let route = path.strip_prefix("static").expect("under static/").to_str().expect("a UTF-8 file name");
        let route = format!("/{}", route.replace('\\', "/"));
        let hashed = hashed_name(&route, &hash[..HASH_HEX]);
        // (name in static/, plain route inside /static, hashed route inside /static, the URL pages use)
        writeln!(table, "    ({:?}, {route:?}, {hashed:?}, \"/static{hashed}\"),", &route[1..]).unwrap();
        if route.starts_with("/js/") && route.ends_with(".js") {
            imports.push((format!("/static{route}"), format!("/static{hashed}")));
        }
    }
    table.push(']');

    // The import map: keys are the plain module URLs that `import … from './x.js'` resolves to.
    let mut map = String::from("{\"imports\":{");
    for (i, (plain, hashed)) in imports.iter().enumerate() {
        if i > 0 {
            map.push(',');
        }
        write!(map, "\"{plain}\":\"{hashed}\"").unwrap();
    }
    map.push_str("}}");
    let csp_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(map.as_bytes()));

    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("asset_table.rs"), table).expect("write the asset table");
    std::fs::write(out.join("importmap.json"), &map).expect("write the import map");
    std::fs::write(out.join("importmap.csp"), format!("'sha256-{csp_hash}'")).expect("write the CSP hash");
}

/// Every file under `dir`, recursively.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read static/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.metadata().is_ok_and(|m| m.len() > 0) {
            // memory-serve skips empty files; so must the table, or it would name unserved URLs.
            files.push(path);
        }
    }
}

/// `/js/room.js` → `/js/room.0123456789abcdef.js`; a name without an extension gets the hash appended.
fn hashed_name(route: &str, hash: &str) -> String {
    let name_start = route.rfind('/').map_or(0, |i| i + 1);
    match route[name_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let dot = name_start + dot;
            format!("{}.{hash}{}", &route[..dot], &route[dot..])
        }
        _ => format!("{route}.{hash}"),
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}
