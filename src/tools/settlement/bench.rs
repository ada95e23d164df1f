//! `echelon seed settlement`: a generated settlement month for the export benchmark, on a
//! network from `echelon seed generate`. Per station: completed tickets (in and out of
//! warranty, every job type) with parts used, and loans whose lines are returned in time, late
//! or never (overdue cores). Rows go in as multi-row INSERTs of generated numbers only.
//!
//! The stock goes through the ledger as the product moves it (`ledger::store::post`, inside
//! the caller's one transaction): each station receives from SUPPLIER what its loans need
//! (`purchase_receipt`), every loan line is lent station -> custody (`loan_out`), and every
//! part used on a ticket is a loan line reconciled at the sign-off: consumed custody ->
//! CUSTOMER (`consume`), in warranty with its core CUSTOMER -> DEFECTIVE (`core_return`), out
//! of warranty paid by fee. A part lent for a visit that used none stays in custody (an
//! overdue core). So the export's reconciliation matches the ledger and `echelon audit` is
//! clean on a generated month. Only unserialized parts are used.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use echelon::db::schema::{loans, locations, parts, product_units, tickets, users};
use echelon::db::DbConn;
use echelon::error::{AppError, Problem};
use echelon::ledger::rules::Reason;
use echelon::ledger::store::{self as ledger, Move, Place};
use echelon::network::rules::LocationKind;
use echelon::settlement::rules::Period;

/// What was generated.
#[derive(Debug, Default)]
pub struct Generated {
    pub stations: usize,
    pub tickets: usize,
    pub ticket_parts: usize,
    pub loan_lines: usize,
}

/// (id, code, unit cost, sale price)
type PartFacts = (i64, String, i64, i64);

/// A generated loan: the ticket, the station's index, when lent, when reconciled (never when
/// `None`), and its lines (index into the parts, qty).
struct Plan {
    ticket: i64,
    station: usize,
    lent: NaiveDateTime,
    back: Option<NaiveDateTime>,
    in_warranty: bool,
    lines: Vec<(usize, i64)>,
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
        crate::tools::progress::rows(chunk.len());
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
    // a month that is closed (its snapshot taken) or not yet begun takes no generated work, and
    // a month already generated with this seed is said as such
    if let Some(closed) = echelon::settlement::service::last_closed(conn)?.filter(|c| period <= *c) {
        return Err(AppError::unprocessable(
            Problem::PeriodClosed,
            format!("{period} is closed (the last closed month is {closed}): generate an open month"),
        ));
    }
    if period.first_day() > chrono::Utc::now().date_naive() {
        return Err(AppError::unprocessable(
            Problem::PeriodNotEnded,
            format!("{period} has not begun: generate this month or one before it"),
        ));
    }
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
    let part_rows: Vec<PartFacts> = parts::table
        .filter(parts::serialized.eq(false))
        .select((parts::id, parts::code, parts::unit_cost_minor, parts::sale_price_minor))
        .order(parts::id.asc())
        .limit(500)
        .load(conn)?;
    if stations.is_empty() || units.is_empty() || part_rows.is_empty() {
        return Err(AppError::unprocessable(Problem::EmptyNetwork, "run `echelon seed generate` first"));
    }
    // about: a technician and a custody per station; per ticket the ticket, its parts lines and
    // (for a third) a loan with its lines
    crate::tools::progress::expect(stations.len() * (2 + per_station * 3));
    // a technician and a custody location per station, made once
    let tag = format!("BENCH-{seed}-{period}");
    let taken: i64 =
        users::table.filter(users::username.like(format!("bench-tech-%-{tag}"))).count().get_result(conn)?;
    if taken > 0 {
        return Err(AppError::conflict(
            Problem::Conflict,
            format!("{period} was generated with seed {seed} already: give another --seed to add more"),
        ));
    }
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
            let done = now + Duration::minutes(rng.random_range(0..minutes));
            let warranty = if rng.random_bool(0.7) { "in_warranty" } else { "out_of_warranty" };
            let job = JOBS[rng.random_range(0..JOBS.len())];
            let unit = units[rng.random_range(0..units.len())];
            let created = done - Duration::hours(rng.random_range(4..96));
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
    let made: Vec<(i64, Option<i64>, Option<NaiveDateTime>, String)> = tickets::table
        .filter(tickets::fault.eq(&tag))
        .select((tickets::id, tickets::station_id, tickets::completed_at, tickets::warranty))
        .order(tickets::id.asc())
        .load(conn)?;
    let station_index: HashMap<i64, usize> =
        stations.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    // what each ticket used, and the loan that brought it (or a core never returned)
    let mut part_lines = Vec::new();
    let mut plans: Vec<Plan> = Vec::new();
    let mut open_k = 0usize;
    for (k, (tid, sid, done, warranty)) in made.iter().enumerate() {
        let (Some(sid), Some(done)) = (sid, done) else { continue };
        let i = station_index[sid];
        let mut used = Vec::new();
        for _ in 0..rng.random_range(0..3) {
            let p = rng.random_range(0..part_rows.len());
            let (pid, code, cost, sale) = &part_rows[p];
            let qty = rng.random_range(1..3);
            part_lines.push(format!(
                "({tid}, 'used', 1, {pid}, '{code}', {qty}, {cost}, {sale}, 'bench', {})",
                ts(*done)
            ));
            used.push((p, qty));
        }
        let in_warranty = warranty == "in_warranty";
        if !used.is_empty() {
            // lent before the visit and reconciled at the sign-off: in time, or (every third)
            // after the longest core-return days (a charge, then a credit)
            let lent = if k % 3 == 1 {
                *done - Duration::days(rng.random_range(16..26))
            } else {
                *done - Duration::hours(rng.random_range(1..48))
            };
            plans.push(Plan { ticket: *tid, station: i, lent, back: Some(*done), in_warranty, lines: used });
        } else {
            open_k += 1;
            if open_k % 2 == 1 {
                // a part lent for a visit that used none, never returned: an overdue core
                let lent = *done - Duration::days(rng.random_range(0..20));
                let line = vec![(rng.random_range(0..part_rows.len()), 1)];
                plans.push(Plan { ticket: *tid, station: i, lent, back: None, in_warranty, lines: line });
            }
        }
    }
    exec(
        conn,
        "INSERT INTO ticket_parts (ticket_id, kind, visit, part_id, requested_code, qty, unit_cost_minor, sale_price_minor, recorded_by, at)",
        &part_lines,
    )?;
    let loan_rows: Vec<String> = plans
        .iter()
        .map(|p| {
            let (sid, _) = &stations[p.station];
            format!(
                "({sid}, {}, {}, {}, '{tag}', {})",
                techs[p.station],
                custody[p.station],
                p.ticket,
                ts(p.lent)
            )
        })
        .collect();
    exec(
        conn,
        "INSERT INTO loans (station_id, technician_id, custody_id, ticket_id, created_by, created_at)",
        &loan_rows,
    )?;
    let loan_ids: Vec<i64> = loans::table
        .filter(loans::created_by.eq(&tag))
        .select(loans::id)
        .order(loans::id.asc())
        .load(conn)?;
    let mut line_rows = Vec::new();
    for (lid, p) in loan_ids.iter().zip(&plans) {
        for (n, (part, qty)) in p.lines.iter().enumerate() {
            let (pid, _, cost, sale) = &part_rows[*part];
            let (status, fee, by, at) = match p.back {
                Some(at) if p.in_warranty => ("'core_returned'", "NULL".into(), "'bench'", ts(at)),
                Some(at) => ("'fee_charged'", (qty * sale).to_string(), "'bench'", ts(at)),
                None => ("'open'", "NULL".into(), "NULL", "NULL".into()),
            };
            let (sid, _) = &stations[p.station];
            line_rows.push(format!(
                "({lid}, {sid}, {}, {pid}, {qty}, {cost}, {status}, {fee}, {by}, {at})",
                n + 1
            ));
        }
    }
    exec(
        conn,
        "INSERT INTO loan_lines (loan_id, station_id, line_no, part_id, qty, unit_cost_minor, status, fee_minor, reconciled_by, reconciled_at)",
        &line_rows,
    )?;
    post_movements(conn, period, &stations, &custody, &part_rows, &loan_ids, &plans)?;
    // the tickets were inserted in bulk: their repair cycles for the KPI rollup
    echelon::rollup::tickets_loaded(conn)?;
    Ok(Generated {
        stations: stations.len(),
        tickets: made.len(),
        ticket_parts: part_lines.len(),
        loan_lines: line_rows.len(),
    })
}

