//! The running outstanding value of a station (issue 12): kept in the transaction of every flow
//! that changes what the allowance check sums, equal at every step to the sum recomputed from
//! scratch, and what the allowance check decides with.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Resp, TestApp};
use crate::tickets::CMP;

/// Tier B: 80 000.00 allowance, may order from HQ.
const STATION: &str = "ST-TZ-001";
const TECH: &str = "tech-st-tz-001";
/// Tier D: 10 000.00 allowance.
const TIER_D: &str = "ST-JH-001";
const ALLOWANCE: i64 = 8_000_000;
/// the factory record of RF00000001's compressor
const CMP_SERIAL: &str = "CMP6165341773";

/// A station's stored running value, checked against the sum recomputed from scratch.
async fn value_of(app: &TestApp, code: &'static str) -> i64 {
    let (stored, recomputed) = app
        .state
        .db
        .read(move |conn| {
            use diesel::prelude::*;
            use echelon::db::schema::locations;
            let (id, path): (i64, String) = locations::table
                .filter(locations::code.eq(code))
                .select((locations::id, locations::path))
                .first(conn)?;
            Ok((echelon::outstanding::stored(conn, id)?, echelon::outstanding::recomputed(conn, id, &path)?))
        })
        .await
        .unwrap();
    assert_eq!(stored, recomputed, "{code}: stored running value against the recomputed sum");
    stored
}

