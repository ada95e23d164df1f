//! The database: one `DbConn` over SQLite and PostgreSQL, r2d2 pools, embedded migrations and
//! the transaction helpers every handler uses (`Db::read` / `Db::write`, run on the blocking
//! pool through `web::block`, never on the async worker thread).

pub mod cached;
pub mod deferred;
pub mod gate;
pub mod partitions;
pub mod replica;
pub mod schema;
pub mod text;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, InstrumentationEvent, SimpleConnection, TransactionManager,
};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, ConnectionError, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{AppError, Problem};

pub use cached::{Cached, CachedExt};
pub(crate) use text::stored_as_text;
pub use text::{unknown_words, StoredWord};

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// One connection type over both engines; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which engine a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            // SQLite reads an empty name as a temporary database, gone when the process ends
            if sqlite_path(url).trim().is_empty() {
                return Err(format!(
                    "DATABASE_URL {url:?} names no file: use sqlite://FILE (say, sqlite://echelon.db)"
                ));
            }
            // the driver takes the whole rest as the file's name: `?mode=ro` would make a file
            // called `x.db?mode=ro` rather than open x.db read-only
            if sqlite_path(url).contains('?') {
                return Err(format!(
                    "DATABASE_URL {url:?}: an SQLite URL takes no options (`?...`); name the file alone"
                ));
            }
            Ok(Backend::Sqlite)
        } else {
            // a bare word is refused too: it would silently become an SQLite file of that name
            Err(format!(
                "DATABASE_URL {:?} names no database this service runs on: use sqlite://FILE or \
                 postgres://USER:PASSWORD@HOST:PORT/DB",
                redact(url)
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The SQLite file a URL names, when it names one (none for PostgreSQL).
pub fn sqlite_file(url: &str) -> Option<&str> {
    (Backend::of(url) == Ok(Backend::Sqlite)).then(|| sqlite_path(url))
}

/// The file path diesel's SQLite driver wants from `sqlite://echelon.db` or `sqlite:echelon.db`.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

/// Opens connections by URL scheme (the derived `establish` would try SQLite on a postgres URL
/// and create a file of that name) and sets the SQLite pragmas on every new connection.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl Manager {
    pub fn new(url: &str) -> Result<Manager, String> {
        Ok(Manager { url: url.to_string(), backend: Backend::of(url)? })
    }

    pub fn connect_now(&self) -> Result<DbConn, ConnectionError> {
        match self.backend {
            Backend::Postgres => Ok(DbConn::Pg(PgConnection::establish(&self.url)?)),
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(sqlite_path(&self.url))?;
                // WAL lets readers run beside the writer; the busy timeout makes writers queue
                // for the lock instead of failing; foreign keys are off by default in SQLite.
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        self.connect_now().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken() || LOST.take()
    }
}

pub type Pool = r2d2::Pool<Manager>;

thread_local! {
    /// Set just before a pooled connection found dead is dropped, so the pool discards it
    /// (`has_broken` runs on the same thread) instead of handing it to the next request.
    static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The outcome of work on a pooled connection, with a failure the database's absence caused
/// told apart from a bug: an error the mapping left `internal` while the connection no longer
/// answers becomes 503 with `Retry-After`, and the dead connection leaves the pool instead of
/// failing the next request too.
fn settled<T>(mut conn: r2d2::PooledConnection<Manager>, result: Result<T, AppError>) -> Result<T, AppError> {
    match result {
        Err(e) if matches!(e.kind, Problem::Internal | Problem::Unavailable) && ping(&mut conn).is_err() => {
            tracing::warn!(error = ?e, "the database connection was lost");
            discard(conn);
            Err(AppError::unavailable("the database connection was lost; retry the request"))
        }
        result => result,
    }
}

/// Gives a dead connection back so that the pool drops it.
fn discard(conn: r2d2::PooledConnection<Manager>) {
    LOST.set(true);
    drop(conn);
    LOST.set(false);
}

/// How many SQL statements the connections of a `Db` have started (diesel's `StartQuery`
/// events, transaction statements included), so that a test can tell what one request cost.
/// Installed on every connection as the pool hands it out; an atomic add per statement.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements started so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl r2d2::CustomizeConnection<DbConn, r2d2::Error> for StatementCounter {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        let count = self.0.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(())
    }
}

/// The write pool and the pool that serves reports, lists and exports: a pool of its own (a
/// streaming replica when `DATABASE_READ_URL` is set, else the primary), so that reads never
/// wait for a connection behind writers that wait for a lock (issue 26).
#[derive(Clone)]
pub struct Db {
    pub write: Pool,
    pub read: Pool,
    /// connections on the primary for the single reads that must see the latest commit
    /// (`Db::primary`: a token's user, the login throttle's counts), apart from the writers
    /// too: the read pool when reads go to the primary, else a pool of its own
    pub fresh: Pool,
    pub backend: Backend,
    /// the streaming replica behind `read` when `DATABASE_READ_URL` names one (PostgreSQL):
    /// which callers must read on the primary, and whether it can be reached
    pub replica: Option<Arc<replica::Replica>>,
    /// the statements run through both pools
    pub statements: StatementCounter,
    /// SQLite admits one writer at a time; writers of this process queue here in order rather
    /// than in SQLite's busy handler, whose sleep-and-retry gives long, unfair waits under load.
    writer: Option<std::sync::Arc<std::sync::Mutex<()>>>,
    /// the turns in front of `write`, `read` and `fresh` (`gate`): waiters queue there in
    /// order, on the async side, not as parked blocking threads in the pools
    write_gate: gate::Gate,
    read_gate: gate::Gate,
    fresh_gate: gate::Gate,
}

/// The pool's own reports of failed connection attempts: one per attempt and retry, which
/// would flood the log (and a command's terminal) while the database is away. They go to the
/// debug level; the request that finds no connection logs one warning and answers 503, and a
/// command reports its one line.
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<r2d2::Error> for QuietErrors {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::debug!(%error, "database connection attempt failed");
    }
}

pub fn build_pool(url: &str, size: u32, statements: &StatementCounter) -> Result<Pool, String> {
    let manager = Manager::new(url)?;
    r2d2::Pool::builder()
        .error_handler(Box::new(QuietErrors))
        .connection_customizer(Box::new(statements.clone()))
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .build(manager)
        .map_err(|e| format!("cannot open the database {}: {e}", redact(url)))
}

/// The pool of a streaming replica: opened without waiting for a first connection (the service
/// starts, reading on the primary, while the replica is away), with a connect timeout of its
/// own so that an unreachable host does not hold the pool's connecting threads.
fn build_replica_pool(url: &str, size: u32, statements: &StatementCounter) -> Result<Pool, String> {
    let url = if url.contains("connect_timeout=") {
        url.to_string()
    } else {
        format!("{url}{}connect_timeout=2", if url.contains('?') { '&' } else { '?' })
    };
    let manager = Manager::new(&url)?;
    Ok(r2d2::Pool::builder()
        .error_handler(Box::new(QuietErrors))
        .connection_customizer(Box::new(statements.clone()))
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(replica::WAIT)
        .test_on_check_out(false)
        .build_unchecked(manager))
}

/// A URL fit for logs: the password replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// `size` connections for writes, `read_size` for reads (on the replica when `read_url`
    /// names one, and as many again on the primary for `primary`).
    pub fn connect(url: &str, read_url: Option<&str>, size: u32, read_size: u32) -> Result<Db, String> {
        let backend = Backend::of(url)?;
        let statements = StatementCounter::default();
        let write = build_pool(url, size, &statements)?;
        let read_size = read_size.max(1);
        let (read, fresh, replica, shared) = match read_url {
            Some(r) if !r.is_empty() => {
                if Backend::of(r)? != Backend::Postgres || backend != Backend::Postgres {
                    return Err("DATABASE_READ_URL names a streaming replica of a PostgreSQL DATABASE_URL: \
                                both must be postgres:// URLs"
                        .into());
                }
                let read = build_replica_pool(r, read_size, &statements)?;
                let replica = Arc::new(replica::Replica::new(read.clone()));
                (read, build_pool(url, read_size, &statements)?, Some(replica), false)
            }
            _ => {
                let read = build_pool(url, read_size, &statements)?;
                (read.clone(), read, None, true)
            }
        };
        let writer = (backend == Backend::Sqlite).then(|| std::sync::Arc::new(std::sync::Mutex::new(())));
        // SQLite admits one writer: its writers take one turn, so that they queue in order here
        let write_gate = gate::Gate::new(if backend == Backend::Sqlite { 1 } else { size });
        let read_gate = gate::Gate::new(read_size);
        // one pool, one queue: `fresh` is the read pool when reads go to the primary
        let fresh_gate = if shared { read_gate.clone() } else { gate::Gate::new(read_size) };
        Ok(Db { write, read, fresh, replica, backend, statements, writer, write_gate, read_gate, fresh_gate })
    }

    /// How long reads stay on the primary after the replica could not be reached (five
    /// seconds unless set; the tests shorten it).
    pub fn set_replica_retry(&self, after: Duration) {
        if let Some(r) = &self.replica {
            r.set_retry(after);
        }
    }

    /// After a committed write: with a replica, the primary's WAL position, which the
    /// caller's next reads must see (one statement on the same connection).
    fn written(track: bool, conn: &mut DbConn) -> Option<u64> {
        if !track {
            return None;
        }
        match replica::insert_lsn(conn) {
            Ok(lsn) => Some(lsn),
            Err(e) => {
                // unknown: the caller's reads go to the primary until the replica has replayed
                // everything written so far, which the next write's position will tell
                tracing::warn!(error = %e, "cannot read the WAL position after a write");
                None
            }
        }
    }

    fn tracking(&self) -> bool {
        self.replica.is_some() && replica::Replica::tracks_current()
    }

    fn note(&self, lsn: Option<u64>) {
        if let (Some(r), Some(lsn)) = (&self.replica, lsn) {
            r.wrote(lsn);
        }
    }

    /// Runs `f` in one write transaction on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.write.clone();
        let writer = self.writer.clone();
        let track = self.tracking();
        let queued = self.write_gate.turn().await?;
        let (value, lsn) = blocking(move || {
            // held until the work is done, even when the request is dropped while it runs
            let _queued = queued;
            let mut conn = pool.get()?;
            let turn = writer.as_ref().map(|w| w.lock().unwrap_or_else(|e| e.into_inner()));
            let result = write_tx(&mut conn, f);
            drop(turn);
            let result = result.map(|v| (v, Db::written(track, &mut conn)));
            settled(conn, result)
        })
        .await?;
        self.note(lsn);
        Ok(value)
    }

    /// Like `write`, but runs the transaction again (up to five times in all) when it lost a
    /// race the database reports as retryable: a serialization failure, a deadlock, or a
    /// concurrent insert of the same idempotency key.
    pub async fn write_retrying<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.write_whole_or_retrying(|_: &mut DbConn| Ok(None), f).await
    }

    /// Like `write_retrying`, trying `whole` first: a write made in one statement that is its
    /// own transaction, sent outside any (one round trip where a transaction takes three:
    /// `BEGIN`, the statement, `COMMIT`). `whole` gives None, having written nothing, when the
    /// write is not one it makes so; `f` then runs in a transaction. Both are run again, as
    /// `write_retrying` runs `f`, when they lose a race.
    pub async fn write_whole_or_retrying<T, W, F>(&self, whole: W, f: F) -> Result<T, AppError>
    where
        W: Fn(&mut DbConn) -> Result<Option<T>, AppError> + Send + 'static,
        F: Fn(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.write.clone();
        let writer = self.writer.clone();
        let track = self.tracking();
        let queued = self.write_gate.turn().await?;
        let (value, lsn) = blocking(move || {
            // held until the work is done, even when the request is dropped while it runs
            let _queued = queued;
            let mut conn = pool.get()?;
            let turn = writer.as_ref().map(|w| w.lock().unwrap_or_else(|e| e.into_inner()));
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let once = match whole(&mut conn) {
                    Ok(Some(v)) => Ok(v),
                    Ok(None) => write_tx(&mut conn, &f),
                    Err(e) => Err(e),
                };
                match once {
                    Err(e) if e.is_retryable() && attempt < 5 => {
                        std::thread::sleep(std::time::Duration::from_millis(2 * attempt));
                        continue;
                    }
                    result => break result,
                }
            };
            drop(turn);
            let result = result.map(|v| (v, Db::written(track, &mut conn)));
            settled(conn, result)
        })
        .await?;
        self.note(lsn);
        Ok(value)
    }

    /// Runs `f` on a connection of the primary (never a replica that may lag), outside any
    /// transaction and outside the write pool: for one statement that must see the latest
    /// committed state, such as the per-request check of a token's user, which must not wait
    /// behind writers.
    pub async fn primary<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.fresh.clone();
        let queued = self.fresh_gate.turn().await?;
        blocking(move || {
            let _queued = queued;
            let mut conn = pool.get()?;
            // outside a transaction diesel never counts a connection whose server went away as
            // broken; `settled` drops it from the pool, as after a transaction
            let result = f(&mut conn);
            settled(conn, result)
        })
        .await
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on the read pool: on the
    /// replica when there is one that has replayed the caller's writes and can be reached,
    /// else on the primary. A read the replica failed under runs again on the primary (hence
    /// `Fn`: a read has no effect to repeat).
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let Some(replica) = self.replica.clone() else {
            let pool = self.read.clone();
            let queued = self.read_gate.turn().await?;
            return blocking(move || {
                let _queued = queued;
                let mut conn = pool.get()?;
                let result = read_tx(&mut conn, f);
                settled(conn, result)
            })
            .await;
        };
        let needed = replica.needed();
        let primary = self.fresh.clone();
        blocking(move || {
            if let Some(mut conn) = replica.connection(needed) {
                match read_tx(&mut conn, &f) {
                    // the replica went away under the read: the circuit opens
                    Err(e) if replica::replica_fault(&e) && ping(&mut conn).is_err() => {
                        replica.lost(conn, &format!("{e:?}"));
                    }
                    // a query the standby cancelled (a conflict with recovery) or another
                    // failure of the server: the read runs again on the primary, which answers
                    // for itself
                    Err(e) if replica::replica_fault(&e) => {
                        tracing::warn!(error = ?e, "a read failed on the replica; it runs again on the primary");
                        replica.counts.down.fetch_add(1, Ordering::Relaxed);
                    }
                    result => {
                        replica.counts.replica.fetch_add(1, Ordering::Relaxed);
                        return result;
                    }
                }
            }
            let mut conn = primary.get()?;
            let result = read_tx(&mut conn, f);
            settled(conn, result)
        })
        .await
    }

    /// A connection for a command-line tool's reads (a report, an export, the audit): the
    /// replica's when `DATABASE_READ_URL` names one that answers, else the primary's. A tool
    /// writes nothing before its reads, so any replayed position will do; and a replica that is
    /// down costs it one short wait, not the pool's whole timeout and a failure.
    pub fn tool_read(&self) -> Result<r2d2::PooledConnection<Manager>, String> {
        if let Some(replica) = &self.replica {
            if let Some(conn) = replica.connection(0) {
                return Ok(conn);
            }
            return self.fresh.get().map_err(|e| e.to_string());
        }
        self.read.get().map_err(|e| e.to_string())
    }

    /// The pool a streamed read (an export written as it is read) of the current caller
    /// should take its connection from: the replica's when it can be reached and has replayed
    /// the caller's writes, else the primary's.
    pub async fn read_pool(&self) -> Pool {
        let Some(replica) = self.replica.clone() else { return self.read.clone() };
        let needed = replica.needed();
        let (read, primary) = (self.read.clone(), self.fresh.clone());
        let chosen =
            blocking(move || Ok(if replica.connection(needed).is_some() { read } else { primary })).await;
        chosen.unwrap_or_else(|_| self.fresh.clone())
    }

    /// The replica's state and lag (`None` without a replica), each server waited for at most
    /// `within`.
    pub async fn replica_status(&self, within: Duration) -> Option<replica::ReplicaStatus> {
        let replica = self.replica.clone()?;
        let primary = self.fresh.clone();
        blocking(move || Ok(replica.status(&primary, within))).await.ok()
    }
}

