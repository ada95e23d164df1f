//! The movements' monthly partitions on PostgreSQL (SPEC section 14; migration
//! `2026-12-06-000048_movement_partitions`). A month's partition is made ahead of the month:
//! by `migrate` (every start of `echelon serve`, every test database) and by the periodic loop
//! `echelon serve` runs beside the server (`rollup::keep_closing`). Making one is idempotent
//! and safe from several processes at once (the SQL function takes an advisory lock); a
//! movement dated in a month without its partition still lands, in the DEFAULT partition,
//! whose rows of a month move into that month's partition when it is made.

use chrono::{Datelike, Months, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date};

use super::DbConn;

/// How many months after the current one have their partition made ahead.
pub const AHEAD: u32 = 3;

#[derive(QueryableByName)]
struct Made {
    #[diesel(sql_type = Bool)]
    made: bool,
}

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Makes the partition of each month from `from`'s to `to`'s (both included) that is missing;
/// returns how many were made. Nothing on SQLite (one table).
pub fn ensure_months(conn: &mut DbConn, from: NaiveDate, to: NaiveDate) -> QueryResult<usize> {
    let DbConn::Pg(c) = conn else { return Ok(0) };
    let mut made = 0;
    let mut m = month_of(from);
    while m <= to {
        // one short transaction a month: the partition's lock is held only while it is made
        let r: Made = c.transaction(|c| {
            diesel::sql_query("SELECT echelon_movement_partition($1) AS made")
                .bind::<Date, _>(m)
                .get_result(c)
        })?;
        made += usize::from(r.made);
        m = m + Months::new(1);
    }
    Ok(made)
}

/// Makes the partitions of `today`'s month and the `AHEAD` months after it that are missing.
pub fn ensure_ahead(conn: &mut DbConn, today: NaiveDate) -> QueryResult<usize> {
    ensure_months(conn, today, month_of(today) + Months::new(AHEAD))
}

/// The months (first days) that have a partition of their own, oldest first (PostgreSQL).
pub fn months(conn: &mut DbConn) -> QueryResult<Vec<NaiveDate>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let DbConn::Pg(c) = conn else { return Ok(Vec::new()) };
    let names: Vec<Name> = diesel::sql_query(
        "SELECT CAST(c.relname AS TEXT) AS name FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
         WHERE p.relname = 'stock_movements' ORDER BY c.relname",
    )
    .load(c)?;
    Ok(names.iter().filter_map(|n| month_of_name(&n.name)).collect())
}

/// The month a partition's name (`stock_movements_YYYY_MM`) stands for.
pub fn month_of_name(name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix("stock_movements_")?;
    NaiveDate::parse_from_str(&format!("{rest}_01"), "%Y_%m_%d").ok()
}

/// The name of a month's partition.
pub fn partition_name(month: NaiveDate) -> String {
    format!("stock_movements_{}", month.format("%Y_%m"))
}

/// Runs `sql` on PostgreSQL (a helper of the archive's statements).
pub fn batch(conn: &mut DbConn, sql: &str) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => c.batch_execute(sql),
        DbConn::Sqlite(c) => c.batch_execute(sql),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_name_reads_back_as_its_month() {
        let m = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(partition_name(m), "stock_movements_2027_03");
        assert_eq!(month_of_name("stock_movements_2027_03"), Some(m));
        assert_eq!(month_of_name("stock_movements_default"), None);
        assert_eq!(month_of(NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()), m);
    }
}
