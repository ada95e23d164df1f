//! `/parts`: list, create, read and change parts.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{check_text, part_out, parts_out, PartOut};
use super::{E409NewPart, E409PartChange, E422ModelContext, E422NewPart, E422PartChange, E422PartCode};
use crate::auth::{Caller, Role};
use crate::catalogue::codes::{self, PartCode};
use crate::catalogue::resolve::{self, SuccessorOut};
use crate::catalogue::rules::{self, Interchangeability, Lifecycle};
use crate::catalogue::store::parts::{self as store, NewPart, PartChanges, PartFilter, PartRow};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Query;
use crate::http::{double_option, not_null, Json, KeyPage, Page};
use crate::money::Money;
use crate::state::AppState;
use crate::validate::Validate;

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartQuery {
    /// product line, e.g. RF
    #[param(max_length = 64)]
    pub line: Option<String>,
    /// part family, e.g. CMP
    #[param(max_length = 64)]
    pub family: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    /// only parts compatible with this product model code
    #[param(max_length = 64)]
    pub model: Option<String>,
    /// text in the name or code
    #[param(max_length = 100)]
    pub q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// List parts
#[utoipa::path(
    tag = "catalogue",
    params(PartQuery, KeyPage),
    responses((status = 200, description = "The page of parts, in code order", body = Page<PartOut>), E400, E401, E422ModelContext),
    security(("bearer" = []))
)]
#[get("/parts")]
pub async fn list_parts(
    state: web::Data<AppState>,
    _caller: Caller,
    query: Query<PartQuery>,
) -> Result<web::Json<Page<PartOut>>, AppError> {
    let q = query.into_inner();
    let page = q.page.request()?;
    let result = state
        .db
        .read(move |conn| {
            let model = resolve::model_context(conn, q.model.as_deref())?;
            let filter = PartFilter {
                line: q.line.clone(),
                family: q.family.clone(),
                lifecycle: q.lifecycle.map(|l| l.as_str().to_string()),
                model_id: model.map(|m| m.id),
                q: q.q.clone().filter(|t| !t.trim().is_empty()),
            };
            let rows = store::list(conn, &filter, page.after.as_deref(), page.fetch())?;
            let page = page.page(rows, |r| r.code.clone());
            Ok(Page { items: parts_out(conn, page.items)?, next_cursor: page.next_cursor })
        })
        .await?;
    Ok(web::Json(result))
}

/// A part with what it fits and what serves a request for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartDetail {
    #[serde(flatten)]
    pub part: PartOut,
    /// when superseded: the final successor, which serves requests for this part
    pub successor: Option<SuccessorOut>,
    /// codes of the product models this part fits
    pub compatible_models: Vec<String>,
}

fn detail(conn: &mut DbConn, row: PartRow) -> Result<PartDetail, AppError> {
    let successor = resolve::resolve_successor(conn, row.clone())?.out();
    let compatible_models = store::models_of(conn, row.id)?;
    Ok(PartDetail { part: part_out(conn, row)?, successor, compatible_models })
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartContext {
    /// the product model in context: a wrong code gets suggestions among its parts only
    #[param(max_length = 64)]
    pub model: Option<String>,
}

/// Read a part
///
/// A malformed code, or one whose check character fails, is 422 `invalid_part_code`; a valid
/// code that names no part is 422 `unknown_part_code`, as a part code anywhere else. Both carry
/// `suggestions`: the nearest existing codes (compatible with `model` when given), best first.
#[utoipa::path(
    tag = "catalogue",
    params(("code" = String, Path, description = "part code, e.g. RF-CMP-00130B", example = "RF-CMP-00130B"), PartContext),
    responses((status = 200, description = "The part, with its successor chain and the models it fits", body = PartDetail), E400, E401, E422PartCode),
    security(("bearer" = []))
)]
#[get("/parts/{code}")]
pub async fn get_part(
    state: web::Data<AppState>,
    _caller: Caller,
    code: web::Path<String>,
    query: Query<PartContext>,
) -> Result<web::Json<PartDetail>, AppError> {
    let code = code.into_inner();
    let model = query.into_inner().model;
    let out = state
        .db
        .read(move |conn| {
            let row = resolve::resolve_part_code(conn, &code, model.as_deref())?;
            detail(conn, row)
        })
        .await?;
    Ok(web::Json(out))
}

/// A new part; echelon gives it the next code of its line and family.
#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "line": "RF", "family": "CMP", "name": "Compressor 130 W R600a", "unit_of_measure": "pcs",
    "unit_cost": "430.00", "sale_price": "720.00", "serialized": true, "core_returnable": true,
    "weight_grams": 9900
}))]
#[validate(rules = new_part_rules)]
pub struct NewPartIn {
    /// 2 upper-case letters
    #[schema(pattern = "^[A-Z]{2}$")]
    pub line: String,
    /// 3 upper-case letters
    #[schema(pattern = "^[A-Z]{3}$")]
    pub family: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// 1-10 lower-case letters, e.g. pcs
    #[schema(min_length = 1, max_length = 10)]
    pub unit_of_measure: String,
    pub unit_cost: Money,
    pub sale_price: Money,
    pub serialized: bool,
    pub core_returnable: bool,
    #[schema(minimum = 0, maximum = 1000000)]
    pub weight_grams: i32,
    /// default `active`
    pub lifecycle: Option<Lifecycle>,
    #[schema(max_length = 64)]
    pub superseded_by: Option<String>,
    /// required with `superseded_by`
    pub interchangeability: Option<Interchangeability>,
}

