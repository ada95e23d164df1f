//! Locations, tiers and tier history in the database.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::rules::{LocationKind, Tier};
use crate::db::schema::{locations, station_tier_history, tier_labour_rates, tiers};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = locations)]
pub struct LocationRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    pub parent_id: Option<i64>,
    pub path: String,
    pub region: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub tier: Option<Tier>,
    pub lead_time_days: Option<i32>,
    pub active: bool,
}

#[derive(Insertable)]
#[diesel(table_name = locations)]
pub struct NewLocation<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub parent_id: Option<i64>,
    pub path: &'a str,
    pub region: Option<&'a str>,
    pub city: Option<&'a str>,
    pub address: Option<&'a str>,
    pub tier: Option<&'a str>,
    pub lead_time_days: Option<i32>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = locations)]
pub struct LocationChanges {
    pub name: Option<String>,
    pub region: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub lead_time_days: Option<Option<i32>>,
    pub active: Option<bool>,
}

/// Filters of the location list.
#[derive(Debug, Default, Clone)]
pub struct LocationFilter {
    pub kind: Option<String>,
    pub parent_id: Option<i64>,
    pub tier: Option<String>,
    pub region: Option<String>,
    /// free text in code or name
    pub q: Option<String>,
    /// scoped callers: only this subtree and these ancestors
    pub within: Option<(String, Vec<i64>)>,
}

pub fn by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<LocationRow>> {
    let code = super::rules::canonical_code(code);
    locations::table.filter(locations::code.eq(code)).select(LocationRow::as_select()).first(conn).optional()
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<LocationRow> {
    locations::table.find(id).select(LocationRow::as_select()).first(conn)
}

/// The locations of the given ids, by id, in one query.
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, LocationRow>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(locations::table
        .filter(locations::id.eq_any(ids))
        .select(LocationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| (r.id, r))
        .collect())
}

/// Codes of the given location ids.
pub fn codes_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(locations::table
        .filter(locations::id.eq_any(ids))
        .select((locations::id, locations::code))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// One page of locations ordered by code, after `after` (exclusive).
pub fn list(
    conn: &mut DbConn,
    filter: &LocationFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<LocationRow>> {
    let mut q = locations::table.select(LocationRow::as_select()).into_boxed();
    if let Some(k) = &filter.kind {
        q = q.filter(locations::kind.eq(k.clone()));
    }
    if let Some(p) = filter.parent_id {
        q = q.filter(locations::parent_id.eq(p));
    }
    if let Some(t) = &filter.tier {
        q = q.filter(locations::tier.eq(t.clone()));
    }
    if let Some(r) = &filter.region {
        q = q.filter(locations::region.eq(r.clone()));
    }
    if let Some(text) = &filter.q {
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            locations::code.like(pattern.clone()).escape('\\').or(locations::name.like(pattern).escape('\\')),
        );
    }
    if let Some((path, ancestors)) = &filter.within {
        q = q.filter(
            locations::path
                .like(format!("{}%", escape_like(path)))
                .escape('\\')
                .or(locations::id.eq_any(ancestors.clone())),
        );
    }
    if let Some(a) = after {
        q = q.filter(locations::code.gt(a.to_string()));
    }
    q.order(locations::code.asc()).limit(limit).load(conn)
}

pub use crate::db::escape_like;

pub fn central_exists(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        locations::table.filter(locations::kind.eq(LocationKind::CentralWarehouse.as_str())),
    ))
    .get_result(conn)
}

/// Inserts a location and sets its materialised path from its parent's.
pub fn insert(conn: &mut DbConn, new: &NewLocation<'_>, parent_path: Option<&str>) -> QueryResult<i64> {
    let id: i64 =
        diesel::insert_into(locations::table).values(new).returning(locations::id).get_result(conn)?;
    let path = format!("{}{id}/", parent_path.unwrap_or("/"));
    diesel::update(locations::table.find(id)).set(locations::path.eq(path)).execute(conn)?;
    Ok(id)
}

pub fn update(conn: &mut DbConn, id: i64, changes: &LocationChanges) -> QueryResult<()> {
    if changes.name.is_none()
        && changes.region.is_none()
        && changes.city.is_none()
        && changes.address.is_none()
        && changes.lead_time_days.is_none()
        && changes.active.is_none()
    {
        return Ok(());
    }
    diesel::update(locations::table.find(id)).set(changes).execute(conn).map(|_| ())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    locations::table.count().get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tiers)]
