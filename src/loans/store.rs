//! Loans, their lines and inspections in the database, and technician custody locations.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::rules::{InspectionStatus, LineStatus};
use crate::db::schema::{inspections, loan_lines, loans, locations, parts, tiers, unit_components};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = loans)]
pub struct LoanRow {
    pub id: i64,
    pub station_id: i64,
    pub technician_id: i64,
    pub custody_id: i64,
    pub ticket_id: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = loan_lines)]
pub struct LoanLineRow {
    pub id: i64,
    pub loan_id: i64,
    pub line_no: i32,
    pub part_id: i64,
    pub qty: i64,
    pub unit_cost_minor: i64,
    pub serials: Option<String>,
    pub status: LineStatus,
    pub fee_minor: Option<i64>,
    pub old_serial: Option<String>,
    pub old_production_date: Option<NaiveDate>,
    pub reconciled_by: Option<String>,
    pub reconciled_at: Option<NaiveDateTime>,
    /// wrong old parts offered for the line (see `rules::CORE_ATTEMPTS`)
    pub core_mismatches: i32,
    /// the superseded part asked for, when its successor (`part_id`) was lent in its place
    pub requested_part_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inspections)]
pub struct InspectionRow {
    pub id: i64,
    pub loan_line_id: i64,
    pub station_id: i64,
    pub part_id: i64,
    pub qty: i64,
    pub serials: Option<String>,
    pub status: InspectionStatus,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
}

/// The custody location of a technician, by its code.
pub fn custody_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<i64>> {
    locations::table.filter(locations::code.eq(code)).select(locations::id).first(conn).optional()
}

pub fn insert_loan(
    conn: &mut DbConn,
    station_id: i64,
    technician_id: i64,
    custody_id: i64,
    ticket_id: i64,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(loans::table)
        .values((
            loans::station_id.eq(station_id),
            loans::technician_id.eq(technician_id),
            loans::custody_id.eq(custody_id),
            loans::ticket_id.eq(ticket_id),
            loans::created_by.eq(by),
            loans::created_at.eq(at),
        ))
        .returning(loans::id)
        .get_result(conn)
}

#[allow(clippy::too_many_arguments)]
pub fn insert_line(
    conn: &mut DbConn,
    loan_id: i64,
    station_id: i64,
    line_no: i32,
    part_id: i64,
    requested_part_id: Option<i64>,
    qty: i64,
    unit_cost_minor: i64,
    serials: Option<&str>,
) -> QueryResult<i64> {
    diesel::insert_into(loan_lines::table)
        .values((
            loan_lines::loan_id.eq(loan_id),
            loan_lines::station_id.eq(station_id),
            loan_lines::line_no.eq(line_no),
            loan_lines::part_id.eq(part_id),
            loan_lines::requested_part_id.eq(requested_part_id),
            loan_lines::qty.eq(qty),
            loan_lines::unit_cost_minor.eq(unit_cost_minor),
            loan_lines::serials.eq(serials),
            loan_lines::status.eq("open"),
        ))
        .returning(loan_lines::id)
        .get_result(conn)
}

pub fn loan(conn: &mut DbConn, id: i64) -> QueryResult<Option<LoanRow>> {
    loans::table.find(id).select(LoanRow::as_select()).first(conn).optional()
}

pub fn lines(conn: &mut DbConn, loan_ids: &[i64]) -> QueryResult<Vec<LoanLineRow>> {
    loan_lines::table
        .filter(loan_lines::loan_id.eq_any(loan_ids.to_vec()))
        .select(LoanLineRow::as_select())
        .order((loan_lines::loan_id.asc(), loan_lines::line_no.asc()))
        .load(conn)
}

/// Locks a loan line's row to the transaction's end (PostgreSQL; SQLite's writers run one at a
/// time), so that two reconciliations of one line at once run one after the other, the second
/// finding the line reconciled.
pub fn lock_line(conn: &mut DbConn, loan_id: i64, line_no: i32) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        loan_lines::table
            .filter(loan_lines::loan_id.eq(loan_id))
            .filter(loan_lines::line_no.eq(line_no))
            .select(loan_lines::id)
            .for_update()
            .load::<i64>(c)?;
    }
    Ok(())
}

