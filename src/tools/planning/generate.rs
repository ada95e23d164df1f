//! A reproducible synthetic network for benchmarks and simulation (`echelon seed generate`,
//! `echelon simulate`): one central warehouse, 30 regional centres, N stations over tiers A-D,
//! M parts over the RF/AC/WM lines with skewed costs and failure rates, product models sold
//! unevenly across regions (the installed base), lead times, lateral lanes, 26 weeks of demand
//! history and opening stock. Everything follows from the seed: the same seed gives the same
//! network, demand history and (in `simulate`) the same future demand, whether it is written
//! to a database (`seed::write_synth`) or kept in memory.
//!
//! Demand is causal: part p fails in a unit of model m at `failure(p, m)` a year; a region
//! holds `installed(m, r)` units; a station serves its `share` of its region; and each part
//! has a regional multiplier (lognormal, sd 0.4) that the causal estimate does not know and
//! the history reveals. Costs are lognormal (median 80.00, sd 1.1 in logs), failure rates
//! lognormal (median 1% a year, sd 1.6), model popularity lognormal (sd 1): a long tail of
//! slow, cheap-to-expensive parts and a head of fast movers, as in a real catalogue.

use rand::RngExt;
use rand_distr::Distribution;
use rayon::prelude::*;

use super::draws::{lognormal, part_rng, rng, sample_events};
use echelon::catalogue::PartCode;
use echelon::planning::net::{Kind, Net, Node, PartInfo, Rates};

/// (centre code suffix, city, region) of the 30 regional centres.
pub const CENTRES: [(&str, &str, &str); 30] = [
    ("HZ", "Hangzhou", "Zhejiang"),
    ("NB", "Ningbo", "Zhejiang"),
    ("SH", "Shanghai", "Shanghai"),
    ("NJ", "Nanjing", "Jiangsu"),
    ("SZ", "Suzhou", "Jiangsu"),
    ("HF", "Hefei", "Anhui"),
    ("FZ", "Fuzhou", "Fujian"),
    ("XM", "Xiamen", "Fujian"),
    ("NC", "Nanchang", "Jiangxi"),
    ("JN", "Jinan", "Shandong"),
    ("QD", "Qingdao", "Shandong"),
    ("ZZ", "Zhengzhou", "Henan"),
    ("WH", "Wuhan", "Hubei"),
    ("CS", "Changsha", "Hunan"),
    ("GZ", "Guangzhou", "Guangdong"),
    ("SN", "Shenzhen", "Guangdong"),
    ("NN", "Nanning", "Guangxi"),
    ("HK", "Haikou", "Hainan"),
    ("CD", "Chengdu", "Sichuan"),
    ("CQ", "Chongqing", "Chongqing"),
    ("GY", "Guiyang", "Guizhou"),
    ("KM", "Kunming", "Yunnan"),
    ("XA", "Xi'an", "Shaanxi"),
    ("LZ", "Lanzhou", "Gansu"),
    ("BJ", "Beijing", "Beijing"),
    ("TJ", "Tianjin", "Tianjin"),
    ("SJ", "Shijiazhuang", "Hebei"),
    ("TY", "Taiyuan", "Shanxi"),
    ("SY", "Shenyang", "Liaoning"),
    ("HB", "Harbin", "Heilongjiang"),
];

/// Product lines with their share of parts, model code prefix and part families.
/// (line, share of parts, model code prefix, families as (code, name))
type Line = (&'static str, f64, &'static str, &'static [(&'static str, &'static str)]);

const LINES: [Line; 3] = [
    (
        "RF",
        0.40,
        "BCD",
        &[
            ("CMP", "Compressor"),
            ("PCB", "Control board"),
            ("THS", "Thermostat"),
            ("FAN", "Evaporator fan"),
            ("DFH", "Defrost heater"),
            ("GSK", "Door gasket"),
            ("DRW", "Crisper drawer"),
            ("VLV", "Solenoid valve"),
        ],
    ),
    (
        "AC",
        0.35,
        "KFR",
        &[
            ("CMP", "Compressor"),
            ("PCB", "Control board"),
            ("BLW", "Fan motor"),
            ("CAP", "Capacitor"),
            ("SNS", "Sensor"),
            ("RMT", "Remote control"),
            ("VLV", "Reversing valve"),
            ("FLT", "Filter"),
        ],
    ),
    (
        "WM",
        0.25,
        "XQG",
        &[
            ("MTR", "Drive motor"),
            ("PCB", "Control board"),
            ("PMP", "Drain pump"),
            ("BRG", "Drum bearing"),
            ("BLT", "Belt"),
            ("DLK", "Door lock"),
            ("VLV", "Inlet valve"),
            ("SHK", "Shock absorber"),
        ],
    ),
];

/// Weeks of demand history generated.
pub const HISTORY_WEEKS: usize = 26;
/// Product units in service per station, on average.
pub const UNITS_PER_STATION: f64 = 200.0;

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub stations: usize,
    pub parts: usize,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub code: String,
    pub line: &'static str,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct PartMeta {
    pub code: PartCode,
    pub name: String,
    pub weight_grams: i32,
}

