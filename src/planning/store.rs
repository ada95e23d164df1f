//! Planning runs and their proposed orders in the database (the orders in multi-row INSERTs
//! on the concrete connection, see `crate::on_backend!`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::policy::PolicyKind;
use super::proposals::ProposalStatus;
use crate::db::schema::{planning_levels, planning_proposals, planning_runs};
use crate::db::DbConn;

/// Rows per multi-row INSERT, well under both engines' bind-parameter limits.
pub const CHUNK: usize = 1000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = planning_runs)]
pub struct RunRow {
    pub id: i64,
    pub policy: PolicyKind,
    pub scope_location_id: i64,
    pub target_fill_bp: Option<i32>,
    pub service_level_bp: Option<i32>,
    pub budget_minor: Option<i64>,
    pub expected_fill_bp: Option<i32>,
    pub parts: i32,
    pub locations: i32,
    pub target_value_minor: i64,
    pub transfers: i32,
    pub purchases: i32,
    pub lines: i32,
    pub proposed_value_minor: i64,
    pub duration_ms: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// the run's figures per echelon and tier (`review::Figures` as JSON); none before issue 25
    pub figures: Option<String>,
}

/// Inserts a run (its id is ignored and assigned); returns the id.
pub fn insert_run(conn: &mut DbConn, r: &RunRow) -> QueryResult<i64> {
    diesel::insert_into(planning_runs::table)
        .values((
            planning_runs::policy.eq(r.policy.as_str()),
            planning_runs::scope_location_id.eq(r.scope_location_id),
            planning_runs::target_fill_bp.eq(r.target_fill_bp),
            planning_runs::service_level_bp.eq(r.service_level_bp),
            planning_runs::budget_minor.eq(r.budget_minor),
            planning_runs::expected_fill_bp.eq(r.expected_fill_bp),
            planning_runs::parts.eq(r.parts),
            planning_runs::locations.eq(r.locations),
            planning_runs::target_value_minor.eq(r.target_value_minor),
            planning_runs::transfers.eq(r.transfers),
            planning_runs::purchases.eq(r.purchases),
            planning_runs::lines.eq(r.lines),
            planning_runs::proposed_value_minor.eq(r.proposed_value_minor),
            planning_runs::duration_ms.eq(r.duration_ms),
            planning_runs::created_by.eq(&r.created_by),
            planning_runs::created_at.eq(r.created_at),
            planning_runs::figures.eq(&r.figures),
        ))
        .returning(planning_runs::id)
        .get_result(conn)
}

/// The run's time and its figures, once its proposals and levels are written.
pub fn finish_run(conn: &mut DbConn, id: i64, ms: i64, figures: Option<&str>) -> QueryResult<()> {
    diesel::update(planning_runs::table.find(id))
        .set((planning_runs::duration_ms.eq(ms), planning_runs::figures.eq(figures)))
        .execute(conn)
        .map(|_| ())
}

pub fn run(conn: &mut DbConn, id: i64) -> QueryResult<Option<RunRow>> {
    planning_runs::table.find(id).select(RunRow::as_select()).first(conn).optional()
}

/// One part's levels of a run (`review::Entry` as a JSON array of arrays).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = planning_levels)]
pub struct LevelsRow {
    pub run_id: i64,
    pub part_id: i64,
    pub entries: i32,
    pub levels: String,
}

