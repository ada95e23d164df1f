//! The station of a request and what routes its lines: its terms, its centre, the central
//! warehouse and its lateral centres.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::auth::Scope;
use crate::catalogue::{catalogue_code, resolve_part_code, PartRow};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::loans::OpenLine;
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
    /// those of the centre, the central warehouse and the laterals that are not active: no
    /// source of new reservations
    pub inactive: Vec<i64>,
    /// codes of the station and of every location that may supply it
    pub codes: BTreeMap<i64, String>,
    /// the station's running outstanding value as last committed (see `store::station_by_code`;
    /// a new request's booking checks the allowance again); `None` when not read yet
    pub outstanding: Option<i64>,
    /// the station's open loan lines (what may be overdue), when known; None: read them
    pub open_lines: Option<Arc<[OpenLine]>>,
    /// the master data copies kept between requests, and the revision the station was read at
    /// (see `station_for_request`)
    kept: Option<(Arc<RoutingCache>, i64)>,
}

pub fn station(conn: &mut DbConn, row: LocationRow) -> Result<Station, AppError> {
    if row.kind != LocationKind::Station {
        return Err(AppError::unprocessable(Problem::NotAStation, format!("{} is not a station", row.code)));
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
        inactive: terms.inactive,
        codes,
        outstanding: None,
        open_lines: None,
        kept: None,
    })
}

/// A station as a request read it.
#[derive(Clone)]
struct KeptStation {
    /// the master data's revision as it was read
    revision: i64,
    row: LocationRow,
    /// its running value then
    outstanding: i64,
    lines: Arc<[OpenLine]>,
    /// whether any webhook subscription was active then
    subscribed: bool,
}

/// What a request planned from a kept station assumes of the database beyond the station: the
/// master data's revision it was read at, and whether any webhook subscription was active then
/// (a change of that changes the revision).
#[derive(Clone, Copy, Debug)]
pub struct KeptAt {
    pub revision: i64,
    pub subscribed: bool,
}

/// What a parts request reads of the master data, as this process last read it, with the
/// master data's revision it was read at: each station's [`store::StationTerms`] and the parts by
/// code. A request whose station statement reads the same revision uses the copies instead of
/// reading the six-way join and each part again. Every change to tiers, lateral lanes, parts or
/// the locations' codes, kinds, parents, tiers and active flags changes the revision (triggers
/// of migrations `000017` and `000054`: a closed centre stops being a source at once), in
/// whichever process or tool it is made. The station's own active flag is not kept: it is read
/// with the station on every request. One entry per station and part asked for;
/// a stale station entry is replaced, and the parts are all dropped when the revision moves.
///
/// It also keeps each station's row, running value and open loan lines by code, as its last
/// request read them ([`RoutingCache::kept_station`]): the common request is then planned from
/// that copy and written in one statement that checks what the copy assumed
/// ([`store::Assumed`]).
#[derive(Default)]
pub struct RoutingCache {
    terms: Mutex<HashMap<i64, (i64, store::StationTerms)>>,
    parts: Mutex<(i64, HashMap<String, PartRow>)>,
    /// by code
    stations: Mutex<HashMap<String, KeptStation>>,
}

impl RoutingCache {
    /// The station of `code` as the last request of this process read it, with its terms kept
    /// at the same revision, and that revision: None when either is not kept. Its value and its
    /// open loan lines are the ones read then; a request planned from it is written only while
    /// the station is still active with the same loan lines open, the master data at that
    /// revision and the token's user as the token says (`store::write_whole`), and its booking
    /// checks the allowance against the value as it is then.
    pub fn kept_station(self: &Arc<Self>, code: &str) -> Option<(Station, KeptAt)> {
        let KeptStation { revision, row, outstanding, lines, subscribed } =
            self.stations.lock().unwrap_or_else(|e| e.into_inner()).get(code).cloned()?;
        let terms = {
            let kept = self.terms.lock().unwrap_or_else(|e| e.into_inner());
            let (at, terms) = kept.get(&row.id)?;
            (*at == revision).then(|| terms.clone())?
        };
        let mut st = station_with(row, terms).ok()?;
        st.outstanding = Some(outstanding);
        st.open_lines = Some(lines);
        st.kept = Some((self.clone(), revision));
        Some((st, KeptAt { revision, subscribed }))
    }

