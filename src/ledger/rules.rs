//! The ledger's vocabulary: why stock moves, and what a movement must satisfy.

use crate::validate::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a movement happened (spec section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    PurchaseReceipt,
    TransferShip,
    TransferReceive,
    LoanOut,
    LoanReturnUnused,
    Consume,
    CoreReturn,
    InspectionPass,
    InspectionScrap,
    DamagedInTransit,
    CountAdjustment,
}

impl Reason {
    pub const ALL: [Reason; 11] = [
        Reason::PurchaseReceipt,
        Reason::TransferShip,
        Reason::TransferReceive,
        Reason::LoanOut,
        Reason::LoanReturnUnused,
        Reason::Consume,
        Reason::CoreReturn,
        Reason::InspectionPass,
        Reason::InspectionScrap,
        Reason::DamagedInTransit,
        Reason::CountAdjustment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PurchaseReceipt => "purchase_receipt",
            Reason::TransferShip => "transfer_ship",
            Reason::TransferReceive => "transfer_receive",
            Reason::LoanOut => "loan_out",
            Reason::LoanReturnUnused => "loan_return_unused",
            Reason::Consume => "consume",
            Reason::CoreReturn => "core_return",
            Reason::InspectionPass => "inspection_pass",
            Reason::InspectionScrap => "inspection_scrap",
            Reason::DamagedInTransit => "damaged_in_transit",
            Reason::CountAdjustment => "count_adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

crate::db::stored_as_text!(Reason);

/// The most units one line may move or request: beyond it a typo, not a need.
pub const MAX_QTY: i64 = 100_000;

/// What is wrong with a quantity, if anything.
pub fn check_qty(qty: i64) -> Result<(), String> {
    if qty <= 0 {
        Err(format!("qty must be positive, got {qty}"))
    } else if qty > MAX_QTY {
        Err(format!("qty must be at most {MAX_QTY}, got {qty}"))
    } else {
        Ok(())
    }
}

/// Part serials are kept in capitals, as unit serials are: one typed in lower case is the same
/// part, never a second one beside it.
pub fn in_capitals(serials: &mut [String]) {
    for s in serials {
        s.make_ascii_uppercase();
    }
}

/// The serials given for a movement of `qty` units of a part: exactly `qty` distinct, sane
/// serials for a serialized part, none for another.
pub fn check_serials(serialized: bool, qty: i64, serials: &[String]) -> Result<(), String> {
    if !serialized {
        return if serials.is_empty() {
            Ok(())
        } else {
            Err("this part is not serialized: give no serials".into())
        };
    }
    if serials.len() as i64 != qty {
        return Err(format!(
            "a serialized part needs one serial per unit: {qty} units, {} serials",
            serials.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for s in serials {
        if s.is_empty()
            || s.len() > 64
            || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        {
            return Err(format!("serial {s:?} is not 1-64 letters, digits, '-' or '/'"));
        }
        if !seen.insert(s) {
            return Err(format!("serial {s} is given twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn reasons_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<Reason>();
    }

    #[test]
    fn quantities_and_serials() {
        assert!(check_qty(0).is_err());
        assert!(check_qty(1).is_ok());
        assert!(check_qty(MAX_QTY + 1).is_err());
        assert!(check_serials(false, 2, &[]).is_ok());
        assert!(check_serials(false, 1, &["A".into()]).is_err());
        assert!(check_serials(true, 2, &["A".into(), "B".into()]).is_ok());
        assert!(check_serials(true, 2, &["A".into(), "A".into()]).is_err());
        assert!(check_serials(true, 2, &["A".into()]).is_err());
        assert!(check_serials(true, 1, &["bad serial".into()]).is_err());
    }
}
