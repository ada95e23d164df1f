//! Demand per (part, station): a smoothed rate from the consumption history (Croston's method
//! with the Syntetos-Boylan correction, since station demand for a spare part is intermittent:
//! most weeks see none), a causal rate from failure rates x the installed base of the
//! compatible models in the station's region, and their blend.
//!
//! The blend is a Gamma-Poisson credibility weight: the causal rate acts as a prior worth
//! `prior_days` of observation, the history as `history_days` of it, so
//! rate = w * history + (1 - w) * causal with w = history_days / (history_days + prior_days).
//! A part-station pair with history but no causal estimate (a part fitted to no model with
//! units in the region) keeps its history rate; a centre's or the warehouse's demand is the
//! sum of the stations below it (see `greedy`).

use rayon::prelude::*;

use super::net::{Kind, Net, Rates};

/// Croston's estimate of demand per period for an intermittent series, with the
/// Syntetos-Boylan bias correction (1 - alpha/2). Zero for a series without demand.
pub fn croston(series: &[u32], alpha: f64) -> f64 {
    let mut size: Option<f64> = None;
    let mut interval = 0.0;
    let mut since = 0.0;
    for &d in series {
        since += 1.0;
        if d == 0 {
            continue;
        }
        match size {
            None => {
                size = Some(d as f64);
                interval = since;
            }
            Some(z) => {
                size = Some(z + alpha * (d as f64 - z));
                interval += alpha * (since - interval);
            }
        }
        since = 0.0;
    }
    match size {
        Some(z) if interval > 0.0 => (1.0 - alpha / 2.0) * z / interval,
        _ => 0.0,
    }
}

/// Simple exponential smoothing of a series (per period), started at the series' mean.
pub fn ses(series: &[u32], alpha: f64) -> f64 {
    if series.is_empty() {
        return 0.0;
    }
    let mut level = series.iter().map(|&d| d as f64).sum::<f64>() / series.len() as f64;
    for &d in series {
        level += alpha * (d as f64 - level);
    }
    level
}

/// The weight of the history in the blend: `history_days / (history_days + prior_days)`.
pub fn history_weight(history_days: f64, prior_days: f64) -> f64 {
    history_days / (history_days + prior_days)
}

/// The credibility blend of a history rate and a causal rate (both per day).
pub fn blend(history: f64, history_days: f64, causal: Option<f64>, prior_days: f64) -> f64 {
    match causal {
        None => history,
        Some(c) => {
            let w = history_weight(history_days, prior_days);
            w * history + (1.0 - w) * c
        }
    }
}

/// What a station's blended rate was made of: the history rate (Croston, per day) and the
/// causal rate (failure rate x installed base x the station's share, per day; `None` where
/// the part has no installed base in the station's region, and the rate is the history's).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateParts {
    pub history: f64,
    pub causal: Option<f64>,
}

/// What the estimate is made from.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// weeks of history
    pub weeks: usize,
    /// per part: (station node, week 0..weeks, quantity), in any order
    pub history: Vec<Vec<(u32, u16, u32)>>,
    /// per part: (region, causal demand per day over the whole region), failure rate x
    /// installed base
    pub causal: Vec<Vec<(u32, f64)>>,
    /// per node: a station's share of its region's service volume (sums to 1 per region)
    pub share: Vec<f64>,
}

/// Smoothing constant of Croston's method on weekly buckets.
pub const ALPHA: f64 = 0.1;
/// Worth of the causal estimate, in days of history.
pub const PRIOR_DAYS: f64 = 365.0;

/// Each station's share of its region: its history volume over all parts plus a prior by
/// tier (A 3, B 2, C 1.2, D 0.8 times the region's average), normalised per region.
pub fn shares(net: &Net, history: &[Vec<(u32, u16, u32)>]) -> Vec<f64> {
    let mut volume = vec![0.0; net.nodes.len()];
    for h in history {
        for &(node, _, qty) in h {
            volume[node as usize] += qty as f64;
        }
    }
    let mut region_volume = vec![0.0; net.regions.len()];
    let mut region_count = vec![0.0; net.regions.len()];
    for n in net.station_nodes() {
        let r = net.nodes[n as usize].region as usize;
        region_volume[r] += volume[n as usize];
        region_count[r] += 1.0;
    }
    let tier_weight = [3.0, 2.0, 1.2, 0.8];
    let mut raw = vec![0.0; net.nodes.len()];
    let mut total = vec![0.0; net.regions.len()];
    for n in net.station_nodes() {
        let node = &net.nodes[n as usize];
        let r = node.region as usize;
        let avg = if region_count[r] > 0.0 { region_volume[r] / region_count[r] } else { 0.0 };
        let w = tier_weight.get(node.tier as usize).copied().unwrap_or(1.0);
        raw[n as usize] = volume[n as usize] + w * avg.max(1.0);
        total[r] += raw[n as usize];
    }
    for n in net.station_nodes() {
        let r = net.nodes[n as usize].region as usize;
        if total[r] > 0.0 {
            raw[n as usize] /= total[r];
        }
    }
    raw
}

