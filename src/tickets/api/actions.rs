//! `POST /tickets/{id}/<action>`: quote, accept-quote, dispatch, arrive, await-parts, resolve, escalate,
//! confirm, close. Each is one transition of the state machine (409 `invalid_transition` with
//! `current_status` when the state does not allow it), kept in the ticket's history.

use actix_web::{post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{one, PartLineIn, TicketOut};
use super::{
    E404Ticket, E409AcceptQuote, E409AwaitParts, E409Close, E409Dispatch, E409Quote, E409Resolve,
    E409TicketAction, E422Dispatch, E422TicketParts,
};
use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::{Json, MaybeJson};
use crate::money::Money;
use crate::state::AppState;
use crate::tickets::rules::JobType;
use crate::tickets::service::{self, DispatchSpec, LineSpec, QuoteSpec, ResolveSpec};
use crate::validate::{not_blank, Validate};

fn lines(input: &[PartLineIn]) -> Vec<LineSpec> {
    input.iter().map(|l| LineSpec { part_code: l.part_code.clone(), qty: l.qty }).collect()
}

/// Runs one action in a write transaction (retried when it lost a race) and answers the
/// ticket as it is after it.
async fn act<F>(state: web::Data<AppState>, f: F) -> Result<web::Json<TicketOut>, AppError>
where
    F: Fn(&mut DbConn, DateTime<Utc>) -> Result<i64, AppError> + Send + 'static,
{
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let id = f(conn, now)?;
            one(conn, id, now.naive_utc())
        })
        .await?;
    Ok(web::Json(out))
}

/// An optional note with an action.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(as = TicketNoteIn, example = json!({"note": "customer agreed by phone"}))]
pub struct NoteIn {
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

fn note_of(body: MaybeJson<NoteIn>) -> Result<Option<String>, AppError> {
    Ok(body.0.and_then(|b| b.note))
}

fn quote_rules(q: &QuoteIn, _at: &str, errors: &mut Vec<FieldError>) {
    if q.labour.is_some_and(|m| m.minor() < 0 || m.minor() > 100_000_000) {
        errors.push(FieldError::new("labour", "between 0.00 and 1000000.00"));
    }
}

fn dispatch_rules(d: &DispatchIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "technician", Some(&d.technician));
}

fn resolve_rules(r: &ResolveIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "cause", Some(&r.cause));
}

fn escalate_rules(e: &EscalateIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "note", Some(&e.note));
}

/// A quote for out-of-warranty work.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"job_type": "repair", "parts": [{"part_code": "RF-GSK-00230B", "qty": 1}], "note": "door gasket torn"}))]
#[validate(rules = quote_rules)]
pub struct QuoteIn {
    pub job_type: JobType,
    /// the labour charged; default: the station tier's labour rate for the job type
    pub labour: Option<Money>,
    /// parts at their sale price; each must fit the unit's model
    #[serde(default)]
    #[schema(max_items = 50)]
    pub parts: Vec<PartLineIn>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Quote out-of-warranty work (agent, station, admin)
///
/// Labour (given, or the station tier's rate for the job type) plus the parts at their sale
/// price. A ticket in warranty needs no quote (409 `quote_not_needed`). A new quote supersedes
/// the one on offer. The first quote or dispatch answers the ticket (`responded_at`).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1012)),
    request_body = QuoteIn,
    responses((status = 200, description = "The ticket quoted, its quote on offer", body = TicketOut), E400, E401, E403, E404Ticket, E409Quote, E415, E422TicketParts),
    security(("bearer" = ["admin", "station", "agent"]))
)]
#[post("/tickets/{id}/quote")]
pub async fn quote(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<QuoteIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let input = body.0;
    let spec = QuoteSpec {
        job_type: input.job_type,
        labour: input.labour,
        parts: lines(&input.parts),
        note: input.note,
    };
    act(state, move |conn, now| service::quote(conn, &caller, id, &spec, now).map(|_| id)).await
}

