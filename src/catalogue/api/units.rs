//! `/units`: product units sold with their factory inspection records, and the installed base.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{E404Unit, E409NewUnit, E422ModelContext, E422Unit};
use crate::auth::{Caller, Role};
use crate::catalogue::codes;
use crate::catalogue::resolve;
use crate::catalogue::rules;
use crate::catalogue::store::models::{self as model_store, ModelRow};
use crate::catalogue::store::units::{
    self as store, InstalledBase, NewComponent, NewUnit, UnitFilter, UnitRow,
};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Query;
use crate::http::{Json, KeyPage, Page};
use crate::state::AppState;
use crate::validate::{fail_if_any, Validate};

/// A warranty term and the last day it covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarrantyOut {
    /// `unit` for the whole unit, else a part family
    pub covers: String,
    pub months: i32,
    pub until: Option<NaiveDate>,
    /// covered today
    pub active: bool,
}

/// One serialized component fitted at the factory.
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ComponentOut {
    /// part family, e.g. CMP; taken from `part_code` when absent
    #[schema(max_length = 3)]
    pub family: Option<String>,
    #[schema(max_length = 64)]
    pub part_code: Option<String>,
    /// the component's serial number
    #[schema(max_length = 40)]
    pub serial: Option<String>,
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub production_date: Option<NaiveDate>,
}

/// A product unit sold.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "serial": "RF2409000123", "model": "BCD-539WT", "line": "RF", "ship_date": "2024-09-12",
    "region": "Zhejiang",
    "warranty": [{"covers": "unit", "months": 12, "until": "2025-09-11", "active": false},
                 {"covers": "CMP", "months": 120, "until": "2034-09-11", "active": true}],
    "swaps": [],
    "components": [{"family": "CMP", "part_code": "RF-CMP-00130B", "serial": "CMP24083100457", "production_date": null},
                   {"family": "PCB", "part_code": "RF-PCB-00172N", "serial": null, "production_date": "2024-08-20"}]
}))]
pub struct UnitOut {
    pub serial: String,
    pub model: String,
    pub line: String,
    /// warranty runs from this date
    pub ship_date: NaiveDate,
    pub region: String,
    /// the whole-unit term first, then the longer component terms
    pub warranty: Vec<WarrantyOut>,
    /// the unit's record of its serialized components: what the factory fitted, or the part a
    /// swap fitted since; serials and production dates are shown to warehouse and admin users only
    pub components: Vec<ComponentOut>,
    /// the swaps of its components, oldest first
    pub swaps: Vec<SwapOut>,
}

/// A component swapped on a repair: the unit's record took the fitted part's serial.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"at": "2026-11-25T10:00:00Z", "ticket_id": 7, "family": "CMP",
    "part_code": "RF-CMP-00130B", "old_serial": "CMP6165341773", "old_production_date": null,
    "new_serial": "NEWCMP0001", "by": "tech-st-tz-001"}))]
pub struct SwapOut {
    pub at: chrono::DateTime<chrono::Utc>,
    pub ticket_id: i64,
    pub family: String,
    /// the part fitted
    pub part_code: String,
    /// the serial of the part taken out (warehouse and admin users only)
    pub old_serial: Option<String>,
    pub old_production_date: Option<NaiveDate>,
    /// the serial of the part fitted (warehouse and admin users only)
    pub new_serial: Option<String>,
    /// who returned the old part
    pub by: String,
}

