//! The rules of parts requests: states and their transitions, routing order, the allowance,
//! and the order backorders are served in. No HTTP, no database.

use crate::validate::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PendingApproval,
    Allocated,
    Backordered,
    Picked,
    Shipped,
    Received,
    ReceivedDamaged,
    Closed,
    Cancelled,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::PendingApproval,
        Status::Allocated,
        Status::Backordered,
        Status::Picked,
        Status::Shipped,
        Status::Received,
        Status::ReceivedDamaged,
        Status::Closed,
        Status::Cancelled,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingApproval => "pending_approval",
            Status::Allocated => "allocated",
            Status::Backordered => "backordered",
            Status::Picked => "picked",
            Status::Shipped => "shipped",
            Status::Received => "received",
            Status::ReceivedDamaged => "received_damaged",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Nothing more happens to a request in this state.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled | Status::Rejected)
    }

    /// Its lines count against the station's allowance and may be served from new stock.
    pub fn is_open(self) -> bool {
        !self.is_final() && self != Status::PendingApproval
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Cancel,
    Pick,
    Ship,
    Receive,
    Close,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Pick => "pick",
            Action::Ship => "ship",
            Action::Receive => "receive",
            Action::Close => "close",
        }
    }
}

/// Whether `action` may be taken on a request in `from`. Pick, ship and receive also need
/// allocations at the right stage, which the service checks; this is the state machine.
pub fn allowed(from: Status, action: Action) -> bool {
    use Action as A;
    use Status as S;
    match action {
        A::Approve | A::Reject => from == S::PendingApproval,
        A::Cancel => matches!(
            from,
            S::PendingApproval | S::Allocated | S::Backordered | S::Picked | S::ReceivedDamaged
        ),
        A::Pick => matches!(from, S::Allocated | S::Backordered | S::ReceivedDamaged),
        A::Ship => matches!(from, S::Picked | S::Allocated | S::Backordered | S::ReceivedDamaged),
        A::Receive => {
            matches!(from, S::Shipped | S::Picked | S::Allocated | S::Backordered | S::ReceivedDamaged)
        }
        A::Close => from == S::Received,
    }
}

/// The 409 message for a refused transition.
pub fn refusal(from: Status, action: Action) -> String {
    format!(
        "a request that is {} cannot be {}",
        from.as_str(),
        match action {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Cancel => "cancelled",
            Action::Pick => "picked",
            Action::Ship => "shipped",
            Action::Receive => "received",
            Action::Close => "closed",
        }
    )
}

/// Where an allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum AllocationStatus {
    Reserved,
    Picked,
    Shipped,
    Received,
    Damaged,
    Cancelled,
}

impl AllocationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AllocationStatus::Reserved => "reserved",
            AllocationStatus::Picked => "picked",
            AllocationStatus::Shipped => "shipped",
            AllocationStatus::Received => "received",
            AllocationStatus::Damaged => "damaged",
            AllocationStatus::Cancelled => "cancelled",
        }
    }

    pub const ALL: [AllocationStatus; 6] = {
        use AllocationStatus as A;
        [A::Reserved, A::Picked, A::Shipped, A::Received, A::Damaged, A::Cancelled]
    };

    pub fn parse(s: &str) -> Option<AllocationStatus> {
        AllocationStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

crate::db::stored_as_text!(Status, AllocationStatus);

/// A request's state from its allocations: the earliest stage any of them is at. A receipt
/// that found damage shows `received_damaged` until the replacement moves on.
pub fn derive_status(allocations: &[AllocationStatus], backlog: i64, damaged_just_now: bool) -> Status {
    use AllocationStatus as A;
    if damaged_just_now {
        return Status::ReceivedDamaged;
    }
    let any = |s: A| allocations.contains(&s);
    if any(A::Reserved) {
        if backlog > 0 {
            Status::Backordered
        } else {
            Status::Allocated
        }
    } else if any(A::Picked) {
        Status::Picked
    } else if any(A::Shipped) {
        Status::Shipped
    } else if backlog > 0 {
        Status::Backordered
    } else {
        Status::Received
    }
}

/// The sources to try for a station's line, in order: its own centre; the central warehouse
/// when the tier allows; the configured lateral centres by priority. A requested `source` must
/// be one of these and is then the only one tried.
pub fn sources(
    own_centre: i64,
    central: Option<i64>,
    may_order_from_hq: bool,
    laterals: &[i64],
    requested: Option<i64>,
) -> Result<Vec<i64>, String> {
    let mut all = vec![own_centre];
    if may_order_from_hq {
        all.extend(central);
    }
    all.extend(laterals.iter().copied().filter(|l| *l != own_centre));
    match requested {
        None => Ok(all),
        Some(s) if all.contains(&s) => Ok(vec![s]),
        Some(_) => {
            Err("this station may not be supplied from that source: its own regional centre, the central \
                        warehouse if its tier allows, or a configured lateral centre"
                .into())
        }
    }
}

/// The sources of [`sources`] that take new reservations: the inactive ones left out (a closed
/// centre is no source). A named source that is inactive, or none left at all, is refused
/// with the inactive location to name (`Err`): the named one, else the first one left out.
pub fn active_sources(all: Vec<i64>, requested: Option<i64>, inactive: &[i64]) -> Result<Vec<i64>, i64> {
    if let Some(s) = requested.filter(|s| inactive.contains(s)) {
        return Err(s);
    }
    let first_out = all.iter().copied().find(|s| inactive.contains(s));
    let left: Vec<i64> = all.into_iter().filter(|s| !inactive.contains(s)).collect();
    match (left.is_empty(), first_out) {
        (true, Some(s)) => Err(s),
        _ => Ok(left),
    }
}

/// By how much the outstanding value plus a request exceeds the allowance (None: it fits).
pub fn exceeds_by(outstanding: i64, request_value: i64, allowance: i64) -> Option<i64> {
    let total = outstanding.saturating_add(request_value);
    (total > allowance).then(|| total - allowance)
}

/// What decides who is served first from new stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub urgent: bool,
    pub ticket_linked: bool,
    pub allocation_priority: i32,
    pub created_at: chrono::NaiveDateTime,
    pub line_id: i64,
}

