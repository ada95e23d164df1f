//! A full page of a list costs a bounded number of SQL statements, however many rows it shows:
//! the rows, then one query per related table (counted through the statement counter that
//! every pooled connection reports to, `Db::statements`).

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use echelon::db::schema::{locations, parts, product_units, users};
use echelon::db::DbConn;
use echelon::requests::store::{self as requests, LineRow, NewRequest};
use echelon::shipping::rules::ShipmentStatus;
use echelon::shipping::store::{self as shipping, NewShipment};
use echelon::tickets::store::{self as tickets, NewEvent, NewTicket, NewTicketPart};

use crate::both;
use crate::helpers::TestApp;

/// Rows of each kind written, and the page size asked for.
const ROWS: usize = 500;

/// Most statements one page may run: the caller's scope, the rows, one query per related
/// table and the transaction's own statements, whatever the page size.
const BOUND: u64 = 15;

fn id_of(conn: &mut DbConn, table: &str, key: &str) -> QueryResult<i64> {
    match table {
        "locations" => locations::table.filter(locations::code.eq(key)).select(locations::id).first(conn),
        _ => users::table.filter(users::username.eq(key)).select(users::id).first(conn),
    }
}

/// `ROWS` parts requests of ST-TZ-001 (two lines each, each line with an allocation from
/// RC-HZ), a shipment for each carrying its lines with two tracking events, and `ROWS`
/// dispatched tickets with their history and an expected part. The requests are cancelled and
/// the shipments not yet delivered, so no stock, outstanding value or KPI depends on them and
/// the audit stays clean.
fn write_rows(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<()> {
    let station = id_of(conn, "locations", "ST-TZ-001")?;
    let centre = id_of(conn, "locations", "RC-HZ")?;
    let courier = id_of(conn, "users", "courier-1")?;
    let technician = id_of(conn, "users", "tech-st-tz-001")?;
    let part_rows: Vec<(i64, String, i64)> = parts::table
        .select((parts::id, parts::code, parts::unit_cost_minor))
        .order(parts::id.asc())
        .limit(2)
        .load(conn)?;
    let unit: i64 =
        product_units::table.select(product_units::id).order(product_units::id.asc()).first(conn)?;
    for i in 0..ROWS {
        let created = at + Duration::minutes(i as i64);
        let request_id = requests::insert_request(
            conn,
            &NewRequest {
                station_id: station,
                ticket_id: None,
                urgency: "normal",
                status: "cancelled",
                source_id: None,
                value_minor: part_rows.iter().map(|p| p.2).sum(),
                exceeds_by_minor: None,
                requested_by: "station-st-tz-001",
                created_at: created,
                updated_at: created,
                outstanding_minor: 0,
            },
        )?;
        let mut allocations = Vec::new();
        for (n, (part, code, cost)) in part_rows.iter().enumerate() {
            let line_id = requests::insert_line(conn, request_id, n as i32 + 1, code, *part, 1, *cost)?;
            let line = LineRow {
                id: line_id,
                request_id,
                line_no: n as i32 + 1,
                requested_code: code.clone(),
                part_id: *part,
                qty: 1,
                unit_cost_minor: *cost,
                backordered: 0,
            };
            allocations
                .push((requests::insert_allocation(conn, &line, centre, 1, "cancelled", created)?, *part));
        }
        let assigned = i % 2 == 0;
        let shipment = shipping::insert_shipment(
            conn,
            &NewShipment {
                request_id: Some(request_id),
                origin_id: centre,
                destination_id: station,
                urgency: "normal",
                weight_grams: 500,
                deliver_by: created + Duration::days(3),
                status: if assigned { ShipmentStatus::InTransit } else { ShipmentStatus::AwaitingTender },
                courier_id: assigned.then_some(courier),
                price_minor: assigned.then_some(3500),
                damaged_units: 0,
                created_at: created,
            },
        )?;
        for (allocation, part) in &allocations {
            shipping::insert_line(conn, shipment, *allocation, *part, 1)?;
        }
        if assigned {
            shipping::add_event(conn, shipment, "picked_up", created, Some("dock 3"), "courier-1")?;
            shipping::add_event(conn, shipment, "in_transit", created, None, "courier-1")?;
        }
        let ticket = tickets::insert(
            conn,
            &NewTicket {
                channel: "phone".into(),
                category: "repair".into(),
                urgency: "normal".into(),
                status: "dispatched".into(),
                customer_name: format!("Customer {i}"),
                customer_phone: "+86 576 8888 1234".into(),
                customer_address: "12 Jiefang Rd, Jiaojiang".into(),
                customer_region: "Zhejiang".into(),
                unit_id: unit,
                fault: "not cooling".into(),
                component_family: Some("CMP".into()),
                warranty: "in_warranty".into(),
                warranty_covers: "unit".into(),
                warranty_until: NaiveDate::from_ymd_opt(2035, 1, 1),
                warranty_reason: "test".into(),
                station_id: Some(station),
                technician_id: Some(technician),
                job_type: None,
                cause: None,
                respond_by: None,
                resolve_by: None,
                decide_by: Some(created + Duration::days(5)),
                responded_at: Some(created),
                resolved_at: None,
                confirmed_at: None,
                closed_at: None,
                completed_at: None,
                created_by: "agent".into(),
                created_at: created,
                updated_at: created,
            },
        )?;
        for (action, from, to, tech) in
            [("intake", None, "open", None), ("dispatch", Some("open"), "dispatched", Some(technician))]
        {
            tickets::insert_event(
                conn,
                &NewEvent {
                    ticket_id: ticket,
                    action,
                    from_status: from,
                    to_status: to,
                    actor: "agent",
                    at: created,
                    station_id: Some(station),
                    technician_id: tech,
                    note: None,
                },
            )?;
        }
        let (part, code, cost) = &part_rows[0];
        tickets::insert_parts(
            conn,
            &[NewTicketPart {
                ticket_id: ticket,
                kind: "expected",
                quote_id: None,
                visit: 1,
                part_id: *part,
                requested_code: code,
                qty: 1,
                unit_cost_minor: *cost,
                sale_price_minor: *cost * 2,
                recorded_by: "agent",
                at: created,
            }],
        )?;
    }
    Ok(())
}

/// GETs a page as admin; returns its items and the statements the request ran.
async fn page(app: &TestApp, path: &str) -> (Vec<serde_json::Value>, u64) {
    let token = app.token("admin").await;
    let before = app.state.db.statements.get();
    let r = app.send(reqwest::Method::GET, path, Some(&token), None).await;
    let ran = app.state.db.statements.get() - before;
    let items = r.ok()["items"].as_array().expect("a page").clone();
    eprintln!("{:?} {path}: {} items, {ran} statements", app.backend, items.len());
    (items, ran)
}

both!(a_page_of_500_shipments_requests_and_tickets_runs_a_bounded_number_of_statements, |app| async {
    // a fixed time, so that two runs answer the same bytes
    let at = NaiveDate::from_ymd_opt(2025, 6, 2).and_then(|d| d.and_hms_opt(8, 0, 0)).expect("a time");
    app.state.db.write(move |conn| Ok(write_rows(conn, at)?)).await.expect("the rows are written");
    app.history_imported().await;
    let mut counts = Vec::new();
    for path in
        ["/api/v1/shipments?limit=500", "/api/v1/parts-requests?limit=500", "/api/v1/tickets?limit=500"]
    {
        let (items, ran) = page(&app, path).await;
        assert_eq!(items.len(), ROWS, "{path}");
        counts.push((path, ran));
    }
    assert!(counts.iter().all(|(_, ran)| *ran <= BOUND), "statements per page (at most {BOUND}): {counts:?}");
    // the page holds what the rows say: lines, events, codes and names looked up in batches
    let (items, _) = page(&app, "/api/v1/shipments?limit=2").await;
    let newest = &items[0];
    assert_eq!(newest["origin"], "RC-HZ");
    assert_eq!(newest["destination"], "ST-TZ-001");
    assert_eq!(newest["lines"].as_array().map(Vec::len), Some(2));
    let assigned = items.iter().find(|s| s["courier"] == "courier-1").expect("an assigned shipment");
    assert_eq!(assigned["events"][0]["kind"], "picked_up");
    assert_eq!(assigned["events"][1]["kind"], "in_transit");
    let (items, _) = page(&app, "/api/v1/tickets?limit=1").await;
    assert_eq!(items[0]["technician"], "tech-st-tz-001");
    assert_eq!(items[0]["expected_parts"].as_array().map(Vec::len), Some(1));
});

/// Tenders, couriers and units written for the lists below, and the sizes compared.
const SMALL: usize = 10;
const LARGE: usize = 100;

/// A fixed time far enough ahead that every bid still meets its tender's due time, so two runs
/// answer the same bytes.
fn ahead() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2099, 1, 1).and_then(|d| d.and_hms_opt(8, 0, 0)).expect("a time")
}

