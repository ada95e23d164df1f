//! Demand per (part, station): an empirical-Bayes Gamma-Poisson estimate from the station's
//! own history and a causal rate (failure rates x the installed base of the compatible models
//! in the station's region x the station's share of it).
//!
//! The causal rate `c` is the prior's mean. How far true rates stray from it, its squared
//! relative error `cv2`, is learned from the history itself: a backtest of the causal estimate
//! against the history of every station and part that has both (method of moments,
//! `causal_cv2`). The prior is then Gamma(1/cv2, 1/(cv2 c)), worth 1/(cv2 c) days of
//! observation: a slow mover's causal rate is worth years of its history, a fast mover's a few
//! weeks. The history adds its units `N` over its days `T` (weekly counts discounted by
//! `DISCOUNT` a week, so a level that moves is followed: the discounted Gamma-Poisson of Harvey
//! and Fernandes, "Time series models for count or qualitative observations", *Journal of
//! Business & Economic Statistics* 7, 1989). The estimate is the posterior mean
//!
//!   rate = (N + 1/cv2) / (T + 1/(cv2 c)) = w h + (1 - w) c,  h = N/T,  w = T / (T + 1/(cv2 c)),
//!
//! and the planner's uncertainty about it the posterior variance, rate / (T + 1/(cv2 c))
//! (`rate_variances`, VARI-METRIC's forecast-error term, Sherbrooke ch. 5). A part-station pair
//! with history but no causal rate (a part fitted to no model with units in the region) keeps
//! its history rate, of variance h / T. A centre's or the warehouse's demand is the sum of the
//! stations below it (see `greedy`).
//!
//! Why not a smoothed rate with a fixed credibility weight (Croston's method blended at a
//! prior worth 365 days, as before): Croston's estimate of a pair seen once is one over the
//! weeks to that demand, which overstates what a rarely seen pair sells; and a fixed weight
//! gave a pair never seen two thirds of its causal rate. The planner then stocked the pairs it
//! overrated and not those it underrated; measured on the demand it did not know
//! (`echelon simulate`), a target of 98% filled 96.2%. With the posterior mean every bucket of
//! estimated rates sells what it was estimated to within a few per cent, and the fill asked
//! for is the fill measured (BENCHMARKS.md).

use rayon::prelude::*;

use super::net::{Kind, Net, Rates};

/// The weekly discount of the history: a week's demand counts this much less than the next
/// week's (half weight after 34 weeks).
pub const DISCOUNT: f64 = 0.98;
/// The least squared relative error the causal estimate is given, however well it did in the
/// backtest (a causal rate is never taken as exact).
pub const MIN_CAUSAL_CV2: f64 = 0.01;

/// The discounted days of `weeks` of history (the posterior's exposure T): 7 x sum of
/// DISCOUNT^age over the weeks.
pub fn exposure_days(weeks: usize) -> f64 {
    7.0 * (0..weeks).map(|a| DISCOUNT.powi(a as i32)).sum::<f64>()
}

/// The discounted units of a weekly series, oldest week first (the posterior's N).
pub fn history_units(series: &[u32]) -> f64 {
    let last = series.len().saturating_sub(1);
    series.iter().enumerate().map(|(i, &d)| d as f64 * DISCOUNT.powi((last - i) as i32)).sum()
}

/// Days that make the variance of the history rate h = N/T of a Poisson rate r equal to
/// r / days: T^2 / (7 x sum of DISCOUNT^(2 age)) (T itself without discount).
pub fn variance_days(weeks: usize) -> f64 {
    let t = exposure_days(weeks);
    let sq = 7.0 * (0..weeks).map(|a| DISCOUNT.powi(2 * a as i32)).sum::<f64>();
    if sq > 0.0 {
        t * t / sq
    } else {
        0.0
    }
}

