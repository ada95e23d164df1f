//! The maths of multi-echelon stock planning, as pure functions (no database, no HTTP):
//! expected backorders of a pipeline (Poisson, or negative binomial when its variance exceeds
//! its mean), the VARI-METRIC pipelines of a three-echelon tree (Sherbrooke, *Optimal
//! Inventory Modeling of Systems*, ch. 4-5; Graves 1985), and the greedy marginal analysis
//! that adds, one unit (or one small batch) at a time, the stock that buys the largest cut in
//! expected backorders *at the stations* per unit of money (see `greedy.rs`).
//!
//! Notation: a location with base stock `s` facing a pipeline of `X` units (on order from its
//! parent, or in repair) has `(X - s)+` backorders; EBO(s) = E[(X-s)+], VBO(s) = Var[(X-s)+],
//! and a unit demand arriving is filled from the shelf with probability P(X <= s-1).

/// The number of units due in to a location (its pipeline), as a mean and a variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pipe {
    pub mean: f64,
    pub var: f64,
}

impl Pipe {
    pub fn poisson(mean: f64) -> Pipe {
        Pipe { mean, var: mean }
    }
}

/// What a base-stock level leaves short, for a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Backorders {
    /// expected backorders E[(X-s)+]
    pub ebo: f64,
    /// variance of the backorders Var[(X-s)+]
    pub vbo: f64,
    /// fill rate: P(X <= s-1), the chance a demand finds a unit on the shelf
    pub fill: f64,
    /// P(X > s): the cut in expected backorders that one more unit buys, EBO(s) - EBO(s+1)
    pub tail: f64,
}

/// The pipeline's probability mass function, term by term, in log space (so a mean of
/// thousands does not underflow `exp(-mean)`): Poisson when the variance does not exceed the
/// mean, else the negative binomial with that mean and variance (VARI-METRIC).
struct Pmf {
    log_p: f64,
    k: f64,
    /// log of the ratio's constant factor: ln(mean) (Poisson) or ln(1-q) (negative binomial)
    log_factor: f64,
    /// negative binomial size r; 0 for Poisson
    r: f64,
}

impl Pmf {
    fn new(p: Pipe) -> Pmf {
        let mean = p.mean.max(0.0);
        if p.var > mean * (1.0 + 1e-9) && mean > 0.0 {
            // NB(r, q): mean = r(1-q)/q, var = r(1-q)/q^2, so q = mean/var, r = mean^2/(var-mean)
            let q = mean / p.var;
            let r = mean * mean / (p.var - mean);
            Pmf { log_p: r * q.ln(), k: 0.0, log_factor: (1.0 - q).ln(), r }
        } else {
            Pmf {
                log_p: -mean,
                k: 0.0,
                log_factor: if mean > 0.0 { mean.ln() } else { f64::NEG_INFINITY },
                r: 0.0,
            }
        }
    }

    /// P(X = k) for the current k, then moves to k+1.
    fn next(&mut self) -> f64 {
        let p = self.log_p.exp();
        let ratio = if self.r > 0.0 { (self.k + self.r).ln() } else { 0.0 };
        self.log_p += ratio + self.log_factor - (self.k + 1.0).ln();
        self.k += 1.0;
        p
    }
}

/// Backorders of base stock `s` facing pipeline `p`. O(s).
///
/// Uses EBO(0) = E[X], EBO(k+1) = EBO(k) - P(X > k), and for the second moment
/// G(k) = E[((X-k)+)^2]: G(0) = Var X + (E X)^2, G(k+1) = G(k) - 2 EBO(k) + P(X > k).
pub fn backorders(s: u32, p: Pipe) -> Backorders {
    let mean = p.mean.max(0.0);
    if mean == 0.0 {
        return Backorders { ebo: 0.0, vbo: 0.0, fill: if s > 0 { 1.0 } else { 0.0 }, tail: 0.0 };
    }
    let var = p.var.max(mean);
    let mut pmf = Pmf::new(Pipe { mean, var });
    if s == 0 {
        // nothing on the shelf: every unit in the pipeline is a backorder
        return Backorders { ebo: mean, vbo: var, fill: 0.0, tail: (1.0 - pmf.next()).max(0.0) };
    }
    let mut cdf = 0.0;
    let mut ebo = mean;
    let mut g = var + mean * mean;
    for _ in 0..s {
        cdf += pmf.next();
        let above = (1.0 - cdf).max(0.0);
        g -= 2.0 * ebo - above;
        ebo -= above;
        if above < 1e-15 {
            // the rest of the terms are zero to double precision
            return Backorders { ebo: 0.0, vbo: 0.0, fill: 1.0, tail: 0.0 };
        }
    }
    let fill = cdf.min(1.0);
    let tail = (1.0 - cdf - pmf.next()).max(0.0);
    let ebo = ebo.max(0.0);
    Backorders { ebo, vbo: (g - ebo * ebo).max(0.0), fill, tail }
}

