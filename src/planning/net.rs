//! The planning model of a network, in memory: the stocking locations as a tree (central
//! warehouse, regional centres, stations) with lead times on the edges, lateral lanes between
//! centres, the parts with their cost and supplier lead time, and daily demand per part per
//! station. It is built from the database (`store::load_net`) or straight from the synthetic
//! generator (`generate`), so the simulator and the benchmarks need no database.

/// The echelon of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hq,
    Centre,
    Station,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub code: String,
    pub kind: Kind,
    /// index of the parent node (the warehouse has none)
    pub parent: Option<u32>,
    /// days from the parent (for the warehouse: unused, see `PartInfo::supplier_lead_days`)
    pub lead_days: u32,
    /// station tier, 0..4 for A..D
    pub tier: u8,
    /// the station may be supplied straight from the central warehouse
    pub may_order_from_hq: bool,
    /// region index (`Net::regions`)
    pub region: u32,
    /// id in the database, 0 when the network lives in memory only
    pub db_id: i64,
}

#[derive(Debug, Clone)]
pub struct PartInfo {
    pub code: String,
    pub unit_cost_minor: i64,
    pub supplier_lead_days: u32,
    pub db_id: i64,
}

/// Nodes are ordered: the warehouse (0), the centres (1..=C), then the stations.
#[derive(Debug, Clone, Default)]
pub struct Net {
    pub nodes: Vec<Node>,
    pub n_centres: usize,
    pub regions: Vec<String>,
    /// per centre (by centre index, node - 1): neighbour centre nodes that may supply it
    /// laterally, in priority order, with the lane's lead time in days
    pub lanes: Vec<Vec<(u32, u32)>>,
    pub parts: Vec<PartInfo>,
}

impl Net {
    pub fn centre_nodes(&self) -> std::ops::Range<u32> {
        1..1 + self.n_centres as u32
    }

    pub fn station_nodes(&self) -> std::ops::Range<u32> {
        1 + self.n_centres as u32..self.nodes.len() as u32
    }

    pub fn n_stations(&self) -> usize {
        self.nodes.len() - 1 - self.n_centres
    }

    /// The centre index (0..C) of a centre node or of a station's centre.
    pub fn centre_of(&self, node: u32) -> usize {
        match self.nodes[node as usize].kind {
            Kind::Centre => node as usize - 1,
            Kind::Station => self.nodes[node as usize].parent.unwrap_or(1) as usize - 1,
            Kind::Hq => 0,
        }
    }
}

/// Daily demand per part, per station: for each part, `(station node, rate)` with rate > 0,
/// in node order.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    pub per_part: Vec<Vec<(u32, f64)>>,
    /// the variance of each estimated rate (per day squared), in `per_part`'s order: the
    /// planner's uncertainty about its own estimate (`demand::rate_variances`). Empty: the
    /// rates are taken as known (the default)
    pub var: Vec<Vec<f64>>,
}

impl Rates {
    /// Network-wide demand per day.
    pub fn total(&self) -> f64 {
        self.per_part.iter().flat_map(|v| v.iter().map(|(_, r)| r)).sum()
    }

    /// The variance of the j-th rate of a part (0 when taken as known).
    pub fn var_of(&self, part: usize, j: usize) -> f64 {
        self.var.get(part).and_then(|v| v.get(j)).copied().unwrap_or(0.0)
    }
}

/// One stocking decision: order when the inventory position (on hand + due in - backorders)
/// falls to `reorder` or below, up to `up_to`. One-for-one base stock S is (S-1, S);
/// "do not stock, order on demand" is (-1, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub node: u32,
    pub reorder: i32,
    pub up_to: i32,
}

/// A policy for the whole network: per part, the levels that differ from (-1, 0).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub levels: Vec<Vec<Level>>,
    /// the model's own estimate of station fill (multi-echelon only)
    pub expected_fill: Option<f64>,
}

impl Plan {
    /// Value of the order-up-to levels at cost, in minor units.
    pub fn value_minor(&self, net: &Net) -> i64 {
        self.levels
            .iter()
            .zip(&net.parts)
            .map(|(ls, p)| ls.iter().map(|l| l.up_to.max(0) as i64).sum::<i64>() * p.unit_cost_minor)
            .sum()
    }

    pub fn units(&self) -> i64 {
        self.levels.iter().flat_map(|ls| ls.iter().map(|l| l.up_to.max(0) as i64)).sum()
    }
}

/// Small networks for the planning maths' tests.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// A warehouse (its part's supplier 10 days away), one centre `centre_lead` days from it,
    /// and stations below the centre, each (lead days, tier); all in one region, one part "P"
    /// at 1.00. Node ids in the database from 10, in node order.
    pub fn one_centre(centre_lead: u32, stations: &[(u32, u8)]) -> Net {
        let node = |kind, parent, lead_days, tier, db_id| Node {
            code: format!("N{db_id}"),
            kind,
            parent,
            lead_days,
            tier,
            may_order_from_hq: false,
            region: 0,
            db_id,
        };
        let mut nodes = vec![node(Kind::Hq, None, 0, 0, 10), node(Kind::Centre, Some(0), centre_lead, 0, 11)];
        for (i, &(lead, tier)) in stations.iter().enumerate() {
            nodes.push(node(Kind::Station, Some(1), lead, tier, 12 + i as i64));
        }
        Net {
            nodes,
            n_centres: 1,
            regions: vec!["R".into()],
            lanes: vec![vec![]],
            parts: vec![PartInfo {
                code: "P".into(),
                unit_cost_minor: 100,
                supplier_lead_days: 10,
                db_id: 1,
            }],
        }
    }
}
