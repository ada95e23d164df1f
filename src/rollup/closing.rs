//! Closing days of the routing-keyed rollups (fill sums and stock-out triples) and of the
//! movements' rollups (net stock value and outflow per location).
//!
//! A parts request does not write those rollups: it is the busiest write of the product, and
//! its day's rows would be updated by every request of the network. Nor does a stock movement:
//! the day's row of a location would be updated by every movement of that location (every
//! ship of a centre queued on it), and, written between the stock rows of one line and the
//! next, it made two multi-line shipments of one centre deadlock (issue 26). Instead a day is
//! rolled up once it is over, from the request lines and the movements themselves, and the
//! report adds the lines and movements of the days not closed yet (today's, a few thousand
//! rows, by the indexes on their times). `kpi_closed.closed_before` is the first
//! open day; it only moves forward, one day per transaction, under a lock, so two `echelon
//! serve` processes closing at once close each day once. A day is closed `GRACE` after its
//! end: a request whose clock read the day before midnight has committed by then (its
//! transaction lasts milliseconds), even on a host whose clock is some minutes behind the
//! closer's. `echelon audit` recomputes the closed days from the lines, so a line that came
//! later than that would be reported as a breach.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Date, Nullable, Timestamp};

use super::tables::*;
use super::Bind;
use crate::db::{dialect_sql, DbConn};
use crate::error::AppError;
use crate::state::AppState;

/// How long after its end a day is closed.
pub const GRACE: Duration = Duration::hours(1);

/// How often `echelon serve` looks for a day to close.
const EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// A routing-keyed part narrowed to a span of days.
const ROUTED_IN: &str = " AND ln.routed_at >= $1 AND ln.routed_at < $2";
/// A movement-keyed part narrowed to a span of days.
const MOVED_IN: &str = " AND m.at >= $1 AND m.at < $2";

/// The rollups that hold closed days only, with the index of their day-keyed part and its
/// filter to a span of days.
const CLOSED_ONLY: [(&Rollup, usize, &str); 7] = [
    (&STATION_DAYS, 0, ROUTED_IN),
    (&STOCKOUT_MARKS, 0, ROUTED_IN),
    (&TRIPLES_CENTRE, 0, ROUTED_IN),
    (&TRIPLES_TIER, 0, ROUTED_IN),
    (&TRIPLES_NETWORK, 0, ROUTED_IN),
    (&STOCK_DAYS, 0, MOVED_IN),
    (&OUTFLOW_DAYS, 0, MOVED_IN),
];

/// The first day that cannot be closed at `now` (every day before it is over by `GRACE`).
pub fn closable(now: NaiveDateTime) -> NaiveDate {
    (now - GRACE).date()
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

#[derive(QueryableByName)]
struct Open {
    #[diesel(sql_type = Date)]
    closed_before: NaiveDate,
    #[diesel(sql_type = Nullable<Timestamp>)]
    first: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    first_moved: Option<NaiveDateTime>,
}

/// The first open day (locked until the transaction ends) and the first routing time and
/// movement time on it or after it.
fn open(conn: &mut DbConn) -> QueryResult<Open> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("SELECT id FROM kpi_closed WHERE id = 1 FOR UPDATE").execute(c)?;
    }
    let sql = "SELECT k.closed_before AS closed_before, \
         (SELECT MIN(ln.routed_at) FROM parts_request_lines ln WHERE ln.routed_at >= k.closed_before) AS first, \
         (SELECT MIN(m.at) FROM stock_movements m WHERE m.at >= k.closed_before) AS first_moved \
       FROM kpi_closed k WHERE k.id = 1";
    let text = dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref()).get_result::<Open>(c))
}

/// Moves the first open day forward to `day` without rolling anything up (a rebuild follows).
pub(super) fn set_closed_before(conn: &mut DbConn, day: NaiveDate) -> QueryResult<()> {
    let text =
        dialect_sql(conn, "UPDATE kpi_closed SET closed_before = $1 WHERE id = 1 AND closed_before < $2");
    crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Date, _>(day)
        .bind::<Date, _>(day)
        .execute(c))
    .map(|_| ())
}

/// In the caller's transaction: closes the next day with routed lines or movements before
/// `until` (and the empty days before it). Returns whether a day was closed (there may be more).
pub fn close_day(conn: &mut DbConn, until: NaiveDate) -> QueryResult<bool> {
    let open = open(conn)?;
    if open.closed_before >= until {
        return Ok(false);
    }
    let first = match (open.first, open.first_moved) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let day = match first.map(|t| t.date()) {
        Some(d) if d < until => d,
        // no lines or movements left on a closable day: the empty days close at once
        _ => {
            set_closed_before(conn, until)?;
            return Ok(false);
        }
    };
    let next = day + Duration::days(1);
    // first the mark moves, so that the rollups' own `{closed}` condition admits the day
    set_closed_before(conn, next)?;
    let span = Bind::Span(midnight(open.closed_before), midnight(next));
    for (rollup, part, within) in CLOSED_ONLY {
        rollup.apply(conn, part, within, false, span)?;
    }
    Ok(true)
}

/// Closes every day over by the server's clock, one write transaction a day (the days a test
/// moved its clock past, too); returns how many were closed.
pub async fn close_due(state: &AppState) -> Result<usize, AppError> {
    let mut days = 0;
    loop {
        let until = closable(state.clock.now().naive_utc());
        if !state.db.write(move |c| Ok(close_day(c, until)?)).await? {
            return Ok(days);
        }
        days += 1;
    }
}

/// What `echelon serve` runs beside the server: closes the days that are over, at start and
/// then every few minutes, and makes the movements' partitions of the months ahead (a failure is logged and tried again at the next turn).
pub async fn keep_closing(state: actix_web::web::Data<AppState>) {
    loop {
        // and, on PostgreSQL, makes the movements' partitions of the months ahead (a no-op
        // once made): a new month never starts in the default partition
        let today = state.clock.now().date_naive();
        if let Err(e) = state.db.write(move |c| Ok(crate::db::partitions::ensure_ahead(c, today)?)).await {
            tracing::warn!(error = %e, "cannot make the movements' monthly partitions");
        }
        if let Err(e) = close_due(&state).await {
            tracing::warn!(error = %e, "cannot close the KPI rollups' last day");
        }
        actix_web::rt::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_day_can_be_closed_once_it_is_over_by_the_grace() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // `closable` is the first day that stays open: every day before it is closed
        assert_eq!(closable(at("2026-12-02 00:59:59")), d("2026-12-01"));
        assert_eq!(closable(at("2026-12-02 01:00:00")), d("2026-12-02"));
        assert_eq!(closable(at("2026-12-02 23:00:00")), d("2026-12-02"));
    }
}
