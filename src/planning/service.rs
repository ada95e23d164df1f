//! A planning run against the database (the API's `POST /planning/runs` and
//! `echelon replenish`), and the release of one proposal into the ledger. Both run inside the
//! caller's write transaction.
//!
//! A run plans the whole tree (a centre's demand is its stations'), then proposes only within
//! its scope, bottom-up: each station whose available stock has fallen to its reorder point
//! gets a line on a transfer order from its centre, up to its order-up-to level; each centre,
//! after those transfers leave it, a line on a transfer order from the central warehouse the
//! same way; the warehouse, after its transfers, a line on a purchase order (one per product
//! line). A proposal is one order: one per source and destination. Proposals of earlier runs
//! still open for the same destinations are superseded.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::net::Level;
pub use super::policy::PolicyKind;
use super::policy::{self, Target};
use super::proposals::ProposalStatus;
use super::review::{self, Figures, PartPlan};
use super::store::{self, LevelsRow, Line, NewProposal, ProposalRow, RunRow};
use crate::auth::{Caller, Scope};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::rules::Reason;
use crate::ledger::store::{self as ledger, Move};
use crate::network::rules::LocationKind;
use crate::network::store::{self as network, LocationRow};
use crate::requests::BackorderFill;

/// What a run aims at.
#[derive(Debug, Clone, Copy)]
pub struct RunParams {
    pub policy: PolicyKind,
    pub target_fill: f64,
    pub budget_minor: Option<i64>,
    pub service_level: f64,
    pub min_annual: f64,
    /// plan with the variance of the demand estimate (multi-echelon; default off)
    pub forecast_error: bool,
}

