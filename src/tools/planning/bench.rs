//! The policy comparison behind `echelon simulate --policy both` and `echelon bench planning`:
//! both policies on the same generated network and the same drawn demand, the baseline tuned
//! to the same *measured* fill (spec 15), and the cost-vs-fill curves (CSV and SVG).
//!
//! Each curve is the Pareto frontier of the policy's settings: the multi-echelon policy over
//! its target fill, the baseline over its service level and its stocking threshold (a part is
//! stocked at a location when it sells at least that many a year there), so the baseline gets
//! its best setting for every fill. The cost of a policy at a fill is read off its frontier:
//! the least average stock value among settings measured at that fill or above, interpolated
//! linearly between neighbouring frontier points.

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use super::simulate::{simulate, Demand, Outcome};
use echelon::planning::net::{Net, Plan, Rates};
use echelon::planning::policy::{self, Prepared, Target};

/// One simulated setting of a policy.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub policy: &'static str,
    /// the setting: `target=0.98` or `service=0.95 min_annual=1`
    pub setting: String,
    pub outcome: Outcome,
}

pub const ME_TARGETS: [f64; 12] =
    [0.85, 0.90, 0.93, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 0.997, 0.999];
pub const SERVICE_LEVELS: [f64; 6] = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999];
pub const MIN_ANNUAL: [f64; 10] = [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0];

/// Simulates every setting of both policies (two at a time, one per core).
pub fn sweep(
    net: &Net,
    rates: &Rates,
    demand: &Demand,
    warmup: u32,
    prepared: &Prepared,
    progress: &ProgressBar,
) -> Vec<Point> {
    type Setting<'a> = (&'static str, String, Box<dyn Fn() -> Plan + Sync + 'a>);
    let mut settings: Vec<Setting<'_>> = Vec::new();
    for t in ME_TARGETS {
        settings.push((
            "multi-echelon",
            format!("target={t}"),
            Box::new(move || prepared.plan(net, rates, Target { fill: Some(t), budget_minor: None })),
        ));
    }
    for s in SERVICE_LEVELS {
        for m in MIN_ANNUAL {
            settings.push((
                "baseline",
                format!("service={s} min_annual={m}"),
                Box::new(move || policy::baseline(net, rates, s, m)),
            ));
        }
    }
    progress.set_length(settings.len() as u64);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a thread pool");
    pool.install(|| {
        settings
            .par_iter()
            .map(|(name, setting, plan)| {
                let outcome = simulate(net, &plan(), demand, warmup, name);
                progress.inc(1);
                Point { policy: name, setting: setting.clone(), outcome }
            })
            .collect()
    })
}

/// The Pareto frontier of a policy's points: (fill, average stock value), by fill, each
/// cheaper than every point of higher fill.
pub fn frontier(points: &[Point], policy: &str) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.policy == policy)
        .map(|p| (p.outcome.station_fill, p.outcome.avg_stock_value))
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (f, c) in v {
        if out.last().is_none_or(|&(_, best)| c < best) {
            out.push((f, c));
        }
    }
    out.reverse();
    out
}

/// The least stock value that reaches `fill` on a frontier (linear between its points);
/// `None` beyond its best fill.
pub fn cost_at(frontier: &[(f64, f64)], fill: f64) -> Option<f64> {
    let i = frontier.iter().position(|&(f, _)| f >= fill)?;
    if i == 0 {
        return Some(frontier[0].1);
    }
    let (f0, c0) = frontier[i - 1];
    let (f1, c1) = frontier[i];
    Some(c0 + (c1 - c0) * (fill - f0) / (f1 - f0))
}

