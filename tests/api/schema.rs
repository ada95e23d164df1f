//! `src/db/schema.rs` matches the migrations of both dialects: every column it names exists.

use diesel::prelude::*;
use echelon::db::schema::*;

use crate::both;

fn check(conn: &mut echelon::db::DbConn) -> Result<(), String> {
    macro_rules! probe {
        ($($t:ident),* $(,)?) => {$(
            $t::table.select($t::all_columns).limit(0).execute(conn).map_err(|e| format!("{}: {e}", stringify!($t)))?;
        )*};
    }
    probe!(
        tiers,
        tier_labour_rates,
        locations,
        station_values,
        station_value_slots,
        station_tier_history,
        users,
        login_failures
    );
    probe!(parts, product_models, model_component_warranties, compatibility, product_units, unit_components);
    probe!(unit_swaps);
    probe!(lateral_lanes, stock_movements, stock_balances, part_serials, parts_requests, parts_request_lines);
    probe!(request_allocations, idempotency_keys);
    probe!(
        courier_areas,
        rate_cards,
        tender_weights,
        tenders,
        shipments,
        shipment_lines,
        bids,
        tracking_events,
        claims
    );
    probe!(tickets, ticket_quotes, ticket_parts, ticket_events, follow_ups);
    probe!(demand_history, failure_rates, part_supply_terms, planning_runs, planning_proposals);
    probe!(loans, loan_lines, inspections);
    probe!(settlement_adjustments, settlement_periods, settlement_lines, settled_items);
    Ok(())
}

both!(every_schema_column_exists_in_the_database, |app| async {
    app.state.db.read(|conn| Ok(check(conn))).await.unwrap().unwrap();
});

// An allocation's line, request and part are one foreign key (migration
// `2026-12-01-000014_allocation_line_key`): a row naming another request or another part than
// its line's is refused by the database on both backends, and so is a line that does not exist.
both!(an_allocation_must_name_its_lines_request_and_part, |app| async {
    let part = app.part().create().await;
    let other_part = app.part().create().await;
    app.set_stock("RC-HZ", &part, 5).await;
    let first = app.request().line(&part, 2).send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = app.request().line(&part, 1).send().await;
    assert_eq!(second.status, 201, "{}", second.text);
    let (r1, r2) = (first.json["id"].as_i64().unwrap(), second.json["id"].as_i64().unwrap());
    {
        use diesel::connection::SimpleConnection;
        use diesel::r2d2::ManageConnection;
        let manager = echelon::db::Manager::new(&app.url).unwrap();
        let conn = &mut manager.connect().unwrap();
        let before: i64 = request_allocations::table.count().get_result(conn).unwrap();
        let line: (i64, i64, i64, i64) = request_allocations::table
            .filter(request_allocations::request_id.eq(r1))
            .select((
                request_allocations::line_id,
                request_allocations::request_id,
                request_allocations::part_id,
                request_allocations::source_id,
            ))
            .first(conn)
            .unwrap();
        let other_part_id: i64 =
            parts::table.filter(parts::code.eq(&other_part)).select(parts::id).first(conn).unwrap();
        let insert = |(line_id, request_id, part_id): (i64, i64, i64)| {
            format!(
                    "INSERT INTO request_allocations (request_id, line_id, part_id, source_id, qty, status, created_at, updated_at) \
                     VALUES ({request_id}, {line_id}, {part_id}, {}, 1, 'reserved', '2026-12-01 10:00:00', '2026-12-01 10:00:00')",
                    line.3
                )
        };
        let mut refused = |row: (i64, i64, i64)| {
            let e = conn.batch_execute(&insert(row)).expect_err("the database must refuse this allocation");
            assert!(e.to_string().to_lowercase().contains("foreign key"), "{e}");
        };
        refused((line.0, r2, line.2)); // another request than its line's
        refused((line.0, line.1, other_part_id)); // another part than its line's
        refused((line.0 + 1_000_000, line.1, line.2)); // no such line
                                                       // the row as the line has it is accepted (and rolled back)
        conn.batch_execute("BEGIN").unwrap();
        conn.batch_execute(&insert((line.0, line.1, line.2))).unwrap();
        conn.batch_execute("ROLLBACK").unwrap();
        let after: i64 = request_allocations::table.count().get_result(conn).unwrap();
        assert_eq!(after, before, "nothing was written");
    }
});

// A parts request's ticket is a foreign key (migration `2026-12-05-000018_request_ticket_key`):
// the database itself refuses a request naming a ticket that does not exist, on both backends.
both!(a_parts_request_must_name_a_ticket_that_exists, |app| async {
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 2).create().await;
    let ticket = app.ticket().at("ST-TZ-001").create().await;
    let id = app.request().line(&part, 1).for_ticket(ticket).create().await;
    use diesel::r2d2::ManageConnection;
    let manager = echelon::db::Manager::new(&app.url).unwrap();
    let conn = &mut manager.connect().unwrap();
    let refused = diesel::update(parts_requests::table.find(id))
        .set(parts_requests::ticket_id.eq(Some(ticket + 1_000_000)))
        .execute(conn)
        .expect_err("the database must refuse a dangling ticket id");
    assert!(refused.to_string().to_lowercase().contains("foreign key"), "{refused}");
    let kept: Option<i64> =
        parts_requests::table.find(id).select(parts_requests::ticket_id).first(conn).unwrap();
    assert_eq!(kept, Some(ticket));
    app.audit().await;
});
