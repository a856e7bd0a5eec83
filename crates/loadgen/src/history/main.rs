//! `pawpost-history`: does a conversation's cost depend on its history? (DESIGN §9, issue 13)
//!
//! Phase `grow` opens a direct conversation between two new users and grows it to
//! `--messages` messages over REST, all from one user (the other ends with every one unread),
//! with `--senders` concurrent senders; it measures sends/s over the first and the last
//! `--window` messages and overall, and at `--window` messages and at the end: single-send
//! latency (sequential sends), the recipient's `GET /conversations` latency, and the server's
//! RSS. It saves what it measured in `--state`. Phase `cold`, run after the server restarted
//! on the same data, times the first sends into the big conversation and prints the summary.
//! `scripts/history.sh` runs both around a server it starts and restarts.
//!
//! A network client like `pawpost-loadgen`: it signs its users' tokens itself.

mod api;
mod grow;
mod probe;
mod report;
mod run;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// How a conversation's cost grows with its history.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    phase: Phase,
}

#[derive(Debug, Subcommand)]
enum Phase {
    /// Grow one conversation and measure at its start and its end.
    Grow(GrowArgs),
    /// After a restart: time the first sends into the conversation and print the summary.
    Cold(ColdArgs),
}

/// Where the server is and how to sign for it.
#[derive(Debug, clap::Args)]
struct Server {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The server's process id, to read its RSS from /proc (else from `GET /stats`).
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server's HS256 token secret; by default the one a server generated in `--data-dir`.
    #[arg(long, env = "PAWPOST_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// The data directory of a server that generated its token secret, read when no secret
    /// is given.
    #[arg(long, env = "PAWPOST_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Where the phases keep what they measured.
    #[arg(long, default_value = "history-state.json")]
    state: PathBuf,
}

#[derive(Debug, clap::Args)]
struct GrowArgs {
    #[command(flatten)]
    server: Server,
    /// Messages to grow the conversation to.
    #[arg(long, default_value_t = 100_000)]
    messages: u64,
    /// Concurrent REST senders while growing.
    #[arg(long, default_value_t = 32)]
    senders: usize,
    /// Messages per rate window (the first and the last are compared), and the size at which
    /// the "start" figures are taken.
    #[arg(long, default_value_t = 1000)]
    window: u64,
    /// Sequential sends and listings per latency sample.
    #[arg(long, default_value_t = 200)]
    probes: u64,
    /// Prefix of the users' ids (fresh per run by default).
    #[arg(long)]
    run_id: Option<String>,
    /// Print the final summary (phase `cold`) as JSON on stdout too.
    #[arg(long)]
    json: bool,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct ColdArgs {
    #[command(flatten)]
    server: Server,
}

impl GrowArgs {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.window > 0, "--window must be positive");
        anyhow::ensure!(self.senders > 0, "--senders must be positive");
        anyhow::ensure!(self.probes > 0, "--probes must be positive");
        anyhow::ensure!(
            self.messages >= 2 * self.window + self.probes,
            "--messages must be at least 2 × --window + --probes ({})",
            2 * self.window + self.probes
        );
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawpost-history: starting the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.phase {
            Phase::Grow(args) => run::grow(args).await,
            Phase::Cold(args) => run::cold(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pawpost-history: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