async fn blocking<T, F>(f: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f)
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock up
/// front: a deferred transaction that reads and then writes fails with SQLITE_BUSY when another
/// writer got in between, whereas an immediate one waits for the busy timeout and then runs.
/// Nested calls become savepoints, as with diesel's own `transaction`. The running sums noted
/// during it ([`deferred`]) are written as its last statements, before the outermost commit.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let outermost = !deferred::in_transaction(conn);
    match conn {
        DbConn::Sqlite(c) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        _ => <DbConn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    if outermost {
        deferred::forget();
        let outcome = match (f(conn), &mut *conn) {
            // on PostgreSQL the running sums and the COMMIT in one round trip (`deferred`)
            (Ok(v), DbConn::Pg(_)) => match deferred::commit_batch() {
                Some(batch) => return commit_with(conn, &batch).map(|()| v),
                None => Ok(v),
            },
            (outcome, _) => outcome.and_then(|v| deferred::flush(conn).map(|_| v).map_err(E::from)),
        };
        deferred::forget();
        finish_tx(conn, outcome)
    } else {
        let mark = deferred::mark();
        let outcome = f(conn);
        if outcome.is_err() {
            deferred::back_to(mark);
        }
        finish_tx(conn, outcome)
    }
}

/// A read transaction (a consistent snapshot), ended like [`write_tx`]'s.
pub fn read_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    <DbConn as Connection>::TransactionManager::begin_transaction(conn)?;
    let outcome = f(conn);
    finish_tx(conn, outcome)
}