/// The blended daily rate per part per station.
pub fn estimate(net: &Net, inputs: &Inputs) -> Rates {
    estimate_with_parts(net, inputs).0
}

/// The blended daily rate per part per station, and beside each rate (in the same order) the
/// history and causal rates it blends.
pub fn estimate_with_parts(net: &Net, inputs: &Inputs) -> (Rates, Vec<Vec<RateParts>>) {
    let stations_of_region: Vec<Vec<u32>> = {
        let mut v = vec![Vec::new(); net.regions.len()];
        for n in net.station_nodes() {
            v[net.nodes[n as usize].region as usize].push(n);
        }
        v
    };
    let history_days = inputs.weeks as f64 * 7.0;
    let per_part = (0..net.parts.len())
        .into_par_iter()
        .map(|p| {
            let mut hist = inputs.history.get(p).cloned().unwrap_or_default();
            hist.sort_unstable();
            let mut out: Vec<(u32, f64)> = Vec::new();
            let mut made_of: Vec<RateParts> = Vec::new();
            // causal rates for every station of every region where the part has an installed base
            let mut causal: Vec<(u32, f64)> = Vec::new();
            for &(region, rate) in inputs.causal.get(p).map(Vec::as_slice).unwrap_or(&[]) {
                for &n in &stations_of_region[region as usize] {
                    causal.push((n, rate * inputs.share[n as usize]));
                }
            }
            causal.sort_unstable_by_key(|c| c.0);
            let mut series = vec![0u32; inputs.weeks];
            let (mut i, mut k) = (0, 0);
            while i < hist.len() || k < causal.len() {
                let node = match (hist.get(i), causal.get(k)) {
                    (Some(h), Some(c)) => h.0.min(c.0),
                    (Some(h), None) => h.0,
                    (None, Some(c)) => c.0,
                    (None, None) => break,
                };
                series.iter_mut().for_each(|x| *x = 0);
                while i < hist.len() && hist[i].0 == node {
                    if let Some(x) = series.get_mut(hist[i].1 as usize) {
                        *x += hist[i].2;
                    }
                    i += 1;
                }
                let mut c = None;
                while k < causal.len() && causal[k].0 == node {
                    *c.get_or_insert(0.0) += causal[k].1;
                    k += 1;
                }
                let h = croston(&series, ALPHA) / 7.0;
                let rate = blend(h, history_days, c, PRIOR_DAYS);
                if rate > 0.0 && net.nodes[node as usize].kind == Kind::Station {
                    out.push((node, rate));
                    made_of.push(RateParts { history: h, causal: c });
                }
            }
            (out, made_of)
        })
        .collect::<Vec<_>>();
    let (per_part, parts) = per_part.into_iter().unzip();
    (Rates { per_part, var: Vec::new() }, parts)
}

/// Days of history the smoothed rate is worth: exponential smoothing with constant `alpha`
/// on weekly buckets of a Poisson series of rate r per day leaves its level with variance
/// alpha / (2 - alpha) x 7r per week^2 (Brown 1963; the smoother's effective window), that is
/// r / (7 (2 - alpha) / alpha) per day^2: 133 days for alpha 0.1. Croston's estimate of an
/// intermittent series is taken to be as noisy.
pub fn history_window_days(alpha: f64) -> f64 {
    7.0 * (2.0 - alpha) / alpha
}

/// The variance of one station's blended rate: w^2 x the history's (rate / window days) plus
/// (1 - w)^2 x the causal estimate's (`causal_cv2` x causal^2); without a causal part, the
/// history's alone.
pub fn rate_variance(rate: f64, made_of: RateParts, weight: f64, window_days: f64, causal_cv2: f64) -> f64 {
    let history = rate.max(0.0) / window_days;
    match made_of.causal {
        None => history,
        Some(c) => weight * weight * history + (1.0 - weight) * (1.0 - weight) * causal_cv2 * c * c,
    }
}

