//! Parts requests: create (routed and reserved), list, read.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Claimed, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, Metrics, Page};
use crate::network::store as network;
use crate::requests::rules::Status;
use crate::requests::service::RoutingCache;
use crate::requests::service::{self, LineSpec, RequestSpec};
use crate::requests::store::{self, RequestFilter};
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RequestLineIn {
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub qty: i64,
}

/// A request for parts.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"station": "ST-TZ-001", "lines": [{"part_code": "AC-CAP-00122U", "qty": 1}], "urgency": "urgent"}))]
pub struct PartsRequestIn {
    /// the requesting station; a station user's own is the default (warehouse and admin users
    /// name the station they request for)
    #[schema(max_length = 64)]
    pub station: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<RequestLineIn>,
    /// the service ticket the parts are for
    #[schema(minimum = 1)]
    pub ticket_id: Option<i64>,
    #[serde(default)]
    pub urgency: Urgency,
    /// a location code to take the parts from; default: echelon routes each line
    #[schema(min_length = 1, max_length = 64)]
    pub source: Option<String>,
}

/// The `Idempotency-Key` header, if any: one, of 1-200 visible ASCII characters (two keys on
/// one request are refused rather than one of them taken).
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let mut keys = req.headers().get_all("idempotency-key");
    let Some(v) = keys.next() else { return Ok(None) };
    if keys.next().is_some() {
        return Err(AppError::bad_request(Problem::InvalidHeader, "Idempotency-Key is sent once, not twice"));
    }
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
/// by its successor (`substituted`). A `ticket_id` is checked like a path id: unknown or out
/// of the caller's sight 404 (a technician requests for their own tickets only, and must name
/// one), resolved or later, or paid work before its quote is accepted, 409
/// `ticket_takes_no_parts`; a ticket of another station than the one requested for 422
/// `ticket_of_another_station`. Parts may be ordered as soon as the ticket is open. Every line of
/// a ticket's request must fit the ticket unit's model (a compatible part, or a successor of
/// one): otherwise 422 `incompatible_part` naming the line, with `compatible_alternatives` and
/// their stock at the routing source, and nothing reserved; a mistyped code is answered with
/// suggestions among the model's parts only. If the station's outstanding value plus the request fits
/// its tier's credit allowance, each line is reserved from the station's regional centre, else
/// the central warehouse when the tier allows, else a configured lateral centre, split across
/// them when needed, and the rest is backordered. Otherwise the request waits for approval
/// (`pending_approval`) and `exceeds_by` says by how much it is over. With an
/// `Idempotency-Key` header a retried POST returns the first answer and does nothing twice.
/// An inactive (closed) station raises no request, and an inactive centre or central
/// warehouse is no source: routing skips it, and naming it as `source` (or leaving no active
/// source at all) is refused; each is 409 `location_inactive` naming the `location`, with
/// nothing written or reserved.
#[utoipa::path(
    tag = "requests",
    request_body = PartsRequestIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried POST return the first answer: 1-200 visible ASCII characters", pattern = "^[!-~]{1,200}$")),
    responses((status = 201, description = "The request, routed and reserved (or pending approval, with exceeds_by), with its lines and allocations", body = PartsRequestOut), E400, E401, E403, E404Create, E409Create, E415, E422Create),
    security(("bearer" = ["admin", "warehouse", "station", "technician"]))
)]
#[post("/parts-requests")]
pub async fn create_request(
    state: web::Data<AppState>,
    routing: web::Data<RoutingCache>,
    claimed: Claimed,
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    body: Result<Json<PartsRequestIn>, AppError>,
) -> Result<HttpResponse, AppError> {
    // the token's user is read with the request's station (`create_whole`, `create_in`); a
    // refusal before that reads it first, so that a changed user is 401 before anything else.
    // A role that may not request parts never gets here (`auth::gate`'s 403 comes before the
    // body); then the refusals come in the order of the other operations': the body, the rest
    let refuse = |e: AppError| async {
        let claimed = claimed.clone();
        match state.db.primary(move |conn| claimed.check(conn)).await {
            Ok(_) => e,
            Err(stale) => stale,
        }
    };
    let input = match body {
        Ok(body) => body.0,
        Err(e) => return Err(refuse(e).await),
    };
    let caller = claimed.unconfirmed();
    if let Err(e) = caller.require(&[Role::Station, Role::Technician, Role::Warehouse, Role::Admin]) {
        return Err(refuse(e).await);
    }
    if caller.role == Role::Technician && input.ticket_id.is_none() {
        let e = AppError::invalid_fields(vec![FieldError::new(
            "ticket_id",
            "a technician requests parts for a ticket of theirs: name it",
        )]);
        return Err(refuse(e).await);
    }
    let key = match idempotency_key(&req) {
        Ok(key) => key,
        Err(e) => return Err(refuse(e).await),
    };
    // the request's reads see this user's own writes (db::replica)
    crate::db::replica::set_actor(claimed.user_id());
    let asked = Asked {
        key,
        canonical: serde_json::to_string(&input).unwrap_or_default(),
        input,
        // the database keeps microseconds: the answer, rendered from memory, shows what it keeps
        now: chrono::SubsecRound::trunc_subsecs(state.clock.now(), 6),
        claimed,
    };
    let asked = Arc::new(asked);
    let cache = routing.into_inner();
    let (whole_asked, whole_cache) = (asked.clone(), cache.clone());
    // the common request in one statement, any other in a transaction; run again when it lost
    // a race: a duplicate idempotency key, or the station's allowance taken by another request
    // between its reading and its booking
    let (status, body, one_trip) = state
        .db
        .write_whole_or_retrying(
            move |conn| create_whole(conn, &whole_asked, &whole_cache),
            move |conn| create_in(conn, &asked, &cache).map(|(status, body)| (status, body, false)),
        )
        .await?;
    if one_trip {
        metrics.parts_requests_one_trip.inc();
    }
    Ok(HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED))
        .content_type("application/json")
        .body(body))
}