/// The demo station's stored running value, checked against the recomputed sum (and the whole
/// audit).
async fn balance(app: &TestApp) -> i64 {
    let stored = value_of(app, STATION).await;
    app.audit().await;
    stored
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

async fn request(app: &TestApp, part: &str, qty: i64) -> Resp {
    app.request().station(STATION).line(part, qty).send().await
}

async fn on(app: &TestApp, id: &Value, action: &str, user: &str, body: Value) -> Resp {
    app.post(&format!("/api/v1/parts-requests/{id}/{action}"), user, body).await
}

both!(the_running_outstanding_value_follows_every_flow_and_decides_the_allowance, |app| async {
    let b0 = balance(&app).await;
    // a request split over two sources: 2 from RC-HZ, 2 from HQ, at 100.00
    let a = app.part().cost("100.00").stock_at("RC-HZ", 2).stock_at("HQ", 10).create().await;
    let r1 = request(&app, &a, 4).await;
    assert_eq!(r1.ok()["status"], "allocated");
    let r1 = r1.json["id"].clone();
    assert_eq!(balance(&app).await, b0 + 40_000);
    // RC-HZ ships its half; the station receives it: still owed or held, at the same cost
    on(&app, &r1, "ship", "warehouse-rc-hz", json!({})).await.ok();
    assert_eq!(balance(&app).await, b0 + 40_000);
    app.dispatch(r1.as_i64().unwrap()).await;
    let rec = on(&app, &r1, "receive", "admin", json!({})).await;
    rec.ok();
    assert_eq!(app.stock(STATION, &a).await.0, 2);
    assert_eq!(balance(&app).await, b0 + 40_000);
    // the part's cost rises to 150.00: the 2 units held are worth 100.00 more; the 2 still
    // reserved at HQ stay at their line's cost
    app.patch(&format!("/api/v1/parts/{a}"), "admin", json!({"unit_cost": "150.00"})).await.ok();
    assert_eq!(balance(&app).await, b0 + 50_000);
    // a count finds one unit fewer at the station
    app.set_stock(STATION, &a, 1).await;
    assert_eq!(balance(&app).await, b0 + 35_000);
    // the rest of the request is cancelled: HQ's reservation no longer counts
    assert_eq!(on(&app, &r1, "cancel", "admin", json!({})).await.ok()["status"], "cancelled");
    assert_eq!(balance(&app).await, b0 + 15_000);

    // a backorder counts at once, and still counts once stock arrives and serves it
    let c = app.part().cost("20.00").create().await;
    let r2 = request(&app, &c, 3).await;
    assert_eq!(r2.ok()["status"], "backordered");
    let r2 = r2.json["id"].clone();
    assert_eq!(balance(&app).await, b0 + 21_000);
    app.set_stock("RC-HZ", &c, 2).await;
    let got = app.get(&format!("/api/v1/parts-requests/{r2}"), Some("admin")).await;
    assert_eq!(got.ok()["lines"][0]["backordered"], 1);
    assert_eq!(balance(&app).await, b0 + 21_000);

    // a loan: the compressor enters the station, moves to the technician's custody (still the
    // station's), and is consumed by the repair (the old core goes to its centre's bin of returned cores)
    let cmp_cost = {
        let p = app.get(&format!("/api/v1/parts/{CMP}"), Some("admin")).await;
        let s = p.ok()["unit_cost"].as_str().unwrap().replace('.', "");
        s.parse::<i64>().unwrap()
    };
    let t = app.ticket().at(STATION).dispatched_to(TECH).on_site().create().await;
    app.receipt(STATION).serials(CMP, &["NEWCMP0001"]).create().await;
    let b1 = b0 + 21_000 + cmp_cost;
    assert_eq!(balance(&app).await, b1);
    let loan = app.loan().ticket(t).serials(CMP, &["NEWCMP0001"]).create().await;
    assert_eq!(balance(&app).await, b1);
    app.post(&format!("/api/v1/loans/{loan}/lines/1/core-return"), TECH, json!({"serial": CMP_SERIAL}))
        .await
        .ok();
    let b2 = b1 - cmp_cost;
    assert_eq!(balance(&app).await, b2);

    // the allowance decides with the running value: a request that alone fits, but not on top
    // of what the station already owes, waits for approval with the exact excess
    let d = app.part().cost("1000.00").stock_at("RC-HZ", 200).create().await;
    let qty = (ALLOWANCE - b2) / 100_000 + 1;
    assert!(qty * 100_000 <= ALLOWANCE, "the request alone fits the allowance");
    let over = request(&app, &d, qty).await;
    assert_eq!(over.ok()["status"], "pending_approval");
    assert_eq!(over.json["exceeds_by"], money(b2 + qty * 100_000 - ALLOWANCE));
    assert_eq!(balance(&app).await, b2, "a request waiting for approval owes nothing yet");
    // one unit fewer fits exactly within it
    let fits = request(&app, &d, qty - 1).await;
    assert_eq!(fits.ok()["status"], "allocated");
    let b3 = b2 + (qty - 1) * 100_000;
    assert_eq!(balance(&app).await, b3);
    // approval reserves and books the waiting request; rejection of another changes nothing
    let approved = on(&app, &over.json["id"], "approve", "warehouse-rc-hz", json!({})).await;
    assert_eq!(approved.ok()["status"], "allocated");
    assert_eq!(balance(&app).await, b3 + qty * 100_000);
    let one = request(&app, &d, 1).await;
    assert_eq!(one.ok()["status"], "pending_approval");
    assert_eq!(on(&app, &one.json["id"], "reject", "admin", json!({})).await.ok()["status"], "rejected");
    assert_eq!(balance(&app).await, b3 + qty * 100_000);
    // and cancelling the approved one gives its value back
    on(&app, &approved.json["id"], "cancel", "admin", json!({})).await.ok();
    assert_eq!(balance(&app).await, b3);
});

/// Sends `n` requests of one unit of `part` for the tier D station at once: how many were
/// allocated (each of the others must be waiting for approval).
async fn allocated_at_once(app: &TestApp, token: &str, part: &str, n: usize) -> i64 {
    let sends = (0..n).map(|_| {
        app.client
            .post(format!("{}/api/v1/parts-requests", app.base))
            .bearer_auth(token)
            .json(&json!({"station": TIER_D, "lines": [{"part_code": part, "qty": 1}]}))
            .send()
    });
    let mut allocated = 0;
    for a in futures_util::future::join_all(sends).await {
        let r = crate::helpers::into_resp(a.unwrap()).await;
        assert_eq!(r.status, 201, "{}", r.text);
        match r.json["status"].as_str() {
            Some("allocated") => allocated += 1,
            s => assert_eq!(s, Some("pending_approval"), "{}", r.text),
        }
    }
    allocated
}

both!(concurrent_requests_of_one_station_never_pass_its_allowance_together, |app| async {
    // tier D (10 000.00): each 1 000.00 request fits alone; together only what is left fits
    let d = app.part().cost("1000.00").stock_at("RC-HZ", 100).create().await;
    let owed = value_of(&app, TIER_D).await;
    let room = (1_000_000 - owed) / 100_000;
    assert!(room > 0 && room < 24, "the demo station has room for a few: {owed}");
    let token = app.token("admin").await;
    assert_eq!(allocated_at_once(&app, &token, &d, 24).await, room);
    assert_eq!(app.stock("RC-HZ", &d).await, (100, room, 100 - room));
});

both!(one_stations_requests_from_many_connections_allocate_exactly_the_room_there_is, |app| async {
    // tier D (10 000.00), 100.00 units: room for many, so on PostgreSQL the bookings go to the
    // station's value slots side by side until their budgets run out and the slots are dealt
    // again; 160 requests from 32 clients at once still allocate exactly the room there was
    let d = app.part().cost("100.00").stock_at("RC-HZ", 1_000).create().await;
    let owed = value_of(&app, TIER_D).await;
    let room = (1_000_000 - owed) / 10_000;
    assert!(room > 40 && room < 160, "the demo station has room for some: {owed}");
    let token = app.token("admin").await;
    let mut allocated = 0;
    for _ in 0..5 {
        allocated += allocated_at_once(&app, &token, &d, 32).await;
    }
    assert_eq!(allocated, room);
    assert_eq!(app.stock("RC-HZ", &d).await, (1_000, room, 1_000 - room));
    assert_eq!(value_of(&app, TIER_D).await, owed + room * 10_000);
    if app.backend == echelon::db::Backend::Postgres {
        let dealt: i64 = app
            .state
            .db
            .read(|c| {
                use diesel::prelude::*;
                use echelon::db::schema::station_value_slots as s;
                Ok(s::table.count().get_result(c)?)
            })
            .await
            .unwrap();
        assert!(dealt > 0, "the bookings went through the slots");
    }
});

/// Runs `sql` on a connection of its own (one PostgreSQL server process, so one slot).
fn on_own(url: &str, sql: &str) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut c = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    c.batch_execute(sql).map_err(|e| e.to_string())
}