/// The causal estimate's squared relative error, learned from the history it is blended with
/// (a backtest of the causal estimate against the history of the same stations, by the method
/// of moments): where both exist, history - causal has mean square (the history's variance) +
/// cv^2 x causal^2, so cv^2 = sum((h - c)^2 - var h) / sum(c^2), pooled over every station and
/// part, and at least 0.
pub fn causal_cv2(rates: &Rates, parts: &[Vec<RateParts>], window_days: f64) -> f64 {
    let (mut excess, mut scale) = (0.0, 0.0);
    for (rs, ps) in rates.per_part.iter().zip(parts) {
        for (&(_, rate), made) in rs.iter().zip(ps) {
            if let Some(c) = made.causal {
                let d = made.history - c;
                excess += d * d - rate / window_days;
                scale += c * c;
            }
        }
    }
    if scale > 0.0 {
        (excess / scale).max(0.0)
    } else {
        0.0
    }
}

/// Every estimated rate's variance (`Rates::var`), the causal error learned from the history
/// (`causal_cv2`). The blend's weight is the run's: `history_days` against `PRIOR_DAYS`.
pub fn rate_variances(rates: &Rates, parts: &[Vec<RateParts>], history_days: f64) -> Vec<Vec<f64>> {
    let window = history_window_days(ALPHA);
    let cv2 = causal_cv2(rates, parts, window);
    let w = history_weight(history_days, PRIOR_DAYS);
    rates
        .per_part
        .iter()
        .zip(parts)
        .map(|(rs, ps)| rs.iter().zip(ps).map(|(&(_, r), &m)| rate_variance(r, m, w, window, cv2)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn croston_by_hand() {
        // demands 2 (after 2 periods) and 4 (after 3 more): size 2 -> 2 + 0.5(4-2) = 3,
        // interval 2 -> 2 + 0.5(3-2) = 2.5; rate (1 - 0.25) * 3 / 2.5 = 0.9
        assert!((croston(&[0, 2, 0, 0, 4], 0.5) - 0.9).abs() < 1e-12);
        assert_eq!(croston(&[0, 0, 0], 0.1), 0.0);
        // one demand of 1 in week 10 of 10: 1/10 per week, less the correction
        assert!((croston(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0.1) - 0.095).abs() < 1e-12);
    }

    #[test]
    fn the_variance_of_an_estimate_by_hand() {
        // alpha 0.1: the window is 7 x 1.9 / 0.1 = 133 days
        assert!((history_window_days(0.1) - 133.0).abs() < 1e-12);
        // history 0.2/day, causal 0.1/day, weight 182/547 = 0.332724: the rate 0.133272;
        // the history's variance 0.133272 / 133 = 0.00100205; with cv^2 0.25 the causal's
        // 0.25 x 0.01 = 0.0025; the blend's 0.332724^2 x 0.00100205 + 0.667276^2 x 0.0025
        // = 0.110705 x 0.00100205 + 0.445257 x 0.0025 = 0.000110932 + 0.00111314 = 0.00122408
        let w = history_weight(182.0, 365.0);
        let made = RateParts { history: 0.2, causal: Some(0.1) };
        let rate = w * 0.2 + (1.0 - w) * 0.1;
        assert!((rate - 0.133272).abs() < 1e-6);
        let v = rate_variance(rate, made, w, 133.0, 0.25);
        assert!((v - 0.00122408).abs() < 1e-8, "{v}");
        // history alone: its variance only
        let v = rate_variance(0.2, RateParts { history: 0.2, causal: None }, w, 133.0, 0.25);
        assert!((v - 0.2 / 133.0).abs() < 1e-15);
        // the causal error learned: two stations, (h, c) = (0.3, 0.1) and (0.1, 0.1), rates
        // 0.2 and 0.1 (window 100): ((0.04 - 0.002) + (0 - 0.001)) / (0.01 + 0.01) = 1.85
        let rates = Rates { per_part: vec![vec![(5, 0.2), (6, 0.1)]], var: Vec::new() };
        let parts = vec![vec![
            RateParts { history: 0.3, causal: Some(0.1) },
            RateParts { history: 0.1, causal: Some(0.1) },
        ]];
        assert!((causal_cv2(&rates, &parts, 100.0) - 1.85).abs() < 1e-12);
    }

    #[test]
    fn ses_and_blend() {
        assert!((ses(&[1, 1, 1], 0.3) - 1.0).abs() < 1e-12);
        // 182 days of history against a prior worth 365: w = 182/547
        let r = blend(1.0, 182.0, Some(0.0), 365.0);
        assert!((r - 182.0 / 547.0).abs() < 1e-12);
        assert_eq!(blend(0.5, 182.0, None, 365.0), 0.5);
    }
}
