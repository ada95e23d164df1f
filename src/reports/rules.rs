//! KPI arithmetic: ratios that carry their numerator and denominator, percentiles, the
//! levels figures are grouped by. No HTTP, no database.

use crate::validate::{date_out_of_range, Validate};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, Validate)]
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
    nearest_rank(sorted, p)
}

/// The nearest-rank percentile `p` (0-100) of sorted values of any kind (PostgreSQL's
/// `percentile_disc(p / 100)`); None when empty.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    rank_of(sorted.len(), p).map(|rank| sorted[rank - 1])
}

/// The 1-based rank of the nearest-rank percentile `p` among `n` values; None when `n` is 0.
pub fn rank_of(n: usize, p: f64) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
    Some(rank.min(n))
}

/// The repair-cycle histogram buckets are written by the rollups and read by the reports.
pub use crate::rollup::cycle_buckets::{cycle_bucket, cycle_bucket_range, cycle_bucket_sql};

/// The whole months [m1, m2) inside the days [from, to], for the monthly rollups: the period
/// reads them as months and the days [from, m1) and [m2, to] as days. Without a whole month,
/// `m1 == m2 == from` (every day read as a day).
pub fn whole_months(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> (chrono::NaiveDate, chrono::NaiveDate) {
    use chrono::Datelike;
    let first = |d: chrono::NaiveDate| d.with_day(1).unwrap_or(d);
    let later = |d: chrono::NaiveDate, days: i64| d.checked_add_signed(chrono::Duration::days(days));
    let m1 = if from.day() == 1 { Some(from) } else { later(first(from), 32).map(first) };
    let m2 = later(to, 1).map(first);
    match (m1, m2) {
        (Some(m1), Some(m2)) if m1 < m2 => (m1, m2),
        _ => (from, from),
    }
}

/// Stock turnover over a period: consumption at cost / average stock value (None when there
/// was no stock).
pub fn turnover(consumption_minor: i64, average_stock_minor: i64) -> Option<f64> {
    (average_stock_minor > 0)
        .then(|| ((consumption_minor as f64 / average_stock_minor as f64) * 1000.0).round() / 1000.0)
}

/// The Monday and the following Monday of an ISO week written `YYYY-Www`.
pub fn iso_week(s: &str) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    let (y, w) = s.split_once("-W")?;
    if y.len() != 4 || w.len() != 2 {
        return None;
    }
    let monday = chrono::NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, chrono::Weekday::Mon)?;
    let next = monday + chrono::Duration::days(7);
    // the weeks of the years a report reads (see `crate::validate::date_out_of_range`)
    if date_out_of_range(monday).is_some() || date_out_of_range(next).is_some() {
        return None;
    }
    Some((monday, next))
}