pub fn line(conn: &mut DbConn, loan_id: i64, line_no: i32) -> QueryResult<Option<LoanLineRow>> {
    loan_lines::table
        .filter(loan_lines::loan_id.eq(loan_id))
        .filter(loan_lines::line_no.eq(line_no))
        .select(LoanLineRow::as_select())
        .first(conn)
        .optional()
}

/// What closed a line. Recorded only while the line is still open: false when it was
/// reconciled already (by this or a concurrent transaction).
pub struct Reconciliation<'a> {
    pub status: &'a str,
    pub fee_minor: Option<i64>,
    pub old_serial: Option<&'a str>,
    pub old_production_date: Option<NaiveDate>,
    pub by: &'a str,
    pub at: NaiveDateTime,
}

pub fn reconcile(conn: &mut DbConn, line_id: i64, r: &Reconciliation<'_>) -> QueryResult<bool> {
    let n = diesel::update(
        loan_lines::table.filter(loan_lines::id.eq(line_id)).filter(loan_lines::status.eq("open")),
    )
    .set((
        loan_lines::status.eq(r.status),
        loan_lines::fee_minor.eq(r.fee_minor),
        loan_lines::old_serial.eq(r.old_serial),
        loan_lines::old_production_date.eq(r.old_production_date),
        loan_lines::reconciled_by.eq(r.by),
        loan_lines::reconciled_at.eq(r.at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Default, Clone)]
pub struct LoanFilter {
    pub station_ids: Option<Vec<i64>>,
    pub technician_id: Option<i64>,
    /// only loans with a line open past the station tier's core-return days at this time
    pub overdue_at: Option<NaiveDateTime>,
}

/// Newest first, before `before`.
pub fn list(conn: &mut DbConn, f: &LoanFilter, before: Option<i64>, limit: i64) -> QueryResult<Vec<LoanRow>> {
    let mut q = loans::table.select(LoanRow::as_select()).into_boxed();
    if let Some(ids) = &f.station_ids {
        q = q.filter(loans::station_id.eq_any(ids.clone()));
    }
    if let Some(t) = f.technician_id {
        q = q.filter(loans::technician_id.eq(t));
    }
    if let Some(now) = f.overdue_at {
        let ids = overdue_loan_ids(conn, None, now)?;
        q = q.filter(loans::id.eq_any(ids));
    }
    if let Some(b) = before {
        q = q.filter(loans::id.lt(b));
    }
    q.order(loans::id.desc()).limit(limit).load(conn)
}

/// Open lines of loans older than their station tier's `core_return_days` at `now`:
/// (loan id, line value at cost).
fn overdue_lines(
    conn: &mut DbConn,
    station_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, i64)>> {
    let mut q = loan_lines::table
        .inner_join(loans::table)
        .inner_join(locations::table.on(locations::id.eq(loans::station_id)))
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(loan_lines::status.eq("open"))
        .select((
            loans::id,
            loans::created_at,
            tiers::core_return_days,
            loan_lines::qty,
            loan_lines::unit_cost_minor,
        ))
        .into_boxed();
    if let Some(s) = station_id {
        // the station's open lines through `loan_lines_open_by_station`, not its every loan
        q = q.filter(loan_lines::station_id.eq(s));
    }
    let rows: Vec<(i64, NaiveDateTime, i32, i64, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, at, days, _, _)| super::rules::is_overdue(*at, *days, now))
        .map(|(id, _, _, qty, cost)| (id, qty.saturating_mul(cost)))
        .collect())
}

/// An open loan line past its station tier's core-return days.
#[derive(Debug, Clone)]
pub struct OverdueLine {
    pub line_id: i64,
    pub loan_id: i64,
    pub line_no: i32,
    pub station_id: i64,
    pub part_id: i64,
    pub qty: i64,
    pub value_minor: i64,
    pub due_at: NaiveDateTime,
}

