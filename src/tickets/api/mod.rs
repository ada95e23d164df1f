//! HTTP handlers of tickets and follow-ups, and the ticket representation they share.

pub mod actions;
pub mod followups;
pub mod scorecard;
pub mod tickets;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{Category, Channel, JobType, QuoteStatus, Status, Urgency, Warranty};
use super::sla::{Clock, Clocks, Deadlines};
use super::store::{self, PartLine, QuoteRow, TicketRow};
use crate::db::DbConn;
use crate::error::AppError;
use crate::money::Money;
use crate::network::store as network;
use crate::validate::Validate;

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The customer of a ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[schema(as = TicketCustomer)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(pattern = "^[0-9 +()-]{5,30}$")]
    pub phone: String,
    #[schema(min_length = 1, max_length = 300)]
    pub address: String,
    /// a region, e.g. Zhejiang
    #[schema(min_length = 1, max_length = 100)]
    pub region: String,
}

/// A part line from a client: a part code (checked, and fitted to the ticket's model) and a
/// quantity.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(as = TicketPartLineIn)]
pub struct PartLineIn {
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 1, maximum = 1000)]
    pub qty: i64,
}

/// A part on a ticket, with its sale price (what an out-of-warranty customer pays).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketPartLineOut)]
pub struct PartLineOut {
    pub part_code: String,
    pub name: String,
    pub qty: i64,
    pub sale_price: Money,
    /// the visit it belongs to (1 = first dispatch); 0 for quoted parts
    pub visit: i32,
}

/// A quote for out-of-warranty work.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketQuoteOut)]
pub struct QuoteOut {
    pub id: i64,
    pub job_type: JobType,
    pub labour: Money,
    pub parts: Vec<PartLineOut>,
    pub parts_total: Money,
    pub total: Money,
    /// `offered` or `accepted`
    #[schema(value_type = String)]
    pub status: QuoteStatus,
    pub note: Option<String>,
    pub quoted_by: String,
    pub quoted_at: DateTime<Utc>,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// One transition of a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketEventOut)]
pub struct EventOut {
    /// `intake`, or the action taken
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub station: Option<String>,
    pub technician: Option<String>,
    pub note: Option<String>,
}

/// A parts request tied to a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketPartsRequestOut, example = json!({"id": 12, "status": "shipped", "urgency": "urgent",
    "station": "ST-TZ-001", "created_at": "2026-11-23T10:00:00Z"}))]
pub struct RequestLinkOut {
    pub id: i64,
    /// the request's status: `pending_approval`, `allocated`, `backordered`, `picked`, `shipped`,
    /// `received`, `received_damaged`, `closed`, `cancelled` or `rejected`
    pub status: String,
    pub urgency: String,
    pub station: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A shipment carrying parts for a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketShipmentOut, example = json!({"id": 31, "request_id": 12, "status": "picked_up",
    "courier": "courier-1", "deliver_by": "2026-11-24T10:00:00Z", "delivered_at": null, "tracking": "/api/v1/shipments/31"}))]
pub struct ShipmentLinkOut {
    pub id: i64,
    pub request_id: i64,
    pub status: String,
    pub courier: Option<String>,
    /// the promised delivery time
    pub deliver_by: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// where the shipment and its tracking events are read
    pub tracking: String,
}

/// A loan of parts to the technician for a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketLoanOut, example = json!({"id": 4, "technician": "tech-st-tz-001",
    "created_at": "2026-11-23T11:00:00Z", "open_lines": 1, "lines": 1}))]
pub struct LoanLinkOut {
    pub id: i64,
    pub technician: String,
    pub created_at: DateTime<Utc>,
    /// lines not reconciled yet
    pub open_lines: i64,
    pub lines: i64,
}