    /// The station's terms at `revision`: the copy when it was read at that revision, else
    /// read now (and kept).
    fn terms(
        &self,
        conn: &mut DbConn,
        station_id: i64,
        revision: i64,
    ) -> Result<store::StationTerms, AppError> {
        let lock = || self.terms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, terms)) = lock().get(&station_id) {
            if *at == revision {
                return Ok(terms.clone());
            }
        }
        let terms = store::station_terms_full(conn, station_id)?;
        lock().insert(station_id, (revision, terms.clone()));
        Ok(terms)
    }

    /// The part of a code from a client at `revision`, as [`resolve_part_code`] finds it (and
    /// refuses it): the copy when it was read at that revision, else read now (and kept).
    fn part(&self, conn: &mut DbConn, raw: &str, revision: i64) -> Result<PartRow, AppError> {
        let lock = || self.parts.lock().unwrap_or_else(|e| e.into_inner());
        let code = catalogue_code(raw);
        if let Some(code) = &code {
            let kept = lock();
            if let (true, Some(p)) = (kept.0 == revision, kept.1.get(code)) {
                return Ok(p.clone());
            }
        }
        let part = resolve_part_code(conn, raw, None)?;
        let mut kept = lock();
        if kept.0 != revision {
            *kept = (revision, HashMap::new());
        }
        kept.1.insert(part.code.clone(), part.clone());
        Ok(part)
    }
}

/// The station of a new request by code, with its running value as last committed (its row is
/// not locked: see `outstanding`) and its terms (from `cache` while the master data is
/// unchanged); `None` when there is no such location within the caller's scope. With `asker`
/// (a user's id), also that user's version as the same statement read it, None when the user
/// is inactive or gone (see `store::station_by_code`).
pub fn station_for_request(
    conn: &mut DbConn,
    cache: &Arc<RoutingCache>,
    scope: &Scope,
    code: &str,
    asker: Option<i64>,
) -> Result<Option<(Station, Option<i64>)>, AppError> {
    let Some(store::StationRead { row, outstanding, open_loans, subscribed, revision, asker_version }) =
        store::station_by_code(conn, code, asker)?.filter(|s| scope.covers(&s.row.path))
    else {
        return Ok(None);
    };
    if row.kind != LocationKind::Station {
        return Err(AppError::unprocessable(Problem::NotAStation, format!("{} is not a station", row.code)));
    }
    // read now with the station, never kept: a station closed a moment ago raises nothing
    crate::network::require_active(&row, "it raises no new parts requests")?;
    let terms = cache.terms(conn, row.id, revision)?;
    // its open loan lines, read only when it has some: what of them is overdue depends on the
    // time of each request, so they are kept rather than their value
    let lines: Arc<[OpenLine]> = match open_loans {
        true => crate::loans::open_lines(conn, row.id)?.into(),
        false => Arc::new([]),
    };
    cache.stations.lock().unwrap_or_else(|e| e.into_inner()).insert(
        row.code.clone(),
        KeptStation { revision, row: row.clone(), outstanding, lines: lines.clone(), subscribed },
    );
    let mut st = station_with(row, terms)?;
    st.outstanding = Some(outstanding);
    st.open_lines = Some(lines);
    st.kept = Some((cache.clone(), revision));
    Ok(Some((st, asker_version)))
}

impl Station {
    /// The part of a code from a client, for a request of this station (see
    /// [`resolve_part_code`]; from the kept copies when the station was read with them).
    pub fn part(&self, conn: &mut DbConn, raw: &str) -> Result<PartRow, AppError> {
        match &self.kept {
            Some((cache, revision)) => cache.part(conn, raw, *revision),
            None => resolve_part_code(conn, raw, None),
        }
    }

    /// Where new reservations for the station are taken, in order (`requested`: the source the
    /// request names): its sources that are active. A named source that is inactive, or none
    /// left active, is 409 `location_inactive` naming the location (a new request, an approval).
    pub fn sources(&self, requested: Option<i64>) -> Result<Vec<i64>, AppError> {
        let all = self.all_sources(requested)?;
        rules::active_sources(all, requested, &self.inactive).map_err(|id| {
            let code = self.codes.get(&id).cloned().unwrap_or_else(|| id.to_string());
            let e = crate::network::inactive(&code, "it supplies no new reservations");
            if requested.is_some() {
                e.with("field", "source")
            } else {
                e
            }
        })
    }

    /// [`Station::sources`] for work already under way (a damaged receipt's replacement, a
    /// waiting line served by new stock): the active sources, none when none is, never a
    /// refusal for an inactive one (the line waits instead).
    pub fn open_sources(&self, requested: Option<i64>) -> Result<Vec<i64>, AppError> {
        let mut all = self.all_sources(requested)?;
        all.retain(|s| !self.inactive.contains(s));
        Ok(all)
    }

    fn all_sources(&self, requested: Option<i64>) -> Result<Vec<i64>, AppError> {
        rules::sources(self.centre, self.central, self.may_order_from_hq, &self.laterals, requested).map_err(
            |m| {
                let e = AppError::unprocessable(Problem::SourceNotAllowed, m);
                if requested.is_some() {
                    e.with("field", "source")
                } else {
                    e
                }
            },
        )
    }
}