fn units_out(
    conn: &mut DbConn,
    rows: Vec<UnitRow>,
    today: NaiveDate,
    serials: bool,
) -> Result<Vec<UnitOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut components = store::components_of(conn, &ids)?;
    let mut swaps = store::swaps_of(conn, &ids)?;
    // the units' models and their component warranties, read once for the page
    let mut model_ids: Vec<i64> = rows.iter().map(|r| r.model_id).collect();
    model_ids.sort_unstable();
    model_ids.dedup();
    let mut found = model_store::by_ids(conn, &model_ids)?;
    let mut terms = model_store::warranties(conn, &model_ids)?;
    let mut models: BTreeMap<i64, (ModelRow, BTreeMap<String, i32>)> = BTreeMap::new();
    for id in model_ids {
        let m = found.remove(&id).ok_or(diesel::result::Error::NotFound)?;
        models.insert(id, (m, terms.remove(&id).unwrap_or_default()));
    }
    let term = |covers: &str, months: i32, ship: NaiveDate| {
        let until = rules::warranty_until(ship, months);
        WarrantyOut { covers: covers.to_string(), months, until, active: until.is_some_and(|u| today <= u) }
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let (model, terms) = &models[&r.model_id];
            let mut warranty = vec![term("unit", model.warranty_months, r.ship_date)];
            warranty.extend(terms.iter().map(|(f, m)| term(f, *m, r.ship_date)));
            let components = components
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| ComponentOut {
                    family: Some(c.family),
                    part_code: c.part_code,
                    serial: c.serial.filter(|_| serials),
                    production_date: c.production_date.filter(|_| serials),
                })
                .collect();
            let swaps = swaps
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(s, part_code)| SwapOut {
                    at: s.swapped_at.and_utc(),
                    ticket_id: s.ticket_id,
                    family: s.family,
                    part_code,
                    old_serial: s.old_serial.filter(|_| serials),
                    old_production_date: s.old_production_date.filter(|_| serials),
                    new_serial: s.new_serial.filter(|_| serials),
                    by: s.swapped_by,
                })
                .collect();
            UnitOut {
                serial: r.serial,
                model: model.code.clone(),
                line: model.line.clone(),
                ship_date: r.ship_date,
                region: r.region,
                warranty,
                components,
                swaps,
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UnitQuery {
    /// only units of this model code
    #[param(max_length = 64)]
    pub model: Option<String>,
    /// only units of this product line
    #[param(max_length = 64)]
    pub line: Option<String>,
    /// only units sold in this region
    #[param(max_length = 100)]
    pub region: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// List product units sold
#[utoipa::path(
    tag = "catalogue",
    params(UnitQuery, KeyPage),
    responses((status = 200, description = "The page of units sold, in serial order", body = Page<UnitOut>), E400, E401, E422ModelContext),
    security(("bearer" = []))
)]
#[get("/units")]
pub async fn list_units(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<UnitQuery>,
) -> Result<web::Json<Page<UnitOut>>, AppError> {
    let q = query.into_inner();
    let page = q.page.request()?;
    let today = state.clock.now().date_naive();
    let out = state
        .db
        .read(move |conn| {
            let model = resolve::model_context(conn, q.model.as_deref())?;
            let filter =
                UnitFilter { model_id: model.map(|m| m.id), line: q.line.clone(), region: q.region.clone() };
            let rows = store::list(conn, &filter, page.after.as_deref(), page.fetch())?;
            let page = page.page(rows, |r| r.serial.clone());
            let serials = caller.sees_component_serials();
            Ok(Page { items: units_out(conn, page.items, today, serials)?, next_cursor: page.next_cursor })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a product unit
///
/// With its record of serialized components and their swaps; the serials and production dates
/// in them are shown to warehouse and admin users only (a core return is checked against them).
#[utoipa::path(
    tag = "catalogue",
    params(("serial" = String, Path, description = "unit serial number", example = "RF00000001")),
    responses((status = 200, description = "The unit, with its model and its components' factory record", body = UnitOut), E401, E404Unit),
    security(("bearer" = []))
)]
#[get("/units/{serial}")]
pub async fn get_unit(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
) -> Result<web::Json<UnitOut>, AppError> {
    let serial = serial.into_inner();
    let today = state.clock.now().date_naive();
    let out = state
        .db
        .read(move |conn| {
            let row = store::by_serial_typed(conn, &serial)?
                .ok_or_else(|| AppError::not_found(format!("there is no unit {serial}")))?;
            Ok(units_out(conn, vec![row], today, caller.sees_component_serials())?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}

/// A product unit sold, with its factory inspection record.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "serial": "RF2611000001", "model": "BCD-539WT", "ship_date": "2026-11-02", "region": "Zhejiang",
    "components": [{"part_code": "RF-CMP-00130B", "serial": "CMP26101500031"},
                   {"part_code": "RF-PCB-00172N", "production_date": "2026-10-01"}]
}))]
pub struct NewUnitIn {
    /// 4-40 letters, digits and dashes; recorded in capitals (`rf2611000001` is RF2611000001,
    /// and is refused as a second unit when that exists)
    #[schema(min_length = 4, max_length = 40)]
    pub serial: String,
    #[schema(min_length = 1, max_length = 64)]
    pub model: String,
    /// on or after the model's launch, not in the future
    #[serde(deserialize_with = "crate::http::date::day")]
    pub ship_date: NaiveDate,
    /// a region of the network, e.g. Zhejiang
    #[schema(min_length = 1, max_length = 100)]
    pub region: String,
    /// each needs `family` or `part_code` (a part that fits the model), and `serial` or
    /// `production_date`
    #[serde(default)]
    #[schema(max_items = 50)]
    pub components: Vec<ComponentOut>,
}