#[actix_web::test]
async fn a_slots_budget_holds_only_while_the_base_and_the_ceiling_it_was_dealt_on_hold() {
    let Some(app) = crate::helpers::TestApp::spawn_pg().await else { return };
    let url = app.url.clone();
    let id: i64 = app
        .state
        .db
        .read(move |c| {
            use diesel::prelude::*;
            use echelon::db::schema::locations;
            Ok(locations::table.filter(locations::code.eq(TIER_D)).select(locations::id).first(c)?)
        })
        .await
        .unwrap();
    let state = app.state.clone();
    let value = || {
        let state = state.clone();
        async move { state.db.read(move |c| Ok(echelon::outstanding::stored(c, id)?)).await.unwrap() }
    };
    let v0 = value().await;
    let add = |delta: i64, cap: Option<i64>| {
        let cap = cap.map_or("NULL".to_string(), |c| c.to_string());
        format!("SELECT echelon_station_value_add({id}, {delta}, {cap})")
    };
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Slot {
        #[diesel(sql_type = diesel::sql_types::SmallInt)]
        slot: i16,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        used_minor: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        budget_minor: i64,
    }
    let slots = |c: &mut diesel::PgConnection, which: &str| -> Vec<Slot> {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "SELECT slot, used_minor, budget_minor FROM station_value_slots \
             WHERE station_id = {id} AND {which} ORDER BY slot"
        ))
        .load(c)
        .unwrap()
    };
    // one connection: the first booking deals the slots out, 8 budgets of
    // (v0 + 1000 - (v0 + 50)) / 8 = 118
    let mut c = {
        use diesel::Connection;
        diesel::PgConnection::establish(&url).unwrap()
    };
    use diesel::connection::SimpleConnection;
    c.batch_execute(&add(50, Some(v0 + 950))).unwrap();
    assert_eq!(value().await, v0 + 50);
    // the next books on the connection's own slot alone
    c.batch_execute(&add(50, Some(v0 + 950))).unwrap();
    assert_eq!(value().await, v0 + 100);
    let own = slots(&mut c, "slot = pg_backend_pid() % 8");
    assert_eq!(own.len(), 1);
    assert_eq!((own[0].used_minor, own[0].budget_minor), (50, 118), "booked on this connection's slot");
    // an increment without a ceiling grows the base to v0 + 1000 in all: the slot's budget
    // would still take 5 more (55 <= 118) and pass the ceiling, so the booking sums everything
    // and is refused
    on_own(&url, &add(900, None)).unwrap();
    let over = c.batch_execute(&add(5, Some(v0 + 995)));
    assert!(over.as_ref().is_err_and(|e| e.to_string().contains("ceiling")), "{over:?}");
    assert_eq!(value().await, v0 + 1000);
    // the base shrinks again; a booking under a lower ceiling than the budgets were dealt under
    // sums everything too, holds, and deals again: (v0 + 500 - (v0 + 110)) / 8 = 48 each
    on_own(&url, &add(-900, None)).unwrap();
    c.batch_execute(&add(10, Some(v0 + 490))).unwrap();
    assert_eq!(value().await, v0 + 110);
    assert!(slots(&mut c, "true").iter().all(|s| (s.used_minor, s.budget_minor) == (0, 48)));
    // bookings from many connections (many slots) share the room dealt out: they reach the
    // ceiling and not a unit past it
    let mut booked = 110;
    for _ in 0..40 {
        let mut conns: Vec<diesel::PgConnection> = (0..4)
            .map(|_| {
                use diesel::Connection;
                diesel::PgConnection::establish(&url).unwrap()
            })
            .collect();
        for k in &mut conns {
            if k.batch_execute(&add(7, Some(v0 + 1000 - 7))).is_ok() {
                booked += 7;
            }
        }
    }
    assert_eq!(booked, 110 + (1000 - 110) / 7 * 7, "every 7 that fitted under v0 + 1000, and no more");
    assert_eq!(value().await, v0 + booked);
    // the audit's sum is the base and the slots: put the value back as the rows say it is
    on_own(&url, &add(-booked, None)).unwrap();
    assert_eq!(value().await, v0);
    app.finish().await;
}

