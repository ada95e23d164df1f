//! `echelon seed settlement`: a generated settlement month for the export benchmark, on a
//! network from `echelon seed generate`. Per station: completed tickets (in and out of
//! warranty, every job type) with parts used, and loans whose lines are returned in time, late
//! or never (overdue cores). Rows go in as multi-row INSERTs of generated numbers only.
//!
//! The loans are written without their ledger movements (the benchmark measures the export,
//! not the lending), so `echelon audit` on a benchmark database reports their custody stock.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::rules::Period;
use crate::db::schema::{loans, locations, parts, product_units, tickets, users};
use crate::db::DbConn;
use crate::error::AppError;

/// What was generated.
#[derive(Debug, Default)]
pub struct Generated {
    pub stations: usize,
    pub tickets: usize,
    pub ticket_parts: usize,
    pub loan_lines: usize,
}

const JOBS: [&str; 4] = ["repair", "install", "maintenance", "inspection"];
const BATCH: usize = 400;

fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

fn exec(conn: &mut DbConn, head: &str, rows: &[String]) -> Result<(), AppError> {
    for chunk in rows.chunks(BATCH) {
        let sql = format!("{head} VALUES {}", chunk.join(","));
        diesel::sql_query(sql).execute(conn)?;
    }
    Ok(())
}