/// Register a product unit sold (admin, agent)
#[utoipa::path(
    tag = "catalogue",
    request_body = NewUnitIn,
    responses((status = 201, description = "The unit recorded", body = UnitOut), E400, E401, E403, E409NewUnit, E415, E422Unit),
    security(("bearer" = ["admin", "agent"]))
)]
#[post("/units")]
pub async fn create_unit(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewUnitIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Agent])?;
    let mut input = body.0;
    // units are recorded in capitals, so a serial differing only in case is the same unit
    input.serial = input.serial.to_ascii_uppercase();
    // and so are the parts fitted in it, as every part serial in the ledger
    for c in &mut input.components {
        if let Some(s) = &mut c.serial {
            s.make_ascii_uppercase();
        }
    }
    let now = state.clock.now();
    let today = now.date_naive();
    let mut errors = Vec::new();
    if !rules::valid_serial(&input.serial) {
        errors.push(FieldError::new("serial", "4-40 letters, digits and dashes"));
    }
    if input.ship_date > today {
        errors.push(FieldError::new("ship_date", "must not be in the future"));
    }
    for (i, c) in input.components.iter().enumerate() {
        let field = |f: &str| format!("components[{i}].{f}");
        if c.family.is_none() && c.part_code.is_none() {
            errors.push(FieldError::new(field("family"), "give the family or the part_code"));
        }
        if c.family.as_deref().is_some_and(|f| !codes::valid_family(f)) {
            errors.push(FieldError::new(field("family"), "3 upper-case letters, e.g. CMP"));
        }
        if c.serial.is_none() && c.production_date.is_none() {
            errors.push(FieldError::new(field("serial"), "give the serial or the production_date"));
        }
        if c.serial.as_deref().is_some_and(|s| !rules::valid_serial(s)) {
            errors.push(FieldError::new(field("serial"), "4-40 letters, digits and dashes"));
        }
        if c.production_date.is_some_and(|d| d > input.ship_date) {
            errors.push(FieldError::new(field("production_date"), "must not be after the ship date"));
        }
    }
    fail_if_any(errors)?;
    let out = state
        .db
        .write(move |conn| {
            if store::by_serial(conn, &input.serial)?.is_some() {
                return Err(AppError::conflict(
                    Problem::AlreadyExists,
                    format!("unit {} already exists", input.serial),
                ));
            }
            let model = resolve::model_context(conn, Some(&input.model))?
                .ok_or_else(|| AppError::not_found("model"))?;
            let mut errors = Vec::new();
            if input.ship_date < model.launch_date {
                errors.push(FieldError::new(
                    "ship_date",
                    format!("before the model's launch on {}", model.launch_date),
                ));
            }
            let regions = store::regions(conn)?;
            if !regions.contains(&input.region) {
                errors.push(FieldError::new(
                    "region",
                    format!("not a region of the network; one of: {}", regions.join(", ")),
                ));
            }
            fail_if_any(errors)?;
            let mut components = Vec::new();
            for (i, c) in input.components.into_iter().enumerate() {
                let (family, part_id) = match &c.part_code {
                    Some(code) => {
                        let field = format!("components[{i}].part_code");
                        let part = resolve::resolve_part_code(conn, code, Some(&model.code))
                            .map_err(|e| e.with("field", &field))?;
                        resolve::check_compatible(conn, &part, &model)
                            .map_err(|e| e.with("field", &field))?;
                        if c.family.as_ref().is_some_and(|f| *f != part.family) {
                            return Err(AppError::invalid_fields(vec![FieldError::new(
                                format!("components[{i}].family"),
                                format!("part {} is of family {}", part.code, part.family),
                            )]));
                        }
                        (part.family, Some(part.id))
                    }
                    None => (c.family.unwrap_or_default(), None),
                };
                // one record per component family: a core is checked against the unit's one
                // record of its family, so a second would make a genuine core a mismatch
                if components.iter().any(|k: &NewComponent| k.family == family) {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        format!("components[{i}].family"),
                        format!("the unit has a {family} component already; give each family once"),
                    )]));
                }
                // a serial is in one place: not in another unit, not on a shelf or on its way
                if let Some(serial) = &c.serial {
                    if store::fitted_in_unit(conn, serial)? || store::held_in_stock(conn, serial)? {
                        return Err(AppError::conflict(
                            Problem::SerialElsewhere,
                            format!(
                                "serial {serial} is recorded elsewhere already (in a unit, or held in stock)"
                            ),
                        )
                        .with("field", format!("components[{i}].serial"))
                        .with("serial", serial));
                    }
                    if components.iter().any(|k: &NewComponent| k.serial.as_ref() == Some(serial)) {
                        return Err(AppError::invalid_fields(vec![FieldError::new(
                            format!("components[{i}].serial"),
                            "given twice",
                        )]));
                    }
                }
                components.push(NewComponent {
                    unit_id: 0,
                    family,
                    part_id,
                    serial: c.serial,
                    production_date: c.production_date,
                });
            }
            let new = NewUnit {
                serial: input.serial,
                model_id: model.id,
                ship_date: input.ship_date,
                region: input.region,
                created_at: now.naive_utc(),
            };
            let (id, serial) = store::insert_many(conn, &[new])?.remove(0);
            components.iter_mut().for_each(|c| c.unit_id = id);
            store::insert_components(conn, &components)?;
            let row = store::by_serial_typed(conn, &serial)?.ok_or_else(|| AppError::not_found("unit"))?;
            Ok(units_out(conn, vec![row], today, caller.sees_component_serials())?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Created().insert_header(("Location", format!("/api/v1/units/{}", out.serial))).json(out))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InstalledBaseQuery {
    /// only this model code
    #[param(max_length = 64)]
    pub model: Option<String>,
    /// only this region
    #[param(max_length = 100)]
    pub region: Option<String>,
    /// units shipped on or before this date (default today)
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub on: Option<NaiveDate>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// The installed base's page parameters as the document shows them: those of every keyed list
/// (`KeyPage`, which reads them), with the cursor's form, `model:region`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct InstalledBasePage {
    /// page size, 1-500 (default 50)
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page: its last row's `model:region`, e.g. `BCD-539WT:Zhejiang`
    /// (one line: a model code and a region hold no control character)
    #[param(pattern = r"^[^:\x00-\x1f\x7f-\x9f]+:[^\x00-\x1f\x7f-\x9f]+$", max_length = 64)]
    cursor: Option<String>,
}