/// An order's grouping: its kind, source, destination and (purchases) product line.
type Key = (&'static str, i64, i64, String);

/// An order being built: its lines as the JSON text stored with it (`[line,line,...]`, each
/// line as `Line` serializes), appended one at a time, and their totals.
#[derive(Default)]
struct OrderText {
    json: Vec<u8>,
    lines: i32,
    units: i64,
    value_minor: i64,
}

impl OrderText {
    fn push(&mut self, line: Line, unit_cost_minor: i64) {
        self.json.push(if self.lines == 0 { b'[' } else { b',' });
        serde_json::to_writer(&mut self.json, &line).expect("a line of numbers serializes");
        self.lines += 1;
        self.units += line.qty();
        self.value_minor += line.qty() * unit_cost_minor;
    }

    fn finish(mut self) -> String {
        if self.lines == 0 {
            self.json.push(b'[');
        }
        self.json.push(b']');
        String::from_utf8(self.json).expect("serde_json writes UTF-8")
    }
}

fn bp(x: f64) -> i32 {
    (x * 10_000.0).round() as i32
}

/// Plans the network and writes the run and its proposals for the subtree of `scope`.
pub fn run(
    conn: &mut DbConn,
    scope: &LocationRow,
    params: RunParams,
    actor: &str,
    now: DateTime<Utc>,
    progress: &dyn policy::Progress,
) -> Result<RunRow, AppError> {
    let started = Instant::now();
    let loaded = super::inputs::load_net(conn)?.ok_or_else(|| {
        AppError::unprocessable(Problem::NoNetwork, "the network has no central warehouse to plan")
    })?;
    let net = &loaded.net;
    let inputs = super::inputs::demand_inputs(conn, &loaded, now.date_naive())?;
    let loaded_ms = started.elapsed().as_millis();
    // what each rate was made of is not held while the network is planned: each part's is
    // made again when its levels are written
    let estimator = super::demand::Estimator::new(net, &inputs);
    let forecast_error = params.forecast_error && params.policy == PolicyKind::MultiEchelon;
    let mut rates = estimator.rates();
    if forecast_error {
        rates.var = estimator.variances();
    }
    let (causal_cv2, exposure_days) = (estimator.causal_cv2, estimator.exposure_days);
    let plan = match params.policy {
        PolicyKind::MultiEchelon => policy::multi_echelon(
            net,
            &rates,
            Target {
                fill: params.budget_minor.is_none().then_some(params.target_fill),
                budget_minor: params.budget_minor,
            },
            progress,
        ),
        PolicyKind::Baseline => policy::baseline(net, &rates, params.service_level, params.min_annual),
    };
    let planned_ms = started.elapsed().as_millis();
    let stock = super::inputs::stock(conn, &loaded)?;
    let on_order = super::inputs::on_order(conn, &loaded)?;
    let mut owed: HashMap<u32, Vec<(u32, i64)>> = HashMap::new();
    for ((p, n), q) in super::inputs::owed(conn, &loaded)? {
        owed.entry(p).or_default().push((n, q));
    }
    let covered: Vec<bool> = loaded.paths.iter().map(|p| p.starts_with(&scope.path)).collect();
    let supplier = ledger::virtual_place(conn, LocationKind::Supplier)?;
    let at = now.naive_utc();
    // bottom-up needs per part, in parallel; lines only where the scope covers the source
    let part_lines = |p: usize| -> Vec<(Key, Line, i64)> {
        // the stock position: available, and what is on its way to a station
        let avail = |n: u32| {
            stock.get(&(p as u32, n)).map(|s| s.1).unwrap_or(0)
                + on_order.get(&(p as u32, n)).copied().unwrap_or(0)
        };
        let levels: HashMap<u32, Level> = plan.levels[p].iter().map(|l| (l.node, *l)).collect();
        let get = |n: u32| levels.get(&n).copied().unwrap_or(Level { node: n, reorder: -1, up_to: 0 });
        let part = &net.parts[p];
        let mut out = Vec::new();
        let mut emit = |kind: &'static str, from: i64, to: u32, qty: i64, l: Level, pos: i64| {
            // purchase orders one per product line (the code's first two letters)
            let group = if kind == "purchase" { part.code.chars().take(2).collect() } else { String::new() };
            let line = Line(part.db_id, qty, l.reorder as i64, l.up_to as i64, pos);
            out.push(((kind, from, net.nodes[to as usize].db_id, group), line, part.unit_cost_minor));
        };
        // what leaves each node: the waiting backorders its next arrival serves, then the
        // transfers proposed below it
        let mut outflow = vec![0i64; net.nodes.len()];
        for &(n, q) in owed.get(&(p as u32)).map(Vec::as_slice).unwrap_or(&[]) {
            outflow[n as usize] += q;
        }
        let need = |n: u32, outflow: i64| -> (i64, Level, i64) {
            let l = get(n);
            let pos = avail(n) - outflow;
            let q = if pos <= l.reorder as i64 { l.up_to as i64 - pos } else { 0 };
            (q, l, pos)
        };
        for n in net.station_nodes() {
            let (q, l, pos) = need(n, 0);
            if q > 0 {
                let c = net.nodes[n as usize].parent.unwrap_or(1);
                outflow[c as usize] += q;
                if covered[c as usize] {
                    emit("transfer", net.nodes[c as usize].db_id, n, q, l, pos);
                }
            }
        }
        for c in net.centre_nodes() {
            let (q, l, pos) = need(c, outflow[c as usize]);
            if q > 0 {
                outflow[0] += q;
                if covered[0] {
                    emit("transfer", net.nodes[0].db_id, c, q, l, pos);
                }
            }
        }
        let (q, l, pos) = need(0, outflow[0]);
        if q > 0 && covered[0] {
            emit("purchase", supplier.id, 0, q, l, pos);
        }
        out
    };
    // each order's lines are written as its JSON text part by part, in chunks of parts: a
    // whole-network run has millions of lines, and holding them as values beside their text
    // was most of the run's peak memory
    let mut orders: std::collections::BTreeMap<Key, OrderText> = std::collections::BTreeMap::new();
    let mut n_lines = 0;
    let all_parts: Vec<usize> = (0..net.parts.len()).collect();
    for chunk in all_parts.chunks(500) {
        let lines: Vec<(Key, Line, i64)> = chunk.par_iter().flat_map_iter(|&p| part_lines(p)).collect();
        n_lines += lines.len();
        for (key, line, cost) in lines {
            orders.entry(key).or_default().push(line, cost);
        }
    }
    let proposals: Vec<NewProposal> = orders
        .into_iter()
        .map(|((kind, source_id, destination_id, _), order)| NewProposal {
            run_id: 0,
            kind,
            source_id,
            destination_id,
            line_count: order.lines,
            units: order.units,
            value_minor: order.value_minor,
            lines: order.finish(),
            status: "proposed",
            created_at: at,
        })
        .collect();
    let in_scope = |n: &usize| covered[*n];
    let target_value: i64 = plan
        .levels
        .iter()
        .zip(&net.parts)
        .map(|(ls, p)| {
            ls.iter().filter(|l| in_scope(&(l.node as usize))).map(|l| l.up_to.max(0) as i64).sum::<i64>()
                * p.unit_cost_minor
        })
        .sum();
    let mut row = RunRow {
        id: 0,
        policy: params.policy,
        scope_location_id: scope.id,
        target_fill_bp: (params.policy == PolicyKind::MultiEchelon && params.budget_minor.is_none())
            .then(|| bp(params.target_fill)),
        service_level_bp: (params.policy == PolicyKind::Baseline).then(|| bp(params.service_level)),
        budget_minor: params.budget_minor,
        expected_fill_bp: plan.expected_fill.map(bp),
        parts: net.parts.len() as i32,
        locations: covered.iter().filter(|c| **c).count() as i32,
        target_value_minor: target_value,
        transfers: proposals.iter().filter(|p| p.kind == "transfer").count() as i32,
        purchases: proposals.iter().filter(|p| p.kind == "purchase").count() as i32,
        lines: n_lines as i32,
        proposed_value_minor: proposals.iter().map(|p| p.value_minor).sum(),
        duration_ms: 0,
        created_by: actor.to_string(),
        created_at: at,
        figures: None,
    };
    let proposed_ms = started.elapsed().as_millis();
    row.id = store::insert_run(conn, &row)?;
    let mut held: Vec<Vec<(u32, i64, i64)>> = vec![Vec::new(); net.parts.len()];
    for ((p, n), (on_hand, available)) in stock {
        held[p as usize].push((n, on_hand, available));
    }
    let mut figures = Figures {
        causal_cv2: Some(causal_cv2),
        exposure_days: Some(exposure_days),
        forecast_error,
        ..Figures::default()
    };
    let run_id = row.id;
    // the levels in chunks of parts, so that only a chunk's text is held at once
    for chunk in all_parts.chunks(500) {
        let done: Vec<(Figures, Option<LevelsRow>)> = chunk
            .par_iter()
            .map(|&p| {
                let (_, made_of) = estimator.part(p);
                let part_plan = PartPlan {
                    part: p,
                    rates: &rates.per_part[p],
                    parts: &made_of,
                    rate_vars: rates.var.get(p).map(Vec::as_slice).unwrap_or(&[]),
                    levels: &plan.levels[p],
                    stock: &held[p],
                };
                let entries = review::part_entries(net, &part_plan, &covered);
                let mut f = Figures::default();
                let cost = net.parts[p].unit_cost_minor;
                entries.iter().for_each(|e| f.add(e, cost));
                let levels = (!entries.is_empty()).then(|| LevelsRow {
                    run_id,
                    part_id: net.parts[p].db_id,
                    entries: entries.len() as i32,
                    levels: serde_json::to_string(&entries).unwrap_or_default(),
                });
                (f, levels)
            })
            .collect();
        let mut rows = Vec::with_capacity(done.len());
        for (f, r) in done {
            figures.merge(&f);
            rows.extend(r);
        }
        store::insert_levels(conn, &rows)?;
    }
    row.figures = Some(serde_json::to_string(&figures).unwrap_or_default());
    let levels_ms = started.elapsed().as_millis();
    // what this run could have proposed gives way to it: orders into the locations it covers
    // from a source it covers too (the warehouse's purchases when it covers the warehouse). A
    // centre's run leaves the warehouse's transfer into the centre alone: it proposes none.
    let destinations: Vec<i64> = net
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| covered[*i] && n.parent.is_none_or(|p| covered[p as usize]))
        .map(|(_, n)| n.db_id)
        .collect();
    store::supersede(conn, &destinations, row.id)?;
    let proposals: Vec<NewProposal> =
        proposals.into_iter().map(|p| NewProposal { run_id: row.id, ..p }).collect();
    store::insert_proposals(conn, &proposals)?;
    row.duration_ms = started.elapsed().as_millis() as i64;
    tracing::info!(
        run = row.id,
        loaded_ms,
        planned_ms,
        proposed_ms,
        levels_ms,
        written_ms = row.duration_ms,
        proposals = proposals.len(),
        "planning run"
    );
    store::finish_run(conn, row.id, row.duration_ms, row.figures.as_deref())?;
    Ok(row)
}

