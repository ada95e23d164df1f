//! What a run shows for review, as pure functions: for every (part, location) the run plans
//! (a level, demand, or stock on hand), the levels, the demand rate and what it blends, the
//! pipeline the location faces under those levels, and the expected backorders and fill they
//! give (`metric`, VARI-METRIC); and the run's figures per echelon and per station tier.
//!
//! The pipelines are those of the greedy (`greedy::Tree`): the warehouse faces Poisson demand
//! over the supplier's lead time, a centre its stations' demand over its lead time plus its
//! share of the warehouse's backorders, a station likewise below its centre (`child_pipe`).
//! A multi-echelon level is base stock S = (S-1, S) and its figures are `backorders(S, pipe)`;
//! a baseline level (s, S) is taken with its position uniform over s+1..=S
//! (`backorders_between`), an approximation upstream, where orders come in batches. A run
//! that plans with its forecast error (`forecast_error`) widens each pipeline by its lead
//! time squared x the variance of the rates behind it, as the greedy did.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::demand::RateParts;
use super::metric::{backorders_between, child_pipe, forecast_error, Backorders, Pipe};
use super::net::{Kind, Level, Net, Plan, Rates};

/// A location's echelon and, for a station, its tier: 0 the central warehouse, 1 a regional
/// centre, 2..=5 a station of tier A..D.
pub fn class_of(net: &Net, node: u32) -> u8 {
    let n = &net.nodes[node as usize];
    match n.kind {
        Kind::Hq => 0,
        Kind::Centre => 1,
        Kind::Station => 2 + n.tier.min(3),
    }
}

/// One (part, location) of a run, as stored (`planning_levels.levels`, a JSON array of
/// these arrays, one per location, in location id order). The rates and figures are kept in
/// single precision (7 significant digits): a run on a large network has millions of these,
/// and double precision took half again as much text as the rest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Entry(
    /// location id
    pub i64,
    /// `class_of` the location
    pub u8,
    /// reorder point
    pub i32,
    /// order-up-to level
    pub i32,
    /// on hand at the run
    pub i64,
    /// available (on hand less reserved) at the run
    pub i64,
    /// lead time in days from the location's supplier (the warehouse's: the part's supplier)
    pub u32,
    /// demand rate per day (a centre's or the warehouse's: the sum of its stations')
    pub f32,
    /// the history part of the rate per day (summed likewise)
    pub f32,
    /// the causal part per day (summed over the stations that have one; none: `null`)
    pub Option<f32>,
    /// pipeline mean
    pub f32,
    /// pipeline variance
    pub f32,
    /// expected backorders
    pub f32,
    /// expected fill: the chance a demand finds a unit on the shelf
    pub f32,
);

/// A stored figure as the API shows it: the double nearest the single's shortest decimal
/// (0.0626374, not 0.06263741105794907).
pub fn shown(x: f32) -> f64 {
    format!("{x}").parse().unwrap_or(x as f64)
}

impl Entry {
    pub fn location_id(&self) -> i64 {
        self.0
    }
    pub fn class(&self) -> u8 {
        self.1
    }
    pub fn reorder(&self) -> i32 {
        self.2
    }
    pub fn up_to(&self) -> i32 {
        self.3
    }
    pub fn on_hand(&self) -> i64 {
        self.4
    }
    pub fn available(&self) -> i64 {
        self.5
    }
    pub fn lead_days(&self) -> u32 {
        self.6
    }
    pub fn rate(&self) -> f64 {
        self.7.into()
    }
    pub fn history(&self) -> f64 {
        self.8.into()
    }
    pub fn causal(&self) -> Option<f64> {
        self.9.map(f64::from)
    }
    pub fn pipe(&self) -> Pipe {
        Pipe { mean: self.10.into(), var: self.11.into() }
    }
    pub fn ebo(&self) -> f64 {
        self.12.into()
    }
    pub fn fill(&self) -> f64 {
        self.13.into()
    }
}

/// One part's demand and levels as the run planned them.
pub struct PartPlan<'a> {
    pub part: usize,
    /// (station node, rate per day), rate > 0
    pub rates: &'a [(u32, f64)],
    /// what each rate blends, in the same order
    pub parts: &'a [RateParts],
    /// each rate's variance, in the same order (empty: the rates taken as known)
    pub rate_vars: &'a [f64],
    /// the levels that differ from (-1, 0)
    pub levels: &'a [Level],
    /// (node, on hand, available) where the part is held
    pub stock: &'a [(u32, i64, i64)],
}

