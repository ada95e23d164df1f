//! Property test: random sequences of receipts, requests, cancels, picks, ships and receipts
//! (some damaged) keep every ledger invariant; the audit is clean after each step.

use chrono::Utc;
use diesel::prelude::*;
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

fn check_sequence(backend: Backend, ops: &[Op]) -> Result<(), TestCaseError> {
    let url = fresh_database(backend);
    let mut conn = db::Manager::new(&url).unwrap().connect_now().unwrap();
    let parts: Vec<i64> = echelon::db::schema::parts::table
        .filter(echelon::db::schema::parts::serialized.eq(false))
        .filter(echelon::db::schema::parts::lifecycle.eq("active"))
        .filter(echelon::db::schema::parts::superseded_by.is_null())
        .select(echelon::db::schema::parts::id)
        .order(echelon::db::schema::parts::id.asc())
        .limit(2)
        .load(&mut conn)
        .unwrap();
    let mut requests = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        // refused operations (a state conflict, nothing to ship) change nothing; either way
        // the invariants must hold
        let _ = run(&mut conn, &parts, &mut requests, op);
        let breaches = echelon::audit::run(&mut conn).unwrap();
        prop_assert!(breaches.is_empty(), "after step {i} {op:?}: {breaches:#?}");
    }
    Ok(())
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
