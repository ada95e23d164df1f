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
    probe!(tiers, tier_labour_rates, locations, station_tier_history, users);
    probe!(parts, product_models, model_component_warranties, compatibility, product_units, unit_components);
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