/// A proposal the caller may see (its source or destination in the caller's scope), or 404.
pub fn visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<ProposalRow, AppError> {
    let not_found = || AppError::not_found(format!("proposal {id} not found"));
    let row = store::proposal(conn, id)?.ok_or_else(not_found)?;
    let scope = Scope::of(conn, caller)?;
    let (source, dest) = (network::by_id(conn, row.source_id)?, network::by_id(conn, row.destination_id)?);
    if scope.covers(&source.path) || scope.covers(&dest.path) {
        Ok(row)
    } else {
        Err(not_found())
    }
}

/// What releasing a proposal did.
pub struct Released {
    pub row: ProposalRow,
    pub movements: usize,
    pub backorders_filled: Vec<BackorderFill>,
}

/// Releases a proposed order whole: a purchase order is received from `SUPPLIER`
/// (`purchase_receipt`), a transfer order shipped to `IN-TRANSIT` and received at once
/// (`transfer_ship`, `transfer_receive`), line by line; then waiting backorders are served
/// from the new stock. A transfer takes no line beyond what its source has available: 409
/// `insufficient_stock` naming the short lines, and nothing moves.
pub fn release(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Released, AppError> {
    let row = visible(conn, caller, id)?;
    let scope = Scope::of(conn, caller)?;
    let (acting, who) = if row.kind == "purchase" {
        (row.destination_id, "the receiving location")
    } else {
        (row.source_id, "the shipping location")
    };
    if !scope.stands_at(&network::by_id(conn, acting)?.path) {
        return Err(AppError::forbidden(format!("only staff of {who} (or an admin) release this proposal")));
    }
    // a transfer or purchase is new work: neither end may be closed
    for end in [row.source_id, row.destination_id] {
        crate::network::require_active(
            &network::by_id(conn, end)?,
            "no released proposal moves stock there",
        )?;
    }
    let reference = format!("proposal:{id}");
    mark_released(conn, &row, &caller.username, now, &reference)?;
    let source = ledger::place_by_id(conn, row.source_id)?;
    let dest = ledger::place_by_id(conn, row.destination_id)?;
    let lines = row.lines();
    if row.kind == "transfer" {
        let mut short = Vec::new();
        for l in &lines {
            let available = ledger::available(conn, l.part_id(), source.id)?;
            if available < l.qty() {
                let code = crate::catalogue::store::parts::by_id(conn, l.part_id())?.code;
                short.push(
                    serde_json::json!({"part_code": code, "available": available, "requested": l.qty()}),
                );
            }
        }
        if !short.is_empty() {
            return Err(AppError::conflict(
                Problem::InsufficientStock,
                format!(
                    "{} lacks available stock for {} of the {} lines; nothing was moved",
                    source.code,
                    short.len(),
                    lines.len()
                ),
            )
            .with("location", &source.code)
            .with("short", short));
        }
    }
    let transit = ledger::virtual_place(conn, LocationKind::InTransit)?;
    let mut movements = 0;
    let mut backorders_filled = Vec::new();
    for l in &lines {
        let part = crate::catalogue::store::parts::by_id(conn, l.part_id())?;
        let qty = l.qty();
        let post = |conn: &mut DbConn, from, to, reason, serials: &[String]| {
            ledger::post(
                conn,
                &Move {
                    part_id: part.id,
                    qty,
                    from,
                    to,
                    reason,
                    reference: Some(&reference),
                    actor: Some(&caller.username),
                    at: now.naive_utc(),
                    serials,
                    from_reserved: false,
                    ticket_id: None,
                },
            )
        };
        if row.kind == "purchase" {
            let serials: Vec<String> = if part.serialized {
                (1..=qty).map(|n| format!("PLN{id}-{}-{n:04}", part.id)).collect()
            } else {
                Vec::new()
            };
            post(conn, &source, &dest, Reason::PurchaseReceipt, &serials)?;
            movements += 1;
        } else {
            let serials = if part.serialized {
                let s = ledger::serials_at(conn, part.id, source.id, qty)?;
                if (s.len() as i64) < qty {
                    return Err(insufficient(conn, &source, part.id, qty));
                }
                s
            } else {
                Vec::new()
            };
            post(conn, &source, &transit, Reason::TransferShip, &serials)?;
            post(conn, &transit, &dest, Reason::TransferReceive, &serials)?;
            movements += 2;
        }
        backorders_filled.extend(crate::requests::fill_backorders(conn, part.id, &dest, now)?);
    }
    let row = announce(conn, id, &source.code, &dest.code, &caller.username, backorders_filled.len(), now)?;
    Ok(Released { row, movements, backorders_filled })
}

/// Marks a proposed order released by `by` with the ledger reference `reference`; 409 when it is
/// not proposed (any more).
fn mark_released(
    conn: &mut DbConn,
    row: &ProposalRow,
    by: &str,
    now: DateTime<Utc>,
    reference: &str,
) -> Result<(), AppError> {
    let id = row.id;
    if row.status != ProposalStatus::Proposed {
        return Err(AppError::conflict(
            Problem::InvalidTransition,
            format!("proposal {id} is {}; only a proposed one can be released", row.status.as_str()),
        )
        .with("current_status", row.status.as_str()));
    }
    if !store::mark_released(conn, id, by, now.naive_utc(), reference)? {
        return Err(AppError::conflict(
            Problem::InvalidTransition,
            format!("proposal {id} was released meanwhile"),
        ));
    }
    Ok(())
}

/// The released proposal as it now stands, its `proposal.released` event recorded.
fn announce(
    conn: &mut DbConn,
    id: i64,
    source: &str,
    destination: &str,
    by: &str,
    backorders_filled: usize,
    now: DateTime<Utc>,
) -> Result<ProposalRow, AppError> {
    let row =
        store::proposal(conn, id)?.ok_or_else(|| AppError::not_found(format!("proposal {id} not found")))?;
    crate::events::record(
        conn,
        "proposal.released",
        crate::events::Subject { kind: "proposal", id, station_id: Some(row.destination_id) },
        crate::events::payloads::ProposalReleasedEvent {
            id,
            kind: row.kind.clone(),
            source: source.to_string(),
            destination: destination.to_string(),
            lines: row.line_count as usize,
            released_by: by.to_string(),
            backorders_filled,
        },
        now.naive_utc(),
    )?;
    Ok(row)
}

/// Releases a transfer proposal to a station as that station's parts request `request_id`
/// (raised with the proposal's lines, it travels through pick, ship and receipt at its lead
/// time): the proposal is marked released with the reference `parts_request:<id>` and moves no
/// stock itself. The caller is the station's staff who raised the request.
pub fn release_by_request(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<ProposalRow, AppError> {
    let row = visible(conn, caller, id)?;
    let request = crate::requests::store::request(conn, request_id)?
        .ok_or_else(|| AppError::not_found(format!("parts request {request_id} not found")))?;
    if row.kind != "transfer" || request.station_id != row.destination_id || request.ticket_id.is_some() {
        return Err(AppError::unprocessable(
            Problem::ValidationFailed,
            format!("proposal {id} is not a transfer to the station of replenishment request {request_id}"),
        ));
    }
    mark_released(conn, &row, &caller.username, now, &format!("parts_request:{request_id}"))?;
    let (source, dest) = (network::by_id(conn, row.source_id)?, network::by_id(conn, row.destination_id)?);
    announce(conn, id, &source.code, &dest.code, &caller.username, 0, now)
}

fn insufficient(conn: &mut DbConn, at: &ledger::Place, part_id: i64, qty: i64) -> AppError {
    let available = ledger::available(conn, part_id, at.id).unwrap_or(0);
    AppError::conflict(
        Problem::InsufficientStock,
        format!("{} holds {available} available; {qty} cannot leave it", at.code),
    )
    .with("location", &at.code)
    .with("available", available)
    .with("requested", qty)
}

/// Whether a location of this kind may be a run's scope: the warehouse or a centre.
pub fn plannable(kind: LocationKind) -> bool {
    matches!(kind, LocationKind::CentralWarehouse | LocationKind::RegionalCentre)
}