/// The history's weight in a station's rate: T / (T + 1/(cv2 c)); 1 without a causal rate or
/// with one of zero (a prior of mean zero tells nothing: the history alone decides).
pub fn history_weight(exposure_days: f64, causal: Option<f64>, cv2: f64) -> f64 {
    match causal {
        Some(c) if c > 0.0 && cv2 > 0.0 => exposure_days / (exposure_days + 1.0 / (cv2 * c)),
        // no error allowed: the causal rate taken as exact
        Some(c) if c > 0.0 => 0.0,
        _ => 1.0,
    }
}

/// The posterior mean: `weight` x history + (1 - `weight`) x causal.
pub fn blend(history: f64, causal: Option<f64>, weight: f64) -> f64 {
    match causal {
        None => history,
        Some(c) => weight * history + (1.0 - weight) * c,
    }
}

/// What a station's rate was made of: the history rate (discounted units over discounted
/// days), the causal rate (failure rate x installed base x the station's share, per day;
/// none where the part has no installed base in the station's region, and the rate is the
/// history's), and the history's weight in the rate. Kept for every (part, station) of a run
/// until its levels are written, so in single precision (the levels show them so) and
/// without an `Option`'s tag: 12 bytes, not 32.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateParts {
    history: f32,
    /// NaN: none
    causal: f32,
    weight: f32,
}

impl RateParts {
    pub fn new(history: f64, causal: Option<f64>, weight: f64) -> RateParts {
        RateParts {
            history: history as f32,
            causal: causal.map_or(f32::NAN, |c| c as f32),
            weight: weight as f32,
        }
    }

    pub fn history(&self) -> f64 {
        f64::from(self.history)
    }

    pub fn causal(&self) -> Option<f64> {
        (!self.causal.is_nan()).then_some(f64::from(self.causal))
    }

    pub fn weight(&self) -> f64 {
        f64::from(self.weight)
    }
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

/// The estimate: the rates, beside each (in the same order) what it was made of, and the two
/// figures every rate shares.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    pub rates: Rates,
    pub parts: Vec<Vec<RateParts>>,
    /// the causal estimate's squared relative error, learned from the history (`causal_cv2`)
    pub causal_cv2: f64,
    /// the history's discounted days (`exposure_days`)
    pub exposure_days: f64,
}

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

/// The estimated daily rate per part per station.
pub fn estimate(net: &Net, inputs: &Inputs) -> Rates {
    Estimator::new(net, inputs).rates()
}

/// The estimated daily rate per part per station, with what each was made of.
pub fn estimate_with_parts(net: &Net, inputs: &Inputs) -> Estimate {
    Estimator::new(net, inputs).estimate()
}

/// The estimate, part by part: the causal error is learned from every part once (`new`), then
/// any part's rates and what they were made of come from its own inputs (`part`), so a run
/// need not hold what every rate was made of while it plans (7 million pairs on a full
/// network).
pub struct Estimator<'a> {
    net: &'a Net,
    inputs: &'a Inputs,
    stations_of_region: Vec<Vec<u32>>,
    /// each week's discount, oldest week first (as `history_units` weighs them)
    discount: Vec<f64>,
    /// the history's discounted days (`exposure_days`)
    pub exposure_days: f64,
    /// the causal estimate's squared relative error (`causal_cv2`)
    pub causal_cv2: f64,
}

