//! Every closed-list column (states, kinds, tiers, reasons, ...) holds one of its enum's words:
//! a row whose word the code does not know would fail to read, so the audit names it (one query
//! per column).

use diesel::QueryResult;

use crate::catalogue::rules::{Interchangeability, Lifecycle};
use crate::db::{unknown_words, DbConn, StoredWord};
use crate::ledger::rules::Reason;
use crate::loans::rules::{InspectionStatus, LineStatus};
use crate::network::rules::{LocationKind, Tier};
use crate::planning::policy::PolicyKind;
use crate::planning::proposals::ProposalStatus;
use crate::requests::rules::{AllocationStatus, Status as RequestStatus};
use crate::settlement::rules::LineKind;
use crate::shipping::rules::{ClaimStatus, ShipmentStatus, TenderStatus};
use crate::tickets::followups::{Conduct, FollowUpStatus};
use crate::tickets::rules::{
    Category, Channel, JobType, QuoteStatus, Status as TicketStatus, Urgency, Warranty,
};

/// Rows whose state (or other closed-list word) is not one of its enum's words, in words.
pub fn breaches(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    out.extend(check::<LocationKind>(conn, "locations", "kind")?);
    out.extend(check::<Tier>(conn, "locations", "tier")?);
    out.extend(unknown_words::<Tier>(conn, "tiers", "tier", "tier")?);
    out.extend(check::<Tier>(conn, "station_tier_history", "tier")?);
    out.extend(check::<Lifecycle>(conn, "parts", "lifecycle")?);
    out.extend(check::<Interchangeability>(conn, "parts", "interchangeability")?);
    out.extend(check::<Reason>(conn, "stock_movements_history", "reason")?);
    out.extend(check::<RequestStatus>(conn, "parts_requests", "status")?);
    out.extend(check::<AllocationStatus>(conn, "request_allocations", "status")?);
    out.extend(check::<TicketStatus>(conn, "tickets", "status")?);
    out.extend(check::<Channel>(conn, "tickets", "channel")?);
    out.extend(check::<Category>(conn, "tickets", "category")?);
    out.extend(check::<Urgency>(conn, "tickets", "urgency")?);
    out.extend(check::<Warranty>(conn, "tickets", "warranty")?);
    out.extend(check::<JobType>(conn, "tickets", "job_type")?);
    out.extend(check::<TicketStatus>(conn, "ticket_events", "from_status")?);
    out.extend(check::<TicketStatus>(conn, "ticket_events", "to_status")?);
    out.extend(check::<QuoteStatus>(conn, "ticket_quotes", "status")?);
    out.extend(check::<JobType>(conn, "ticket_quotes", "job_type")?);
    out.extend(check::<FollowUpStatus>(conn, "follow_ups", "status")?);
    out.extend(check::<Conduct>(conn, "follow_ups", "technician_conduct")?);
    out.extend(check::<LineStatus>(conn, "loan_lines", "status")?);
    out.extend(check::<InspectionStatus>(conn, "inspections", "status")?);
    out.extend(check::<ShipmentStatus>(conn, "shipments", "status")?);
    out.extend(check::<TenderStatus>(conn, "tenders", "status")?);
    out.extend(check::<ClaimStatus>(conn, "claims", "status")?);
    out.extend(check::<ProposalStatus>(conn, "planning_proposals", "status")?);
    out.extend(check::<PolicyKind>(conn, "planning_runs", "policy")?);
    out.extend(check::<LineKind>(conn, "settlement_lines", "kind")?);
    Ok(out)
}

fn check<T: StoredWord>(conn: &mut DbConn, table: &str, column: &str) -> QueryResult<Vec<String>> {
    unknown_words::<T>(conn, table, "id", column)
}