/// Adds `per_station` completed tickets to every station in `period` (and a third as many
/// loans), inside the caller's transaction.
pub fn generate(
    conn: &mut DbConn,
    period: Period,
    per_station: usize,
    seed: u64,
) -> Result<Generated, AppError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = period.start();
    let stations: Vec<(i64, String)> = locations::table
        .filter(locations::kind.eq("station"))
        .select((locations::id, locations::path))
        .order(locations::id.asc())
        .load(conn)?;
    let units: Vec<i64> = product_units::table
        .select(product_units::id)
        .order(product_units::id.asc())
        .limit(2000)
        .load(conn)?;
    let part_rows: Vec<(i64, String, i64, i64)> = parts::table
        .select((parts::id, parts::code, parts::unit_cost_minor, parts::sale_price_minor))
        .order(parts::id.asc())
        .limit(500)
        .load(conn)?;
    if stations.is_empty() || units.is_empty() || part_rows.is_empty() {
        return Err(AppError::unprocessable("empty_network", "run `echelon seed generate` first"));
    }
    // a technician and a custody location per station, made once
    let tag = format!("BENCH-{seed}-{period}");
    let mut users_rows = Vec::new();
    let mut custody_rows = Vec::new();
    for (id, path) in &stations {
        users_rows.push(format!(
            "('bench-tech-{id}-{tag}', 'x', 'technician', {id}, 'bench technician', TRUE, {})",
            ts(now)
        ));
        custody_rows.push(format!(
            "('BT-{id}-{tag}', 'bench custody', 'technician', {id}, '{path}', TRUE, {})",
            ts(now)
        ));
    }
    exec(
        conn,
        "INSERT INTO users (username, password_hash, role, location_id, display_name, active, created_at)",
        &users_rows,
    )?;
    exec(
        conn,
        "INSERT INTO locations (code, name, kind, parent_id, path, active, created_at)",
        &custody_rows,
    )?;
    diesel::sql_query(format!(
        "UPDATE locations SET path = path || CAST(id AS TEXT) || '/' WHERE code LIKE 'BT-%-{tag}'"
    ))
    .execute(conn)?;
    let techs: Vec<i64> = users::table
        .filter(users::username.like(format!("bench-tech-%-{tag}")))
        .select(users::id)
        .order(users::location_id.asc())
        .load(conn)?;
    let custody: Vec<i64> = locations::table
        .filter(locations::code.like(format!("BT-%-{tag}")))
        .select(locations::id)
        .order(locations::parent_id.asc())
        .load(conn)?;

    let minutes = (period.end() - period.start()).num_minutes();
    let mut ticket_rows = Vec::new();
    for (i, (sid, _)) in stations.iter().enumerate() {
        for _ in 0..per_station {
            let done = now + Duration::minutes(rng.gen_range(0..minutes));
            let warranty = if rng.gen_bool(0.7) { "in_warranty" } else { "out_of_warranty" };
            let job = JOBS[rng.gen_range(0..JOBS.len())];
            let unit = units[rng.gen_range(0..units.len())];
            let created = done - Duration::hours(rng.gen_range(4..96));
            ticket_rows.push(format!(
                "('phone', 'repair', 'normal', 'closed', 'Bench customer', '0576 0000 0000', '1 Bench Rd', 'Zhejiang', \
                 {unit}, '{tag}', '{warranty}', 'unit', 'generated', {sid}, {tech}, '{job}', 'generated', {res}, {done}, {done}, {done}, \
                 'bench', {created}, {done})",
                tech = techs[i],
                res = ts(done - Duration::hours(1)),
                done = ts(done),
                created = ts(created),
            ));
        }
    }
    exec(
        conn,
        "INSERT INTO tickets (channel, category, urgency, status, customer_name, customer_phone, customer_address, \
         customer_region, unit_id, fault, warranty, warranty_covers, warranty_reason, station_id, technician_id, job_type, \
         cause, resolved_at, confirmed_at, closed_at, completed_at, created_by, created_at, updated_at)",
        &ticket_rows,
    )?;
    let made: Vec<(i64, Option<i64>, Option<NaiveDateTime>)> = tickets::table
        .filter(tickets::fault.eq(&tag))
        .select((tickets::id, tickets::station_id, tickets::completed_at))
        .order(tickets::id.asc())
        .load(conn)?;
    let mut part_lines = Vec::new();
    let mut loan_rows = Vec::new();
    let station_index: std::collections::HashMap<i64, usize> =
        stations.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    for (k, (tid, sid, done)) in made.iter().enumerate() {
        let (Some(sid), Some(done)) = (sid, done) else { continue };
        for _ in 0..rng.gen_range(0..3) {
            let (pid, code, cost, sale) = &part_rows[rng.gen_range(0..part_rows.len())];
            let qty = rng.gen_range(1..3);
            part_lines.push(format!(
                "({tid}, 'used', 1, {pid}, '{code}', {qty}, {cost}, {sale}, 'bench', {})",
                ts(*done)
            ));
        }
        if k % 3 == 0 {
            let i = station_index[sid];
            let lent = *done - Duration::days(rng.gen_range(0..20));
            loan_rows.push(format!("({sid}, {}, {}, {tid}, '{tag}', {})", techs[i], custody[i], ts(lent)));
        }
    }
    exec(
        conn,
        "INSERT INTO ticket_parts (ticket_id, kind, visit, part_id, requested_code, qty, unit_cost_minor, sale_price_minor, recorded_by, at)",
        &part_lines,
    )?;
    exec(
        conn,
        "INSERT INTO loans (station_id, technician_id, custody_id, ticket_id, created_by, created_at)",
        &loan_rows,
    )?;
    let loan_ids: Vec<(i64, NaiveDateTime)> = loans::table
        .filter(loans::created_by.eq(&tag))
        .select((loans::id, loans::created_at))
        .order(loans::id.asc())
        .load(conn)?;
    let mut line_rows = Vec::new();
    for (lid, lent) in &loan_ids {
        let (pid, _, cost, _) = &part_rows[rng.gen_range(0..part_rows.len())];
        // a third returned in time, a third late, a third never (overdue)
        let (status, at) = match rng.gen_range(0..3) {
            0 => ("'core_returned'", ts(*lent + Duration::days(2))),
            1 => ("'core_returned'", ts(*lent + Duration::days(25))),
            _ => ("'open'", "NULL".to_string()),
        };
        let by = if at == "NULL" { "NULL" } else { "'bench'" };
        line_rows.push(format!("({lid}, 1, {pid}, 1, {cost}, {status}, {by}, {at})"));
    }
    exec(
        conn,
        "INSERT INTO loan_lines (loan_id, line_no, part_id, qty, unit_cost_minor, status, reconciled_by, reconciled_at)",
        &line_rows,
    )?;
    Ok(Generated {
        stations: stations.len(),
        tickets: made.len(),
        ticket_parts: part_lines.len(),
        loan_lines: line_rows.len(),
    })
}