/// Record the customer's acceptance of the quote (agent, station, admin)
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1003)),
    request_body(content = Option<NoteIn>, description = "an optional note"),
    responses((status = 200, description = "The ticket with its quote accepted", body = TicketOut), E400, E401, E403, E404Ticket, E409AcceptQuote, E415, E422),
    security(("bearer" = ["admin", "station", "agent"]))
)]
#[post("/tickets/{id}/accept-quote")]
pub async fn accept_quote(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<NoteIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::accept_quote(conn, &caller, id, note.as_deref(), now).map(|_| id))
        .await
}

/// A work order: the station, its technician and the parts expected.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "station": "ST-TZ-001", "technician": "tech-st-tz-001",
    "expected_parts": [{"part_code": "RF-CMP-00156S", "qty": 1}]
}))]
#[validate(rules = dispatch_rules)]
pub struct DispatchIn {
    /// the station; a station user's own by default, else the ticket's
    #[schema(max_length = 64)]
    pub station: Option<String>,
    /// the username of a technician of that station
    #[schema(min_length = 1, max_length = 100)]
    pub technician: String,
    /// the parts the technician should take; each must fit the unit's model (422
    /// `incompatible_part` with the compatible alternatives)
    #[serde(default)]
    #[schema(max_items = 50)]
    pub expected_parts: Vec<PartLineIn>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Dispatch a technician (agent, station, admin)
///
/// Also the revisit after an escalation, or a change of technician before arrival. An
/// out-of-warranty ticket needs an accepted quote first (409 `quote_required`). An unknown
/// technician, or one of another station, is 422 `invalid_technician` with the station's
/// `technicians`. A ticket is not moved to (nor first sent to) an inactive station: 409
/// `location_inactive` naming it; a ticket already at a station closed since is still
/// dispatched there (its revisit), so that work under way finishes.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1004)),
    request_body = DispatchIn,
    responses((status = 200, description = "The ticket dispatched to the technician", body = TicketOut), E400, E401, E403, E404Ticket, E409Dispatch, E415, E422Dispatch),
    security(("bearer" = ["admin", "station", "agent"]))
)]
#[post("/tickets/{id}/dispatch")]
pub async fn dispatch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<DispatchIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let input = body.0;
    let spec = DispatchSpec {
        station: input.station,
        technician: input.technician,
        expected_parts: lines(&input.expected_parts),
        note: input.note,
    };
    act(state, move |conn, now| service::dispatch(conn, &caller, id, &spec, now).map(|_| id)).await
}

/// The technician arrived on site (technician, station, admin)
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1005)),
    request_body(content = Option<NoteIn>, description = "an optional note"),
    responses((status = 200, description = "The ticket on site", body = TicketOut), E400, E401, E403, E404Ticket, E409TicketAction, E415, E422),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/tickets/{id}/arrive")]
pub async fn arrive(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<NoteIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::arrive(conn, &caller, id, note.as_deref(), now).map(|_| id)).await
}

/// The visit found a part missing: the ticket awaits parts (technician, station, admin)
///
/// The ticket waits in `awaiting_parts` (its SLA clocks keep running) until every parts request
/// tied to it is received; echelon then moves it back to `dispatched` for the revisit
/// (`parts_arrived` in its history). Order the parts first, with `POST /parts-requests` naming
/// the ticket: a ticket with no parts request on its way (none tied to it, or each received,
/// closed, cancelled or rejected) has nothing to end the wait, and is refused with 409
/// `no_parts_on_order`, staying on site.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1006)),
    request_body(content = Option<NoteIn>, description = "an optional note: what is missing"),
    responses((status = 200, description = "The ticket awaiting parts", body = TicketOut), E400, E401, E403, E404Ticket, E409AwaitParts, E415, E422),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/tickets/{id}/await-parts")]
pub async fn await_parts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<NoteIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::await_parts(conn, &caller, id, note.as_deref(), now).map(|_| id))
        .await
}