/// The entries of one part for the nodes `covered` says are in the run's scope: every node
/// with a level, demand, or stock on hand. In location id order.
pub fn part_entries(net: &Net, p: &PartPlan<'_>, covered: &[bool]) -> Vec<Entry> {
    let n = net.nodes.len();
    let mut rate = vec![0.0; n];
    let mut history = vec![0.0; n];
    let mut causal: Vec<Option<f64>> = vec![None; n];
    let mut rate_var = vec![0.0; n];
    for (j, (&(node, r), made)) in p.rates.iter().zip(p.parts).enumerate() {
        let centre = net.nodes[node as usize].parent.unwrap_or(0) as usize;
        for at in [node as usize, centre, 0] {
            rate[at] += r;
            rate_var[at] += p.rate_vars.get(j).copied().unwrap_or(0.0);
            history[at] += made.history();
            if let Some(c) = made.causal() {
                *causal[at].get_or_insert(0.0) += c;
            }
        }
    }
    let mut level = vec![Level { node: 0, reorder: -1, up_to: 0 }; n];
    for l in p.levels {
        level[l.node as usize] = *l;
    }
    let mut stock = vec![(0i64, 0i64); n];
    for &(node, on_hand, available) in p.stock {
        stock[node as usize] = (on_hand, available);
    }
    let lead = |node: usize| -> u32 {
        if node == 0 {
            net.parts[p.part].supplier_lead_days
        } else {
            net.nodes[node].lead_days
        }
    };
    // the tree top-down: the warehouse, the centres, the stations (the nodes' order)
    let mut pipes = vec![Pipe { mean: 0.0, var: 0.0 }; n];
    let mut figures = vec![Backorders::default(); n];
    for node in 0..n {
        let pipe = match net.nodes[node].parent {
            None => Pipe::poisson(rate[0] * lead(0) as f64),
            Some(parent) => {
                let parent = parent as usize;
                child_pipe(rate[node], lead(node) as f64, rate[parent], figures[parent])
            }
        };
        let pipe = forecast_error(pipe, lead(node) as f64, rate_var[node]);
        pipes[node] = pipe;
        figures[node] = backorders_between(level[node].reorder, level[node].up_to, pipe);
    }
    let mut out: Vec<Entry> = (0..n)
        .filter(|&node| covered[node] && (level[node].up_to > 0 || rate[node] > 0.0 || stock[node].0 > 0))
        .map(|node| {
            let (l, f, pipe) = (level[node], figures[node], pipes[node]);
            Entry(
                net.nodes[node].db_id,
                class_of(net, node as u32),
                l.reorder,
                l.up_to,
                stock[node].0,
                stock[node].1,
                lead(node),
                rate[node] as f32,
                history[node] as f32,
                causal[node].map(|c| c as f32),
                pipe.mean as f32,
                pipe.var as f32,
                f.ebo as f32,
                f.fill as f32,
            )
        })
        .collect();
    out.sort_by_key(|e| e.location_id());
    out
}

/// The figures of a group of locations: demand, expected backorders, demand-weighted fill,
/// value of the order-up-to levels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// (part, location) pairs with an entry
    pub entries: u64,
    /// units a day
    pub rate: f64,
    pub ebo: f64,
    /// sum of rate x fill, so that fill = this / rate
    pub filled: f64,
    pub value_minor: i64,
}

impl Group {
    pub fn add(&mut self, e: &Entry, unit_cost_minor: i64) {
        self.entries += 1;
        self.rate += e.rate();
        self.ebo += e.ebo();
        self.filled += e.rate() * e.fill();
        self.value_minor += e.up_to().max(0) as i64 * unit_cost_minor;
    }

    /// The demand-weighted fill; none without demand.
    pub fn fill(&self) -> Option<f64> {
        (self.rate > 0.0).then(|| self.filled / self.rate)
    }
}

/// A run's figures: per class (`class_of`: the warehouse, the centres, the stations of tier
/// A..D), and how the run weighed history against causal rates. Stored as JSON with the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub classes: [Group; 6],
    /// a run made before the estimate's weights were per station: the one weight of the
    /// history in every station's rate
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_weight: Option<f64>,
    /// the causal estimate's squared relative error the run learned (`demand::causal_cv2`)
    #[serde(default)]
    pub causal_cv2: Option<f64>,
    /// the history's discounted days (`demand::exposure_days`)
    #[serde(default)]
    pub exposure_days: Option<f64>,
    /// the run planned with the variance of its own demand estimate
    #[serde(default)]
    pub forecast_error: bool,
}