/// A new request as the handler took it in.
struct Asked {
    /// the token, its user not read yet
    claimed: Claimed,
    key: Option<String>,
    /// the body as JSON text, the idempotency key's fingerprint
    canonical: String,
    input: PartsRequestIn,
    now: DateTime<Utc>,
}

/// One attempt at the common request (one line, no ticket, no idempotency key) as one
/// statement outside any transaction (`service::create_whole`): its answer, and whether it was
/// written in one round trip ([`create_assumed`]); None when the request is not that one
/// (nothing written).
fn create_whole(
    conn: &mut DbConn,
    asked: &Asked,
    cache: &Arc<RoutingCache>,
) -> Result<Option<(u16, String, bool)>, AppError> {
    let Asked { claimed, key, input, now, .. } = asked;
    if key.is_some() || input.ticket_id.is_some() || input.lines.len() != 1 || !matches!(conn, DbConn::Pg(_))
    {
        return Ok(None);
    }
    let lines = line_specs(input);
    let spec = spec_of(input, &lines);
    if let Some((status, body)) = create_assumed(conn, claimed, input, cache, &spec, *now)? {
        return Ok(Some((status, body, true)));
    }
    let (caller, st) = requested_station(conn, claimed, input, cache)?;
    match service::create_whole(conn, &caller, &st, &spec, *now, None)? {
        Some(c) => Ok(Some((201, answer(c)?, false))),
        None => Ok(None),
    }
}