/// A service ticket.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "status": "dispatched", "channel": "phone", "category": "repair", "urgency": "normal",
    "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234", "address": "12 Jiefang Rd, Jiaojiang", "region": "Zhejiang"},
    "serial": "RF00000001", "model": "BCD-539WT", "fault": "not cooling; compressor does not start",
    "component_family": "CMP", "warranty": "in_warranty", "warranty_covers": "CMP", "warranty_until": "2033-12-01",
    "warranty_reason": "compressor (CMP) covered 120 months from ship date 2023-12-02, until 2033-12-01",
    "station": "ST-TZ-001", "technician": "tech-st-tz-001", "job_type": null, "cause": null, "quote": null,
    "expected_parts": [{"part_code": "RF-CMP-00130B", "name": "Compressor 110 W R600a", "qty": 1, "sale_price": "690.00", "visit": 1}],
    "parts_used": [], "respond_by": null, "resolve_by": null, "decide_by": "2026-11-28T08:00:00Z",
    "responded_at": "2026-11-23T09:30:00Z", "resolved_at": null, "confirmed_at": null, "closed_at": null,
    "completed_at": null, "overdue": false, "overdue_clocks": [],
    "parts_requests": [], "shipments": [], "loans": [],
    "created_by": "agent",
    "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct TicketOut {
    pub id: i64,
    pub status: Status,
    pub channel: Channel,
    pub category: Category,
    pub urgency: Urgency,
    pub customer: Customer,
    /// the product unit's serial
    pub serial: String,
    /// its product model
    pub model: String,
    pub fault: String,
    /// the part family of the fault, when known
    pub component_family: Option<String>,
    /// decided at intake from the unit's ship date and the model's terms
    pub warranty: Warranty,
    /// `unit`, or the part family whose longer term decided
    pub warranty_covers: String,
    /// the last day the deciding term covers
    pub warranty_until: Option<NaiveDate>,
    pub warranty_reason: String,
    pub station: Option<String>,
    pub technician: Option<String>,
    /// the labour done, set on resolution
    pub job_type: Option<JobType>,
    pub cause: Option<String>,
    /// the latest quote (out of warranty)
    pub quote: Option<QuoteOut>,
    /// the parts expected on the work orders, each with its visit
    pub expected_parts: Vec<PartLineOut>,
    pub parts_used: Vec<PartLineOut>,
    /// urgent complaints and safety incidents: answer by (24 h)
    pub respond_by: Option<DateTime<Utc>>,
    /// urgent complaints and safety incidents: resolve by (48 h)
    pub resolve_by: Option<DateTime<Utc>>,
    /// other issues: a handling decision by (5 days)
    pub decide_by: Option<DateTime<Utc>>,
    /// the first quote or dispatch
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// confirmed by the customer, or closed
    pub completed_at: Option<DateTime<Utc>>,
    /// a deadline has passed unmet
    pub overdue: bool,
    pub overdue_clocks: Vec<Clock>,
    /// the parts requests tied to the ticket, oldest first
    pub parts_requests: Vec<RequestLinkOut>,
    /// the shipments of those requests
    pub shipments: Vec<ShipmentLinkOut>,
    /// the loans of parts to the technician for the ticket
    pub loans: Vec<LoanLinkOut>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// every transition with its actor and time (on a single ticket)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EventOut>>,
}

/// The clocks of a ticket row.
pub fn clocks(t: &TicketRow) -> Clocks {
    Clocks {
        deadlines: Deadlines { respond_by: t.respond_by, resolve_by: t.resolve_by, decide_by: t.decide_by },
        responded_at: t.responded_at,
        resolved_at: t.resolved_at,
        completed_at: t.completed_at,
    }
}

fn line_out(l: &PartLine) -> PartLineOut {
    PartLineOut {
        part_code: l.code.clone(),
        name: l.name.clone(),
        qty: l.qty,
        sale_price: Money(l.sale_price_minor),
        visit: l.visit,
    }
}

fn quote_out(q: &QuoteRow, lines: &[PartLine]) -> QuoteOut {
    QuoteOut {
        id: q.id,
        job_type: q.job_type,
        labour: Money(q.labour_minor),
        parts: lines.iter().filter(|l| l.quote_id == Some(q.id)).map(line_out).collect(),
        parts_total: Money(q.parts_minor),
        total: Money(q.total_minor),
        status: q.status,
        note: q.note.clone(),
        quoted_by: q.quoted_by.clone(),
        quoted_at: utc(q.quoted_at),
        accepted_by: q.accepted_by.clone(),
        accepted_at: q.accepted_at.map(utc),
    }
}

