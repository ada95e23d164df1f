//! Property test: random sequences of receipts, requests, cancels, picks, ships and receipts
//! (some damaged) keep every ledger invariant. After each step the ledger's invariants (spec
//! section 4) are checked directly on the parts the sequence touches; the full audit (every
//! other invariant and every rollup comparison) runs once at the end of each case.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use echelon::auth::{Caller, Role};
use echelon::db::{self, Backend, DbConn};
use echelon::error::AppError;
use echelon::ledger::rules::Reason;
use echelon::ledger::store::{self as ledger, Move};
use echelon::network::rules::LocationKind;
use echelon::requests::service::{self, LineSpec, ReceiptLine, RequestSpec};
use proptest::prelude::*;

use crate::helpers::{fresh_database, pg_or_skip};

#[derive(Debug, Clone)]
enum Op {
    Receipt { part: usize, location: usize, qty: i64 },
    Request { station: usize, part: usize, qty: i64, urgent: bool },
    Cancel { request: usize },
    Pick { request: usize },
    Ship { request: usize },
    Receive { request: usize, damaged: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 0..3usize, 1..6i64).prop_map(|(part, location, qty)| Op::Receipt { part, location, qty }),
        (0..4usize, 0..2usize, 1..5i64, any::<bool>()).prop_map(|(station, part, qty, urgent)| Op::Request {
            station,
            part,
            qty,
            urgent
        }),
        (0..8usize).prop_map(|request| Op::Cancel { request }),
        (0..8usize).prop_map(|request| Op::Pick { request }),
        (0..8usize).prop_map(|request| Op::Ship { request }),
        (0..8usize, 0..2i64).prop_map(|(request, damaged)| Op::Receive { request, damaged }),
    ]
}

const STOCKING: [&str; 3] = ["RC-HZ", "HQ", "RC-NB"];
const STATIONS: [&str; 4] = ["ST-HZ-001", "ST-TZ-001", "ST-SX-001", "ST-JH-001"];

fn admin() -> Caller {
    Caller { user_id: 1, username: "admin".into(), role: Role::Admin, location: None }
}

fn run(conn: &mut DbConn, parts: &[i64], requests: &mut Vec<i64>, op: &Op) -> Result<(), AppError> {
    let now = Utc::now();
    let caller = admin();
    match op {
        Op::Receipt { part, location, qty } => db::write_tx(conn, |c| {
            let to = ledger::place_by_code(c, STOCKING[*location])?.unwrap();
            let supplier = ledger::virtual_place(c, LocationKind::Supplier)?;
            ledger::post(
                c,
                &Move {
                    part_id: parts[*part],
                    qty: *qty,
                    from: &supplier,
                    to: &to,
                    reason: Reason::PurchaseReceipt,
                    reference: Some("prop"),
                    actor: Some("admin"),
                    at: now.naive_utc(),
                    serials: &[],
                    from_reserved: false,
                    ticket_id: None,
                },
            )?;
            service::fill_backorders(c, parts[*part], &to, now).map(|_| ())
        }),
        Op::Request { station, part, qty, urgent } => {
            let code: String = echelon::db::schema::parts::table
                .find(parts[*part])
                .select(echelon::db::schema::parts::code)
                .first(conn)?;
            let id = db::write_tx(conn, |c| {
                let row = echelon::network::store::by_code(c, STATIONS[*station])?.unwrap();
                let st = service::station(c, row)?;
                let lines = [LineSpec { part_code: code.clone(), qty: *qty }];
                let spec = RequestSpec {
                    lines: &lines,
                    urgency: if *urgent { "urgent" } else { "normal" },
                    ticket_id: None,
                    source: None,
                };
                service::create(c, &caller, &st, &spec, now).map(|created| created.request.id)
            })?;
            requests.push(id);
            Ok(())
        }
        Op::Cancel { request }
        | Op::Pick { request }
        | Op::Ship { request }
        | Op::Receive { request, .. } => {
            let Some(&id) = requests.get(*request) else { return Ok(()) };
            db::write_tx(conn, |c| match op {
                Op::Cancel { .. } => service::cancel(c, &caller, id, now),
                Op::Pick { .. } => service::pick(c, &caller, id, now),
                Op::Ship { .. } => service::ship(c, &caller, id, now).map(|_| ()),
                Op::Receive { damaged, .. } => {
                    // damage at most what is in transit on line 1
                    let in_transit: i64 = echelon::requests::store::allocations(c, &[id])?
                        .iter()
                        .filter(|a| a.status == echelon::requests::rules::AllocationStatus::Shipped)
                        .map(|a| a.qty)
                        .sum();
                    let said = if *damaged > 0 && in_transit > 0 {
                        let d = (*damaged).min(in_transit);
                        vec![ReceiptLine { line_no: 1, received_qty: in_transit - d, damaged_qty: d }]
                    } else {
                        vec![]
                    };
                    service::receive(c, &caller, id, &said, now).map(|_| ())
                }
                _ => unreachable!(),
            })
        }
    }
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    part_id: i64,
    #[diesel(sql_type = BigInt)]
    location_id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// (part, location) -> total, from a query of `part_id, location_id, total`.
fn totals(conn: &mut DbConn, sql: &str) -> QueryResult<HashMap<(i64, i64), i64>> {
    let rows: Vec<Total> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|t| ((t.part_id, t.location_id), t.total)).collect())
}

