//! Shipping rules: when a shipment is due, how a bid is scored against the courier's record,
//! what a rate card charges, and the order of tracking events. No HTTP, no database.

use crate::validate::Validate;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The due time of a shipment: the lane's lead time in days; an urgent one in half of it,
/// at least a day.
pub fn deliver_by(now: NaiveDateTime, lead_days: i64, urgent: bool) -> NaiveDateTime {
    let hours = if urgent { (lead_days * 12).max(24) } else { lead_days.max(1) * 24 };
    now + Duration::hours(hours)
}

/// What a standing rate card charges for a weight: base plus per started kilogram.
pub fn rate_card_price(base_minor: i64, per_kg_minor: i64, weight_grams: i64) -> i64 {
    let kg = (weight_grams.max(0) + 999) / 1000;
    base_minor + per_kg_minor * kg.max(1)
}

/// A courier's delivery record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Record {
    /// shipments delivered
    pub delivered: i64,
    /// of those, delivered by their `deliver_by`
    pub on_time: i64,
    /// of those, received with damaged or wrong units
    pub damaged: i64,
}

/// Prior weight (in shipments) given to the industry's figures for a courier with little
/// history: 90% on time, 1% damaged.
const PRIOR_SHIPMENTS: f64 = 5.0;
const PRIOR_ON_TIME: f64 = 0.90;
const PRIOR_DAMAGE: f64 = 0.01;

impl Record {
    /// The on-time rate, smoothed towards 90% while the record is short.
    pub fn on_time_rate(&self) -> f64 {
        (self.on_time as f64 + PRIOR_ON_TIME * PRIOR_SHIPMENTS) / (self.delivered as f64 + PRIOR_SHIPMENTS)
    }

    /// The damage rate, smoothed towards 1% while the record is short.
    pub fn damage_rate(&self) -> f64 {
        (self.damaged as f64 + PRIOR_DAMAGE * PRIOR_SHIPMENTS) / (self.delivered as f64 + PRIOR_SHIPMENTS)
    }
}

/// Admin-set weights of a bid's score, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price_weight": 100, "late_weight": 100, "damage_weight": 300}))]
pub struct Weights {
    /// weight of the price relative to the cheapest valid bid
    #[schema(minimum = 0, maximum = 1000)]
    pub price_weight: i32,
    /// weight of the courier's late-delivery rate
    #[schema(minimum = 0, maximum = 1000)]
    pub late_weight: i32,
    /// weight of the courier's damage rate
    #[schema(minimum = 0, maximum = 1000)]
    pub damage_weight: i32,
}

/// A bid's score and how it was reached (lower wins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Score {
    /// price / cheapest valid price x price weight
    pub price_part: f64,
    /// late rate x late weight
    pub late_part: f64,
    /// damage rate x damage weight
    pub damage_part: f64,
    pub total: f64,
}

/// score = w_price x price/cheapest + w_late x (1 - on-time rate) + w_damage x damage rate,
/// weights in percent: with the defaults (100, 100, 300) one point of damage rate costs as
/// much as three points of price.
pub fn score(price: i64, cheapest: i64, record: &Record, w: &Weights) -> Score {
    let ratio = price as f64 / cheapest.max(1) as f64;
    let price_part = w.price_weight as f64 / 100.0 * ratio;
    let late_part = w.late_weight as f64 / 100.0 * (1.0 - record.on_time_rate());
    let damage_part = w.damage_weight as f64 / 100.0 * record.damage_rate();
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    Score {
        price_part: round(price_part),
        late_part: round(late_part),
        damage_part: round(damage_part),
        total: round(price_part + late_part + damage_part),
    }
}

/// How long after a delivery its report may come once the shipment is overdue: a report after
/// `deliver_by` dated earlier than this before it is refused, so a late delivery cannot be
/// backdated into the on-time rate (a report before `deliver_by` is within time whatever it
/// says).
pub const LATE_REPORT_HOURS: i64 = 2;

/// Whether a delivery dated `at`, reported at `now`, may stand for a shipment due by
/// `deliver_by`: reported in time, or dated after the due time (late anyway), or reported
/// within [`LATE_REPORT_HOURS`] of when it happened.
pub fn delivery_report_stands(at: NaiveDateTime, now: NaiveDateTime, deliver_by: NaiveDateTime) -> bool {
    now <= deliver_by || at > deliver_by || now - at <= Duration::hours(LATE_REPORT_HOURS)
}

/// Whether a bid promising `transit_hours` from `now` arrives by `deliver_by`.
pub fn meets(now: NaiveDateTime, transit_hours: i32, deliver_by: NaiveDateTime) -> bool {
    now + Duration::hours(transit_hours as i64) <= deliver_by
}

