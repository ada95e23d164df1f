//! The live KPIs (`GET /api/v1/reports/kpis`, `reports::kpis`) counted in the simulator, with
//! the same names and definitions, so that a policy's simulated figures and the live ones
//! compare. A station's reorder in the simulator is a parts-request line; its first-choice
//! source is the station's own centre, as the requests service routes it.
//!
//! - `fill_rate.units` (*request fill*, not the simulator's `station_fill`): units ordered by
//!   stations that the first-choice source had on its shelf at order time, of the units
//!   ordered; `lines`: orders filled wholly from it.
//! - `fill_rate.units_within_lead_time`: units that reached the station within the lane's lead
//!   time from the order, of the units ordered.
//! - `stock_out_rate`: (part, first-choice source, day) triples with station orders where the
//!   source had nothing, of the triples with orders.
//! - `on_time_delivery`: shipments that arrived by their `deliver_by` (shipping day + the
//!   lane's lead time). The simulator's transit is the lane's lead time, so only the live
//!   figure can fall below 1; it is reported for the comparison.
//! - `stock`: per echelon, the average value on the shelves and what left it towards the
//!   customer at cost (shipments out of the warehouse and centres, consumption out of stations),
//!   and turnover = outflow / average value over the measured period (not annualised), as live.
//!   The live report averages the values at the start and at the end; the simulator averages
//!   every day.
//!
//! Not simulated: repair cycle time (the simulator has no tickets, only demand).

use std::collections::HashMap;

use serde::Serialize;

use echelon::reports::rules::{turnover, Ratio};

#[derive(Debug, Clone, Serialize)]
pub struct FillRate {
    pub units: Ratio,
    pub lines: Ratio,
    pub units_within_lead_time: Ratio,
}

#[derive(Debug, Clone, Serialize)]
pub struct EchelonStock {
    pub echelon: &'static str,
    /// at cost, in minor units
    pub average_value_minor: i64,
    pub outflow_minor: i64,
    pub turnover: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimKpis {
    pub fill_rate: FillRate,
    pub stock_out_rate: Ratio,
    pub on_time_delivery: Ratio,
    pub stock: Vec<EchelonStock>,
}

/// Counts kept while measuring. Echelons are indexed 0 warehouse, 1 centre, 2 station.
#[derive(Default)]
pub struct Counters {
    pub ordered_units: i64,
    pub first_units: i64,
    pub lines: i64,
    pub first_lines: i64,
    pub within_lead_units: i64,
    /// (day, part, source) -> the source had nothing for an order that day
    pub triples: HashMap<(u32, u32, u32), bool>,
    pub shipments: i64,
    pub on_time_shipments: i64,
    pub outflow: [f64; 3],
    pub value_days: [f64; 3],
    pub days: u32,
}

impl Counters {
    /// A station's order of `qty`, of which `first` came from the first-choice source's shelf.
    pub fn order(&mut self, day: u32, part: u32, source: u32, qty: i64, first: i64) {
        self.ordered_units += qty;
        self.first_units += first;
        self.lines += 1;
        self.first_lines += i64::from(first >= qty);
        *self.triples.entry((day, part, source)).or_default() |= first == 0;
    }

    pub fn kpis(&self) -> SimKpis {
        let stocked_out = self.triples.values().filter(|s| **s).count() as i64;
        let days = f64::from(self.days.max(1));
        let stock = ["central_warehouse", "regional_centre", "station"]
            .iter()
            .enumerate()
            .map(|(k, &echelon)| {
                let average = (self.value_days[k] / days * 100.0).round() as i64;
                let outflow = (self.outflow[k] * 100.0).round() as i64;
                EchelonStock {
                    echelon,
                    average_value_minor: average,
                    outflow_minor: outflow,
                    turnover: turnover(outflow, average),
                }
            })
            .collect();
        SimKpis {
            fill_rate: FillRate {
                units: Ratio::new(self.first_units, self.ordered_units),
                lines: Ratio::new(self.first_lines, self.lines),
                units_within_lead_time: Ratio::new(self.within_lead_units, self.ordered_units),
            },
            stock_out_rate: Ratio::new(stocked_out, self.triples.len() as i64),
            on_time_delivery: Ratio::new(self.on_time_shipments, self.shipments),
            stock,
        }
    }
}
