//! What stock arriving at a place sets off beyond the ledger: parts requests waiting for the
//! part there (their backorders) are served from it. Requests sit above the ledger in the
//! layer order, so the ledger does not call them: the composition root registers the
//! requests' backorder fill as [`Arrivals`] app data, and the ledger's handlers call it in the
//! transaction of the receipt or count that brought the stock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::store::Place;
use crate::db::DbConn;
use crate::error::AppError;

/// A backordered line served from new stock.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"request_id": 42, "line_no": 1, "station": "ST-TZ-001", "qty": 2}))]
pub struct BackorderFill {
    pub request_id: i64,
    pub line_no: i32,
    pub station: String,
    pub qty: i64,
}

/// Serves the waiting lines for a part from what is now available at a place.
pub type FillBackorders = fn(&mut DbConn, i64, &Place, DateTime<Utc>) -> Result<Vec<BackorderFill>, AppError>;

/// The hook the ledger's handlers call after stock arrived (app data).
#[derive(Clone, Copy)]
pub struct Arrivals {
    pub fill_backorders: FillBackorders,
}

impl Arrivals {
    /// `part_id` arrived at `place`: the waiting lines it can serve, served.
    pub fn arrived(
        &self,
        conn: &mut DbConn,
        part_id: i64,
        place: &Place,
        at: DateTime<Utc>,
    ) -> Result<Vec<BackorderFill>, AppError> {
        (self.fill_backorders)(conn, part_id, place, at)
    }
}