/// What was done on a resolving visit.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "job_type": "repair", "cause": "evaporator fan seized",
    "parts_used": [{"part_code": "RF-FAN-00347M", "qty": 1}]
}))]
#[validate(rules = resolve_rules)]
pub struct ResolveIn {
    /// the labour done, paid by the station tier's rate in settlement
    pub job_type: JobType,
    /// the cause of the fault, for defect analysis
    #[schema(min_length = 1, max_length = 2000)]
    pub cause: String,
    /// the parts actually fitted; each must fit the unit's model. A part lent for the ticket is
    /// consumed when its loan line is reconciled; any other is taken from the station's free
    /// stock now
    #[serde(default)]
    #[schema(max_items = 50)]
    pub parts_used: Vec<PartLineIn>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// The fault is fixed (technician, station, admin)
///
/// Records the job type, the cause and the parts used, which settlement charges at cost. Each
/// part used must be consumed in the ledger for the ticket: what loans to the ticket brought
/// (lines still open, or reconciled by core return or fee) is consumed through its loan lines;
/// whatever the visit used beyond them is taken now from the ticket's station's free stock
/// (`on_hand - reserved`) into the customer's unit, a `consume` movement referencing
/// `ticket:<id>`. When the station has not got that much free, the resolve is refused with 409
/// `insufficient_stock` (naming the line, the part, what is free and what was needed) and
/// nothing changes.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1010)),
    request_body = ResolveIn,
    responses((status = 200, description = "The ticket resolved, with the parts used", body = TicketOut), E400, E401, E403, E404Ticket, E409Resolve, E415, E422TicketParts),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/tickets/{id}/resolve")]
pub async fn resolve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ResolveIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let input = body.0;
    let spec = ResolveSpec {
        job_type: input.job_type,
        cause: input.cause,
        parts_used: lines(&input.parts_used),
        note: input.note,
    };
    act(state, move |conn, now| service::resolve(conn, &caller, id, &spec, now).map(|_| id)).await
}

/// What the technician found, for technical support.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "intermittent fault; board replaced, still trips after 20 min; wiring suspected"}))]
#[validate(rules = escalate_rules)]
pub struct EscalateIn {
    /// what was found on site (the line, the use, what was tried)
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// The fault was not fixed on site: escalate for technical support (technician, station, admin)
///
/// The ticket becomes `unresolved` until it is dispatched again (a revisit).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1006)),
    request_body = EscalateIn,
    responses((status = 200, description = "The ticket unresolved, waiting for a revisit", body = TicketOut), E400, E401, E403, E404Ticket, E409TicketAction, E415, E422),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/tickets/{id}/escalate")]
pub async fn escalate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<EscalateIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let note = body.0.note;
    act(state, move |conn, now| service::escalate(conn, &caller, id, &note, now).map(|_| id)).await
}

/// The customer signed off the work (technician, station, agent, admin)
///
/// The ticket is complete: its follow-up window of 7 days starts.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1007)),
    request_body(content = Option<NoteIn>, description = "an optional note"),
    responses((status = 200, description = "The ticket confirmed by the customer; its follow-up window starts", body = TicketOut), E400, E401, E403, E404Ticket, E409TicketAction, E415, E422),
    security(("bearer" = ["admin", "station", "technician", "agent"]))
)]
#[post("/tickets/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<NoteIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::confirm(conn, &caller, id, note.as_deref(), now).map(|_| id)).await
}

/// Close a ticket (agent, station, admin)
///
/// After the customer's sign-off; or without a visit, from `open` or `quoted` (answered by
/// phone, or the customer declined the quote).
#[utoipa::path(
    tag = "tickets",
    operation_id = "close_ticket",
    params(("id" = i64, Path, description = "ticket id", example = 1009)),
    request_body(content = Option<NoteIn>, description = "an optional note"),
    responses((status = 200, description = "The ticket closed", body = TicketOut), E400, E401, E403, E404Ticket, E409Close, E415, E422),
    security(("bearer" = ["admin", "station", "agent"]))
)]
#[post("/tickets/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<NoteIn>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::close(conn, &caller, id, note.as_deref(), now).map(|_| id)).await
}
