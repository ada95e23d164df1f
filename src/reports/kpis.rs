//! `GET /api/v1/reports/kpis`: the figures the parts-management case judged its reform by —
//! fill rate, stock-out rate, on-time delivery, repair cycle time, stock value and turnover —
//! each with its numerator and denominator (or, for times, the count of tickets).

use std::collections::BTreeMap;

use actix_web::{get, web};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, Level, Ratio};
use super::{cycles, store};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403};
use crate::http::Query;
use crate::money::Money;
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::Validate;

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// first day (default: 30 days before `to`)
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub from: Option<NaiveDate>,
    /// last day, inclusive (default: today)
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub to: Option<NaiveDate>,
    /// how to group the figures (default `network`; for a station its own, for a centre's
    /// staff their centre)
    pub level: Option<Level>,
    /// only the group of this location code (a centre or a station) or tier letter
    #[param(min_length = 1, max_length = 32)]
    pub location: Option<String>,
}

/// Request fill: how the stations' parts requests were served by their first-choice source
/// (the station's own regional centre, as routing tries it first). Not station fill (a
/// station's demand served at once from its own shelf, the figure a planning run's
/// `target_fill` aims at): the live data does not record whether a station's own shelf had
/// the part when a customer's demand arose, so the report does not compute station fill.
#[derive(Debug, Serialize, ToSchema)]
pub struct FillRate {
    /// request fill by units: requested units allocated from the first-choice source at
    /// request time, of the units requested
    pub units: Ratio,
    /// request fill by lines: lines fully allocated from the first-choice source at request
    /// time, of the lines
    pub lines: Ratio,
    /// fill within lead time: requested units that reached the station on a shipment
    /// delivered within the lane's lead time (`deliver_by`), of the units requested
    pub units_within_lead_time: Ratio,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Named {
    pub name: String,
    pub on_time: Ratio,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnTime {
    /// shipments delivered by their `deliver_by`, of those delivered in the period
    pub overall: Ratio,
    pub by_courier: Vec<Named>,
    pub by_lane: Vec<Named>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EchelonStock {
    /// central_warehouse, regional_centre or station
    pub echelon: String,
    pub value_at_start: Money,
    pub value_at_end: Money,
    pub average_value: Money,
    /// what left the echelon towards customers at cost: shipments out of the warehouse and
    /// centres, loans and consumption out of stations
    pub outflow: Money,
    /// outflow / average value over the period
    pub turnover: Option<f64>,
}

/// Hours over a set of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hours {
    pub tickets: i64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

impl Hours {
    /// From whole seconds: hours rounded to 2 decimals.
    fn of(s: cycles::Spread) -> Hours {
        let hours = |x: Option<i64>| x.map(|s| ((s as f64 / 3600.0) * 100.0).round() / 100.0);
        Hours { tickets: s.tickets, median_hours: hours(s.p50), p90_hours: hours(s.p90) }
    }
}

/// Intake to `resolved`, for tickets resolved in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepairCycle {
    pub all: Hours,
    /// tickets that had a parts request
    pub waited_for_parts: Hours,
    pub without_parts_wait: Hours,
    /// the first parts request to the last unit received, for tickets that waited
    pub parts_wait: Hours,
}

/// The figures of one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiGroup {
    /// `network`, a centre or station code, or a tier letter
    pub key: String,
    /// request fill (first-choice source) and fill within lead time; not station fill
    pub fill_rate: FillRate,
    /// (part, first-choice source, day) triples with demand where the source had nothing
    /// available, of all triples with demand
    pub stock_out_rate: Ratio,
    pub on_time_delivery: OnTime,
    pub repair_cycle: RepairCycle,
    pub stock: Vec<EchelonStock>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"from": "2026-10-24", "to": "2026-11-23", "level": "network", "groups": [],
    "links": {"history": "/api/v1/reports/kpis/history?weeks=12"}}))]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub level: Level,
    pub groups: Vec<KpiGroup>,
    /// the weekly history of the network KPIs and an SVG sparkline per KPI
    pub links: BTreeMap<String, String>,
}