impl<'a> Estimator<'a> {
    pub fn new(net: &'a Net, inputs: &'a Inputs) -> Estimator<'a> {
        let mut stations_of_region = vec![Vec::new(); net.regions.len()];
        for n in net.station_nodes() {
            stations_of_region[net.nodes[n as usize].region as usize].push(n);
        }
        let mut e = Estimator {
            net,
            inputs,
            stations_of_region,
            discount: (0..inputs.weeks).map(|i| DISCOUNT.powi((inputs.weeks - 1 - i) as i32)).collect(),
            exposure_days: exposure_days(inputs.weeks),
            causal_cv2: 0.0,
        };
        let days = variance_days(inputs.weeks);
        // per part, then summed in part order: the same figure however many threads
        let sums: Vec<(f64, f64)> =
            (0..net.parts.len()).into_par_iter().map(|p| moments(&e.seen(p), days)).collect();
        let (excess, scale) = sums.iter().fold((0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1));
        e.causal_cv2 = cv2_of(excess, scale);
        e
    }

    /// Part `p`'s (station, history rate and causal rate) for every station with either.
    fn seen(&self, p: usize) -> Vec<(u32, RateParts)> {
        let (net, inputs) = (self.net, self.inputs);
        let mut hist = inputs.history.get(p).cloned().unwrap_or_default();
        hist.sort_unstable();
        let mut out = Vec::new();
        // causal rates for every station of every region where the part has an installed base
        let mut causal: Vec<(u32, f64)> = Vec::new();
        for &(region, rate) in inputs.causal.get(p).map(Vec::as_slice).unwrap_or(&[]) {
            for &n in &self.stations_of_region[region as usize] {
                causal.push((n, rate * inputs.share[n as usize]));
            }
        }
        causal.sort_unstable_by_key(|c| c.0);
        let (mut i, mut k) = (0, 0);
        while i < hist.len() || k < causal.len() {
            let node = match (hist.get(i), causal.get(k)) {
                (Some(h), Some(c)) => h.0.min(c.0),
                (Some(h), None) => h.0,
                (None, Some(c)) => c.0,
                (None, None) => break,
            };
            // the node's discounted units (`history_units` of its weekly series), from its
            // weeks with demand only
            let mut units = 0.0;
            while i < hist.len() && hist[i].0 == node {
                if let Some(w) = self.discount.get(hist[i].1 as usize) {
                    units += f64::from(hist[i].2) * w;
                }
                i += 1;
            }
            let mut c = None;
            while k < causal.len() && causal[k].0 == node {
                *c.get_or_insert(0.0) += causal[k].1;
                k += 1;
            }
            if net.nodes[node as usize].kind == Kind::Station {
                let h = if self.exposure_days > 0.0 { units / self.exposure_days } else { 0.0 };
                out.push((node, RateParts::new(h, c, 1.0)));
            }
        }
        out
    }

    /// Part `p`'s rates (station, units a day; only those above zero), and beside each what it
    /// was made of.
    pub fn part(&self, p: usize) -> (Vec<(u32, f64)>, Vec<RateParts>) {
        let seen = self.seen(p);
        let mut rates = Vec::with_capacity(seen.len());
        let mut made_of = Vec::with_capacity(seen.len());
        for (node, made) in seen {
            let (h, c) = (made.history(), made.causal());
            let weight = history_weight(self.exposure_days, c, self.causal_cv2);
            let rate = blend(h, c, weight);
            if rate > 0.0 {
                rates.push((node, rate));
                made_of.push(RateParts::new(h, c, weight));
            }
        }
        (rates, made_of)
    }

    /// Every part's rates.
    pub fn rates(&self) -> Rates {
        let per_part = (0..self.net.parts.len()).into_par_iter().map(|p| self.part(p).0).collect();
        Rates { per_part, var: Vec::new() }
    }

    /// Every part's rates with what they were made of.
    pub fn estimate(&self) -> Estimate {
        let (per_part, parts) = (0..self.net.parts.len()).into_par_iter().map(|p| self.part(p)).unzip();
        Estimate {
            rates: Rates { per_part, var: Vec::new() },
            parts,
            causal_cv2: self.causal_cv2,
            exposure_days: self.exposure_days,
        }
    }

    /// Every rate's variance (`rate_variances`), part by part.
    pub fn variances(&self) -> Vec<Vec<f64>> {
        (0..self.net.parts.len())
            .into_par_iter()
            .map(|p| {
                let (rates, made_of) = self.part(p);
                rates
                    .iter()
                    .zip(&made_of)
                    .map(|(&(_, r), m)| posterior_variance(r, m, self.exposure_days))
                    .collect()
            })
            .collect()
    }
}

/// One part's terms of `causal_cv2`: (sum of (h - c)^2 - h / days, sum of c^2).
fn moments(seen: &[(u32, RateParts)], variance_days: f64) -> (f64, f64) {
    let (mut excess, mut scale) = (0.0, 0.0);
    for (_, made) in seen {
        let h = made.history();
        if let Some(c) = made.causal().filter(|c| *c > 0.0) {
            let d = h - c;
            excess += d * d - if variance_days > 0.0 { h / variance_days } else { 0.0 };
            scale += c * c;
        }
    }
    (excess, scale)
}

