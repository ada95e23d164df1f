//! The rules of service tickets: their states and the one transition function, who may take
//! which action, and the warranty decision at intake. No HTTP, no database.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

use crate::auth::Role;
use crate::catalogue::rules::warranty_until;

/// A closed set of snake_case words, stored as text: `as_str`, `parse` and `ALL`.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema, $crate::validate::Validate)]
        #[serde(rename_all = "snake_case")]
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::db::stored_as_text!($name);
    };
}
pub(crate) use words;

words!(
    /// Where a ticket stands.
    #[schema(as = TicketStatus)]
    Status {
        Open = "open",
        Quoted = "quoted",
        QuoteAccepted = "quote_accepted",
        Dispatched = "dispatched",
        OnSite = "on_site",
        AwaitingParts = "awaiting_parts",
        Resolved = "resolved",
        Unresolved = "unresolved",
        Confirmed = "confirmed",
        Closed = "closed",
    }
);

words!(
    /// Where a quote stands: a new quote supersedes the one offered before it.
    QuoteStatus { Offered = "offered", Accepted = "accepted", Superseded = "superseded" }
);

words!(
    /// What can be done to a ticket (each is one `POST /tickets/{id}/<action>`).
    Action {
        Quote = "quote",
        AcceptQuote = "accept_quote",
        Dispatch = "dispatch",
        Arrive = "arrive",
        AwaitParts = "await_parts",
        /// taken by echelon, not by a client: the last parts request tied to a ticket that
        /// awaits parts was received
        PartsArrived = "parts_arrived",
        Resolve = "resolve",
        Escalate = "escalate",
        Confirm = "confirm",
        Close = "close",
    }
);

words!(
    /// How the issue reached the service desk: by phone, by document (mail, fax, e-mail), by
    /// the product sent in, or by the customer walking in.
    #[schema(as = TicketChannel)]
    Channel { Phone = "phone", Document = "document", Item = "item", WalkIn = "walk_in" }
);

words!(
    /// The kind of issue; with the urgency it sets the SLA clocks.
    #[schema(as = TicketCategory)]
    Category {
        Consultation = "consultation",
        SafetyIncident = "safety_incident",
        TechnicalSupport = "technical_support",
        Repair = "repair",
        Complaint = "complaint",
    }
);

words!(
    /// An urgent complaint runs on the 24/48-hour clocks.
    #[schema(as = TicketUrgency)]
    Urgency { Normal = "normal", Urgent = "urgent" }
);

words!(
    /// Free (repair, replace or refund) or paid (a quote must be accepted before dispatch).
    Warranty { InWarranty = "in_warranty", OutOfWarranty = "out_of_warranty" }
);

words!(
    /// The labour done, paid by the station tier's rate for it in settlement.
    JobType { Repair = "repair", Install = "install", Maintenance = "maintenance", Inspection = "inspection" }
);

/// Why an action is refused in a state: 409 `invalid_transition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub from: Status,
    pub action: Action,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> =
            // what a client may take: `parts_arrived` is echelon's own, when the parts are in
            Action::ALL
                .iter()
                .filter(|a| **a != Action::PartsArrived && transition(self.from, **a).is_ok())
                .map(|a| a.as_str())
                .collect();
        write!(f, "{} is not allowed on a ticket that is {}", self.action, self.from)?;
        if allowed.is_empty() {
            write!(f, "; nothing more can happen to it")
        } else {
            write!(f, "; allowed now: {}", allowed.join(", "))
        }
    }
}