impl Group {
    fn merge(&mut self, o: &Group) {
        self.entries += o.entries;
        self.rate += o.rate;
        self.ebo += o.ebo;
        self.filled += o.filled;
        self.value_minor += o.value_minor;
    }
}

impl Figures {
    /// Adds another part's (or chunk's) figures.
    pub fn merge(&mut self, o: &Figures) {
        for (a, b) in self.classes.iter_mut().zip(&o.classes) {
            a.merge(b);
        }
    }

    pub fn add(&mut self, e: &Entry, unit_cost_minor: i64) {
        self.classes[e.class().min(5) as usize].add(e, unit_cost_minor);
    }

    /// The groups of the three echelons: the warehouse, the centres, the stations.
    pub fn echelons(&self) -> [Group; 3] {
        let mut stations = Group::default();
        for g in &self.classes[2..] {
            stations.merge(g);
        }
        [self.classes[0], self.classes[1], stations]
    }
}

/// The model's figures for the stations of a whole plan: `part_entries` of every part with
/// the demand `rates` (and their variances, when the rates carry them), no stock, every node
/// covered, summed over the stations. Its `fill()` is the model's *station fill* of the
/// levels (immediate fill from the station's own shelf, by units, demand-weighted): for a
/// multi-echelon plan the greedy's `expected_fill`, for any other plan (a baseline's (s, S)
/// levels) what `metric` predicts for it. `echelon simulate` sets it beside the fill it
/// measures.
pub fn station_group(net: &Net, rates: &Rates, plan: &Plan) -> Group {
    let covered = vec![true; net.nodes.len()];
    (0..net.parts.len())
        .into_par_iter()
        .map(|part| {
            let demand = &rates.per_part[part];
            let made_of = vec![RateParts::default(); demand.len()];
            let p = PartPlan {
                part,
                rates: demand,
                parts: &made_of,
                rate_vars: rates.var.get(part).map_or(&[][..], Vec::as_slice),
                levels: plan.levels.get(part).map_or(&[][..], Vec::as_slice),
                stock: &[],
            };
            let mut f = Figures::default();
            for e in part_entries(net, &p, &covered) {
                f.add(&e, net.parts[part].unit_cost_minor);
            }
            f.echelons()[2]
        })
        .reduce(Group::default, |mut a, b| {
            a.merge(&b);
            a
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::greedy;
    use crate::planning::metric::backorders;
    use crate::planning::net::PartInfo;
    use crate::planning::policy;

    /// The worked case of `metric::tests::one_warehouse_two_stations_by_hand`: a warehouse 10
    /// days from its supplier, one centre (lead 0 days, no stock, so the stations see the
    /// warehouse through it), two stations 1 day away with 0.1 and 0.3 a day.
    fn net() -> Net {
        crate::planning::net::testing::one_centre(0, &[(1, 0), (1, 2), (1, 3)])
    }

    #[test]
    fn entries_follow_the_tree_and_agree_with_the_model() {
        let net = net();
        let rates = [(2, 0.1), (3, 0.3)];
        let parts = [RateParts::new(0.1, None, 1.0), RateParts::new(0.2, Some(0.5), 0.5)];
        let levels = [
            Level { node: 0, reorder: 3, up_to: 4 },
            Level { node: 2, reorder: 0, up_to: 1 },
            Level { node: 3, reorder: 0, up_to: 1 },
        ];
        // station 14 (node 4) holds a unit it has no demand for
        let stock = [(0, 6, 5), (4, 1, 1)];
        let plan = PartPlan {
            part: 0,
            rates: &rates,
            parts: &parts,
            rate_vars: &[],
            levels: &levels,
            stock: &stock,
        };
        let e = part_entries(&net, &plan, &[true; 5]);
        assert_eq!(e.iter().map(|e| e.location_id()).collect::<Vec<_>>(), vec![10, 11, 12, 13, 14]);
        // the warehouse: Poisson(0.4 x 10), base stock 4: EBO 0.781469 (by hand in metric.rs)
        assert!((e[0].ebo() - 0.781469).abs() < 1e-5, "{e:?}");
        assert_eq!((e[0].on_hand(), e[0].available(), e[0].lead_days()), (6, 5, 10));
        assert!((e[0].rate() - 0.4).abs() < 1e-7 && (e[0].history() - 0.3).abs() < 1e-7);
        assert_eq!(e[0].causal(), Some(0.5));
        // the empty centre passes the warehouse's backorders on whole: each station's pipeline
        // is its transit demand plus its share of them (0.295367 and 0.886100 in metric.rs)
        assert_eq!(e[1].up_to(), 0);
        assert_eq!(e[1].ebo(), e[1].pipe().mean);
        assert_eq!(shown(0.0626374), 0.0626374);
        assert!((e[2].pipe().mean - 0.295367).abs() < 1e-5 && (e[3].pipe().mean - 0.886100).abs() < 1e-5);
        // (to the single precision they are stored in)
        for x in &e {
            let b = backorders(x.up_to() as u32, x.pipe());
            assert!((x.ebo() - b.ebo).abs() < 1e-6 && (x.fill() - b.fill).abs() < 1e-6);
        }
        // a station with stock and no demand gets no level: the model counts nothing short
        // and nothing on its shelf (its unit is stock beyond the plan)
        assert_eq!(
            (e[4].rate(), e[4].ebo(), e[4].up_to(), e[4].on_hand(), e[4].class()),
            (0.0, 0.0, 0, 1, 5)
        );
        assert_eq!((e[2].class(), e[3].class()), (2, 4));
        // the station figures are the greedy's own evaluation of the same levels
        let r = crate::planning::net::Rates { per_part: vec![rates.to_vec()], var: Vec::new() };
        let tree = policy::tree(&net, &r, 0);
        let (ebo, fill) = greedy::evaluate(&tree, 4, &[0], &[1, 1]);
        let mut f = Figures::default();
        e.iter().for_each(|x| f.add(x, 100));
        let stations = f.echelons()[2];
        assert!((stations.ebo - ebo).abs() < 1e-6 && (stations.fill().unwrap() - fill).abs() < 1e-6);
        assert_eq!(f.echelons()[0].value_minor, 400);
        assert_eq!(stations.value_minor, 200);
        // out of scope: only the covered nodes
        let some = part_entries(&net, &plan, &[false, false, true, false, false]);
        assert_eq!(some.len(), 1);
        assert_eq!(some[0], e[2]);
        // planned with the rates' variance, every pipeline widens by its lead time squared x
        // the variance below it, and the figures are still the greedy's
        let vars = [0.001, 0.004];
        let wide = PartPlan { rate_vars: &vars, ..plan };
        let w = part_entries(&net, &wide, &[true; 5]);
        assert!((w[0].pipe().var - (4.0 + 100.0 * 0.005)).abs() < 1e-6, "{w:?}");
        assert!(w[2].pipe().var > e[2].pipe().var && w[3].pipe().var > e[3].pipe().var);
        let r = crate::planning::net::Rates { per_part: vec![rates.to_vec()], var: vec![vars.to_vec()] };
        let (ebo, fill) = greedy::evaluate(&policy::tree(&net, &r, 0), 4, &[0], &[1, 1]);
        let mut f = Figures::default();
        w.iter().for_each(|x| f.add(x, 100));
        let stations = f.echelons()[2];
        assert!((stations.ebo - ebo).abs() < 1e-6 && (stations.fill().unwrap() - fill).abs() < 1e-6);
    }

    #[test]
    fn a_plan_s_station_figures_are_the_model_s_over_every_part() {
        // the worked net, twice over: part 0 as above, part 1 (same tree) unstocked
        let mut net = net();
        net.parts.push(PartInfo { code: "Q".into(), unit_cost_minor: 50, supplier_lead_days: 10, db_id: 2 });
        let rates = crate::planning::net::Rates {
            per_part: vec![vec![(2, 0.1), (3, 0.3)], vec![(3, 0.2)]],
            var: Vec::new(),
        };
        let plan = Plan {
            levels: vec![
                vec![
                    Level { node: 0, reorder: 3, up_to: 4 },
                    Level { node: 2, reorder: 0, up_to: 1 },
                    Level { node: 3, reorder: 0, up_to: 1 },
                ],
                vec![],
            ],
            expected_fill: None,
        };
        let g = station_group(&net, &rates, &plan);
        let (_, fill0) = greedy::evaluate(&policy::tree(&net, &rates, 0), 4, &[0], &[1, 1]);
        // part 1 fills nothing: the station fill is part 0's weighted by its share of demand
        assert!((g.rate - 0.6).abs() < 1e-6, "{g:?}");
        assert!((g.fill().unwrap() - fill0 * 0.4 / 0.6).abs() < 1e-6, "{g:?}");
        assert_eq!(g.value_minor, 200);
        // a plan with no levels at all fills nothing; a network without demand has no fill
        assert_eq!(station_group(&net, &rates, &Plan::default()).fill(), Some(0.0));
        let none = crate::planning::net::Rates { per_part: vec![vec![], vec![]], var: Vec::new() };
        assert_eq!(station_group(&net, &none, &plan).fill(), None);
    }
}
