//! States read back from the database: a status the code does not know is never turned into a
//! guessed state. Reading the row fails (500, the cause logged) and the audit names the row.

use diesel::prelude::*;
use echelon::db::schema::locations;
use echelon::shipping::rules::ShipmentStatus;
use echelon::shipping::store::{self as shipping, NewShipment};

use crate::both;
use crate::helpers::TestApp;
use crate::tickets::{intake, ticket, UNIT};

/// Writes a ticket's status straight into the database, past every rule.
async fn set_ticket_status(app: &TestApp, id: i64, status: &'static str) {
    app.state
        .db
        .write(move |conn| {
            diesel::sql_query(format!("UPDATE tickets SET status = '{status}' WHERE id = {id}"))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

both!(an_unknown_ticket_status_is_refused_on_read_and_named_by_the_audit, |app| async {
    let id = intake(&app, "agent", ticket(UNIT, Some("CMP"), "repair", "normal", None)).await;
    set_ticket_status(&app, id, "mislaid").await;

    app.get(&format!("/api/v1/tickets/{id}"), Some("agent")).await.problem(500);
    let breaches = app.state.db.read(|conn| Ok(echelon::audit::run(conn)?)).await.expect("the audit runs");
    let named = format!("tickets {id}: status \"mislaid\" is not a Status (open, quoted, ");
    assert!(breaches.iter().any(|b| b.starts_with(&named)), "{breaches:#?}");

    // put it back, so the audit at the end is clean
    set_ticket_status(&app, id, "open").await;
});

/// Writes a word straight into one column of one row, past every rule.
async fn set_word(app: &TestApp, table: &'static str, column: &'static str, id: i64, word: &'static str) {
    app.state
        .db
        .write(move |conn| {
            diesel::sql_query(format!("UPDATE {table} SET {column} = '{word}' WHERE id = {id}"))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

/// The audit's breaches, which must include one starting with each of `named`.
async fn audit_names(app: &TestApp, named: &[String]) {
    let breaches = app.state.db.read(|conn| Ok(echelon::audit::run(conn)?)).await.expect("the audit runs");
    for n in named {
        assert!(breaches.iter().any(|b| b.starts_with(n.as_str())), "{n}\n{breaches:#?}");
    }
}

both!(an_unknown_shipment_status_or_location_kind_is_refused_on_read_and_named_by_the_audit, |app| async {
    // a shipment from the centre to a station, waiting for a tender
    let shipment = app
        .state
        .db
        .write(|conn| {
            let id = |code: &str| {
                locations::table.filter(locations::code.eq(code.to_string())).select(locations::id)
            };
            let hz: i64 = id("RC-HZ").first(conn)?;
            let tz: i64 = id("ST-TZ-001").first(conn)?;
            let at = chrono::Utc::now().naive_utc();
            Ok(shipping::insert_shipment(
                conn,
                &NewShipment {
                    request_id: None,
                    origin_id: hz,
                    destination_id: tz,
                    urgency: "normal",
                    weight_grams: 1000,
                    deliver_by: at + chrono::Duration::days(2),
                    status: ShipmentStatus::AwaitingTender,
                    courier_id: None,
                    price_minor: None,
                    damaged_units: 0,
                    created_at: at,
                },
            )?)
        })
        .await
        .expect("a shipment");
    let path = format!("/api/v1/shipments/{shipment}");
    assert_eq!(app.get(&path, Some("admin")).await.ok()["status"], "awaiting_tender");

    set_word(&app, "shipments", "status", shipment, "mislaid").await;
    // no guessed state: the read fails, in the list too
    app.get(&path, Some("admin")).await.problem(500);
    app.get("/api/v1/shipments", Some("admin")).await.problem(500);
    audit_names(
        &app,
        &[format!(
            "shipments {shipment}: status \"mislaid\" is not a ShipmentStatus (awaiting_tender, tendered, "
        )],
    )
    .await;
    set_word(&app, "shipments", "status", shipment, "awaiting_tender").await;
    assert_eq!(app.get(&path, Some("admin")).await.ok()["status"], "awaiting_tender");

    // a station whose kind is a word the code does not know: not read as a station (or as
    // anything else)
    let station: i64 = app
        .state
        .db
        .read(|conn| {
            Ok(locations::table.filter(locations::code.eq("ST-TZ-001")).select(locations::id).first(conn)?)
        })
        .await
        .unwrap();
    set_word(&app, "locations", "kind", station, "depot").await;
    app.get("/api/v1/locations/ST-TZ-001", Some("admin")).await.problem(500);
    audit_names(
        &app,
        &[
            format!("locations {station}: kind \"depot\" is not a LocationKind (central_warehouse, "),
            "the other checks could not run: ".to_string(),
        ],
    )
    .await;
    set_word(&app, "locations", "kind", station, "station").await;
    assert_eq!(app.get("/api/v1/locations/ST-TZ-001", Some("admin")).await.ok()["kind"], "station");
});
