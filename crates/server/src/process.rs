//! The server process under load: its open-file limit (every connection is a file) and what
//! it reports about itself on `GET /stats` (connections, resident memory), so benchmarks can
//! record memory per connection.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use pawpost_signalr::Connections;
use serde::Serialize;

/// Raises the soft open-file limit to the hard one (each connection holds a descriptor; the
/// usual soft limit of 1,024 would cap connections far below what the process can hold).
/// Returns the limit now in force.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "raising the open-file limit failed");
            open_file_limit()
        }
    }
}

/// The soft open-file limit in force.
pub fn open_file_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// The resident set size of this process in bytes (Linux: `VmRSS` of `/proc/self/status`);
/// `None` where that is not available.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// `VmRSS:    1234 kB` → 1234 × 1024.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// What `GET /stats` answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Open hub connections (handshake done).
    pub connections: usize,
    /// Resident memory of the process, in bytes.
    pub rss_bytes: Option<u64>,
    /// The soft open-file limit in force.
    pub open_file_limit: Option<u64>,
}

/// `GET /stats`: connection count and memory, for benchmarks and dashboards (no token: it
/// says nothing about users; put it behind the ingress' internal routes in production).
pub fn router(connections: Connections) -> Router {
    Router::new()
        .route("/stats", get(stats))
        .with_state(connections)
}

async fn stats(State(connections): State<Connections>) -> Json<Stats> {
    Json(Stats {
        connections: connections.count(),
        rss_bytes: resident_bytes(),
        open_file_limit: open_file_limit(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tpawpost\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_and_a_raised_limit() {
        assert!(resident_bytes().is_some_and(|b| b > 0));
        let limit = raise_open_file_limit().unwrap_or(0);
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((0, 0));
        assert_eq!(limit, hard, "the soft limit is raised to the hard one");
    }
}