/// Where a shipment stands: tendered to couriers (or assigned straight away when urgent), then
/// moved by the courier's events, and received at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    AwaitingTender,
    Tendered,
    Assigned,
    PickedUp,
    InTransit,
    Delivered,
    Received,
}

impl ShipmentStatus {
    pub const ALL: [ShipmentStatus; 7] = {
        use ShipmentStatus as S;
        [S::AwaitingTender, S::Tendered, S::Assigned, S::PickedUp, S::InTransit, S::Delivered, S::Received]
    };

    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::AwaitingTender => "awaiting_tender",
            ShipmentStatus::Tendered => "tendered",
            ShipmentStatus::Assigned => "assigned",
            ShipmentStatus::PickedUp => "picked_up",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Received => "received",
        }
    }

    pub fn parse(s: &str) -> Option<ShipmentStatus> {
        ShipmentStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where a tender stands: open for bids until awarded; lapsed when its bid deadline passed
/// with no bid and its shipments were put out to tender again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum TenderStatus {
    Open,
    Awarded,
    Lapsed,
}

impl TenderStatus {
    pub const ALL: [TenderStatus; 3] = [TenderStatus::Open, TenderStatus::Awarded, TenderStatus::Lapsed];

    pub fn as_str(self) -> &'static str {
        match self {
            TenderStatus::Open => "open",
            TenderStatus::Awarded => "awarded",
            TenderStatus::Lapsed => "lapsed",
        }
    }

    pub fn parse(s: &str) -> Option<TenderStatus> {
        TenderStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where a carrier claim for damaged goods stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    Open,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 1] = [ClaimStatus::Open];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Open => "open",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimStatus> {
        ClaimStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

crate::db::stored_as_text!(ShipmentStatus, TenderStatus, ClaimStatus);

macro_rules! display_as_str {
    ($($t:ident),+) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}
display_as_str!(ShipmentStatus, TenderStatus, ClaimStatus);

/// Tracking events a courier reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PickedUp,
    InTransit,
    Delivered,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PickedUp => "picked_up",
            EventKind::InTransit => "in_transit",
            EventKind::Delivered => "delivered",
        }
    }

    /// The shipment status an event moves to, from the status it may follow.
    pub fn next(self, status: ShipmentStatus) -> Result<ShipmentStatus, String> {
        use ShipmentStatus as S;
        match (self, status) {
            (EventKind::PickedUp, S::Assigned) => Ok(S::PickedUp),
            (EventKind::InTransit, S::PickedUp | S::InTransit) => Ok(S::InTransit),
            (EventKind::Delivered, S::PickedUp | S::InTransit) => Ok(S::Delivered),
            _ => Err(format!("a shipment that is {status} cannot be reported {}", self.as_str())),
        }
    }
}

/// `total` minor units shared over `n` shipments to the unit: each gets the same, and the first
/// `total mod n` one more, so the shares sum to `total` (no cent is lost to a division).
pub fn split_evenly(total: i64, n: usize) -> Vec<i64> {
    let Ok(count) = i64::try_from(n) else { return Vec::new() };
    if count == 0 {
        return Vec::new();
    }
    let (each, rest) = (total.div_euclid(count), total.rem_euclid(count));
    (0..count).map(|i| each + i64::from(i < rest)).collect()
}

