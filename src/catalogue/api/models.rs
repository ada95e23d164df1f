//! `/models`: product models with their warranty terms.

use std::collections::BTreeMap;

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::check_text;
use super::{E404Model, E409NewModel, E422Model, E422NewModel};
use crate::auth::{Caller, Role};
use crate::catalogue::codes;
use crate::catalogue::rules::{self, MAX_WARRANTY_MONTHS};
use crate::catalogue::store::models::{self as store, ModelChanges, ModelFilter, ModelRow, NewModel};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{not_null, Json, KeyPage, Page};
use crate::state::AppState;
use crate::validate::{fail_if_any, Validate};

/// A product model and its warranty terms.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "BCD-539WT", "line": "RF", "name": "539 L side-by-side refrigerator",
    "launch_date": "2023-03-01", "end_of_production": null, "warranty_months": 12,
    "component_warranty": {"CMP": 120}
}))]
pub struct ModelOut {
    pub code: String,
    pub line: String,
    pub name: String,
    pub launch_date: NaiveDate,
    pub end_of_production: Option<NaiveDate>,
    /// whole-unit warranty, months from the ship date
    pub warranty_months: i32,
    /// longer terms for named components: part family -> months from the ship date
    pub component_warranty: BTreeMap<String, i32>,
}

pub fn models_out(conn: &mut DbConn, rows: Vec<ModelRow>) -> Result<Vec<ModelOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut terms = store::warranties(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| ModelOut {
            component_warranty: terms.remove(&r.id).unwrap_or_default(),
            code: r.code,
            line: r.line,
            name: r.name,
            launch_date: r.launch_date,
            end_of_production: r.end_of_production,
            warranty_months: r.warranty_months,
        })
        .collect())
}

pub(super) fn model_at(conn: &mut DbConn, code: &str) -> Result<ModelRow, AppError> {
    store::by_code(conn, code)?
        .ok_or_else(|| AppError::not_found(format!("there is no product model {code}")))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ModelQuery {
    /// product line, e.g. RF
    #[param(max_length = 64)]
    pub line: Option<String>,
    /// text in the code or name
    #[param(max_length = 100)]
    pub q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// List product models
#[utoipa::path(
    tag = "catalogue",
    params(ModelQuery, KeyPage),
    responses((status = 200, description = "The page of product models, in code order", body = Page<ModelOut>), E400, E401, E422),
    security(("bearer" = []))
)]
#[get("/models")]
pub async fn list_models(
    state: web::Data<AppState>,
    _caller: Caller,
    query: Query<ModelQuery>,
) -> Result<web::Json<Page<ModelOut>>, AppError> {
    let q = query.into_inner();
    let page = q.page.request()?;
    let result = state
        .db
        .read(move |conn| {
            let filter =
                ModelFilter { line: q.line.clone(), q: q.q.clone().filter(|t| !t.trim().is_empty()) };
            let rows = store::list(conn, &filter, page.after.as_deref(), page.fetch())?;
            let page = page.page(rows, |r| r.code.clone());
            Ok(Page { items: models_out(conn, page.items)?, next_cursor: page.next_cursor })
        })
        .await?;
    Ok(web::Json(result))
}

/// Read a product model
#[utoipa::path(
    tag = "catalogue",
    params(("code" = String, Path, description = "model code, e.g. BCD-539WT", example = "BCD-539WT")),
    responses((status = 200, description = "The product model with its warranty terms", body = ModelOut), E401, E404Model),
    security(("bearer" = []))
)]
#[get("/models/{code}")]
pub async fn get_model(
    state: web::Data<AppState>,
    _caller: Caller,
    code: web::Path<String>,
) -> Result<web::Json<ModelOut>, AppError> {
    let code = code.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let row = model_at(conn, &code)?;
            Ok(models_out(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}

/// A new product model.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "BCD-560WT", "line": "RF", "name": "560 L side-by-side refrigerator",
    "launch_date": "2026-09-01", "warranty_months": 12, "component_warranty": {"CMP": 120}
}))]
#[validate(rules = new_model_rules)]
pub struct NewModelIn {
    /// upper-case letters, digits, dashes and dots, 2-32 characters
    #[schema(min_length = 2, max_length = 32)]
    pub code: String,
    #[schema(pattern = "^[A-Z]{2}$")]
    pub line: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(deserialize_with = "crate::http::date::day")]
    pub launch_date: NaiveDate,
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub end_of_production: Option<NaiveDate>,
    #[schema(minimum = 0, maximum = 360)]
    pub warranty_months: i32,
    #[serde(default)]
    pub component_warranty: BTreeMap<String, i32>,
}

/// A new model's rules beside its fields' limits (a body: `at` is empty).
fn new_model_rules(m: &NewModelIn, _at: &str, errors: &mut Vec<FieldError>) {
    if !rules::valid_model_code(&m.code) {
        errors
            .push(FieldError::new("code", "2-32 upper-case letters, digits, dashes or dots, e.g. BCD-539WT"));
    }
    if !codes::valid_line(&m.line) {
        errors.push(FieldError::new("line", "2 upper-case letters, e.g. RF"));
    }
    check_text(errors, "name", Some(&m.name));
    check_dates(errors, m.launch_date, m.end_of_production);
    check_terms(errors, Some(&m.component_warranty));
}

