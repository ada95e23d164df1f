//! Reads on a streaming replica (`DATABASE_READ_URL`), each caller reading its own writes.
//!
//! After a write transaction commits on the primary, the position of the primary's WAL
//! (`pg_current_wal_insert_lsn()`, which the commit record lies before) is remembered for the
//! caller that made it (its user id) and handed back in the `Echelon-Read-After` header. A read
//! goes to the replica only when the replica has replayed past the larger of the caller's last
//! write here and the position the client sent back in that header; until then it runs on the
//! primary. The replica's replayed position is cached for [`FRESH_FOR`] and asked again on the
//! connection the read would use when a caller needs a later one.
//!
//! A replica that cannot be reached (no connection within [`WAIT`], or one that died under a
//! read) opens a circuit: reads go to the primary, and the replica is tried again after the
//! retry interval (five seconds by default). A read that failed on a dead replica runs again
//! on the primary, so the caller never sees the replica's absence.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::r2d2;
use diesel::sql_types::{BigInt, Bool, Double, Nullable};
use diesel::{QueryableByName, RunQueryDsl};

use super::{DbConn, Pool};

/// How long a replayed position read from the replica is trusted before it is asked again.
pub const FRESH_FOR: Duration = Duration::from_millis(5);
/// How long a read waits for a replica connection before it runs on the primary instead.
pub const WAIT: Duration = Duration::from_millis(300);
/// How long reads stay on the primary after the replica could not be reached.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The header a write's answer carries and a later read may send back (the WAL position the
/// read must see, as PostgreSQL writes an LSN: `16/B374D848`).
pub const READ_AFTER_HEADER: &str = "echelon-read-after";

tokio::task_local! {
    static SESSION: Rc<Session>;
}

/// What one HTTP request knows about consistency: who is calling (set once authenticated), the
/// position the client asked to read after, and the position of its own last write.
#[derive(Debug, Default)]
pub struct Session {
    actor: Cell<Option<i64>>,
    after: Cell<u64>,
    wrote: Cell<u64>,
}

impl Session {
    /// A session whose reads must see at least `after` (0: no demand).
    pub fn new(after: u64) -> Rc<Session> {
        Rc::new(Session { after: Cell::new(after), ..Default::default() })
    }

    /// The position of the last write made in this request, if any.
    pub fn wrote(&self) -> Option<u64> {
        Some(self.wrote.get()).filter(|&l| l > 0)
    }

    /// Runs `fut` with this session as the current one.
    pub fn scope<F: std::future::Future>(
        self: Rc<Self>,
        fut: F,
    ) -> impl std::future::Future<Output = F::Output> {
        SESSION.scope(self, fut)
    }
}

/// Names the authenticated caller of the current request (a no-op outside a request).
pub fn set_actor(user_id: i64) {
    let _ = SESSION.try_with(|s| s.actor.set(Some(user_id)));
}

fn current() -> (Option<i64>, u64) {
    SESSION.try_with(|s| (s.actor.get(), s.after.get())).unwrap_or((None, 0))
}

fn note_written(lsn: u64) {
    let _ = SESSION.try_with(|s| s.wrote.set(s.wrote.get().max(lsn)));
}

/// `16/B374D848` as a number.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    if hi.is_empty() || lo.is_empty() || hi.len() > 8 || lo.len() > 8 {
        return None;
    }
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// A number as PostgreSQL writes an LSN.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Why a read ran where it ran, counted for `/metrics`.
#[derive(Debug, Default)]
pub struct ReadCounts {
    /// reads answered by the replica
    pub replica: AtomicU64,
    /// reads sent to the primary because the replica had not replayed the caller's writes
    pub behind: AtomicU64,
    /// reads sent to the primary because the replica could not be reached
    pub down: AtomicU64,
}

/// The replica as the read path sees it.
pub struct Replica {
    pub pool: Pool,
    marks: Mutex<HashMap<i64, u64>>,
    replayed: AtomicU64,
    checked: Mutex<Option<Instant>>,
    down_until: Mutex<Option<Instant>>,
    retry_ms: AtomicU64,
    pub counts: ReadCounts,
}

