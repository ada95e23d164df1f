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

/// What `echelon simulate` runs (its command-line options).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// baseline, multi-echelon, or both (the baseline tuned to the same measured fill)
    #[arg(long, default_value = "both")]
    pub policy: String,
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// days simulated before measuring, so the pipelines fill
    #[arg(long, default_value_t = 90)]
    pub warmup: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 300)]
    pub stations: usize,
    #[arg(long, default_value_t = 2000)]
    pub parts: usize,
    /// the multi-echelon policy's target station fill rate
    #[arg(long, default_value_t = 0.98)]
    pub target_fill: f64,
    /// the baseline's service level (with --policy baseline)
    #[arg(long, default_value_t = 0.95)]
    pub service: f64,
    /// the baseline stocks a part at a location selling at least this many a year (with
    /// --policy baseline; `both` tunes it)
    #[arg(long, default_value_t = 1.0)]
    pub min_annual: f64,
    /// print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// the multi-echelon policy plans with the variance of its demand estimate
    #[arg(long)]
    pub forecast_error: bool,
}

#[derive(Serialize)]
struct SimReport {
    stations: usize,
    parts: usize,
    seed: u64,
    days: u32,
    warmup_days: u32,
    settings: Vec<String>,
    results: Vec<Outcome>,
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

/// The baseline tuned to a measured fill (spec 15): for each stocking threshold, the smallest
/// service level whose simulated fill reaches `fill` (bisection on the service level's
/// log-odds); of those, the one with the least average stock value.
pub fn tune_baseline(w: &World, fill: f64, warmup: u32) -> Option<(String, Outcome)> {
    use rayon::prelude::*;
    let net = &w.synth.net;
    let run =
        |s: f64, m: f64| simulate(net, &policy::baseline(net, &w.rates, s, m), &w.demand, warmup, "baseline");
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let inv = |x: f64| 1.0 / (1.0 + (-x).exp());
    THRESHOLDS
        .par_iter()
        .filter_map(|&m| {
            let (mut lo, mut hi) = (0.5f64, 0.9999f64);
            let mut best = run(hi, m);
            if best.fill_rate < fill {
                return None;
            }
            for _ in 0..7 {
                let mid = inv((logit(lo) + logit(hi)) / 2.0);
                let o = run(mid, m);
                if o.fill_rate >= fill {
                    hi = mid;
                    best = o;
                } else {
                    lo = mid;
                }
            }
            Some((format!("service={hi:.4} min_annual={m}"), best))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .min_by(|a, b| a.1.avg_stock_value.total_cmp(&b.1.avg_stock_value))
}

pub fn simulate_command(a: &SimArgs) -> Result<String, String> {
    if !matches!(a.policy.as_str(), "baseline" | "multi-echelon" | "both") {
        return Err(format!("--policy must be baseline, multi-echelon or both, not {:?}", a.policy));
    }
    if !(0.5..1.0).contains(&a.target_fill) || !(0.0..1.0).contains(&a.service) {
        return Err("--target-fill must be in [0.5, 1) and --service in (0, 1)".into());
    }
    let w = world(a.stations, a.parts, a.seed, a.days + a.warmup, a.json);
    let net = &w.synth.net;
    let mut settings = Vec::new();
    let mut results = Vec::new();
    if a.policy != "baseline" {
        let plan = if a.forecast_error {
            let inputs = w.synth.demand_inputs();
            let (mut rates, parts) = echelon::planning::demand::estimate_with_parts(net, &inputs);
            rates.var = echelon::planning::demand::rate_variances(&rates, &parts, inputs.weeks as f64 * 7.0);
            me_plan(net, &rates, a.target_fill, a.json)
        } else {
            me_plan(net, &w.rates, a.target_fill, a.json)
        };
        results.push(simulate(net, &plan, &w.demand, a.warmup, "multi-echelon"));
        settings.push(format!(
            "target={}{}",
            a.target_fill,
            if a.forecast_error { " forecast_error" } else { "" }
        ));
    }
    if a.policy == "baseline" {
        let plan = policy::baseline(net, &w.rates, a.service, a.min_annual);
        results.push(simulate(net, &plan, &w.demand, a.warmup, "baseline"));
        settings.push(format!("service={} min_annual={}", a.service, a.min_annual));
    }
    if a.policy == "both" {
        let fill = results[0].fill_rate;
        match tune_baseline(&w, fill, a.warmup) {
            Some((s, o)) => {
                settings.insert(0, s);
                results.insert(0, o);
            }
            None => return Err(format!("the baseline reaches no fill of {fill:.4} at any service level")),
        }
    }
    let report = SimReport {
        stations: a.stations,
        parts: a.parts,
        seed: a.seed,
        days: a.days,
        warmup_days: a.warmup,
        settings,
        results,
    };
    if a.json {
        return serde_json::to_string_pretty(&report).map_err(|e| e.to_string());
    }
    Ok(table(&report.settings, &report.results))
}

fn table(settings: &[String], results: &[Outcome]) -> String {
    let mut s = format!("{:<28}", "");
    for r in results {
        s.push_str(&format!("{:>28}", r.policy));
    }
    s.push('\n');
    let mut row = |label: &str, f: &dyn Fn(usize, &Outcome) -> String| {
        s.push_str(&format!("{label:<28}"));
        for (i, r) in results.iter().enumerate() {
            s.push_str(&format!("{:>28}", f(i, r)));
        }
        s.push('\n');
    };
    row("setting", &|i, _| settings[i].clone());
    row("demand (units)", &|_, r| r.demand_units.to_string());
    row("fill rate", &|_, r| format!("{:.2}%", r.fill_rate * 100.0));
    row("backorder days", &|_, r| format!("{:.0}", r.backorder_days));
    row("mean wait (days)", &|_, r| format!("{:.2}", r.mean_wait_days));
    row("average stock value", &|_, r| format!("{:.0}", r.avg_stock_value));
    row("average in transit", &|_, r| format!("{:.0}", r.avg_in_transit_value));
    row("turnover (per year)", &|_, r| format!("{:.2}", r.turnover));
    row("on-time delivery", &|_, r| format!("{:.2}%", r.on_time_delivery * 100.0));
    row("warehouse-direct units", &|_, r| r.hq_direct_units.to_string());
    row("lateral units", &|_, r| r.lateral_units.to_string());
    // the live KPIs' definitions (GET /api/v1/reports/kpis), see planning::sim_kpis
    let pct =
        |r: &echelon::reports::rules::Ratio| r.value.map_or("-".into(), |v| format!("{:.2}%", v * 100.0));
    row("KPI fill rate (units)", &|_, r| pct(&r.kpis.fill_rate.units));
    row("KPI fill rate (lines)", &|_, r| pct(&r.kpis.fill_rate.lines));
    row("KPI fill within lead time", &|_, r| pct(&r.kpis.fill_rate.units_within_lead_time));
    row("KPI stock-out rate", &|_, r| pct(&r.kpis.stock_out_rate));
    row("KPI on-time delivery", &|_, r| pct(&r.kpis.on_time_delivery));
    for (e, name) in ["warehouse", "centres", "stations"].iter().enumerate() {
        row(&format!("KPI turnover, {name}"), &|_, r| {
            r.kpis.stock[e].turnover.map_or("-".into(), |t| format!("{t:.2}"))
        });
    }
    if results.len() == 2 && results[0].avg_stock_value > 0.0 {
        let saving = 1.0 - results[1].avg_stock_value / results[0].avg_stock_value;
        s.push_str(&format!("\nstock value saved by {}: {:.1}%\n", results[1].policy, saving * 100.0));
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
            serde_json::json!({"fill": f, "baseline_value": b, "multi_echelon_value": m, "saving": saving}),
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
