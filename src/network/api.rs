//! HTTP handlers of the network: locations and tiers.

use std::collections::BTreeMap;

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use super::rules::Tier;
use super::rules::{self, LocationKind};
use super::store::{self, LocationChanges, LocationFilter, LocationRow, NewLocation};
use crate::auth::{Caller, Role, Scope};
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{double_option, not_null, Json, KeyPage, Page};
use crate::money::Money;
use crate::state::AppState;
use crate::validate::{not_blank, one_line, Validate};

/// A place in the network.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "ST-TZ-001", "name": "Taizhou Jiaojiang service station", "kind": "station",
    "parent": "RC-HZ", "region": "Zhejiang", "city": "Taizhou", "address": null, "tier": "B",
    "lead_time_days": 2, "active": true
}))]
pub struct LocationOut {
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    /// the code of the location above this one in the tree
    pub parent: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    /// stations only: the tier in force now
    pub tier: Option<Tier>,
    /// days from the parent to this location
    pub lead_time_days: Option<i32>,
    pub active: bool,
}

fn to_out(row: LocationRow, parents: &BTreeMap<i64, String>) -> LocationOut {
    LocationOut {
        parent: row.parent_id.and_then(|p| parents.get(&p).cloned()),
        kind: row.kind,
        tier: row.tier,
        code: row.code,
        name: row.name,
        region: row.region,
        city: row.city,
        address: row.address,
        lead_time_days: row.lead_time_days,
        active: row.active,
    }
}

fn with_parents(conn: &mut crate::db::DbConn, rows: Vec<LocationRow>) -> Result<Vec<LocationOut>, AppError> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.parent_id).collect();
    let parents = store::codes_of(conn, &ids)?;
    Ok(rows.into_iter().map(|r| to_out(r, &parents)).collect())
}

/// Roles that may read the location tree (couriers see addresses on their shipments only).
const READERS: [Role; 6] =
    [Role::Admin, Role::Warehouse, Role::Station, Role::Technician, Role::Agent, Role::Finance];

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LocationQuery {
    /// only this kind
    pub kind: Option<LocationKind>,
    /// only the children of this location code
    #[param(max_length = 64)]
    pub parent: Option<String>,
    /// only stations of this tier
    pub tier: Option<Tier>,
    #[param(max_length = 100)]
    pub region: Option<String>,
    /// text in the code or name
    #[param(max_length = 100)]
    pub q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// List locations
///
/// Scoped users (warehouse, station, technician) see their own location, what lies below it
/// and the chain above it; a station never sees another station.
#[utoipa::path(
    tag = "network",
    params(LocationQuery, KeyPage),
    responses((status = 200, description = "The page of locations in the caller's sight, ordered by code", body = Page<LocationOut>), E400, E401, E403, E404Location, E422),
    security(("bearer" = ["admin", "warehouse", "station", "technician", "agent", "finance"]))
)]
#[get("/locations")]
pub async fn list_locations(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<LocationQuery>,
) -> Result<web::Json<Page<LocationOut>>, AppError> {
    caller.require(&READERS)?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let result = state
        .db
        .read(move |conn| {
            let mut filter = LocationFilter {
                kind: q.kind.map(|k| k.as_str().to_string()),
                tier: q.tier.map(|t| t.as_str().to_string()),
                region: q.region.clone(),
                q: q.q.clone(),
                ..Default::default()
            };
            let scope = Scope::of(conn, &caller)?;
            if let Some(parent) = &q.parent {
                // a parent filtered on is checked like a path id: unknown or out of the caller's
                // sight (below it, or the chain above it) is 404, never an empty page
                match store::by_code(conn, parent)?.filter(|p| scope.sees(&p.path)) {
                    Some(p) => filter.parent_id = Some(p.id),
                    None => {
                        return Err(AppError::not_found(format!("location {parent} not found"))
                            .with("field", "parent"))
                    }
                }
            }
            if let Scope::Under { path } = scope {
                let ancestors = path.split('/').filter_map(|s| s.parse().ok()).collect();
                filter.within = Some((path, ancestors));
            }
            let rows = store::list(conn, &filter, page.after.as_deref(), page.fetch())?;
            let page = page.page(rows, |r| r.code.clone());
            let items = with_parents(conn, page.items)?;
            Ok(Page { items, next_cursor: page.next_cursor })
        })
        .await?;
    Ok(web::Json(result))
}

/// Reads one location in scope, or 404.
pub(crate) fn visible(
    conn: &mut crate::db::DbConn,
    caller: &Caller,
    code: &str,
) -> Result<LocationRow, AppError> {
    let scope = Scope::of(conn, caller)?;
    match store::by_code(conn, code)? {
        Some(row) if scope.sees(&row.path) => Ok(row),
        _ => Err(AppError::not_found(format!("location {code} not found"))),
    }
}