/// The common request in one round trip: planned from the station as this process last read
/// it (`RoutingCache::kept_station`), and written by a statement that checks what that copy
/// assumed (`store::Assumed`: the token's user as the token says, the station active with the
/// same loan lines open, the master data unchanged). None when there is no copy, when the caller is
/// one whose request reads more first (a warehouse user's scope, another station's code), or
/// when anything does not hold or is refused: the request then reads the station and the user
/// as any other does, and gives its refusals in their order.
fn create_assumed(
    conn: &mut DbConn,
    claimed: &Claimed,
    input: &PartsRequestIn,
    cache: &Arc<RoutingCache>,
    spec: &RequestSpec<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(u16, String)>, AppError> {
    let caller = claimed.unconfirmed();
    let code = match (caller.role, &input.station, &caller.location) {
        (Role::Station, None, Some(own)) => own,
        (Role::Station, Some(named), Some(own)) if named == own => own,
        (Role::Admin, Some(named), _) => named,
        _ => return Ok(None),
    };
    let Some((st, at)) = cache.kept_station(code) else { return Ok(None) };
    let assumed = store::Assumed {
        user_id: claimed.user_id(),
        user_version: claimed.version(),
        revision: at.revision,
        open_lines: st.open_lines.as_deref().unwrap_or_default().iter().map(|l| l.id).collect(),
        subscribed: at.subscribed,
    };
    match service::create_whole(conn, &caller, &st, spec, now, Some(&assumed)) {
        Ok(Some(c)) => Ok(Some((201, answer(c)?))),
        Ok(None) => Ok(None),
        // a refusal, or the allowance taken meanwhile (the kept value is older than the
        // booking's): the request reads the station and the user now, and decides again
        Err(e) if !matches!(e.kind, Problem::Internal | Problem::Unavailable) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One attempt at a new request's transaction: the stored answer to a repeated idempotency key,
/// or the request created; (status, body).
fn create_in(conn: &mut DbConn, asked: &Asked, cache: &Arc<RoutingCache>) -> Result<(u16, String), AppError> {
    let Asked { claimed, key, canonical, input, now } = asked;
    // the user first: a stored answer is given to its user only as long as the token is good
    let caller = &claimed.check(conn)?;
    if let Some(key) = key {
        if let Some(stored) = store::idempotent_answer(conn, caller.user_id, key)? {
            if stored.request_hash != *canonical {
                return Err(AppError::unprocessable(
                    Problem::IdempotencyKeyReused,
                    "this Idempotency-Key was used for a different request",
                ));
            }
            return Ok((stored.status as u16, stored.body));
        }
        // claim the key first: a concurrent duplicate waits on it, then retries and finds the
        // stored answer
        store::claim_key(conn, caller.user_id, key, canonical, now.naive_utc()).map_err(|e| match e {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                AppError::retry_transaction()
            }
            e => e.into(),
        })?;
    }
    let (_, st) = requested_station(conn, claimed, input, cache)?;
    let lines = line_specs(input);
    // the answer from what the transaction wrote, not read back
    let body = answer(service::create(conn, caller, &st, &spec_of(input, &lines), *now)?)?;
    if let Some(key) = key {
        store::store_answer(conn, caller.user_id, key, 201, &body)?;
    }
    Ok((201, body))
}

/// The station a request is for, and the caller: a station user's or technician's own station
/// (naming another is 403), the one a warehouse or admin user names; 404 out of the caller's
/// sight. The token's user is read in the statement that reads the station (401 when it
/// changed), and on its own only where something is read or refused before it.
fn requested_station(
    conn: &mut DbConn,
    claimed: &Claimed,
    input: &PartsRequestIn,
    cache: &Arc<RoutingCache>,
) -> Result<(Caller, service::Station), AppError> {
    let caller = claimed.unconfirmed();
    let station_code = match (caller.role, &input.station) {
        (Role::Station | Role::Technician, None) => caller.location.clone().unwrap_or_default(),
        // its own code in any case is its own (codes are upper-case: `canonical_code`)
        (Role::Station | Role::Technician, Some(s))
            if caller.location.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(s)) =>
        {
            crate::network::rules::canonical_code(s)
        }
        (Role::Station | Role::Technician, Some(other)) => {
            let checked = claimed.check(conn)?;
            let unknown = AppError::not_found(format!("station {other} not found"));
            return Err(crate::auth::not_own(
                conn,
                &checked,
                other,
                "a station requests parts for itself only",
                unknown,
            ));
        }
        (_, Some(s)) => s.clone(),
        (_, None) => {
            claimed.check(conn)?;
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "station",
                "name the station you request for",
            )]));
        }
    };
    // a station's or technician's own station is in their sight, as everything is in an
    // admin's: no read of their scope; a warehouse user's scope is read from their location,
    // the user read first
    let own = matches!(caller.role, Role::Station | Role::Technician);
    let scope = match caller.role {
        Role::Station | Role::Technician => Scope::All,
        _ if !caller.role.is_location_scoped() => Scope::All,
        _ => {
            let checked = claimed.check(conn)?;
            Scope::of(conn, &checked)?
        }
    };
    match service::station_for_request(conn, cache, &scope, &station_code, Some(claimed.user_id())) {
        Ok(Some((st, user))) => Ok((claimed.confirm(user.map(|version| (version, true)))?, st)),
        Ok(None) => {
            claimed.check(conn)?;
            Err(match own {
                // as `Scope::of` refuses a user whose location is gone
                true => AppError::forbidden("this user's location no longer exists"),
                false => AppError::not_found(format!("station {station_code} not found")),
            })
        }
        // a refusal (not a station) goes to a user still as the token says
        Err(e) if !matches!(e.kind, Problem::Internal | Problem::Unavailable) && !e.is_retryable() => {
            claimed.check(conn)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

fn line_specs(input: &PartsRequestIn) -> Vec<LineSpec> {
    input.lines.iter().map(|l| LineSpec { part_code: l.part_code.clone(), qty: l.qty }).collect()
}

fn spec_of<'a>(input: &'a PartsRequestIn, lines: &'a [LineSpec]) -> RequestSpec<'a> {
    RequestSpec {
        lines,
        urgency: input.urgency.as_str(),
        ticket_id: input.ticket_id,
        source: input.source.as_deref(),
    }
}

/// The answer's body, from what was written (not read back).
fn answer(c: service::Created) -> Result<String, AppError> {
    let out = render(vec![c.request], &c.lines, &c.allocations, &c.location_codes, &c.part_codes).remove(0);
    serde_json::to_string(&out).map_err(|e| AppError::internal(e.into()))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    pub status: Option<Status>,
    /// a station code
    #[param(max_length = 64)]
    pub station: Option<String>,
    /// only the requests tied to this service ticket
    #[param(minimum = 1)]
    pub ticket_id: Option<i64>,
    /// only the requests with an allocation from this location (what it must pick and ship,
    /// with `status=allocated`)
    #[param(max_length = 64)]
    pub source: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List parts requests, newest first
///
/// A station sees its own; a technician those tied to their own tickets; a warehouse user those
/// of its stations and those supplied from its stock; admin, agents and finance see all.
/// `ticket_id` lists the requests tied to a ticket; `source` those supplied from a location
/// (a warehouse's pick list: `?source=RC-HZ&status=allocated`).
#[utoipa::path(
    tag = "requests",
    params(RequestQuery, IdPage),
    responses((status = 200, description = "The page of parts requests in the caller's scope, newest first", body = Page<PartsRequestOut>), E400, E401, E403, E404List, E422),
    security(("bearer" = ["admin", "warehouse", "station", "technician", "agent", "finance"]))
)]
#[get("/parts-requests")]
pub async fn list_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<RequestQuery>,
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
            let mut filter = RequestFilter {
                status: q.status.map(|s| s.as_str().to_string()),
                ticket_id: q.ticket_id,
                ..Default::default()
            };
            if let Scope::Under { path } = &scope {
                let below = network::subtree_ids(conn, path)?;
                if caller.role == Role::Warehouse {
                    filter.source_ids = Some(below.clone());
                }
                filter.station_ids = Some(below);
            }
            // a technician sees the requests of their own tickets, not the station's
            if caller.role == Role::Technician {
                filter.technician_id = Some(caller.user_id);
            }
            if let Some(code) = &q.source {
                // any location the caller sees; an unknown or unseen one is 404 alike
                let row = network::by_code(conn, code)?
                    .filter(|r| scope.sees(&r.path))
                    .ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
                filter.from_source = Some(row.id);
            }
            // a ticket filtered on is checked like a station: unknown or out of sight is 404
            // (not an empty page that would say it has no requests)
            if let Some(tid) = q.ticket_id {
                let seen = match crate::tickets::store::ticket(conn, tid)? {
                    None => false,
                    Some(t) if caller.role == Role::Technician => t.technician_id == Some(caller.user_id),
                    Some(t) => match (&scope, t.station_id) {
                        (Scope::All, _) => true,
                        (_, Some(sid)) => scope.covers(&network::by_id(conn, sid)?.path),
                        (_, None) => false,
                    },
                };
                if !seen {
                    return Err(
                        AppError::not_found(format!("ticket {tid} not found")).with("field", "ticket_id")
                    );
                }
            }
            if let Some(code) = &q.station {
                let row = crate::network::station::filtered_on(conn, code, &scope)?;
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
    params(("id" = i64, Path, description = "request id", example = 1004)),
    responses((status = 200, description = "The parts request, with its lines and allocations", body = PartsRequestOut), E401, E403, E404Request),
    security(("bearer" = ["admin", "warehouse", "station", "technician", "agent", "finance"]))
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
