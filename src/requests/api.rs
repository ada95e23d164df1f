//! HTTP handlers of parts requests.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{AllocationStatus, Status};
use super::service::RoutingCache;
use super::service::{self, DamageOut, LineSpec, ReceiptLine, RequestSpec};
use super::store::{self, AllocationRow, LineRow, RequestFilter, RequestRow};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E404, E409, E415, E422};
use crate::http::{IdPage, Json, MaybeJson, Page};
use crate::ledger::rules::check_qty;
use crate::money::Money;
use crate::network::store as network;
use crate::state::AppState;

pub const MAX_LINES: usize = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Normal,
    Urgent,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestLineIn {
    pub part_code: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub qty: i64,
}

/// A request for parts.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"part_code": "AC-CAP-00122U", "qty": 1}], "urgency": "urgent"}))]
pub struct PartsRequestIn {
    /// the requesting station; a station user's own is the default (warehouse and admin users
    /// name the station they request for)
    pub station: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<RequestLineIn>,
    /// the service ticket the parts are for
    pub ticket_id: Option<i64>,
    #[serde(default)]
    pub urgency: Urgency,
    /// a location code to take the parts from; default: echelon routes each line
    pub source: Option<String>,
}

/// Units of a line promised from one source.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationOut {
    pub source: String,
    pub qty: i64,
    pub status: AllocationStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestLineOut {
    pub line_no: i32,
    /// the code as the client sent it
    pub requested_code: String,
    /// the part that serves the line
    pub part_code: String,
    /// true when a superseded part is served by its successor
    pub substituted: bool,
    pub qty: i64,
    pub unit_cost: Money,
    /// units still waiting for stock
    pub backordered: i64,
    pub allocations: Vec<AllocationOut>,
}

/// A parts request with where each line is served from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "station": "ST-TZ-001", "status": "allocated", "urgency": "urgent", "ticket_id": null,
    "source": null, "value": "1280.00", "exceeds_by": null, "requested_by": "station-st-tz-001",
    "decided_by": null, "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:00:00Z",
    "lines": [{"line_no": 1, "requested_code": "AC-CAP-00122U", "part_code": "AC-CAP-00122U",
               "substituted": false, "qty": 1, "unit_cost": "1280.00", "backordered": 0,
               "allocations": [{"source": "RC-HZ", "qty": 1, "status": "reserved"}]}]
}))]
pub struct PartsRequestOut {
    pub id: i64,
    pub station: String,
    pub status: Status,
    pub urgency: Urgency,
    pub ticket_id: Option<i64>,
    pub source: Option<String>,
    /// value of the request at cost
    pub value: Money,
    /// by how much the station's allowance would be exceeded (when pending approval)
    pub exceeds_by: Option<Money>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub lines: Vec<RequestLineOut>,
}

/// The full view of requests (lines and allocations loaded in three queries).
pub fn view(conn: &mut DbConn, rows: Vec<RequestRow>) -> Result<Vec<PartsRequestOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let lines = store::lines(conn, &ids)?;
    let allocations = store::allocations(conn, &ids)?;
    let mut loc_ids: Vec<i64> =
        rows.iter().flat_map(|r| std::iter::once(r.station_id).chain(r.source_id)).collect();
    loc_ids.extend(allocations.iter().map(|a| a.source_id));
    loc_ids.sort_unstable();
    loc_ids.dedup();
    let locs = network::codes_of(conn, &loc_ids)?;
    let part_ids: Vec<i64> = lines.iter().map(|l| l.part_id).collect();
    let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
    Ok(render(rows, &lines, &allocations, &locs, &parts))
}