/// The ledger side of the generated loans: receipts into the stations first, then each line
/// lent and, when reconciled, consumed (and its core returned in warranty).
fn post_movements(
    conn: &mut DbConn,
    period: Period,
    stations: &[(i64, String)],
    custody: &[i64],
    part_rows: &[PartFacts],
    loan_ids: &[i64],
    plans: &[Plan],
) -> Result<(), AppError> {
    let supplier = ledger::virtual_place(conn, LocationKind::Supplier)?;
    let customer = ledger::virtual_place(conn, LocationKind::Customer)?;
    let defective = ledger::virtual_place(conn, LocationKind::Defective)?;
    let mut station_places = Vec::with_capacity(stations.len());
    for (id, _) in stations {
        station_places.push(ledger::place_by_id(conn, *id)?);
    }
    let mut custody_places = Vec::with_capacity(custody.len());
    for id in custody {
        custody_places.push(ledger::place_by_id(conn, *id)?);
    }
    let mut needs: std::collections::BTreeMap<(usize, usize), i64> = Default::default();
    for p in plans {
        for (part, qty) in &p.lines {
            *needs.entry((p.station, *part)).or_default() += qty;
        }
    }
    let received = period.start() - Duration::days(30);
    let post =
        |conn: &mut DbConn, part: usize, qty: i64, from: &Place, to: &Place, reason, r: &str, at, ticket| {
            ledger::post(
                conn,
                &Move {
                    part_id: part_rows[part].0,
                    qty,
                    from,
                    to,
                    reason,
                    reference: Some(r),
                    actor: Some("bench"),
                    at,
                    serials: &[],
                    from_reserved: false,
                    ticket_id: ticket,
                },
            )
            .map(|_| ())
        };
    for ((station, part), qty) in needs {
        let to = &station_places[station];
        post(conn, part, qty, &supplier, to, Reason::PurchaseReceipt, "bench receipt", received, None)?;
    }
    for (lid, p) in loan_ids.iter().zip(plans) {
        let (station, custody) = (&station_places[p.station], &custody_places[p.station]);
        let lent = format!("loan:{lid}");
        for (n, (part, qty)) in p.lines.iter().enumerate() {
            let ticket = Some(p.ticket);
            post(conn, *part, *qty, station, custody, Reason::LoanOut, &lent, p.lent, ticket)?;
            let Some(at) = p.back else { continue };
            let line = format!("loan:{lid}/{}", n + 1);
            post(conn, *part, *qty, custody, &customer, Reason::Consume, &line, at, ticket)?;
            if p.in_warranty {
                post(conn, *part, *qty, &customer, &defective, Reason::CoreReturn, &line, at, ticket)?;
            }
        }
    }
    Ok(())
}
