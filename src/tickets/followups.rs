//! Follow-up calls (the service procedure's "Happycall"): within 7 days of completion a random
//! 5-10% of completed tickets is drawn into call tasks; the results (satisfaction, the
//! technician's conduct, whether the fee was reasonable) feed each station's scorecard and a
//! monthly statistic.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::words;
use super::sla::{self, Clocks, Deadlines};
use crate::db::schema::{follow_ups, tickets};
use crate::db::DbConn;
use crate::error::{AppError, Problem};

words!(
    /// How the technician behaved, as the customer tells it.
    Conduct { Good = "good", Acceptable = "acceptable", Poor = "poor" }
);

words!(
    FollowUpStatus { Pending = "pending", Done = "done" }
);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = follow_ups)]
pub struct FollowUpRow {
    pub id: i64,
    pub ticket_id: i64,
    pub station_id: Option<i64>,
    pub technician_id: Option<i64>,
    pub completed_at: NaiveDateTime,
    pub due_by: NaiveDateTime,
    pub status: FollowUpStatus,
    pub satisfaction: Option<i32>,
    pub technician_conduct: Option<Conduct>,
    pub fee_reasonable: Option<bool>,
    pub note: Option<String>,
    pub sampled_by: String,
    pub sampled_at: NaiveDateTime,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<NaiveDateTime>,
}

/// What a sampling run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sampled {
    /// completed tickets of the last 7 days not considered by an earlier run
    pub considered: usize,
    /// the follow-up tasks created, by id
    pub created: Vec<i64>,
}

/// A completed ticket waiting to be considered: (id, station, technician, completed at).
type PoolRow = (i64, Option<i64>, Option<i64>, Option<NaiveDateTime>);

/// What a call found: (satisfaction, technician conduct, fee reasonable).
pub type Answer = (Option<i32>, Option<String>, Option<bool>);

/// Rows per `IN (...)` list: under every engine's bind-parameter limit.
const CHUNK: usize = 500;

