//! The planning commands that need no database: `echelon simulate` and
//! `echelon bench planning`, on a network generated in memory from a seed.

use std::path::Path;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use super::bench::{self, Point};
use super::generate::{self, Spec, Synth};
use super::simulate::{simulate, Demand, Outcome};
use echelon::planning::net::{Plan, Rates};
use echelon::planning::policy::{self, Target};

/// indicatif's bar, told of the planning computation's parts (`policy::Progress`).
pub struct Bar(ProgressBar);

impl std::ops::Deref for Bar {
    type Target = ProgressBar;
    fn deref(&self) -> &ProgressBar {
        &self.0
    }
}

impl policy::Progress for Bar {
    fn start(&self, parts: u64) {
        self.0.set_length(parts);
    }
    fn advance(&self) {
        self.0.inc(1);
    }
}

pub fn progress(label: &str, hidden: bool) -> Bar {
    if hidden {
        return Bar(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(crate::tools::progress::style());
    bar.set_message(label.to_string());
    Bar(bar)
}

/// The most days a simulation measures, or warms up for: ten years (every day of demand is
/// held in memory).
pub const MAX_DAYS: i64 = 3650;

/// What `echelon simulate` runs (its command-line options).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// baseline, multi-echelon, or both (the baseline tuned to the same measured fill)
    #[arg(long, default_value = "both")]
    pub policy: String,
    /// days measured (at least one: a fill over no demand says nothing; at most ten years)
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=MAX_DAYS))]
    pub days: u32,
    /// days simulated before measuring, so the pipelines fill (at most ten years)
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=MAX_DAYS))]
    pub warmup: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 300, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub stations: usize,
    #[arg(long, default_value_t = 2000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub parts: usize,
    /// the multi-echelon policy's target station fill (immediate fill from the station's own
    /// shelf, by units)
    #[arg(long, default_value_t = 0.98)]
    pub target_fill: f64,
    /// the baseline's service level (with --policy baseline)
    #[arg(long, default_value_t = 0.95)]
    pub service: f64,
    /// the baseline stocks a part at a location selling at least this many a year (with
    /// --policy baseline; `both` tunes it)
    #[arg(long, default_value_t = 1.0)]
    pub min_annual: f64,
    /// the demand replayed: `true` (drawn at the generator's true rates, which the planner
    /// does not know), `estimated` (drawn at the planner's own estimated rates), or `both`
    /// (each policy replayed on each; the other figures are those on the true demand)
    #[arg(long, default_value = "true")]
    pub demand: String,
    /// print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// the multi-echelon policy plans with the variance of its demand estimate
    #[arg(long)]
    pub forecast_error: bool,
}

/// One policy's result: what the simulation measured (on `measured_on`'s demand), and the
/// station fill four ways, so that forecast error and model error are told apart.
#[derive(Serialize)]
struct PolicyResult {
    /// the demand the measured figures are of: `true` or `estimated`
    measured_on: &'static str,
    #[serde(flatten)]
    outcome: Outcome,
    /// the station fill the policy was asked for (multi-echelon with a target; else none)
    target_station_fill: Option<f64>,
    /// the station fill the model (`metric`, VARI-METRIC) predicts for the levels on the
    /// rates the policy planned with (their variance included with --forecast-error)
    model_station_fill: Option<f64>,
    /// the station fill measured replaying the true demand (--demand true or both)
    station_fill_on_true_demand: Option<f64>,
    /// the station fill measured replaying the planner's estimated demand (--demand
    /// estimated or both)
    station_fill_on_estimated_demand: Option<f64>,
    /// on estimated less on true demand: what the demand the planner did not know costs
    fill_forecast_error: Option<f64>,
    /// the model's less the measured on estimated demand: the model's own error
    fill_model_error: Option<f64>,
}

#[derive(Serialize)]
struct SimReport {
    stations: usize,
    parts: usize,
    seed: u64,
    days: u32,
    warmup_days: u32,
    /// `true`, `estimated` or `both`
    demand: String,
    settings: Vec<String>,
    results: Vec<PolicyResult>,
}

/// The generated network, its estimated demand and the drawn future demand.
pub struct World {
    pub synth: Synth,
    pub rates: Rates,
    pub demand: Demand,
}

