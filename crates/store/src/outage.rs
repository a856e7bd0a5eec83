//! Which database errors mean "out of reach for now" rather than "this operation is wrong":
//! callers answer those with 503 and a `Retry-After` instead of 500, workers back off instead
//! of parking an event, and nothing is lost by retrying.

/// True when `e` says the database is down, restarting, unreachable, out of connections or
/// locked: the same operation may succeed later.
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<i32>().is_ok_and(sqlite_outage)
            } else {
                postgres_outage(&code)
            }
        }
        _ => false,
    }
}

/// True when a rusqlite error says the database is busy, locked, full or cannot be opened.
pub fn is_sqlite_outage(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => sqlite_outage(f.extended_code),
        _ => false,
    }
}

/// SQLite (extended) result codes of an outage: SQLITE_BUSY (5), SQLITE_LOCKED (6),
/// SQLITE_IOERR (10), SQLITE_FULL (13), SQLITE_CANTOPEN (14), with any extended code.
fn sqlite_outage(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)
}

/// PostgreSQL SQLSTATEs of an outage.
fn postgres_outage(code: &str) -> bool {
    // 08: connection exception; 57P01–57P03: administrator/crash shutdown, cannot connect now;
    // 53: insufficient resources (too many connections, disk full); 40001/40P01: serialization
    // failure and deadlock (retry); 58: system error (I/O).
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("58")
        || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_and_busy_codes_are_outages() {
        assert!(is_outage(&sqlx::Error::PoolTimedOut));
        assert!(is_outage(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        assert!(!is_outage(&sqlx::Error::RowNotFound));
        for code in [5, 517, 6, 13] {
            assert!(sqlite_outage(code), "{code}");
        }
        for code in [19, 2067, 1] {
            assert!(!sqlite_outage(code), "{code}");
        }
        for code in ["08006", "57P01", "57P03", "53300", "40P01"] {
            assert!(postgres_outage(code), "{code}");
        }
        for code in ["23505", "42601", "22P02"] {
            assert!(!postgres_outage(code), "{code}");
        }
    }
}