fn links() -> BTreeMap<String, String> {
    let mut l =
        BTreeMap::from([("history".to_string(), "/api/v1/reports/kpis/history?weeks=12".to_string())]);
    for k in ["fill_rate_units", "stock_out_rate", "on_time_delivery", "repair_cycle_median_hours"] {
        l.insert(format!("sparkline_{k}"), format!("/api/v1/reports/kpis/sparkline?kpi={k}&weeks=12"));
    }
    l
}

/// The bounds of a report: [from 00:00, to + 1 day 00:00).
pub fn period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    crate::validate::date_range(from, to)?;
    let to = to.unwrap_or(today);
    // thirty days by default, never before the first day a report reads
    let from = from.unwrap_or((to - Duration::days(29)).max(crate::validate::first_report_day()));
    if from > to {
        return Err(AppError::invalid_fields(vec![FieldError::new("from", "must not be after `to`")]));
    }
    if (to - from).num_days() > 3660 {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "from",
            "a report covers at most ten years",
        )]));
    }
    Ok((from, to))
}

/// Computes every group of a level.
pub fn compute(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<KpiGroup>, AppError> {
    compute_with(conn, level, from, to, true)
}

/// Computes every group of a level; without `stock`, leaves out the stock values and
/// turnover (the weekly trend has no use for them, and they read the ledger's movements).
pub fn compute_with(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    stock: bool,
) -> Result<Vec<KpiGroup>, AppError> {
    let fill = store::fill(conn, level, from, to)?;
    let stockouts = store::stockouts(conn, level, from, to)?;
    let (on_time, couriers, lanes) = store::on_time(conn, level, from, to)?;
    let (value_start, value_end, outflow) = if stock {
        (
            store::stock_value_at(conn, level, from)?,
            store::stock_value_at(conn, level, to + Duration::days(1))?,
            store::outflow(conn, level, from, to)?,
        )
    } else {
        Default::default()
    };
    let mut cycles = cycles::cycles(conn, level, from, to)?;
    let mut keys: Vec<String> = fill.keys().chain(on_time.keys()).chain(cycles.keys()).cloned().collect();
    keys.extend(value_end.keys().chain(value_start.keys()).map(|(k, _)| k.clone()));
    keys.sort();
    keys.dedup();
    let names = key_names(conn, level, &keys)?;
    let mut groups = Vec::new();
    for key in keys {
        let (units, lines, in_time) = fill.get(&key).copied().unwrap_or_default();
        let mut stock = Vec::new();
        for echelon in ["central_warehouse", "regional_centre", "station"] {
            let k = (key.clone(), echelon.to_string());
            let (a, b) = (value_start.get(&k).copied(), value_end.get(&k).copied());
            if a.is_none() && b.is_none() {
                continue;
            }
            let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
            let average = (a + b) / 2;
            let out = outflow.get(&k).copied().unwrap_or(0);
            stock.push(EchelonStock {
                echelon: echelon.to_string(),
                value_at_start: Money(a),
                value_at_end: Money(b),
                average_value: Money(average),
                outflow: Money(out),
                turnover: rules::turnover(out, average),
            });
        }
        let pick = |v: &[(String, String, Ratio)]| -> Vec<Named> {
            v.iter()
                .filter(|(g, _, _)| *g == key)
                .map(|(_, n, r)| Named { name: n.clone(), on_time: *r })
                .collect()
        };
        groups.push(KpiGroup {
            key: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
            fill_rate: FillRate {
                units,
                lines,
                units_within_lead_time: Ratio::new(in_time, units.denominator),
            },
            stock_out_rate: stockouts.get(&key).copied().unwrap_or_default(),
            repair_cycle: {
                let c = cycles.remove(&key).unwrap_or_default();
                RepairCycle {
                    all: Hours::of(c.all),
                    waited_for_parts: Hours::of(c.waited),
                    without_parts_wait: Hours::of(c.without),
                    parts_wait: Hours::of(c.wait),
                }
            },
            on_time_delivery: OnTime {
                overall: on_time.get(&key).copied().unwrap_or_default(),
                by_courier: pick(&couriers),
                by_lane: pick(&lanes),
            },
            stock,
        });
    }
    Ok(groups)
}

/// Location ids of centre and station groups as codes.
fn key_names(conn: &mut DbConn, level: Level, keys: &[String]) -> Result<BTreeMap<String, String>, AppError> {
    if !matches!(level, Level::Centre | Level::Station) {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<i64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
    Ok(network::codes_of(conn, &ids)?.into_iter().map(|(id, code)| (id.to_string(), code)).collect())
}

/// Which groups a caller may see: all for admin, finance and agents, and for the central
/// warehouse's staff, whose subtree is the whole network; a centre's warehouse user its own
/// centre and its stations; a station itself. The network's and the tiers' figures (every
/// station's) are for those who see the whole network.
fn allowed(conn: &mut DbConn, caller: &Caller, level: Level) -> Result<Option<Vec<String>>, AppError> {
    if sees_network(conn, caller)? {
        return Ok(None);
    }
    let Scope::Under { path } = Scope::of(conn, caller)? else { return Ok(None) };
    let own = own_location(conn, caller)?;
    match (level, own.kind) {
        (Level::Station, _) | (Level::Centre, LocationKind::RegionalCentre) => {
            let below = network::subtree_ids(conn, &path)?;
            let codes = network::codes_of(conn, &below)?;
            Ok(Some(codes.into_values().collect()))
        }
        _ => Err(AppError::forbidden(
            "your KPIs are those of your own location: use level=station (or centre for a centre)",
        )),
    }
}

fn own_location(conn: &mut DbConn, caller: &Caller) -> Result<network::LocationRow, AppError> {
    network::by_code(conn, caller.location.as_deref().unwrap_or_default())?
        .ok_or_else(|| AppError::forbidden("this user belongs to no location"))
}

/// Whether the caller sees the whole network's figures: admin, finance and agents, and the
/// central warehouse's staff (its subtree is the network).
pub fn sees_network(conn: &mut DbConn, caller: &Caller) -> Result<bool, AppError> {
    Ok(match Scope::of(conn, caller)? {
        Scope::All => true,
        Scope::Under { .. } => own_location(conn, caller)?.kind == LocationKind::CentralWarehouse,
    })
}

/// 403 unless the caller sees the whole network's figures ([`sees_network`]).
pub fn require_network(conn: &mut DbConn, caller: &Caller) -> Result<(), AppError> {
    if sees_network(conn, caller)? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "the network's KPIs are for those who see the whole network: use /reports/kpis with level=centre or level=station",
        ))
    }
}

