//! Seeded random draws shared by the generator and the simulator, and the planning inputs of
//! a generated network (what a database would give a run).

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};

use super::generate::{Synth, HISTORY_WEEKS};

pub fn rng(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r.set_word_pos(u128::from(index) << 20);
    r
}

pub fn lognormal(median: f64, sigma: f64) -> LogNormal<f64> {
    LogNormal::new(median.ln(), sigma).expect("a valid lognormal")
}

/// Draws a Poisson count (0 for a non-positive mean).
pub fn poisson(r: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map(|d| d.sample(r) as u64).unwrap_or(0)
}

/// Per-index generators: part `p`'s draws do not depend on how many other parts there are
/// or on the order in which threads run.
pub fn part_rng(seed: u64, stream: u64, p: usize) -> ChaCha8Rng {
    rng(seed, stream, p as u64)
}

/// Demand events of one part over `days` at the given station rates: (day, station node).
pub fn sample_events(r: &mut ChaCha8Rng, rates: &[(u32, f64)], days: u32) -> Vec<(u32, u32)> {
    let total: f64 = rates.iter().map(|x| x.1).sum();
    let n = poisson(r, total * days as f64);
    let mut cumulative = Vec::with_capacity(rates.len());
    let mut acc = 0.0;
    for &(_, rate) in rates {
        acc += rate;
        cumulative.push(acc);
    }
    (0..n)
        .map(|_| {
            let day = r.random_range(0..days);
            let x = r.random::<f64>() * total;
            let i = cumulative.partition_point(|&c| c <= x).min(rates.len() - 1);
            (day, rates[i].0)
        })
        .collect()
}

impl Synth {
    /// The planning inputs a database would give: history and the causal rates per region.
    pub fn demand_inputs(&self) -> echelon::planning::demand::Inputs {
        let mut causal: Vec<Vec<(u32, f64)>> = vec![Vec::new(); self.net.parts.len()];
        let mut ib: Vec<Vec<(u32, f64)>> = vec![Vec::new(); self.models.len()];
        for &(m, reg, units) in &self.installed {
            ib[m as usize].push((reg, units as f64));
        }
        for &(p, m, qty, ppm) in &self.compat {
            for &(reg, units) in &ib[m as usize] {
                causal[p as usize].push((reg, ppm as f64 / 1e6 * qty as f64 * units / 365.0));
            }
        }
        let share = echelon::planning::demand::shares(&self.net, &self.history);
        echelon::planning::demand::Inputs {
            weeks: HISTORY_WEEKS,
            history: self.history.clone(),
            causal,
            share,
        }
    }
}