/// The ledger's invariants on these parts, in words (what `ledger::audit` checks over every
/// part): each balance equals the sum of its movements and no movements lack a balance; each
/// part sums to zero over all locations; no physical location is negative or reserves more
/// than it holds; reservations equal the open allocations; each line of an open request is
/// its allocations plus its backorder.
fn ledger_breaches(conn: &mut DbConn, parts: &[i64]) -> QueryResult<Vec<String>> {
    use echelon::db::schema::stock_balances as b;
    let ids = parts.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let moved = totals(
        conn,
        &format!(
            "SELECT part_id, location_id, CAST(SUM(delta) AS BIGINT) AS total FROM ( \
               SELECT part_id, to_location_id AS location_id, qty AS delta FROM stock_movements WHERE part_id IN ({ids}) \
               UNION ALL SELECT part_id, from_location_id AS location_id, -qty AS delta FROM stock_movements WHERE part_id IN ({ids}) \
             ) m GROUP BY part_id, location_id"
        ),
    )?;
    let open = totals(
        conn,
        &format!(
            "SELECT part_id, source_id AS location_id, CAST(SUM(qty) AS BIGINT) AS total FROM request_allocations \
             WHERE status IN ('reserved', 'picked') AND part_id IN ({ids}) GROUP BY part_id, source_id"
        ),
    )?;
    let lines = totals(
        conn,
        &format!(
            "SELECT l.part_id, l.id AS location_id, \
               CAST(l.qty - l.backordered - COALESCE((SELECT SUM(a.qty) FROM request_allocations a \
                  WHERE a.line_id = l.id AND a.status NOT IN ('cancelled', 'damaged')), 0) AS BIGINT) AS total \
             FROM parts_request_lines l JOIN parts_requests r ON r.id = l.request_id \
             WHERE l.part_id IN ({ids}) AND r.status NOT IN ('pending_approval', 'rejected', 'cancelled')"
        ),
    )?;
    let balances: Vec<(i64, i64, i64, i64, bool)> = b::table
        .filter(b::part_id.eq_any(parts))
        .select((b::part_id, b::location_id, b::on_hand, b::reserved, b::physical))
        .load(conn)?;
    let mut out = Vec::new();
    let mut per_part: HashMap<i64, i64> = HashMap::new();
    for &(part, location, on_hand, reserved, physical) in &balances {
        let at = format!("part {part} at location {location}");
        let sum = moved.get(&(part, location)).copied().unwrap_or(0);
        if sum != on_hand {
            out.push(format!("{at}: balance {on_hand} but movements sum to {sum}"));
        }
        *per_part.entry(part).or_default() += on_hand;
        if physical && on_hand < 0 {
            out.push(format!("{at}: negative stock {on_hand}"));
        }
        if reserved < 0 || (physical && reserved > on_hand) {
            out.push(format!("{at}: reserved {reserved} of {on_hand} on hand"));
        }
        let held = open.get(&(part, location)).copied().unwrap_or(0);
        if held != reserved {
            out.push(format!("{at}: {reserved} reserved but open allocations hold {held}"));
        }
    }
    for (&(part, location), &sum) in &moved {
        if sum != 0 && !balances.iter().any(|b| (b.0, b.1) == (part, location)) {
            out.push(format!(
                "part {part} at location {location}: movements sum to {sum} but there is no balance"
            ));
        }
    }
    for (&(part, location), &held) in &open {
        if !balances.iter().any(|b| (b.0, b.1) == (part, location)) {
            out.push(format!(
                "part {part} at location {location}: open allocations hold {held} but there is no balance"
            ));
        }
    }
    for (part, total) in per_part {
        if total != 0 {
            out.push(format!("part {part}: balances over all locations sum to {total}, not 0"));
        }
    }
    for (&(part, line), &off) in &lines {
        if off != 0 {
            out.push(format!(
                "part {part} line {line}: quantity, allocations and backorder disagree by {off}"
            ));
        }
    }
    Ok(out)
}

