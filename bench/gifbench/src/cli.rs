//! The command line: `gifbench all` (the benchmark) and `gifbench bare-server` (the baseline it starts).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// gifbench — gifchat's fan-out benchmark beside a bare broadcast server and Socket.IO.
#[derive(Debug, Parser)]
#[command(name = "gifbench", about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and start every server, run the scenarios, print and write the report (exit 1 if a
    /// server failed to start or a scenario delivered nothing).
    All(AllArgs),
    /// Run the bare axum + tokio broadcast baseline (started by `all`; useful by hand too).
    BareServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8006")]
        listen: SocketAddr,
    },
}

/// `gifbench all` settings.
#[derive(Debug, Args)]
pub struct AllArgs {
    /// A smoke of every scenario at tiny sizes (well under a minute once built).
    #[arg(long)]
    pub quick: bool,
    /// Only these scenarios, as letters, e.g. `ab` or `e` (c and d run together).
    #[arg(long, default_value = "abcde", value_parser = parse_only)]
    pub only: Only,
    /// Require the MongoDB run of (e) (it runs anyway when nx-27017 is found).
    #[arg(long)]
    pub mongo: bool,
    /// nx-27017 to start for the MongoDB run (default: .ci/venv/bin/nx-27017, then PATH).
    #[arg(long = "nx-27017", value_name = "PATH")]
    pub nx: Option<PathBuf>,
    /// Use this MongoDB for (e) instead of starting nx-27017 (each run gets its own database).
    #[arg(long, env = "GIFBENCH_MONGODB_URI", hide_env_values = true, value_name = "URI")]
    pub mongodb_uri: Option<String>,
    /// Use this gifchat binary instead of building target/release/gifchat.
    #[arg(long, value_name = "PATH")]
    pub gifchat_bin: Option<PathBuf>,
    /// Where to write the markdown report (default: target/gifbench/results.md in the repository).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// The scenarios chosen with `--only`, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Only(pub Vec<char>);

/// Parses `--only`: one or more distinct letters a–e.
fn parse_only(s: &str) -> Result<Only, String> {
    if s.is_empty() {
        return Err("name at least one scenario (letters a–e)".into());
    }
    let mut out = Vec::new();
    for c in s.chars() {
        if !('a'..='e').contains(&c) {
            return Err(format!("unknown scenario {c:?}: use letters a–e, e.g. `--only ab`"));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(Only(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_takes_scenario_letters_and_refuses_anything_else() {
        assert_eq!(parse_only("eab").unwrap(), Only(vec!['e', 'a', 'b']));
        for hostile in ["", "f", "a,b", "../etc", "ａ", "a\0"] {
            assert!(parse_only(hostile).is_err(), "{hostile:?} accepted");
        }
    }

    #[test]
    fn the_command_line_parses_and_refuses_bad_values() {
        let ok = Cli::try_parse_from(["gifbench", "all", "--quick", "--only", "ce"]).expect("parses");
        let Command::All(args) = ok.command else { panic!("not all") };
        assert!(args.quick);
        assert_eq!(args.only, Only(vec!['c', 'e']));
        assert!(Cli::try_parse_from(["gifbench", "all", "--only", "xyz"]).is_err());
        assert!(Cli::try_parse_from(["gifbench", "bare-server", "--listen", "not-an-address"]).is_err());
        assert!(Cli::try_parse_from(["gifbench", "bare-server", "--listen", "127.0.0.1:1"]).is_ok());
    }
}
