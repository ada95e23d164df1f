//! HTTP handlers of proposed orders: list, read with lines, release into the ledger.

use actix_web::{get, post, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service;
use super::store::{self, ProposalFilter, ProposalRow};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::resolve_part_code;
use crate::db::DbConn;
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403, E422};
use crate::http::Query;
use crate::http::{IdPage, Page};
use crate::money::Money;
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::requests::BackorderFill;
use crate::state::AppState;
use crate::validate::Validate;

/// Who may read proposals.
const READERS: &[Role] = &[Role::Admin, Role::Warehouse, Role::Finance];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// stock moved down the tree, from `source` to `destination`
    Transfer,
    /// stock bought from the supplier into the central warehouse
    Purchase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Proposed,
    Released,
    /// a later run proposed for the same location
    Superseded,
}

impl ProposalStatus {
    pub const ALL: [ProposalStatus; 3] =
        [ProposalStatus::Proposed, ProposalStatus::Released, ProposalStatus::Superseded];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Proposed => "proposed",
            ProposalStatus::Released => "released",
            ProposalStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<ProposalStatus> {
        ProposalStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

crate::db::stored_as_text!(ProposalStatus);

/// One proposed order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 31, "run_id": 7, "kind": "transfer", "status": "proposed",
    "source": "RC-HZ", "destination": "ST-TZ-001", "line_count": 2, "units": 3, "value": "2680.00",
    "released_by": null, "released_at": null, "reference": null, "created_at": "2026-11-23T08:00:00Z"}))]
pub struct ProposalOut {
    pub id: i64,
    pub run_id: i64,
    pub kind: ProposalKind,
    pub status: ProposalStatus,
    /// the shipping location (`SUPPLIER` for a purchase order)
    pub source: String,
    pub destination: String,
    pub line_count: i32,
    pub units: i64,
    /// at cost
    pub value: Money,
    pub released_by: Option<String>,
    pub released_at: Option<chrono::DateTime<chrono::Utc>>,
    /// the ledger reference of the released movements (`proposal:<id>`); a transfer to a
    /// station that the station ordered by parts request instead: `parts_request:<id>`
    pub reference: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One line of an order, with the destination's planned levels.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalLineOut {
    pub part_code: String,
    pub qty: i64,
    pub unit_cost: Money,
    /// the destination reorders at this position (available stock, with what is on order to a
    /// station) or below
    pub reorder_point: i64,
    /// ... up to this level
    pub order_up_to: i64,
    /// the destination's position when planned: available, plus what is on order to a station
    /// (its open replenishment requests' units reserved, picked, shipped or backordered), less
    /// what it sends on and, at a warehouse or centre, the waiting backorders its next arrival
    /// serves
    pub position: i64,
}

/// A proposed order with its lines.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 31, "run_id": 7, "kind": "transfer", "status": "proposed",
    "source": "RC-HZ", "destination": "ST-TZ-001", "line_count": 1, "units": 2, "value": "2560.00",
    "released_by": null, "released_at": null, "reference": null, "created_at": "2026-11-23T08:00:00Z",
    "lines": [{"part_code": "RF-CMP-00417I", "qty": 2, "unit_cost": "1280.00", "reorder_point": 1,
               "order_up_to": 2, "position": 0}]}))]
pub struct ProposalDetailOut {
    #[serde(flatten)]
    pub order: ProposalOut,
    pub lines: Vec<ProposalLineOut>,
}

fn proposals_out(conn: &mut DbConn, rows: Vec<ProposalRow>) -> Result<Vec<ProposalOut>, AppError> {
    let mut loc_ids: Vec<i64> = rows.iter().flat_map(|r| [r.source_id, r.destination_id]).collect();
    loc_ids.sort_unstable();
    loc_ids.dedup();
    let locs = network::codes_of(conn, &loc_ids)?;
    Ok(rows
        .into_iter()
        .map(|r| ProposalOut {
            id: r.id,
            run_id: r.run_id,
            kind: if r.kind == "purchase" { ProposalKind::Purchase } else { ProposalKind::Transfer },
            status: r.status,
            source: locs.get(&r.source_id).cloned().unwrap_or_default(),
            destination: locs.get(&r.destination_id).cloned().unwrap_or_default(),
            line_count: r.line_count,
            units: r.units,
            value: Money(r.value_minor),
            released_by: r.released_by,
            released_at: r.released_at.map(|t| t.and_utc()),
            reference: r.reference,
            created_at: r.created_at.and_utc(),
        })
        .collect())
}

