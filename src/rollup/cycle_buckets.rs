//! The buckets of the repair-cycle histograms: the rollups write tickets into them, the
//! reports read percentiles back out. Plain functions, no database.

/// The buckets of the repair-cycle histograms (`kpi_cycle_*`): seconds below each bound in
/// steps of the width (a quarter hour under a day, an hour under a week, 4 h under 30 days,
/// 12 h beyond), so that a bucket holds few tickets however long the period.
const CYCLE_STEPS: [(i64, i64); 4] =
    [(86_400, 900), (604_800, 3_600), (2_592_000, 14_400), (i64::MAX, 43_200)];

/// The histogram bucket of a number of seconds (-1 for a negative one).
pub fn cycle_bucket(secs: i64) -> i64 {
    if secs < 0 {
        return -1;
    }
    let (mut base, mut lo) = (0, 0);
    for (upto, width) in CYCLE_STEPS {
        if secs < upto {
            return base + (secs - lo) / width;
        }
        base += (upto - lo) / width;
        lo = upto;
    }
    base
}

/// The seconds [lo, hi) of a histogram bucket.
pub fn cycle_bucket_range(bucket: i64) -> (i64, i64) {
    if bucket < 0 {
        return (i64::MIN, 0);
    }
    let (mut base, mut lo) = (0, 0);
    for (upto, width) in CYCLE_STEPS {
        let n = (upto - lo) / width;
        if bucket < base + n || upto == i64::MAX {
            let start = lo + (bucket - base) * width;
            return (start, start.saturating_add(width));
        }
        base += n;
        lo = upto;
    }
    (lo, i64::MAX)
}

/// `cycle_bucket` in SQL (both dialects: integer division truncates) of the expression `x`.
pub fn cycle_bucket_sql(x: &str) -> String {
    let mut sql = format!("CASE WHEN ({x}) < 0 THEN -1");
    let (mut base, mut lo) = (0, 0);
    for (upto, width) in CYCLE_STEPS {
        if upto == i64::MAX {
            sql.push_str(&format!(" ELSE {base} + (({x}) - {lo}) / {width} END"));
        } else {
            sql.push_str(&format!(" WHEN ({x}) < {upto} THEN {base} + (({x}) - {lo}) / {width}"));
            base += (upto - lo) / width;
            lo = upto;
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_buckets_cover_the_seconds_in_order() {
        let mut last = -1;
        for s in (-120..3_000_000).step_by(60) {
            let b = cycle_bucket(s);
            assert!(b >= last, "buckets grow with the seconds");
            last = b;
        }
        for s in (-120..3_000_000).step_by(60).chain([86_399, 86_400, 604_800, 2_592_000, 10_000_000]) {
            let b = cycle_bucket(s);
            let (lo, hi) = cycle_bucket_range(b);
            assert!(lo <= s && s < hi, "{s} in bucket {b} [{lo}, {hi})");
        }
        assert_eq!(cycle_bucket(899), 0);
        assert_eq!(cycle_bucket(86_400), 96);
        assert_eq!(cycle_bucket(604_800), 240);
        assert_eq!(cycle_bucket(2_592_000), 378);
        assert_eq!(cycle_bucket(2_592_000 + 43_200), 379);
        assert_eq!(cycle_bucket(-1), -1);
        assert_eq!(cycle_bucket_range(378), (2_592_000, 2_635_200));
        let sql = cycle_bucket_sql("x");
        assert!(sql.starts_with("CASE WHEN (x) < 0 THEN -1 WHEN (x) < 86400 THEN 0 + ((x) - 0) / 900"));
        assert!(sql.ends_with("ELSE 378 + ((x) - 2592000) / 43200 END"), "{sql}");
    }
}