/// A new part's rules beside its fields' limits (a body: `at` is empty).
fn new_part_rules(p: &NewPartIn, _at: &str, errors: &mut Vec<FieldError>) {
    if !codes::valid_line(&p.line) {
        errors.push(FieldError::new("line", "2 upper-case letters, e.g. RF"));
    }
    if !codes::valid_family(&p.family) {
        errors.push(FieldError::new("family", "3 upper-case letters, e.g. CMP"));
    }
    check_text(errors, "name", Some(&p.name));
    check_values(
        errors,
        Some(&p.unit_of_measure),
        [("unit_cost", Some(p.unit_cost)), ("sale_price", Some(p.sale_price))],
    );
    if p.superseded_by.is_some() != p.interchangeability.is_some() {
        errors.push(FieldError::new(
            "interchangeability",
            "give superseded_by and interchangeability together",
        ));
    }
}

/// A part change's rules beside its fields' limits (a body: `at` is empty).
fn part_patch_rules(p: &PartPatchIn, _at: &str, errors: &mut Vec<FieldError>) {
    check_text(errors, "name", p.name.as_deref());
    check_values(
        errors,
        p.unit_of_measure.as_deref(),
        [("unit_cost", p.unit_cost), ("sale_price", p.sale_price)],
    );
}

fn check_values(errors: &mut Vec<FieldError>, uom: Option<&str>, money: [(&str, Option<Money>); 2]) {
    if uom.is_some_and(|u| !rules::valid_unit_of_measure(u)) {
        errors.push(FieldError::new("unit_of_measure", "use 1-10 lower-case letters, e.g. pcs"));
    }
    for (field, m) in money {
        if m.is_some_and(|m| m.0 < 0) {
            errors.push(FieldError::new(field, "must not be negative"));
        }
    }
}

/// Resolves a successor code given in a body, naming the field when it is wrong. A successor
/// is the same part made anew: of the part's own line and family (a fridge board is never
/// served by an air conditioner's capacitor), else 422 `line_mismatch`.
fn successor(conn: &mut DbConn, raw: &str, line: &str, family: &str) -> Result<PartRow, AppError> {
    let s = resolve::resolve_part_code(conn, raw, None).map_err(|e| e.with("field", "superseded_by"))?;
    if s.line != line || s.family != family {
        return Err(AppError::unprocessable(
            Problem::LineMismatch,
            format!(
                "successor {} is of line {} and family {}; a successor is of the part's own, {line} and {family}",
                s.code, s.line, s.family
            ),
        )
        .with("field", "superseded_by"));
    }
    Ok(s)
}

/// Create a part (admin)
///
/// The code is issued by echelon from `line`, `family` and the next free sequence number whose
/// code is not confusable with an existing one (one dropped or added character could not turn
/// either into the same string), so a typo of a code always suggests that code first.
#[utoipa::path(
    tag = "catalogue",
    request_body = NewPartIn,
    responses((status = 201, description = "The part created, with the code echelon issued", body = PartDetail), E400, E401, E403, E409NewPart, E415, E422NewPart),
    security(("bearer" = ["admin"]))
)]
#[post("/parts")]
pub async fn create_part(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewPartIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let now = state.clock.now().naive_utc();
    // two admins creating in one family at once may pick the same number: try again
    let mut attempt = 0;
    let out = loop {
        let input = input.clone();
        let result = state
            .db
            .write(move |conn| {
                let next = store::max_seq(conn, &input.line, &input.family)?.unwrap_or(0) + 1;
                let existing = store::all_codes(conn)?;
                let fresh = |c: &PartCode| !existing.iter().any(|e| rules::confusable(e, c.as_str()));
                let code = PartCode::next_issuable(&input.line, &input.family, next as u32, fresh)
                    .ok_or_else(|| {
                        AppError::conflict(
                            Problem::SequenceExhausted,
                            format!("no sequence number left in {}-{}", input.line, input.family),
                        )
                    })?;
                let succ = input
                    .superseded_by
                    .as_deref()
                    .map(|s| successor(conn, s, &input.line, &input.family))
                    .transpose()?;
                let new = NewPart {
                    seq: code.seq() as i32,
                    code: code.to_string(),
                    line: input.line,
                    family: input.family,
                    name: input.name,
                    unit_of_measure: input.unit_of_measure,
                    unit_cost_minor: input.unit_cost.0,
                    sale_price_minor: input.sale_price.0,
                    serialized: input.serialized,
                    core_returnable: input.core_returnable,
                    weight_grams: input.weight_grams,
                    lifecycle: input.lifecycle.unwrap_or(Lifecycle::Active).as_str().to_string(),
                    superseded_by: succ.map(|s| s.id),
                    interchangeability: input.interchangeability.map(|i| i.as_str().to_string()),
                    created_at: now,
                    updated_at: now,
                };
                let id = store::insert(conn, &new)?;
                let row = store::by_id(conn, id)?;
                detail(conn, row)
            })
            .await;
        match result {
            Err(e) if e.kind == Problem::AlreadyExists && attempt < 3 => attempt += 1,
            other => break other?,
        }
    };
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/parts/{}", out.part.code)))
        .json(out))
}

