//! Planning's tools: a reproducible synthetic network (`generate`, `draws`) written into a
//! database (`seed`), a year of operations on it (`history`, `history_write`), and the policy
//! simulator with its benchmark (`simulate`, `sim_kpis`, `bench`, `cli`).

pub mod bench;
pub mod cli;
pub mod draws;
pub mod generate;
pub mod history;
pub mod history_write;
pub mod seed;
pub mod sim_kpis;
pub mod simulate;