/// Commits after success, rolls back after failure. A rollback that fails too (the connection
/// died under the transaction) never hides the error that ended the work: that one is what the
/// caller is told, and the failed rollback marks the connection broken so the pool drops it.
fn finish_tx<T, E>(conn: &mut DbConn, outcome: Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Tx = <DbConn as Connection>::TransactionManager;
    match outcome {
        Ok(value) => {
            if let Err(e) = Tx::commit_transaction(conn) {
                // diesel has usually rolled back already (then this one finds no transaction)
                if let Err(rollback) = Tx::rollback_transaction(conn) {
                    tracing::debug!(error = %rollback, "rollback after a failed commit failed");
                }
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Tx::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "rollback after a failed transaction failed");
            }
            Err(e)
        }
    }
}

/// Ends the open outermost transaction with `batch`, statements ending in `COMMIT`, sent as one
/// round trip (PostgreSQL). The first statement that fails stops the batch before its `COMMIT`:
/// the transaction is then rolled back as [`finish_tx`] rolls back a failed commit, and that
/// error is the answer.
fn commit_with<E>(conn: &mut DbConn, batch: &str) -> Result<(), E>
where
    E: From<diesel::result::Error>,
{
    type Tx = <DbConn as Connection>::TransactionManager;
    match conn.batch_execute(batch) {
        // diesel's PostgreSQL connection finds the transaction ended (libpq's status is idle);
        // should it not, its own COMMIT finds none and ends its count of it
        Ok(()) if !deferred::in_transaction(conn) => Ok(()),
        Ok(()) => Tx::commit_transaction(conn).map_err(E::from),
        Err(e) => {
            deferred::forget();
            if let Err(rollback) = Tx::rollback_transaction(conn) {
                tracing::debug!(error = %rollback, "rollback after a failed commit batch failed");
            }
            Err(e.into())
        }
    }
}