/// The network's KPIs
///
/// Fill rate, stock-out rate, on-time delivery, stock value and turnover per echelon, for a
/// period, grouped by network, centre, station or tier; every figure carries its numerator
/// and denominator. A station sees its own figures only, a centre's warehouse its centre and
/// stations; admins, finance, agents and the central warehouse's staff see all.
#[utoipa::path(
    tag = "reports",
    params(KpiQuery),
    responses((status = 200, description = "The KPIs over the date range, per group of the level asked", body = KpiReport), E400, E401, E403, E404KpiLocation, E422KpiRange),
    security(("bearer" = ["admin", "warehouse", "station", "agent", "finance"]))
)]
#[get("/reports/kpis")]
pub async fn kpis(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<KpiQuery>,
) -> Result<web::Json<KpiReport>, AppError> {
    // a technician sees their own tickets and loans, not the station's figures
    caller.require(&[Role::Admin, Role::Finance, Role::Agent, Role::Warehouse, Role::Station])?;
    let q = query.into_inner();
    let (from, to) = period(q.from, q.to, state.clock.now().date_naive())?;
    let report = state
        .db
        .read(move |conn| {
            // a scoped caller's default is its own level: a station its own figures
            let level = match (q.level, caller.role) {
                (Some(l), _) => l,
                (None, Role::Station) => Level::Station,
                (None, Role::Warehouse) => {
                    let own = network::by_code(conn, caller.location.as_deref().unwrap_or_default())?;
                    if own.is_some_and(|l| l.kind == LocationKind::RegionalCentre) {
                        Level::Centre
                    } else {
                        Level::Network
                    }
                }
                (None, _) => Level::Network,
            };
            let visible = allowed(conn, &caller, level)?;
            let mut groups = compute(conn, level, from, to)?;
            if let Some(v) = &visible {
                groups.retain(|g| v.contains(&g.key));
            }
            // a code (or tier letter) in lower case is the same (`canonical_code`)
            if let Some(loc) = &q.location.as_deref().map(crate::network::rules::canonical_code) {
                // a location outside the caller's groups is answered like an unknown code (before
                // its kind is weighed), so a caller cannot learn which codes exist
                let hidden = level != Level::Tier && visible.as_ref().is_some_and(|v| !v.contains(loc));
                if hidden {
                    return Err(AppError::not_found(format!("location {loc} not found")));
                }
                fits_level(conn, level, loc)?;
                groups.retain(|g| &g.key == loc);
                if groups.is_empty()
                    && level != Level::Tier
                    && (hidden || network::by_code(conn, loc)?.is_none())
                {
                    return Err(AppError::not_found(format!("location {loc} not found")));
                }
            }
            Ok(KpiReport { from, to, level, groups, links: links() })
        })
        .await?;
    Ok(web::Json(report))
}