pub fn csv(points: &[Point]) -> String {
    let mut s = String::from(
        "policy,setting,station_fill,avg_stock_value,target_stock_value,backorder_days,mean_wait_days,turnover,on_time_delivery,demand_units,hq_direct_units,lateral_units\n",
    );
    for p in points {
        let o = &p.outcome;
        s.push_str(&format!(
            "{},{},{:.5},{:.0},{:.0},{:.0},{:.2},{:.2},{:.4},{},{},{}\n",
            p.policy,
            p.setting,
            o.station_fill,
            o.avg_stock_value,
            o.target_stock_value,
            o.backorder_days,
            o.mean_wait_days,
            o.turnover,
            o.on_time_delivery,
            o.demand_units,
            o.hq_direct_units,
            o.lateral_units
        ));
    }
    s
}

/// The two frontiers (and every simulated setting, faint) as an SVG chart.
pub fn svg(points: &[Point], title: &str) -> String {
    let (w, h, left, right, top, bottom) = (820.0, 520.0, 90.0, 30.0, 50.0, 60.0);
    // the region that matters: from 90 % (or the best fill below it, if no point reaches it)
    let best = points.iter().map(|p| p.outcome.station_fill).fold(0.0, f64::max);
    let x_min = ((best - 0.1).min(0.9) * 100.0).floor() / 100.0;
    let x_max = 1.0;
    let y_max = points
        .iter()
        .filter(|p| p.outcome.station_fill >= x_min)
        .map(|p| p.outcome.avg_stock_value)
        .fold(0.0, f64::max)
        * 1.05;
    let sx = |f: f64| left + (f - x_min) / (x_max - x_min) * (w - left - right);
    let sy = |v: f64| h - bottom - v / y_max.max(1.0) * (h - top - bottom);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">{title}</text>\n",
        w / 2.0
    );
    for i in 0..=5 {
        let v = y_max * i as f64 / 5.0;
        let y = sy(v);
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.1}M</text>\n",
            w - right,
            left - 6.0,
            y + 4.0,
            v / 1e6
        ));
    }
    let steps = ((x_max - x_min) * 100.0).round() as i32;
    let every = if steps > 20 { 5 } else { 1 };
    for i in (0..=steps).step_by(every) {
        let f = x_min + i as f64 / 100.0;
        let x = sx(f);
        s.push_str(&format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#eee\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{:.0}%</text>\n",
            h - bottom,
            h - bottom + 18.0,
            f * 100.0
        ));
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">measured station fill</text>\n\
         <text x=\"18\" y=\"{}\" transform=\"rotate(-90 18 {})\" text-anchor=\"middle\">average stock value (CNY, at cost)</text>\n",
        (left + w - right) / 2.0,
        h - 15.0,
        h / 2.0,
        h / 2.0
    ));
    for (policy, colour) in [("baseline", "#d62728"), ("multi-echelon", "#1f77b4")] {
        for p in points.iter().filter(|p| p.policy == policy && p.outcome.station_fill >= x_min) {
            s.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\" fill-opacity=\"0.3\"/>\n",
                sx(p.outcome.station_fill),
                sy(p.outcome.avg_stock_value)
            ));
        }
        let line: Vec<String> = frontier(points, policy)
            .into_iter()
            .filter(|(f, _)| *f >= x_min)
            .map(|(f, c)| format!("{:.1},{:.1}", sx(f), sy(c)))
            .collect();
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>\n",
            line.join(" ")
        ));
    }
    s.push_str(&format!(
        "<rect x=\"{}\" y=\"{}\" width=\"180\" height=\"44\" fill=\"white\" stroke=\"#999\"/>\n\
         <line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#d62728\" stroke-width=\"2.5\"/><text x=\"{}\" y=\"{}\">baseline (best setting)</text>\n\
         <line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#1f77b4\" stroke-width=\"2.5\"/><text x=\"{}\" y=\"{}\">multi-echelon</text>\n</svg>\n",
        left + 12.0, top + 8.0,
        left + 20.0, left + 45.0, top + 22.0, top + 22.0, left + 52.0, top + 26.0,
        left + 20.0, left + 45.0, top + 40.0, top + 40.0, left + 52.0, top + 44.0,
    ));
    s
}