/// Runs the embedded migrations of the connection's dialect. Several processes may start at
/// once on one database: PostgreSQL serialises them with an advisory lock, SQLite with its
/// write lock (the migrations then run as savepoints inside one immediate transaction).
pub fn migrate(conn: &mut DbConn) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("migration failed: {e}");
    match conn {
        DbConn::Pg(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7243001)").map_err(|e| err(&e))?;
            let result = c.run_pending_migrations(PG_MIGRATIONS).map(|_| ()).map_err(|e| err(&e));
            c.batch_execute("SELECT pg_advisory_unlock(7243001)").map_err(|e| err(&e))?;
            result?;
            // the movements' partitions of this month and the next ones (a start after a
            // long stop finds the months since made by nobody)
            partitions::ensure_ahead(conn, chrono::Utc::now().date_naive())
                .map(|_| ())
                .map_err(|e| format!("cannot make the movements' monthly partitions: {e}"))
        }
        DbConn::Sqlite(c) => {
            // SQLite changes a table's constraints only by rebuilding the table (create, copy,
            // drop, rename), which needs foreign keys off (the pragma is a no-op inside a
            // transaction); instead, every key is checked before the commit.
            c.batch_execute("PRAGMA foreign_keys = OFF").map_err(|e| err(&e))?;
            let result = sqlite_migrate(c);
            c.batch_execute("PRAGMA foreign_keys = ON").map_err(|e| err(&e))?;
            result
        }
    }
}

