//! `/tickets`: intake, the list with its filters (overdue among them) and one ticket with its
//! history.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{one, view, Customer, TicketOut};
use super::{E404Ticket, E404TicketStation, E409Intake, E422Intake};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::codes;
use crate::catalogue::rules as catalogue_rules;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, Page};
use crate::network::store as network;
use crate::state::AppState;
use crate::tickets::rules::{Category, Channel, Status, Urgency};
use crate::tickets::service::{self, Intake};
use crate::tickets::store::{self, TicketFilter};
use crate::validate::{not_blank, Validate};

/// A new service ticket.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "channel": "phone",
    "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234", "address": "12 Jiefang Rd, Jiaojiang", "region": "Zhejiang"},
    "serial": "RF00000001", "fault": "not cooling; compressor does not start", "component_family": "CMP",
    "category": "repair", "urgency": "normal", "station": "ST-TZ-001"
}))]
#[validate(rules = new_ticket_rules)]
pub struct NewTicketIn {
    pub channel: Channel,
    pub customer: Customer,
    /// the product unit's serial: 4-40 letters, digits and dashes as `POST /units` takes it (a
    /// space around it is refused, not trimmed), in any case; it must exist: an unknown one is
    /// 422 with the nearest serials
    #[schema(min_length = 1, max_length = 40)]
    pub serial: String,
    /// the unit's product model as the customer reads it from the label; when given it must be
    /// the unit's (422 `model_mismatch`)
    #[schema(max_length = 32)]
    pub model: Option<String>,
    /// the fault as the customer describes it
    #[schema(min_length = 1, max_length = 2000)]
    pub fault: String,
    /// the part family the fault lies in (e.g. CMP), when known: a longer component warranty
    /// term applies to it
    #[schema(pattern = "^[A-Z]{3}$")]
    pub component_family: Option<String>,
    pub category: Category,
    #[serde(default = "normal")]
    pub urgency: Urgency,
    /// the station that takes the ticket: a station's own (the default for station users); an
    /// agent may leave it for dispatch
    #[schema(max_length = 64)]
    pub station: Option<String>,
}

fn normal() -> Urgency {
    Urgency::Normal
}

/// A new ticket's rules beside its fields' limits (a body: `at` is empty).
fn new_ticket_rules(input: &NewTicketIn, _at: &str, errors: &mut Vec<FieldError>) {
    let c = &input.customer;
    not_blank(errors, "customer.name", Some(&c.name));
    not_blank(errors, "customer.address", Some(&c.address));
    not_blank(errors, "customer.region", Some(&c.region));
    let phone_ok = (5..=30).contains(&c.phone.trim().len())
        && c.phone.chars().any(|ch| ch.is_ascii_digit())
        && c.phone.chars().all(|ch| ch.is_ascii_digit() || " +-()".contains(ch));
    if !phone_ok {
        errors.push(FieldError::new("customer.phone", "5-30 digits, spaces, +, - or parentheses"));
    }
    not_blank(errors, "fault", Some(&input.fault));
    // the form `POST /units` holds a serial to, so the two agree on what a serial is
    if !input.serial.trim().is_empty() && !catalogue_rules::valid_serial(&input.serial) {
        errors.push(FieldError::new("serial", "4-40 letters, digits and dashes, nothing around them"));
    }
    not_blank(errors, "serial", Some(&input.serial));
    if input.component_family.as_deref().is_some_and(|f| !codes::valid_family(f)) {
        errors.push(FieldError::new("component_family", "a part family: 3 upper-case letters, e.g. CMP"));
    }
}

