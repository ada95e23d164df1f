//! The stock movements, newest first.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, Role, Scope};
use crate::catalogue::resolve_part_code;
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403};
use crate::http::Query;
use crate::http::{IdPage, Page};
use crate::ledger::rules::Reason;
use crate::ledger::store::{self, MovementFilter};
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementQuery {
    #[param(max_length = 64)]
    pub part_code: Option<String>,
    /// a location code: movements into or out of it
    #[param(max_length = 64)]
    pub location: Option<String>,
    pub reason: Option<Reason>,
    #[param(max_length = 100)]
    pub reference: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// Stock movements, newest first
#[utoipa::path(
    tag = "stock",
    params(MovementQuery, IdPage),
    responses((status = 200, description = "The page of stock movements, newest first", body = Page<MovementOut>), E400, E401, E403, E404MovementFilter, E422StockQuery),
    security(("bearer" = ["admin", "warehouse", "station", "finance"]))
)]
#[get("/movements")]
pub async fn list_movements(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<MovementQuery>,
) -> Result<web::Json<Page<MovementOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station, Role::Finance])?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut filter = MovementFilter {
                reason: q.reason.map(|r| r.as_str().to_string()),
                reference: q.reference.clone(),
                ..Default::default()
            };
            if let Scope::Under { path } = &scope {
                // a scoped user sees movements into or out of its own subtree only
                filter.within = Some(network::subtree_ids(conn, path)?);
            }
            if let Some(code) = &q.location {
                let row = network::by_code(conn, code)?
                    .filter(|r| scope.covers(&r.path))
                    .ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
                filter.location_id = Some(row.id);
            }
            if let Some(c) = &q.part_code {
                filter.part_id = Some(resolve_part_code(conn, c, None)?.id);
            }
            let rows = store::movements(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let mut loc_ids: Vec<i64> =
                page.items.iter().flat_map(|r| [r.from_location_id, r.to_location_id]).collect();
            loc_ids.dedup();
            let part_ids: Vec<i64> = page.items.iter().map(|r| r.part_id).collect();
            let locs = network::codes_of(conn, &loc_ids)?;
            let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
            let serials_shown = caller.sees_component_serials();
            Ok(page.map(|r| movement_out(r, &locs, &parts, serials_shown)))
        })
        .await?;
    Ok(web::Json(out))
}
