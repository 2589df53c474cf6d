//! gifbench's entry point: parse the command line, pin, run.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use gifbench::cli::{Cli, Command};
use gifbench::run::{run_all, Options};
use gifbench::{bare, machine};

/// The repository root: this crate lives in bench/gifbench.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::BareServer { listen } => {
            // Pinned from outside (`taskset -c 0`); a multi-threaded runtime like gifchat's.
            tokio::runtime::Runtime::new()?.block_on(bare::run(listen))
        }
        Command::All(args) => {
            // Before any thread exists: everything the generator starts inherits core 1.
            machine::pin_self(1).context("pinning the generator to core 1 (needs 2 cores)")?;
            let fds = machine::raise_fd_limit()?;
            eprintln!("generator on core 1, fd limit {fds}");
            let repo = repo_root().canonicalize()?;
            let out = args.out.unwrap_or_else(|| repo.join("target/gifbench/results.md"));
            let opts = Options {
                quick: args.quick,
                only: args.only.0,
                mongo: args.mongo,
                nx: args.nx,
                mongodb_uri: args.mongodb_uri,
                gifchat_bin: args.gifchat_bin,
                repo,
                out: out.clone(),
            };
            // One thread: the generator's work stays on its one core, and no lock is ever contended.
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (report, failures) = rt.block_on(run_all(&opts))?;
            println!("{}", report.as_str());
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&out, report.as_str()).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("report written to {}", out.display());
            if !failures.is_empty() {
                eprintln!("{} failure(s):", failures.len());
                for f in &failures {
                    eprintln!("  {f}");
                }
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
