//! The two stocking policies, computed for a whole network:
//!
//! - `baseline`: every location on its own. Reorder point from its lead-time demand (Poisson)
//!   and a service level, order-up-to = reorder point + a week's demand (at least one); a part
//!   is stocked at a location only when its demand there is at least `min_annual` units a year,
//!   else ordered on demand.
//! - `multi_echelon`: base-stock levels for the whole tree chosen together. Each part's greedy
//!   (`greedy::allocate`, VARI-METRIC) records its steps; `select` then takes, across all
//!   parts, the steps with the largest cut in expected station backorders per unit of money
//!   until the target fill rate or the budget is met: the global greedy of Sherbrooke's
//!   system approach, computed part by part in parallel.

use std::collections::BinaryHeap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::greedy::{self, Allocation, StationIn, Stop, TreeIn};
use super::metric::reorder_point;
use super::net::{Level, Net, Plan, Rates};

// Which policy a run computes, stored as its word in `planning_runs.policy` (no doc comment:
// it would become the schema's description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, crate::validate::Validate)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// every location on its own: reorder point from lead-time demand and a service level
    Baseline,
    /// base-stock levels for the whole tree chosen together (VARI-METRIC)
    MultiEchelon,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 2] = [PolicyKind::Baseline, PolicyKind::MultiEchelon];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Baseline => "baseline",
            PolicyKind::MultiEchelon => "multi_echelon",
        }
    }

    pub fn parse(s: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::db::stored_as_text!(PolicyKind);

/// Told how many parts a multi-echelon computation plans and of each part done, from the
/// worker threads: the CLI draws a progress bar on it, the API tells no one (`Silent`).
pub trait Progress: Sync {
    fn start(&self, _parts: u64) {}
    fn advance(&self) {}
}

/// The progress nobody watches.
pub struct Silent;

impl Progress for Silent {}

/// Days of demand a baseline order covers beyond the reorder point.
pub const REVIEW_DAYS: f64 = 7.0;

/// The tree of one part for the greedy: stations with demand, lead times.
pub fn tree(net: &Net, rates: &Rates, part: usize) -> TreeIn {
    let centre_lead = net.centre_nodes().map(|c| net.nodes[c as usize].lead_days as f64).collect();
    let stations = rates.per_part[part]
        .iter()
        .enumerate()
        .map(|(j, &(node, rate))| StationIn {
            centre: net.centre_of(node) as u32,
            rate,
            lead: net.nodes[node as usize].lead_days as f64,
            rate_var: rates.var_of(part, j),
        })
        .collect();
    TreeIn {
        hq_lead: net.parts[part].supplier_lead_days as f64,
        centre_lead,
        stations,
        unit_cost: net.parts[part].unit_cost_minor.max(1) as f64,
    }
}

/// What the multi-echelon policy aims at.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// station fill rate over all demand (0..1)
    pub fill: Option<f64>,
    /// most money in stock, minor units
    pub budget_minor: Option<i64>,
}

/// Every part's greedy steps, ready for the global selection at any target below the fill
/// they were run to.
pub struct Prepared {
    pub allocations: Vec<Allocation>,
    pub demand: Vec<f64>,
    pub costs: Vec<f64>,
}

/// Runs every part's greedy (in parallel) until the part's station fill reaches `stop_fill`.
pub fn prepare(net: &Net, rates: &Rates, stop_fill: f64, progress: &dyn Progress) -> Prepared {
    let stop = Stop { fill: stop_fill, min_ratio: 0.0, max_steps: 200_000 };
    progress.start(net.parts.len() as u64);
    let allocations: Vec<Allocation> = (0..net.parts.len())
        .into_par_iter()
        .map(|p| {
            let a = greedy::allocate(&tree(net, rates, p), stop);
            progress.advance();
            a
        })
        .collect();
    let demand = rates.per_part.iter().map(|v| v.iter().map(|r| r.1).sum()).collect();
    let costs = net.parts.iter().map(|p| p.unit_cost_minor.max(1) as f64).collect();
    Prepared { allocations, demand, costs }
}

