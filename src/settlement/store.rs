//! Settlement queries: the facts of a chunk of stations for a period window (completed
//! tickets, parts used, loan lines, adjustments), closed periods and their snapshots. Every
//! query of items leaves out those a close already settled.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use crate::db::schema::{
    loan_lines, loans, locations, parts, settled_items, settlement_adjustments, settlement_lines,
    settlement_periods, station_tier_history, ticket_parts, tickets, tier_labour_rates, tiers,
};
use crate::db::DbConn;
use crate::settlement::rules::{Grading, LineKind};

/// A station: (id, code, name, current tier).
pub type Station = (i64, String, String, Option<String>);

/// Stations in code order after `after`, at most `limit`; or the one station `only`.
pub fn stations(
    conn: &mut DbConn,
    after: Option<&str>,
    only: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Station>> {
    let mut q = locations::table
        .filter(locations::kind.eq("station"))
        .select((locations::id, locations::code, locations::name, locations::tier))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(locations::code.gt(a.to_string()));
    }
    if let Some(id) = only {
        q = q.filter(locations::id.eq(id));
    }
    q.order(locations::code.asc()).limit(limit).load(conn)
}

/// The names of these locations: id -> name.
pub fn names(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = locations::table
        .filter(locations::id.eq_any(ids))
        .select((locations::id, locations::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The tier history of the stations: station id -> [(effective from, id, tier)].
pub fn tier_history(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<Grading>>> {
    let rows: Vec<(i64, NaiveDate, i64, String)> = station_tier_history::table
        .filter(station_tier_history::location_id.eq_any(ids))
        .select((
            station_tier_history::location_id,
            station_tier_history::effective_from,
            station_tier_history::id,
            station_tier_history::tier,
        ))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<_>> = HashMap::new();
    for (loc, from, id, tier) in rows {
        out.entry(loc).or_default().push((from, id, tier));
    }
    Ok(out)
}

/// Labour rates: (tier, job type) -> rate.
pub fn labour_rates(conn: &mut DbConn) -> QueryResult<HashMap<(String, String), i64>> {
    let rows: Vec<(String, String, i64)> = tier_labour_rates::table
        .select((tier_labour_rates::tier, tier_labour_rates::job_type, tier_labour_rates::rate_minor))
        .load(conn)?;
    Ok(rows.into_iter().map(|(t, j, r)| ((t, j), r)).collect())
}

/// The longest core-return days of any tier.
pub fn max_core_return_days(conn: &mut DbConn) -> QueryResult<i32> {
    let days: Vec<i32> = tiers::table.select(tiers::core_return_days).load(conn)?;
    Ok(days.into_iter().max().unwrap_or(0))
}

/// A completed ticket: (id, station, completed at, job type, warranty).
pub type TicketFact = (i64, i64, NaiveDateTime, Option<String>, String);

/// The stations' tickets completed in [lower, upper) and not settled.
pub fn tickets(
    conn: &mut DbConn,
    ids: &[i64],
    lower: Option<NaiveDateTime>,
    upper: NaiveDateTime,
) -> QueryResult<Vec<TicketFact>> {
    let mut q = tickets::table
        .filter(tickets::station_id.eq_any(ids))
        .filter(tickets::completed_at.lt(upper))
        .filter(not(exists(
            settled_items::table
                .filter(settled_items::kind.eq("ticket"))
                .filter(settled_items::item_id.eq(tickets::id)),
        )))
        .select((
            tickets::id,
            tickets::station_id.assume_not_null(),
            tickets::completed_at.assume_not_null(),
            tickets::job_type,
            tickets::warranty,
        ))
        .into_boxed();
    if let Some(l) = lower {
        q = q.filter(tickets::completed_at.ge(l));
    }
    q.order(tickets::id.asc()).load(conn)
}

/// Parts used on those tickets, by ticket id: all of them and those outside the ticket's
/// warranty (a family its component-only warranty does not cover), at cost and at sale price.
pub fn parts_used(
    conn: &mut DbConn,
    ids: &[i64],
    lower: Option<NaiveDateTime>,
    upper: NaiveDateTime,
) -> QueryResult<HashMap<i64, super::rules::UsedParts>> {
    let mut q = ticket_parts::table
        .inner_join(tickets::table)
        .inner_join(parts::table)
        .filter(ticket_parts::kind.eq("used"))
        .filter(tickets::station_id.eq_any(ids))
        .filter(tickets::completed_at.lt(upper))
        .filter(not(exists(
            settled_items::table
                .filter(settled_items::kind.eq("ticket"))
                .filter(settled_items::item_id.eq(tickets::id)),
        )))
        .select((
            ticket_parts::ticket_id,
            ticket_parts::qty,
            ticket_parts::unit_cost_minor,
            ticket_parts::sale_price_minor,
            tickets::warranty,
            tickets::warranty_covers,
            parts::family,
        ))
        .into_boxed();
    if let Some(l) = lower {
        q = q.filter(tickets::completed_at.ge(l));
    }
    let rows: Vec<(i64, i64, i64, i64, crate::tickets::Warranty, String, String)> = q.load(conn)?;
    let mut out: HashMap<i64, super::rules::UsedParts> = HashMap::new();
    for (t, qty, cost, sale, warranty, covers, family) in rows {
        let e = out.entry(t).or_default();
        let (cost, sale) = (qty.saturating_mul(cost), qty.saturating_mul(sale));
        e.qty = e.qty.saturating_add(qty);
        e.cost = e.cost.saturating_add(cost);
        e.sale = e.sale.saturating_add(sale);
        if crate::tickets::rules::outside_cover(warranty, &covers, &family) {
            e.outside_cost = e.outside_cost.saturating_add(cost);
            e.outside_sale = e.outside_sale.saturating_add(sale);
        }
    }
    Ok(out)
}

/// A loan line that may be charged or credited as an overdue core.
#[derive(Debug, Clone, Queryable)]
pub struct CoreFact {
    pub line_id: i64,
    pub loan_id: i64,
    pub line_no: i32,
    pub station_id: i64,
    pub lent_at: NaiveDateTime,
    pub core_return_days: i32,
    pub qty: i64,
    pub unit_cost: i64,
    pub reconciled_at: Option<NaiveDateTime>,
    pub part_code: String,
}

/// The stations' loan lines lent before `upper` that could have an overdue event in the
/// window (lent within the longest core-return days before it, or reconciled in it).
pub fn core_lines(
    conn: &mut DbConn,
    ids: &[i64],
    lower: Option<NaiveDateTime>,
    upper: NaiveDateTime,
    max_days: i32,
) -> QueryResult<Vec<CoreFact>> {
    let mut q = loan_lines::table
        .inner_join(loans::table)
        .inner_join(locations::table.on(locations::id.eq(loans::station_id)))
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .inner_join(parts::table.on(parts::id.eq(loan_lines::part_id)))
        .filter(loans::station_id.eq_any(ids))
        .filter(loans::created_at.lt(upper))
        .select((
            loan_lines::id,
            loans::id,
            loan_lines::line_no,
            loans::station_id,
            loans::created_at,
            tiers::core_return_days,
            loan_lines::qty,
            loan_lines::unit_cost_minor,
            loan_lines::reconciled_at,
            parts::code,
        ))
        .into_boxed();
    if let Some(l) = lower {
        let since = l - chrono::Duration::days(i64::from(max_days) + 1);
        q = q.filter(loans::created_at.ge(since).or(loan_lines::reconciled_at.ge(l)));
    }
    q.order(loan_lines::id.asc()).load(conn)
}

/// Which of these items of a kind a close settled.
pub fn settled(conn: &mut DbConn, kind: &str, ids: &[i64]) -> QueryResult<HashSet<i64>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<i64> = settled_items::table
            .filter(settled_items::kind.eq(kind))
            .filter(settled_items::item_id.eq_any(chunk))
            .select(settled_items::item_id)
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The amounts of a station's adjustments not settled yet.
pub fn unsettled_amounts(conn: &mut DbConn, station_id: i64) -> QueryResult<Vec<i64>> {
    settlement_adjustments::table
        .filter(settlement_adjustments::station_id.eq(station_id))
        .filter(not(exists(
            settled_items::table
                .filter(settled_items::kind.eq("adjustment"))
                .filter(settled_items::item_id.eq(settlement_adjustments::id)),
        )))
        .select(settlement_adjustments::amount_minor)
        .load(conn)
}

/// An adjustment: (id, station, requested period, amount, reason, posted at).
pub type AdjustmentFact = (i64, i64, String, i64, String, NaiveDateTime);

/// The stations' unsettled adjustments asked for periods in [lower, upper) (`YYYY-MM` text
/// sorts as the months do).
pub fn adjustments(
    conn: &mut DbConn,
    ids: &[i64],
    lower: Option<String>,
    upper: String,
) -> QueryResult<Vec<AdjustmentFact>> {
    let mut q = settlement_adjustments::table
        .filter(settlement_adjustments::station_id.eq_any(ids))
        .filter(settlement_adjustments::requested_period.lt(upper))
        .filter(not(exists(
            settled_items::table
                .filter(settled_items::kind.eq("adjustment"))
                .filter(settled_items::item_id.eq(settlement_adjustments::id)),
        )))
        .select((
            settlement_adjustments::id,
            settlement_adjustments::station_id,
            settlement_adjustments::requested_period,
            settlement_adjustments::amount_minor,
            settlement_adjustments::reason,
            settlement_adjustments::posted_at,
        ))
        .into_boxed();
    if let Some(l) = lower {
        q = q.filter(settlement_adjustments::requested_period.ge(l));
    }
    q.order(settlement_adjustments::id.asc()).load(conn)
}

/// What these adjustments were asked and posted for: id -> (requested period, posted at).
pub fn adjustments_posted(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<HashMap<i64, (String, NaiveDateTime)>> {
    let rows: Vec<(i64, String, NaiveDateTime)> = settlement_adjustments::table
        .filter(settlement_adjustments::id.eq_any(ids))
        .select((
            settlement_adjustments::id,
            settlement_adjustments::requested_period,
            settlement_adjustments::posted_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, p, at)| (id, (p, at))).collect())
}

#[derive(Insertable)]
#[diesel(table_name = settlement_adjustments)]
pub struct NewAdjustment<'a> {
    pub station_id: i64,
    pub requested_period: &'a str,
    pub period: &'a str,
    pub amount_minor: i64,
    pub reason: &'a str,
    pub posted_by: &'a str,
    pub posted_at: NaiveDateTime,
}

pub fn insert_adjustment(conn: &mut DbConn, a: &NewAdjustment<'_>) -> QueryResult<i64> {
    diesel::insert_into(settlement_adjustments::table)
        .values(a)
        .returning(settlement_adjustments::id)
        .get_result(conn)
}

/// Serialises closes and adjustments on PostgreSQL (SQLite's writers are serial already), so
/// an adjustment never lands in a period that a concurrent close is freezing.
pub fn lock_periods(conn: &mut DbConn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConn::Pg(c) => c.batch_execute("SELECT pg_advisory_xact_lock(7243010)"),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// The latest closed period, as text.
pub fn last_closed(conn: &mut DbConn) -> QueryResult<Option<String>> {
    settlement_periods::table
        .select(settlement_periods::period)
        .order(settlement_periods::period.desc())
        .first(conn)
        .optional()
}

/// A closed period: (closed at, closed by, reconciliation JSON).
pub fn closed(conn: &mut DbConn, period: &str) -> QueryResult<Option<(NaiveDateTime, String, String)>> {
    settlement_periods::table
        .find(period)
        .select((
            settlement_periods::closed_at,
            settlement_periods::closed_by,
            settlement_periods::reconciliation,
        ))
        .first(conn)
        .optional()
}

/// The earliest closed period after `period`: (period, closed at, closed by).
pub fn first_closed_after(
    conn: &mut DbConn,
    period: &str,
) -> QueryResult<Option<(String, NaiveDateTime, String)>> {
    settlement_periods::table
        .filter(settlement_periods::period.gt(period))
        .select((settlement_periods::period, settlement_periods::closed_at, settlement_periods::closed_by))
        .order(settlement_periods::period.asc())
        .first(conn)
        .optional()
}

#[derive(Insertable)]
#[diesel(table_name = settlement_periods)]
pub struct NewPeriod<'a> {
    pub period: &'a str,
    pub closed_at: NaiveDateTime,
    pub closed_by: &'a str,
    pub lines: i64,
    pub net_minor: i64,
    pub reconciliation: &'a str,
}

pub fn insert_period(conn: &mut DbConn, p: &NewPeriod<'_>) -> QueryResult<usize> {
    diesel::insert_into(settlement_periods::table).values(p).execute(conn)
}

/// One snapshot line.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = settlement_lines)]
pub struct SnapshotLine {
    pub period: String,
    pub station_id: i64,
    pub station_code: String,
    #[diesel(serialize_as = String)]
    pub kind: LineKind,
    pub item_date: NaiveDate,
    pub reference: String,
    pub tier: Option<String>,
    pub job_type: Option<String>,
    pub warranty: Option<String>,
    pub parts_qty: i64,
    pub labour_minor: i64,
    pub parts_sold_minor: i64,
    pub warranty_parts_minor: i64,
    pub parts_cost_minor: i64,
    pub overdue_cores_minor: i64,
    pub adjustments_minor: i64,
    pub note: Option<String>,
}

pub fn insert_snapshot(
    conn: &mut DbConn,
    lines: Vec<SnapshotLine>,
    settled: &[(String, i64, String)],
) -> QueryResult<()> {
    let mut lines = lines.into_iter().peekable();
    while lines.peek().is_some() {
        let chunk: Vec<SnapshotLine> = lines.by_ref().take(500).collect();
        crate::on_backend!(conn, |c| diesel::insert_into(settlement_lines::table).values(chunk).execute(c))?;
    }
    let rows: Vec<_> = settled
        .iter()
        .map(|(k, id, p)| {
            (settled_items::kind.eq(k), settled_items::item_id.eq(*id), settled_items::period.eq(p))
        })
        .collect();
    for chunk in rows.chunks(1000) {
        crate::on_backend!(conn, |c| diesel::insert_into(settled_items::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Snapshot lines of a closed period after id `after`, in the order they were written.
pub fn snapshot_after(
    conn: &mut DbConn,
    period: &str,
    station_id: Option<i64>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, SnapshotLine)>> {
    let mut q = settlement_lines::table
        .filter(settlement_lines::period.eq(period))
        .filter(settlement_lines::id.gt(after))
        .select((settlement_lines::id, SnapshotLine::as_select()))
        .into_boxed();
    if let Some(s) = station_id {
        q = q.filter(settlement_lines::station_id.eq(s));
    }
    q.order(settlement_lines::id.asc()).limit(limit).load(conn)
}