/// The state machine of a ticket, the one place it is decided:
///
/// `open` -> (`quoted` -> `quote_accepted`) -> `dispatched` -> `on_site` -> `resolved` ->
/// `confirmed` -> `closed`; `on_site` -> `unresolved` (escalated for technical support) ->
/// `dispatched` again (a revisit); `on_site` -> `awaiting_parts` (the visit found a part
/// missing) -> `dispatched` again once every parts request tied to the ticket is received (or
/// when it is dispatched again, the wait given up). A quote may be revised while `quoted`; a dispatched ticket
/// may be dispatched again (another technician) before arrival. A ticket handled without a
/// visit (a consultation answered by phone, a declined quote) is closed from `open` or
/// `quoted`. Whether an out-of-warranty ticket needs an accepted quote first is
/// [`dispatch_needs_quote`].
pub fn transition(from: Status, action: Action) -> Result<Status, Refused> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Open | S::Quoted, A::Quote) => S::Quoted,
        (S::Quoted, A::AcceptQuote) => S::QuoteAccepted,
        (S::Open | S::QuoteAccepted | S::Dispatched | S::Unresolved, A::Dispatch) => S::Dispatched,
        (S::Dispatched, A::Arrive) => S::OnSite,
        (S::OnSite, A::AwaitParts) => S::AwaitingParts,
        (S::AwaitingParts, A::PartsArrived) => S::Dispatched,
        // the desk (or the station) stops waiting: the part came another way, or none was
        // ordered after all; the technician goes again
        (S::AwaitingParts, A::Dispatch) => S::Dispatched,
        (S::OnSite, A::Resolve) => S::Resolved,
        (S::OnSite, A::Escalate) => S::Unresolved,
        (S::Resolved, A::Confirm) => S::Confirmed,
        (S::Open | S::Quoted | S::Confirmed, A::Close) => S::Closed,
        _ => return Err(Refused { from, action }),
    };
    Ok(to)
}

/// An out-of-warranty ticket is dispatched only once the customer accepted a quote (the
/// service procedure: quote first, dispatch after the customer agrees).
pub fn dispatch_needs_quote(warranty: Warranty, from: Status) -> bool {
    warranty == Warranty::OutOfWarranty && matches!(from, Status::Open | Status::Quoted)
}

/// Whether parts may still be requested or lent for a ticket in `status`: not once it is
/// resolved (or signed off, or closed), and not for paid work before the customer accepted the
/// quote. Parts may be ordered as soon as a ticket is open: ordering before the first visit is
/// what shortens a repair.
pub fn takes_parts(status: Status, warranty: Warranty) -> Result<(), String> {
    use Status as S;
    match status {
        S::Resolved | S::Confirmed | S::Closed => {
            Err(format!("a ticket that is {status} takes no more parts"))
        }
        S::Open | S::Quoted if warranty == Warranty::OutOfWarranty => Err(format!(
            "ticket is out of warranty and {status}: parts are ordered once the customer accepts the quote"
        )),
        _ => Ok(()),
    }
}

/// Whether a ticket has parts on order that will end a wait for them (`statuses`: the statuses of
/// the parts requests tied to it): one not yet in, as the receipt that ends the wait counts them
/// (received, closed, cancelled and rejected ones are in or never will be).
pub fn parts_on_order<'a>(statuses: impl IntoIterator<Item = &'a str>) -> bool {
    statuses.into_iter().any(|s| !matches!(s, "received" | "closed" | "cancelled" | "rejected"))
}

/// Whether the ticket in `status` has had its visit, given whether a technician ever arrived:
/// a core (the old part) exists only once the technician has been on site.
pub fn had_visit(status: Status, arrived: bool) -> bool {
    arrived
        || matches!(status, Status::OnSite | Status::AwaitingParts | Status::Resolved | Status::Unresolved)
}

/// Which roles take which actions: the desk (agents) quotes, records acceptance, dispatches,
/// records sign-off and closes; the technician does the field work and records the customer's
/// sign-off on site; a station does all of it for its own tickets; admin everything.
pub fn may(role: Role, action: Action) -> bool {
    use Action as A;
    match role {
        Role::Admin | Role::Station => true,
        Role::Agent => matches!(action, A::Quote | A::AcceptQuote | A::Dispatch | A::Confirm | A::Close),
        Role::Technician => {
            matches!(action, A::Arrive | A::AwaitParts | A::Resolve | A::Escalate | A::Confirm)
        }
        Role::Warehouse | Role::Finance | Role::Courier => false,
    }
}