fn sqlite_migrate(c: &mut SqliteConnection) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("migration failed: {e}");
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE").map_err(|e| err(&e))?;
    let result =
        c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()).map_err(|e| err(&e)).and_then(|()| {
            #[derive(QueryableByName)]
            struct Violation {
                #[diesel(sql_type = diesel::sql_types::Text)]
                table: String,
            }
            let bad = diesel::sql_query("SELECT \"table\" FROM pragma_foreign_key_check")
                .load::<Violation>(c)
                .map_err(|e| err(&e))?;
            match bad.first() {
                None => Ok(()),
                Some(v) => Err(format!(
                    "migration failed: {} rows break a foreign key (first in {})",
                    bad.len(),
                    v.table
                )),
            }
        });
    match result {
        Ok(()) => AnsiTransactionManager::commit_transaction(c).map_err(|e| err(&e)),
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(c);
            Err(e)
        }
    }
}

/// Serialises one-time setup (loading the demo data) between processes starting together:
/// a transaction-scoped advisory lock on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already is one.
pub fn setup_lock(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Pg(c) => c.batch_execute("SELECT pg_advisory_xact_lock(7243002)"),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Raw SQL written with PostgreSQL's `$1, $2, ...` placeholders, in the connection's dialect
/// (SQLite takes `?`; each placeholder must appear once, in order).
pub fn dialect_sql<'a>(conn: &DbConn, sql: &'a str) -> std::borrow::Cow<'a, str> {
    match conn {
        DbConn::Pg(_) => std::borrow::Cow::Borrowed(sql),
        DbConn::Sqlite(_) => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            std::borrow::Cow::Owned(out)
        }
    }
}

