//! `gifbench all`: builds and starts the servers, runs the chosen scenarios on each, one server at a
//! time, and writes one markdown report. Every scenario run is bounded by a timeout; every server and
//! helper process is killed when its run ends.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::client::{Kind, Target};
use crate::docs::PageDocs;
use crate::report::Report;
use crate::scenarios::{fanout, lobby, mix, persist, Sizes};
use crate::servers::{start_nx, Nx, Programs};
use crate::tables;

/// What `gifbench all` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Tiny sizes (CI smoke).
    pub quick: bool,
    /// Scenario letters to run (a–e).
    pub only: Vec<char>,
    /// Run (e) on MongoDB too (nx-27017 found or given, or `mongodb_uri`).
    pub mongo: bool,
    /// nx-27017 to start for the MongoDB run.
    pub nx: Option<PathBuf>,
    /// A MongoDB to use instead of nx-27017.
    pub mongodb_uri: Option<String>,
    /// A gifchat binary to use instead of building `target/release/gifchat`.
    pub gifchat_bin: Option<PathBuf>,
    /// The repository root.
    pub repo: PathBuf,
    /// Where the markdown report goes.
    pub out: PathBuf,
}

/// Runs a shell step in `dir`, failing with its name.
fn step(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let st =
        Command::new(program).args(args).current_dir(dir).status().with_context(|| format!("running {program}"))?;
    if !st.success() {
        bail!("{program} {} failed ({st})", args.join(" "));
    }
    Ok(())
}

/// Builds (or finds) the programs and installs the Socket.IO server's packages.
fn prepare(opts: &Options) -> Result<Programs> {
    let gifchat = match &opts.gifchat_bin {
        Some(p) => p.clone(),
        None => {
            step(&opts.repo, "cargo", &["build", "--release", "--locked", "-p", "gifchat", "--bin", "gifchat"])?;
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| opts.repo.join("target"), PathBuf::from);
            target.join("release/gifchat")
        }
    };
    if !gifchat.exists() {
        bail!("no gifchat binary at {}", gifchat.display());
    }
    let sio_dir = opts.repo.join("bench/socketio");
    if !sio_dir.join("node_modules/socket.io/package.json").exists() {
        step(&sio_dir, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    Ok(Programs {
        gifchat,
        gifbench: std::env::current_exe()?,
        socketio: sio_dir.join("server.js"),
        mongodb_uri: opts.mongodb_uri.clone(),
    })
}

/// Finds nx-27017: the given path, the repository's CI venv, or PATH.
fn find_nx(opts: &Options) -> Option<PathBuf> {
    if let Some(p) = &opts.nx {
        return Some(p.clone());
    }
    let venv = opts.repo.join(".ci/venv/bin/nx-27017");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join("nx-27017")).find(|p| p.exists())
}

/// Starts `kind`, runs `scenario` on it within `limit`, stops it.
async fn on_server<T, F, Fut>(
    programs: &Programs,
    docs: &Arc<PageDocs>,
    kind: Kind,
    limit: Duration,
    scenario: F,
) -> Result<T>
where
    F: FnOnce(crate::servers::Server, Target) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let server = programs.start(kind).await?;
    let target = Target::new(kind, server.port, docs.clone())?;
    eprintln!("- {} on 127.0.0.1:{} (pid {}, core 0)", kind.label(), server.port, server.pid);
    match tokio::time::timeout(limit, scenario(server, target)).await {
        Ok(r) => r,
        Err(_) => bail!("{} did not finish within {limit:?}", kind.label()),
    }
}

/// Runs everything asked for; returns the report and the failures.
pub async fn run_all(opts: &Options) -> Result<(Report, Vec<String>)> {
    let sizes = if opts.quick { Sizes::quick() } else { Sizes::full() };
    let docs = Arc::new(PageDocs::from_pages()?);
    let mut programs = prepare(opts)?;
    let mut _nx: Option<Nx> = None;
    if opts.mongodb_uri.is_none() && opts.only.contains(&'e') {
        match (opts.mongo, find_nx(opts)) {
            (_, Some(nx)) => {
                let started = start_nx(&nx).await?;
                programs.mongodb_uri = Some(started.uri.clone());
                _nx = Some(started);
            }
            (true, None) => bail!("--mongo: no nx-27017 found (give --nx-27017 PATH or --mongodb-uri)"),
            (false, None) => eprintln!("(e) on MongoDB skipped: no nx-27017 found"),
        }
    }
    let limit = Duration::from_secs(if opts.quick { 45 } else { 900 });
    let mut report = Report::default();
    let mut failures = Vec::new();
    tables::header(&mut report, opts, &sizes);
    let servers = [Kind::Gifchat, Kind::Bare, Kind::SocketIo];
    macro_rules! each {
        ($kinds:expr, $module:ident) => {{
            let mut results = Vec::new();
            for kind in $kinds {
                let sizes = sizes.clone();
                let r = on_server(&programs, &docs, kind, limit, |server, target| async move {
                    $module::run(&server, &target, &sizes).await
                })
                .await;
                if let Err(e) = &r {
                    eprintln!("  FAILED: {e:#}");
                    failures.push(format!("{} {}: {e:#}", stringify!($module), kind.label()));
                }
                results.push((kind, r.ok()));
            }
            results
        }};
    }
    if opts.only.contains(&'a') {
        let r = each!(servers, fanout);
        tables::fanout(&mut report, &sizes, &r);
    }
    if opts.only.contains(&'b') {
        let r = each!(servers, mix);
        tables::mix(&mut report, &sizes, &r);
    }
    if opts.only.contains(&'c') || opts.only.contains(&'d') {
        let r = each!(servers, lobby);
        tables::lobby(&mut report, &sizes, &r);
    }
    if opts.only.contains(&'e') {
        let mut stores = vec![Kind::Gifchat];
        if programs.mongodb_uri.is_some() {
            stores.push(Kind::GifchatMongo);
        }
        let r = each!(stores, persist);
        tables::persist(&mut report, &sizes, &r, opts.mongodb_uri.is_none());
    }
    if !failures.is_empty() {
        report.heading("Failures");
        for f in &failures {
            report.para(&format!("- {f}"));
        }
    }
    Ok((report, failures))
}