both!(a_cost_that_would_overflow_a_stations_value_is_refused_and_changes_nothing, |app| async {
    let part = app.part().cost("1.00").stock_at(STATION, 100_000).create().await;
    let before = balance(&app).await;
    // 100 000 units at 90 000 000 000 000.00 each do not fit a 64-bit amount of minor units
    let r =
        app.patch(&format!("/api/v1/parts/{part}"), "admin", json!({"unit_cost": "90000000000000.00"})).await;
    assert_eq!(r.problem(422)["type"], "/problems/value_out_of_range", "{}", r.text);
    let p = app.get(&format!("/api/v1/parts/{part}"), Some("admin")).await;
    assert_eq!(p.ok()["unit_cost"], "1.00");
    assert_eq!(balance(&app).await, before);
    // so does a receipt of as many units of a part that costs that much
    let dear = app.part().cost("90000000000000.00").create().await;
    let r = app
        .post(
            "/api/v1/receipts",
            "admin",
            json!({"location": STATION, "lines": [{"part_code": dear, "qty": 100_000}]}),
        )
        .await;
    assert_eq!(r.problem(422)["type"], "/problems/value_out_of_range", "{}", r.text);
    assert_eq!(app.stock(STATION, &dear).await, (0, 0, 0));
    assert_eq!(balance(&app).await, before);
});