/// The first two active, unserialized, current parts of the demo: the ones the sequences move.
fn demo_parts(conn: &mut DbConn) -> Vec<i64> {
    echelon::db::schema::parts::table
        .filter(echelon::db::schema::parts::serialized.eq(false))
        .filter(echelon::db::schema::parts::lifecycle.eq("active"))
        .filter(echelon::db::schema::parts::superseded_by.is_null())
        .select(echelon::db::schema::parts::id)
        .order(echelon::db::schema::parts::id.asc())
        .limit(2)
        .load(conn)
        .unwrap()
}

fn check_sequence(backend: Backend, ops: &[Op]) -> Result<(), TestCaseError> {
    let url = fresh_database(backend);
    let mut conn = db::Manager::new(&url).unwrap().connect_now().unwrap();
    let parts = demo_parts(&mut conn);
    let mut requests = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        // refused operations (a state conflict, nothing to ship) change nothing; either way
        // the invariants must hold
        let _ = run(&mut conn, &parts, &mut requests, op);
        let breaches = ledger_breaches(&mut conn, &parts).unwrap();
        prop_assert!(breaches.is_empty(), "after step {i} {op:?}: {breaches:#?}");
    }
    let breaches = echelon::audit::run(&mut conn).unwrap();
    prop_assert!(breaches.is_empty(), "after {} steps {ops:?}: {breaches:#?}", ops.len());
    Ok(())
}

/// The step check can fail: after a receipt and a request, a balance row and a request line
/// corrupted (the database's own checks refuse a negative or over-reserved balance), each caught.
fn corrupted_balances_are_caught(backend: Backend) {
    let url = fresh_database(backend);
    let mut conn = db::Manager::new(&url).unwrap().connect_now().unwrap();
    let parts = demo_parts(&mut conn);
    let mut requests = Vec::new();
    run(&mut conn, &parts, &mut requests, &Op::Receipt { part: 0, location: 0, qty: 3 }).unwrap();
    run(&mut conn, &parts, &mut requests, &Op::Request { station: 1, part: 0, qty: 1, urgent: false })
        .unwrap();
    assert_eq!(ledger_breaches(&mut conn, &parts).unwrap(), Vec::<String>::new());
    let rc_hz = ledger::place_by_code(&mut conn, STOCKING[0]).unwrap().unwrap().id;
    let corrupt = |conn: &mut DbConn, sql: String| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&sql).unwrap();
        ledger_breaches(conn, &parts).unwrap()
    };
    let balance = format!("WHERE part_id = {} AND location_id = {rc_hz}", parts[0]);
    let found = corrupt(&mut conn, format!("UPDATE stock_balances SET on_hand = on_hand + 1 {balance}"));
    assert!(found.iter().any(|b| b.contains("movements sum to")), "{found:#?}");
    assert!(found.iter().any(|b| b.contains("sum to 1, not 0")), "{found:#?}");
    let found = corrupt(&mut conn, format!("UPDATE stock_balances SET reserved = reserved - 1 {balance}"));
    assert!(found.iter().any(|b| b.contains("open allocations hold")), "{found:#?}");
    let line = format!(
        "UPDATE parts_request_lines SET backordered = backordered + 1 WHERE request_id = {}",
        requests[0]
    );
    let found = corrupt(&mut conn, line);
    assert!(found.iter().any(|b| b.contains("disagree by -1")), "{found:#?}");
}

#[test]
fn the_step_check_catches_a_corrupted_balance_on_sqlite() {
    corrupted_balances_are_caught(Backend::Sqlite);
}

#[test]
fn the_step_check_catches_a_corrupted_balance_on_postgres() {
    if pg_or_skip().is_some() {
        corrupted_balances_are_caught(Backend::Postgres);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn random_ledger_sequences_keep_every_invariant_on_sqlite(ops in prop::collection::vec(op(), 1..30)) {
        check_sequence(Backend::Sqlite, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn random_ledger_sequences_keep_every_invariant_on_postgres(ops in prop::collection::vec(op(), 1..30)) {
        if pg_or_skip().is_some() {
            check_sequence(Backend::Postgres, &ops)?;
        }
    }
}
