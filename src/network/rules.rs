//! The shape of the network: kinds of location, which kind may sit under which, codes.

use crate::validate::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Echelons of the tree, and the virtual locations the ledger needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    CentralWarehouse,
    RegionalCentre,
    Station,
    Supplier,
    InTransit,
    Technician,
    Customer,
    Defective,
    Quarantine,
    Scrap,
    /// the other side of stock-count corrections
    Adjustment,
}

impl LocationKind {
    pub const ALL: [LocationKind; 11] = [
        LocationKind::CentralWarehouse,
        LocationKind::RegionalCentre,
        LocationKind::Station,
        LocationKind::Supplier,
        LocationKind::InTransit,
        LocationKind::Technician,
        LocationKind::Customer,
        LocationKind::Defective,
        LocationKind::Quarantine,
        LocationKind::Scrap,
        LocationKind::Adjustment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::CentralWarehouse => "central_warehouse",
            LocationKind::RegionalCentre => "regional_centre",
            LocationKind::Station => "station",
            LocationKind::Supplier => "supplier",
            LocationKind::InTransit => "in_transit",
            LocationKind::Technician => "technician",
            LocationKind::Customer => "customer",
            LocationKind::Defective => "defective",
            LocationKind::Quarantine => "quarantine",
            LocationKind::Scrap => "scrap",
            LocationKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<LocationKind> {
        LocationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Physical locations hold real goods and can never be negative.
    pub fn is_physical(self) -> bool {
        matches!(self, LocationKind::CentralWarehouse | LocationKind::RegionalCentre | LocationKind::Station)
    }

    /// The outside world (suppliers, customers' products, count corrections): the only
    /// locations whose balance may go below zero. Everything else holds real goods.
    pub fn is_external(self) -> bool {
        matches!(self, LocationKind::Supplier | LocationKind::Customer | LocationKind::Adjustment)
    }

    /// The stored words of the external kinds ([`LocationKind::is_external`]), for queries
    /// that leave the outside world out.
    pub const EXTERNAL: [&'static str; 3] = ["supplier", "customer", "adjustment"];

    /// The kind a location of this kind must hang under (None: a root).
    pub fn parent_kind(self) -> Option<LocationKind> {
        match self {
            LocationKind::RegionalCentre => Some(LocationKind::CentralWarehouse),
            LocationKind::Station => Some(LocationKind::RegionalCentre),
            // a technician's custody hangs under the station, inside its allowance
            LocationKind::Technician => Some(LocationKind::Station),
            _ => None,
        }
    }

    /// Whether a location of this kind may hang under one of `parent` (None: as a root): under
    /// its `parent_kind`, except that a bin of returned cores (`defective`) may also hang under a
    /// regional centre, which analyses the cores of its stations, beside the network-wide one.
    pub fn may_hang_under(self, parent: Option<LocationKind>) -> bool {
        parent == self.parent_kind()
            || (self == LocationKind::Defective && parent == Some(LocationKind::RegionalCentre))
    }
}

/// Station tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, crate::validate::Validate)]
pub enum Tier {
    A,
    B,
    C,
    D,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::A, Tier::B, Tier::C, Tier::D];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
            Tier::D => "D",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

crate::db::stored_as_text!(LocationKind, Tier);

impl std::fmt::Display for LocationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Station tiers.
pub const TIERS: [&str; 4] = ["A", "B", "C", "D"];

/// The job types a tier pays labour for (settlement): every one a ticket may carry
/// (`tickets::rules::JobType`, which a test holds to this list).
pub const JOB_TYPES: [&str; 4] = ["repair", "install", "maintenance", "inspection"];

pub fn is_tier(s: &str) -> bool {
    TIERS.contains(&s)
}

/// A location code as a client may type it, in its one form: codes are upper-case (`valid_code`),
/// so `st-tz-001` names ST-TZ-001 wherever a code is taken (a path, a query, a body), as part
/// and model codes and serials are read in capitals too.
pub fn canonical_code(code: &str) -> String {
    code.to_ascii_uppercase()
}

/// Location codes: upper-case letters, digits and dashes, 2-32 characters, starting with a
/// letter or digit (`HQ`, `RC-HZ`, `ST-TZ-001`).
pub fn valid_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && !code.ends_with('-')
        && !code.contains("--")
}

/// What is wrong with a new location's placement, if anything.
pub fn check_placement(
    kind: LocationKind,
    parent_kind: Option<LocationKind>,
    tier: Option<&str>,
    central_exists: bool,
) -> Result<(), String> {
    match (kind.parent_kind(), parent_kind) {
        _ if kind.may_hang_under(parent_kind) => {}
        (Some(want), Some(got)) if want != got => {
            return Err(format!(
                "a {} must be under a {}, not a {}",
                kind.as_str(),
                want.as_str(),
                got.as_str()
            ))
        }
        (Some(want), None) => return Err(format!("a {} needs a parent {}", kind.as_str(), want.as_str())),
        (None, Some(got)) if kind == LocationKind::Defective => {
            return Err(format!("a defective location hangs under a regional centre or nowhere, not a {got}"))
        }
        (None, Some(_)) => return Err(format!("a {} has no parent", kind.as_str())),
        _ => {}
    }
    if kind == LocationKind::CentralWarehouse && central_exists {
        return Err("there is already a central warehouse".into());
    }
    match (kind == LocationKind::Station, tier) {
        (true, None) => Err("a station needs a tier (A, B, C or D)".into()),
        (true, Some(t)) if !is_tier(t) => Err(format!("tier {t:?} is not one of A, B, C, D")),
        (false, Some(_)) => Err("only stations have a tier".into()),
        _ => Ok(()),
    }
}

/// What a regrading to `tier` from `from` does to a station's tier history (`history`: each
/// entry's effective date and tier, oldest first). A history keeps at most one entry a day, and
/// none that repeats the tier already in force: a regrading to the tier in force on `from`
/// changes nothing (a retried PUT among them); another on a day that has an entry replaces it,
/// or drops it when the tier goes back to the one in force before that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regrade {
    Unchanged,
    Record,
    ReplaceDay,
    DropDay,
}

pub fn regrade(history: &[(chrono::NaiveDate, Tier)], from: chrono::NaiveDate, tier: Tier) -> Regrade {
    let before = history.iter().rev().find(|(d, _)| *d < from).map(|(_, t)| *t);
    let on_day = history.iter().rev().find(|(d, _)| *d == from).map(|(_, t)| *t);
    match on_day {
        Some(t) if t == tier => Regrade::Unchanged,
        Some(_) if before == Some(tier) => Regrade::DropDay,
        Some(_) => Regrade::ReplaceDay,
        None if before == Some(tier) => Regrade::Unchanged,
        None => Regrade::Record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LocationKind as K;

    #[test]
    fn a_regrading_keeps_one_entry_a_day_and_none_that_repeats_the_tier_in_force() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let history = [(day(1), Tier::B), (day(5), Tier::A)];
        assert_eq!(regrade(&history, day(3), Tier::B), Regrade::Unchanged);
        assert_eq!(regrade(&history, day(7), Tier::A), Regrade::Unchanged);
        assert_eq!(regrade(&history, day(5), Tier::A), Regrade::Unchanged);
        assert_eq!(regrade(&history, day(5), Tier::C), Regrade::ReplaceDay);
        assert_eq!(regrade(&history, day(5), Tier::B), Regrade::DropDay);
        assert_eq!(regrade(&history, day(7), Tier::C), Regrade::Record);
        assert_eq!(regrade(&[], day(7), Tier::C), Regrade::Record);
    }

    #[test]
    fn the_external_words_are_the_external_kinds() {
        let words: Vec<&str> = K::ALL.into_iter().filter(|k| k.is_external()).map(K::as_str).collect();
        assert_eq!(words, K::EXTERNAL);
    }

    #[test]
    fn location_kinds_and_tiers_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<LocationKind>();
        crate::db::text::assert_stored_as_text::<Tier>();
    }