/// `LARGE` tenders from RC-HZ to ST-TZ-001, each with a shipment and a bid of every demo
/// courier (every third one awarded, with its explanation, and its shipment assigned), and a
/// delivery record for two couriers (delivered shipments on time, late and damaged).
fn write_tenders(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<()> {
    use echelon::shipping::service;
    let station = id_of(conn, "locations", "ST-TZ-001")?;
    let centre = id_of(conn, "locations", "RC-HZ")?;
    let couriers: Vec<i64> = ["courier-1", "courier-2", "courier-3"]
        .into_iter()
        .map(|c| id_of(conn, "users", c))
        .collect::<QueryResult<_>>()?;
    let shipment = |conn: &mut DbConn, status, courier, created: NaiveDateTime| {
        shipping::insert_shipment(
            conn,
            &NewShipment {
                request_id: None,
                origin_id: centre,
                destination_id: station,
                urgency: "normal",
                weight_grams: 1500,
                deliver_by: created + Duration::days(2),
                status,
                courier_id: courier,
                price_minor: courier.map(|_| 3000),
                damaged_units: 0,
                created_at: created,
            },
        )
    };
    for (n, courier) in couriers[..2].iter().enumerate() {
        for i in 0..4 {
            let created = at + Duration::hours(i);
            let id = shipment(conn, ShipmentStatus::Received, Some(*courier), created)?;
            let late = (i + n as i64) % 3 == 0;
            shipping::mark_delivered(conn, id, created + Duration::days(if late { 3 } else { 1 }))?;
            if i == n as i64 {
                shipping::mark_received(conn, id, 1, created + Duration::days(3))?;
            }
        }
    }
    let due = ahead();
    for i in 0..LARGE {
        let created = at + Duration::minutes(i as i64);
        let tender = shipping::insert_tender(
            conn,
            centre,
            station,
            1500,
            due,
            due - Duration::days(1),
            "warehouse-rc-hz",
            created,
        )?;
        let s = shipment(conn, ShipmentStatus::AwaitingTender, None, created)?;
        shipping::attach_to_tender(conn, s, tender)?;
        for (n, courier) in couriers.iter().enumerate() {
            shipping::insert_bid(
                conn,
                tender,
                *courier,
                3000 + 100 * n as i64 + i as i64,
                24 + 6 * n as i32,
                created,
            )?;
        }
        if i % 3 == 0 {
            let row = shipping::tender(conn, tender)?.expect("the tender");
            let scores = service::score_bids(conn, &row, created.and_utc()).expect("scores");
            let bid = scores[i % scores.len()].bid_id;
            let explanation = serde_json::to_string(&scores).expect("json");
            shipping::award(conn, tender, bid, None, &explanation)?;
            shipping::assign(conn, s, couriers[i % couriers.len()], Some(3000), Some(tender))?;
        }
    }
    Ok(())
}

/// `count` more active couriers (no password anyone knows), each serving two regions.
fn write_couriers(conn: &mut DbConn, count: usize, at: NaiveDateTime) -> QueryResult<()> {
    for i in 0..count {
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::username.eq(format!("courier-page-{i:03}")),
                users::password_hash.eq("-"),
                users::role.eq("courier"),
                users::display_name.eq(format!("Courier {i}")),
                users::active.eq(true),
                users::created_at.eq(at),
            ))
            .returning(users::id)
            .get_result(conn)?;
        shipping::add_area(conn, id, "Zhejiang")?;
        shipping::add_area(conn, id, if i % 2 == 0 { "Jiangsu" } else { "Anhui" })?;
    }
    Ok(())
}

