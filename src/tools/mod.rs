//! What the `echelon` command runs apart from the service: the commands themselves
//! (`commands`, one function each), the synthetic data generators and benchmarks
//! (`planning`: `seed generate`, `seed history`, `simulate`, `bench planning`; `settlement`:
//! `seed settlement`, `export settlement`; `archive`: `archive movements`, `archive restore`, `archive list`; `day`: `bench day`, a centre's mixed day driven over
//! HTTP) and the terminal's progress bars.
//!
//! Why here and not in the library: the server never runs any of it. Compiled only into the
//! binary, it keeps the library the server is built from free of generators, benchmarks,
//! seeded random distributions (`rand_distr`, `rand_chacha`) and progress bars (`indicatif`);
//! the library offers the narrow entry points the tools need (the stores, `on_backend!`,
//! `planning::policy::Progress`). The integration tests run these as a user does, through the
//! binary (`env!("CARGO_BIN_EXE_echelon")`).

pub mod archive;
pub mod commands;
pub mod day;
pub mod planning;
pub mod progress;
pub mod settlement;
pub mod users;