pub struct TierRow {
    #[diesel(serialize_as = String)]
    pub tier: Tier,
    pub credit_allowance_minor: i64,
    pub may_order_from_hq: bool,
    pub allocation_priority: i32,
    pub core_return_days: i32,
    pub updated_at: NaiveDateTime,
}

/// Every tier with its labour rates per job type.
/// The tiers' letters, in order.
pub fn tier_letters(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    tiers::table.select(tiers::tier).order(tiers::tier.asc()).load(conn)
}

pub fn tiers(conn: &mut DbConn) -> QueryResult<Vec<(TierRow, BTreeMap<String, i64>)>> {
    let rows: Vec<TierRow> = tiers::table.select(TierRow::as_select()).order(tiers::tier.asc()).load(conn)?;
    let rates: Vec<(String, String, i64)> = tier_labour_rates::table
        .select((tier_labour_rates::tier, tier_labour_rates::job_type, tier_labour_rates::rate_minor))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let r = rates
                .iter()
                .filter(|(tier, _, _)| tier == t.tier.as_str())
                .map(|(_, job, rate)| (job.clone(), *rate))
                .collect();
            (t, r)
        })
        .collect())
}

pub fn insert_tier(conn: &mut DbConn, tier: &TierRow, rates: &BTreeMap<String, i64>) -> QueryResult<()> {
    diesel::insert_into(tiers::table).values(tier.clone()).execute(conn)?;
    for (job, rate) in rates {
        diesel::insert_into(tier_labour_rates::table)
            .values((
                tier_labour_rates::tier.eq(tier.tier.as_str()),
                tier_labour_rates::job_type.eq(job),
                tier_labour_rates::rate_minor.eq(rate),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a station's tier from a date on.
pub fn record_tier(
    conn: &mut DbConn,
    location_id: i64,
    tier: Tier,
    from: NaiveDate,
    reason: Option<&str>,
    by: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(station_tier_history::table)
        .values((
            station_tier_history::location_id.eq(location_id),
            station_tier_history::tier.eq(tier.as_str()),
            station_tier_history::effective_from.eq(from),
            station_tier_history::reason.eq(reason),
            station_tier_history::changed_by.eq(by),
            station_tier_history::changed_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes a station's tier history entries of one day (a regrading of that day replaces them).
pub fn drop_tier_day(conn: &mut DbConn, location_id: i64, day: NaiveDate) -> QueryResult<usize> {
    diesel::delete(
        station_tier_history::table
            .filter(station_tier_history::location_id.eq(location_id))
            .filter(station_tier_history::effective_from.eq(day)),
    )
    .execute(conn)
}

/// One entry of a station's tier history.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = station_tier_history)]
pub struct TierHistoryRow {
    pub id: i64,
    pub location_id: i64,
    pub tier: Tier,
    pub effective_from: NaiveDate,
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: NaiveDateTime,
}

/// A station's tier history, oldest first (by effective date, then by entry).
pub fn tier_history(conn: &mut DbConn, location_id: i64) -> QueryResult<Vec<TierHistoryRow>> {
    station_tier_history::table
        .filter(station_tier_history::location_id.eq(location_id))
        .select(TierHistoryRow::as_select())
        .order((station_tier_history::effective_from.asc(), station_tier_history::id.asc()))
        .load(conn)
}

/// The tier a station had on a date: the latest entry effective on or before it (settlement
/// uses the tier in force on the date). `None` before its first grading.
pub fn tier_on(conn: &mut DbConn, station_id: i64, date: NaiveDate) -> QueryResult<Option<Tier>> {
    station_tier_history::table
        .filter(station_tier_history::location_id.eq(station_id))
        .filter(station_tier_history::effective_from.le(date))
        .order((station_tier_history::effective_from.desc(), station_tier_history::id.desc()))
        .select(station_tier_history::tier)
        .first(conn)
        .optional()
}

/// Brings every station's current tier (`locations.tier`) in line with its history on `today`,
/// so regradings dated ahead take effect; returns how many stations changed.
pub fn apply_due_tiers(conn: &mut DbConn, today: NaiveDate) -> QueryResult<usize> {
    let history: Vec<(i64, Tier, NaiveDate, i64)> = station_tier_history::table
        .filter(station_tier_history::effective_from.le(today))
        .select((
            station_tier_history::location_id,
            station_tier_history::tier,
            station_tier_history::effective_from,
            station_tier_history::id,
        ))
        .load(conn)?;
    let mut due: BTreeMap<i64, (NaiveDate, i64, Tier)> = BTreeMap::new();
    for (loc, tier, from, id) in history {
        let e = due.entry(loc).or_insert((from, id, tier));
        if (from, id) > (e.0, e.1) {
            *e = (from, id, tier);
        }
    }
    let current: Vec<(i64, Option<Tier>)> = locations::table
        .filter(locations::kind.eq(LocationKind::Station.as_str()))
        .select((locations::id, locations::tier))
        .load(conn)?;
    let mut changed = 0;
    for (id, tier) in current {
        if let Some((_, _, want)) = due.get(&id) {
            if tier != Some(*want) {
                diesel::update(locations::table.find(id))
                    .set(locations::tier.eq(want.as_str()))
                    .execute(conn)?;
                changed += 1;
            }
        }
    }
    if changed > 0 {
        crate::rollup::tiers_changed(conn)?;
    }
    Ok(changed)
}

/// Replaces what a tier allows and its labour rates.
pub fn update_tier(conn: &mut DbConn, tier: &TierRow, rates: &BTreeMap<String, i64>) -> QueryResult<()> {
    diesel::update(tiers::table.find(tier.tier.as_str()))
        .set((
            tiers::credit_allowance_minor.eq(tier.credit_allowance_minor),
            tiers::may_order_from_hq.eq(tier.may_order_from_hq),
            tiers::allocation_priority.eq(tier.allocation_priority),
            tiers::core_return_days.eq(tier.core_return_days),
            tiers::updated_at.eq(tier.updated_at),
        ))
        .execute(conn)?;
    diesel::delete(tier_labour_rates::table.filter(tier_labour_rates::tier.eq(tier.tier.as_str())))
        .execute(conn)?;
    for (job, rate) in rates {
        diesel::insert_into(tier_labour_rates::table)
            .values((
                tier_labour_rates::tier.eq(tier.tier.as_str()),
                tier_labour_rates::job_type.eq(job),
                tier_labour_rates::rate_minor.eq(rate),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The ids of the locations a scope sees (its subtree and its ancestors); `None` for all.
pub fn visible_ids(conn: &mut DbConn, scope: &crate::auth::Scope) -> QueryResult<Option<Vec<i64>>> {
    match scope {
        crate::auth::Scope::All => Ok(None),
        crate::auth::Scope::Under { path } => {
            let mut ids = subtree_ids(conn, path)?;
            ids.extend(path.split('/').filter_map(|s| s.parse::<i64>().ok()));
            ids.sort_unstable();
            ids.dedup();
            Ok(Some(ids))
        }
    }
}

/// The ids of a location and everything below it, by materialised path.
pub fn subtree_ids(conn: &mut DbConn, path: &str) -> QueryResult<Vec<i64>> {
    locations::table
        .filter(locations::path.like(format!("{}%", escape_like(path))).escape('\\'))
        .select(locations::id)
        .load(conn)
}

/// The id of the first location of a kind (the central warehouse).
pub fn by_code_kind(conn: &mut DbConn, kind: &str) -> QueryResult<Option<i64>> {
    locations::table
        .filter(locations::kind.eq(kind))
        .select(locations::id)
        .order(locations::id.asc())
        .first(conn)
        .optional()
}

/// The first day not yet settled: the day after the last month finance closed (its periods
/// close in order, so every day before it is in a closed month), if any month is closed. A
/// station's tier on those days priced labour that is settled and never changes.
pub fn first_unsettled_day(conn: &mut DbConn) -> QueryResult<Option<chrono::NaiveDate>> {
    use crate::db::schema::settlement_periods;
    let last: Option<String> = settlement_periods::table
        .select(settlement_periods::period)
        .order(settlement_periods::period.desc())
        .first(conn)
        .optional()?;
    Ok(last.and_then(|p| {
        let first = chrono::NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").ok()?;
        first.checked_add_months(chrono::Months::new(1))
    }))
}
