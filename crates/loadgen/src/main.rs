//! `pawpost-loadgen`: drives a pawpost server the way its apps do and checks every delivery.
//!
//! It creates its users and conversations through the REST API, opens one SignalR WebSocket
//! per user at a controlled rate (JSON or MessagePack hub protocol), sends messages through
//! the hub's `SendMessage` at a fixed total rate, and measures at every recipient the
//! send→receive latency (the send time travels in the message) and, at the sender, the
//! `SendMessage` completion latency. It checks that every acknowledged message reaches every
//! other participant exactly once and in the conversation's order, and exits non-zero when
//! one did not.
//!
//! Run `pawpost-loadgen --help` for the options; `BENCHMARKS.md` for the figures.

mod conn;
mod report;
mod setup;
mod tally;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use pawpost_signalr::protocol::Protocol;
use tokio::sync::mpsc;

use crate::conn::{Command, Connection};
use crate::tally::Tally;
use pawpost_loadgen::token;

/// The hub protocol to speak.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Wire {
    Json,
    Msgpack,
}

/// Load a pawpost server with SignalR clients and check every delivery.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// SignalR connections to open (one user each).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Messages per second, in total.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Participants per conversation: 1 means direct conversations between pairs; 2 or more,
    /// groups of that many users. Connections left over (not a whole conversation) stay idle.
    #[arg(long, default_value_t = 1)]
    group_size: usize,
    /// The hub protocol.
    #[arg(long, value_enum, default_value_t = Wire::Json)]
    protocol: Wire,
    /// New connections per second.
    #[arg(long, default_value_t = 1000.0)]
    connect_rate: f64,
    /// Print the summary as JSON on stdout (the human one goes to stderr).
    #[arg(long)]
    json: bool,
    /// The server's HS256 token secret; by default the one a server generated in `--data-dir`.
    #[arg(long, env = "PAWPOST_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// The data directory of a server that generated its token secret (`jwt.secret`), read
    /// when no secret is given.
    #[arg(long, env = "PAWPOST_DATA_DIR", default_value = "./data")]
    data_dir: std::path::PathBuf,
    /// Seconds to wait after sending for the last completions and deliveries.
    #[arg(long, default_value_t = 30.0)]
    drain: f64,
    /// Concurrent REST requests while setting up.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Bytes of text per message (at least what the timestamp needs).
    #[arg(long, default_value_t = 64)]
    message_bytes: usize,
    /// Prefix of user ids (a fresh one per run by default, so runs never share users).
    #[arg(long)]
    run_id: Option<String>,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

impl Args {
    fn protocol(&self) -> Protocol {
        match self.protocol {
            Wire::Json => Protocol::Json,
            Wire::Msgpack => Protocol::MessagePack,
        }
    }

    /// Participants per conversation.
    fn members(&self) -> usize {
        self.group_size.max(2)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.connections >= 2, "--connections must be at least 2");
        anyhow::ensure!(
            self.members() <= self.connections,
            "--group-size must not exceed --connections"
        );
        anyhow::ensure!(self.rate > 0.0, "--rate must be positive");
        anyhow::ensure!(self.duration > 0.0, "--duration must be positive");
        anyhow::ensure!(self.connect_rate > 0.0, "--connect-rate must be positive");
        anyhow::ensure!(self.drain >= 0.0, "--drain must not be negative");
        anyhow::ensure!(
            self.setup_concurrency > 0,
            "--setup-concurrency must be positive"
        );
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawpost-loadgen: starting the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("pawpost-loadgen: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the whole load; `Ok(true)` when every delivery was right.
async fn run(args: Args) -> anyhow::Result<bool> {
    args.check()?;
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("raising the open-file limit")?;
    anyhow::ensure!(
        limit as usize > args.connections + 64,
        "the open-file limit is {limit}: too low for {} connections",
        args.connections
    );
    let secret = token::secret(args.jwt_secret.as_deref(), &args.data_dir)?;
    let base = args.url.trim_end_matches('/').to_string();
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..8].to_string());
    let users = setup::users(&secret, &run_id, args.connections)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.setup_concurrency)
        .build()?;
    let server_before = report::server_stats(&http, &base).await;

    // Connections first: each user's first connection registers them.
    let started = Instant::now();
    let tally = Arc::new(Tally::new((args.rate * args.duration).ceil() as usize + 1));
    progress(&args, format!("connecting {} clients…", args.connections));
    let conns = conn::open_all(&args, &base, &users, tally.clone()).await;
    let opened = conns.iter().filter(|c| c.is_some()).count();
    progress(
        &args,
        format!(
            "{opened} of {} connected in {:.1} s",
            args.connections,
            started.elapsed().as_secs_f64()
        ),
    );
    let server_connected = report::server_stats(&http, &base).await;

    // Then the conversations, over REST.
    let connected: Vec<usize> = conns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|_| i))
        .collect();
    let conversations = setup::conversations(
        &http,
        &base,
        &users,
        &connected,
        args.members(),
        args.group_size <= 1,
        args.setup_concurrency,
    )
    .await?;
    progress(
        &args,
        format!(
            "{} conversations of {} created",
            conversations.len(),
            args.members()
        ),
    );
    tally.set_conversations(&conversations);

    // Send at the rate for the duration.
    let senders: Vec<Option<mpsc::UnboundedSender<Command>>> = conns
        .iter()
        .map(|c| c.as_ref().map(Connection::sender))
        .collect();
    let sending = Instant::now();
    let planned = send(&args, &conversations, &senders, &tally, &run_id).await;
    let send_elapsed = sending.elapsed();
    progress(&args, format!("sent {planned} messages; draining…"));
    drain(&args, &tally).await;
    let server_end = report::server_stats(&http, &base).await;
    let summary = report::Summary::new(
        &args,
        &tally,
        opened,
        send_elapsed,
        [server_before, server_connected, server_end],
    );
    for c in conns.into_iter().flatten() {
        c.close();
    }
    eprintln!("{}", summary.human());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary.json())?);
    }
    Ok(summary.correct())
}

/// Sends `rate × duration` messages spread evenly in time, round robin over conversations
/// and their members; returns how many it planned.
async fn send(
    args: &Args,
    conversations: &[setup::Conversation],
    senders: &[Option<mpsc::UnboundedSender<Command>>],
    tally: &Arc<Tally>,
    run_id: &str,
) -> usize {
    let total = (args.rate * args.duration).round() as usize;
    let start = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next = 0usize;
    let mut last_report = Instant::now();
    let members = args.members();
    while next < total {
        ticker.tick().await;
        let due = ((start.elapsed().as_secs_f64() * args.rate) as usize + 1).min(total);
        while next < due {
            let conversation = next % conversations.len();
            let round = next / conversations.len();
            let c = &conversations[conversation];
            let sender = c.members[round % members];
            if let Some(tx) = &senders[sender] {
                tally.planned(next, conversation);
                let _ = tx.send(Command::Send {
                    number: next as u64,
                    conversation: c.id.clone(),
                    temp_id: format!("{run_id}-{next}"),
                    padding: args.message_bytes,
                });
            }
            next += 1;
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(args, tally.progress(start.elapsed()));
        }
    }
    total
}

/// Waits until every sent message is answered and every acknowledged one delivered, or the
/// drain time is over.
async fn drain(args: &Args, tally: &Tally) {
    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    let mut last_report = Instant::now();
    while Instant::now() < deadline && !tally.settled() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(args, tally.progress(Duration::ZERO));
        }
    }
}

fn progress(args: &Args, line: String) {
    if !args.quiet {
        eprintln!("[loadgen] {line}");
    }
}