/// `%` and `_` in user text match themselves in a `LIKE ... ESCAPE '\\'`.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// `SELECT 1`.
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// A connection of `pool` (waiting at most `within` for one) answers `SELECT 1`, for
/// `/readyz`. A connection that does not is dropped from the pool, so readiness comes back
/// with the database instead of failing on the dead connection.
pub fn answers(pool: &Pool, within: Duration) -> Result<(), AppError> {
    let mut conn = pool.get_timeout(within)?;
    if let Err(e) = ping(&mut conn) {
        tracing::warn!(error = %e, "readiness check failed");
        discard(conn);
        return Err(AppError::unavailable("the database does not answer"));
    }
    Ok(())
}

/// Runs the same diesel query on the concrete connection of either backend, for the few
/// statements the multi-backend does not express (`ON CONFLICT DO NOTHING`).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(Backend::of("postgres://u:p@h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of("postgresql://h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of("sqlite://echelon.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of("sqlite:echelon.db"), Ok(Backend::Sqlite));
        assert!(Backend::of("echelon.db").is_err(), "a bare word is no URL");
        assert!(Backend::of("sqlite://").is_err() && Backend::of("sqlite:").is_err(), "no file");
        assert!(Backend::of("sqlite:///tmp/e.db?mode=ro").is_err(), "no options");
        assert_eq!(sqlite_file("sqlite:///tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_file("postgres://u@h/d"), None);
        assert!(Backend::of("garbage").is_err());
        assert!(Backend::of("mysql://h/db").is_err());
        assert_eq!(sqlite_path("sqlite://echelon.db"), "echelon.db");
        assert_eq!(sqlite_path("sqlite:///tmp/x.db"), "/tmp/x.db");
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("sqlite://echelon.db"), "sqlite://echelon.db");
    }
}