/// Requests as the API shows them, from their rows (lines in line order, allocations in id
/// order) and the codes of the locations and parts they name.
fn render(
    rows: Vec<RequestRow>,
    lines: &[LineRow],
    allocations: &[AllocationRow],
    locs: &BTreeMap<i64, String>,
    parts: &BTreeMap<i64, String>,
) -> Vec<PartsRequestOut> {
    let code = |id: i64| locs.get(&id).cloned().unwrap_or_default();
    rows.into_iter()
        .map(|r| PartsRequestOut {
            id: r.id,
            station: code(r.station_id),
            status: r.status,
            urgency: if r.urgency == "urgent" { Urgency::Urgent } else { Urgency::Normal },
            ticket_id: r.ticket_id,
            source: r.source_id.map(code),
            value: Money(r.value_minor),
            exceeds_by: r.exceeds_by_minor.map(Money),
            requested_by: r.requested_by,
            decided_by: r.decided_by,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            lines: lines
                .iter()
                .filter(|l| l.request_id == r.id)
                .map(|l| {
                    let part_code = parts.get(&l.part_id).cloned().unwrap_or_default();
                    RequestLineOut {
                        line_no: l.line_no,
                        substituted: crate::catalogue::rules::code_key(&l.requested_code)
                            != crate::catalogue::rules::code_key(&part_code),
                        requested_code: l.requested_code.clone(),
                        part_code,
                        qty: l.qty,
                        unit_cost: Money(l.unit_cost_minor),
                        backordered: l.backordered,
                        allocations: allocations
                            .iter()
                            .filter(|a| a.line_id == l.id)
                            .map(|a| AllocationOut {
                                source: code(a.source_id),
                                qty: a.qty,
                                status: a.status,
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect()
}

fn one(conn: &mut DbConn, id: i64) -> Result<PartsRequestOut, AppError> {
    let row = store::request(conn, id)?
        .ok_or_else(|| AppError::not_found(format!("parts request {id} not found")))?;
    Ok(view(conn, vec![row])?.remove(0))
}

fn validate(input: &PartsRequestIn) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("give 1 to {MAX_LINES} lines")));
    }
    for (i, l) in input.lines.iter().enumerate() {
        if let Err(m) = check_qty(l.qty) {
            errors.push(FieldError::new(format!("lines[{i}].qty"), m));
        }
        if l.part_code.chars().count() > 64 {
            errors.push(FieldError::new(format!("lines[{i}].part_code"), "at most 64 characters"));
        }
    }
    if input.ticket_id.is_some_and(|t| t <= 0) {
        errors.push(FieldError::new("ticket_id", "must be a ticket id"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// The `Idempotency-Key` header, if any: 1-200 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(v) = req.headers().get("idempotency-key") else { return Ok(None) };
    let s = v
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_graphic()));
    s.map(|s| Some(s.to_string())).ok_or_else(|| {
        AppError::bad_request(
            Problem::InvalidHeader,
            "Idempotency-Key must be 1-200 visible ASCII characters",
        )
    })
}

/// Request parts
///
/// Each line's code is checked (422 with suggestions when wrong); a superseded part is served
/// by its successor (`substituted`). If the station's outstanding value plus the request fits
/// its tier's credit allowance, each line is reserved from the station's regional centre, else
/// the central warehouse when the tier allows, else a configured lateral centre, split across
/// them when needed, and the rest is backordered. Otherwise the request waits for approval
/// (`pending_approval`) and `exceeds_by` says by how much it is over. With an
/// `Idempotency-Key` header a retried POST returns the first answer and does nothing twice.
#[utoipa::path(
    tag = "requests",
    request_body = PartsRequestIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried POST return the first answer: 1-200 visible ASCII characters", pattern = "^[!-~]{1,200}$")),
    responses((status = 201, body = PartsRequestOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/parts-requests")]
pub async fn create_request(
    state: web::Data<AppState>,
    routing: web::Data<RoutingCache>,
    caller: Caller,
    req: HttpRequest,
    body: Json<PartsRequestIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Station, Role::Warehouse, Role::Admin])?;
    let input = body.0;
    validate(&input)?;
    let key = idempotency_key(&req)?;
    let canonical = serde_json::to_string(&input).unwrap_or_default();
    // the database keeps microseconds: the answer, rendered from memory, shows what it keeps
    let now = chrono::SubsecRound::trunc_subsecs(state.clock.now(), 6);
    let cache = routing.into_inner();
    let (status, body) = state
        .db
        .write_retrying(move |conn| {
            if let Some(key) = &key {
                if let Some(stored) = store::idempotent_answer(conn, caller.user_id, key)? {
                    if stored.request_hash != canonical {
                        return Err(AppError::unprocessable(
                            Problem::IdempotencyKeyReused,
                            "this Idempotency-Key was used for a different request",
                        ));
                    }
                    return Ok((stored.status as u16, stored.body));
                }
                // claim the key first: a concurrent duplicate waits on it, then retries and
                // finds the stored answer
                store::claim_key(conn, caller.user_id, key, &canonical, now.naive_utc()).map_err(
                    |e| match e {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => AppError::retry_transaction(),
                        e => e.into(),
                    },
                )?;
            }
            let station_code = match (caller.role, &input.station) {
                (Role::Station, None) => caller.location.clone().unwrap_or_default(),
                (Role::Station, Some(s)) if Some(s) == caller.location.as_ref() => s.clone(),
                (Role::Station, Some(_)) => {
                    return Err(AppError::forbidden("a station requests parts for itself only"));
                }
                (_, Some(s)) => s.clone(),
                (_, None) => {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        "station",
                        "name the station you request for",
                    )]))
                }
            };
            let scope = Scope::of(conn, &caller)?;
            let st = service::station_for_request(conn, &cache, &scope, &station_code)?
                .ok_or_else(|| AppError::not_found(format!("station {station_code} not found")))?;
            let lines: Vec<LineSpec> =
                input.lines.iter().map(|l| LineSpec { part_code: l.part_code.clone(), qty: l.qty }).collect();
            let spec = RequestSpec {
                lines: &lines,
                urgency: input.urgency.as_str(),
                ticket_id: input.ticket_id,
                source: input.source.as_deref(),
            };
            // the answer from what the transaction wrote, not read back
            let c = service::create(conn, &caller, &st, &spec, now)?;
            let out =
                render(vec![c.request], &c.lines, &c.allocations, &c.location_codes, &c.part_codes).remove(0);
            let body = serde_json::to_string(&out).map_err(|e| AppError::internal(e.into()))?;
            if let Some(key) = &key {
                store::store_answer(conn, caller.user_id, key, 201, &body)?;
            }
            Ok((201, body))
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED))
        .content_type("application/json")
        .body(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    pub status: Option<Status>,
    /// a station code
    pub station: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List parts requests, newest first
///
/// A station sees its own; a warehouse user those of its stations and those supplied from its
/// stock; admin, agents and finance see all.
#[utoipa::path(
    tag = "requests",
    params(RequestQuery, IdPage),
    responses((status = 200, body = Page<PartsRequestOut>), E400, E401, E403, E404),
    security(("bearer" = []))
)]
#[get("/parts-requests")]
pub async fn list_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RequestQuery>,
) -> Result<web::Json<Page<PartsRequestOut>>, AppError> {
    caller.require(&[
        Role::Admin,
        Role::Warehouse,
        Role::Station,
        Role::Technician,
        Role::Agent,
        Role::Finance,
    ])?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut filter =
                RequestFilter { status: q.status.map(|s| s.as_str().to_string()), ..Default::default() };
            if let Scope::Under { path } = &scope {
                let below = network::subtree_ids(conn, path)?;
                if caller.role == Role::Warehouse {
                    filter.source_ids = Some(below.clone());
                }
                filter.station_ids = Some(below);
            }
            if let Some(code) = &q.station {
                let row = network::by_code(conn, code)?
                    .filter(|r| scope.covers(&r.path))
                    .ok_or_else(|| AppError::not_found(format!("station {code} not found")))?;
                filter.station_ids = Some(vec![row.id]);
                filter.source_ids = None;
            }
            let rows = store::list(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            Ok(Page { items: view(conn, page.items)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a parts request
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404),
    security(("bearer" = []))
)]
#[get("/parts-requests/{id}")]
pub async fn get_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    let out = state
        .db
        .read(move |conn| {
            service::visible(conn, &caller, id)?;
            one(conn, id)
        })
        .await?;
    Ok(web::Json(out))
}

