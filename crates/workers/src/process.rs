//! Which process holds a lease: host name, process id and the process's start time. A lease
//! whose holder ran on this host and whose process is gone (or whose pid now belongs to a
//! later process) is dead at once, without waiting for its heartbeat to age.

use std::path::Path;

/// Where a process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessId {
    /// The host name.
    pub host: String,
    /// The operating system's process id.
    pub pid: u32,
    /// The process's start time in clock ticks since boot (`/proc/PID/stat`), 0 if unknown: a
    /// pid reused by a later process has another start time.
    pub started: u64,
}

impl ProcessId {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        ProcessId {
            host: hostname(),
            pid,
            started: stat(pid).map_or(0, |s| s.started),
        }
    }

    /// Whether the process still runs, when that can be told from here: `Some(false)` when it
    /// ran on this host and is gone (exited, a zombie, or its pid reused), `Some(true)` when it
    /// runs here, `None` for another host or a system without `/proc`.
    pub fn alive_here(&self) -> Option<bool> {
        if self.host != hostname() || self.pid == 0 || !Path::new("/proc/self/stat").exists() {
            return None;
        }
        match stat(self.pid) {
            None => Some(false),
            Some(s) if s.zombie => Some(false),
            Some(s) if self.started != 0 && s.started != self.started => Some(false),
            Some(_) => Some(true),
        }
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

struct Stat {
    zombie: bool,
    started: u64,
}

/// State and start time of process `pid`, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// `pid (comm) state ppid … starttime …`: the command may hold spaces and parentheses, so
/// fields are counted from the last `)`; the state is the first after it, the start time the
/// 20th.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        zombie: matches!(*fields.first()?, "Z" | "X" | "x"),
        started: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn this_process_is_alive_and_a_vanished_or_reused_pid_is_not() {
        let me = ProcessId::current();
        assert!(me.started > 0, "{me:?}");
        assert_eq!(me.alive_here(), Some(true));
        let reused = ProcessId {
            started: me.started + 1,
            ..me.clone()
        };
        assert_eq!(reused.alive_here(), Some(false));
        let gone = ProcessId {
            pid: u32::MAX - 7,
            ..me.clone()
        };
        assert_eq!(gone.alive_here(), Some(false));
        let elsewhere = ProcessId {
            host: format!("{}-elsewhere", me.host),
            ..me
        };
        assert_eq!(elsewhere.alive_here(), None);
    }

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line = "42 (a (weird) name) Z 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
        let s = parse_stat(line).unwrap();
        assert!(s.zombie);
        assert_eq!(s.started, 123456);
    }
}