both!(requests_in_one_transaction_see_each_others_share_against_the_allowance, |app| async {
    // one write transaction (as the demo's history makes many): tier D (10 000.00), room for
    // a few 1 000.00 units; the transaction asks one at a time until one waits for approval,
    // each request seeing the shares of those before it, booked at the commit
    let d = app.part().cost("1000.00").stock_at("RC-HZ", 100).create().await;
    let statuses = app
        .state
        .db
        .write(move |conn| {
            use echelon::requests::service::{self, LineSpec, RequestSpec, RoutingCache};
            let caller = echelon::auth::Caller {
                user_id: 0,
                username: "admin".into(),
                role: echelon::auth::Role::Admin,
                location: None,
            };
            let scope = echelon::auth::Scope::of(conn, &caller)?;
            let cache = std::sync::Arc::new(RoutingCache::default());
            let mut statuses = Vec::new();
            for _ in 0..24 {
                let (st, _) =
                    service::station_for_request(conn, &cache, &scope, TIER_D, None)?.expect("the station");
                let lines = [LineSpec { part_code: d.clone(), qty: 1 }];
                let spec = RequestSpec { lines: &lines, urgency: "normal", ticket_id: None, source: None };
                let made = service::create(conn, &caller, &st, &spec, chrono::Utc::now())?;
                statuses.push(made.request.status.as_str());
            }
            Ok(statuses)
        })
        .await
        .unwrap();
    let allocated = statuses.iter().take_while(|s| **s == "allocated").count();
    assert!(allocated > 0 && allocated < 24, "{statuses:?}");
    assert!(statuses[allocated..].iter().all(|s| *s == "pending_approval"), "{statuses:?}");
    // and the station's value is the sum recomputed
    let owed = value_of(&app, TIER_D).await;
    assert!(owed <= 1_000_000, "within the allowance: {owed}");
    assert!(owed + 100_000 > 1_000_000, "and no room left for another: {owed}");
});

/// What the audit says of the station values, nothing else.
async fn value_breaches(app: &TestApp) -> Vec<String> {
    app.state.db.read(|c| Ok(echelon::outstanding::breaches(c)?)).await.unwrap()
}

/// Runs `sql` as is (to damage what the audit checks).
async fn damage(app: &TestApp, sql: &'static str) {
    use diesel::connection::SimpleConnection;
    app.state.db.write(move |c| Ok(echelon::on_backend!(c, |c| c.batch_execute(sql))?)).await.unwrap()
}