/// A generated network and everything the database or the simulator needs of it.
#[derive(Debug, Clone)]
pub struct Synth {
    pub net: Net,
    pub part_meta: Vec<PartMeta>,
    pub models: Vec<ModelInfo>,
    /// (part, model, qty per unit, failures per million unit-years)
    pub compat: Vec<(u32, u32, u32, i64)>,
    /// (model, region, units in service)
    pub installed: Vec<(u32, u32, u32)>,
    /// what the stations really consume, per day
    pub truth: Rates,
    /// per part: (station node, week, qty), weeks 0..HISTORY_WEEKS (the last is last week)
    pub history: Vec<Vec<(u32, u16, u32)>>,
    /// (part, node, qty) on the shelves at the start
    pub opening: Vec<(u32, u32, u32)>,
}

pub fn generate(spec: Spec) -> Synth {
    let mut r = rng(spec.seed, 1, 0);
    // --- the tree
    let mut nodes = vec![Node {
        code: "HQ".into(),
        kind: Kind::Hq,
        parent: None,
        lead_days: 0,
        tier: 0,
        may_order_from_hq: true,
        region: 0,
        db_id: 0,
    }];
    let mut regions: Vec<String> = Vec::new();
    for (code, _, region) in CENTRES {
        let idx = regions.iter().position(|x| x == region).unwrap_or_else(|| {
            regions.push(region.to_string());
            regions.len() - 1
        });
        nodes.push(Node {
            code: format!("RC-{code}"),
            kind: Kind::Centre,
            parent: Some(0),
            lead_days: r.random_range(2..=6),
            tier: 0,
            may_order_from_hq: true,
            region: idx as u32,
            db_id: 0,
        });
    }
    let centre_weight: Vec<f64> = (0..CENTRES.len()).map(|_| lognormal(1.0, 0.5).sample(&mut r)).collect();
    let cw_total: f64 = centre_weight.iter().sum();
    let mut per_centre: Vec<Vec<(u8, f64, u32)>> = vec![Vec::new(); CENTRES.len()];
    for _ in 0..spec.stations {
        let mut x = r.random::<f64>() * cw_total;
        let mut c = 0;
        while c + 1 < CENTRES.len() && x >= centre_weight[c] {
            x -= centre_weight[c];
            c += 1;
        }
        let u: f64 = r.random();
        let tier = if u < 0.10 {
            0
        } else if u < 0.35 {
            1
        } else if u < 0.70 {
            2
        } else {
            3
        };
        let size = [3.0, 1.8, 1.0, 0.6][tier as usize] * lognormal(1.0, 0.3).sample(&mut r);
        per_centre[c].push((tier, size, r.random_range(1..=3)));
    }
    let mut size = vec![0.0; 1 + CENTRES.len()];
    for (c, list) in per_centre.iter().enumerate() {
        let width = if list.len() > 999 { 4 } else { 3 };
        for (i, &(tier, s, lead)) in list.iter().enumerate() {
            nodes.push(Node {
                code: format!("ST-{}-{:0width$}", CENTRES[c].0, i + 1),
                kind: Kind::Station,
                parent: Some(c as u32 + 1),
                lead_days: lead,
                tier,
                may_order_from_hq: tier <= 1,
                region: nodes[c + 1].region,
                db_id: 0,
            });
            size.push(s);
        }
    }
    let n_centres = CENTRES.len();
    let lanes = (0..n_centres)
        .map(|c| {
            let next = (c + 1) % n_centres;
            let prev = (c + n_centres - 1) % n_centres;
            vec![(next as u32 + 1, r.random_range(1..=2)), (prev as u32 + 1, r.random_range(1..=3))]
        })
        .collect();
    // each station's share of its region
    let mut region_size = vec![0.0; regions.len()];
    for (n, node) in nodes.iter().enumerate().skip(1 + n_centres) {
        region_size[node.region as usize] += size[n];
    }
    let share: Vec<f64> = nodes
        .iter()
        .enumerate()
        .map(
            |(n, node)| {
                if node.kind == Kind::Station {
                    size[n] / region_size[node.region as usize]
                } else {
                    0.0
                }
            },
        )
        .collect();
    // --- models and where they sold
    let n_models = (spec.parts / 40).max(12);
    let mut models = Vec::new();
    let mut installed = Vec::new();
    let total_units = UNITS_PER_STATION * spec.stations as f64;
    let mut weights = Vec::new();
    for m in 0..n_models {
        let (line, _, prefix, _) = LINES[m % 3];
        models.push(ModelInfo {
            code: format!("{prefix}-G{:04}", m + 1),
            line,
            name: format!("{line} model {}", m + 1),
        });
        let pop = lognormal(1.0, 1.0).sample(&mut r);
        for (reg, rs) in region_size.iter().enumerate() {
            if r.random::<f64>() < 0.35 && *rs > 0.0 {
                weights.push((m as u32, reg as u32, pop * lognormal(1.0, 0.6).sample(&mut r) * rs));
            }
        }
    }
    let w_total: f64 = weights.iter().map(|w| w.2).sum();
    for (m, reg, w) in weights {
        let units = (total_units * w / w_total).round() as u32;
        if units > 0 {
            installed.push((m, reg, units));
        }
    }
    let mut ib_of_model: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_models];
    for &(m, reg, units) in &installed {
        ib_of_model[m as usize].push((reg, units as f64));
    }
    // --- parts
    let mut seq = std::collections::HashMap::<(&str, &str), u32>::new();
    let mut parts = Vec::new();
    let mut part_meta = Vec::new();
    let mut compat = Vec::new();
    let cost = lognormal(8000.0, 1.1);
    let failure = lognormal(0.01, 1.6);
    for p in 0..spec.parts {
        let u: f64 = r.random();
        let li = if u < LINES[0].1 {
            0
        } else if u < LINES[0].1 + LINES[1].1 {
            1
        } else {
            2
        };
        let (line, _, _, families) = LINES[li];
        let (family, fname) = families[r.random_range(0..families.len())];
        let next = seq.entry((line, family)).or_insert(0);
        let code = loop {
            *next += 1;
            if let Some(c) = PartCode::issue(line, family, *next) {
                break c;
            }
        };
        let unit_cost_minor = (cost.sample(&mut r).round() as i64).clamp(200, 500_000);
        parts.push(PartInfo {
            code: code.as_str().to_string(),
            unit_cost_minor,
            supplier_lead_days: r.random_range(14..=60),
            db_id: 0,
        });
        part_meta.push(PartMeta {
            code,
            name: format!("{fname} type {}", *next),
            weight_grams: r.random_range(50..5000),
        });
        let fits = r.random_range(1..=2);
        let mut chosen = Vec::new();
        for _ in 0..fits {
            let m = li + 3 * r.random_range(0..n_models.div_ceil(3));
            if m < n_models && !chosen.contains(&m) {
                chosen.push(m);
                let qty = if r.random::<f64>() < 0.1 { 2 } else { 1 };
                let ppm = (failure.sample(&mut r).clamp(1e-5, 0.5) * 1e6).round() as i64;
                compat.push((p as u32, m as u32, qty, ppm));
            }
        }
    }
    let net = Net { nodes, n_centres, regions, lanes, parts };
    // --- causal demand, the truth, history and opening stock, part by part
    let mut causal: Vec<Vec<(u32, f64)>> = vec![Vec::new(); spec.parts];
    for &(p, m, qty, ppm) in &compat {
        for &(reg, units) in &ib_of_model[m as usize] {
            causal[p as usize].push((reg, ppm as f64 / 1e6 * qty as f64 * units / 365.0));
        }
    }
    let stations_of_region: Vec<Vec<u32>> = {
        let mut v = vec![Vec::new(); net.regions.len()];
        for n in net.station_nodes() {
            v[net.nodes[n as usize].region as usize].push(n);
        }
        v
    };
    type Drawn = (Vec<(u32, f64)>, Vec<(u32, u16, u32)>);
    let per_part: Vec<Drawn> = (0..spec.parts)
        .into_par_iter()
        .map(|p| {
            let mut r = part_rng(spec.seed, 2, p);
            let mult = lognormal((-0.08f64).exp(), 0.4);
            let mut by_region = vec![0.0; net.regions.len()];
            for &(reg, rate) in &causal[p] {
                by_region[reg as usize] += rate;
            }
            let mut truth = Vec::new();
            for (reg, &rate) in by_region.iter().enumerate() {
                if rate > 0.0 {
                    let k = mult.sample(&mut r);
                    for &n in &stations_of_region[reg] {
                        truth.push((n, rate * k * share[n as usize]));
                    }
                }
            }
            truth.sort_unstable_by_key(|t| t.0);
            let history = sample_events(&mut r, &truth, HISTORY_WEEKS as u32 * 7)
                .into_iter()
                .map(|(day, n)| (n, (day / 7) as u16, 1))
                .collect();
            (truth, history)
        })
        .collect();
    let (truth, history): (Vec<_>, Vec<_>) = per_part.into_iter().unzip();
    let mut opening = Vec::new();
    for (p, t) in truth.iter().enumerate() {
        let mut centre = vec![0.0; net.n_centres];
        for &(n, rate) in t {
            centre[net.centre_of(n)] += rate;
            if rate * 365.0 >= 4.0 {
                opening.push((p as u32, n, ((rate * 21.0).round() as u32).max(1)));
            }
        }
        let hq: f64 = centre.iter().sum();
        for (c, rate) in centre.iter().enumerate() {
            let q = (rate * 10.0).round() as u32;
            if q > 0 {
                opening.push((p as u32, c as u32 + 1, q));
            }
        }
        let q = (hq * 30.0).round() as u32;
        if q > 0 {
            opening.push((p as u32, 0, q));
        }
    }
    Synth {
        net,
        part_meta,
        models,
        compat,
        installed,
        truth: Rates { per_part: truth, var: Vec::new() },
        history,
        opening,
    }
}