/// The API view of tickets (units, places, people, quotes and parts loaded per batch); with
/// `history`, each ticket's events too.
pub fn view(
    conn: &mut DbConn,
    rows: Vec<TicketRow>,
    now: NaiveDateTime,
    history: bool,
) -> Result<Vec<TicketOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let unit_ids: Vec<i64> = rows.iter().map(|r| r.unit_id).collect();
    let units: BTreeMap<i64, (String, String)> =
        store::units_of(conn, &unit_ids)?.into_iter().map(|(id, s, m)| (id, (s, m))).collect();
    let mut events = BTreeMap::new();
    if history {
        for id in &ids {
            events.insert(*id, store::events(conn, *id)?);
        }
    }
    let mut loc_ids: Vec<i64> = rows.iter().filter_map(|r| r.station_id).collect();
    let mut user_ids: Vec<i64> = rows.iter().filter_map(|r| r.technician_id).collect();
    for e in events.values().flatten() {
        loc_ids.extend(e.station_id);
        user_ids.extend(e.technician_id);
    }
    let locs = network::codes_of(conn, &loc_ids)?;
    let users: BTreeMap<i64, String> = store::usernames(conn, &user_ids)?.into_iter().collect();
    let quotes = store::latest_quotes(conn, &ids)?;
    let lines = store::part_lines(conn, &ids)?;
    let requests = store::links::requests_of(conn, &ids)?;
    let shipments = store::links::shipments_of(conn, &ids)?;
    let loans = store::links::loans_of(conn, &ids)?;
    let request_stations: Vec<i64> = requests.iter().map(|r| r.4).collect();
    let request_locs = network::codes_of(conn, &request_stations)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mine: Vec<PartLine> = lines.iter().filter(|l| l.ticket_id == r.id).cloned().collect();
        let quote = quotes.iter().rfind(|q| q.ticket_id == r.id).map(|q| quote_out(q, &mine));
        let c = clocks(&r);
        let overdue_clocks = c.overdue(now);
        let (serial, model) = units.get(&r.unit_id).cloned().unwrap_or_default();
        let history = events.remove(&r.id).map(|evs| {
            evs.into_iter()
                .map(|e| EventOut {
                    action: e.action,
                    from_status: e.from_status,
                    to_status: e.to_status,
                    actor: e.actor,
                    at: utc(e.at),
                    station: e.station_id.and_then(|s| locs.get(&s).cloned()),
                    technician: e.technician_id.and_then(|u| users.get(&u).cloned()),
                    note: e.note,
                })
                .collect()
        });
        out.push(TicketOut {
            id: r.id,
            status: r.status,
            channel: r.channel,
            category: r.category,
            urgency: r.urgency,
            customer: Customer {
                name: r.customer_name,
                phone: r.customer_phone,
                address: r.customer_address,
                region: r.customer_region,
            },
            serial,
            model,
            fault: r.fault,
            component_family: r.component_family,
            warranty: r.warranty,
            warranty_covers: r.warranty_covers,
            warranty_until: r.warranty_until,
            warranty_reason: r.warranty_reason,
            station: r.station_id.and_then(|s| locs.get(&s).cloned()),
            technician: r.technician_id.and_then(|u| users.get(&u).cloned()),
            job_type: r.job_type,
            cause: r.cause,
            quote,
            expected_parts: mine.iter().filter(|l| l.kind == "expected").map(line_out).collect(),
            parts_used: mine.iter().filter(|l| l.kind == "used").map(line_out).collect(),
            respond_by: r.respond_by.map(utc),
            resolve_by: r.resolve_by.map(utc),
            decide_by: r.decide_by.map(utc),
            responded_at: r.responded_at.map(utc),
            resolved_at: r.resolved_at.map(utc),
            confirmed_at: r.confirmed_at.map(utc),
            closed_at: r.closed_at.map(utc),
            completed_at: r.completed_at.map(utc),
            overdue: !overdue_clocks.is_empty(),
            overdue_clocks,
            parts_requests: requests
                .iter()
                .filter(|q| q.0 == r.id)
                .map(|(_, id, status, urgency, station, at)| RequestLinkOut {
                    id: *id,
                    status: status.clone(),
                    urgency: urgency.clone(),
                    station: request_locs.get(station).cloned(),
                    created_at: utc(*at),
                })
                .collect(),
            shipments: shipments
                .iter()
                .filter(|s| s.ticket_id == r.id)
                .map(|s| ShipmentLinkOut {
                    id: s.id,
                    request_id: s.request_id,
                    status: s.status.clone(),
                    courier: s.courier.clone(),
                    deliver_by: utc(s.deliver_by),
                    delivered_at: s.delivered_at.map(utc),
                    tracking: format!("/api/v1/shipments/{}", s.id),
                })
                .collect(),
            loans: loans
                .iter()
                .filter(|l| l.0 == r.id)
                .map(|(_, id, tech, at, open, total)| LoanLinkOut {
                    id: *id,
                    technician: tech.clone(),
                    created_at: utc(*at),
                    open_lines: *open,
                    lines: *total,
                })
                .collect(),
            created_by: r.created_by,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
            history,
        });
    }
    Ok(out)
}