/// The ISO week of a day, as `YYYY-Www`.
pub fn week_of(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let w = day.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// Unit-months in service over the days [from, to] (both inclusive) of a unit shipped on
/// `ship_date`: days in service x 12 / 365 (a whole year is 12 unit-months).
pub fn unit_months(ship_date: chrono::NaiveDate, from: chrono::NaiveDate, to: chrono::NaiveDate) -> f64 {
    let start = ship_date.max(from);
    if start > to {
        return 0.0;
    }
    ((to - start).num_days() + 1) as f64 * 12.0 / 365.0
}

/// Rounds to `places` decimals.
pub fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Failures per unit-month in service (None without a basis).
pub fn failure_rate(failures: i64, unit_months: f64) -> Option<f64> {
    (unit_months > 0.0).then(|| round(failures as f64 / unit_months, 6))
}

/// The Poisson quantile: the smallest k with P(X <= k) >= p for X ~ Poisson(mean).
pub fn poisson_quantile(mean: f64, p: f64) -> i64 {
    if mean <= 0.0 {
        return 0;
    }
    // the terms are built up iteratively in log space so that large means do not underflow
    let mut k = 0i64;
    let mut log_term = -mean;
    let mut cdf = log_term.exp();
    while cdf < p && k < 1_000_000 {
        k += 1;
        log_term += mean.ln() - (k as f64).ln();
        cdf += log_term.exp();
    }
    k
}

/// A quality alert's test: observed failures beyond the 99% Poisson bound of the expected.
/// Returns the threshold, and whether it was exceeded.
pub fn exceeds(observed: i64, expected: f64, confidence: f64) -> (i64, bool) {
    let threshold = poisson_quantile(expected, confidence);
    (threshold, observed > threshold)
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
    fn ranks_are_the_nearest_rank() {
        assert_eq!(rank_of(0, 50.0), None);
        assert_eq!(rank_of(10, 50.0), Some(5));
        assert_eq!(rank_of(10, 90.0), Some(9));
        assert_eq!(rank_of(11, 90.0), Some(10));
        assert_eq!(rank_of(1, 90.0), Some(1));
        assert_eq!(rank_of(3, 0.0), Some(1));
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

    #[test]
    fn iso_weeks_parse_and_print() {
        let (mon, next) = iso_week("2026-W48").unwrap();
        assert_eq!(mon.to_string(), "2026-11-23");
        assert_eq!(next.to_string(), "2026-11-30");
        assert_eq!(iso_week("2026-W01").unwrap().0.to_string(), "2025-12-29");
        assert_eq!(iso_week("2026-W54"), None);
        assert_eq!(iso_week("2026-48"), None);
        assert_eq!(week_of(mon), "2026-W48");
        assert_eq!(week_of(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()), "2026-W01");
    }

    #[test]
    fn unit_months_count_days_in_service() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(unit_months(d("2020-01-01"), d("2025-01-01"), d("2025-12-31")), 12.0);
        assert!((unit_months(d("2025-10-20"), d("2025-01-01"), d("2025-12-31")) - 2.4).abs() < 1e-9);
        assert_eq!(unit_months(d("2026-01-01"), d("2025-01-01"), d("2025-12-31")), 0.0);
        assert_eq!(failure_rate(3, 50.0), Some(0.06));
        assert_eq!(failure_rate(3, 0.0), None);
    }

    #[test]
    fn poisson_quantiles_match_tables() {
        // P(X<=3 | 1) = 0.981, P(X<=4 | 1) = 0.9963
        assert_eq!(poisson_quantile(1.0, 0.99), 4);
        // P(X<=0 | 0.5) = 0.607, <=1 0.910, <=2 0.986, <=3 0.998
        assert_eq!(poisson_quantile(0.5, 0.99), 3);
        // mean 10: P(X<=17) = 0.986, P(X<=18) = 0.9928
        assert_eq!(poisson_quantile(10.0, 0.99), 18);
        assert_eq!(poisson_quantile(0.0, 0.99), 0);
        assert_eq!(poisson_quantile(2.0, 0.5), 2);
        // a large mean does not underflow: about mean + 2.33 sd
        let q = poisson_quantile(1000.0, 0.99);
        assert!((1070..=1076).contains(&q), "{q}");
        assert_eq!(exceeds(5, 1.0, 0.99), (4, true));
        assert_eq!(exceeds(4, 1.0, 0.99), (4, false));
    }

    #[test]
    fn whole_months_leave_ragged_ends_as_days() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        // a year ending on the 1st: December's 30 days, eleven months, one day
        assert_eq!(whole_months(d("2025-12-02"), d("2026-12-01")), (d("2026-01-01"), d("2026-12-01")));
        // whole months at both ends
        assert_eq!(whole_months(d("2026-01-01"), d("2026-02-28")), (d("2026-01-01"), d("2026-03-01")));
        // a month across two months' days: none whole
        assert_eq!(whole_months(d("2026-11-02"), d("2026-12-01")), (d("2026-11-02"), d("2026-11-02")));
        assert_eq!(whole_months(d("2026-12-01"), d("2026-12-01")), (d("2026-12-01"), d("2026-12-01")));
        // December to January across the year
        assert_eq!(whole_months(d("2025-12-31"), d("2026-02-01")), (d("2026-01-01"), d("2026-02-01")));
        // at the end of the calendar: no month, no overflow
        let end = chrono::NaiveDate::MAX;
        assert_eq!(whole_months(end, end), (end, end));
    }
}
