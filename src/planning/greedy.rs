//! VARI-METRIC greedy marginal analysis for one part on the three-echelon tree (central
//! warehouse, regional centres, stations), as a pure function.
//!
//! Demand arises at the stations; a centre sees the sum of its stations' demand, the central
//! warehouse the sum of all. Every location runs one-for-one base stock. Starting from a
//! safe lower bound (upstream stock that every unit of which would cut backorders by nearly
//! one, see `start_level`), the greedy repeatedly adds the unit, or for a busy upstream
//! location a small batch of units, whose cut in the *expected backorders summed over the
//! stations* per unit of money is the largest, and records each step. Stations with demand
//! get candidates one unit at a time; a centre's or the warehouse's candidate is evaluated
//! through the pipelines of every station below it (`metric::child_pipe`).
//!
//! The recorded steps let the caller pick, across all parts, the best steps until a budget or
//! a target fill rate is met (`policy::select`): within a part the steps come in the order the
//! greedy took them.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::metric::{backorders, child_pipe, forecast_error, Backorders, Pipe};

/// One station's demand for the part.
#[derive(Debug, Clone, Copy)]
pub struct StationIn {
    /// index of its centre in `TreeIn::centre_lead`
    pub centre: u32,
    /// demand per day
    pub rate: f64,
    /// days from its centre
    pub lead: f64,
    /// the variance of the estimated rate (per day squared; 0: taken as known)
    pub rate_var: f64,
}

/// One part's tree: lead times and the stations' demand (stations without demand left out).
#[derive(Debug, Clone)]
pub struct TreeIn {
    /// days from the supplier to the central warehouse
    pub hq_lead: f64,
    /// days from the central warehouse to each centre
    pub centre_lead: Vec<f64>,
    pub stations: Vec<StationIn>,
    /// unit cost in minor units (> 0)
    pub unit_cost: f64,
}

/// Where a step put stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// the starting levels upstream (`Allocation::start_hq`, `start_centres`)
    Start,
    Hq,
    Centre(u32),
    /// index into `TreeIn::stations`
    Station(u32),
}

/// One step of a part's greedy. Every part's steps are kept until the global selection has
/// run (millions on a full network), so the place is packed in a `u32` and the figures are in
/// single precision: 16 bytes a step, not 32.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    place: u32,
    pub units: u32,
    /// cut in expected station backorders
    pub cut: f32,
    /// gain in this part's demand-weighted station fill rate (0..1)
    pub fill_gain: f32,
}

const PLACE_START: u32 = u32::MAX;
const PLACE_HQ: u32 = u32::MAX - 1;
const PLACE_STATION: u32 = 1 << 31;

impl Step {
    pub fn new(loc: Loc, units: u32, cut: f64, fill_gain: f64) -> Step {
        let place = match loc {
            Loc::Start => PLACE_START,
            Loc::Hq => PLACE_HQ,
            Loc::Centre(c) => c,
            Loc::Station(j) => PLACE_STATION | j,
        };
        Step { place, units, cut: cut as f32, fill_gain: fill_gain as f32 }
    }

    /// Where the step put stock.
    pub fn loc(&self) -> Loc {
        match self.place {
            PLACE_START => Loc::Start,
            PLACE_HQ => Loc::Hq,
            p if p & PLACE_STATION != 0 => Loc::Station(p & !PLACE_STATION),
            c => Loc::Centre(c),
        }
    }

    /// Cut in expected station backorders per unit of money.
    pub fn ratio(&self, unit_cost: f64) -> f64 {
        f64::from(self.cut) / (self.units.max(1) as f64 * unit_cost)
    }
}

#[derive(Debug, Clone)]
pub struct Allocation {
    pub start_hq: u32,
    pub start_centres: Vec<u32>,
    pub steps: Vec<Step>,
    /// expected station backorders with no stock anywhere
    pub ebo_empty: f64,
}

/// When to stop adding stock to one part.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// the part's station fill rate reached
    pub fill: f64,
    /// the best cut per unit of money fell below this
    pub min_ratio: f64,
    pub max_steps: usize,
}

/// The level below which every unit upstream cuts backorders by nearly one: mean - 4 sd of a
/// Poisson pipeline of `mean` (0 for small means).
pub fn start_level(mean: f64) -> u32 {
    (mean - 4.0 * mean.sqrt()).floor().max(0.0) as u32
}

