//! The `pawpost` command: parses the command line, starts logging, and calls into
//! `pawpost-server`. No logic lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pawpost_server::auth::{self, Role};
use pawpost_server::replay::{Progress, Rebuilt, ReplayOptions};
use pawpost_server::settings::{Overrides, Settings};

/// pawpost: event-sourced real-time messaging backend.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (migrating the database first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long)]
        bind: Option<SocketAddr>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        common: CommonArgs,
        /// Development mode (logs that it is on; demo users and conversations come with the
        /// REST API).
        #[arg(long)]
        dev: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Rebuild read models from the event log, with a progress bar (stop `pawpost serve`
    /// first: it runs the projectors).
    Replay {
        /// A projection to rebuild (conversations, messages, users); repeatable [default: all].
        #[arg(long = "projection", value_name = "NAME")]
        projections: Vec<String>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        common: CommonArgs,
        /// Take the projection leases even while another process holds them (one that died
        /// moments ago).
        #[arg(long)]
        force: bool,
    },
    /// Print an access token signed with the configured secret (for testing).
    Token {
        /// User id (the `sub` claim).
        #[arg(long)]
        sub: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// owner, provider, admin or service.
        #[arg(long)]
        role: Role,
        /// Lifetime, e.g. 24h, 90m, 3600s, 7d.
        #[arg(long, default_value = "24h", value_parser = auth::parse_ttl)]
        ttl: Duration,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Args)]
struct DatabaseArgs {
    /// Database url: sqlite:PATH or postgres://USER:PASSWORD@HOST/DB
    /// [default: sqlite:{data-dir}/pawpost.db].
    #[arg(long)]
    database: Option<String>,
}

#[derive(Args)]
struct CommonArgs {
    /// Data directory (embedded database, generated development secrets) [default: ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Configuration file [default: ./pawpost.toml if present].
    #[arg(long)]
    config: Option<PathBuf>,
}

impl CommonArgs {
    fn overrides(self) -> Overrides {
        Overrides {
            config: self.config,
            data_dir: self.data_dir,
            ..Overrides::default()
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole cause chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            bind,
            database,
            common,
            dev,
        } => {
            let settings = prepare(Overrides {
                bind,
                database_url: database.database,
                dev: dev.then_some(true),
                ..common.overrides()
            })?;
            pawpost_server::serve(settings, pawpost_server::shutdown_signal()).await
        }
        Command::Migrate { database, common } => {
            let settings = load(Overrides {
                database_url: database.database,
                ..common.overrides()
            })?;
            pawpost_server::connect_and_migrate(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Replay {
            projections,
            database,
            common,
            force,
        } => {
            let settings = load(Overrides {
                database_url: database.database,
                ..common.overrides()
            })?;
            let options = ReplayOptions { projections, force };
            pawpost_server::replay(&settings, &options, &mut ProgressBars::default()).await?;
            Ok(())
        }
        Command::Token {
            sub,
            name,
            role,
            ttl,
            common,
        } => {
            let settings = load(common.overrides())?;
            let token = auth::issue_token(settings.jwt_secret()?, &sub, &name, role, ttl)
                .context("issuing the token")?;
            println!("{token}");
            Ok(())
        }
    }
}

/// Loads the settings and starts logging in the configured format.
fn load(overrides: Overrides) -> anyhow::Result<Settings> {
    let settings = Settings::load(&overrides).context("loading the configuration")?;
    pawpost_server::telemetry::init(settings.log_format);
    Ok(settings)
}

/// What `serve` starts with: the secrets configured nowhere generated into the data
/// directory (once), then the settings loaded.
fn prepare(overrides: Overrides) -> anyhow::Result<Settings> {
    let generated =
        Settings::generate_missing_secrets(&overrides).context("preparing the data directory")?;
    let settings = load(overrides)?;
    for file in generated {
        tracing::warn!(file = %file.display(), "generated a development secret; configure one in production");
    }
    Ok(settings)
}

/// `pawpost replay`'s display: a progress bar per projection on stderr (drawn only on a
/// terminal), then its summary line on stdout.
#[derive(Default)]
struct ProgressBars {
    bar: Option<ProgressBar>,
}

impl Progress for ProgressBars {
    fn started(&mut self, name: &str, total: u64) {
        let bar = ProgressBar::new(total).with_prefix(name.to_owned());
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>13} {wide_bar} {human_pos}/{human_len} events, {per_sec:0}, {elapsed} (eta {eta})",
        ) {
            bar.set_style(style);
        }
        self.bar = Some(bar);
    }

    fn advanced(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            // Events appended since the count: the log grew.
            if bar.length().is_some_and(|len| done > len) {
                bar.set_length(done);
            }
            bar.set_position(done);
        }
    }

    fn finished(&mut self, rebuilt: &Rebuilt) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!("{rebuilt}");
    }
}
