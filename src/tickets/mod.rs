//! Service tickets (spec section 7): intake with the warranty decided from the unit's ship date
//! and the model's terms, quotes for out-of-warranty work, dispatch with the work order's
//! expected parts, the visit (and the wait for parts it found missing), the customer's sign-off, SLA deadlines from the service
//! standard, and follow-up calls that feed each station's scorecard.
//!
//! The public surface other domains use:
//! - [`service::for_parts`]: the ticket a parts request or a loan names, checked like a path id,
//!   with [`service::PartsTicket::part`] fitting each line to its unit's model;
//! - [`service::parts_arrived`] (a ticket awaiting parts goes back to `dispatched`) and
//!   [`service::had_visit`] (a core is taken after the visit);
//! - [`store::ticket_model`]: the unit and model of a ticket, to check parts against it;
//! - [`store::ticket_warranty`] and [`rules::decide_warranty`]: the warranty decision;
//! - the ticket row ([`store::TicketRow`]: station, job type, resolution and completion
//!   times), the parts used with their sale price ([`store::part_lines`]) and the accepted
//!   quote ([`store::accepted_quote`]), for settlement.

pub mod api;
mod audit;
pub mod followups;
pub mod rules;
pub mod service;
pub mod sla;
pub mod store;

pub use audit::breaches as audit;
pub use rules::{decide_warranty, Status, Warranty, WarrantyDecision};
pub use store::{ticket_model, ticket_warranty};

/// How a part of `family` used on ticket `id` is paid: `Some(true)` free under the ticket's
/// warranty, `Some(false)` paid by the customer (an out-of-warranty ticket, or a part outside
/// the one component a longer term covers, [`rules::outside_cover`]); `None` for no ticket.
pub fn part_in_warranty(
    conn: &mut crate::db::DbConn,
    id: i64,
    family: &str,
) -> diesel::QueryResult<Option<(bool, String)>> {
    Ok(store::ticket_cover(conn, id)?.map(|(warranty, covers)| {
        (warranty == Warranty::InWarranty && !rules::outside_cover(warranty, &covers, family), covers)
    }))
}

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::tickets::create_ticket)
        .service(api::tickets::list_tickets)
        .service(api::tickets::get_ticket)
        .service(api::actions::quote)
        .service(api::actions::accept_quote)
        .service(api::actions::dispatch)
        .service(api::actions::arrive)
        .service(api::actions::await_parts)
        .service(api::actions::resolve)
        .service(api::actions::escalate)
        .service(api::actions::confirm)
        .service(api::actions::close)
        // the fixed paths before `/follow-ups/{id}/...`
        .service(api::followups::sample)
        .service(api::scorecard::stats)
        .service(api::followups::list_follow_ups)
        .service(api::followups::record_result)
        .service(api::scorecard::scorecard);
}