/// Units an upstream candidate adds at once: about a third of the pipeline's standard
/// deviation, so a warehouse facing thousands of units is not walked one unit at a time.
fn batch(mean: f64) -> u32 {
    ((mean.sqrt() / 3.0).floor() as u32).max(1)
}

#[derive(Clone, Copy, Default)]
struct Term {
    ebo: f64,
    fill: f64,
}

struct Candidate {
    ratio: f64,
    loc: u32,
    version: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> Ordering {
        // largest ratio first; ties to the most upstream location (lowest id), for determinism
        self.ratio.total_cmp(&o.ratio).then_with(|| o.loc.cmp(&self.loc))
    }
}

/// The state of the greedy over one part's tree. Location ids: 0 the warehouse, 1..=C the
/// centres, C+1.. the stations.
struct Tree<'a> {
    t: &'a TreeIn,
    rate_c: Vec<f64>,
    rate_0: f64,
    /// the variance of the estimated rates, summed per centre and over the tree
    var_c: Vec<f64>,
    var_0: f64,
    s0: u32,
    sc: Vec<u32>,
    ss: Vec<u32>,
    k0: u32,
    kc: Vec<u32>,
    /// the warehouse's backorders now, and with its candidate batch added
    b0: Backorders,
    b0_up: Backorders,
    /// each centre's backorders now, with its candidate batch, and with the warehouse's
    bc: Vec<Backorders>,
    bc_up: Vec<Backorders>,
    bc_h: Vec<Backorders>,
    /// each station's backorders now
    cur: Vec<Backorders>,
    /// what each station contributes to its centre's candidate and to the warehouse's
    /// (cut in EBO, demand-weighted fill gain)
    dc: Vec<Term>,
    dh: Vec<Term>,
    sum_c: Vec<Term>,
    sum_h: Term,
    under: Vec<Vec<u32>>,
    version: Vec<u32>,
}

