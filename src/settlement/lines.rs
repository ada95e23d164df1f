//! The detail lines of a period, produced station by station in keyset chunks so that an
//! export of the whole network holds one chunk in memory: live from the tickets, loans and
//! adjustments for an open period, from the snapshot for a closed one.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::rules::{self, Line, LineKind, Period, Totals};
use super::store::{self, SnapshotLine, Station};
use crate::db::DbConn;
use crate::error::AppError;

/// Stations per chunk.
const CHUNK: i64 = 100;
/// Snapshot lines per read.
const SNAPSHOT_CHUNK: i64 = 2_000;

/// What to settle.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub period: Period,
    pub station: Option<i64>,
    pub now: NaiveDateTime,
}

/// Receives the lines of each station in turn, then the station's totals.
pub trait Sink {
    fn line(&mut self, l: &Line) -> Result<(), AppError>;
    fn station(&mut self, code: &str, name: &str, totals: &Totals) -> Result<(), AppError>;
}

/// Feeds every line of the period to `sink`; returns the network totals.
pub fn feed(
    conn: &mut DbConn,
    spec: &Spec,
    last_closed: Option<Period>,
    sink: &mut dyn Sink,
) -> Result<Totals, AppError> {
    let mut total = Totals::default();
    if last_closed.is_some_and(|c| spec.period <= c) {
        feed_snapshot(conn, spec, sink, &mut total)?;
    } else {
        feed_live(conn, spec, last_closed, sink, &mut total)?;
    }
    Ok(total)
}

fn feed_snapshot(
    conn: &mut DbConn,
    spec: &Spec,
    sink: &mut dyn Sink,
    total: &mut Totals,
) -> Result<(), AppError> {
    let period = spec.period.to_string();
    let mut after = 0;
    let mut current: Option<(String, String, Totals)> = None;
    // station names (as they are now; the snapshot keeps codes), looked up as stations appear
    let mut names: HashMap<i64, String> = HashMap::new();
    loop {
        let rows = store::snapshot_after(conn, &period, spec.station, after, SNAPSHOT_CHUNK)?;
        let Some((last, _)) = rows.last() else { break };
        after = *last;
        let unnamed: Vec<i64> =
            rows.iter().map(|(_, s)| s.station_id).filter(|i| !names.contains_key(i)).collect();
        if !unnamed.is_empty() {
            names.extend(store::names(conn, &unnamed)?);
        }
        // what each adjustment was asked and posted for (the snapshot keeps its reference)
        let adjustment_ids: Vec<i64> = rows
            .iter()
            .filter(|(_, s)| s.kind == LineKind::Adjustment)
            .filter_map(|(_, s)| adjustment_id(&s.reference))
            .collect();
        let posted = store::adjustments_posted(conn, &adjustment_ids)?;
        for (id, s) in rows {
            let name = names.get(&s.station_id).cloned().unwrap_or_default();
            let mut line = from_snapshot(id, s, name);
            if let Some((asked, at)) = adjustment_id(&line.reference).and_then(|a| posted.get(&a)) {
                line.adjusts = Some(asked.clone());
                line.posted_on = Some(at.date());
            }
            if current.as_ref().is_some_and(|(code, _, _)| *code != line.station_code) {
                if let Some((code, name, t)) = current.take() {
                    sink.station(&code, &name, &t)?;
                    total.merge(&t);
                }
            }
            let entry = current.get_or_insert_with(|| {
                (line.station_code.clone(), line.station_name.clone(), Totals::default())
            });
            entry.2.add(&line);
            sink.line(&line)?;
        }
    }
    if let Some((code, name, t)) = current {
        sink.station(&code, &name, &t)?;
        total.merge(&t);
    }
    Ok(())
}

/// The adjustment's id in a line's reference `adjustment:ID`.
fn adjustment_id(reference: &str) -> Option<i64> {
    reference.strip_prefix("adjustment:")?.parse().ok()
}