/// Backorders of an (s, S) level, reorder point `reorder` and order-up-to `up_to`, facing
/// pipeline `p`: with unit demands the inventory position is uniform over reorder+1 ..= up_to
/// (Hadley and Whitin, *Analysis of Inventory Systems*, 1963, ch. 4), so the figures are the
/// average of the base-stock figures over those levels (the variance that of the mixture).
/// One-for-one base stock S is (S-1, S): exactly `backorders(S, p)`. "Order on demand"
/// (-1, 0) is `backorders(0, p)`. One pass, O(up_to).
pub fn backorders_between(reorder: i32, up_to: i32, p: Pipe) -> Backorders {
    let lo = (reorder + 1).max(0) as u32;
    let hi = (up_to.max(0) as u32).max(lo);
    if lo == hi {
        return backorders(hi, p);
    }
    let n = (hi - lo + 1) as f64;
    let mean = p.mean.max(0.0);
    if mean == 0.0 {
        let stocked = (lo..=hi).filter(|y| *y > 0).count() as f64;
        return Backorders { ebo: 0.0, vbo: 0.0, fill: stocked / n, tail: 0.0 };
    }
    let var = p.var.max(mean);
    let mut pmf = Pmf::new(Pipe { mean, var });
    // at level y: EBO(y), G(y) = E[((X-y)+)^2], P(X <= y-1)
    let (mut ebo, mut g, mut below) = (mean, var + mean * mean, 0.0);
    let (mut sum_ebo, mut sum_g, mut sum_fill, mut sum_tail) = (0.0, 0.0, 0.0, 0.0);
    for y in 0..=hi {
        let cdf = (below + pmf.next()).min(1.0);
        let above = (1.0 - cdf).max(0.0);
        if y >= lo {
            sum_ebo += ebo.max(0.0);
            sum_g += g.max(0.0);
            sum_fill += below;
            sum_tail += above;
        }
        g -= 2.0 * ebo - above;
        ebo -= above;
        below = cdf;
    }
    let ebo = sum_ebo / n;
    Backorders { ebo, vbo: (sum_g / n - ebo * ebo).max(0.0), fill: sum_fill / n, tail: sum_tail / n }
}

/// The pipeline of a location whose parent has backorders `up` (VARI-METRIC): its own transit
/// demand `rate * lead_days` (Poisson), plus its share `f = rate / parent_rate` of the parent's
/// backorders, which is binomial given them:
/// mean = rate*T + f*EBO, var = rate*T + f(1-f)*EBO + f^2*VBO.
pub fn child_pipe(rate: f64, lead_days: f64, parent_rate: f64, up: Backorders) -> Pipe {
    let transit = rate * lead_days;
    let f = if parent_rate > 0.0 { (rate / parent_rate).min(1.0) } else { 0.0 };
    Pipe { mean: transit + f * up.ebo, var: transit + f * (1.0 - f) * up.ebo + f * f * up.vbo }
}

/// A pipeline whose lead-time demand rests on an estimated rate of variance `rate_var`: the
/// demand over `lead_days` is Poisson given the true rate, so by the law of total variance
/// its variance grows by lead_days^2 x rate_var (a mixed Poisson, negative binomial when the
/// rate's error is Gamma), the mean unchanged; VARI-METRIC carries it on as a variance.
pub fn forecast_error(p: Pipe, lead_days: f64, rate_var: f64) -> Pipe {
    Pipe { mean: p.mean, var: p.var + lead_days * lead_days * rate_var.max(0.0) }
}

