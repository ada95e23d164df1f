//! The demo of spec section 17: the network, loaded from the data files in `seed/` (embedded in
//! the binary) into an empty database, and about 90 days of history made on it ([`history`]).

pub mod history;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::rules::{hash_password, Role};
use crate::db::DbConn;
use crate::error::AppError;
use crate::money::Money;
use crate::network::rules::{LocationKind, Tier};
use crate::network::store::{self as network, NewLocation, TierRow};

const LOCATIONS: &str = include_str!("../../seed/locations.csv");
const TIERS: &str = include_str!("../../seed/tiers.csv");
const USERS: &str = include_str!("../../seed/users.csv");

/// The demo users, for the start-up banner and the README.
pub fn users() -> Vec<(String, String, Option<String>)> {
    read::<UserLine>(USERS)
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.username, u.role, u.location.filter(|l| !l.is_empty())))
        .collect()
}

#[derive(Deserialize)]
struct LocationLine {
    code: String,
    name: String,
    kind: String,
    parent: String,
    region: String,
    city: String,
    tier: String,
    lead_time_days: Option<i32>,
}

#[derive(Deserialize)]
struct TierLine {
    tier: String,
    credit_allowance: String,
    may_order_from_hq: bool,
    allocation_priority: i32,
    core_return_days: i32,
    repair: String,
    install: String,
    maintenance: String,
    inspection: String,
}

#[derive(Deserialize)]
struct UserLine {
    username: String,
    role: String,
    location: Option<String>,
    display_name: String,
}

fn read<T: for<'de> Deserialize<'de>>(text: &str) -> Result<Vec<T>, String> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| format!("seed line {}: {e}", i + 2)))
        .collect()
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn money(s: &str) -> Result<i64, AppError> {
    Money::parse(s).map(|m| m.0).map_err(|e| AppError::internal(anyhow::anyhow!("seed: {e}")))
}

/// Whether the database holds no network yet.
pub fn is_empty(conn: &mut DbConn) -> Result<bool, AppError> {
    Ok(network::count(conn)? == 0 && crate::auth::store::count(conn)? == 0)
}

/// Loads the demo as `serve --demo` and `seed demo` do: the network and users as they stood
/// `history::DAYS` (and a day) before `now`, then the history up to `now`. The caller checks
/// emptiness inside the same transaction.
pub fn load(conn: &mut DbConn, password: &str, now: DateTime<Utc>) -> Result<DemoSummary, AppError> {
    // whole seconds: every time of the history is `now` plus whole minutes, kept alike by both
    // engines
    let now = chrono::SubsecRound::trunc_subsecs(now, 0);
    let mut summary = load_network(conn, password, now - chrono::Duration::days(history::DAYS + 1))?;
    summary.history = history::load(conn, now)?;
    Ok(summary)
}

/// Loads the demo network and users alone, as they stand at `now`, with no history (the tests'
/// blank network); the caller checks emptiness inside the same transaction.
pub fn load_network(conn: &mut DbConn, password: &str, now: DateTime<Utc>) -> Result<DemoSummary, AppError> {
    let bad = |e: String| AppError::internal(anyhow::anyhow!(e));
    for t in read::<TierLine>(TIERS).map_err(bad)? {
        let rates = BTreeMap::from([
            ("repair".to_string(), money(&t.repair)?),
            ("install".to_string(), money(&t.install)?),
            ("maintenance".to_string(), money(&t.maintenance)?),
            ("inspection".to_string(), money(&t.inspection)?),
        ]);
        let row = TierRow {
            tier: Tier::parse(&t.tier).ok_or_else(|| bad(format!("seed: tier {}", t.tier)))?,
            credit_allowance_minor: money(&t.credit_allowance)?,
            may_order_from_hq: t.may_order_from_hq,
            allocation_priority: t.allocation_priority,
            core_return_days: t.core_return_days,
            updated_at: now.naive_utc(),
        };
        network::insert_tier(conn, &row, &rates)?;
    }
    let mut ids: HashMap<String, (i64, String)> = HashMap::new();
    let mut summary = DemoSummary::default();
    for l in read::<LocationLine>(LOCATIONS).map_err(bad)? {
        let parent = opt(&l.parent)
            .map(|p| {
                ids.get(p).cloned().ok_or_else(|| bad(format!("seed: {} before its parent {p}", l.code)))
            })
            .transpose()?;
        let kind = LocationKind::parse(&l.kind).ok_or_else(|| bad(format!("seed: kind {}", l.kind)))?;
        let tier =
            opt(&l.tier).map(|t| Tier::parse(t).ok_or_else(|| bad(format!("seed: tier {t}")))).transpose()?;
        let new = NewLocation {
            code: &l.code,
            name: &l.name,
            kind: kind.as_str(),
            parent_id: parent.as_ref().map(|p| p.0),
            path: "/",
            region: opt(&l.region),
            city: opt(&l.city),
            address: None,
            tier: tier.map(Tier::as_str),
            lead_time_days: l.lead_time_days,
            active: true,
            created_at: now.naive_utc(),
        };
        let id = network::insert(conn, &new, parent.as_ref().map(|p| p.1.as_str()))?;
        let path = match &parent {
            Some((_, pp)) => format!("{pp}{id}/"),
            None => format!("/{id}/"),
        };
        if let Some(tier) = tier {
            network::record_tier(
                conn,
                id,
                tier,
                now.date_naive(),
                Some("demo data"),
                Some("seed"),
                now.naive_utc(),
            )?;
        }
        match kind {
            LocationKind::RegionalCentre => summary.centres += 1,
            LocationKind::Station => summary.stations += 1,
            _ => {}
        }
        ids.insert(l.code, (id, path));
    }
    for u in read::<UserLine>(USERS).map_err(bad)? {
        let role: Role = u.role.parse().map_err(bad)?;
        let location_id = match u.location.as_deref().and_then(opt) {
            Some(code) => Some(ids.get(code).ok_or_else(|| bad(format!("seed: user location {code}")))?.0),
            None => None,
        };
        let hash = hash_password(password);
        crate::auth::store::insert(
            conn,
            &crate::auth::store::NewUser {
                username: &u.username,
                password_hash: &hash,
                role: role.as_str(),
                location_id,
                display_name: &u.display_name,
                active: true,
                created_at: now.naive_utc(),
            },
        )?;
        summary.users += 1;
    }
    summary.catalogue = crate::catalogue::seed::load(conn, now)?;
    summary.opening_movements = crate::ledger::seed::load(conn, now)?;
    crate::shipping::seed::load(conn)?;
    Ok(summary)
}

#[derive(Debug, Default, Clone)]
pub struct DemoSummary {
    pub centres: usize,
    pub stations: usize,
    pub users: usize,
    pub catalogue: crate::catalogue::seed::CatalogueSummary,
    pub opening_movements: usize,
    pub history: history::HistorySummary,
}