/// Read a location
#[utoipa::path(
    tag = "network",
    params(("code" = String, Path, description = "location code, e.g. ST-TZ-001", example = "ST-TZ-001")),
    responses((status = 200, description = "The location, with its parent and tier", body = LocationOut), E401, E403, E404Location),
    security(("bearer" = ["admin", "warehouse", "station", "technician", "agent", "finance"]))
)]
#[get("/locations/{code}")]
pub async fn get_location(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<web::Json<LocationOut>, AppError> {
    caller.require(&READERS)?;
    let code = code.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let row = visible(conn, &caller, &code)?;
            Ok(with_parents(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}

/// A new location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "ST-HZ-101", "name": "Hangzhou Xihu station", "kind": "station", "parent": "RC-HZ",
    "region": "Zhejiang", "city": "Hangzhou", "tier": "C", "lead_time_days": 1
}))]
#[validate(rules = new_location_rules)]
pub struct NewLocationIn {
    /// upper-case letters, digits and dashes, 2-32 characters
    #[schema(min_length = 2, max_length = 32)]
    pub code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: LocationKind,
    /// required for regional centres (the central warehouse) and stations (a regional centre)
    #[schema(max_length = 64)]
    pub parent: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub region: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub city: Option<String>,
    #[schema(min_length = 1, max_length = 500)]
    pub address: Option<String>,
    /// required for stations
    pub tier: Option<Tier>,
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: Option<i32>,
}

/// A new location's rules beside its fields' limits (a body: `at` is empty).
fn new_location_rules(l: &NewLocationIn, _at: &str, errors: &mut Vec<FieldError>) {
    if !rules::valid_code(&l.code) {
        errors.push(FieldError::new(
            "code",
            "use 2-32 upper-case letters, digits and single dashes, e.g. ST-HZ-101",
        ));
    }
    not_blank(errors, "name", Some(&l.name));
    not_blank(errors, "region", l.region.as_deref());
    not_blank(errors, "city", l.city.as_deref());
    not_blank(errors, "address", l.address.as_deref());
    for (field, value) in [
        ("name", Some(l.name.as_str())),
        ("region", l.region.as_deref()),
        ("city", l.city.as_deref()),
        ("address", l.address.as_deref()),
    ] {
        one_line(errors, field, value);
    }
}