fn detail_out(conn: &mut DbConn, row: ProposalRow) -> Result<ProposalDetailOut, AppError> {
    let lines = row.lines();
    let ids: Vec<i64> = lines.iter().map(|l| l.part_id()).collect();
    let mut parts = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String, i64)> = crate::db::schema::parts::table
            .filter(crate::db::schema::parts::id.eq_any(chunk))
            .select((
                crate::db::schema::parts::id,
                crate::db::schema::parts::code,
                crate::db::schema::parts::unit_cost_minor,
            ))
            .load(conn)?;
        parts.extend(rows.into_iter().map(|(id, code, cost)| (id, (code, cost))));
    }
    let lines = lines
        .into_iter()
        .map(|l| {
            let (code, cost) = parts.get(&l.0).cloned().unwrap_or_default();
            ProposalLineOut {
                part_code: code,
                qty: l.1,
                unit_cost: Money(cost),
                reorder_point: l.2,
                order_up_to: l.3,
                position: l.4,
            }
        })
        .collect();
    let order = proposals_out(conn, vec![row])?.remove(0);
    Ok(ProposalDetailOut { order, lines })
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProposalQuery {
    pub run_id: Option<i64>,
    pub kind: Option<ProposalKind>,
    pub status: Option<ProposalStatus>,
    /// orders with a line for this part
    #[param(max_length = 64)]
    pub part_code: Option<String>,
    /// a location code: proposals shipping from it
    #[param(max_length = 64)]
    pub source: Option<String>,
    /// a location code: proposals delivering to it
    #[param(max_length = 64)]
    pub destination: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List proposed orders, oldest first
///
/// Orders without their lines (see `GET /proposals/{id}`). A warehouse user sees the orders
/// shipping from or delivering into its subtree.
#[utoipa::path(
    tag = "planning",
    params(ProposalQuery, IdPage),
    responses((status = 200, description = "The page of proposals in the caller's scope, newest first", body = Page<ProposalOut>), E400, E401, E403, E404ProposalScope, E422),
    security(("bearer" = ["admin", "warehouse", "finance"]))
)]
#[get("/proposals")]
pub async fn list_proposals(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ProposalQuery>,
) -> Result<web::Json<Page<ProposalOut>>, AppError> {
    caller.require(READERS)?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let after = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut f = ProposalFilter {
                run_id: q.run_id,
                kind: q
                    .kind
                    .map(|k| if k == ProposalKind::Purchase { "purchase" } else { "transfer" }.into()),
                status: q.status.map(|s| s.as_str().into()),
                ..Default::default()
            };
            if let Scope::Under { path } = &scope {
                f.within = Some(network::subtree_ids(conn, path)?);
            }
            let mut location = |code: &str| -> Result<i64, AppError> {
                network::by_code(conn, code)?
                    .filter(|r| scope.sees(&r.path) || r.kind == LocationKind::Supplier)
                    .map(|r| r.id)
                    .ok_or_else(|| AppError::not_found(format!("location {code} not found")))
            };
            f.source_id = q.source.as_deref().map(&mut location).transpose()?;
            f.destination_id = q.destination.as_deref().map(&mut location).transpose()?;
            if let Some(c) = &q.part_code {
                f.part_id = Some(resolve_part_code(conn, c, None)?.id);
            }
            let rows = store::proposals(conn, &f, after, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            Ok(Page { items: proposals_out(conn, page.items)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a proposed order with its lines
#[utoipa::path(
    tag = "planning",
    params(("id" = i64, Path, description = "proposal id", example = 1011)),
    responses((status = 200, description = "The proposal, with its lines", body = ProposalDetailOut), E401, E403, E404Proposal),
    security(("bearer" = ["admin", "warehouse", "finance"]))
)]
#[get("/proposals/{id}")]
pub async fn get_proposal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ProposalDetailOut>, AppError> {
    caller.require(READERS)?;
    let id = id.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let row = service::visible(conn, &caller, id)?;
            detail_out(conn, row)
        })
        .await?;
    Ok(web::Json(out))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseOut {
    pub proposal: ProposalDetailOut,
    /// how many ledger movements it made (list them with `GET /movements?reference=proposal:<id>`)
    pub movements: usize,
    /// backordered request lines served from the new stock
    pub backorders_filled: Vec<BackorderFill>,
}

/// Release a proposed order into the ledger
///
/// The whole order moves, line by line: a purchase order is received from `SUPPLIER`
/// (`purchase_receipt`); a transfer order leaves its source for `IN-TRANSIT`
/// (`transfer_ship`) and is received at its destination (`transfer_receive`), with the
/// reference `proposal:<id>`. A transfer never takes more than is available at its source:
/// 409 `insufficient_stock` lists the short lines and nothing moves. Waiting backorders are
/// then served from the new stock. Staff of the shipping location (the receiving one for a
/// purchase) or an admin release; the request has no body. A proposal whose source or
/// destination is inactive (closed since the run) is 409 `location_inactive` naming it, and
/// nothing moves.
#[utoipa::path(
    tag = "planning",
    params(("id" = i64, Path, description = "proposal id", example = 1011)),
    responses((status = 200, description = "The proposal released: the movements posted and the backorders they filled", body = ReleaseOut), E401, E403, E404Proposal, E409Release),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/proposals/{id}/release")]
pub async fn release(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ReleaseOut>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let id = id.into_inner();
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let done = service::release(conn, &caller, id, now)?;
            let proposal = detail_out(conn, done.row)?;
            Ok(ReleaseOut { proposal, movements: done.movements, backorders_filled: done.backorders_filled })
        })
        .await?;
    Ok(web::Json(out))
}

// The refusals of the proposals' operations, each with its own example (`http::docs`).

crate::problems!(E404ProposalScope, 404, "The location filtered on is unknown or out of the caller's scope", [
    NotFound => "location RC-WH not found",
]);
crate::problems!(E404Proposal, 404, "No proposal of this id in the caller's scope", [
    NotFound => "proposal 9 not found",
]);
crate::problems!(E409Release, 409, "The proposal is not `proposed` any more, its source lacks the stock, or its source or destination is inactive", [
    InvalidTransition => "proposal 9 is released; only a proposed one can be released" {"current_status": "released"},
    InsufficientStock => "HQ-CW lacks available stock for 1 of the 3 lines; nothing was moved"
        {"location": "HQ-CW", "short": [{"part_code": "RF-CMP-00130B", "available": 2, "requested": 6}]},
    LocationInactive => "ST-NB-004 is inactive: no released proposal moves stock there" {"location": "ST-NB-004"},
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposal_states_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<ProposalStatus>();
    }
}
