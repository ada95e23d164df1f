//! Carrier claims for damaged deliveries.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::shipments::username;
use crate::auth::{Caller, Role, Scope};
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403};
use crate::http::{Page, PageRequest};
use crate::money::Money;
use crate::network::store as network;
use crate::shipping::store;
use crate::startup::AppState;

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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimQuery {
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// Carrier claims, newest first
#[utoipa::path(tag = "shipping", params(ClaimQuery), responses((status = 200, body = Page<ClaimOut>), E400, E401, E403), security(("bearer" = [])))]
#[get("/claims")]
pub async fn list_claims(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ClaimQuery>,
) -> Result<web::Json<Page<ClaimOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station, Role::Finance, Role::Courier])?;
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.as_deref())?;
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
            let mut items = Vec::new();
            for c in page.items {
                items.push(ClaimOut {
                    id: c.id,
                    shipment_id: c.shipment_id,
                    request_id: c.request_id,
                    courier: username(conn, c.courier_id)?,
                    part_code: crate::catalogue::store::parts::by_id(conn, c.part_id)?.code,
                    qty: c.qty,
                    amount: Money(c.amount_minor),
                    status: c.status,
                    created_at: c.created_at.and_utc(),
                });
            }
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}
