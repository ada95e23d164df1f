//! HTTP handlers of planning runs (their proposed orders: `proposals.rs`).

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::levels::{figures_of, tier_of, Echelon};
use super::policy::Silent;
use super::service::{self, PolicyKind, RunParams};
use super::store::{self, RunRow};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Json;
use crate::money::Money;
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::Validate;

/// What a planning run aims at. `target_fill` (default 0.98) or `budget` for the
/// multi-echelon policy; `service_level` (default 0.95) and `min_annual_demand` (default 1)
/// for the baseline.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"policy": "multi_echelon", "target_fill": 0.98, "location": "RC-HZ"}))]
pub struct PlanningRunIn {
    #[serde(default)]
    pub policy: Option<PolicyKind>,
    /// station fill to reach, 0.5-0.9999 (multi-echelon): of the units demanded at the
    /// stations, the share served at once from the station's own shelf (by the model)
    pub target_fill: Option<f64>,
    /// most value of stock to plan instead of a fill target (multi-echelon)
    pub budget: Option<Money>,
    /// each location's chance of not running out over a lead time, 0.5-0.9999 (baseline)
    pub service_level: Option<f64>,
    /// the baseline stocks a part at a location that sells at least this many a year
    pub min_annual_demand: Option<f64>,
    /// the subtree to propose for: the central warehouse (whole network) or a regional
    /// centre; default the caller's own location (admin: the central warehouse)
    #[schema(max_length = 64)]
    pub location: Option<String>,
    /// plan with the uncertainty of the run's own demand estimate (multi-echelon, default
    /// false): each station's lead-time demand gets the variance of its estimated rate x
    /// the lead time squared, upstream the sum below it (the history's smoothing noise, the
    /// causal estimate's error learned against the history)
    pub forecast_error: Option<bool>,
}

/// A planning run.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "policy": "multi_echelon", "scope": "HQ", "target_fill": 0.98,
    "service_level": null, "budget": null, "expected_fill": 0.9801, "parts": 294, "locations": 331,
    "target_stock_value": "418230.00", "transfers": 12, "purchases": 3, "lines": 40, "proposed_value": "10432.50",
    "duration_ms": 85, "created_by": "admin", "created_at": "2026-11-23T08:00:00Z",
    "echelons": [
        {"echelon": "central_warehouse", "levels": 294, "demand_rate": 61.27, "expected_backorders": 20.41,
         "expected_fill": 0.8302, "stock_value": "151020.00"},
        {"echelon": "regional_centre", "levels": 1870, "demand_rate": 61.27, "expected_backorders": 3.177,
         "expected_fill": 0.9641, "stock_value": "98770.00"},
        {"echelon": "station", "levels": 20315, "demand_rate": 61.27, "expected_backorders": 0.7914,
         "expected_fill": 0.98013, "stock_value": "168440.00"}],
    "tiers": [
        {"tier": "A", "levels": 2950, "demand_rate": 12.1, "expected_backorders": 0.1106, "expected_fill": 0.98502,
         "stock_value": "31250.00"},
        {"tier": "B", "levels": 5120, "demand_rate": 20.3, "expected_backorders": 0.2571, "expected_fill": 0.98120,
         "stock_value": "52310.00"},
        {"tier": "C", "levels": 7480, "demand_rate": 18.6, "expected_backorders": 0.2460, "expected_fill": 0.97905,
         "stock_value": "52980.00"},
        {"tier": "D", "levels": 4765, "demand_rate": 10.27, "expected_backorders": 0.1777, "expected_fill": 0.97466,
         "stock_value": "31900.00"}]}))]
pub struct PlanningRunOut {
    pub id: i64,
    pub policy: PolicyKind,
    /// the location whose subtree the run proposes for
    pub scope: String,
    /// the station fill the run aimed at (immediate fill from the station's own shelf, by
    /// units); `null` for a baseline run or a budget
    pub target_fill: Option<f64>,
    pub service_level: Option<f64>,
    pub budget: Option<Money>,
    /// the model's expected station fill (rounded to 4 places): of the units demanded at the
    /// stations, the share served at once from the station's own shelf; for a baseline run, that
    /// of its levels as the model reviews them (the station echelon's in `echelons`); `null`
    /// only for a run with no figures
    pub expected_fill: Option<f64>,
    pub parts: i32,
    /// stocking locations in scope
    pub locations: i32,
    /// value of the planned order-up-to levels in scope, at cost
    pub target_stock_value: Money,
    /// transfer orders proposed
    pub transfers: i32,
    /// purchase orders proposed (one per product line)
    pub purchases: i32,
    /// lines over all the orders
    pub lines: i32,
    /// value of all proposed lines at cost (a unit bought, then sent down twice, counts three
    /// times)
    pub proposed_value: Money,
    pub duration_ms: i64,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// the model's figures per echelon over the run's scope, unrounded (its levels:
    /// `GET /planning/runs/{id}/levels`); empty for a run made before they were kept
    pub echelons: Vec<EchelonFigures>,
    /// the stations' figures per tier (the tier at the run)
    pub tiers: Vec<TierFigures>,
    /// the run planned with the variance of its own demand estimate
    pub forecast_error: bool,
}