/// Changes to a part; absent fields stay, `null` clears `superseded_by`. Code, line and family
/// never change.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lifecycle": "phase_out", "superseded_by": "RF-CMP-00149Q", "interchangeability": "one_way"}))]
#[validate(rules = part_patch_rules)]
pub struct PartPatchIn {
    #[schema(min_length = 1, max_length = 200)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 10)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub unit_of_measure: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub unit_cost: Option<Money>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub sale_price: Option<Money>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub serialized: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub core_returnable: Option<bool>,
    #[schema(minimum = 0, maximum = 1000000)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub weight_grams: Option<i32>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub lifecycle: Option<Lifecycle>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(max_length = 64)]
    pub superseded_by: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub interchangeability: Option<Option<Interchangeability>>,
}

/// 409 `part_held` when any of the part is held (on hand, or a serial of it recorded, anywhere
/// but the outside world: [`store::held`]): a serialized part's units held each have their
/// serial there, so the flag cannot change under them.
pub(crate) fn refuse_if_held(conn: &mut DbConn, row: &PartRow) -> Result<(), AppError> {
    if store::held(conn, row.id)? {
        return Err(
            AppError::conflict(Problem::PartHeld, held_message(&row.code)).with("field", "serialized")
        );
    }
    Ok(())
}

/// Why a held part's serialized flag stays (the PATCH's refusal, the import's row error).
pub(crate) fn held_message(code: &str) -> String {
    format!("{code} is held (on hand or with serials recorded): whether it is serialized cannot change until none is")
}

/// Change a part (admin)
///
/// Whether a part is `serialized` changes only while none of it is held (409 `part_held`).
/// Setting `superseded_by` needs `interchangeability` (now or already); a successor that is
/// (eventually) superseded by this part is refused (422 `supersession_cycle`).
#[utoipa::path(
    tag = "catalogue",
    params(("code" = String, Path, description = "part code", example = "RF-CMP-00146W")),
    request_body = PartPatchIn,
    responses((status = 200, description = "The part as changed", body = PartDetail), E400, E401, E403, E409PartChange, E415, E422PartChange),
    security(("bearer" = ["admin"]))
)]
#[patch("/parts/{code}")]
pub async fn patch_part(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<PartPatchIn>,
) -> Result<web::Json<PartDetail>, AppError> {
    caller.require(&[Role::Admin])?;
    let p = body.0;
    let code = code.into_inner();
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .write_retrying(move |conn| {
            let row = resolve::resolve_part_code(conn, &code, None)?;
            if p.serialized.is_some_and(|s| s != row.serialized) {
                refuse_if_held(conn, &row)?;
            }
            let succ_id = match &p.superseded_by {
                Some(Some(s)) => {
                    let s = successor(conn, s, &row.line, &row.family)?;
                    resolve::refuse_cycle(conn, row.id, s.id, &row.code)?;
                    Some(Some(s.id))
                }
                Some(None) => Some(None),
                None => None,
            };
            let has_successor = succ_id.unwrap_or(row.superseded_by).is_some();
            let inter = match (p.interchangeability, has_successor) {
                (Some(Some(i)), true) => Some(Some(i.as_str().to_string())),
                (Some(Some(_)), false) => {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        "interchangeability",
                        "only for a superseded part",
                    )]))
                }
                (None, true) if row.interchangeability.is_none() => {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        "interchangeability",
                        "required with superseded_by: one_way or two_way",
                    )]))
                }
                (Some(None), true) => {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        "interchangeability",
                        "a superseded part needs one; clear superseded_by too",
                    )]))
                }
                (_, false) => row.interchangeability.is_some().then_some(None),
                (None, true) => None,
            };
            let changes = PartChanges {
                name: p.name.clone(),
                unit_of_measure: p.unit_of_measure.clone(),
                unit_cost_minor: p.unit_cost.map(|m| m.0),
                sale_price_minor: p.sale_price.map(|m| m.0),
                serialized: p.serialized,
                core_returnable: p.core_returnable,
                weight_grams: p.weight_grams,
                lifecycle: p.lifecycle.map(|l| l.as_str().to_string()),
                superseded_by: succ_id,
                interchangeability: inter,
                updated_at: Some(now),
            };
            store::update(conn, row.id, &changes)?;
            let row = store::by_id(conn, row.id)?;
            detail(conn, row)
        })
        .await?;
    Ok(web::Json(out))
}