/// A `location` that cannot name a group of `level`: a tier letter that is no tier, a known
/// location of another kind than the level groups by, any location at the network level (one
/// group). 422 naming `location`, rather than an empty report that reads as "no activity". An
/// unknown code is left to the 404 below.
fn fits_level(conn: &mut DbConn, level: Level, loc: &str) -> Result<(), AppError> {
    let wrong = |why: String| AppError::invalid_fields(vec![FieldError::new("location", why)]);
    match level {
        Level::Network => Err(wrong("the network level has one group; leave location out".into())),
        Level::Tier => {
            let tiers = crate::network::store::tier_letters(conn)?;
            if tiers.iter().any(|t| t == loc) {
                Ok(())
            } else {
                Err(wrong(format!(
                    "{loc:?} is no tier; at level=tier a location is one of {}",
                    tiers.join(", ")
                )))
            }
        }
        Level::Centre | Level::Station => {
            let want =
                if level == Level::Centre { LocationKind::RegionalCentre } else { LocationKind::Station };
            match network::by_code(conn, loc)? {
                Some(l) if l.kind != want => {
                    let name = if level == Level::Centre { "centre" } else { "station" };
                    Err(wrong(format!(
                        "{loc} is a {}; level={name} groups by {}",
                        l.kind.as_str(),
                        want.as_str()
                    )))
                }
                _ => Ok(()),
            }
        }
    }
}

// The refusals of the KPI report, each with its own example (`http::docs`).

crate::problems!(E404KpiLocation, 404, "The location asked for is unknown or outside the caller's groups", [
    NotFound => "location RC-XA not found",
]);
crate::problems!(E422KpiRange, 422, "The date range breaks a rule, or the location cannot name a group of the level; `errors` names the field", [
    ValidationFailed => "from: must not be after `to`" {"errors": [{"field": "from", "message": "must not be after `to`"}]},
    ValidationFailed "wrong_level" => "location: RC-HZ is a regional_centre; level=station groups by station"
        {"errors": [{"field": "location", "message": "RC-HZ is a regional_centre; level=station groups by station"}]},
]);