/// Create a location (admin)
#[utoipa::path(
    tag = "network",
    request_body = NewLocationIn,
    responses((status = 201, description = "The location created", body = LocationOut), E400, E401, E403, E409Location, E415, E422Location),
    security(("bearer" = ["admin"]))
)]
#[post("/locations")]
pub async fn create_location(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewLocationIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            if store::by_code(conn, &input.code)?.is_some() {
                return Err(AppError::conflict(
                    Problem::AlreadyExists,
                    format!("location {} already exists", input.code),
                ));
            }
            let parent = match &input.parent {
                Some(p) => Some(store::by_code(conn, p)?.ok_or_else(|| {
                    AppError::invalid_fields(vec![FieldError::new("parent", format!("no location {p}"))])
                })?),
                None => None,
            };
            let parent_kind = parent.as_ref().map(|p| p.kind);
            let central = input.kind == LocationKind::CentralWarehouse && store::central_exists(conn)?;
            rules::check_placement(input.kind, parent_kind, input.tier.map(Tier::as_str), central)
                .map_err(|m| AppError::unprocessable(Problem::InvalidPlacement, m))?;
            let new = NewLocation {
                code: &input.code,
                name: input.name.trim(),
                kind: input.kind.as_str(),
                parent_id: parent.as_ref().map(|p| p.id),
                path: "/",
                region: input.region.as_deref(),
                city: input.city.as_deref(),
                address: input.address.as_deref(),
                tier: input.tier.map(Tier::as_str),
                lead_time_days: input.lead_time_days,
                active: true,
                created_at: now.naive_utc(),
            };
            let id = store::insert(conn, &new, parent.as_ref().map(|p| p.path.as_str()))?;
            if let Some(tier) = input.tier {
                store::record_tier(
                    conn,
                    id,
                    tier,
                    now.date_naive(),
                    Some("created"),
                    Some(&caller.username),
                    now.naive_utc(),
                )?;
            }
            let row = store::by_id(conn, id)?;
            Ok(with_parents(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/locations/{}", out.code)))
        .json(out))
}

/// Changes to a location; absent fields stay as they are, `null` clears a field.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Taizhou Jiaojiang station", "lead_time_days": 2}))]
#[validate(rules = location_patch_rules)]
pub struct LocationPatchIn {
    #[schema(min_length = 1, max_length = 200)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(min_length = 1, max_length = 100)]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(min_length = 1, max_length = 100)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(min_length = 1, max_length = 500)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// A location change's rules beside its fields' limits (a body: `at` is empty).
fn location_patch_rules(p: &LocationPatchIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "name", p.name.as_deref());
    not_blank(errors, "region", p.region.as_ref().and_then(|r| r.as_deref()));
    not_blank(errors, "city", p.city.as_ref().and_then(|r| r.as_deref()));
    not_blank(errors, "address", p.address.as_ref().and_then(|r| r.as_deref()));
    for (field, value) in [
        ("name", p.name.as_deref()),
        ("region", p.region.as_ref().and_then(|r| r.as_deref())),
        ("city", p.city.as_ref().and_then(|r| r.as_deref())),
        ("address", p.address.as_ref().and_then(|r| r.as_deref())),
    ] {
        one_line(errors, field, value);
    }
}

/// Change a location (admin)
///
/// `active: false` closes the location: it starts no new work (no parts request of a closed
/// station, no reservation from a closed centre or warehouse, no ticket taken in or moved
/// there, no purchase receipt into it: 409 `location_inactive`), while what is under way there
/// finishes (requests already raised, shipments on their way, tickets already there, loans,
/// core returns, stock counts). `active: true` reopens it.
#[utoipa::path(
    tag = "network",
    params(("code" = String, Path, description = "location code", example = "ST-TZ-001")),
    request_body = LocationPatchIn,
    responses((status = 200, description = "The location as changed", body = LocationOut), E400, E401, E403, E404Location, E415, E422),
    security(("bearer" = ["admin"]))
)]
#[patch("/locations/{code}")]
pub async fn patch_location(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<LocationPatchIn>,
) -> Result<web::Json<LocationOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let p = body.0;
    let code = code.into_inner();
    let out = state
        .db
        .write(move |conn| {
            let row = visible(conn, &caller, &code)?;
            let changes = LocationChanges {
                name: p.name.map(|n| n.trim().to_string()),
                region: p.region,
                city: p.city,
                address: p.address,
                lead_time_days: p.lead_time_days,
                active: p.active,
            };
            store::update(conn, row.id, &changes)?;
            let row = store::by_id(conn, row.id)?;
            Ok(with_parents(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}

/// What a station tier allows.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "tier": "B", "credit_allowance": "60000.00", "may_order_from_hq": true,
    "allocation_priority": 2, "core_return_days": 15,
    "labour_rates": {"repair": "80.00", "install": "60.00", "maintenance": "40.00", "inspection": "30.00"}
}))]
pub struct TierOut {
    pub tier: Tier,
    /// the most value of parts a station may hold outstanding
    pub credit_allowance: Money,
    /// whether the station may request straight from the central warehouse
    pub may_order_from_hq: bool,
    /// lower is served first when stock is short
    pub allocation_priority: i32,
    /// days to return an old part
    pub core_return_days: i32,
    /// labour rate per job type
    pub labour_rates: BTreeMap<String, Money>,
}

/// List station tiers
#[utoipa::path(
    tag = "network",
    responses((status = 200, description = "Every station tier with what it allows", body = Vec<TierOut>), E401),
    security(("bearer" = []))
)]
#[get("/tiers")]
pub async fn list_tiers(
    state: web::Data<AppState>,
    _caller: Caller,
) -> Result<web::Json<Vec<TierOut>>, AppError> {
    let tiers = state
        .db
        .read(|conn| {
            Ok(store::tiers(conn)?
                .into_iter()
                .map(|(t, rates)| TierOut {
                    tier: t.tier,
                    credit_allowance: Money(t.credit_allowance_minor),
                    may_order_from_hq: t.may_order_from_hq,
                    allocation_priority: t.allocation_priority,
                    core_return_days: t.core_return_days,
                    labour_rates: rates.into_iter().map(|(k, v)| (k, Money(v))).collect(),
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(web::Json(tiers))
}

// The refusals of the locations' operations, each with its own example (`http::docs`).

crate::problems!(E404Location, 404, "No location of this code in the caller's sight", [
    NotFound => "location ST-XX-999 not found",
]);
crate::problems!(E409Location, 409, "A location of this code exists already", [
    AlreadyExists => "location RC-HZ already exists",
]);
crate::problems!(
    E422Location,
    422,
    "A field breaks a rule (`errors`: a code out of its form, a parent that does not exist), or the kind does not fit its place in the tree",
    [
        ValidationFailed => "parent: no location RC-XX" {"errors": [{"field": "parent", "message": "no location RC-XX"}]},
        InvalidPlacement => "a station needs a parent regional_centre",
    ]
);