/// `LARGE` product units, each of its own model (with a component warranty and an inspection
/// record), serials first in order.
fn write_units(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<()> {
    use echelon::catalogue::store::models::{self, NewModel};
    use echelon::catalogue::store::units::{self, NewComponent, NewUnit};
    let launch = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
    let new: Vec<NewModel> = (0..LARGE)
        .map(|i| NewModel {
            code: format!("PAGE-{i:03}"),
            line: "RF".into(),
            name: format!("Page model {i}"),
            launch_date: launch,
            end_of_production: None,
            warranty_months: 12 + i as i32 % 4 * 12,
            created_at: at,
        })
        .collect();
    let ids = models::insert_many(conn, &new)?;
    let terms: Vec<(i64, String, i32)> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, (id, _))| (*id, "CMP".into(), 120))
        .collect();
    models::insert_warranties(conn, &terms)?;
    let new: Vec<NewUnit> = ids
        .iter()
        .enumerate()
        .map(|(i, (model, _))| NewUnit {
            serial: format!("AA{i:08}"),
            model_id: *model,
            ship_date: launch + Duration::days(i as i64),
            region: "Zhejiang".into(),
            created_at: at,
        })
        .collect();
    let units = units::insert_many(conn, &new)?;
    let components: Vec<NewComponent> = units
        .iter()
        .map(|(id, serial)| NewComponent {
            unit_id: *id,
            family: "CMP".into(),
            part_id: None,
            serial: Some(format!("CMP{serial}")),
            production_date: None,
        })
        .collect();
    units::insert_components(conn, &components)?;
    Ok(())
}