/// A model change's rules beside its fields' limits (a body: `at` is empty).
fn model_patch_rules(m: &ModelPatchIn, _at: &str, errors: &mut Vec<FieldError>) {
    check_text(errors, "name", m.name.as_deref());
    check_terms(errors, m.component_warranty.as_ref());
}

fn check_terms(errors: &mut Vec<FieldError>, terms: Option<&BTreeMap<String, i32>>) {
    for (family, m) in terms.into_iter().flatten() {
        let field = format!("component_warranty.{family}");
        if !codes::valid_family(family) {
            errors.push(FieldError::new(field, "a part family: 3 upper-case letters, e.g. CMP"));
        } else if !(1..=MAX_WARRANTY_MONTHS).contains(m) {
            errors.push(FieldError::new(field, format!("between 1 and {MAX_WARRANTY_MONTHS} months")));
        }
    }
}

fn check_dates(errors: &mut Vec<FieldError>, launch: NaiveDate, end: Option<NaiveDate>) {
    if end.is_some_and(|e| e < launch) {
        errors.push(FieldError::new("end_of_production", "must not be before launch_date"));
    }
}

/// Create a product model (admin)
///
/// The model's product line is one the catalogue knows (a line of its parts or models), else
/// 422 `unknown_product_line` with the `lines` it knows: a line is a reference checked like one,
/// not any two letters.
#[utoipa::path(
    tag = "catalogue",
    request_body = NewModelIn,
    responses((status = 201, description = "The product model created", body = ModelOut), E400, E401, E403, E409NewModel, E415, E422NewModel),
    security(("bearer" = ["admin"]))
)]
#[post("/models")]
pub async fn create_model(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewModelIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .write(move |conn| {
            if store::by_code(conn, &input.code)?.is_some() {
                return Err(AppError::conflict(
                    Problem::AlreadyExists,
                    format!("model {} already exists", input.code),
                ));
            }
            let lines = store::known_lines(conn)?;
            if !rules::line_known(&input.line, &lines) {
                return Err(AppError::unprocessable(
                    Problem::UnknownProductLine,
                    format!(
                        "the catalogue has no product line {}; its lines are {}",
                        input.line,
                        lines.join(", ")
                    ),
                )
                .with("field", "line")
                .with("line", &input.line)
                .with("lines", lines));
            }
            let new = NewModel {
                code: input.code,
                line: input.line,
                name: input.name,
                launch_date: input.launch_date,
                end_of_production: input.end_of_production,
                warranty_months: input.warranty_months,
                created_at: now,
            };
            let (id, _) = store::insert_many(conn, &[new])?.remove(0);
            let terms: Vec<_> = input.component_warranty.into_iter().map(|(f, m)| (id, f, m)).collect();
            store::insert_warranties(conn, &terms)?;
            let row = store::by_id(conn, id)?;
            Ok(models_out(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Created().insert_header(("Location", format!("/api/v1/models/{}", out.code))).json(out))
}

/// Changes to a model; absent fields stay, `null` clears `end_of_production`;
/// `component_warranty` replaces all component terms.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"end_of_production": "2026-12-31", "component_warranty": {"CMP": 120, "PCB": 36}}))]
#[validate(rules = model_patch_rules)]
pub struct ModelPatchIn {
    #[schema(min_length = 1, max_length = 200)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::date::double_day")]
    pub end_of_production: Option<Option<NaiveDate>>,
    #[schema(minimum = 0, maximum = 360)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub warranty_months: Option<i32>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub component_warranty: Option<BTreeMap<String, i32>>,
}

/// Change a product model (admin)
#[utoipa::path(
    tag = "catalogue",
    params(("code" = String, Path, description = "model code", example = "BCD-539WT")),
    request_body = ModelPatchIn,
    responses((status = 200, description = "The product model as changed", body = ModelOut), E400, E401, E403, E404Model, E415, E422Model),
    security(("bearer" = ["admin"]))
)]
#[patch("/models/{code}")]
pub async fn patch_model(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<ModelPatchIn>,
) -> Result<web::Json<ModelOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let p = body.0;
    let code = code.into_inner();
    let out = state
        .db
        .write(move |conn| {
            let row = model_at(conn, &code)?;
            let mut errors = Vec::new();
            check_dates(&mut errors, row.launch_date, p.end_of_production.unwrap_or(row.end_of_production));
            fail_if_any(errors)?;
            let changes = ModelChanges {
                name: p.name,
                end_of_production: p.end_of_production,
                warranty_months: p.warranty_months,
            };
            store::update(conn, row.id, &changes)?;
            if let Some(terms) = p.component_warranty {
                store::clear_warranties(conn, row.id)?;
                let terms: Vec<_> = terms.into_iter().map(|(f, m)| (row.id, f, m)).collect();
                store::insert_warranties(conn, &terms)?;
            }
            let row = store::by_id(conn, row.id)?;
            Ok(models_out(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}