/// A human name for a part family, for warranty reasons.
pub fn family_name(family: &str) -> Option<&'static str> {
    Some(match family {
        "CMP" => "compressor",
        "PCB" => "control board",
        "DSP" => "display board",
        "FAN" => "fan motor",
        "BLW" => "indoor fan motor",
        "OFM" => "outdoor fan motor",
        "MTR" => "drive motor",
        "THS" | "SNS" => "temperature sensor",
        "DFH" => "defrost heater",
        "HTR" => "heating element",
        "GSK" => "door gasket",
        "SEL" => "tub seal",
        "VLV" => "valve",
        "EXV" => "expansion valve",
        "RVV" => "reversing valve",
        "ICM" => "ice maker",
        "LMP" => "lamp",
        "HNG" => "door hinge",
        "DLK" => "door lock",
        "DRW" => "drawer",
        "SHL" => "shelf",
        "RMT" => "remote control",
        "CAP" => "capacitor",
        "FLT" => "filter",
        "SWM" => "swing motor",
        "PMP" => "drain pump",
        "BRG" => "bearing kit",
        "BLT" => "drive belt",
        "SHK" => "shock absorber",
        "SPR" => "suspension spring",
        _ => return None,
    })
}

pub fn family_label(family: &str) -> String {
    match family_name(family) {
        Some(name) => format!("{name} ({family})"),
        None => format!("component {family}"),
    }
}

/// The warranty decision of a ticket, kept on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarrantyDecision {
    pub warranty: Warranty,
    /// `unit`, or the part family whose longer term decided
    pub covers: String,
    pub months: i32,
    /// the last day the deciding term covers
    pub until: Option<NaiveDate>,
    pub reason: String,
}

/// Decides the warranty of a fault on `on` for a unit shipped on `ship_date`: the whole-unit
/// term, or the term of the fault's component family when the model gives it a longer one
/// (e.g. 12 months for the unit, 120 for the compressor). A term covers from the ship date
/// to the day before the same date `months` later ([`warranty_until`]).
pub fn decide_warranty(
    ship_date: NaiveDate,
    on: NaiveDate,
    unit_months: i32,
    component_terms: &BTreeMap<String, i32>,
    family: Option<&str>,
) -> WarrantyDecision {
    // while the unit's own term runs it covers every part, whatever the fault; a component's
    // longer term decides only after it, and then covers that component's family alone
    let unit_runs = warranty_until(ship_date, unit_months).is_some_and(|u| on <= u);
    let longer = family
        .and_then(|f| component_terms.get(f).map(|m| (f, *m)))
        .filter(|(_, months)| *months > unit_months && !unit_runs);
    let (covers, label, months) = match longer {
        Some((f, m)) => (f.to_string(), family_label(f), m),
        None => ("unit".to_string(), "whole unit".to_string(), unit_months),
    };
    let until = warranty_until(ship_date, months);
    let covered = until.is_some_and(|u| on <= u);
    let mut reason = match (longer, family) {
        (None, Some(f)) if !unit_runs => {
            format!("{} has no longer term than the whole unit; ", family_label(f))
        }
        _ => String::new(),
    };
    match until {
        Some(u) => {
            reason
                .push_str(&format!("{label} covered {months} months from ship date {ship_date}, until {u}"));
            if !covered {
                let days = (on - u).num_days();
                let unit = if days == 1 { "day" } else { "days" };
                reason.push_str(&format!(": expired {days} {unit} before intake on {on}"));
            }
        }
        None => reason.push_str(&format!("{label}: a {months}-month term from {ship_date} cannot be dated")),
    }
    WarrantyDecision {
        warranty: if covered { Warranty::InWarranty } else { Warranty::OutOfWarranty },
        covers,
        months,
        until,
        reason,
    }
}

/// Whether a part of `family` is outside a ticket's warranty: on an in-warranty ticket that
/// one component's longer term covers (the unit's own term had ended at intake), every other
/// family is paid work, never free on that ticket.
pub fn outside_cover(warranty: Warranty, covers: &str, family: &str) -> bool {
    warranty == Warranty::InWarranty && covers != "unit" && covers != family
}

/// A part a resolving visit used beyond what loans to the ticket brought: taken from the
/// station's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeyondLoans {
    pub part_id: i64,
    /// the first line of `parts_used` naming the part
    pub line: usize,
    /// used on the visit, over all its lines
    pub used: i64,
    /// lent for the ticket and not returned unused: consumed through the loan lines
    pub lent: i64,
    /// the rest, taken from the station: `used - lent`
    pub take: i64,
}