/// Take in a service ticket (agent, station, admin)
///
/// The product unit must exist (422 `unknown_unit` with the nearest `suggestions`). The
/// warranty is decided now from the unit's ship date and its model's terms: the whole-unit
/// term, or the longer term of the fault's `component_family` (e.g. 120 months on the
/// compressor); `warranty_reason` says why. The SLA deadlines follow the service standard: an
/// urgent complaint or any safety incident is answered within 24 hours (`respond_by`) and
/// resolved within 48 (`resolve_by`); anything else gets a handling decision within 5 days
/// (`decide_by`). A station's ticket is its own; an agent may name a station or leave the
/// ticket unassigned until dispatch. An inactive (closed) station takes in no new ticket: 409
/// `location_inactive` naming it, and nothing is written; its tickets already taken in go on.
#[utoipa::path(
    tag = "tickets",
    request_body = NewTicketIn,
    responses((status = 201, description = "The ticket opened, with its warranty decision and SLA deadlines", body = TicketOut), E400, E401, E403, E409Intake, E415, E422Intake),
    security(("bearer" = ["admin", "station", "agent"]))
)]
#[post("/tickets")]
pub async fn create_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewTicketIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Agent, Role::Station, Role::Admin])?;
    let input = body.0;
    let intake = Intake {
        channel: input.channel,
        category: input.category,
        urgency: input.urgency,
        customer_name: input.customer.name,
        customer_phone: input.customer.phone.trim().to_string(),
        customer_address: input.customer.address,
        customer_region: input.customer.region,
        serial: input.serial,
        model: input.model.map(|m| m.trim().to_ascii_uppercase()),
        fault: input.fault,
        component_family: input.component_family,
        station: input.station,
    };
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let id = service::intake(conn, &caller, &intake, now)?;
            one(conn, id, now.naive_utc())
        })
        .await?;
    Ok(HttpResponse::Created().insert_header(("Location", format!("/api/v1/tickets/{}", out.id))).json(out))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    pub status: Option<Status>,
    /// a station code
    #[param(max_length = 64)]
    pub station: Option<String>,
    pub category: Option<Category>,
    /// `true`: only tickets past an SLA deadline that was not met; `false`: only the others
    pub overdue: Option<bool>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List tickets, newest first
///
/// A technician sees the tickets assigned to them, a station its own; agents, finance and
/// admin see all. `overdue=true` lists the tickets past a deadline that was not met, as of
/// now.
#[utoipa::path(
    tag = "tickets",
    params(TicketQuery, IdPage),
    responses((status = 200, description = "The page of tickets in the caller's sight, newest first", body = Page<TicketOut>), E400, E401, E403, E404TicketStation, E422),
    security(("bearer" = ["admin", "station", "technician", "agent", "finance"]))
)]
#[get("/tickets")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<TicketQuery>,
) -> Result<web::Json<Page<TicketOut>>, AppError> {
    service::require_ticket_role(&caller)?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .read(move |conn| {
            let mut filter = TicketFilter {
                status: q.status.map(|s| s.as_str().to_string()),
                category: q.category.map(|c| c.as_str().to_string()),
                overdue: q.overdue.map(|o| (o, now)),
                ..Default::default()
            };
            let scope = Scope::of(conn, &caller)?;
            match caller.role {
                Role::Technician => filter.technician_id = Some(caller.user_id),
                Role::Station => {
                    if let Scope::Under { path } = &scope {
                        filter.station_ids = Some(network::subtree_ids(conn, path)?);
                    }
                }
                _ => {}
            }
            if let Some(code) = &q.station {
                let row = crate::network::station::filtered_on(conn, code, &scope)?;
                filter.station_ids = Some(vec![row.id]);
            }
            let rows = store::list(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            Ok(Page { items: view(conn, page.items, now, false)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a ticket with its history
///
/// Every transition with its actor and time is in `history`.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id", example = 1003)),
    responses((status = 200, description = "The ticket, with its history, quote, parts and SLA clocks", body = TicketOut), E401, E403, E404Ticket),
    security(("bearer" = ["admin", "station", "technician", "agent", "finance"]))
)]
#[get("/tickets/{id}")]
pub async fn get_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TicketOut>, AppError> {
    let id = id.into_inner();
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .read(move |conn| {
            service::visible(conn, &caller, id)?;
            one(conn, id, now)
        })
        .await?;
    Ok(web::Json(out))
}