/// GETs a list as `user`; returns the answer and the statements the request ran.
async fn list(app: &TestApp, user: &str, path: &str) -> (serde_json::Value, u64) {
    let token = app.token(user).await;
    let before = app.state.db.statements.get();
    let r = app.send(reqwest::Method::GET, path, Some(&token), None).await;
    let ran = app.state.db.statements.get() - before;
    eprintln!("{:?} {user} {path}: {ran} statements", app.backend);
    (r.ok().clone(), ran)
}

both!(the_tender_courier_and_unit_lists_run_as_many_statements_for_100_rows_as_for_10, |app| async {
    let at = NaiveDate::from_ymd_opt(2025, 6, 2).and_then(|d| d.and_hms_opt(8, 0, 0)).expect("a time");
    app.state.db.write(move |conn| Ok(write_tenders(conn, at)?)).await.expect("the tenders are written");
    app.state.db.write(move |conn| Ok(write_units(conn, at)?)).await.expect("the units are written");
    app.history_imported().await;
    let mut counts = Vec::new();
    // tenders: every bid scored against its courier's record; a courier sees the tenders of
    // lanes it serves and its own bids, a warehouse those of its locations
    for user in ["admin", "courier-1", "warehouse-rc-hz"] {
        let (small, few) = list(&app, user, &format!("/api/v1/tenders?limit={SMALL}")).await;
        let (large, many) = list(&app, user, &format!("/api/v1/tenders?limit={LARGE}")).await;
        assert_eq!(small["items"].as_array().map(Vec::len), Some(SMALL), "{user}");
        assert_eq!(large["items"].as_array().map(Vec::len), Some(LARGE), "{user}");
        assert_eq!(few, many, "{user}: statements for {SMALL} and for {LARGE} tenders");
        counts.push(("tenders", many));
    }
    let (tenders, _) = list(&app, "admin", "/api/v1/tenders?limit=3").await;
    let open = &tenders["items"][0];
    assert_eq!((open["origin"].as_str(), open["destination"].as_str()), (Some("RC-HZ"), Some("ST-TZ-001")));
    assert_eq!(open["bids"].as_array().map(Vec::len), Some(3));
    assert_eq!(open["shipment_ids"].as_array().map(Vec::len), Some(1));
    assert!(open["bids"][0]["score"]["total"].is_number(), "{open}");
    let (mine, _) = list(&app, "courier-1", "/api/v1/tenders?limit=3").await;
    assert_eq!(mine["items"][0]["bids"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["items"][0]["bids"][0]["courier"], "courier-1");

    // couriers: as many statements for three as for sixty more
    let (three, few) = list(&app, "admin", "/api/v1/couriers").await;
    app.state
        .db
        .write(move |conn| Ok(write_couriers(conn, 60, at)?))
        .await
        .expect("the couriers are written");
    let (more, many) = list(&app, "admin", "/api/v1/couriers").await;
    assert_eq!((three.as_array().map(Vec::len), more.as_array().map(Vec::len)), (Some(3), Some(63)));
    assert_eq!(few, many, "statements for 3 and for 63 couriers");
    counts.push(("couriers", many));
    let one = more.as_array().unwrap().iter().find(|c| c["username"] == "courier-1").expect("courier-1");
    assert_eq!(one["record"]["delivered"], 4);
    assert!(one["service_areas"].as_array().is_some_and(|a| a.len() > 1), "{one}");
    let (me, _) = list(&app, "courier-1", "/api/v1/couriers").await;
    assert_eq!(me.as_array().map(Vec::len), Some(1));

    // units: each of its own model
    let (small, few) = list(&app, "admin", &format!("/api/v1/units?limit={SMALL}")).await;
    let (large, many) = list(&app, "admin", &format!("/api/v1/units?limit={LARGE}")).await;
    assert_eq!(small["items"].as_array().map(Vec::len), Some(SMALL));
    assert_eq!(large["items"].as_array().map(Vec::len), Some(LARGE));
    assert_eq!(few, many, "statements for {SMALL} and for {LARGE} units");
    counts.push(("units", many));
    let first = &large["items"][0];
    assert_eq!((first["serial"].as_str(), first["model"].as_str()), (Some("AA00000000"), Some("PAGE-000")));
    assert_eq!(first["warranty"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["components"][0]["serial"], "CMPAA00000000");
    assert!(counts.iter().all(|(_, ran)| *ran <= BOUND), "statements per list (at most {BOUND}): {counts:?}");
});