fn from_snapshot(id: i64, s: SnapshotLine, station_name: String) -> Line {
    Line {
        station_id: s.station_id,
        station_code: s.station_code,
        station_name,
        kind: s.kind,
        item_id: id,
        date: s.item_date,
        reference: s.reference,
        tier: s.tier,
        job_type: s.job_type,
        warranty: s.warranty,
        parts_qty: s.parts_qty,
        labour: s.labour_minor,
        parts_sold: s.parts_sold_minor,
        warranty_parts: s.warranty_parts_minor,
        parts_cost: s.parts_cost_minor,
        overdue_cores: s.overdue_cores_minor,
        adjustments: s.adjustments_minor,
        note: s.note,
        adjusts: None,
        posted_on: None,
    }
}

/// The snapshot row of a live line.
pub fn to_snapshot(period: Period, l: &Line) -> SnapshotLine {
    SnapshotLine {
        period: period.to_string(),
        station_id: l.station_id,
        station_code: l.station_code.clone(),
        kind: l.kind,
        item_date: l.date,
        reference: l.reference.clone(),
        tier: l.tier.clone(),
        job_type: l.job_type.clone(),
        warranty: l.warranty.clone(),
        parts_qty: l.parts_qty,
        labour_minor: l.labour,
        parts_sold_minor: l.parts_sold,
        warranty_parts_minor: l.warranty_parts,
        parts_cost_minor: l.parts_cost,
        overdue_cores_minor: l.overdue_cores,
        adjustments_minor: l.adjustments,
        note: l.note.clone(),
    }
}