/// The smallest reorder point `s >= 0` with P(lead-time demand <= s) >= `service`: the
/// single-location rule of the baseline policy. Lead-time demand is Poisson with `mean` (or
/// negative binomial with `var` when larger, for lumpy slow movers).
pub fn reorder_point(mean: f64, var: f64, service: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let mut pmf = Pmf::new(Pipe { mean, var: var.max(mean) });
    let mut cdf = 0.0;
    let mut s = 0u32;
    loop {
        cdf += pmf.next();
        if cdf >= service || s > 1_000_000 {
            return s;
        }
        s += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn poisson_backorders_by_hand() {
        // X ~ Poisson(1): P0 = P1 = e^-1 = 0.367879, P2 = 0.183940.
        // EBO(0) = 1; EBO(1) = 1 - P(X>0) = 1 - 0.632121 = 0.367879;
        // EBO(2) = 0.367879 - P(X>1) = 0.367879 - 0.264241 = 0.103638.
        let b0 = backorders(0, Pipe::poisson(1.0));
        assert!(close(b0.ebo, 1.0, 1e-12) && close(b0.vbo, 1.0, 1e-12) && b0.fill == 0.0);
        assert!(close(b0.tail, 0.632121, 1e-6));
        let b1 = backorders(1, Pipe::poisson(1.0));
        assert!(close(b1.ebo, 0.367879, 1e-6), "{b1:?}");
        assert!(close(b1.fill, 0.367879, 1e-6));
        // E[((X-1)+)^2] = sum (k-1)^2 P(k) = E[X^2] - 2E[X] + 1 - P0 = 2 - 2 + 1 - 0.367879
        // = 0.632121; VBO = 0.632121 - 0.367879^2 = 0.496785
        assert!(close(b1.vbo, 0.496785, 1e-6), "{b1:?}");
        let b2 = backorders(2, Pipe::poisson(1.0));
        assert!(close(b2.ebo, 0.103638, 1e-6), "{b2:?}");
        assert!(close(b1.tail, b1.ebo - b2.ebo, 1e-12));
        assert!(close(b2.fill, 0.735759, 1e-6));
    }

    #[test]
    fn negative_binomial_backorders_by_hand() {
        // mean 1, var 2: q = 1/2, r = 1, a geometric: P(k) = (1/2)^(k+1).
        // EBO(1) = 1 - P(X>0) = 1 - 1/2 = 1/2; EBO(2) = 1/2 - P(X>1) = 1/2 - 1/4 = 1/4.
        let p = Pipe { mean: 1.0, var: 2.0 };
        assert!(close(backorders(1, p).ebo, 0.5, 1e-12));
        assert!(close(backorders(2, p).ebo, 0.25, 1e-12));
        assert!(close(backorders(2, p).fill, 0.75, 1e-12));
        // (X-1)+ is 0 w.p. 1/2, else geometric again (memoryless): E = 1/2 * 1 = 1/2,
        // E[sq] = 1/2 * (Var + mean^2) = 1/2 * 3 = 3/2, so VBO = 3/2 - 1/4 = 1.25
        assert!(close(backorders(1, p).vbo, 1.25, 1e-9), "{:?}", backorders(1, p));
    }

    #[test]
    fn large_means_do_not_underflow() {
        let b = backorders(1500, Pipe::poisson(1400.0));
        assert!(b.ebo > 0.0 && b.ebo < 1.0, "{b:?}");
        assert!(b.fill > 0.99);
        let b = backorders(0, Pipe::poisson(1400.0));
        assert!(close(b.ebo, 1400.0, 1e-9));
    }

    #[test]
    fn one_warehouse_two_stations_by_hand() {
        // A warehouse resupplied in 10 days, two stations 1 day from it, demands 0.1/day
        // and 0.3/day (warehouse demand 0.4/day). Warehouse base stock 4, stations 1 each.
        //
        // Warehouse pipeline: Poisson(0.4 * 10 = 4). P0..P4 = 0.018316, 0.073263, 0.146525,
        // 0.195367, 0.195367; cdf(3) = 0.433470, cdf(4) = 0.628837.
        // EBO_w(4) = 4 - [P(X>0)+P(X>1)+P(X>2)+P(X>3)] = 4 - (0.981684 + 0.908421
        //          + 0.761896 + 0.566530) = 4 - 3.218531 = 0.781469.
        let w = backorders(4, Pipe::poisson(4.0));
        assert!(close(w.ebo, 0.781469, 1e-5), "{w:?}");
        // METRIC splits the warehouse's backorders by demand share: station 1 gets 1/4,
        // station 2 3/4. Station 1 pipeline mean = 0.1 * 1 + 0.25 * 0.781469 = 0.295367;
        // station 2: 0.3 + 0.75 * 0.781469 = 0.886100.
        let p1 = child_pipe(0.1, 1.0, 0.4, w);
        let p2 = child_pipe(0.3, 1.0, 0.4, w);
        assert!(close(p1.mean, 0.295367, 1e-5) && close(p2.mean, 0.886100, 1e-5));
        // With Poisson pipelines (METRIC), EBO(1) = m - 1 + e^-m:
        // station 1: 0.295367 - 1 + e^-0.295367 (0.744259) = 0.039625
        // station 2: 0.886100 - 1 + e^-0.886100 (0.412260) = 0.298361
        let metric1 = backorders(1, Pipe::poisson(p1.mean));
        let metric2 = backorders(1, Pipe::poisson(p2.mean));
        assert!(close(metric1.ebo, 0.039625, 1e-5), "{metric1:?}");
        assert!(close(metric2.ebo, 0.298361, 1e-5), "{metric2:?}");
        // VARI-METRIC adds the variance of the warehouse's backorders, so each station's
        // pipeline is more variable than Poisson and its backorders at the same level larger.
        assert!(p1.var > p1.mean && p2.var > p2.mean);
        assert!(backorders(1, p1).ebo > metric1.ebo && backorders(1, p2).ebo > metric2.ebo);
        // The fill of station 2 with one unit: P(X = 0) = e^-0.886100 = 0.412260 (METRIC).
        assert!(close(metric2.fill, 0.412260, 1e-5));
    }

    #[test]
    fn an_s_s_level_averages_the_base_stock_levels_it_spans() {
        // Poisson(1): EBO(1) = 0.367879, EBO(2) = 0.103638; fill(1) = 0.367879, fill(2) = 0.735759.
        // (s, S) = (0, 2): positions 1 and 2 equally likely.
        let b = backorders_between(0, 2, Pipe::poisson(1.0));
        assert!(close(b.ebo, (0.367879 + 0.103638) / 2.0, 1e-6), "{b:?}");
        assert!(close(b.fill, (0.367879 + 0.735759) / 2.0, 1e-6), "{b:?}");
        // the mixture's variance: the mean of E[B^2] less the square of the mean EBO
        let (b1, b2) = (backorders(1, Pipe::poisson(1.0)), backorders(2, Pipe::poisson(1.0)));
        let m2 = (b1.vbo + b1.ebo * b1.ebo + b2.vbo + b2.ebo * b2.ebo) / 2.0;
        assert!(close(b.vbo, m2 - b.ebo * b.ebo, 1e-9), "{b:?}");
        // base stock S is (S-1, S); order on demand (-1, 0) holds nothing
        for (p, s) in [(Pipe::poisson(1.0), 2), (Pipe { mean: 1.0, var: 2.0 }, 1), (Pipe::poisson(40.0), 45)]
        {
            let (a, e) = (backorders_between(s - 1, s, p), backorders(s as u32, p));
            assert!(close(a.ebo, e.ebo, 1e-12) && close(a.fill, e.fill, 1e-12) && close(a.vbo, e.vbo, 1e-9));
        }
        assert_eq!(backorders_between(-1, 0, Pipe::poisson(3.0)), backorders(0, Pipe::poisson(3.0)));
        // the one-pass sum agrees with the levels computed one by one
        let p = Pipe { mean: 6.0, var: 9.0 };
        let by_hand: f64 = (4..=9).map(|y| backorders(y, p).ebo).sum::<f64>() / 6.0;
        assert!(close(backorders_between(3, 9, p).ebo, by_hand, 1e-12));
    }

    #[test]
    fn a_forecast_error_widens_the_pipeline_by_hand() {
        // a station 10 days out, its rate estimated at 0.133272/day with variance 0.00122407
        // (demand::tests): lead-time demand mean 1.33272, variance 1.33272 + 100 x 0.00122407
        // = 1.45513
        let p = forecast_error(Pipe::poisson(1.33272), 10.0, 0.00122407);
        assert!(close(p.mean, 1.33272, 1e-12) && close(p.var, 1.455127, 1e-6), "{p:?}");
        // a negative binomial: q = 1.33272 / 1.455127 = 0.915879, r = 1.33272^2 / 0.122407
        // = 14.5101; P(0) = q^r = exp(14.5101 x ln 0.915879) = exp(-1.275024) = 0.279424,
        // so EBO(1) = 1.33272 - (1 - 0.279424) = 0.612144, fill(1) = 0.279424; against the
        // Poisson's P(0) = e^-1.33272 = 0.263759: EBO(1) 0.596479. The unknown rate costs
        // backorders at the same level.
        let b = backorders(1, p);
        assert!(close(b.fill, 0.279424, 1e-5) && close(b.ebo, 0.612144, 1e-5), "{b:?}");
        let known = backorders(1, Pipe::poisson(1.33272));
        assert!(close(known.ebo, 0.596479, 1e-5), "{known:?}");
        // a rate known for sure changes nothing
        assert_eq!(forecast_error(Pipe::poisson(2.0), 5.0, 0.0), Pipe::poisson(2.0));
    }

    #[test]
    fn reorder_points_follow_the_service_level() {
        // Poisson(2): cdf 0.135335, 0.406006, 0.676676, 0.857123, 0.947347, 0.983436, 0.995466
        assert_eq!(reorder_point(2.0, 2.0, 0.5), 2);
        assert_eq!(reorder_point(2.0, 2.0, 0.95), 5);
        assert_eq!(reorder_point(2.0, 2.0, 0.98), 5);
        assert_eq!(reorder_point(2.0, 2.0, 0.99), 6);
        assert_eq!(reorder_point(0.0, 0.0, 0.99), 0);
        // a lumpier demand needs more
        assert!(reorder_point(2.0, 6.0, 0.95) > 5);
    }
}