pub fn world(stations: usize, parts: usize, seed: u64, days: u32, quiet: bool) -> World {
    let say = |s: &str| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    let t = Instant::now();
    say(&format!(
        "building a network of {stations} stations and {parts} parts (seed {seed}), {days} days of demand"
    ));
    let synth = generate::generate(Spec { stations, parts, seed });
    let rates = echelon::planning::demand::estimate(&synth.net, &synth.demand_inputs());
    let demand = Demand::draw(&synth.truth, days, seed);
    say(&format!(
        "network: 1 warehouse, {} centres, {} stations, {} parts; {:.0} units/day of demand; built in {:.1} s",
        synth.net.n_centres,
        synth.net.n_stations(),
        parts,
        synth.truth.total(),
        t.elapsed().as_secs_f64()
    ));
    World { synth, rates, demand }
}

fn me_plan(net: &echelon::planning::net::Net, rates: &Rates, target: f64, quiet: bool) -> Plan {
    let bar = progress("multi-echelon greedy", quiet);
    let plan = policy::multi_echelon(net, rates, Target { fill: Some(target), budget_minor: None }, &bar);
    bar.finish_and_clear();
    plan
}

/// Stocking thresholds (units a year) the tuning tries for the baseline.
pub const THRESHOLDS: [f64; 11] = [1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0];

