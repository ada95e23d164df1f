//! Increments of a running sum kept on a row (a station's outstanding value), noted while a
//! write transaction runs and written at its end: right before the commit, one `UPDATE ... SET
//! column = column + delta` per row, in (table, column, id) order.
//!
//! Such a row is where every writer of its owner meets. Written last, it is held only from the
//! transaction's last statements to its commit rather than for the whole transaction, and it is
//! always taken after every other row the transaction locks, in one global order: two
//! transactions that lock other rows in a consistent order cannot wait on each other in a circle
//! through it.
//!
//! An increment may carry a ceiling (`within`): the sum, as the `UPDATE` finds the row, plus
//! what the transaction had noted on it up to and with that increment, must stay at or below
//! it; otherwise nothing is written and the transaction fails as a serialization failure would
//! (it is run again, seeing what the other transaction wrote). [`noted`] gives what the
//! transaction has noted so far, for a check made inside it. A check made on a value read
//! without a lock is thus made again, exactly, where the value changes.
//!
//! `write_tx` drives it: it forgets what is noted when an outermost transaction starts or rolls
//! back, puts back what was noted before a savepoint that rolls back, and writes it all before
//! the outermost commit. On PostgreSQL the increments and the `COMMIT` go as one batch
//! ([`commit_batch`]: one call of the sum's function per row, each refusing by an error where
//! the `UPDATE` here would find no row), so the transaction's end is one round trip and a row is
//! held from its booking to the commit without the service in between. Outside a transaction
//! an increment is written at once. What is noted is
//! kept per thread: a thread runs one write transaction at a time (every write is one closure on
//! a blocking thread, with one connection), so a transaction's notes are its own.

use std::cell::RefCell;
use std::collections::BTreeMap;

use diesel::connection::TransactionManager;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::BigInt;

use super::{CachedExt, DbConn};

/// A column of running sums: the table, and the `BIGINT` column, of rows keyed by `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sum {
    pub table: &'static str,
    pub column: &'static str,
    /// the PostgreSQL function `(id, delta, cap)` that adds `delta` to row `id`'s sum, raising
    /// SQLSTATE 40001 when the sum is above `cap` (NULL: no ceiling) and P0002 when there is no
    /// such row (what [`write`] does on SQLite, as one call in a batch; on PostgreSQL [`write`]
    /// calls it for an increment with a ceiling)
    pub pg_add: &'static str,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Noted {
    delta: i64,
    /// the most the row's committed sum may be when the increments are written: each ceiling
    /// less what the transaction had noted up to it (so every ceiling holds at its own point of
    /// the transaction, whatever is noted after it)
    cap: Option<i64>,
}

type Key = (Sum, i64);

thread_local! {
    /// what the thread's open write transaction has noted, in the order it is written
    static NOTED: RefCell<BTreeMap<Key, Noted>> = const { RefCell::new(BTreeMap::new()) };
}

/// Whether the connection is inside a transaction.
pub fn in_transaction(conn: &mut DbConn) -> bool {
    !matches!(
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    )
}

/// Adds `delta` to the row `id` of `sum`, at the end of the write transaction (at once outside
/// one). With `within`, only if the row's sum stays at or below it; otherwise the transaction
/// fails with a serialization failure when the increment is written.
pub fn add(conn: &mut DbConn, sum: Sum, id: i64, delta: i64, within: Option<i64>) -> QueryResult<()> {
    if delta == 0 && within.is_none() {
        return Ok(());
    }
    let cap = |before: i64| within.map(|w| w.saturating_sub(before.saturating_add(delta)));
    if !in_transaction(conn) {
        return write(conn, (sum, id), Noted { delta, cap: cap(0) });
    }
    NOTED.with(|n| {
        let mut n = n.borrow_mut();
        let e = n.entry((sum, id)).or_default();
        if let Some(c) = cap(e.delta) {
            e.cap = Some(e.cap.map_or(c, |x| x.min(c)));
        }
        e.delta = e.delta.saturating_add(delta);
    });
    Ok(())
}

/// What the open write transaction has noted on the row `id` of `sum` so far: to be added to
/// the committed sum for the value as this transaction will leave it.
pub fn noted(sum: Sum, id: i64) -> i64 {
    NOTED.with(|n| n.borrow().get(&(sum, id)).map_or(0, |x| x.delta))
}

/// What is noted now (taken before a savepoint).
pub(super) struct Marked(BTreeMap<Key, Noted>);

