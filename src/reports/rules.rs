//! KPI arithmetic: ratios that carry their numerator and denominator, percentiles, the
//! levels figures are grouped by. No HTTP, no database.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A share with what it is made of, so it can be checked by hand.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"numerator": 49, "denominator": 50, "value": 0.98}))]
pub struct Ratio {
    pub numerator: i64,
    pub denominator: i64,
    /// numerator / denominator, 4 decimals; absent when the denominator is 0
    pub value: Option<f64>,
}

impl Ratio {
    pub fn new(numerator: i64, denominator: i64) -> Ratio {
        let value = (denominator != 0)
            .then(|| ((numerator as f64 / denominator as f64) * 10_000.0).round() / 10_000.0);
        Ratio { numerator, denominator, value }
    }
}

impl Default for Ratio {
    fn default() -> Ratio {
        Ratio::new(0, 0)
    }
}

/// How figures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Network,
    Centre,
    Station,
    Tier,
}

/// The value below which `p` of the sorted values lie (nearest rank); None when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Stock turnover over a period: consumption at cost / average stock value (None when there
/// was no stock).
pub fn turnover(consumption_minor: i64, average_stock_minor: i64) -> Option<f64> {
    (average_stock_minor > 0)
        .then(|| ((consumption_minor as f64 / average_stock_minor as f64) * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_carry_their_parts() {
        let r = Ratio::new(49, 50);
        assert_eq!(r.value, Some(0.98));
        assert_eq!(Ratio::new(0, 0).value, None);
        assert_eq!(Ratio::new(1, 3).value, Some(0.3333));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 100.0), Some(10.0));
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn turnover_is_consumption_over_average_stock() {
        assert_eq!(turnover(12_000, 4_000), Some(3.0));
        assert_eq!(turnover(1, 0), None);
    }
}
