//! Settling a period: the reconciliation against the tickets and the ledger, closing a period
//! into its snapshot, and posting adjustments (a closed period's land in the next open one).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lines::{self, Sink, Spec};
use super::rules::{self, CloseRefusal, Line, Period, PeriodState, Totals};
use super::store::{self, NewAdjustment, NewPeriod};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::reports::store::pairs;

/// The figures the lines must reconcile to, taken straight from the tickets and the ledger.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sources {
    /// tickets completed in the window (not settled before)
    pub tickets: i64,
    /// parts used on out-of-warranty tickets, or outside an in-warranty ticket's cover (a
    /// family its component-only warranty does not cover), at sale price
    pub ticket_parts_sold: i64,
    /// parts used within an in-warranty ticket's cover, at cost
    pub ticket_warranty_parts: i64,
    /// every part used on those tickets, at cost
    pub ticket_parts_cost: i64,
    /// `consume` movements out of the stations' technician custody dated in the period (the
    /// period after the first close: also those dated before that close's month)
    pub ledger_consumed_qty: i64,
    /// the same at the parts' unit cost
    pub ledger_consumed_cost: i64,
}

/// One reconciliation check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    pub name: String,
    /// from the tickets or the ledger
    pub expected: String,
    /// from the settlement lines
    pub actual: String,
    pub ok: bool,
}

/// The checks of the lines' totals against their sources.
pub fn checks(t: &Totals, s: &Sources) -> Vec<Check> {
    let money = |name: &str, expected: i64, actual: i64| Check {
        name: name.into(),
        expected: rules::money(expected),
        actual: rules::money(actual),
        ok: expected == actual,
    };
    let identity = t.labour - t.parts_sold - t.overdue_cores + t.adjustments;
    vec![
        Check {
            name: "tickets".into(),
            expected: s.tickets.to_string(),
            actual: t.tickets.to_string(),
            ok: s.tickets == t.tickets,
        },
        money("parts_sold", s.ticket_parts_sold, t.parts_sold),
        money("warranty_parts", s.ticket_warranty_parts, t.warranty_parts),
        money("parts_cost", s.ticket_parts_cost, t.parts_cost),
        money("ledger_consumption", s.ledger_consumed_cost, t.parts_cost),
        money("net_payable", identity, t.net),
    ]
}

/// The sources of a live window, for one station or all.
pub fn sources(conn: &mut DbConn, spec: &Spec, last_closed: Option<Period>) -> Result<Sources, AppError> {
    let (lower, upper) = rules::window(spec.period, last_closed);
    let station = |col: &str| spec.station.map(|s| format!(" AND {col} = {s}")).unwrap_or_default();
    let (range, times) = match lower {
        Some(l) => ("t.completed_at >= $1 AND t.completed_at < $2", vec![l, upper]),
        None => ("t.completed_at < $1", vec![upper]),
    };
    let from = format!(
        "FROM tickets t JOIN locations l ON l.id = t.station_id WHERE l.kind = 'station' AND {range}{} \
         AND NOT EXISTS (SELECT 1 FROM settled_items s WHERE s.kind = 'ticket' AND s.item_id = t.id)",
        station("t.station_id")
    );
    let mut s = Sources::default();
    let counts = pairs(
        conn,
        &format!("SELECT 'n' AS k, CAST(COUNT(*) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b {from}"),
        &times,
    )?;
    s.tickets = counts.first().map(|r| r.a).unwrap_or(0);
    let used = pairs(
        conn,
        &format!(
            // a part is free when the ticket is in warranty and its warranty covers the part: the
            // whole unit, or the one family whose longer term decided (tickets::rules::outside_cover)
            "SELECT CASE WHEN t.warranty = 'in_warranty' AND (t.warranty_covers = 'unit' \
             OR t.warranty_covers = pt.family) THEN 'in_warranty' ELSE 'out_of_warranty' END AS k, \
             CAST(COALESCE(SUM(tp.qty * tp.unit_cost_minor), 0) AS BIGINT) AS a, \
             CAST(COALESCE(SUM(tp.qty * tp.sale_price_minor), 0) AS BIGINT) AS b \
             {} GROUP BY 1",
            from.replacen(
                "FROM tickets t",
                "FROM ticket_parts tp JOIN tickets t ON t.id = tp.ticket_id JOIN parts pt ON pt.id = tp.part_id",
                1
            ) + " AND tp.kind = 'used'"
        ),
        &times,
    )?;
    for r in used {
        s.ticket_parts_cost = s.ticket_parts_cost.saturating_add(r.a);
        if r.k == "in_warranty" {
            s.ticket_warranty_parts = s.ticket_warranty_parts.saturating_add(r.a);
        } else {
            s.ticket_parts_sold = s.ticket_parts_sold.saturating_add(r.b);
        }
    }
    // the ledger's consumption for the same tickets (each consume movement names the ticket its
    // loan served), whatever month the part went in: it reconciles with their parts' cost. Each
    // (ticket, part) is valued at the cost the ticket recorded when the part was used, so that a
    // part's cost changed since (between the resolve and the core return, or before the export)
    // leaves the check ok; a quantity the ledger consumed that the ticket does not show is valued
    // at the part's cost now, and shows as the mismatch it is
    let used = |what: &str| {
        format!(
            "CAST((SELECT SUM({what}) FROM ticket_parts tp WHERE tp.ticket_id = g.ticket_id \
             AND tp.part_id = g.part_id AND tp.kind = 'used') AS BIGINT)"
        )
    };
    let (used_qty, used_cost) = (used("tp.qty"), used("tp.qty * tp.unit_cost_minor"));
    let consumed = pairs(
        conn,
        &format!(
            "SELECT 'c' AS k, CAST(COALESCE(SUM(CASE WHEN COALESCE({used_qty}, 0) > 0 \
             THEN g.qty * {used_cost} / {used_qty} ELSE g.qty * g.cost_now END), 0) AS BIGINT) AS a, \
             CAST(COALESCE(SUM(g.qty), 0) AS BIGINT) AS b FROM (SELECT m.ticket_id AS ticket_id, \
             m.part_id AS part_id, CAST(SUM(m.qty) AS BIGINT) AS qty, MAX(p.unit_cost_minor) AS cost_now {} \
             AND m.reason = 'consume' GROUP BY m.ticket_id, m.part_id) g",
            from.replacen(
                "FROM tickets t",
                "FROM stock_movements m JOIN parts p ON p.id = m.part_id JOIN tickets t ON t.id = m.ticket_id",
                1
            )
        ),
        &times,
    )?;
    if let Some(r) = consumed.first() {
        s.ledger_consumed_cost = r.a;
        s.ledger_consumed_qty = r.b;
    }
    Ok(s)
}