/// The model's figures for one echelon of a run's scope (`central_warehouse`,
/// `regional_centre`, `station`), over its levels.
#[derive(Debug, Serialize, ToSchema)]
pub struct EchelonFigures {
    pub echelon: Echelon,
    /// (part, location) pairs with a level, demand or stock (the run's levels in it)
    pub levels: u64,
    /// units a day (upstream: the stations' demand passing through)
    pub demand_rate: f64,
    /// expected units short, summed over its locations
    pub expected_backorders: f64,
    /// the model's fill at this echelon: of the units demanded at its locations (upstream:
    /// the orders of the locations below), the share served at once from the location's own
    /// shelf; for `station`, the run's expected station fill. `null` without demand
    pub expected_fill: Option<f64>,
    /// the order-up-to levels at cost
    pub stock_value: Money,
}

/// The model's figures for the stations of one tier in a run's scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierFigures {
    #[schema(example = "A")]
    pub tier: String,
    pub levels: u64,
    pub demand_rate: f64,
    pub expected_backorders: f64,
    /// the model's station fill of the tier's stations: of the units demanded at them, the
    /// share served at once from the station's own shelf; `null` without demand
    pub expected_fill: Option<f64>,
    pub stock_value: Money,
}

fn run_out(conn: &mut DbConn, r: RunRow) -> Result<PlanningRunOut, AppError> {
    let figures = figures_of(&r);
    let echelons: Vec<EchelonFigures> = figures
        .as_ref()
        .map(|f| {
            f.echelons()
                .iter()
                .zip([Echelon::CentralWarehouse, Echelon::RegionalCentre, Echelon::Station])
                .map(|(g, echelon)| EchelonFigures {
                    echelon,
                    levels: g.entries,
                    demand_rate: g.rate,
                    expected_backorders: g.ebo,
                    expected_fill: g.fill(),
                    stock_value: Money(g.value_minor),
                })
                .collect()
        })
        .unwrap_or_default();
    let tiers = figures
        .as_ref()
        .map(|f| {
            f.classes[2..]
                .iter()
                .enumerate()
                .map(|(i, g)| TierFigures {
                    tier: tier_of(i as u8 + 2).unwrap_or_default().to_string(),
                    levels: g.entries,
                    demand_rate: g.rate,
                    expected_backorders: g.ebo,
                    expected_fill: g.fill(),
                    stock_value: Money(g.value_minor),
                })
                .collect()
        })
        .unwrap_or_default();
    let frac = |bp: Option<i32>| bp.map(|b| b as f64 / 10_000.0);
    // a baseline run's levels are not chosen by the model, but the model reviews them all the
    // same: its expected fill is the station echelon's, rounded as a multi-echelon run's is
    let reviewed = echelons
        .iter()
        .find(|e| matches!(e.echelon, Echelon::Station))
        .and_then(|e| e.expected_fill)
        .map(|f| (f * 10_000.0).round() / 10_000.0);
    Ok(PlanningRunOut {
        id: r.id,
        policy: r.policy,
        scope: network::by_id(conn, r.scope_location_id)?.code,
        target_fill: frac(r.target_fill_bp),
        service_level: frac(r.service_level_bp),
        budget: r.budget_minor.map(Money),
        expected_fill: frac(r.expected_fill_bp).or(reviewed),
        parts: r.parts,
        locations: r.locations,
        target_stock_value: Money(r.target_value_minor),
        transfers: r.transfers,
        purchases: r.purchases,
        lines: r.lines,
        proposed_value: Money(r.proposed_value_minor),
        duration_ms: r.duration_ms,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
        forecast_error: figures.as_ref().is_some_and(|f| f.forecast_error),
        echelons,
        tiers,
    })
}

