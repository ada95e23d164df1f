//! `/models/{code}/parts`: a model's bill of service parts (compatibility).

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::models::model_at;
use super::{parts_out, PartOut};
use super::{E404Model, E422ModelParts};
use crate::auth::{Caller, Role};
use crate::catalogue::resolve;
use crate::catalogue::store::models as store;
use crate::error::{AppError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{Json, KeyPage, Page};
use crate::state::AppState;
use crate::validate::Validate;

/// A part of a model's bill of service parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompatiblePartOut {
    #[serde(flatten)]
    pub part: PartOut,
    /// how many of this part one unit of the model holds
    pub qty_per_unit: i32,
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ModelPartsQuery {
    /// only this part family, e.g. CMP
    #[param(max_length = 64)]
    pub family: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// List the parts that fit a model (compatibility)
#[utoipa::path(
    tag = "catalogue",
    params(("code" = String, Path, description = "model code", example = "BCD-539WT"), ModelPartsQuery, KeyPage),
    responses((status = 200, description = "The page of the model's compatible parts, in part code order", body = Page<CompatiblePartOut>), E400, E401, E404Model, E422),
    security(("bearer" = []))
)]
#[get("/models/{code}/parts")]
pub async fn model_parts(
    state: web::Data<AppState>,
    _caller: Caller,
    code: web::Path<String>,
    query: Query<ModelPartsQuery>,
) -> Result<web::Json<Page<CompatiblePartOut>>, AppError> {
    let q = query.into_inner();
    let page = q.page.request()?;
    let code = code.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let model = model_at(conn, &code)?;
            let rows = store::compatible_parts(
                conn,
                model.id,
                q.family.as_deref(),
                page.after.as_deref(),
                page.fetch(),
            )?;
            let page = page.page(rows, |(p, _)| p.code.clone());
            let (rows, qtys): (Vec<_>, Vec<_>) = page.items.into_iter().unzip();
            let items = parts_out(conn, rows)?
                .into_iter()
                .zip(qtys)
                .map(|(part, qty_per_unit)| CompatiblePartOut { part, qty_per_unit })
                .collect();
            Ok(Page { items, next_cursor: page.next_cursor })
        })
        .await?;
    Ok(web::Json(out))
}

/// One line of a model's bill of service parts.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CompatibilityIn {
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 1, maximum = 999)]
    pub qty_per_unit: i32,
}

/// Parts to add to a model's bill of service parts (or whose quantity changes).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parts": [{"part_code": "RF-CMP-001335", "qty_per_unit": 1}]}))]
pub struct CompatibilityListIn {
    #[schema(min_items = 1, max_items = 500)]
    pub parts: Vec<CompatibilityIn>,
}

/// Add parts to a model's bill of service parts (admin)
///
/// Each part must be of the model's product line. Adding a part already listed sets its
/// quantity. Answers the parts written.
#[utoipa::path(
    tag = "catalogue",
    params(("code" = String, Path, description = "model code", example = "BCD-539WT")),
    request_body = CompatibilityListIn,
    responses((status = 200, description = "The parts now compatible with the model, with their quantity per unit", body = Vec<CompatiblePartOut>), E400, E401, E403, E404Model, E415, E422ModelParts),
    security(("bearer" = ["admin"]))
)]
#[post("/models/{code}/parts")]
pub async fn add_model_parts(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<CompatibilityListIn>,
) -> Result<web::Json<Vec<CompatiblePartOut>>, AppError> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let code = code.into_inner();
    let out = state
        .db
        .write(move |conn| {
            let model = model_at(conn, &code)?;
            let mut written = Vec::new();
            for (i, p) in input.parts.into_iter().enumerate() {
                let field = format!("parts[{i}].part_code");
                let part = resolve::resolve_part_code(conn, &p.part_code, None)
                    .map_err(|e| e.with("field", &field))?;
                if part.line != model.line {
                    return Err(AppError::unprocessable(
                        Problem::LineMismatch,
                        format!(
                            "part {} is of line {}, model {} of line {}",
                            part.code, part.line, model.code, model.line
                        ),
                    )
                    .with("field", &field));
                }
                store::upsert_compat(conn, model.id, part.id, p.qty_per_unit)?;
                written.push((part, p.qty_per_unit));
            }
            let (rows, qtys): (Vec<_>, Vec<_>) = written.into_iter().unzip();
            Ok(parts_out(conn, rows)?
                .into_iter()
                .zip(qtys)
                .map(|(part, qty_per_unit)| CompatiblePartOut { part, qty_per_unit })
                .collect())
        })
        .await?;
    Ok(web::Json(out))
}