/// The replica's state for `/readyz` and `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStatus {
    /// `streaming`, `replay_paused`, `unreachable`, or `not_in_recovery` (the read URL names a
    /// server that is no standby: every read there counts as fresh)
    pub state: &'static str,
    /// where reads go now: `replica`, or `primary` while the circuit is open
    pub reads: &'static str,
    /// WAL the primary has written that the replica has not replayed yet
    pub lag_bytes: Option<i64>,
    /// how old the replica's last replayed transaction is while it has WAL left to replay (0
    /// when it has replayed all it received)
    pub lag_seconds: Option<f64>,
}

#[derive(QueryableByName)]
struct Lsn {
    #[diesel(sql_type = Nullable<BigInt>)]
    lsn: Option<i64>,
}

#[derive(QueryableByName)]
struct Standby {
    #[diesel(sql_type = Bool)]
    standby: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    replayed: Option<i64>,
    #[diesel(sql_type = Bool)]
    paused: bool,
    #[diesel(sql_type = Nullable<Double>)]
    lag_seconds: Option<f64>,
}

/// A read's failure that may be the replica's own (a server fault, a lost connection, a query
/// cancelled by a conflict with recovery), rather than an answer such as 404.
pub fn replica_fault(e: &crate::error::AppError) -> bool {
    use crate::error::Problem;
    matches!(e.kind, Problem::Internal | Problem::Unavailable | Problem::RetryTransaction)
}

/// The primary's WAL insert position: every transaction committed on this connection so far
/// lies before it.
pub fn insert_lsn(conn: &mut DbConn) -> diesel::QueryResult<u64> {
    let row: Lsn = diesel::sql_query("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS lsn")
        .get_result(conn)?;
    Ok(row.lsn.unwrap_or(0).max(0) as u64)
}

/// How far a standby has replayed; `u64::MAX` for a server that is no standby.
fn replay_lsn(conn: &mut DbConn) -> diesel::QueryResult<u64> {
    let row: Lsn = diesel::sql_query("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn")
        .get_result(conn)?;
    Ok(row.lsn.map_or(u64::MAX, |l| l.max(0) as u64))
}

impl Replica {
    pub fn new(pool: Pool) -> Replica {
        Replica {
            pool,
            marks: Mutex::new(HashMap::new()),
            replayed: AtomicU64::new(0),
            checked: Mutex::new(None),
            down_until: Mutex::new(None),
            retry_ms: AtomicU64::new(RETRY_AFTER.as_millis() as u64),
            counts: ReadCounts::default(),
        }
    }

    /// How long reads stay on the primary after the replica failed.
    pub fn set_retry(&self, after: Duration) {
        self.retry_ms.store(after.as_millis() as u64, Ordering::Relaxed);
    }

    /// The position the current request's reads must see: the caller's last write through
    /// this process and what the client sent. A caller the replica has caught up with is
    /// forgotten.
    pub fn needed(&self) -> u64 {
        let (actor, after) = current();
        let mark = actor.map_or(0, |a| {
            let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
            match marks.get(&a).copied() {
                Some(m) if m <= self.replayed.load(Ordering::Relaxed) => {
                    marks.remove(&a);
                    0
                }
                Some(m) => m,
                None => 0,
            }
        });
        mark.max(after)
    }

    /// Whether the current request's writes are tracked (a caller or a session to tell).
    pub fn tracks_current() -> bool {
        SESSION.try_with(|_| ()).is_ok()
    }

    /// A write of the current request committed before `lsn`.
    pub fn wrote(&self, lsn: u64) {
        note_written(lsn);
        let (actor, _) = current();
        if let Some(a) = actor {
            let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
            let mark = marks.entry(a).or_insert(0);
            *mark = (*mark).max(lsn);
            if marks.len() > 10_000 {
                let replayed = self.replayed.load(Ordering::Relaxed);
                marks.retain(|_, m| *m > replayed);
            }
        }
    }