/// The last closed period.
pub fn last_closed(conn: &mut DbConn) -> Result<Option<Period>, AppError> {
    Ok(store::last_closed(conn)?.and_then(|p| Period::parse(&p)))
}

/// Where a period stands: open, closed, or covered by the first close after it (a month before
/// the first closed one that was never closed itself).
pub fn state(conn: &mut DbConn, p: Period) -> Result<PeriodState, AppError> {
    let period = p.to_string();
    let own = store::closed(conn, &period)?.map(|(at, by, _)| (at, by));
    let after = match own {
        Some(_) => None,
        None => store::first_closed_after(conn, &period)?
            .and_then(|(c, at, by)| Period::parse(&c).map(|c| (c, at, by))),
    };
    Ok(PeriodState::of(own, after))
}

/// Feeds the period's lines to `sink` and returns (network totals, reconciliation sources):
/// what every export runs inside one read transaction.
pub fn export(conn: &mut DbConn, spec: &Spec, sink: &mut dyn Sink) -> Result<(Totals, Sources), AppError> {
    let last = last_closed(conn)?;
    let totals = lines::feed(conn, spec, last, sink)?;
    let sources = match store::closed(conn, &spec.period.to_string())? {
        Some((_, _, json)) if spec.station.is_none() => serde_json::from_str(&json)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored reconciliation: {e}")))?,
        // a station's share of a closed period reconciles to its own snapshot lines
        Some(_) => sources_of_lines(&totals),
        // a month covered by a later close holds no lines: its items are in the period after
        // that close, which reconciles them
        None if last.is_some_and(|c| spec.period < c) => sources_of_lines(&totals),
        None => sources(conn, spec, last)?,
    };
    Ok((totals, sources))
}

/// What the snapshot says the sources were (a closed period seen by one station).
fn sources_of_lines(t: &Totals) -> Sources {
    Sources {
        tickets: t.tickets,
        ticket_parts_sold: t.parts_sold,
        ticket_warranty_parts: t.warranty_parts,
        ticket_parts_cost: t.parts_cost,
        ledger_consumed_qty: 0,
        ledger_consumed_cost: t.parts_cost,
    }
}

/// Collects lines for the snapshot.
struct Collect {
    period: Period,
    rows: Vec<store::SnapshotLine>,
    settled: Vec<(String, i64, String)>,
}

impl Sink for Collect {
    fn line(&mut self, l: &Line) -> Result<(), AppError> {
        self.rows.push(lines::to_snapshot(self.period, l));
        self.settled.push((l.kind.as_str().to_string(), l.item_id, self.period.to_string()));
        Ok(())
    }

    fn station(&mut self, _: &str, _: &str, _: &Totals) -> Result<(), AppError> {
        Ok(())
    }
}

/// What a close did.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"period": "2026-11", "closed_at": "2026-12-02T09:00:00Z", "closed_by": "finance",
    "lines": 1834, "net_payable": "-20391.40", "next_open_period": "2026-12"}))]