/// Every open loan line past its station tier's core-return days at `now` (for the overdue
/// events).
pub fn overdue_lines_at(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<OverdueLine>> {
    // (line, loan, line no, station, part, qty, unit cost, lent at, core-return days)
    type Row = (i64, i64, i32, i64, i64, i64, i64, NaiveDateTime, i32);
    let rows: Vec<Row> = loan_lines::table
        .inner_join(loans::table)
        .inner_join(locations::table.on(locations::id.eq(loans::station_id)))
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(loan_lines::status.eq("open"))
        .select((
            loan_lines::id,
            loans::id,
            loan_lines::line_no,
            loans::station_id,
            loan_lines::part_id,
            loan_lines::qty,
            loan_lines::unit_cost_minor,
            loans::created_at,
            tiers::core_return_days,
        ))
        .order(loan_lines::id.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| super::rules::is_overdue(r.7, r.8, now))
        .map(|(line_id, loan_id, line_no, station_id, part_id, qty, cost, at, days)| OverdueLine {
            line_id,
            loan_id,
            line_no,
            station_id,
            part_id,
            qty,
            value_minor: qty.saturating_mul(cost),
            due_at: at + chrono::Duration::days(i64::from(days)),
        })
        .collect())
}

fn overdue_loan_ids(conn: &mut DbConn, station_id: Option<i64>, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = overdue_lines(conn, station_id, now)?.into_iter().map(|(id, _)| id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// An open loan line of a station, as a new parts request weighs it: overdue once its tier's
/// core-return days have passed since it was lent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLine {
    pub id: i64,
    pub lent_at: NaiveDateTime,
    pub core_return_days: i32,
    /// quantity times unit cost
    pub value: i64,
}

/// The station's open loan lines, in id order. While the same lines are open (and the tiers
/// unchanged: the master data's revision) they weigh the same at any one time: an open line's
/// quantity, cost and loan do not change.
pub fn open_lines(conn: &mut DbConn, station_id: i64) -> QueryResult<Vec<OpenLine>> {
    // every parts request of a station with open loans asks: on the concrete connection, which
    // does not render a prepared statement's SQL again at each execution as the multi-backend
    // one does
    let rows: Vec<(i64, NaiveDateTime, i32, i64, i64)> = crate::on_backend!(conn, |c| loan_lines::table
        .inner_join(loans::table)
        .inner_join(locations::table.on(locations::id.eq(loans::station_id)))
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(loan_lines::status.eq("open"))
        .filter(loan_lines::station_id.eq(station_id))
        .order(loan_lines::id)
        .select((
            loan_lines::id,
            loans::created_at,
            tiers::core_return_days,
            loan_lines::qty,
            loan_lines::unit_cost_minor
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, lent_at, core_return_days, qty, cost)| OpenLine {
            id,
            lent_at,
            core_return_days,
            value: qty.saturating_mul(cost),
        })
        .collect())
}

/// The SQL that selects the ids of a station's open loan lines, in id order, for statements
/// written as text (`station`: the SQL of the station's id, a placeholder or a column). It reads
/// the index of open lines by station alone (`loan_lines_open_by_station`): as many rows as the
/// station has open lines, however many loans it had.
pub fn open_line_ids_sql(station: &str) -> String {
    format!("SELECT lol.id FROM loan_lines lol WHERE lol.station_id = {station} AND lol.status = 'open' ORDER BY lol.id")
}

/// The value of those of `lines` overdue at `now`.
pub fn overdue_of(lines: &[OpenLine], now: NaiveDateTime) -> i64 {
    lines
        .iter()
        .filter(|l| super::rules::is_overdue(l.lent_at, l.core_return_days, now))
        .map(|l| l.value)
        .sum()
}

/// Value at cost of a station's loan lines still open past its tier's core-return days at
/// `now`: what settlement charges, and what the allowance counts a second time on top of the
/// custody stock (see `requests::service::create`).
pub fn overdue_value(conn: &mut DbConn, station_id: i64, now: NaiveDateTime) -> QueryResult<i64> {
    Ok(overdue_of(&open_lines(conn, station_id)?, now))
}

/// The core-return days of these stations' tiers, by station (a station without a tier is left
/// out).
pub fn core_return_days_of(conn: &mut DbConn, station_ids: &[i64]) -> QueryResult<BTreeMap<i64, i32>> {
    if station_ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(locations::table
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(locations::id.eq_any(station_ids))
        .select((locations::id, tiers::core_return_days))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .collect())
}

/// The factory record of a unit's component of a family: (part, serial, production date).
#[expect(clippy::type_complexity, reason = "one inspection-record row: part, serial, production date")]
pub fn factory_record(
    conn: &mut DbConn,
    unit_id: i64,
    family: &str,
) -> QueryResult<Option<(Option<i64>, Option<String>, Option<NaiveDate>)>> {
    unit_components::table
        .filter(unit_components::unit_id.eq(unit_id))
        .filter(unit_components::family.eq(family))
        .select((unit_components::part_id, unit_components::serial, unit_components::production_date))
        .order(unit_components::id.asc())
        .first(conn)
        .optional()
}

/// (code, family, serialized, sale price) of a part.
pub fn part_facts(conn: &mut DbConn, part_id: i64) -> QueryResult<(String, String, bool, i64)> {
    parts::table
        .find(part_id)
        .select((parts::code, parts::family, parts::serialized, parts::sale_price_minor))
        .first(conn)
}

/// Whether the part has an old part (a core) to bring back when it is fitted.
pub fn core_returnable(conn: &mut DbConn, part_id: i64) -> QueryResult<bool> {
    parts::table.find(part_id).select(parts::core_returnable).first(conn)
}

pub fn insert_inspection(
    conn: &mut DbConn,
    line: &LoanLineRow,
    station_id: i64,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(inspections::table)
        .values((
            inspections::loan_line_id.eq(line.id),
            inspections::station_id.eq(station_id),
            inspections::part_id.eq(line.part_id),
            inspections::qty.eq(line.qty),
            inspections::serials.eq(line.serials.clone()),
            inspections::status.eq("pending"),
            inspections::created_at.eq(at),
        ))
        .returning(inspections::id)
        .get_result(conn)
}

pub fn inspection(conn: &mut DbConn, id: i64) -> QueryResult<Option<InspectionRow>> {
    inspections::table.find(id).select(InspectionRow::as_select()).first(conn).optional()
}

/// Records an inspection's result while it is still pending; false when decided already.
pub fn decide_inspection(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        inspections::table.filter(inspections::id.eq(id)).filter(inspections::status.eq("pending")),
    )
    .set((inspections::status.eq(status), inspections::decided_by.eq(by), inspections::decided_at.eq(at)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Newest first, before `before`.
pub fn list_inspections(
    conn: &mut DbConn,
    station_ids: Option<&[i64]>,
    status: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<InspectionRow>> {
    let mut q = inspections::table.select(InspectionRow::as_select()).into_boxed();
    if let Some(ids) = station_ids {
        q = q.filter(inspections::station_id.eq_any(ids.to_vec()));
    }
    if let Some(s) = status {
        q = q.filter(inspections::status.eq(s.to_string()));
    }
    if let Some(b) = before {
        q = q.filter(inspections::id.lt(b));
    }
    q.order(inspections::id.desc()).limit(limit).load(conn)
}

/// Takes one of a line's attempts at its core (`max` in all): the count after it, or none when
/// they are all spent. Taken on the line's row, so attempts made at once are counted in turn.
pub fn take_core_attempt(conn: &mut DbConn, line_id: i64, max: i32) -> QueryResult<Option<i32>> {
    diesel::update(loan_lines::table.find(line_id).filter(loan_lines::core_mismatches.lt(max)))
        .set(loan_lines::core_mismatches.eq(loan_lines::core_mismatches + 1))
        .returning(loan_lines::core_mismatches)
        .get_result(conn)
        .optional()
}

/// Gives back the attempt (or an admin's count) taken for what was the right old part.
pub fn uncount_core_mismatch(conn: &mut DbConn, line_id: i64) -> QueryResult<()> {
    diesel::update(loan_lines::table.find(line_id))
        .set(loan_lines::core_mismatches.eq(loan_lines::core_mismatches - 1))
        .execute(conn)
        .map(|_| ())
}

/// One more wrong old part offered for loan `loan_id`'s line `line_no` (an admin's, who has no
/// limit: counted all the same).
pub fn count_core_mismatch(conn: &mut DbConn, loan_id: i64, line_no: i32) -> QueryResult<()> {
    diesel::update(
        loan_lines::table.filter(loan_lines::loan_id.eq(loan_id)).filter(loan_lines::line_no.eq(line_no)),
    )
    .set(loan_lines::core_mismatches.eq(loan_lines::core_mismatches + 1))
    .execute(conn)
    .map(|_| ())
}

/// The settlement month a ticket was settled in, if it was: its parts used are final then.
pub fn ticket_settled_in(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Option<String>> {
    use crate::db::schema::settled_items;
    settled_items::table
        .filter(settled_items::kind.eq("ticket"))
        .filter(settled_items::item_id.eq(ticket_id))
        .select(settled_items::period)
        .first(conn)
        .optional()
}