/// The fill each part's greedy runs to for a target: a third of the way from the target to 1.
pub fn stop_fill_for(target: Target) -> f64 {
    match target.fill {
        Some(f) => (1.0 - (1.0 - f) / 3.0).min(0.9999),
        None => 0.9999,
    }
}

/// The multi-echelon policy: every part's greedy, then the global selection.
pub fn multi_echelon(net: &Net, rates: &Rates, target: Target, progress: &dyn Progress) -> Plan {
    prepare(net, rates, stop_fill_for(target), progress).plan(net, rates, target)
}

impl Prepared {
    /// The levels of the steps the global selection takes for `target`.
    pub fn plan(&self, net: &Net, rates: &Rates, target: Target) -> Plan {
        let (taken, fill) = select(&self.allocations, &self.demand, &self.costs, target);
        let levels = (0..net.parts.len())
            .into_par_iter()
            .map(|p| {
                let t = tree(net, rates, p);
                let (s0, sc, ss) = greedy::levels_after(&t, &self.allocations[p], taken[p]);
                let mut out = Vec::new();
                let mut add = |node: u32, s: u32| {
                    if s > 0 {
                        out.push(Level { node, reorder: s as i32 - 1, up_to: s as i32 });
                    }
                };
                add(0, s0);
                for (c, &s) in sc.iter().enumerate() {
                    add(c as u32 + 1, s);
                }
                for (j, &s) in ss.iter().enumerate() {
                    add(rates.per_part[p][j].0, s);
                }
                out
            })
            .collect();
        Plan { levels, expected_fill: Some(fill) }
    }
}

/// The global greedy over the parts' recorded steps: steps in the order of their cut in
/// expected backorders per unit of money (within a part, never ahead of an earlier step: each
/// step ranks at the lowest ratio of the steps up to it), taken until the target fill or the
/// budget is met. Returns the number of steps taken per part and the model's fill.
pub fn select(
    allocations: &[Allocation],
    demand: &[f64],
    costs: &[f64],
    target: Target,
) -> (Vec<usize>, f64) {
    let total: f64 = demand.iter().sum();
    // Each part's ranks (the running minimum of its steps' ratios) never rise, so the global
    // order is a merge of the parts' sequences: a heap holds each part's next step, and no
    // list of every step is made (millions of them on a full network).
    let rank = |p: usize, i: usize, before: f64| before.min(allocations[p].steps[i].ratio(costs[p]));
    let mut next: BinaryHeap<Next> = allocations
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.steps.is_empty())
        .map(|(p, _)| Next { rank: rank(p, 0, f64::INFINITY), part: p as u32, step: 0 })
        .collect();
    let mut taken = vec![0usize; allocations.len()];
    let mut fill = 0.0;
    let mut spent = 0.0;
    while let Some(Next { rank: r, part, step }) = next.pop() {
        let (p, i) = (part as usize, step as usize);
        if target.fill.is_some_and(|f| fill >= f) {
            break;
        }
        if i + 1 < allocations[p].steps.len() {
            next.push(Next { rank: rank(p, i + 1, r), part, step: step + 1 });
        }
        let step = allocations[p].steps[i];
        let cost = step.units as f64 * costs[p];
        if target.budget_minor.is_some_and(|b| spent + cost > b as f64) {
            break;
        }
        spent += cost;
        if total > 0.0 {
            fill += f64::from(step.fill_gain) * demand[p] / total;
        }
        taken[p] = i + 1;
    }
    (taken, fill)
}

/// A part's next step in the global selection: the highest rank first, then the lowest part
/// (each part's steps come in their own order).
struct Next {
    rank: f64,
    part: u32,
    step: u32,
}

impl PartialEq for Next {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}

impl Eq for Next {}