pub struct Closed {
    pub period: String,
    pub closed_at: chrono::DateTime<chrono::Utc>,
    pub closed_by: String,
    /// detail lines frozen in the snapshot
    pub lines: i64,
    pub net_payable: crate::money::Money,
    /// where late items and adjustments go from now on
    pub next_open_period: String,
}

/// Closes `p`: its lines go into the snapshot and their items are marked settled. Inside the
/// caller's write transaction.
pub fn close(
    conn: &mut DbConn,
    p: Period,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Closed, AppError> {
    let at = now.naive_utc();
    store::lock_periods(conn)?;
    let last = last_closed(conn)?;
    match rules::may_close(p, last, at) {
        Ok(()) => {}
        Err(CloseRefusal::AlreadyClosed) => return Err(already_closed(p, &state(conn, p)?)),
        Err(CloseRefusal::NotEnded) => {
            return Err(AppError::unprocessable(
                Problem::PeriodNotEnded,
                format!("period {p} has not ended yet: it can be closed from {}", p.end().date()),
            ))
        }
        Err(CloseRefusal::OutOfOrder(next)) => {
            return Err(AppError::conflict(
                Problem::PeriodOutOfOrder,
                format!("periods close in order: the next to close is {next}"),
            )
            .with("next_to_close", next.to_string()))
        }
    }
    let spec = Spec { period: p, station: None, now: at };
    let src = sources(conn, &spec, last)?;
    let mut sink = Collect { period: p, rows: Vec::new(), settled: Vec::new() };
    let totals = lines::feed(conn, &spec, last, &mut sink)?;
    let json = serde_json::to_string(&src).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
    let period = p.to_string();
    store::insert_period(
        conn,
        &NewPeriod {
            period: &period,
            closed_at: at,
            closed_by: by,
            lines: totals.lines,
            net_minor: totals.net,
            reconciliation: &json,
        },
    )?;
    store::insert_snapshot(conn, sink.rows, &sink.settled)?;
    let closed = Closed {
        period,
        closed_at: now,
        closed_by: by.into(),
        lines: totals.lines,
        net_payable: crate::money::Money(totals.net),
        next_open_period: p.next().to_string(),
    };
    // a month is a network-wide object: admin's and finance's subscriptions take it
    crate::events::record(
        conn,
        "period.closed",
        crate::events::Subject { kind: "period", id: period_number(p), station_id: None },
        crate::events::payloads::PeriodClosedEvent {
            period: closed.period.clone(),
            closed_by: closed.closed_by.clone(),
            lines: closed.lines,
            net_payable: closed.net_payable,
            next_open_period: closed.next_open_period.clone(),
        },
        at,
    )?;
    Ok(closed)
}

/// A month as the events name it: 2026-11 is 202611.
pub fn period_number(p: Period) -> i64 {
    p.to_string().replace('-', "").parse().unwrap_or(0)
}

/// The 409 of a period closed already, saying what its statement and files say: when and by
/// whom, and for a month covered by a later close, that close and where its items landed.
fn already_closed(p: Period, st: &PeriodState) -> AppError {
    let mut e = AppError::conflict(Problem::PeriodClosed, format!("period {p} is already {}", st.describe()))
        .with("period", p.to_string());
    if let Some(at) = st.closed_at() {
        e = e.with("closed_at", at.and_utc()).with("closed_by", st.closed_by().unwrap_or_default());
    }
    if let (Some(c), Some(l)) = (st.covered_by(), st.landed_in()) {
        e = e.with("covered_by", c.to_string()).with("landed_in", l.to_string());
    }
    e
}

/// Posts an adjustment for `requested`; returns (id, the period it landed in).
pub fn adjust(
    conn: &mut DbConn,
    station_id: i64,
    requested: Period,
    amount: i64,
    reason: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(i64, Period), AppError> {
    store::lock_periods(conn)?;
    // bounded, so that no statement's totals can pass what they are counted in
    let weight: i128 = store::unsettled_amounts(conn, station_id)?
        .into_iter()
        .chain([amount])
        .map(|a| i128::from(a).abs())
        .sum();
    if weight > i128::from(rules::MAX_UNSETTLED_ADJUSTMENTS) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "amount",
            format!(
                "the station's unsettled adjustments, without their signs, would come to more than {}; settle some first",
                rules::money(rules::MAX_UNSETTLED_ADJUSTMENTS)
            ),
        )]));
    }
    let landed = rules::landing(requested, last_closed(conn)?);
    let (req, land) = (requested.to_string(), landed.to_string());
    let id = store::insert_adjustment(
        conn,
        &NewAdjustment {
            station_id,
            requested_period: &req,
            period: &land,
            amount_minor: amount,
            reason,
            posted_by: by,
            posted_at: at,
        },
    )?;
    Ok((id, landed))
}