impl<'a> Tree<'a> {
    fn new(t: &'a TreeIn) -> Tree<'a> {
        let nc = t.centre_lead.len();
        let mut rate_c = vec![0.0; nc];
        let mut var_c = vec![0.0; nc];
        let mut under = vec![Vec::new(); nc];
        for (j, s) in t.stations.iter().enumerate() {
            rate_c[s.centre as usize] += s.rate;
            var_c[s.centre as usize] += s.rate_var;
            under[s.centre as usize].push(j as u32);
        }
        let rate_0 = rate_c.iter().sum();
        let var_0 = var_c.iter().sum();
        let n = t.stations.len();
        Tree {
            t,
            rate_c,
            rate_0,
            var_c,
            var_0,
            s0: 0,
            sc: vec![0; nc],
            ss: vec![0; n],
            k0: 1,
            kc: vec![1; nc],
            b0: Backorders::default(),
            b0_up: Backorders::default(),
            bc: vec![Backorders::default(); nc],
            bc_up: vec![Backorders::default(); nc],
            bc_h: vec![Backorders::default(); nc],
            cur: vec![Backorders::default(); n],
            dc: vec![Term::default(); n],
            dh: vec![Term::default(); n],
            sum_c: vec![Term::default(); nc],
            sum_h: Term::default(),
            under,
            version: vec![0; 1 + nc + n],
        }
    }

    fn nc(&self) -> usize {
        self.t.centre_lead.len()
    }

    fn pipe_0(&self) -> Pipe {
        forecast_error(Pipe::poisson(self.rate_0 * self.t.hq_lead), self.t.hq_lead, self.var_0)
    }

    fn pipe_c(&self, c: usize, up: Backorders) -> Pipe {
        let p = child_pipe(self.rate_c[c], self.t.centre_lead[c], self.rate_0, up);
        forecast_error(p, self.t.centre_lead[c], self.var_c[c])
    }

    fn pipe_s(&self, j: usize, up: Backorders) -> Pipe {
        let s = self.t.stations[j];
        forecast_error(child_pipe(s.rate, s.lead, self.rate_c[s.centre as usize], up), s.lead, s.rate_var)
    }

    /// The change a different upstream state would make at station j (cut, weighted gain).
    fn delta(&self, j: usize, up: Backorders) -> Term {
        if self.rate_c[self.t.stations[j].centre as usize] <= 0.0 {
            return Term::default();
        }
        let pipe = self.pipe_s(j, up);
        if self.ss[j] == 0 {
            // an empty shelf: its backorders are its pipeline, and it fills nothing either way
            return Term { ebo: self.cur[j].ebo - pipe.mean, fill: 0.0 };
        }
        let b = backorders(self.ss[j], pipe);
        Term { ebo: self.cur[j].ebo - b.ebo, fill: self.t.stations[j].rate * (b.fill - self.cur[j].fill) }
    }

    /// Recomputes a station's backorders and its contributions to its centre's and the
    /// warehouse's candidates, keeping the sums.
    fn refresh_station(&mut self, j: usize) {
        let c = self.t.stations[j].centre as usize;
        self.cur[j] = backorders(self.ss[j], self.pipe_s(j, self.bc[c]));
        let dc = self.delta(j, self.bc_up[c]);
        let dh = self.delta(j, self.bc_h[c]);
        self.sum_c[c].ebo += dc.ebo - self.dc[j].ebo;
        self.sum_c[c].fill += dc.fill - self.dc[j].fill;
        self.sum_h.ebo += dh.ebo - self.dh[j].ebo;
        self.sum_h.fill += dh.fill - self.dh[j].fill;
        self.dc[j] = dc;
        self.dh[j] = dh;
    }

    /// Recomputes a centre from the warehouse's state, then its stations.
    fn refresh_centre(&mut self, c: usize) {
        let p = self.pipe_c(c, self.b0);
        self.kc[c] = batch(p.mean);
        self.bc[c] = backorders(self.sc[c], p);
        self.bc_up[c] = backorders(self.sc[c] + self.kc[c], p);
        self.bc_h[c] = backorders(self.sc[c], self.pipe_c(c, self.b0_up));
        for i in 0..self.under[c].len() {
            let j = self.under[c][i] as usize;
            self.refresh_station(j);
        }
    }

    fn refresh_all(&mut self) {
        let p = self.pipe_0();
        self.k0 = batch(p.mean);
        self.b0 = backorders(self.s0, p);
        self.b0_up = backorders(self.s0 + self.k0, p);
        for c in 0..self.nc() {
            self.refresh_centre(c);
        }
        // rebuild the sums from scratch, so rounding does not accumulate
        self.sum_c.iter_mut().for_each(|t| *t = Term::default());
        self.sum_h = Term::default();
        for j in 0..self.t.stations.len() {
            let c = self.t.stations[j].centre as usize;
            self.sum_c[c].ebo += self.dc[j].ebo;
            self.sum_c[c].fill += self.dc[j].fill;
            self.sum_h.ebo += self.dh[j].ebo;
            self.sum_h.fill += self.dh[j].fill;
        }
    }

    fn ebo(&self) -> f64 {
        self.cur.iter().map(|b| b.ebo).sum()
    }

    /// The part's demand-weighted station fill rate.
    fn fill(&self) -> f64 {
        if self.rate_0 <= 0.0 {
            return 1.0;
        }
        self.cur.iter().zip(&self.t.stations).map(|(b, s)| b.fill * s.rate).sum::<f64>() / self.rate_0
    }

    /// The candidate at a location: (units, cut, weighted fill gain).
    fn candidate(&self, loc: u32) -> (u32, Term) {
        let nc = self.nc() as u32;
        if loc == 0 {
            (self.k0, self.sum_h)
        } else if loc <= nc {
            let c = (loc - 1) as usize;
            (self.kc[c], self.sum_c[c])
        } else {
            let j = (loc - 1 - nc) as usize;
            let b = self.cur[j];
            let gain = (1.0 - b.tail - b.fill).max(0.0) * self.t.stations[j].rate;
            (1, Term { ebo: b.tail, fill: gain })
        }
    }

    fn push(&mut self, heap: &mut BinaryHeap<Candidate>, loc: u32) {
        self.version[loc as usize] += 1;
        let (units, cut) = self.candidate(loc);
        let ratio = cut.ebo / (units as f64 * self.t.unit_cost);
        if ratio > 0.0 {
            heap.push(Candidate { ratio, loc, version: self.version[loc as usize] });
        }
    }

    fn push_all(&mut self, heap: &mut BinaryHeap<Candidate>) {
        heap.clear();
        for loc in 0..self.version.len() as u32 {
            self.push(heap, loc);
        }
    }
}

/// Runs the greedy on one part until `stop`; returns the start levels and the steps taken.
pub fn allocate(t: &TreeIn, stop: Stop) -> Allocation {
    let mut tree = Tree::new(t);
    let nc = tree.nc();
    tree.refresh_all();
    let ebo_empty = tree.ebo();
    let mut steps = Vec::new();
    // the safe start upstream: the warehouse at its transit demand's lower bound, each centre
    // at its own (the pipeline of a centre is at least its transit demand)
    let start_hq = start_level(tree.rate_0 * t.hq_lead);
    let start_centres: Vec<u32> = (0..nc).map(|c| start_level(tree.rate_c[c] * t.centre_lead[c])).collect();
    let start_units = start_hq + start_centres.iter().sum::<u32>();
    if start_units > 0 {
        let fill_before = tree.fill();
        tree.s0 = start_hq;
        tree.sc.clone_from(&start_centres);
        tree.refresh_all();
        steps.push(Step::new(Loc::Start, start_units, ebo_empty - tree.ebo(), tree.fill() - fill_before));
    }
    let mut heap = BinaryHeap::new();
    tree.push_all(&mut heap);
    let mut fill = tree.fill();
    while let Some(best) = heap.pop() {
        if steps.len() >= stop.max_steps || fill >= stop.fill || best.ratio < stop.min_ratio {
            break;
        }
        if best.version != tree.version[best.loc as usize] {
            continue;
        }
        let (units, cut) = tree.candidate(best.loc);
        let gain = if tree.rate_0 > 0.0 { cut.fill / tree.rate_0 } else { 0.0 };
        let loc = best.loc;
        if loc == 0 {
            tree.s0 += units;
            tree.refresh_all();
            tree.push_all(&mut heap);
            steps.push(Step::new(Loc::Hq, units, cut.ebo, gain));
        } else if loc as usize <= nc {
            let c = loc as usize - 1;
            tree.sc[c] += units;
            tree.refresh_centre(c);
            // the warehouse's candidate changed through this centre's stations (kept in sum_h)
            // and through the centre itself: recompute it whole
            tree.push(&mut heap, loc);
            for i in 0..tree.under[c].len() {
                let j = tree.under[c][i];
                tree.push(&mut heap, 1 + nc as u32 + j);
            }
            tree.push(&mut heap, 0);
            steps.push(Step::new(Loc::Centre(c as u32), units, cut.ebo, gain));
        } else {
            let j = loc as usize - 1 - nc;
            let c = t.stations[j].centre as usize;
            tree.ss[j] += 1;
            tree.refresh_station(j);
            tree.push(&mut heap, loc);
            tree.push(&mut heap, 1 + c as u32);
            tree.push(&mut heap, 0);
            steps.push(Step::new(Loc::Station(j as u32), 1, cut.ebo, gain));
        }
        fill += gain;
    }
    // kept until the global selection: without the slack of its doublings (a whole-network
    // run holds millions of steps at once)
    steps.shrink_to_fit();
    Allocation { start_hq, start_centres, steps, ebo_empty }
}

/// Levels after the first `n` steps: (warehouse, centres, stations).
pub fn levels_after(t: &TreeIn, a: &Allocation, n: usize) -> (u32, Vec<u32>, Vec<u32>) {
    let mut s0 = 0;
    let mut sc = vec![0; t.centre_lead.len()];
    let mut ss = vec![0; t.stations.len()];
    for step in a.steps.iter().take(n) {
        match step.loc() {
            Loc::Start => {
                s0 += a.start_hq;
                for (c, l) in a.start_centres.iter().enumerate() {
                    sc[c] += l;
                }
            }
            Loc::Hq => s0 += step.units,
            Loc::Centre(c) => sc[c as usize] += step.units,
            Loc::Station(j) => ss[j as usize] += step.units,
        }
    }
    (s0, sc, ss)
}

/// Expected station backorders and station fill of given levels (VARI-METRIC).
pub fn evaluate(t: &TreeIn, s0: u32, sc: &[u32], ss: &[u32]) -> (f64, f64) {
    let mut tree = Tree::new(t);
    tree.s0 = s0;
    tree.sc = sc.to_vec();
    tree.ss = ss.to_vec();
    tree.refresh_all();
    (tree.ebo(), tree.fill())
}

#[cfg(test)]
#[path = "greedy_tests.rs"]
mod tests;