/// Backorders are filled urgent ticket-linked first, then by tier priority (lower first), then
/// by age (oldest first); the line id breaks ties.
pub fn fill_order(a: &Waiting, b: &Waiting) -> std::cmp::Ordering {
    let first = |w: &Waiting| !(w.urgent && w.ticket_linked);
    first(a)
        .cmp(&first(b))
        .then(a.allocation_priority.cmp(&b.allocation_priority))
        .then(a.created_at.cmp(&b.created_at))
        .then(a.line_id.cmp(&b.line_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn request_and_allocation_states_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<Status>();
        crate::db::text::assert_stored_as_text::<AllocationStatus>();
    }

    #[test]
    fn every_transition_is_decided() {
        use Action as A;
        use Status as S;
        let actions = [A::Approve, A::Reject, A::Cancel, A::Pick, A::Ship, A::Receive, A::Close];
        for s in Status::ALL {
            for a in actions {
                let ok = allowed(s, a);
                if s.is_final() {
                    assert!(!ok, "{s:?} is final but allows {a:?}");
                }
                if !ok {
                    assert!(refusal(s, a).contains(s.as_str()));
                }
            }
        }
        assert!(allowed(S::PendingApproval, A::Approve));
        assert!(!allowed(S::Allocated, A::Approve));
        assert!(!allowed(S::Shipped, A::Cancel));
        assert!(allowed(S::Received, A::Close));
        assert!(!allowed(S::Shipped, A::Close));
    }

    #[test]
    fn status_follows_the_earliest_allocation() {
        use AllocationStatus as A;
        assert_eq!(derive_status(&[A::Reserved], 0, false), Status::Allocated);
        assert_eq!(derive_status(&[A::Reserved], 3, false), Status::Backordered);
        assert_eq!(derive_status(&[], 3, false), Status::Backordered);
        assert_eq!(derive_status(&[A::Picked, A::Shipped], 0, false), Status::Picked);
        assert_eq!(derive_status(&[A::Shipped, A::Received], 0, false), Status::Shipped);
        assert_eq!(derive_status(&[A::Received, A::Cancelled], 0, false), Status::Received);
        assert_eq!(derive_status(&[A::Received, A::Damaged, A::Reserved], 0, true), Status::ReceivedDamaged);
    }

    #[test]
    fn routing_order_and_requested_sources() {
        assert_eq!(sources(5, Some(1), true, &[6, 7], None).unwrap(), vec![5, 1, 6, 7]);
        assert_eq!(sources(5, Some(1), false, &[6], None).unwrap(), vec![5, 6]);
        assert_eq!(sources(5, Some(1), true, &[], Some(1)).unwrap(), vec![1]);
        assert!(sources(5, Some(1), false, &[], Some(1)).is_err());
        assert!(sources(5, Some(1), true, &[6], Some(9)).is_err());
    }

    #[test]
    fn an_inactive_location_is_no_source_and_named_it_is_refused() {
        // the centre closed: the central warehouse and the laterals still supply
        assert_eq!(active_sources(vec![5, 1, 6], None, &[5]), Ok(vec![1, 6]));
        assert_eq!(active_sources(vec![5, 1, 6], None, &[1, 6]), Ok(vec![5]));
        assert_eq!(active_sources(vec![5, 1, 6], None, &[]), Ok(vec![5, 1, 6]));
        // named, it is refused even when others could supply
        assert_eq!(active_sources(vec![1], Some(1), &[1]), Err(1));
        assert_eq!(active_sources(vec![5], Some(5), &[1]), Ok(vec![5]));
        // nothing left: the first one left out is named
        assert_eq!(active_sources(vec![5, 6], None, &[6, 5]), Err(5));
    }

    #[test]
    fn allowance_excess_is_exact() {
        assert_eq!(exceeds_by(9_000, 1_000, 10_000), None);
        assert_eq!(exceeds_by(9_000, 1_001, 10_000), Some(1));
        assert_eq!(exceeds_by(0, 25_000, 10_000), Some(15_000));
    }

    #[test]
    fn urgent_ticket_lines_then_tier_then_age() {
        let t = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(8, 0, 0).unwrap();
        let w = |urgent, ticket, prio, day, id| Waiting {
            urgent,
            ticket_linked: ticket,
            allocation_priority: prio,
            created_at: t(day),
            line_id: id,
        };
        let mut v = [
            w(false, false, 3, 1, 1),
            w(true, false, 1, 3, 2),
            w(true, true, 4, 5, 3),
            w(false, true, 1, 2, 4),
        ];
        v.sort_by(fill_order);
        let ids: Vec<i64> = v.iter().map(|x| x.line_id).collect();
        // the urgent ticket-linked line first despite tier D and youth; then tier 1 by age; then tier 3
        assert_eq!(ids, vec![3, 4, 2, 1]);
    }
}
