//! What every handler can reach: the database, the clock and the configuration. The pieces
//! that belong to a higher layer (the token keys of `auth`, the metrics of `http`, the routing
//! cache of `requests`) are registered as app data of their own by the composition root, so
//! this module sits at the bottom of the layer order.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::db::Db;

/// The time as echelon sees it. Production follows the system clock; tests move it forward
/// to reach deadlines without waiting.
#[derive(Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// The state shared by every handler.
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Config,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> AppState {
        AppState { db, clock: Clock::default(), config }
    }
}