/// A run the caller may see (its scope within the caller's), or 404.
pub fn visible_run(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<RunRow, AppError> {
    let not_found = || AppError::not_found(format!("planning run {id} not found"));
    let row = store::run(conn, id)?.ok_or_else(not_found)?;
    let path = network::by_id(conn, row.scope_location_id)?.path;
    if !Scope::of(conn, caller)?.covers(&path) {
        return Err(not_found());
    }
    Ok(row)
}

/// Checks a run's settings; returns what the run aims at.
pub fn params_of(input: &PlanningRunIn) -> Result<RunParams, AppError> {
    let policy = input.policy.unwrap_or(PolicyKind::MultiEchelon);
    let mut errors = Vec::new();
    let fraction = |name: &str, v: Option<f64>, errors: &mut Vec<FieldError>| {
        if v.is_some_and(|v| !(0.5..=0.9999).contains(&v)) {
            errors.push(FieldError::new(name, "must be between 0.5 and 0.9999"));
        }
    };
    fraction("target_fill", input.target_fill, &mut errors);
    fraction("service_level", input.service_level, &mut errors);
    if input.budget.is_some_and(|b| b.0 <= 0) {
        errors.push(FieldError::new("budget", "must be positive"));
    }
    if input.min_annual_demand.is_some_and(|m| !(0.0..=10_000.0).contains(&m)) {
        errors.push(FieldError::new("min_annual_demand", "must be between 0 and 10000"));
    }
    match policy {
        PolicyKind::MultiEchelon => {
            if input.target_fill.is_some() && input.budget.is_some() {
                errors.push(FieldError::new("budget", "give a target_fill or a budget, not both"));
            }
            for (name, given) in [
                ("service_level", input.service_level.is_some()),
                ("min_annual_demand", input.min_annual_demand.is_some()),
            ] {
                if given {
                    errors.push(FieldError::new(name, "applies to the baseline policy only"));
                }
            }
        }
        PolicyKind::Baseline => {
            for (name, given) in [
                ("target_fill", input.target_fill.is_some()),
                ("budget", input.budget.is_some()),
                ("forecast_error", input.forecast_error.is_some()),
            ] {
                if given {
                    errors.push(FieldError::new(name, "applies to the multi_echelon policy only"));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    Ok(RunParams {
        policy,
        target_fill: input.target_fill.unwrap_or(0.98),
        budget_minor: input.budget.map(|b| b.0),
        service_level: input.service_level.unwrap_or(0.95),
        min_annual: input.min_annual_demand.unwrap_or(1.0),
        forecast_error: input.forecast_error.unwrap_or(false),
    })
}

/// The location a run proposes for: given, or the caller's own (admin: the central warehouse).
pub fn scope_location(
    conn: &mut DbConn,
    caller: &Caller,
    code: Option<&str>,
) -> Result<network::LocationRow, AppError> {
    let scope = Scope::of(conn, caller)?;
    let code = match (code, &caller.location) {
        (Some(c), _) => c.to_string(),
        (None, Some(own)) => own.clone(),
        (None, None) => network::by_code_kind(conn, "central_warehouse")?
            .map(|id| network::by_id(conn, id))
            .transpose()?
            .map(|r| r.code)
            .ok_or_else(|| {
                AppError::unprocessable(Problem::NoNetwork, "the network has no central warehouse")
            })?,
    };
    // a location the caller sees but does not stand over (the chain above its own) is one it
    // may not plan for (403); one it does not see is not found
    let row = network::by_code(conn, &code)?
        .filter(|r| scope.sees(&r.path))
        .ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
    if !scope.covers(&row.path) {
        return Err(AppError::forbidden(format!(
            "{code} lies above the caller's location: a run is made for one's own location or one below it"
        )));
    }
    if !service::plannable(row.kind) {
        return Err(AppError::unprocessable(
            Problem::NotAPlanningScope,
            format!("{code} is a {}; plan for the central warehouse or a regional centre", row.kind),
        ));
    }
    Ok(row)
}

/// Run replenishment planning
///
/// Estimates demand per part and station (the history of requests and consumption, and
/// failure rate x installed base, combined as a Gamma-Poisson posterior), computes stock levels for the
/// whole tree under the policy, and proposes, within the given location's subtree, transfers
/// down the tree and purchases from the supplier for review. Proposals of earlier runs still
/// open that this run could have made (into a location it covers, from a source it covers)
/// are superseded; a centre's run leaves the warehouse's transfer into the centre alone.
#[utoipa::path(
    tag = "planning",
    request_body = PlanningRunIn,
    responses((status = 201, description = "The planning run made, with its proposals", body = PlanningRunOut), E400, E401, E403, E404RunScope, E415, E422Run),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/planning/runs")]
pub async fn create_run(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PlanningRunIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let input = body.0;
    let params = params_of(&input)?;
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            let scope = scope_location(conn, &caller, input.location.as_deref())?;
            let row = service::run(conn, &scope, params, &caller.username, now, &Silent);
            // the run's working memory is freed by now: hand it back rather than keep its peak
            crate::mem::give_back();
            run_out(conn, row?)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Read a planning run
#[utoipa::path(
    tag = "planning",
    params(("id" = i64, Path, description = "run id", example = 1002)),
    responses((status = 200, description = "The planning run, with its proposals", body = PlanningRunOut), E401, E403, E404Run),
    security(("bearer" = ["admin", "warehouse", "finance"]))
)]
#[get("/planning/runs/{id}")]
pub async fn get_run(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PlanningRunOut>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Finance])?;
    let id = id.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let row = visible_run(conn, &caller, id)?;
            run_out(conn, row)
        })
        .await?;
    Ok(web::Json(out))
}

// The refusals of the planning runs, each with its own example (`http::docs`).

crate::problems!(E404RunScope, 404, "The location to plan for is unknown or out of the caller's scope", [
    NotFound => "location RC-QD not found",
]);
crate::problems!(
    E422Run,
    422,
    "A field breaks a rule (`errors`); the location is not one planning is run for; the network has no central warehouse",
    [
        ValidationFailed => "budget: give a target_fill or a budget, not both"
            {"errors": [{"field": "budget", "message": "give a target_fill or a budget, not both"}]},
        NotAPlanningScope => "ST-TZ-001 is a station; plan for the central warehouse or a regional centre",
        NoNetwork => "the network has no central warehouse to plan",
    ]
);
crate::problems!(E404Run, 404, "No planning run of this id in the caller's scope", [
    NotFound => "planning run 5 not found",
]);
