//! The two phases: grow the conversation and measure at its start and end; after a restart,
//! time the first sends into it.

use std::time::{Duration, Instant};

use anyhow::Context;
use pawpost_loadgen::token;
use secrecy::SecretString;
use serde_json::json;

use crate::api::Api;
use crate::grow::{self, Counts};
use crate::probe;
use crate::report::{AtSize, Cold, Rate, Report};
use crate::{ColdArgs, GrowArgs, Server};

/// The sender and the recipient of the run.
fn tokens(secret: &SecretString, report: &Report) -> anyhow::Result<(String, String)> {
    let ttl = Duration::from_secs(24 * 3600);
    let sender = token::sign(secret, &report.sender, "History owner", "owner", ttl)
        .context("signing a token")?;
    let recipient = token::sign(secret, &report.recipient, "History walker", "provider", ttl)
        .context("signing a token")?;
    Ok((sender, recipient))
}

fn say(quiet: bool, line: impl AsRef<str>) {
    if !quiet {
        eprintln!("[history] {}", line.as_ref());
    }
}

/// Phase `grow`.
pub async fn grow(args: GrowArgs) -> anyhow::Result<()> {
    args.check()?;
    let server = &args.server;
    let secret = token::secret(server.jwt_secret.as_deref(), &server.data_dir)?;
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..8].to_string());
    let mut report = Report {
        config: json!({
            "url": server.url,
            "messages": args.messages,
            "senders": args.senders,
            "window": args.window,
            "probes": args.probes,
        }),
        sender: format!("hb-{run_id}-owner"),
        recipient: format!("hb-{run_id}-walker"),
        run_id,
        json: args.json,
        ..Report::default()
    };
    let (sender, recipient) = tokens(&secret, &report)?;
    let api = Api::new(&server.url, args.senders)?;
    api.register(&sender).await?;
    api.register(&recipient).await?;
    let conversation = api.direct(&sender, &report.recipient).await?;
    report.conversation.clone_from(&conversation);
    let (w, p, n) = (args.window, args.probes, args.messages);
    let quiet = args.quiet;
    let run = report.run_id.clone();
    let mut counts = Counts::default();

    say(
        quiet,
        format!(
            "growing {conversation} to {w} messages with {} senders…",
            args.senders
        ),
    );
    let first = grow::grow(
        &api,
        &sender,
        &conversation,
        &run,
        0,
        w,
        args.senders,
        w,
        !quiet,
    )
    .await?;
    report.early = Rate::new(first.sent, first.elapsed.as_secs_f64());
    counts.merge(&first.counts);
    say(
        quiet,
        format!(
            "first {w}: {:.0} sends/s; sampling…",
            report.early.per_second
        ),
    );
    report.start = sample(
        &api,
        server,
        &sender,
        &recipient,
        &conversation,
        &run,
        w,
        p,
        &mut counts,
    )
    .await?;

    say(quiet, format!("growing to {n} messages…"));
    let rest = grow::grow(
        &api,
        &sender,
        &conversation,
        &run,
        w + p,
        n,
        args.senders,
        w,
        !quiet,
    )
    .await?;
    counts.merge(&rest.counts);
    let (end_total, end_at) = rest
        .checkpoints
        .last()
        .copied()
        .context("no checkpoint in the growth")?;
    let (late_total, late_at) = rest
        .checkpoints
        .iter()
        .rev()
        .find(|(total, _)| *total + w <= end_total)
        .copied()
        .unwrap_or((rest.from, Duration::ZERO));
    report.late = Rate::new(end_total - late_total, (end_at - late_at).as_secs_f64());
    report.sustained = Rate::new(
        first.sent + rest.sent,
        (first.elapsed + rest.elapsed).as_secs_f64(),
    );
    report.windows = std::iter::once((w, report.early.per_second))
        .chain(
            rest.windows()
                .into_iter()
                .map(|(t, r)| (t, (r * 10.0).round() / 10.0)),
        )
        .collect();
    let mut concurrent = first.latency.clone();
    concurrent
        .add(&rest.latency)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    report.concurrent_send = probe::Percentiles::of(&concurrent);
    say(
        quiet,
        format!(
            "last {w}: {:.0} sends/s, overall {:.0}; sampling…",
            report.late.per_second, report.sustained.per_second
        ),
    );
    report.end = sample(
        &api,
        server,
        &sender,
        &recipient,
        &conversation,
        &run,
        n,
        p,
        &mut counts,
    )
    .await?;
    report.sends = counts;
    save(&server.state, &report)?;
    eprintln!("{}", report.human());
    Ok(())
}

/// The figures at `messages` messages: the recipient's listing, the server's RSS, then `probes`
/// sequential sends (numbered from `messages`).
#[allow(clippy::too_many_arguments)]
async fn sample(
    api: &Api,
    server: &Server,
    sender: &str,
    recipient: &str,
    conversation: &str,
    run: &str,
    messages: u64,
    probes: u64,
    counts: &mut Counts,
) -> anyhow::Result<AtSize> {
    let (list, unread_listed) = probe::lists(api, recipient, conversation, probes).await?;
    let rss_bytes = probe::rss(api, server.server_pid).await;
    let send = probe::sends(api, sender, conversation, run, messages, probes, counts).await?;
    Ok(AtSize {
        messages,
        list,
        unread_listed,
        rss_bytes,
        send,
    })
}

/// Phase `cold`: the server restarted on the same data.
pub async fn cold(args: ColdArgs) -> anyhow::Result<()> {
    let server = &args.server;
    let text = std::fs::read_to_string(&server.state)
        .with_context(|| format!("reading {} (run phase grow first)", server.state.display()))?;
    let mut report: Report = serde_json::from_str(&text).context("reading the saved state")?;
    let secret = token::secret(server.jwt_secret.as_deref(), &server.data_dir)?;
    let (sender, recipient) = tokens(&secret, &report)?;
    let api = Api::new(&server.url, 1)?;
    let mut times = Vec::with_capacity(2);
    for _ in 0..2 {
        let n = report.messages_sent();
        let started = Instant::now();
        let outcome = api
            .send(
                &sender,
                &report.conversation,
                &probe::content(n),
                &probe::temp_id(&report.run_id, n),
            )
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        report.sends.add(&outcome);
    }
    let (_, unread_listed) = api.list(&recipient, Some(&report.conversation)).await?;
    let rss_bytes = probe::rss(&api, server.server_pid).await;
    let ms = |v: f64| (v * 1000.0).round() / 1000.0;
    report.cold = Some(Cold {
        first_ms: ms(times.first().copied().unwrap_or_default()),
        second_ms: ms(times.get(1).copied().unwrap_or_default()),
        unread_listed,
        rss_bytes,
    });
    save(&server.state, &report)?;
    eprintln!("{}", report.human());
    if report.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    }
    Ok(())
}

fn save(path: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))
}