fn cv2_of(excess: f64, scale: f64) -> f64 {
    if scale > 0.0 {
        (excess / scale).max(MIN_CAUSAL_CV2)
    } else {
        MIN_CAUSAL_CV2
    }
}

/// The causal estimate's squared relative error, learned from the history (a backtest of the
/// causal estimate against the history of the same stations, by the method of moments): where
/// both exist, h - c has mean square cv2 x c^2 (the truth's spread about c) + E[h] / (its
/// `variance_days`) (the history's own Poisson noise), so cv2 = sum((h - c)^2 - h / days) /
/// sum(c^2), pooled over every station and part, and at least `MIN_CAUSAL_CV2`.
pub fn causal_cv2(seen: &[Vec<(u32, RateParts)>], variance_days: f64) -> f64 {
    let (excess, scale) =
        seen.iter().map(|p| moments(p, variance_days)).fold((0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1));
    cv2_of(excess, scale)
}

/// The posterior variance of a rate: rate / (T + 1/(cv2 c)), that is rate x weight / T (rate
/// / T without a causal rate).
fn posterior_variance(rate: f64, made: &RateParts, exposure_days: f64) -> f64 {
    if exposure_days > 0.0 {
        rate * made.weight() / exposure_days
    } else {
        0.0
    }
}