/// Writes a run's levels, many parts to a statement.
pub fn insert_levels(conn: &mut DbConn, rows: &[LevelsRow]) -> QueryResult<()> {
    // long rows (a part's every location): chunks of a modest statement size
    for chunk in rows.chunks(100) {
        crate::on_backend!(conn, |c| diesel::insert_into(planning_levels::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// A run's levels rows in part order: the part `only` if given, else from part id `from` on
/// (inclusive), at most `limit` rows.
pub fn levels(
    conn: &mut DbConn,
    run_id: i64,
    only: Option<i64>,
    from: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<LevelsRow>> {
    use planning_levels::dsl as l;
    let mut q =
        planning_levels::table.filter(l::run_id.eq(run_id)).select(LevelsRow::as_select()).into_boxed();
    if let Some(p) = only {
        q = q.filter(l::part_id.eq(p));
    }
    if let Some(p) = from {
        q = q.filter(l::part_id.ge(p));
    }
    q.order(l::part_id.asc()).limit(limit).load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = planning_proposals)]
pub struct ProposalRow {
    pub id: i64,
    pub run_id: i64,
    pub kind: String,
    pub source_id: i64,
    pub destination_id: i64,
    pub lines: String,
    pub line_count: i32,
    pub units: i64,
    pub value_minor: i64,
    pub status: ProposalStatus,
    pub released_by: Option<String>,
    pub released_at: Option<NaiveDateTime>,
    pub reference: Option<String>,
    pub created_at: NaiveDateTime,
}

/// One line of an order: a part, how many, and the destination's planned levels and stock
/// position when planned. Stored as `[part_id, qty, reorder_point, order_up_to, position]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line(pub i64, pub i64, pub i64, pub i64, pub i64);

impl Line {
    pub fn part_id(&self) -> i64 {
        self.0
    }
    pub fn qty(&self) -> i64 {
        self.1
    }
}

impl ProposalRow {
    pub fn lines(&self) -> Vec<Line> {
        serde_json::from_str(&self.lines).unwrap_or_default()
    }
}

/// The text a part's line starts with in `lines`, for the part filter.
fn line_key(part_id: i64) -> String {
    format!("%[{part_id},%")
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = planning_proposals)]
pub struct NewProposal {
    pub run_id: i64,
    pub kind: &'static str,
    pub source_id: i64,
    pub destination_id: i64,
    pub lines: String,
    pub line_count: i32,
    pub units: i64,
    pub value_minor: i64,
    pub status: &'static str,
    pub created_at: NaiveDateTime,
}

pub fn insert_proposals(conn: &mut DbConn, rows: &[NewProposal]) -> QueryResult<()> {
    // few rows, but long ones: small chunks keep each statement modest
    for chunk in rows.chunks(50) {
        crate::on_backend!(conn, |c| diesel::insert_into(planning_proposals::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Open proposals of earlier runs for these destinations give way to a new run's.
pub fn supersede(conn: &mut DbConn, destinations: &[i64], before_run: i64) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in destinations.chunks(CHUNK) {
        n += diesel::update(
            planning_proposals::table
                .filter(planning_proposals::status.eq("proposed"))
                .filter(planning_proposals::run_id.lt(before_run))
                .filter(planning_proposals::destination_id.eq_any(chunk)),
        )
        .set(planning_proposals::status.eq("superseded"))
        .execute(conn)?;
    }
    Ok(n)
}

pub fn proposal(conn: &mut DbConn, id: i64) -> QueryResult<Option<ProposalRow>> {
    planning_proposals::table.find(id).select(ProposalRow::as_select()).first(conn).optional()
}

#[derive(Debug, Default)]
pub struct ProposalFilter {
    pub run_id: Option<i64>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub part_id: Option<i64>,
    pub source_id: Option<i64>,
    pub destination_id: Option<i64>,
    /// scoped callers: source or destination among these
    pub within: Option<Vec<i64>>,
}

/// Proposals in id order after `after`.
pub fn proposals(
    conn: &mut DbConn,
    f: &ProposalFilter,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ProposalRow>> {
    use planning_proposals::dsl as p;
    let mut q = planning_proposals::table.select(ProposalRow::as_select()).into_boxed();
    if let Some(r) = f.run_id {
        q = q.filter(p::run_id.eq(r));
    }
    if let Some(k) = &f.kind {
        q = q.filter(p::kind.eq(k.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(p::status.eq(s.clone()));
    }
    if let Some(x) = f.part_id {
        q = q.filter(p::lines.like(line_key(x)));
    }
    if let Some(x) = f.source_id {
        q = q.filter(p::source_id.eq(x));
    }
    if let Some(x) = f.destination_id {
        q = q.filter(p::destination_id.eq(x));
    }
    if let Some(ids) = &f.within {
        q = q.filter(p::source_id.eq_any(ids.clone()).or(p::destination_id.eq_any(ids.clone())));
    }
    if let Some(a) = after {
        q = q.filter(p::id.gt(a));
    }
    q.order(p::id.asc()).limit(limit).load(conn)
}

/// Marks a proposal released, if it still is proposed; false when another got there first.
pub fn mark_released(
    conn: &mut DbConn,
    id: i64,
    by: &str,
    at: NaiveDateTime,
    reference: &str,
) -> QueryResult<bool> {
    let n =
        diesel::update(planning_proposals::table.find(id).filter(planning_proposals::status.eq("proposed")))
            .set((
                planning_proposals::status.eq("released"),
                planning_proposals::released_by.eq(by),
                planning_proposals::released_at.eq(at),
                planning_proposals::reference.eq(reference),
            ))
            .execute(conn)?;
    Ok(n == 1)
}