/// Installed base: units in service per model per region
///
/// Derived from the units sold; demand planning uses it. A page of (model, region) rows in
/// model then region order; the cursor is the last row's `model:region`.
#[utoipa::path(
    tag = "catalogue",
    params(InstalledBaseQuery, InstalledBasePage),
    responses((status = 200, description = "The page of the installed base per model and region, in model then region order", body = Page<InstalledBase>), E400, E401, E422ModelContext),
    security(("bearer" = []))
)]
#[get("/installed-base")]
pub async fn installed_base(
    state: web::Data<AppState>,
    _caller: Caller,
    query: Query<InstalledBaseQuery>,
) -> Result<web::Json<Page<InstalledBase>>, AppError> {
    let q = query.into_inner();
    let page = q.page.request()?;
    // a model code holds no colon: the cursor's first colon ends it; neither it nor a region
    // holds a control character (a line break, a tab), which the document's pattern refuses too
    let after = page
        .after_key(|k| {
            !k.chars().any(char::is_control)
                && k.split_once(':').is_some_and(|(m, r)| !m.is_empty() && !r.is_empty())
        })?
        .and_then(|k| k.split_once(':'))
        .map(|(m, r)| (m.to_string(), r.to_string()));
    let on = q.on.unwrap_or_else(|| state.clock.now().date_naive());
    let out = state
        .db
        .read(move |conn| {
            resolve::model_context(conn, q.model.as_deref())?;
            let rows = store::installed_base(conn, q.model.as_deref(), q.region.as_deref(), on)?;
            // every row of the filters is one (model, region) of the network: a few thousand at
            // most, read in two statements whatever the page
            let rows: Vec<InstalledBase> = rows
                .into_iter()
                .filter(|r| after.as_ref().is_none_or(|(m, g)| (&r.model, &r.region) > (m, g)))
                .take(page.fetch() as usize)
                .collect();
            Ok(page.page(rows, |r| format!("{}:{}", r.model, r.region)))
        })
        .await?;
    Ok(web::Json(out))
}