pub(super) fn mark() -> Marked {
    Marked(NOTED.with(|n| n.borrow().clone()))
}

/// Back to what was noted at `mark` (the savepoint rolled back).
pub(super) fn back_to(m: Marked) {
    NOTED.with(|n| *n.borrow_mut() = m.0);
}

/// Forgets everything noted (an outermost transaction starts or rolls back).
pub(super) fn forget() {
    NOTED.with(|n| n.borrow_mut().clear());
}

/// Writes everything noted, in order, and forgets it: the outermost transaction's last
/// statements.
pub(super) fn flush(conn: &mut DbConn) -> QueryResult<()> {
    let noted = NOTED.with(|n| std::mem::take(&mut *n.borrow_mut()));
    for (key, n) in noted {
        write(conn, key, n)?;
    }
    Ok(())
}

/// On PostgreSQL, the outermost transaction's end as one batch: every increment noted, as a
/// call of its sum's function (in the order [`flush`] writes them), then `COMMIT`. None when
/// nothing is noted (the plain `COMMIT` then). What was noted is forgotten either way.
pub(super) fn commit_batch() -> Option<String> {
    use std::fmt::Write as _;
    let noted = NOTED.with(|n| std::mem::take(&mut *n.borrow_mut()));
    if noted.is_empty() {
        return None;
    }
    let mut sql = String::new();
    for ((sum, id), n) in noted {
        // integers only, each cast on its own (a negative literal is a numeric until cast)
        let cap = n.cap.map_or_else(|| "NULL".to_string(), |c| format!("({c})"));
        let _ = write!(sql, "SELECT {}(({id})::bigint, ({})::bigint, {cap}::bigint); ", sum.pg_add, n.delta);
    }
    sql.push_str("COMMIT");
    Some(sql)
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    v: i64,
}