impl PartialOrd for Next {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Next {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.rank.total_cmp(&o.rank).then(o.part.cmp(&self.part)).then(o.step.cmp(&self.step))
    }
}

/// The baseline: each location on its own, from its lead-time demand and a service level.
pub fn baseline(net: &Net, rates: &Rates, service: f64, min_annual: f64) -> Plan {
    let levels = (0..net.parts.len())
        .into_par_iter()
        .map(|p| {
            let mut centre_rate = vec![0.0; net.n_centres];
            for &(node, rate) in &rates.per_part[p] {
                centre_rate[net.centre_of(node)] += rate;
            }
            let hq_rate: f64 = centre_rate.iter().sum();
            let mut out = Vec::new();
            let mut add = |node: u32, rate: f64, lead: f64| {
                if rate * 365.0 < min_annual || rate <= 0.0 {
                    return;
                }
                let s = reorder_point(rate * lead, rate * lead, service) as i32;
                let q = ((rate * REVIEW_DAYS).round() as i32).max(1);
                out.push(Level { node, reorder: s, up_to: s + q });
            };
            add(0, hq_rate, net.parts[p].supplier_lead_days as f64);
            for c in net.centre_nodes() {
                add(c, centre_rate[c as usize - 1], net.nodes[c as usize].lead_days as f64);
            }
            for &(node, rate) in &rates.per_part[p] {
                add(node, rate, net.nodes[node as usize].lead_days as f64);
            }
            out
        })
        .collect();
    Plan { levels, expected_fill: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::greedy::{Loc, Step};

    #[test]
    fn policy_kinds_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<PolicyKind>();
    }

    fn alloc(steps: &[(f64, f64)]) -> Allocation {
        Allocation {
            start_hq: 0,
            start_centres: vec![],
            steps: steps.iter().map(|&(cut, fill_gain)| Step::new(Loc::Hq, 1, cut, fill_gain)).collect(),
            ebo_empty: 0.0,
        }
    }

    #[test]
    fn selection_takes_the_best_cut_per_money_across_parts() {
        // part A costs 1: cuts 0.9, 0.45 (ratios 0.9, 0.45); part B costs 2: cuts 1.0, 0.8
        // (ratios 0.5, 0.4). Equal demand, so each part's fill counts half.
        // Order: A0 (0.9), B0 (0.5), A1 (0.45), B1 (0.4).
        let a = [alloc(&[(0.9, 0.5), (0.45, 0.3)]), alloc(&[(1.0, 0.6), (0.8, 0.3)])];
        let (demand, costs) = ([1.0, 1.0], [1.0, 2.0]);
        // fill after A0: 0.25; after B0: 0.55 >= 0.5
        let (taken, fill) = select(&a, &demand, &costs, Target { fill: Some(0.5), budget_minor: None });
        assert_eq!(taken, vec![1, 1]);
        assert!((fill - 0.55).abs() < 1e-7);
        // 0.6 needs A1 too: 0.70
        let (taken, fill) = select(&a, &demand, &costs, Target { fill: Some(0.6), budget_minor: None });
        assert_eq!(taken, vec![2, 1]);
        assert!((fill - 0.70).abs() < 1e-7);
        // a budget of 3: A0 (1) and B0 (2); A1 would make 4
        let (taken, _) = select(&a, &demand, &costs, Target { fill: None, budget_minor: Some(3) });
        assert_eq!(taken, vec![1, 1]);
    }

    #[test]
    fn a_later_better_step_waits_behind_its_part_s_earlier_one() {
        // part C's second step has a better ratio than its first: it ranks at the first's
        let a = [alloc(&[(0.2, 0.1), (0.6, 0.5)]), alloc(&[(0.3, 0.2)])];
        let (taken, _) = select(&a, &[1.0, 1.0], &[1.0, 1.0], Target { fill: None, budget_minor: Some(1) });
        assert_eq!(taken, vec![0, 1]);
    }
}
