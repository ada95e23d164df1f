//! The station of a request and what routes its lines: its terms, its centre, the central
//! warehouse and its lateral centres.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::auth::Scope;
use crate::db::DbConn;
use crate::error::AppError;
use crate::network::rules::LocationKind;
use crate::network::store::LocationRow;
use crate::requests::rules;
use crate::requests::store;

/// A station and what routes its lines.
pub struct Station {
    pub row: LocationRow,
    pub centre: i64,
    pub central: Option<i64>,
    pub may_order_from_hq: bool,
    pub allocation_priority: i32,
    pub allowance: i64,
    pub laterals: Vec<i64>,
    /// codes of the station and of every location that may supply it
    pub codes: BTreeMap<i64, String>,
    /// the station's running outstanding value, read under its row lock for this transaction
    /// (see `store::station_by_code_locked`); `None` when the row is not locked yet
    pub outstanding: Option<i64>,
    /// false only when the station is known to have no open loan lines (so none overdue)
    pub open_loans: bool,
}

pub fn station(conn: &mut DbConn, row: LocationRow) -> Result<Station, AppError> {
    if row.kind != LocationKind::Station.as_str() {
        return Err(AppError::unprocessable("not_a_station", format!("{} is not a station", row.code)));
    }
    let terms = store::station_terms_full(conn, row.id)?;
    station_with(row, terms)
}

/// A station (its kind already checked) from its row and terms.
fn station_with(row: LocationRow, terms: store::StationTerms) -> Result<Station, AppError> {
    let centre = row
        .parent_id
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("station {} has no centre", row.code)))?;
    let mut codes = BTreeMap::from([(row.id, row.code.clone())]);
    if let Some(code) = terms.centre_code {
        codes.insert(centre, code);
    }
    if let Some((id, code)) = &terms.central {
        codes.insert(*id, code.clone());
    }
    codes.extend(terms.laterals.iter().cloned());
    Ok(Station {
        row,
        centre,
        central: terms.central.map(|(id, _)| id),
        may_order_from_hq: terms.may_order_from_hq,
        allocation_priority: terms.allocation_priority,
        allowance: terms.allowance,
        laterals: terms.laterals.into_iter().map(|(id, _)| id).collect(),
        codes,
        outstanding: None,
        open_loans: true,
    })
}

/// What routes each station's lines ([`store::StationTerms`]) as this process last read it, with
/// the network's revision it was read at: a request whose station statement reads the same
/// revision uses the copy instead of reading the six-way join again. Every change to tiers,
/// lateral lanes or the locations' codes, kinds, parents and tiers changes the revision (triggers
/// of migration `000017`), in whichever process or tool it is made. One entry per station asked
/// for, replaced when stale.
#[derive(Default)]
pub struct TermsCache(Mutex<HashMap<i64, (i64, store::StationTerms)>>);

impl TermsCache {
    /// The station's terms at `revision`: the copy when it was read at that revision, else
    /// read now (and kept).
    fn terms(
        &self,
        conn: &mut DbConn,
        station_id: i64,
        revision: i64,
    ) -> Result<store::StationTerms, AppError> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, terms)) = lock().get(&station_id) {
            if *at == revision {
                return Ok(terms.clone());
            }
        }
        let terms = store::station_terms_full(conn, station_id)?;
        lock().insert(station_id, (revision, terms.clone()));
        Ok(terms)
    }
}

/// The station of a new request by code, with its row locked for the transaction and its terms
/// (from `cache` while the network is unchanged); `None` when there is no such location within
/// the caller's scope.
pub fn station_for_request(
    conn: &mut DbConn,
    cache: &TermsCache,
    scope: &Scope,
    code: &str,
) -> Result<Option<Station>, AppError> {
    let Some(store::LockedStation { row, outstanding, open_loans, revision }) =
        store::station_by_code_locked(conn, code)?.filter(|s| scope.covers(&s.row.path))
    else {
        return Ok(None);
    };
    if row.kind != LocationKind::Station.as_str() {
        return Err(AppError::unprocessable("not_a_station", format!("{} is not a station", row.code)));
    }
    let terms = cache.terms(conn, row.id, revision)?;
    let mut st = station_with(row, terms)?;
    st.outstanding = Some(outstanding);
    st.open_loans = open_loans;
    Ok(Some(st))
}

impl Station {
    pub fn sources(&self, requested: Option<i64>) -> Result<Vec<i64>, AppError> {
        rules::sources(self.centre, self.central, self.may_order_from_hq, &self.laterals, requested)
            .map_err(|m| AppError::unprocessable("source_not_allowed", m))
    }
}