/// Draws the follow-up sample: of the tickets completed in the 7 days up to `now` that no run
/// has considered yet, `share_bp` basis points (rounded up, at least one) picked at random
/// (`seed` makes the draw repeatable). Every ticket considered is marked, so running daily
/// samples each completed ticket once.
pub fn sample(
    conn: &mut DbConn,
    share_bp: u32,
    seed: Option<u64>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Sampled, AppError> {
    let at = now.naive_utc();
    let since = at - sla::follow_up_window();
    let pool: Vec<PoolRow> = tickets::table
        .filter(tickets::completed_at.ge(since))
        .filter(tickets::completed_at.le(at))
        .filter(tickets::followup_sampled_at.is_null())
        .select((tickets::id, tickets::station_id, tickets::technician_id, tickets::completed_at))
        .order(tickets::id.asc())
        .load(conn)?;
    let ids: Vec<i64> = pool.iter().map(|p| p.0).collect();
    let mut marked = 0;
    for chunk in ids.chunks(CHUNK) {
        marked += diesel::update(
            tickets::table.filter(tickets::id.eq_any(chunk)).filter(tickets::followup_sampled_at.is_null()),
        )
        .set(tickets::followup_sampled_at.eq(at))
        .execute(conn)?;
    }
    if marked != pool.len() {
        // a concurrent run took some of them: run again on what is left
        return Err(AppError::retry_transaction());
    }
    let n = sla::sample_size(pool.len(), share_bp);
    let mut rng = match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => rand::make_rng(),
    };
    let mut picked = rand::seq::index::sample(&mut rng, pool.len(), n).into_vec();
    picked.sort_unstable();
    let mut created = Vec::with_capacity(n);
    for i in picked {
        let (ticket_id, station_id, technician_id, completed_at) = pool[i];
        let completed_at = completed_at.unwrap_or(at);
        let id: i64 = diesel::insert_into(follow_ups::table)
            .values((
                follow_ups::ticket_id.eq(ticket_id),
                follow_ups::station_id.eq(station_id),
                follow_ups::technician_id.eq(technician_id),
                follow_ups::completed_at.eq(completed_at),
                follow_ups::due_by.eq(completed_at + sla::follow_up_window()),
                follow_ups::status.eq(FollowUpStatus::Pending.as_str()),
                follow_ups::sampled_by.eq(actor),
                follow_ups::sampled_at.eq(at),
            ))
            .returning(follow_ups::id)
            .get_result(conn)?;
        created.push(id);
    }
    Ok(Sampled { considered: pool.len(), created })
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<FollowUpRow>> {
    follow_ups::table.find(id).select(FollowUpRow::as_select()).first(conn).optional()
}

pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<FollowUpRow>> {
    follow_ups::table
        .filter(follow_ups::id.eq_any(ids))
        .select(FollowUpRow::as_select())
        .order(follow_ups::id.asc())
        .load(conn)
}

#[derive(Debug, Clone, Default)]
pub struct FollowUpFilter {
    pub status: Option<FollowUpStatus>,
    pub station_id: Option<i64>,
}

/// Newest first, before `before`.
pub fn list(
    conn: &mut DbConn,
    f: &FollowUpFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<FollowUpRow>> {
    let mut q = follow_ups::table.select(FollowUpRow::as_select()).into_boxed();
    if let Some(s) = f.status {
        q = q.filter(follow_ups::status.eq(s.as_str()));
    }
    if let Some(st) = f.station_id {
        q = q.filter(follow_ups::station_id.eq(st));
    }
    if let Some(b) = before {
        q = q.filter(follow_ups::id.lt(b));
    }
    q.order(follow_ups::id.desc()).limit(limit).load(conn)
}

/// What the customer said on the call.
#[derive(Debug, Clone)]
pub struct CallResult {
    pub satisfaction: i32,
    pub conduct: Conduct,
    pub fee_reasonable: Option<bool>,
    pub note: Option<String>,
}

/// Records a call's result, once (409 `already_recorded` after that).
pub fn record(
    conn: &mut DbConn,
    id: i64,
    result: &CallResult,
    by: &str,
    now: DateTime<Utc>,
) -> Result<FollowUpRow, AppError> {
    let row = by_id(conn, id)?.ok_or_else(|| AppError::not_found(format!("follow-up {id} not found")))?;
    if row.status != FollowUpStatus::Pending {
        return Err(AppError::conflict(
            Problem::AlreadyRecorded,
            format!(
                "follow-up {id} already has its result (recorded by {})",
                row.recorded_by.unwrap_or_default()
            ),
        )
        .with("current_status", row.status));
    }
    let target = follow_ups::table.filter(follow_ups::id.eq(id)).filter(follow_ups::status.eq("pending"));
    let n = diesel::update(target)
        .set((
            follow_ups::status.eq(FollowUpStatus::Done.as_str()),
            follow_ups::satisfaction.eq(result.satisfaction),
            follow_ups::technician_conduct.eq(result.conduct.as_str()),
            follow_ups::fee_reasonable.eq(result.fee_reasonable),
            follow_ups::note.eq(result.note.as_deref()),
            follow_ups::recorded_by.eq(by),
            follow_ups::recorded_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    if n != 1 {
        return Err(AppError::retry_transaction());
    }
    by_id(conn, id)?.ok_or_else(|| AppError::not_found(format!("follow-up {id} not found")))
}

/// `num / den` rounded to four places, or `None` without a denominator.
fn share(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| (num as f64 / den as f64 * 10_000.0).round() / 10_000.0)
}

/// What the calls said, summed up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CallSummary {
    /// results recorded
    pub results: usize,
    /// mean satisfaction (1-5), two places
    pub average_satisfaction: Option<f64>,
    /// share of results with poor technician conduct
    pub poor_conduct_share: Option<f64>,
    /// share of results that called the fee reasonable, among those with a fee
    pub fee_reasonable_share: Option<f64>,
    /// results per conduct
    pub conduct: BTreeMap<String, usize>,
}

/// Sums up the answers of calls.
pub fn summarise(results: &[Answer]) -> CallSummary {
    let sats: Vec<i32> = results.iter().filter_map(|r| r.0).collect();
    let mut conduct: BTreeMap<String, usize> =
        Conduct::ALL.iter().map(|c| (c.as_str().to_string(), 0)).collect();
    for c in results.iter().filter_map(|r| r.1.as_ref()) {
        *conduct.entry(c.clone()).or_default() += 1;
    }
    let fees: Vec<bool> = results.iter().filter_map(|r| r.2).collect();
    CallSummary {
        results: results.len(),
        average_satisfaction: (!sats.is_empty())
            .then(|| (f64::from(sats.iter().sum::<i32>()) / sats.len() as f64 * 100.0).round() / 100.0),
        poor_conduct_share: share(conduct.get("poor").copied().unwrap_or(0), results.len()),
        fee_reasonable_share: share(fees.iter().filter(|f| **f).count(), fees.len()),
        conduct,
    }
}

/// A period `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Results of a station's calls on tickets completed in the period.
pub fn station_results(conn: &mut DbConn, station_id: i64, period: Period) -> QueryResult<Vec<Answer>> {
    let mut q = follow_ups::table
        .filter(follow_ups::station_id.eq(station_id))
        .filter(follow_ups::status.eq(FollowUpStatus::Done.as_str()))
        .select((follow_ups::satisfaction, follow_ups::technician_conduct, follow_ups::fee_reasonable))
        .into_boxed();
    if let Some(from) = period.from {
        q = q.filter(follow_ups::completed_at.ge(from));
    }
    if let Some(to) = period.to {
        q = q.filter(follow_ups::completed_at.lt(to));
    }
    q.load(conn)
}

/// How a station kept its time limits, over the tickets taken in during the period:
/// (tickets, those whose outcome is decided, of them kept).
pub fn station_sla(
    conn: &mut DbConn,
    station_id: i64,
    period: Period,
    now: NaiveDateTime,
) -> QueryResult<(usize, usize, usize)> {
    type Times = (
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let mut q = tickets::table
        .filter(tickets::station_id.eq(station_id))
        .select((
            tickets::respond_by,
            tickets::resolve_by,
            tickets::decide_by,
            tickets::responded_at,
            tickets::resolved_at,
            tickets::completed_at,
        ))
        .into_boxed();
    if let Some(from) = period.from {
        q = q.filter(tickets::created_at.ge(from));
    }
    if let Some(to) = period.to {
        q = q.filter(tickets::created_at.lt(to));
    }
    let rows: Vec<Times> = q.load(conn)?;
    let mut decided = 0;
    let mut kept = 0;
    for (respond_by, resolve_by, decide_by, responded_at, resolved_at, completed_at) in &rows {
        let clocks = Clocks {
            deadlines: Deadlines { respond_by: *respond_by, resolve_by: *resolve_by, decide_by: *decide_by },
            responded_at: *responded_at,
            resolved_at: *resolved_at,
            completed_at: *completed_at,
        };
        if let Some(ok) = clocks.compliance(now) {
            decided += 1;
            kept += usize::from(ok);
        }
    }
    Ok((rows.len(), decided, kept))
}

/// The station's share of decided tickets that kept their time limits.
pub fn compliance_share(decided: usize, kept: usize) -> Option<f64> {
    share(kept, decided)
}

/// Tickets completed in `[from, to)`, and the follow-ups drawn for them with their results:
/// (station id, satisfaction, conduct, fee reasonable, status).
pub type MonthRow = (Option<i64>, Option<i32>, Option<String>, Option<bool>, String);

pub fn month(conn: &mut DbConn, from: NaiveDateTime, to: NaiveDateTime) -> QueryResult<(i64, Vec<MonthRow>)> {
    let completed: i64 = tickets::table
        .filter(tickets::completed_at.ge(from))
        .filter(tickets::completed_at.lt(to))
        .count()
        .get_result(conn)?;
    let rows = follow_ups::table
        .filter(follow_ups::completed_at.ge(from))
        .filter(follow_ups::completed_at.lt(to))
        .select((
            follow_ups::station_id,
            follow_ups::satisfaction,
            follow_ups::technician_conduct,
            follow_ups::fee_reasonable,
            follow_ups::status,
        ))
        .load(conn)?;
    Ok((completed, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_states_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<FollowUpStatus>();
        crate::db::text::assert_stored_as_text::<Conduct>();
    }

    #[test]
    fn a_summary_averages_and_shares() {
        let r = |s, c: &str, f| (Some(s), Some(c.to_string()), f);
        let sum = summarise(&[r(5, "good", Some(true)), r(4, "good", None), r(2, "poor", Some(false))]);
        assert_eq!(sum.results, 3);
        assert_eq!(sum.average_satisfaction, Some(3.67));
        assert_eq!(sum.poor_conduct_share, Some(0.3333));
        assert_eq!(sum.fee_reasonable_share, Some(0.5));
        assert_eq!(sum.conduct["good"], 2);
        assert_eq!(sum.conduct["acceptable"], 0);
        let none = summarise(&[]);
        assert_eq!((none.average_satisfaction, none.poor_conduct_share), (None, None));
    }
}
