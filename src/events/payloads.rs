//! What each event carries (`data` of a webhook message), one type per kind of object, so the
//! OpenAPI document's `webhooks` and the messages sent are the same types.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::money::Money;

/// `parts_request.allocated`, `parts_request.backordered`: the request as it now stands.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 12, "station": "ST-TZ-001", "status": "backordered", "ticket_id": 7,
    "urgency": "normal", "backordered_units": 2}))]
pub struct PartsRequestEvent {
    pub id: i64,
    pub station: String,
    pub status: String,
    pub ticket_id: Option<i64>,
    pub urgency: String,
    /// units still waiting for stock
    pub backordered_units: i64,
}

/// `backorder.filled`: units of a waiting line reserved from stock that arrived.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"request_id": 12, "line_no": 1, "station": "ST-TZ-001", "qty": 2,
    "still_backordered": 0, "from": "RC-HZ"}))]
pub struct BackorderFilledEvent {
    pub request_id: i64,
    pub line_no: i32,
    pub station: String,
    pub qty: i64,
    pub still_backordered: i64,
    /// the stocking location the units were reserved at
    pub from: String,
}

/// `shipment.picked_up`, `shipment.delivered`, `shipment.damaged`: the shipment as it now stands.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "request_id": 12, "from": "RC-HZ", "to": "ST-TZ-001",
    "status": "delivered", "urgency": "urgent", "picked_up_at": "2026-12-05T09:00:00Z",
    "delivered_at": "2026-12-05T11:00:00Z", "damaged_units": 0}))]
pub struct ShipmentEvent {
    pub id: i64,
    pub request_id: Option<i64>,
    pub from: String,
    pub to: String,
    pub status: String,
    pub urgency: String,
    pub picked_up_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub damaged_units: i64,
}

/// `claim.opened`: a claim against the courier for units that arrived damaged.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "shipment_id": 5, "request_id": 12, "part_code": "RF-CMP-00130B",
    "qty": 1, "amount": "365.20"}))]
pub struct ClaimEvent {
    pub id: i64,
    pub shipment_id: i64,
    pub request_id: Option<i64>,
    pub part_code: String,
    pub qty: i64,
    pub amount: Money,
}

/// `ticket.state_changed`: a ticket moved from one state to another.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "station": "ST-TZ-001", "from": "open", "to": "dispatched",
    "action": "dispatch", "actor": "agent", "at": "2026-12-05T09:00:00Z"}))]
pub struct TicketStateEvent {
    pub id: i64,
    pub station: Option<String>,
    pub from: String,
    pub to: String,
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// `proposal.released`: a planned order released into the ledger.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 4, "kind": "transfer", "source": "RC-HZ", "destination": "ST-TZ-001",
    "lines": 3, "released_by": "warehouse-rc-hz", "backorders_filled": 1}))]
pub struct ProposalReleasedEvent {
    pub id: i64,
    /// transfer or purchase
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub lines: usize,
    pub released_by: String,
    /// waiting lines the released stock served at once
    pub backorders_filled: usize,
}

/// `period.closed`: a settlement month closed; its figures and files no longer change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": "2026-11", "closed_by": "finance", "lines": 412,
    "net_payable": "128400.00", "next_open_period": "2026-12"}))]
pub struct PeriodClosedEvent {
    pub period: String,
    pub closed_by: String,
    pub lines: i64,
    pub net_payable: Money,
    pub next_open_period: String,
}

/// `ticket.deadline_missed`: a ticket passed an SLA deadline it had not met (sent once per
/// ticket, when the first is missed; `missed` names every deadline missed by then).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "station": "ST-TZ-001", "status": "dispatched", "urgency": "urgent",
    "missed": ["respond_by"], "respond_by": "2026-12-05T09:00:00Z", "resolve_by": "2026-12-06T09:00:00Z",
    "decide_by": null}))]
pub struct TicketDeadlineEvent {
    pub id: i64,
    pub station: Option<String>,
    pub status: String,
    pub urgency: String,
    /// respond_by, resolve_by or decide_by
    pub missed: Vec<String>,
    pub respond_by: Option<DateTime<Utc>>,
    pub resolve_by: Option<DateTime<Utc>>,
    pub decide_by: Option<DateTime<Utc>>,
}

/// `loan_line.overdue`: a lent part's core (or the unused part) was not back within the
/// station tier's core-return days; settlement charges it from now on.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"loan_id": 4, "line_no": 1, "station": "ST-TZ-001", "part_code": "RF-CMP-00130B",
    "qty": 1, "value": "365.20", "due_at": "2026-12-04T08:00:00Z"}))]
pub struct LoanLineOverdueEvent {
    pub loan_id: i64,
    pub line_no: i32,
    pub station: String,
    pub part_code: String,
    pub qty: i64,
    /// at cost
    pub value: Money,
    pub due_at: DateTime<Utc>,
}

/// The object a message is about, with its ordering key.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventObject {
    /// parts_request, shipment, ticket, claim, proposal, loan_line or period (a period's id is its
    /// month as a number: 202611)
    pub kind: String,
    pub id: i64,
    /// grows with every event of this object: a receiver drops a message older than one it has
    pub sequence: i64,
}