/// What each part of a resolving visit's lines (`(part id, qty)` in line order) needs from the
/// station beyond the parts `lent` for the ticket, in part order (the order a write takes a
/// station's stock rows); parts the loans cover are left out. A line lent covers the part it
/// lent (what [`lent_in_place`] rewrote included).
pub fn beyond_loans(used: &[(i64, i64)], lent: &[Lent]) -> Vec<BeyondLoans> {
    let mut by_part: BTreeMap<i64, (usize, i64)> = BTreeMap::new();
    for (i, (part, qty)) in used.iter().enumerate() {
        by_part.entry(*part).or_insert((i, 0)).1 += qty;
    }
    let mut lent_of: BTreeMap<i64, i64> = BTreeMap::new();
    for l in lent {
        *lent_of.entry(l.part_id).or_insert(0) += l.qty;
    }
    let lent = lent_of;
    by_part
        .into_iter()
        .filter_map(|(part_id, (line, used))| {
            let lent = lent.get(&part_id).copied().unwrap_or(0);
            (used > lent).then_some(BeyondLoans { part_id, line, used, lent, take: used - lent })
        })
        .collect()
}

/// A loan line lent for a ticket and not returned unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lent {
    /// the part lent
    pub part_id: i64,
    /// the superseded part asked for, when `part_id` is its successor lent in its place
    pub requested_part_id: Option<i64>,
    pub qty: i64,
}