    #[test]
    fn codes() {
        for ok in ["HQ", "RC-HZ", "ST-TZ-001", "SUPPLIER"] {
            assert!(valid_code(ok), "{ok}");
        }
        for bad in ["", "h", "rc-hz", "RC_HZ", "-RC", "RC-", "RC--HZ", "ST TZ"] {
            assert!(!valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn placement() {
        assert!(check_placement(K::Station, Some(K::RegionalCentre), Some("B"), true).is_ok());
        assert!(check_placement(K::Station, Some(K::CentralWarehouse), Some("B"), true).is_err());
        assert!(check_placement(K::Station, Some(K::RegionalCentre), None, true).is_err());
        assert!(check_placement(K::Station, Some(K::RegionalCentre), Some("E"), true).is_err());
        assert!(check_placement(K::RegionalCentre, Some(K::CentralWarehouse), None, true).is_ok());
        assert!(check_placement(K::RegionalCentre, None, None, true).is_err());
        assert!(check_placement(K::CentralWarehouse, None, None, true).is_err());
        // a centre's bin of returned cores, beside the network-wide one
        assert!(check_placement(K::Defective, None, None, true).is_ok());
        assert!(check_placement(K::Defective, Some(K::RegionalCentre), None, true).is_ok());
        let e = check_placement(K::Defective, Some(K::Station), None, true).unwrap_err();
        assert!(e.contains("regional centre"), "{e}");
        assert!(check_placement(K::Scrap, Some(K::RegionalCentre), None, true).is_err());
        assert!(check_placement(K::CentralWarehouse, None, None, false).is_ok());
        assert!(check_placement(K::Supplier, None, None, true).is_ok());
        assert!(check_placement(K::Supplier, Some(K::Station), None, true).is_err());
        assert!(check_placement(K::RegionalCentre, Some(K::CentralWarehouse), Some("A"), true).is_err());
    }
}