both!(a_new_station_gets_its_value_row_and_the_audit_names_one_missing_or_off, |app| async {
    // a station made through the API has its own value row from the start (a trigger of the
    // migration makes it with the location) and can order at once
    let new = json!({"code": "ST-HZ-201", "name": "Xiaoshan station", "kind": "station",
                     "parent": "RC-HZ", "city": "Hangzhou", "tier": "C", "lead_time_days": 1});
    assert_eq!(app.post("/api/v1/locations", "admin", new).await.status, 201);
    assert_eq!(value_of(&app, "ST-HZ-201").await, 0);
    let r = app.request().station("ST-HZ-201").line(CMP, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(value_of(&app, "ST-HZ-201").await > 0, "the request's share is booked on the new row");
    assert_eq!(value_breaches(&app).await, Vec::<String>::new());
    // a value that is off, then a row that is gone: each is named
    damage(
        &app,
        "UPDATE station_values SET outstanding_minor = outstanding_minor + 1 \
         WHERE id = (SELECT id FROM locations WHERE code = 'ST-HZ-201')",
    )
    .await;
    let found = value_breaches(&app).await;
    assert!(
        found.len() == 1 && found[0].starts_with("station ST-HZ-201: running outstanding value"),
        "{found:?}"
    );
    damage(&app, "DELETE FROM station_values WHERE id = (SELECT id FROM locations WHERE code = 'ST-HZ-201')")
        .await;
    let found = value_breaches(&app).await;
    assert_eq!(found, vec!["location ST-HZ-201 (station): no outstanding value row".to_string()]);
    // the row made again and every value recomputed, as after a bulk load: the audit holds
    damage(&app, "INSERT INTO station_values (id) SELECT id FROM locations WHERE code = 'ST-HZ-201'").await;
    app.state.db.write(|c| Ok(echelon::outstanding::recompute_all(c)?)).await.unwrap();
    assert_eq!(value_breaches(&app).await, Vec::<String>::new());
});

/// A write transaction ends by booking what it noted on the stations' values, then commits (on
/// PostgreSQL the bookings and the `COMMIT` are one batch, `db::deferred`). A booking within its
/// ceiling commits with the rest of the transaction; a ceiling that no longer holds refuses the
/// whole transaction as a lost race (the service runs it again), and a missing value row
/// refuses it too: nothing of either stays, and the connection is out of its transaction after
/// each, ready for the next.
#[test]
fn a_transactions_bookings_commit_with_it_or_refuse_all_of_it() {
    use diesel::connection::SimpleConnection;
    use diesel::result::{DatabaseErrorKind, Error};
    use echelon::db::{self, deferred, write_tx, Backend};
    use echelon::outstanding;
    use echelon::outstanding::stored as station_outstanding;

    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && crate::helpers::pg_or_skip().is_none() {
            continue;
        }
        let url = crate::helpers::fresh_database(backend);
        let mut conn = db::Manager::new(&url).unwrap().connect_now().unwrap();
        let c = &mut conn;
        let place = |c: &mut db::DbConn, code: &str| {
            echelon::ledger::store::place_by_code(c, code).unwrap().unwrap().id
        };
        let (station, other) = (place(c, STATION), place(c, TIER_D));
        let name = |c: &mut db::DbConn| echelon::network::store::by_id(c, station).unwrap().name;
        let before = station_outstanding(c, station).unwrap();
        let other_before = station_outstanding(c, other).unwrap();
        let rename = |to: &str| format!("UPDATE locations SET name = '{to}' WHERE id = {station}");

        // within the ceiling: booked and committed with the transaction's other write
        let ok: Result<(), Error> = write_tx(c, |c| {
            c.batch_execute(&rename("Booked"))?;
            outstanding::add_within(c, station, 100, before + 100)?;
            outstanding::add(c, other, 7)
        });
        ok.unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert!(!deferred::in_transaction(c), "{backend:?}: out of the transaction");
        assert_eq!(station_outstanding(c, station).unwrap(), before + 100, "{backend:?}");
        assert_eq!(name(c), "Booked", "{backend:?}");

        // one more unit passes the ceiling as the booking finds the row: all of it refused
        let over: Result<(), Error> = write_tx(c, |c| {
            c.batch_execute(&rename("Refused"))?;
            outstanding::add(c, other, 5)?;
            outstanding::add_within(c, station, 1, before + 100)
        });
        assert!(
            matches!(over, Err(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _))),
            "{backend:?}: {over:?}"
        );
        assert!(!deferred::in_transaction(c), "{backend:?}: rolled back");
        assert_eq!(station_outstanding(c, station).unwrap(), before + 100, "{backend:?}");
        assert_eq!(
            station_outstanding(c, other).unwrap(),
            other_before + 7,
            "{backend:?}: the other booking is gone too"
        );
        assert_eq!(name(c), "Booked", "{backend:?}");

        // a value row gone (in the same transaction): the booking on it refuses everything
        let missing: Result<(), Error> = write_tx(c, |c| {
            c.batch_execute(&rename("Missing"))?;
            c.batch_execute(&format!("DELETE FROM station_values WHERE id = {other}"))?;
            outstanding::add(c, other, 5)
        });
        assert!(missing.is_err(), "{backend:?}: {missing:?}");
        assert!(!deferred::in_transaction(c), "{backend:?}: rolled back");
        assert_eq!(station_outstanding(c, other).unwrap(), other_before + 7, "{backend:?}: the row is back");
        assert_eq!(name(c), "Booked", "{backend:?}");

        // the connection serves the next transaction as any other
        write_tx(c, |c| {
            outstanding::add(c, station, -100)?;
            outstanding::add(c, other, -7)
        })
        .unwrap();
        assert_eq!(station_outstanding(c, station).unwrap(), before, "{backend:?}");
        assert_eq!(station_outstanding(c, other).unwrap(), other_before, "{backend:?}");
        let breaches = outstanding::breaches(c).unwrap();
        assert!(breaches.is_empty(), "{backend:?}: {breaches:?}");
    }
}