    /// Whether the circuit is open (reads go to the primary).
    pub fn is_down(&self) -> bool {
        let mut until = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// The replica failed: reads go to the primary for the retry interval.
    pub fn trip(&self, why: &dyn std::fmt::Display) {
        let retry = Duration::from_millis(self.retry_ms.load(Ordering::Relaxed));
        let mut until = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        if until.is_none() {
            tracing::warn!(error = %why, retry_in_ms = retry.as_millis() as u64, "the read replica cannot be reached; reads go to the primary");
        }
        *until = Some(Instant::now() + retry);
    }

    fn saw(&self, lsn: u64) {
        // the latest answer, not the largest: a replica put back from an older backup is
        // believed as it is
        self.replayed.store(lsn, Ordering::Relaxed);
        *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Whether the cached replayed position was read within [`FRESH_FOR`].
    fn recently_checked(&self) -> bool {
        self.checked.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|t| t.elapsed() < FRESH_FOR)
    }

    /// A replica connection fit for a read that must see `needed`, or `None` (counted) when
    /// the read must go to the primary. Runs on the blocking pool.
    pub fn connection(&self, needed: u64) -> Option<r2d2::PooledConnection<super::Manager>> {
        if self.is_down() {
            self.counts.down.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if needed > self.replayed.load(Ordering::Relaxed) && self.recently_checked() {
            self.counts.behind.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut conn = match self.pool.get_timeout(WAIT) {
            Ok(c) => c,
            Err(e) => {
                // a pool that only was busy says no more than that it timed out; one that
                // could not connect names the connection error
                if e.to_string().contains(": ") {
                    self.trip(&e);
                }
                self.counts.down.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        if needed > self.replayed.load(Ordering::Relaxed) {
            match replay_lsn(&mut conn) {
                Ok(lsn) => self.saw(lsn),
                Err(e) => {
                    self.lost(conn, &e);
                    return None;
                }
            }
            if needed > self.replayed.load(Ordering::Relaxed) {
                self.counts.behind.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
        Some(conn)
    }

    /// A replica connection died: it leaves the pool and the circuit opens.
    pub fn lost(&self, conn: r2d2::PooledConnection<super::Manager>, why: &dyn std::fmt::Display) {
        super::discard(conn);
        self.trip(why);
        self.counts.down.fetch_add(1, Ordering::Relaxed);
    }

    /// The replica's state and lag, asked of the replica and the primary (`primary`), each
    /// waited for at most `within`. Runs on the blocking pool.
    pub fn status(&self, primary: &Pool, within: Duration) -> ReplicaStatus {
        let reads = if self.is_down() { "primary" } else { "replica" };
        // a replica found down opens the circuit, as a read that found it so would: what this
        // answer says of where reads go is then true of the next read
        let unreachable = |why: Option<&dyn std::fmt::Display>| {
            if let Some(why) = why {
                self.trip(why);
            }
            let reads = if why.is_some() { "primary" } else { reads };
            ReplicaStatus { state: "unreachable", reads, lag_bytes: None, lag_seconds: None }
        };
        let mut conn = match self.pool.get_timeout(within) {
            Ok(c) => c,
            // a pool that could not connect names the connection error; one only busy does not
            Err(e) => {
                return unreachable(e.to_string().contains(": ").then_some(&e as &dyn std::fmt::Display))
            }
        };
        let standby: Standby = match diesel::sql_query(
            "SELECT pg_is_in_recovery() AS standby, \
                    (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replayed, \
                    CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused, \
                    CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
                         ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag_seconds",
        )
        .get_result(&mut conn)
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "the read replica does not answer");
                super::discard(conn);
                return unreachable(Some(&e));
            }
        };
        drop(conn);
        if !standby.standby {
            return ReplicaStatus {
                state: "not_in_recovery",
                reads,
                lag_bytes: Some(0),
                lag_seconds: Some(0.0),
            };
        }
        let replayed = standby.replayed.unwrap_or(0);
        self.saw(replayed.max(0) as u64);
        let lag_bytes = primary.get_timeout(within).ok().and_then(|mut c| {
            let row: Lsn = diesel::sql_query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn")
                .get_result(&mut c)
                .ok()?;
            Some((row.lsn.unwrap_or(0) - replayed).max(0))
        });
        ReplicaStatus {
            state: if standby.paused { "replay_paused" } else { "streaming" },
            reads,
            lag_bytes,
            lag_seconds: standby.lag_seconds.map(|s| s.max(0.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_read_and_write_as_postgres_does() {
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(format_lsn((0x16 << 32) | 0xB374_D848), "16/B374D848");
        assert_eq!(parse_lsn(&format_lsn(u64::MAX)), Some(u64::MAX));
        for bad in ["", "/", "1/", "/1", "x/1", "1/2/3", "123456789/0", "0/-1"] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
    }
}
