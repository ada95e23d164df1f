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