fn feed_live(
    conn: &mut DbConn,
    spec: &Spec,
    last_closed: Option<Period>,
    sink: &mut dyn Sink,
    total: &mut Totals,
) -> Result<(), AppError> {
    let rates = store::labour_rates(conn)?;
    let max_days = store::max_core_return_days(conn)?;
    let mut after: Option<String> = None;
    loop {
        let chunk = store::stations(conn, after.as_deref(), spec.station, CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = Some(last.1.clone());
        let mut by_station = chunk_lines(conn, spec, last_closed, &chunk, &rates, max_days)?;
        for (id, code, name, _) in &chunk {
            let Some(mut lines) = by_station.remove(id) else { continue };
            lines.sort_by_key(|l| (l.date, l.kind, l.item_id));
            let mut t = Totals::default();
            for l in &lines {
                t.add(l);
                sink.line(l)?;
            }
            sink.station(code, name, &t)?;
            total.merge(&t);
        }
        if spec.station.is_some() || (chunk.len() as i64) < CHUNK {
            break;
        }
    }
    Ok(())
}

/// The lines of a chunk of stations, by station.
fn chunk_lines(
    conn: &mut DbConn,
    spec: &Spec,
    last_closed: Option<Period>,
    chunk: &[Station],
    rates: &HashMap<(String, String), i64>,
    max_days: i32,
) -> Result<HashMap<i64, Vec<Line>>, AppError> {
    let p = spec.period;
    let (lower, upper) = rules::window(p, last_closed);
    let ids: Vec<i64> = chunk.iter().map(|s| s.0).collect();
    let codes: HashMap<i64, (&str, Option<&str>, &str)> = chunk
        .iter()
        .map(|(id, code, name, tier)| (*id, (code.as_str(), tier.as_deref(), name.as_str())))
        .collect();
    let history = store::tier_history(conn, &ids)?;
    let mut out: HashMap<i64, Vec<Line>> = HashMap::new();
    let base =
        |station: i64, kind: LineKind, item_id: i64, date: chrono::NaiveDate, reference: String| Line {
            station_id: station,
            station_code: codes.get(&station).map(|c| c.0).unwrap_or_default().to_string(),
            station_name: codes.get(&station).map(|c| c.2).unwrap_or_default().to_string(),
            kind,
            item_id,
            date,
            reference,
            tier: None,
            job_type: None,
            warranty: None,
            parts_qty: 0,
            labour: 0,
            parts_sold: 0,
            warranty_parts: 0,
            parts_cost: 0,
            overdue_cores: 0,
            adjustments: 0,
            note: None,
            adjusts: None,
            posted_on: None,
        };
    let late = |date: chrono::NaiveDate| -> Option<String> {
        let own = Period::of(date);
        (own < p).then(|| format!("late: dated in closed period {own}"))
    };

    let parts = store::parts_used(conn, &ids, lower, upper)?;
    for (id, station, completed, job_type, warranty) in store::tickets(conn, &ids, lower, upper)? {
        let date = completed.date();
        let tier = history
            .get(&station)
            .and_then(|h| rules::tier_on(h, date))
            .or_else(|| codes.get(&station).and_then(|c| c.1))
            .map(str::to_string);
        let in_warranty = warranty == "in_warranty";
        let rate = match (&tier, &job_type) {
            (Some(t), Some(j)) => rates.get(&(t.clone(), j.clone())).copied(),
            _ => None,
        };
        let used = parts.get(&id).copied().unwrap_or_default();
        let (qty, cost) = (used.qty, used.cost);
        let f = rules::ticket_figures(in_warranty, rate, &used);
        let mut l = base(station, LineKind::Ticket, id, date, format!("ticket:{id}"));
        l.note = late(date);
        if in_warranty && job_type.is_some() && rate.is_none() {
            l.note = Some("no labour rate for the tier and job type".into());
        }
        l.tier = tier;
        l.job_type = job_type;
        l.warranty = Some(warranty);
        l.parts_qty = qty;
        l.labour = f.labour;
        l.parts_sold = f.parts_sold;
        l.warranty_parts = f.warranty_parts;
        l.parts_cost = cost;
        out.entry(station).or_default().push(l);
    }

    let cores = store::core_lines(conn, &ids, lower, upper, max_days)?;
    let line_ids: Vec<i64> = cores.iter().map(|c| c.line_id).collect();
    let charged = store::settled(conn, LineKind::CoreCharge.as_str(), &line_ids)?;
    let credited = store::settled(conn, LineKind::CoreCredit.as_str(), &line_ids)?;
    let in_window = |at: NaiveDateTime| lower.is_none_or(|l| at >= l) && at < upper;
    for c in cores {
        let (charge, credit) = rules::core_events(c.lent_at, c.core_return_days, c.reconciled_at, spec.now);
        let value = c.qty.saturating_mul(c.unit_cost);
        let reference = format!("loan:{}/{}", c.loan_id, c.line_no);
        let events = [
            (charge, LineKind::CoreCharge, &charged, value),
            (credit, LineKind::CoreCredit, &credited, -value),
        ];
        for (at, kind, done, amount) in events {
            let Some(at) = at.filter(|a| in_window(*a)) else { continue };
            if done.contains(&c.line_id) {
                continue;
            }
            let date = at.date();
            let mut l = base(c.station_id, kind, c.line_id, date, reference.clone());
            l.parts_qty = c.qty;
            l.overdue_cores = amount;
            let what = if kind == LineKind::CoreCharge { "overdue core" } else { "core returned" };
            l.note = Some(match late(date) {
                Some(n) => format!("{what} {} x{}; {n}", c.part_code, c.qty),
                None => format!("{what} {} x{}", c.part_code, c.qty),
            });
            out.entry(c.station_id).or_default().push(l);
        }
    }

    let lower_p = lower.map(|_| p.to_string());
    for (id, station, requested, amount, reason, posted) in
        store::adjustments(conn, &ids, lower_p, p.next().to_string())?
    {
        let mut l = base(station, LineKind::Adjustment, id, posted.date(), format!("adjustment:{id}"));
        l.adjustments = amount;
        l.posted_on = Some(posted.date());
        l.adjusts = Some(requested.clone());
        l.note =
            Some(if requested == p.to_string() { reason } else { format!("{reason} (for {requested})") });
        out.entry(station).or_default().push(l);
    }
    Ok(out)
}