/// The baseline tuned to a measured station fill on `demand` (spec 15): for each stocking
/// threshold, the smallest service level whose simulated fill reaches `fill` (bisection on the
/// service level's log-odds); of those, the one with the least average stock value. Returns
/// its setting, its outcome and its plan.
pub fn tune_baseline(w: &World, demand: &Demand, fill: f64, warmup: u32) -> Option<(String, Outcome, Plan)> {
    use rayon::prelude::*;
    let net = &w.synth.net;
    let run = |s: f64, m: f64| {
        let plan = policy::baseline(net, &w.rates, s, m);
        (simulate(net, &plan, demand, warmup, "baseline"), plan)
    };
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let inv = |x: f64| 1.0 / (1.0 + (-x).exp());
    THRESHOLDS
        .par_iter()
        .filter_map(|&m| {
            let (mut lo, mut hi) = (0.5f64, 0.9999f64);
            let mut best = run(hi, m);
            if best.0.station_fill < fill {
                return None;
            }
            for _ in 0..7 {
                let mid = inv((logit(lo) + logit(hi)) / 2.0);
                let o = run(mid, m);
                if o.0.station_fill >= fill {
                    hi = mid;
                    best = o;
                } else {
                    lo = mid;
                }
            }
            Some((format!("service={hi:.4} min_annual={m}"), best.0, best.1))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .min_by(|a, b| a.1.avg_stock_value.total_cmp(&b.1.avg_stock_value))
}

/// A policy planned: its name, setting, levels, the rates it planned with and its target.
struct Planned {
    name: &'static str,
    setting: String,
    plan: Plan,
    rates: Rates,
    target: Option<f64>,
    /// its outcome on the main demand, when the tuning already simulated it
    outcome: Option<Outcome>,
}

pub fn simulate_command(a: &SimArgs) -> Result<String, String> {
    if !matches!(a.policy.as_str(), "baseline" | "multi-echelon" | "both") {
        return Err(format!("--policy must be baseline, multi-echelon or both, not {:?}", a.policy));
    }
    if !matches!(a.demand.as_str(), "true" | "estimated" | "both") {
        return Err(format!("--demand must be true, estimated or both, not {:?}", a.demand));
    }
    let service_inside = a.service > 0.0 && a.service < 1.0;
    if !(0.5..1.0).contains(&a.target_fill) || !service_inside {
        return Err("--target-fill must be in [0.5, 1) and --service in (0, 1)".into());
    }
    let w = world(a.stations, a.parts, a.seed, a.days + a.warmup, a.json);
    let net = &w.synth.net;
    // the planner's own estimated rates, drawn from the same seed (so that the two demands
    // differ by the rates, not by the luck of the draw where the rates agree)
    let estimated = (a.demand != "true").then(|| Demand::draw(&w.rates, a.days + a.warmup, a.seed));
    // the demand the measured figures are of
    let (measured, measured_on) = match &estimated {
        Some(e) if a.demand == "estimated" => (e, "estimated"),
        _ => (&w.demand, "true"),
    };
    let mut planned: Vec<Planned> = Vec::new();
    if a.policy != "baseline" {
        let rates = if a.forecast_error {
            let inputs = w.synth.demand_inputs();
            let estimate = echelon::planning::demand::estimate_with_parts(net, &inputs);
            let var = echelon::planning::demand::rate_variances(&estimate);
            Rates { var, ..estimate.rates }
        } else {
            w.rates.clone()
        };
        let plan = me_plan(net, &rates, a.target_fill, a.json);
        planned.push(Planned {
            name: "multi-echelon",
            setting: format!(
                "target={}{}",
                a.target_fill,
                if a.forecast_error { " forecast_error" } else { "" }
            ),
            plan,
            rates,
            target: Some(a.target_fill),
            outcome: None,
        });
    }
    if a.policy == "baseline" {
        planned.push(Planned {
            name: "baseline",
            setting: format!("service={} min_annual={}", a.service, a.min_annual),
            plan: policy::baseline(net, &w.rates, a.service, a.min_annual),
            rates: w.rates.clone(),
            target: None,
            outcome: None,
        });
    }
    if a.policy == "both" {
        let me = simulate(net, &planned[0].plan, measured, a.warmup, planned[0].name);
        let fill = me.station_fill;
        planned[0].outcome = Some(me);
        match tune_baseline(&w, measured, fill, a.warmup) {
            Some((setting, outcome, plan)) => planned.insert(
                0,
                Planned {
                    name: "baseline",
                    setting,
                    plan,
                    rates: w.rates.clone(),
                    target: None,
                    outcome: Some(outcome),
                },
            ),
            None => return Err(format!("the baseline reaches no fill of {fill:.4} at any service level")),
        }
    }
    let mut settings = Vec::new();
    let mut results = Vec::new();
    for p in planned {
        let outcome = p.outcome.unwrap_or_else(|| simulate(net, &p.plan, measured, a.warmup, p.name));
        // with --demand both, the same levels replayed on the estimated demand too
        let (on_true, on_estimated) = match &estimated {
            Some(_) if measured_on == "estimated" => (None, Some(outcome.station_fill)),
            Some(e) => {
                (Some(outcome.station_fill), Some(simulate(net, &p.plan, e, a.warmup, p.name).station_fill))
            }
            None => (Some(outcome.station_fill), None),
        };
        let model = echelon::planning::review::station_group(net, &p.rates, &p.plan).fill();
        results.push(PolicyResult {
            measured_on,
            outcome,
            target_station_fill: p.target,
            model_station_fill: model,
            station_fill_on_true_demand: on_true,
            station_fill_on_estimated_demand: on_estimated,
            fill_forecast_error: on_true.zip(on_estimated).map(|(t, e)| e - t),
            fill_model_error: model.zip(on_estimated).map(|(m, e)| m - e),
        });
        settings.push(p.setting);
    }
    let report = SimReport {
        stations: a.stations,
        parts: a.parts,
        seed: a.seed,
        days: a.days,
        warmup_days: a.warmup,
        demand: a.demand.clone(),
        settings,
        results,
    };
    if a.json {
        return serde_json::to_string_pretty(&report).map_err(|e| e.to_string());
    }
    Ok(table(&report.settings, &report.results))
}

fn table(settings: &[String], results: &[PolicyResult]) -> String {
    let mut s = format!("{:<32}", "");
    for r in results {
        s.push_str(&format!("{:>28}", r.outcome.policy));
    }
    s.push('\n');
    let mut row = |label: &str, f: &dyn Fn(usize, &PolicyResult) -> String| {
        s.push_str(&format!("{label:<32}"));
        for (i, r) in results.iter().enumerate() {
            s.push_str(&format!("{:>28}", f(i, r)));
        }
        s.push('\n');
    };
    let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0));
    let points = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:+.2} points", v * 100.0));
    row("setting", &|i, _| settings[i].clone());
    row("value of the levels", &|_, r| format!("{:.0}", r.outcome.target_stock_value));
    // station fill: immediate fill from the station's own shelf, by units
    row("station fill: target", &|_, r| pct(r.target_station_fill));
    row("station fill: model", &|_, r| pct(r.model_station_fill));
    row("station fill: estimated demand", &|_, r| pct(r.station_fill_on_estimated_demand));
    row("station fill: true demand", &|_, r| pct(r.station_fill_on_true_demand));
    row("model error (model - est.)", &|_, r| points(r.fill_model_error));
    row("forecast error (est. - true)", &|_, r| points(r.fill_forecast_error));
    row("measured on demand", &|_, r| r.measured_on.to_string());
    row("demand (units)", &|_, r| r.outcome.demand_units.to_string());
    row("station fill", &|_, r| pct(Some(r.outcome.station_fill)));
    row("backorder days", &|_, r| format!("{:.0}", r.outcome.backorder_days));
    row("mean wait (days)", &|_, r| format!("{:.2}", r.outcome.mean_wait_days));
    row("average stock value", &|_, r| format!("{:.0}", r.outcome.avg_stock_value));
    row("average in transit", &|_, r| format!("{:.0}", r.outcome.avg_in_transit_value));
    row("turnover (per year)", &|_, r| format!("{:.2}", r.outcome.turnover));
    row("on-time delivery", &|_, r| pct(Some(r.outcome.on_time_delivery)));
    row("warehouse-direct units", &|_, r| r.outcome.hq_direct_units.to_string());
    row("lateral units", &|_, r| r.outcome.lateral_units.to_string());
    // the live KPI report's definitions (GET /api/v1/reports/kpis), see planning::sim_kpis:
    // its fill_rate is request fill, from the first-choice source (the station's centre)
    let ratio = |r: &echelon::reports::rules::Ratio| pct(r.value);
    row("KPI request fill (units)", &|_, r| ratio(&r.outcome.kpis.fill_rate.units));
    row("KPI request fill (lines)", &|_, r| ratio(&r.outcome.kpis.fill_rate.lines));
    row("KPI fill within lead time", &|_, r| ratio(&r.outcome.kpis.fill_rate.units_within_lead_time));
    row("KPI stock-out rate", &|_, r| ratio(&r.outcome.kpis.stock_out_rate));
    row("KPI on-time delivery", &|_, r| ratio(&r.outcome.kpis.on_time_delivery));
    for (e, name) in ["warehouse", "centres", "stations"].iter().enumerate() {
        row(&format!("KPI turnover, {name}"), &|_, r| {
            r.outcome.kpis.stock[e].turnover.map_or("-".into(), |t| format!("{t:.2}"))
        });
    }
    if results.len() == 2 && results[0].outcome.avg_stock_value > 0.0 {
        let saving = 1.0 - results[1].outcome.avg_stock_value / results[0].outcome.avg_stock_value;
        s.push_str(&format!(
            "\nstock value saved by {}: {:.1}%\n",
            results[1].outcome.policy,
            saving * 100.0
        ));
    }
    s
}