/// An optional note with a decision.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "approved for the compressor campaign"}))]
pub struct DecisionIn {
    pub note: Option<String>,
}

async fn act<F>(state: web::Data<AppState>, f: F) -> Result<web::Json<PartsRequestOut>, AppError>
where
    F: Fn(&mut DbConn, chrono::DateTime<chrono::Utc>) -> Result<i64, AppError> + Send + 'static,
{
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let id = f(conn, now)?;
            one(conn, id)
        })
        .await?;
    Ok(web::Json(out))
}

fn note_of(body: MaybeJson<DecisionIn>) -> Result<Option<String>, AppError> {
    let note = body.0.and_then(|b| b.note);
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::invalid_fields(vec![FieldError::new("note", "at most 500 characters")]));
    }
    Ok(note)
}

/// Approve a request over the allowance (the station's centre or admin)
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    request_body(content = Option<DecisionIn>, description = "an optional note"),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404, E409, E422),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<DecisionIn>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::decide(conn, &caller, id, true, note.as_deref(), now).map(|_| id))
        .await
}

/// Reject a request over the allowance (the station's centre or admin)
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    request_body(content = Option<DecisionIn>, description = "an optional note"),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404, E409, E422),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<DecisionIn>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::decide(conn, &caller, id, false, note.as_deref(), now).map(|_| id))
        .await
}