fn write(conn: &mut DbConn, (sum, id): Key, n: Noted) -> QueryResult<()> {
    // on PostgreSQL an increment with a ceiling is the sum's function, as in the commit batch:
    // it may keep the sum on more rows than this one (a station's value slots, `outstanding`)
    if let (Some(cap), DbConn::Pg(c)) = (n.cap, &mut *conn) {
        let text = format!("SELECT {}($1, $2, $3)", sum.pg_add);
        diesel::sql_query(text)
            .bind::<BigInt, _>(id)
            .bind::<BigInt, _>(n.delta)
            .bind::<BigInt, _>(cap)
            .execute(c)?;
        return Ok(());
    }
    let Sum { table, column, .. } = sum;
    let check = if n.cap.is_some() { format!(" AND {column} <= $3") } else { String::new() };
    let text =
        format!("UPDATE {table} SET {column} = {column} + $1 WHERE id = $2{check} RETURNING {column} AS v");
    let text = super::dialect_sql(conn, &text).into_owned();
    let done: Option<Written> = match n.cap {
        None => crate::on_backend!(conn, |c| diesel::sql_query(&text)
            .bind::<BigInt, _>(n.delta)
            .bind::<BigInt, _>(id)
            .cached()
            .get_result(c)
            .optional())?,
        Some(w) => crate::on_backend!(conn, |c| diesel::sql_query(&text)
            .bind::<BigInt, _>(n.delta)
            .bind::<BigInt, _>(id)
            .bind::<BigInt, _>(w)
            .cached()
            .get_result(c)
            .optional())?,
    };
    match (done, n.cap) {
        (Some(_), _) => Ok(()),
        (None, Some(_)) => Err(Error::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new(format!(
                "the {column} of {table} {id} would pass its ceiling; run the transaction again"
            )),
        )),
        (None, None) => Err(Error::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;
    use crate::db::{write_tx, Manager};

    const SUMS: Sum = Sum { table: "sums", column: "v", pg_add: "sums_add" };

    fn conn() -> (tempfile::TempDir, DbConn) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let mut c = Manager::new(&url).unwrap().connect_now().unwrap();
        c.batch_execute("CREATE TABLE sums (id INTEGER PRIMARY KEY, v BIGINT NOT NULL); INSERT INTO sums VALUES (1, 10), (2, 20);")
            .unwrap();
        (dir, c)
    }

    fn sums(c: &mut DbConn) -> Vec<(i64, i64)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = BigInt)]
            v: i64,
        }
        let rows: Vec<Row> =
            crate::on_backend!(c, |c| diesel::sql_query("SELECT id, v FROM sums ORDER BY id").load(c))
                .unwrap();
        rows.into_iter().map(|r| (r.id, r.v)).collect()
    }

    #[test]
    fn sums_are_written_at_the_commit_and_only_then() {
        let (_dir, mut c) = conn();
        // outside a transaction: at once
        add(&mut c, SUMS, 1, 5, None).unwrap();
        assert_eq!(sums(&mut c), vec![(1, 15), (2, 20)]);
        // inside one: noted, summed per row, written before the commit
        write_tx(&mut c, |c| {
            add(c, SUMS, 2, 3, None)?;
            add(c, SUMS, 1, -5, None)?;
            add(c, SUMS, 2, 4, None)?;
            assert_eq!(sums(c), vec![(1, 15), (2, 20)], "not before the commit");
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(sums(&mut c), vec![(1, 10), (2, 27)]);
        // a transaction that fails writes none of them, and the next one starts afresh
        let failed: Result<(), Error> = write_tx(&mut c, |c| {
            add(c, SUMS, 1, 100, None)?;
            Err(Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        write_tx(&mut c, |c| add(c, SUMS, 2, 1, None)).unwrap();
        assert_eq!(sums(&mut c), vec![(1, 10), (2, 28)]);
    }

    #[test]
    fn a_ceiling_that_no_longer_holds_fails_the_whole_transaction_as_a_race() {
        let (_dir, mut c) = conn();
        write_tx(&mut c, |c| add(c, SUMS, 1, 5, Some(15))).unwrap();
        assert_eq!(sums(&mut c), vec![(1, 15), (2, 20)]);
        // 15 + 1 > 15: nothing of the transaction stays, and it is a serialization failure
        let over = write_tx(&mut c, |c| {
            c.batch_execute("UPDATE sums SET v = 99 WHERE id = 2")?;
            add(c, SUMS, 1, 1, Some(15))
        });
        assert!(
            matches!(over, Err(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _))),
            "{over:?}"
        );
        assert_eq!(sums(&mut c), vec![(1, 15), (2, 20)]);
    }

    #[test]
    fn each_ceiling_holds_at_its_own_point_of_the_transaction() {
        let (_dir, mut c) = conn();
        // 10, +5 (at most 15), -3, +2 (at most 14): each holds where it was noted
        write_tx(&mut c, |c| {
            add(c, SUMS, 1, 5, Some(15))?;
            assert_eq!(noted(SUMS, 1), 5);
            add(c, SUMS, 1, -3, None)?;
            add(c, SUMS, 1, 2, Some(14))?;
            assert_eq!(noted(SUMS, 1), 4);
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(sums(&mut c), vec![(1, 14), (2, 20)]);
        // 14, +1 (at most 15), +1 (at most 15): the second does not hold at its point, though
        // the first alone would
        let over = write_tx(&mut c, |c| {
            add(c, SUMS, 1, 1, Some(15))?;
            add(c, SUMS, 1, 1, Some(15))
        });
        assert!(over.is_err());
        assert_eq!(sums(&mut c), vec![(1, 14), (2, 20)]);
        assert_eq!(noted(SUMS, 1), 0, "forgotten after the rollback");
    }

    #[test]
    fn the_batch_books_each_row_in_order_with_its_ceiling_then_commits() {
        forget();
        assert_eq!(commit_batch(), None, "nothing noted: the plain COMMIT");
        NOTED.with(|n| {
            let mut n = n.borrow_mut();
            n.insert((SUMS, 9), Noted { delta: -3, cap: None });
            n.insert((SUMS, 2), Noted { delta: 5, cap: Some(-7) });
        });
        assert_eq!(
            commit_batch().as_deref(),
            Some(
                "SELECT sums_add((2)::bigint, (5)::bigint, (-7)::bigint); \
                 SELECT sums_add((9)::bigint, (-3)::bigint, NULL::bigint); COMMIT"
            )
        );
        assert_eq!(noted(SUMS, 2), 0, "forgotten once taken");
    }

    #[test]
    fn a_savepoint_that_rolls_back_takes_its_sums_with_it() {
        let (_dir, mut c) = conn();
        write_tx(&mut c, |c| {
            add(c, SUMS, 1, 1, None)?;
            let inner: Result<(), Error> = write_tx(c, |c| {
                add(c, SUMS, 1, 100, None)?;
                add(c, SUMS, 2, 100, None)?;
                Err(Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            write_tx(c, |c| add(c, SUMS, 2, 2, None))
        })
        .unwrap();
        assert_eq!(sums(&mut c), vec![(1, 11), (2, 22)]);
    }
}
