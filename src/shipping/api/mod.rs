//! HTTP handlers of shipping, one file per resource: shipments and tracking, tenders with
//! their bids and awards, carrier claims, couriers and the tender weights.

pub mod claims;
pub mod couriers;
pub mod shipments;
pub mod tenders;

use crate::auth::Role;

/// Who may read tenders, couriers and the tender weights (a courier the tenders on its lanes, a
/// warehouse user those of its locations).
const READERS: &[Role] = &[Role::Admin, Role::Warehouse, Role::Finance, Role::Courier];

// The refusals of shipping's operations, each with its own example (`http::docs`).

crate::problems!(E404Shipment, 404, "No shipment of this id in the caller's sight", [
    NotFound => "shipment 31 not found",
]);
crate::problems!(E404ShipmentList, 404, "The parts request filtered on is unknown or out of the caller's sight", [
    NotFound => "parts request 4242 not found" {"field": "request_id"},
]);
crate::problems!(E409Event, 409, "The event does not follow from the shipment's status", [
    InvalidTransition => "a shipment that is delivered cannot be picked up" {"current_status": "delivered"},
]);
crate::problems!(
    E422Event,
    422,
    "A field breaks a rule (`errors`), or the event is dated before the one reported before it (`earliest`)",
    [
        ValidationFailed => "at: an event cannot be reported before it happens"
            {"errors": [{"field": "at", "message": "an event cannot be reported before it happens"}]},
        EventOutOfOrder => "at: 2026-12-01T08:00:00+00:00 is before the event reported before it (2026-12-02T09:30:00Z)"
            {"errors": [{"field": "at", "message": "2026-12-01T08:00:00+00:00 is before the event reported before it (2026-12-02T09:30:00Z)"}],
             "earliest": "2026-12-02T09:30:00Z"},
    ]
);
crate::problems!(E404Tender, 404, "No tender of this id in the caller's sight", [
    NotFound => "tender 4 not found",
]);
crate::problems!(E404NewTender, 404, "A shipment named is not one the caller dispatches", [
    NotFound => "a shipment is not found among those you dispatch",
]);
crate::problems!(E409NewTender, 409, "A shipment named does not await a tender (a tendered one only once its tender's deadline passed with no bid)", [
    NotAwaitingTender => "shipment 31 is in_transit",
]);
crate::problems!(E422NewTender, 422, "A field breaks a rule (`errors`), or the shipments are of different lanes", [
    ValidationFailed => "bid_deadline: must be before the shipments are due"
        {"errors": [{"field": "bid_deadline", "message": "must be before the shipments are due"}]},
    MixedLanes => "a tender covers shipments of one lane: same origin and destination",
]);
crate::problems!(E409Bid, 409, "Bidding on the tender is closed, or the courier has bid already", [
    TenderClosed => "bids on tender 4 closed at 2026-12-03T12:00:00+00:00",
    AlreadyBid => "you have already bid on this tender",
]);
crate::problems!(E422Bid, 422, "A field breaks a rule; `errors` names each field", [
    ValidationFailed => "price: must be between 0.01 and 1000000.00"
        {"errors": [{"field": "price", "message": "must be between 0.01 and 1000000.00"}]},
]);
crate::problems!(E409Award, 409, "Bids are still open, or the tender is awarded already", [
    BiddingOpen => "bids are still open; award after the deadline or with \"now\": true",
    TenderClosed => "tender 4 is already awarded",
]);
crate::problems!(
    E422Award,
    422,
    "A field breaks a rule (`errors`); no bid meets the deadline (`bids`, scored) or none was made; the bid chosen is not of this tender",
    [
        ValidationFailed => "reason: an override needs a reason"
            {"errors": [{"field": "reason", "message": "an override needs a reason"}]},
        NoValidBid => "no bid arrives by deliver_by; extend the deadline or award one anyway with a reason"
            {"bids": [{"bid_id": 9, "courier": "courier-sf", "price": "48.00", "transit_hours": 60,
                       "meets_deadline": false, "on_time_rate": 0.96, "damage_rate": 0.01}]},
        UnknownBid => "bid 12 is not a bid on this tender",
    ]
);
crate::problems!(E422Weights, 422, "A weight is out of its range; `errors` names each", [
    ValidationFailed => "price_weight: must be between 0 and 1000 (percent)"
        {"errors": [{"field": "price_weight", "message": "must be between 0 and 1000 (percent)"}]},
]);