/// Why a service area is refused: not a region of the network (`regions`, in order). Names the
/// region it most likely meant (the same letters in another case, or at most two edits away),
/// else lists the regions.
pub fn unknown_region(area: &str, regions: &[String]) -> String {
    let folded = area.trim().to_lowercase();
    let nearest = regions
        .iter()
        .map(|r| (strsim::osa_distance(&folded, &r.to_lowercase()), r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, r)| (*d, r.as_str()));
    match nearest {
        Some((_, r)) => format!("not a region of the network; did you mean {r}?"),
        None => format!("not a region of the network; the regions are {}", regions.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_is_shared_to_the_cent() {
        assert_eq!(split_evenly(10_000, 3), vec![3_334, 3_333, 3_333]);
        assert_eq!(split_evenly(2, 3), vec![1, 1, 0]);
        assert_eq!(split_evenly(9_000, 3), vec![3_000; 3]);
        assert_eq!(split_evenly(7, 1), vec![7]);
        assert!(split_evenly(7, 0).is_empty());
        for (total, n) in [(1_000_001, 7), (99, 100), (i64::MAX, 13)] {
            let shares = split_evenly(total, n);
            assert_eq!(shares.len(), n);
            assert_eq!(shares.iter().map(|&s| i128::from(s)).sum::<i128>(), i128::from(total));
            assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
        }
    }
    use chrono::NaiveDate;

    #[test]
    fn shipment_tender_and_claim_states_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<ShipmentStatus>();
        crate::db::text::assert_stored_as_text::<TenderStatus>();
        crate::db::text::assert_stored_as_text::<ClaimStatus>();
    }

    fn t(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn due_times() {
        assert_eq!(deliver_by(t(8), 2, false), t(8) + Duration::hours(48));
        assert_eq!(deliver_by(t(8), 2, true), t(8) + Duration::hours(24));
        assert_eq!(deliver_by(t(8), 5, true), t(8) + Duration::hours(60));
        assert_eq!(deliver_by(t(8), 0, false), t(8) + Duration::hours(24));
    }

    #[test]
    fn rate_cards_charge_per_started_kilogram() {
        assert_eq!(rate_card_price(1000, 200, 1), 1200);
        assert_eq!(rate_card_price(1000, 200, 1000), 1200);
        assert_eq!(rate_card_price(1000, 200, 1001), 1400);
    }

    #[test]
    fn a_cheap_courier_that_breaks_things_loses() {
        let w = Weights { price_weight: 100, late_weight: 100, damage_weight: 300 };
        let careless = Record { delivered: 40, on_time: 38, damaged: 12 };
        let careful = Record { delivered: 40, on_time: 37, damaged: 0 };
        let cheap = score(10_000, 10_000, &careless, &w);
        let dear = score(11_000, 10_000, &careful, &w);
        assert!(dear.total < cheap.total, "{dear:?} vs {cheap:?}");
        assert_eq!(cheap.price_part, 1.0);
        // a new courier is judged by the prior: 90% on time, 1% damage
        let new = Record::default();
        assert!((new.on_time_rate() - 0.9).abs() < 1e-9);
        assert!((new.damage_rate() - 0.01).abs() < 1e-9);
    }

    #[test]
    fn bids_that_arrive_late_do_not_meet_the_due_time() {
        assert!(meets(t(8), 24, t(8) + Duration::hours(24)));
        assert!(!meets(t(8), 25, t(8) + Duration::hours(24)));
    }

    #[test]
    fn tracking_follows_the_road() {
        use ShipmentStatus as S;
        assert_eq!(EventKind::PickedUp.next(S::Assigned), Ok(S::PickedUp));
        assert_eq!(EventKind::Delivered.next(S::InTransit), Ok(S::Delivered));
        assert!(EventKind::Delivered.next(S::Assigned).is_err());
        assert!(EventKind::PickedUp.next(S::Delivered).is_err());
        assert!(EventKind::InTransit.next(S::AwaitingTender).is_err());
    }

    #[test]
    fn a_late_delivery_is_not_backdated_into_time_by_a_late_report() {
        let t = |h: i64| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(8, 0, 0).unwrap()
                + Duration::hours(h)
        };
        let due = t(0);
        // reported before the due time: stands, whatever its date
        assert!(delivery_report_stands(t(-30), t(-1), due));
        // reported after the due time, dated after it: late anyway, stands
        assert!(delivery_report_stands(t(1), t(20), due));
        // reported soon after it happened, just before the due time: stands (on time)
        assert!(delivery_report_stands(t(-1), t(1), due));
        assert!(delivery_report_stands(t(-1), t(-1) + Duration::hours(LATE_REPORT_HOURS), due));
        // dated before the due time but reported long after it: refused
        assert!(!delivery_report_stands(t(-1), t(6), due));
        assert!(!delivery_report_stands(
            t(-1),
            t(-1) + Duration::hours(LATE_REPORT_HOURS) + Duration::seconds(1),
            due
        ));
    }

    #[test]
    fn an_unknown_region_names_the_one_meant() {
        let regions = vec!["Jiangsu".to_string(), "Shanghai".to_string(), "Zhejiang".to_string()];
        assert_eq!(
            unknown_region("zhejiang", &regions),
            "not a region of the network; did you mean Zhejiang?"
        );
        assert_eq!(
            unknown_region("Zhejaing", &regions),
            "not a region of the network; did you mean Zhejiang?"
        );
        assert_eq!(
            unknown_region(" Shanghai ", &regions),
            "not a region of the network; did you mean Shanghai?"
        );
        assert_eq!(
            unknown_region("Hainan", &regions),
            "not a region of the network; the regions are Jiangsu, Shanghai, Zhejiang"
        );
    }
}