/// `echelon bench planning`: the sweep, written to `out` as points.csv, curves.svg and
/// summary.json; returns the summary as text.
pub fn bench_command(
    stations: usize,
    parts: usize,
    seed: u64,
    days: u32,
    warmup: u32,
    out: &Path,
) -> Result<String, String> {
    // the output folder first, so a path that cannot be written is said before minutes of work
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let w = world(stations, parts, seed, days + warmup, false);
    let net = &w.synth.net;
    let t = Instant::now();
    let bar = progress("multi-echelon greedy", false);
    let prepared = policy::prepare(net, &w.rates, 0.9999, &bar);
    bar.finish_and_clear();
    let greedy_secs = t.elapsed().as_secs_f64();
    let bar = progress("simulations", false);
    let points: Vec<Point> = bench::sweep(net, &w.rates, &w.demand, warmup, &prepared, &bar);
    bar.finish_and_clear();
    let write = |name: &str, body: String| {
        let path = out.join(name);
        std::fs::write(&path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("points.csv", bench::csv(&points))?;
    let title =
        format!("{stations} stations, {parts} parts, seed {seed}: stock value vs station fill ({days} days)");
    write("curves.svg", bench::svg(&points, &title))?;
    let base = bench::frontier(&points, "baseline");
    let me = bench::frontier(&points, "multi-echelon");
    let mut text = format!(
        "{stations} stations x {parts} parts, seed {seed}, {days} days after {warmup} warm-up; greedy for all parts {greedy_secs:.1} s\n\
         fill   baseline value   multi-echelon value   saving\n"
    );
    let mut summary = Vec::new();
    for f in [0.95, 0.98, 0.99] {
        let (b, m) = (bench::cost_at(&base, f), bench::cost_at(&me, f));
        let saving = match (b, m) {
            (Some(b), Some(m)) if b > 0.0 => Some(1.0 - m / b),
            _ => None,
        };
        let show = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "not reached".into());
        text.push_str(&format!(
            "{:>4.0}%   {:>14}   {:>19}   {}\n",
            f * 100.0,
            show(b),
            show(m),
            saving.map(|s| format!("{:.1}%", s * 100.0)).unwrap_or_else(|| "-".into())
        ));
        summary.push(
            serde_json::json!({"station_fill": f, "baseline_value": b, "multi_echelon_value": m, "saving": saving}),
        );
    }
    write(
        "summary.json",
        serde_json::to_string_pretty(&serde_json::json!({
            "stations": stations, "parts": parts, "seed": seed, "days": days, "warmup_days": warmup,
            "greedy_seconds": greedy_secs, "at_fill": summary,
            "baseline_frontier": base, "multi_echelon_frontier": me,
        }))
        .map_err(|e| e.to_string())?,
    )?;
    for name in ["points.csv", "curves.svg", "summary.json"] {
        text.push_str(&format!("written: {}\n", out.join(name).display()));
    }
    Ok(text)
}
