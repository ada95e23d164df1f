//! Carrier claims for damaged deliveries.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role, Scope};
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403, E422};
use crate::http::Query;
use crate::http::{IdPage, Page};
use crate::money::Money;
use crate::network::store as network;
use crate::shipping::store;
use crate::state::AppState;
use crate::validate::Validate;

/// A claim against a carrier for damaged goods.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimOut {
    pub id: i64,
    pub shipment_id: i64,
    pub request_id: Option<i64>,
    pub courier: Option<String>,
    pub part_code: String,
    pub qty: i64,
    /// the cost of the damaged units
    pub amount: Money,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// Carrier claims, newest first
#[utoipa::path(tag = "shipping", params(ClaimQuery, IdPage), responses((status = 200, description = "The page of carrier claims, newest first", body = Page<ClaimOut>), E400, E401, E403, E422), security(("bearer" = ["admin", "warehouse", "station", "finance", "courier"])))]
#[get("/claims")]
pub async fn list_claims(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ClaimQuery>,
) -> Result<web::Json<Page<ClaimOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station, Role::Finance, Role::Courier])?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let courier = caller.is(Role::Courier).then_some(caller.user_id);
            let touching = match Scope::of(conn, &caller)? {
                Scope::Under { path } if !caller.is(Role::Courier) => {
                    Some(network::subtree_ids(conn, &path)?)
                }
                _ => None,
            };
            let rows = store::list_claims(conn, courier, touching.as_deref(), before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            // the couriers' names and the parts' codes read once for the page
            let mut couriers: Vec<i64> = page.items.iter().filter_map(|c| c.courier_id).collect();
            couriers.sort_unstable();
            couriers.dedup();
            let couriers = store::usernames(conn, &couriers)?;
            let mut parts: Vec<i64> = page.items.iter().map(|c| c.part_id).collect();
            parts.sort_unstable();
            parts.dedup();
            let codes = crate::catalogue::store::parts::codes_of(conn, &parts)?;
            let items = page
                .items
                .into_iter()
                .map(|c| ClaimOut {
                    id: c.id,
                    shipment_id: c.shipment_id,
                    request_id: c.request_id,
                    courier: c.courier_id.and_then(|u| couriers.get(&u).cloned()),
                    part_code: codes.get(&c.part_id).cloned().unwrap_or_default(),
                    qty: c.qty,
                    amount: Money(c.amount_minor),
                    status: c.status.as_str().to_string(),
                    created_at: c.created_at.and_utc(),
                })
                .collect();
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}