/// Cancel a request; every reservation is released
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404, E409),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::cancel(conn, &caller, id, now).map(|_| id)).await
}

/// Pick the reserved units of your stock (warehouse)
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404, E409),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/pick")]
pub async fn pick(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::pick(conn, &caller, id, now).map(|_| id)).await
}

/// Ship the picked units of your stock (warehouse)
///
/// The units leave the source for `IN-TRANSIT` (`transfer_ship`).
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404, E409),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/ship")]
pub async fn ship(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::ship(conn, &caller, id, now).map(|_| id)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLineIn {
    pub line_no: i32,
    #[schema(minimum = 0)]
    pub received_qty: i64,
    /// damaged or wrong units: they go to quarantine and are replaced
    #[serde(default)]
    #[schema(minimum = 0)]
    pub damaged_qty: i64,
}

/// What arrived. Without lines, everything in transit arrived in good order.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 1}]}))]
pub struct ReceiveIn {
    #[serde(default)]
    pub lines: Vec<ReceiptLineIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiveOut {
    pub request: PartsRequestOut,
    /// lines that arrived damaged, and their replacements
    pub damaged: Vec<DamageOut>,
}

/// Receive what was shipped (the station)
///
/// Good units move from `IN-TRANSIT` into the station (`transfer_receive`); damaged or wrong
/// units into `QUARANTINE` (`damaged_in_transit`), and a replacement is reserved at once
/// through the same routing, without a new request.
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    request_body(content = Option<ReceiveIn>, description = "what arrived; empty: all in good order"),
    responses((status = 200, body = ReceiveOut), E400, E401, E403, E404, E409, E422),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/receive")]
pub async fn receive(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<ReceiveIn>,
) -> Result<web::Json<ReceiveOut>, AppError> {
    let id = id.into_inner();
    let lines: Vec<(i32, i64, i64)> = body
        .0
        .map(|b| b.lines.iter().map(|l| (l.line_no, l.received_qty, l.damaged_qty)).collect())
        .unwrap_or_default();
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let said: Vec<ReceiptLine> = lines
                .iter()
                .map(|&(line_no, received_qty, damaged_qty)| ReceiptLine {
                    line_no,
                    received_qty,
                    damaged_qty,
                })
                .collect();
            let damaged = service::receive(conn, &caller, id, &said, now)?;
            Ok(ReceiveOut { request: one(conn, id)?, damaged })
        })
        .await?;
    Ok(web::Json(out))
}

/// Close a fully received request
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id")),
    responses((status = 200, body = PartsRequestOut), E401, E403, E404, E409),
    security(("bearer" = []))
)]
#[post("/parts-requests/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::close(conn, &caller, id, now).map(|_| id)).await
}