/// One ticket with its history.
pub fn one(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<TicketOut, AppError> {
    let row =
        store::ticket(conn, id)?.ok_or_else(|| AppError::not_found(format!("ticket {id} not found")))?;
    Ok(view(conn, vec![row], now, true)?.remove(0))
}

// The refusals of the tickets' operations, each with its own example (`http::docs`).

crate::problems!(E404Ticket, 404, "No ticket of this id in the caller's sight", [
    NotFound => "ticket 7 not found",
]);
crate::problems!(E404TicketStation, 404, "The station filtered on is unknown or out of the caller's sight", [
    NotFound => "station ST-HZ-021 not found",
]);
crate::problems!(
    E422Intake,
    422,
    "A field breaks a rule (`errors`); the serial names no unit sold (`suggestions`), the unit is of another model, the component family is not of its product line, or the station is unknown",
    [
        UnknownUnit => "there is no product unit \"BCD539WT2405000123\"; did you mean BCD539WT2405000128?"
            {"field": "serial", "serial": "BCD539WT2405000123", "suggestions": ["BCD539WT2405000128"]},
        ModelMismatch => "unit BCD539WT2405000128 is a BCD-539WT, not a BCD-520WT"
            {"field": "model", "model": "BCD-539WT"},
        UnknownComponentFamily => "no part family CMPX in product line RF (model BCD-539WT)"
            {"field": "component_family", "families": ["CMP", "FAN", "THM"]},
        UnknownStation => "there is no station ST-TZ-009" {"field": "station"},
    ]
);
crate::problems!(E409TicketAction, 409, "The ticket's status does not allow this action", [
    InvalidTransition => "arrive is not allowed on a ticket that is open; allowed now: quote, dispatch, close"
        {"current_status": "open", "action": "arrive"},
]);
crate::problems!(E409AwaitParts, 409, "The ticket's status does not allow this action, or no parts request tied to it is on its way", [
    InvalidTransition => "await_parts is not allowed on a ticket that is dispatched; allowed now: arrive, dispatch"
        {"current_status": "dispatched", "action": "await_parts"},
    NoPartsOnOrder => "ticket 7 has no parts request on its way, so nothing would end the wait: order the missing part for the ticket first (POST /parts-requests with ticket_id 7)"
        {"current_status": "on_site"},
]);
crate::problems!(E409Resolve, 409, "The ticket's status does not allow resolving it, or the station has not got free a part used that no loan to the ticket brought", [
    InvalidTransition => "resolve is not allowed on a ticket that is dispatched; allowed now: arrive, await_parts"
        {"current_status": "dispatched", "action": "resolve"},
    InsufficientStock => "parts_used[0]: RF-CMP-00130B x1 used; no loan for ticket 7 brought it, so it comes from ST-TZ-001's free stock, which holds 0 (0 on hand, 0 reserved); lend the part for the ticket or receive it at the station first"
        {"field": "parts_used[0]", "part_code": "RF-CMP-00130B", "location": "ST-TZ-001", "available": 0, "requested": 1, "lent": 0},
]);
crate::problems!(E409Close, 409, "The ticket's status does not allow closing it, or parts requests for it are still open", [
    InvalidTransition => "close is not allowed on a ticket that is dispatched; allowed now: arrive, await_parts"
        {"current_status": "dispatched", "action": "close"},
    PartsTied => "ticket 7 has parts requests still open: parts request 74 (backordered); cancel them (or receive them) before closing it"
        {"tied": ["parts request 74 (backordered)"]},
]);
crate::problems!(E409Quote, 409, "The ticket is in warranty (no quote needed), or past quoting", [
    QuoteNotNeeded => "ticket 7 is in warranty: the work is free and needs no quote (within 12 months of sale)"
        {"current_status": "open", "action": "quote"},
    InvalidTransition => "quote is not allowed on a ticket that is dispatched; allowed now: dispatch, arrive"
        {"current_status": "dispatched", "action": "quote"},
]);
crate::problems!(E409AcceptQuote, 409, "The ticket has no quote on offer", [
    NoQuote => "ticket 7 has no quote on offer",
    InvalidTransition => "accept_quote is not allowed on a ticket that is open; allowed now: quote, dispatch, close"
        {"current_status": "open", "action": "accept_quote"},
]);
crate::problems!(E409Intake, 409, "The station named (or the station user's own) is inactive", [
    LocationInactive => "ST-NB-004 is inactive: it takes in no new tickets" {"location": "ST-NB-004"},
]);
crate::problems!(E409Dispatch, 409, "The ticket needs an accepted quote first, is past dispatching, has parts tied to its station or in another technician's hands, or would move to an inactive station", [
    LocationInactive => "ST-NB-004 is inactive: no ticket is sent there" {"location": "ST-NB-004"},
    QuoteRequired => "ticket 7 is out of warranty: the customer must accept a quote before dispatch (sold 30 months ago)"
        {"current_status": "quoted", "action": "dispatch"},
    InvalidTransition => "dispatch is not allowed on a ticket that is resolved; allowed now: confirm"
        {"current_status": "resolved", "action": "dispatch"},
    PartsTied => "ticket 7 has parts tied to ST-TZ-001: parts request 74 (allocated), loan 12 (1 open lines); receive or cancel the requests and reconcile the loans before sending it to another station"
        {"station": "ST-TZ-001", "tied": ["parts request 74 (allocated)", "loan 12 (1 open lines)"]},
    PartsTied "in_hand" => "ticket 7 has parts in the hands of tech-st-tz-001: loan 12 (1 open lines); return or reconcile them before dispatching another technician"
        {"technician": "tech-st-tz-001", "tied": ["loan 12 (1 open lines)"]},
]);
crate::problems!(
    E422TicketParts,
    422,
    "A field breaks a rule (`errors`), or a part code is unknown or malformed (`suggestions` among the model's parts) or does not fit the ticket's unit (`compatible_alternatives`)",
    [
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B? (parts of model BCD-539WT)"
            {"field": "parts[0].part_code", "code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"], "model": "BCD-539WT"},
        InvalidPartCode => "\"RF-CMP-0013\" is not a part code: expected <LINE>-<FAMILY>-<SEQ><CHECK>, e.g. RF-CMP-00417I (2 letters, 3 letters, 5 digits and a check character); no part of model BCD-539WT is close"
            {"field": "parts[0].part_code", "code": "RF-CMP-0013", "suggestions": [], "reason": "malformed", "model": "BCD-539WT"},
        IncompatiblePart => "part RF-CMP-00417I does not fit model BCD-539WT"
            {"field": "parts[0].part_code", "code": "RF-CMP-00417I", "model": "BCD-539WT", "compatible_alternatives": ["RF-CMP-00130B"]},
    ]
);
crate::problems!(
    E422Dispatch,
    422,
    "A field breaks a rule (`errors`); the station or technician is unknown (`technicians` lists the station's), or an expected part is unknown or does not fit the unit",
    [
        UnknownStation => "there is no station ST-TZ-009" {"field": "station"},
        InvalidTechnician => "\"tech-zhou\" is not an active technician of ST-TZ-001"
            {"field": "technician", "technicians": ["tech-li", "tech-wang"]},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B? (parts of model BCD-539WT)"
            {"field": "expected_parts[0].part_code", "code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"], "model": "BCD-539WT"},
        IncompatiblePart => "part RF-CMP-00417I does not fit model BCD-539WT"
            {"field": "expected_parts[0].part_code", "code": "RF-CMP-00417I", "model": "BCD-539WT", "compatible_alternatives": ["RF-CMP-00130B"]},
    ]
);
crate::problems!(E404FollowUp, 404, "No follow-up call of this id", [
    NotFound => "follow-up 5 not found",
]);
crate::problems!(E404FollowUpStation, 404, "The station filtered on is unknown or out of the caller's sight", [
    NotFound => "station ST-NB-014 not found",
]);
crate::problems!(E409FollowUp, 409, "The call's result is recorded already", [
    AlreadyRecorded => "follow-up 5 already has its result (recorded by agent-wu)" {"current_status": "reached"},
]);
crate::problems!(E422Sample, 422, "A field breaks a rule; `errors` names each field", [
    ValidationFailed => "share: between 0.05 and 0.10" {"errors": [{"field": "share", "message": "between 0.05 and 0.10"}]},
]);
crate::problems!(E404Scorecard, 404, "No station of this code in the caller's sight", [
    NotFound => "station ST-WZ-003 not found",
]);
crate::problems!(E400Month, 400, "The month is not YYYY-MM, or the request is otherwise malformed", [
    InvalidQuery => "month \"2026-13\" is not YYYY-MM",
]);