/// Every estimated rate's variance (`Rates::var`): the posterior's, rate / (T + 1/(cv2 c)),
/// that is rate x weight / T (rate / T without a causal rate).
pub fn rate_variances(e: &Estimate) -> Vec<Vec<f64>> {
    e.rates
        .per_part
        .iter()
        .zip(&e.parts)
        .map(|(rs, ps)| {
            rs.iter().zip(ps).map(|(&(_, r), m)| posterior_variance(r, m, e.exposure_days)).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_by_hand() {
        // two weeks: exposure 7 (1 + 0.98) = 13.86 days; the older week's 2 units count 1.96,
        // the last week's 1 counts 1: N = 2.96
        assert!((exposure_days(2) - 13.86).abs() < 1e-12);
        assert!((history_units(&[2, 1]) - 2.96).abs() < 1e-12);
        // the variance days: 13.86^2 / (7 (1 + 0.9604)) = 192.0996 / 13.7228 = 13.998
        assert!((variance_days(2) - 192.0996 / 13.7228).abs() < 1e-9);
        // no discount would make them both 14
        assert_eq!(exposure_days(0), 0.0);
        assert_eq!(history_units(&[]), 0.0);
    }

    #[test]
    fn the_posterior_and_its_variance_by_hand() {
        // history 0.2/day over T = 100 days (N = 20), causal 0.1/day, cv2 0.25: the prior
        // Gamma(4, 40 days) is worth 1 / (0.25 x 0.1) = 40 days; the posterior Gamma(24, 140):
        // rate 24/140 = 0.171429, variance 24/140^2 = 0.00122449; w = 100/140
        let w = history_weight(100.0, Some(0.1), 0.25);
        assert!((w - 100.0 / 140.0).abs() < 1e-12);
        let rate = blend(0.2, Some(0.1), w);
        assert!((rate - 24.0 / 140.0).abs() < 1e-12);
        let e = Estimate {
            rates: Rates { per_part: vec![vec![(5, rate), (6, 0.3)]], var: Vec::new() },
            parts: vec![vec![RateParts::new(0.2, Some(0.1), w), RateParts::new(0.3, None, 1.0)]],
            causal_cv2: 0.25,
            exposure_days: 100.0,
        };
        let v = rate_variances(&e);
        // (the weight kept in single precision)
        assert!((v[0][0] - 24.0 / 19600.0).abs() < 1e-9, "{v:?}");
        // history alone: Poisson noise of the history, 0.3 / 100
        assert!((v[0][1] - 0.003).abs() < 1e-15);
        // a pair never seen keeps nearly its causal rate when the causal rate is small: the
        // prior is worth 1 / (0.25 x 0.0001) = 40,000 days against 100
        let w = history_weight(100.0, Some(0.0001), 0.25);
        assert!((blend(0.0, Some(0.0001), w) - 0.0001 * 40000.0 / 40100.0).abs() < 1e-15);
        assert_eq!(history_weight(100.0, None, 0.25), 1.0);
        // a causal rate of zero (a model with no units in the region): the history decides
        assert_eq!(history_weight(100.0, Some(0.0), 0.25), 1.0);
        assert_eq!(blend(0.2, Some(0.0), history_weight(100.0, Some(0.0), 0.25)), 0.2);
    }

    #[test]
    fn the_causal_error_learned_by_hand() {
        // (h, c) = (0.3, 0.1) and (0.1, 0.1), variance days 100:
        // ((0.04 - 0.003) + (0 - 0.001)) / (0.01 + 0.01) = 1.8
        let made = |h, c| RateParts::new(h, c, 1.0);
        let seen = vec![vec![(5, made(0.3, Some(0.1))), (6, made(0.1, Some(0.1))), (7, made(0.5, None))]];
        assert!((causal_cv2(&seen, 100.0) - 1.8).abs() < 1e-5);
        // a pair whose causal rate is zero is not part of the backtest
        let seen =
            vec![vec![(5, made(0.3, Some(0.1))), (6, made(0.1, Some(0.1))), (8, made(0.4, Some(0.0)))]];
        assert!((causal_cv2(&seen, 100.0) - 1.8).abs() < 1e-5);
        // a history that agrees better than its noise allows: the floor
        let seen = vec![vec![(5, made(0.1, Some(0.1)))]];
        assert_eq!(causal_cv2(&seen, 100.0), MIN_CAUSAL_CV2);
    }

    #[test]
    fn the_estimator_by_hand() {
        // a warehouse, a centre, two stations in one region; one part
        let net = crate::planning::net::testing::one_centre(1, &[(1, 0), (1, 0)]);
        // two weeks: station 2 used 2 in the older week and 1 (in two lines) in the last;
        // station 3 nothing. The region's causal rate 0.2 a day, shared 3:1.
        let inputs = Inputs {
            weeks: 2,
            history: vec![vec![(2, 1, 1), (2, 0, 2), (2, 1, 0)]],
            causal: vec![vec![(0, 0.2)]],
            share: vec![0.0, 0.0, 0.75, 0.25],
        };
        let e = Estimator::new(&net, &inputs);
        // T = 13.86 days; station 2: N = 2 x 0.98 + 1 = 2.96, h = 2.96 / 13.86, c = 0.15;
        // station 3: h = 0, c = 0.05
        let t = 13.86;
        let (h2, c2, c3) = (2.96 / t, 0.15, 0.05);
        assert!((e.exposure_days - t).abs() < 1e-12);
        // the causal error: ((h2 - c2)^2 - h2 / V + (0 - c3)^2 - 0) / (c2^2 + c3^2), V = 13.998
        let v = variance_days(2);
        let cv2 = (((h2 - c2) * (h2 - c2) - h2 / v) + c3 * c3) / (c2 * c2 + c3 * c3);
        assert!((e.causal_cv2 - cv2.max(MIN_CAUSAL_CV2)).abs() < 1e-6, "{} {cv2}", e.causal_cv2);
        let (rates, made) = e.part(0);
        let post = |h: f64, c: f64| (h * t + 1.0 / e.causal_cv2) / (t + 1.0 / (e.causal_cv2 * c));
        assert_eq!(rates.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 3]);
        assert!((rates[0].1 - post(h2, c2)).abs() < 1e-6, "{rates:?}");
        assert!((rates[1].1 - post(0.0, c3)).abs() < 1e-6, "{rates:?}");
        assert!((made[0].history() - h2).abs() < 1e-6 && made[1].causal() == Some(0.05f32 as f64));
        // the whole estimate is the parts' estimates
        let all = e.estimate();
        assert_eq!(all.rates.per_part[0], rates);
    }
}
