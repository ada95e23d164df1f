//! Hand-computed cases of the greedy (see `greedy.rs`).

use super::*;

/// One warehouse (modelled as the only centre; the central warehouse above it restocks at
/// once, so it never delays it) resupplied in 2 days, two stations 1 day away with demand
/// 0.1 and 0.4 a day, unit cost 1. Worked on paper (Poisson/negative binomial sums):
///
/// Empty: the warehouse pipeline is Poisson(0.5 * 2 = 1), EBO_w(0) = 1; stations hold
/// nothing, so their EBO is their pipeline: 0.1 + 0.2*1 and 0.4 + 0.8*1; total 1.5.
///
/// Step 1. Candidates: warehouse +1 cuts EBO_w from 1 to e^-1 = 0.367879, and with the
/// stations empty the whole cut reaches them: 0.632121. Station 1 +1 cuts P(X1 > 0) =
/// 1 - e^-0.3 = 0.259182; station 2 +1 cuts 1 - e^-1.2 = 0.698806. Station 2 wins.
///
/// Step 2. Station 2 again: P(X2 > 1) = 1 - e^-1.2 (1 + 1.2) = 0.337373. Station 1:
/// still 0.259182. Warehouse +1: station 1 gains 0.2 * 0.632121 = 0.126424; station 2
/// (one on the shelf) goes from Poisson(1.2), EBO(1) = 0.2 + e^-1.2 = 0.501194, to the
/// VARI-METRIC pipeline mean 0.4 + 0.8 e^-1 = 0.694304, variance 0.4 + 0.16 e^-1 +
/// 0.64 VBO_w(1) (0.496785) = 0.776803, a negative binomial with P(0) = 0.518894, so
/// EBO(1) = 0.694304 - (1 - 0.518894) = 0.213198: a cut of 0.287996. Warehouse total
/// 0.414421: the upstream unit wins, since its cut reaches both stations.
///
/// Step 3. Station 2 +1: P(X2 > 1) under that negative binomial = 0.159098; station 1 +1:
/// P(X1 > 0) = 0.157219; warehouse +1 (EBO_w 0.367879 -> 0.103638): 0.157318. Station 2.
#[test]
fn greedy_takes_the_largest_cut_in_station_backorders_per_unit_of_money() {
    let t = TreeIn {
        hq_lead: 0.0,
        centre_lead: vec![2.0],
        stations: vec![
            StationIn { centre: 0, rate: 0.1, lead: 1.0, rate_var: 0.0 },
            StationIn { centre: 0, rate: 0.4, lead: 1.0, rate_var: 0.0 },
        ],
        unit_cost: 1.0,
    };
    let a = allocate(&t, Stop { fill: 1.0, min_ratio: 0.0, max_steps: 3 });
    assert!((a.ebo_empty - 1.5).abs() < 1e-12);
    let locs: Vec<Loc> = a.steps.iter().map(|s| s.loc()).collect();
    assert_eq!(locs, vec![Loc::Station(1), Loc::Centre(0), Loc::Station(1)]);
    let cuts: Vec<f64> = a.steps.iter().map(|s| f64::from(s.cut)).collect();
    for (got, want) in cuts.iter().zip([0.698806, 0.414421, 0.159098]) {
        assert!((got - want).abs() < 1e-5, "{cuts:?}");
    }
    let (s0, sc, ss) = levels_after(&t, &a, 3);
    assert_eq!((s0, sc.clone(), ss.clone()), (0, vec![1], vec![0, 2]));
    let (ebo, _) = evaluate(&t, s0, &sc, &ss);
    assert!((ebo - (1.5 - 0.698806 - 0.414421 - 0.159098)).abs() < 1e-5, "{ebo}");
    // each step's fill gain adds up to the fill of the levels
    let (_, fill) = evaluate(&t, s0, &sc, &ss);
    let gained: f64 = a.steps.iter().map(|s| f64::from(s.fill_gain)).sum();
    // (the gains kept in single precision)
    assert!((fill - gained).abs() < 1e-7, "{fill} {gained}");
}

#[test]
fn a_dearer_part_waits_for_a_larger_cut() {
    // the same tree with cost 3 per unit: the same order (ratios all scale), and a floor
    // on the ratio stops it early
    let t = TreeIn {
        hq_lead: 0.0,
        centre_lead: vec![2.0],
        stations: vec![
            StationIn { centre: 0, rate: 0.1, lead: 1.0, rate_var: 0.0 },
            StationIn { centre: 0, rate: 0.4, lead: 1.0, rate_var: 0.0 },
        ],
        unit_cost: 3.0,
    };
    let a = allocate(&t, Stop { fill: 1.0, min_ratio: 0.1, max_steps: 100 });
    // ratios 0.2329, 0.1381, then 0.0530 < 0.1: two steps
    assert_eq!(a.steps.len(), 2);
    assert!((a.steps[0].ratio(3.0) - 0.698806 / 3.0).abs() < 1e-5);
}

#[test]
fn a_busy_warehouse_starts_at_its_safe_level() {
    // 20 a day for 30 days: pipeline 600; below 600 - 4*sqrt(600) = 502 every unit cuts
    // backorders by almost exactly one
    assert_eq!(start_level(600.0), 502);
    let t = TreeIn {
        hq_lead: 30.0,
        centre_lead: vec![3.0],
        stations: vec![StationIn { centre: 0, rate: 20.0, lead: 1.0, rate_var: 0.0 }],
        unit_cost: 10.0,
    };
    let a = allocate(&t, Stop { fill: 0.95, min_ratio: 0.0, max_steps: 10_000 });
    assert_eq!(a.steps[0].loc(), Loc::Start);
    assert_eq!(a.start_hq, 502);
    assert_eq!(a.start_centres, vec![start_level(60.0)]);
    assert!(f64::from(a.steps[0].cut) > 0.999 * a.steps[0].units as f64);
    let n = a.steps.len();
    let (s0, sc, ss) = levels_after(&t, &a, n);
    let (_, fill) = evaluate(&t, s0, &sc, &ss);
    assert!(fill >= 0.95, "{fill}");
}

#[test]
fn a_step_keeps_its_place_in_sixteen_bytes() {
    for loc in
        [Loc::Start, Loc::Hq, Loc::Centre(0), Loc::Centre(29), Loc::Station(0), Loc::Station(2_000_000)]
    {
        let s = Step::new(loc, 3, 0.25, 0.125);
        assert_eq!((s.loc(), s.units, s.cut, s.fill_gain), (loc, 3, 0.25, 0.125));
    }
    assert_eq!(std::mem::size_of::<Step>(), 16);
}
