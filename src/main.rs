//! The `gifchat` binary: parse the command line, set up logging, run the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = gifchat::config::Cli::parse(); // usage errors exit 2 here
    tracing_subscriber::fmt()
        .with_env_filter(
            // memory-serve lists every embedded file at info level on start-up.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn,memory_serve=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match gifchat::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