/// The units of a resolving visit's lines (`(part id, qty)` in line order) that a loan line
/// lent as the part's successor in its place: `(line, successor's part id, qty)`, in line order.
/// The technician recorded the code asked for, but the unit got what was lent, which the loan
/// line consumes; so these units are recorded as the successor. A line lent covers, first, the
/// part it lent wherever that is recorded (lines lent as asked before substituted ones), then,
/// with what is left of a substituted line, the part it was asked as; no unit lent covers two
/// units used.
pub fn lent_in_place(used: &[(i64, i64)], lent: &[Lent]) -> Vec<(usize, i64, i64)> {
    let mut left: Vec<i64> = lent.iter().map(|l| l.qty).collect();
    let mut need: Vec<i64> = used.iter().map(|u| u.1).collect();
    // the loan lines in the order they cover the part they lent: lent as asked first
    let mut order: Vec<usize> = (0..lent.len()).collect();
    order.sort_by_key(|&k| lent[k].requested_part_id.is_some());
    for (i, (part, _)) in used.iter().enumerate() {
        for &k in &order {
            if lent[k].part_id == *part {
                let take = need[i].min(left[k]);
                need[i] -= take;
                left[k] -= take;
            }
        }
    }
    let mut out = Vec::new();
    for (i, (part, _)) in used.iter().enumerate() {
        for (k, l) in lent.iter().enumerate() {
            if l.requested_part_id == Some(*part) && need[i] > 0 && left[k] > 0 {
                let take = need[i].min(left[k]);
                need[i] -= take;
                left[k] -= take;
                match out.last_mut() {
                    Some((line, successor, qty)) if *line == i && *successor == l.part_id => *qty += take,
                    _ => out.push((i, l.part_id, take)),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_and_quote_states_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<Status>();
        crate::db::text::assert_stored_as_text::<QuoteStatus>();
    }

    #[test]
    fn channels_categories_urgencies_warranties_and_job_types_read_back_from_their_text() {
        crate::db::text::assert_stored_as_text::<Channel>();
        crate::db::text::assert_stored_as_text::<Category>();
        crate::db::text::assert_stored_as_text::<Urgency>();
        crate::db::text::assert_stored_as_text::<Warranty>();
        crate::db::text::assert_stored_as_text::<JobType>();
    }

    #[test]
    fn every_job_type_is_one_a_tier_must_pay_labour_for() {
        let ours: Vec<&str> = JobType::ALL.iter().map(|j| j.as_str()).collect();
        assert_eq!(ours, crate::network::rules::JOB_TYPES);
    }

    /// Every (state, action) pair, against the table written out once more by hand.
    #[test]
    fn the_transition_table_is_exactly_this() {
        use Action as A;
        use Status as S;
        let allowed = [
            (S::Open, A::Quote, S::Quoted),
            (S::Open, A::Dispatch, S::Dispatched),
            (S::Open, A::Close, S::Closed),
            (S::Quoted, A::Quote, S::Quoted),
            (S::Quoted, A::AcceptQuote, S::QuoteAccepted),
            (S::Quoted, A::Close, S::Closed),
            (S::QuoteAccepted, A::Dispatch, S::Dispatched),
            (S::Dispatched, A::Dispatch, S::Dispatched),
            (S::Dispatched, A::Arrive, S::OnSite),
            (S::OnSite, A::AwaitParts, S::AwaitingParts),
            (S::AwaitingParts, A::PartsArrived, S::Dispatched),
            (S::AwaitingParts, A::Dispatch, S::Dispatched),
            (S::OnSite, A::Resolve, S::Resolved),
            (S::OnSite, A::Escalate, S::Unresolved),
            (S::Unresolved, A::Dispatch, S::Dispatched),
            (S::Resolved, A::Confirm, S::Confirmed),
            (S::Confirmed, A::Close, S::Closed),
        ];
        let mut checked = 0;
        for &from in Status::ALL {
            for &action in Action::ALL {
                let want = allowed.iter().find(|(f, a, _)| *f == from && *a == action).map(|t| t.2);
                match (transition(from, action), want) {
                    (Ok(to), Some(w)) => assert_eq!(to, w, "{from} + {action}"),
                    (Err(r), None) => {
                        assert_eq!(r, Refused { from, action });
                        let msg = r.to_string();
                        assert!(msg.contains(from.as_str()) && msg.contains(action.as_str()), "{msg}");
                    }
                    (got, want) => panic!("{from} + {action}: got {got:?}, want {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 10 * 10);
        assert!(Refused { from: S::Closed, action: A::Close }.to_string().contains("nothing more"));
        assert!(Refused { from: S::Open, action: A::Arrive }.to_string().contains("quote, dispatch, close"));
        // echelon's own action is not offered to a client
        assert!(Refused { from: S::AwaitingParts, action: A::Close }
            .to_string()
            .ends_with("allowed now: dispatch"));
    }

    #[test]
    fn every_state_is_reachable_and_closed_is_final() {
        let mut reached = vec![Status::Open];
        let mut i = 0;
        while i < reached.len() {
            for &a in Action::ALL {
                if let Ok(to) = transition(reached[i], a) {
                    if !reached.contains(&to) {
                        reached.push(to);
                    }
                }
            }
            i += 1;
        }
        assert_eq!(reached.len(), Status::ALL.len());
        assert!(Action::ALL.iter().all(|a| transition(Status::Closed, *a).is_err()));
    }

    #[test]
    fn out_of_warranty_tickets_wait_for_an_accepted_quote() {
        use Status as S;
        assert!(dispatch_needs_quote(Warranty::OutOfWarranty, S::Open));
        assert!(dispatch_needs_quote(Warranty::OutOfWarranty, S::Quoted));
        assert!(!dispatch_needs_quote(Warranty::OutOfWarranty, S::QuoteAccepted));
        assert!(!dispatch_needs_quote(Warranty::OutOfWarranty, S::Unresolved));
        assert!(!dispatch_needs_quote(Warranty::InWarranty, S::Open));
    }

    #[test]
    fn parts_are_taken_until_resolution_and_paid_work_waits_for_its_quote() {
        use Status as S;
        use Warranty as W;
        for s in [S::Open, S::Dispatched, S::OnSite, S::AwaitingParts, S::Unresolved, S::QuoteAccepted] {
            assert!(takes_parts(s, W::InWarranty).is_ok(), "{s}");
        }
        for s in [S::Resolved, S::Confirmed, S::Closed] {
            assert!(takes_parts(s, W::InWarranty).unwrap_err().contains(s.as_str()));
        }
        assert!(takes_parts(S::Open, W::OutOfWarranty).is_err());
        assert!(takes_parts(S::Quoted, W::OutOfWarranty).is_err());
        assert!(takes_parts(S::QuoteAccepted, W::OutOfWarranty).is_ok());
        assert!(!had_visit(S::Dispatched, false) && had_visit(S::Dispatched, true));
        assert!(had_visit(S::OnSite, false) && !had_visit(S::Open, false));
    }

    #[test]
    fn roles_take_their_own_actions() {
        for &a in Action::ALL {
            assert!(may(Role::Admin, a) && may(Role::Station, a));
            assert!(!may(Role::Warehouse, a) && !may(Role::Courier, a) && !may(Role::Finance, a));
        }
        assert!(may(Role::Agent, Action::Dispatch) && !may(Role::Agent, Action::Resolve));
        assert!(may(Role::Technician, Action::Resolve) && !may(Role::Technician, Action::Dispatch));
        assert!(may(Role::Technician, Action::Confirm) && !may(Role::Technician, Action::Close));
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_longer_component_term_decides_for_its_family_only() {
        let terms = BTreeMap::from([("CMP".to_string(), 120), ("PCB".to_string(), 6)]);
        let ship = d(2025, 10, 23);
        let on = d(2026, 11, 23); // 13 months later
        let cmp = decide_warranty(ship, on, 12, &terms, Some("CMP"));
        assert_eq!(cmp.warranty, Warranty::InWarranty);
        assert_eq!((cmp.covers.as_str(), cmp.months, cmp.until), ("CMP", 120, Some(d(2035, 10, 22))));
        assert_eq!(
            cmp.reason,
            "compressor (CMP) covered 120 months from ship date 2025-10-23, until 2035-10-22"
        );
        let gsk = decide_warranty(ship, on, 12, &terms, Some("GSK"));
        assert_eq!(gsk.warranty, Warranty::OutOfWarranty);
        assert_eq!((gsk.covers.as_str(), gsk.months), ("unit", 12));
        assert_eq!(
            gsk.reason,
            "door gasket (GSK) has no longer term than the whole unit; whole unit covered 12 months \
             from ship date 2025-10-23, until 2026-10-22: expired 32 days before intake on 2026-11-23"
        );
        // a shorter component term never cuts the unit's
        let pcb = decide_warranty(ship, d(2026, 5, 1), 12, &terms, Some("PCB"));
        assert_eq!((pcb.warranty, pcb.covers.as_str()), (Warranty::InWarranty, "unit"));
        // while the unit's own term runs it covers every part, the compressor's fault included
        let early = decide_warranty(ship, d(2026, 5, 1), 12, &terms, Some("CMP"));
        assert_eq!((early.warranty, early.covers.as_str()), (Warranty::InWarranty, "unit"));
        assert_eq!(early.reason, "whole unit covered 12 months from ship date 2025-10-23, until 2026-10-22");
        // the compressor's longer term covers the compressor alone
        assert!(outside_cover(cmp.warranty, &cmp.covers, "PCB"));
        assert!(!outside_cover(cmp.warranty, &cmp.covers, "CMP"));
        assert!(!outside_cover(early.warranty, &early.covers, "PCB"));
        assert!(!outside_cover(gsk.warranty, &gsk.covers, "PCB"), "paid anyway: a quote decides");
        let none = decide_warranty(ship, d(2026, 5, 1), 12, &terms, None);
        assert_eq!(none.reason, "whole unit covered 12 months from ship date 2025-10-23, until 2026-10-22");
        assert!(decide_warranty(ship, on, 12, &terms, Some("XYZ")).reason.starts_with("component XYZ"));
    }

    #[test]
    fn the_last_covered_day_is_in_and_the_next_is_out_even_at_month_ends() {
        let none = BTreeMap::new();
        let cases = [
            // ship date, months, last day covered
            (d(2025, 1, 15), 12, d(2026, 1, 14)),
            (d(2025, 12, 31), 12, d(2026, 12, 30)),
            (d(2025, 3, 1), 12, d(2026, 2, 28)),
            // the month of expiry has no such day: the term runs to that month's end
            (d(2024, 1, 31), 1, d(2024, 2, 29)),
            (d(2023, 1, 31), 1, d(2023, 2, 28)),
            (d(2023, 8, 31), 6, d(2024, 2, 29)),
            (d(2024, 2, 29), 12, d(2025, 2, 28)),
            (d(2025, 3, 31), 6, d(2025, 9, 30)),
        ];
        for (ship, months, last) in cases {
            let on_last = decide_warranty(ship, last, months, &none, None);
            assert_eq!(on_last.warranty, Warranty::InWarranty, "{ship} +{months} on {last}");
            assert_eq!(on_last.until, Some(last));
            let after = decide_warranty(ship, last.succ_opt().unwrap(), months, &none, None);
            assert_eq!(after.warranty, Warranty::OutOfWarranty, "{ship} +{months} after {last}");
            let next = last.succ_opt().unwrap();
            assert!(
                after.reason.ends_with(&format!("expired 1 day before intake on {next}")),
                "{}",
                after.reason
            );
        }
        // a zero-month term covers nothing
        assert_eq!(
            decide_warranty(d(2025, 3, 1), d(2025, 3, 1), 0, &none, None).warranty,
            Warranty::OutOfWarranty
        );
    }

    #[test]
    fn words_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Channel::parse("walk_in"), Some(Channel::WalkIn));
        assert_eq!(Category::parse("safety_incident"), Some(Category::SafetyIncident));
        assert!(JobType::parse("cleaning").is_none());
    }

    #[test]
    fn a_part_recorded_as_asked_is_what_was_lent_in_its_place_once() {
        // part 8 lent as its successor 9 (2 units), and 9 lent as itself (1 unit)
        let lent = [
            Lent { part_id: 9, requested_part_id: Some(8), qty: 2 },
            Lent { part_id: 9, requested_part_id: None, qty: 1 },
        ];
        // the code asked for recorded: both its units were the successor
        assert_eq!(lent_in_place(&[(8, 2)], &lent), vec![(0, 9, 2)]);
        // a third unit of it was not lent: it stays part 8 (taken from the station)
        assert_eq!(lent_in_place(&[(7, 1), (8, 3)], &lent), vec![(1, 9, 2)]);
        // the successor recorded as itself: nothing to rewrite
        assert!(lent_in_place(&[(9, 3)], &lent).is_empty());
        // both recorded: the successor's units cover the successor first (the one lent as
        // itself, then one of the substituted line), the other substituted unit the old code
        assert_eq!(lent_in_place(&[(8, 2), (9, 2)], &lent), vec![(0, 9, 1)]);
        assert_eq!(lent_in_place(&[(9, 2), (8, 2)], &lent), vec![(1, 9, 1)]);
        // split over two lines of the old code
        assert_eq!(lent_in_place(&[(8, 1), (8, 1)], &lent), vec![(0, 9, 1), (1, 9, 1)]);
        // a part lent in place of another stands for no third
        assert!(lent_in_place(&[(7, 1)], &lent).is_empty());
        assert!(lent_in_place(&[(8, 1)], &[]).is_empty());
    }

    #[test]
    fn a_visit_takes_from_the_station_only_what_its_loans_did_not_bring() {
        let line = |part_id, qty| Lent { part_id, requested_part_id: None, qty };
        let lent = [line(7, 1), line(9, 2), line(9, 1)];
        // part 9 twice (3 lent, 2 + 2 used), part 7 as lent, part 5 never lent
        let used = [(9, 2), (7, 1), (5, 1), (9, 2)];
        assert_eq!(
            beyond_loans(&used, &lent),
            vec![
                BeyondLoans { part_id: 5, line: 2, used: 1, lent: 0, take: 1 },
                BeyondLoans { part_id: 9, line: 0, used: 4, lent: 3, take: 1 },
            ]
        );
        assert!(beyond_loans(&[], &lent).is_empty());
        assert!(beyond_loans(&[(7, 1)], &lent).is_empty(), "a lent part is consumed by its loan line");
        // more lent than used: nothing from the station (what is left goes back unused)
        assert!(beyond_loans(&[(9, 1)], &lent).is_empty());
    }
}
