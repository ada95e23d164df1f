// The diesel schema shared by both backends (the MultiConnection speaks the common subset:
// BigInt ids, Text, Bool, Integer, Timestamp in UTC, Date). Kept equal to the migrations in
// `migrations/postgres` and `migrations/sqlite`; `tests/api/schema.rs` checks that every column
// named here exists on both backends.

diesel::table! {
    tiers (tier) {
        tier -> Text,
        credit_allowance_minor -> BigInt,
        may_order_from_hq -> Bool,
        allocation_priority -> Integer,
        core_return_days -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tier_labour_rates (tier, job_type) {
        tier -> Text,
        job_type -> Text,
        rate_minor -> BigInt,
    }
}

diesel::table! {
    locations (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<BigInt>,
        path -> Text,
        region -> Nullable<Text>,
        city -> Nullable<Text>,
        address -> Nullable<Text>,
        tier -> Nullable<Text>,
        lead_time_days -> Nullable<Integer>,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// a location's running outstanding value (0 but for a station; `outstanding`): its base
    station_values (id) {
        id -> BigInt,
        outstanding_minor -> BigInt,
    }
}

diesel::table! {
    /// a station's value slots, each with a budget of the room under its allowance
    /// (PostgreSQL's escrow; `outstanding`)
    station_value_slots (station_id, slot) {
        station_id -> BigInt,
        slot -> SmallInt,
        used_minor -> BigInt,
        budget_minor -> BigInt,
        ceiling_minor -> BigInt,
        base_minor -> BigInt,
    }
}

diesel::table! {
    station_tier_history (id) {
        id -> BigInt,
        location_id -> BigInt,
        tier -> Text,
        effective_from -> Date,
        reason -> Nullable<Text>,
        changed_by -> Nullable<Text>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (scope, subject) {
        scope -> Text,
        subject -> Text,
        window_start -> Timestamp,
        failures -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        location_id -> Nullable<BigInt>,
        display_name -> Text,
        active -> Bool,
        created_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    parts (id) {
        id -> BigInt,
        code -> Text,
        line -> Text,
        family -> Text,
        seq -> Integer,
        name -> Text,
        unit_of_measure -> Text,
        unit_cost_minor -> BigInt,
        sale_price_minor -> BigInt,
        serialized -> Bool,
        core_returnable -> Bool,
        weight_grams -> Integer,
        lifecycle -> Text,
        superseded_by -> Nullable<BigInt>,
        interchangeability -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    product_models (id) {
        id -> BigInt,
        code -> Text,
        line -> Text,
        name -> Text,
        launch_date -> Date,
        end_of_production -> Nullable<Date>,
        warranty_months -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    model_component_warranties (model_id, family) {
        model_id -> BigInt,
        family -> Text,
        months -> Integer,
    }
}

diesel::table! {
    compatibility (model_id, part_id) {
        model_id -> BigInt,
        part_id -> BigInt,
        qty_per_unit -> Integer,
    }
}

diesel::table! {
    product_units (id) {
        id -> BigInt,
        serial -> Text,
        model_id -> BigInt,
        ship_date -> Date,
        region -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    unit_components (id) {
        id -> BigInt,
        unit_id -> BigInt,
        family -> Text,
        part_id -> Nullable<BigInt>,
        serial -> Nullable<Text>,
        production_date -> Nullable<Date>,
    }
}

diesel::table! {
    unit_swaps (id) {
        id -> BigInt,
        unit_id -> BigInt,
        ticket_id -> BigInt,
        family -> Text,
        part_id -> BigInt,
        old_serial -> Nullable<Text>,
        old_production_date -> Nullable<Date>,
        new_serial -> Nullable<Text>,
        swapped_by -> Text,
        swapped_at -> Timestamp,
    }
}

diesel::table! {
    lateral_lanes (centre_id, neighbour_id) {
        centre_id -> BigInt,
        neighbour_id -> BigInt,
        priority -> Integer,
        lead_time_days -> Integer,
    }
}

diesel::table! {
    stock_movements (id) {
        id -> BigInt,
        part_id -> BigInt,
        qty -> BigInt,
        from_location_id -> BigInt,
        to_location_id -> BigInt,
        reason -> Text,
        reference -> Nullable<Text>,
        actor -> Nullable<Text>,
        at -> Timestamp,
        serials -> Nullable<Text>,
        ticket_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    stock_balances (part_id, location_id) {
        part_id -> BigInt,
        location_id -> BigInt,
        on_hand -> BigInt,
        reserved -> BigInt,
        physical -> Bool,
    }
}

diesel::table! {
    part_serials (part_id, serial) {
        part_id -> BigInt,
        serial -> Text,
        location_id -> BigInt,
    }
}

diesel::table! {
    parts_requests (id) {
        id -> BigInt,
        station_id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        urgency -> Text,
        status -> Text,
        source_id -> Nullable<BigInt>,
        value_minor -> BigInt,
        exceeds_by_minor -> Nullable<BigInt>,
        requested_by -> Text,
        decided_by -> Nullable<Text>,
        decision_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        outstanding_minor -> BigInt,
    }
}

diesel::table! {
    parts_request_lines (id) {
        id -> BigInt,
        request_id -> BigInt,
        line_no -> Integer,
        requested_code -> Text,
        part_id -> BigInt,
        qty -> BigInt,
        unit_cost_minor -> BigInt,
        backordered -> BigInt,
        first_source_id -> Nullable<BigInt>,
        first_filled -> BigInt,
        first_stockout -> Bool,
        routed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    request_allocations (id) {
        id -> BigInt,
        request_id -> BigInt,
        line_id -> BigInt,
        part_id -> BigInt,
        source_id -> BigInt,
        qty -> BigInt,
        status -> Text,
        serials -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        from_backorder -> Bool,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> BigInt,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    courier_areas (courier_id, region) {
        courier_id -> BigInt,
        region -> Text,
    }
}

diesel::table! {
    rate_cards (courier_id, origin_region, dest_region) {
        courier_id -> BigInt,
        origin_region -> Text,
        dest_region -> Text,
        base_minor -> BigInt,
        per_kg_minor -> BigInt,
        transit_hours -> Integer,
    }
}

diesel::table! {
    tender_weights (id) {
        id -> Integer,
        price_weight -> Integer,
        late_weight -> Integer,
        damage_weight -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tenders (id) {
        id -> BigInt,
        origin_id -> BigInt,
        destination_id -> BigInt,
        weight_grams -> BigInt,
        deliver_by -> Timestamp,
        bid_deadline -> Timestamp,
        status -> Text,
        awarded_bid_id -> Nullable<BigInt>,
        override_reason -> Nullable<Text>,
        explanation -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    shipments (id) {
        id -> BigInt,
        request_id -> Nullable<BigInt>,
        origin_id -> BigInt,
        destination_id -> BigInt,
        urgency -> Text,
        weight_grams -> BigInt,
        deliver_by -> Timestamp,
        status -> Text,
        courier_id -> Nullable<BigInt>,
        tender_id -> Nullable<BigInt>,
        price_minor -> Nullable<BigInt>,
        picked_up_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        received_at -> Nullable<Timestamp>,
        damaged_units -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    shipment_lines (shipment_id, allocation_id) {
        shipment_id -> BigInt,
        allocation_id -> BigInt,
        part_id -> BigInt,
        qty -> BigInt,
    }
}

diesel::table! {
    bids (id) {
        id -> BigInt,
        tender_id -> BigInt,
        courier_id -> BigInt,
        price_minor -> BigInt,
        transit_hours -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tracking_events (id) {
        id -> BigInt,
        shipment_id -> BigInt,
        kind -> Text,
        at -> Timestamp,
        note -> Nullable<Text>,
        actor -> Text,
    }
}

diesel::table! {
    claims (id) {
        id -> BigInt,
        shipment_id -> BigInt,
        request_id -> Nullable<BigInt>,
        courier_id -> Nullable<BigInt>,
        part_id -> BigInt,
        qty -> BigInt,
        amount_minor -> BigInt,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        channel -> Text,
        category -> Text,
        urgency -> Text,
        status -> Text,
        customer_name -> Text,
        customer_phone -> Text,
        customer_address -> Text,
        customer_region -> Text,
        unit_id -> BigInt,
        fault -> Text,
        component_family -> Nullable<Text>,
        warranty -> Text,
        warranty_covers -> Text,
        warranty_until -> Nullable<Date>,
        warranty_reason -> Text,
        station_id -> Nullable<BigInt>,
        technician_id -> Nullable<BigInt>,
        job_type -> Nullable<Text>,
        cause -> Nullable<Text>,
        respond_by -> Nullable<Timestamp>,
        resolve_by -> Nullable<Timestamp>,
        decide_by -> Nullable<Timestamp>,
        responded_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        confirmed_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        followup_sampled_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ticket_quotes (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        job_type -> Text,
        labour_minor -> BigInt,
        parts_minor -> BigInt,
        total_minor -> BigInt,
        status -> Text,
        note -> Nullable<Text>,
        quoted_by -> Text,
        quoted_at -> Timestamp,
        accepted_by -> Nullable<Text>,
        accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ticket_parts (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        quote_id -> Nullable<BigInt>,
        visit -> Integer,
        part_id -> BigInt,
        requested_code -> Text,
        qty -> BigInt,
        unit_cost_minor -> BigInt,
        sale_price_minor -> BigInt,
        recorded_by -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        at -> Timestamp,
        station_id -> Nullable<BigInt>,
        technician_id -> Nullable<BigInt>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    follow_ups (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        station_id -> Nullable<BigInt>,
        technician_id -> Nullable<BigInt>,
        completed_at -> Timestamp,
        due_by -> Timestamp,
        status -> Text,
        satisfaction -> Nullable<Integer>,
        technician_conduct -> Nullable<Text>,
        fee_reasonable -> Nullable<Bool>,
        note -> Nullable<Text>,
        sampled_by -> Text,
        sampled_at -> Timestamp,
        recorded_by -> Nullable<Text>,
        recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    demand_history (part_id, location_id, week) {
        part_id -> BigInt,
        location_id -> BigInt,
        week -> Date,
        qty -> BigInt,
    }
}

diesel::table! {
    failure_rates (part_id, model_id) {
        part_id -> BigInt,
        model_id -> BigInt,
        per_million_years -> BigInt,
    }
}

diesel::table! {
    part_supply_terms (part_id) {
        part_id -> BigInt,
        supplier_lead_days -> Integer,
    }
}

diesel::table! {
    planning_runs (id) {
        id -> BigInt,
        policy -> Text,
        scope_location_id -> BigInt,
        target_fill_bp -> Nullable<Integer>,
        service_level_bp -> Nullable<Integer>,
        budget_minor -> Nullable<BigInt>,
        expected_fill_bp -> Nullable<Integer>,
        parts -> Integer,
        locations -> Integer,
        target_value_minor -> BigInt,
        transfers -> Integer,
        purchases -> Integer,
        lines -> Integer,
        proposed_value_minor -> BigInt,
        duration_ms -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        figures -> Nullable<Text>,
    }
}

diesel::table! {
    planning_levels (run_id, part_id) {
        run_id -> BigInt,
        part_id -> BigInt,
        entries -> Integer,
        levels -> Text,
    }
}

diesel::table! {
    planning_proposals (id) {
        id -> BigInt,
        run_id -> BigInt,
        kind -> Text,
        source_id -> BigInt,
        destination_id -> BigInt,
        lines -> Text,
        line_count -> Integer,
        units -> BigInt,
        value_minor -> BigInt,
        status -> Text,
        released_by -> Nullable<Text>,
        released_at -> Nullable<Timestamp>,
        reference -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    loans (id) {
        id -> BigInt,
        station_id -> BigInt,
        technician_id -> BigInt,
        custody_id -> BigInt,
        ticket_id -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    loan_lines (id) {
        id -> BigInt,
        loan_id -> BigInt,
        line_no -> Integer,
        part_id -> BigInt,
        qty -> BigInt,
        unit_cost_minor -> BigInt,
        serials -> Nullable<Text>,
        status -> Text,
        fee_minor -> Nullable<BigInt>,
        old_serial -> Nullable<Text>,
        old_production_date -> Nullable<Date>,
        reconciled_by -> Nullable<Text>,
        reconciled_at -> Nullable<Timestamp>,
        core_mismatches -> Integer,
        station_id -> BigInt,
        requested_part_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    inspections (id) {
        id -> BigInt,
        loan_line_id -> BigInt,
        station_id -> BigInt,
        part_id -> BigInt,
        qty -> BigInt,
        serials -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settlement_adjustments (id) {
        id -> BigInt,
        station_id -> BigInt,
        requested_period -> Text,
        period -> Text,
        amount_minor -> BigInt,
        reason -> Text,
        posted_by -> Text,
        posted_at -> Timestamp,
    }
}

diesel::table! {
    settlement_periods (period) {
        period -> Text,
        closed_at -> Timestamp,
        closed_by -> Text,
        lines -> BigInt,
        net_minor -> BigInt,
        reconciliation -> Text,
    }
}

diesel::table! {
    settlement_lines (id) {
        id -> BigInt,
        period -> Text,
        station_id -> BigInt,
        station_code -> Text,
        kind -> Text,
        item_date -> Date,
        reference -> Text,
        tier -> Nullable<Text>,
        job_type -> Nullable<Text>,
        warranty -> Nullable<Text>,
        parts_qty -> BigInt,
        labour_minor -> BigInt,
        parts_sold_minor -> BigInt,
        warranty_parts_minor -> BigInt,
        parts_cost_minor -> BigInt,
        overdue_cores_minor -> BigInt,
        adjustments_minor -> BigInt,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    settled_items (kind, item_id) {
        kind -> Text,
        item_id -> BigInt,
        period -> Text,
    }
}

diesel::table! {
    kpi_station_days (day, station_id) {
        day -> Date,
        station_id -> BigInt,
        units -> BigInt,
        first_units -> BigInt,
        lines -> BigInt,
        first_lines -> BigInt,
        units_in_time -> BigInt,
    }
}

diesel::table! {
    kpi_stockout_marks (day, station_id, part_id, source_id) {
        day -> Date,
        station_id -> BigInt,
        part_id -> BigInt,
        source_id -> BigInt,
        stockout -> Integer,
    }
}

diesel::table! {
    kpi_delivery_days (day, destination_id, origin_id, courier_id) {
        day -> Date,
        destination_id -> BigInt,
        origin_id -> BigInt,
        courier_id -> BigInt,
        delivered -> BigInt,
        on_time -> BigInt,
    }
}

diesel::table! {
    kpi_outflow_days (day, location_id) {
        day -> Date,
        location_id -> BigInt,
        outflow_minor -> BigInt,
    }
}

diesel::table! {
    kpi_triples_centre (day, centre_id, part_id, source_id) {
        day -> Date,
        centre_id -> BigInt,
        part_id -> BigInt,
        source_id -> BigInt,
        stockout -> Integer,
    }
}

diesel::table! {
    kpi_triples_tier (day, tier, part_id, source_id) {
        day -> Date,
        tier -> Text,
        part_id -> BigInt,
        source_id -> BigInt,
        stockout -> Integer,
    }
}

diesel::table! {
    kpi_triples_network (day, part_id, source_id) {
        day -> Date,
        part_id -> BigInt,
        source_id -> BigInt,
        stockout -> Integer,
    }
}

diesel::table! {
    kpi_closed (id) {
        id -> Integer,
        closed_before -> Date,
    }
}

diesel::table! {
    kpi_ticket_cycles (ticket_id) {
        ticket_id -> BigInt,
        station_id -> BigInt,
        created_at -> Timestamp,
        resolved_at -> Timestamp,
        requested_at -> Nullable<Timestamp>,
        received_at -> Nullable<Timestamp>,
        cycle_secs -> BigInt,
        wait_secs -> Nullable<BigInt>,
    }
}

diesel::table! {
    kpi_station_months (day, station_id) {
        day -> Date,
        station_id -> BigInt,
        units -> BigInt,
        first_units -> BigInt,
        lines -> BigInt,
        first_lines -> BigInt,
        units_in_time -> BigInt,
    }
}

diesel::table! {
    kpi_delivery_months (day, destination_id, origin_id, courier_id) {
        day -> Date,
        destination_id -> BigInt,
        origin_id -> BigInt,
        courier_id -> BigInt,
        delivered -> BigInt,
        on_time -> BigInt,
    }
}

diesel::table! {
    kpi_outflow_months (day, location_id) {
        day -> Date,
        location_id -> BigInt,
        outflow_minor -> BigInt,
    }
}

diesel::table! {
    kpi_cycles_network (day, series, bucket) {
        day -> Date,
        series -> Integer,
        bucket -> BigInt,
        tickets -> BigInt,
    }
}

diesel::table! {
    kpi_cycles_centre (day, centre_id, series, bucket) {
        day -> Date,
        centre_id -> BigInt,
        series -> Integer,
        bucket -> BigInt,
        tickets -> BigInt,
    }
}

diesel::table! {
    kpi_cycles_tier (day, tier, series, bucket) {
        day -> Date,
        tier -> Text,
        series -> Integer,
        bucket -> BigInt,
        tickets -> BigInt,
    }
}

diesel::table! {
    kpi_stock_days (day, location_id) {
        day -> Date,
        location_id -> BigInt,
        value_minor -> BigInt,
    }
}

diesel::table! {
    kpi_stock_months (day, location_id) {
        day -> Date,
        location_id -> BigInt,
        value_minor -> BigInt,
    }
}

diesel::table! {
    event_log (id) {
        id -> Integer,
        kept_since -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        event_type -> Text,
        object_kind -> Text,
        object_id -> BigInt,
        sequence -> BigInt,
        station_id -> Nullable<BigInt>,
        scope_path -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> BigInt,
        owner_id -> BigInt,
        scope_path -> Nullable<Text>,
        url -> Text,
        event_types -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<Timestamp>,
        active -> Bool,
        paused_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        event_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_latency_ms -> Nullable<BigInt>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        latency_ms -> BigInt,
    }
}

diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(tier_labour_rates -> tiers (tier));
diesel::joinable!(station_tier_history -> locations (location_id));
diesel::joinable!(station_values -> locations (id));
diesel::joinable!(station_value_slots -> station_values (station_id));
diesel::joinable!(users -> locations (location_id));

diesel::joinable!(model_component_warranties -> product_models (model_id));
diesel::joinable!(compatibility -> product_models (model_id));
diesel::joinable!(compatibility -> parts (part_id));
diesel::joinable!(product_units -> product_models (model_id));
diesel::joinable!(unit_components -> product_units (unit_id));
diesel::joinable!(unit_components -> parts (part_id));

diesel::joinable!(parts_request_lines -> parts_requests (request_id));
diesel::joinable!(request_allocations -> parts_request_lines (line_id));

diesel::joinable!(tickets -> product_units (unit_id));
diesel::joinable!(ticket_quotes -> tickets (ticket_id));
diesel::joinable!(ticket_parts -> tickets (ticket_id));
diesel::joinable!(ticket_parts -> parts (part_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(follow_ups -> tickets (ticket_id));

diesel::joinable!(planning_proposals -> planning_runs (run_id));
diesel::joinable!(planning_levels -> planning_runs (run_id));

diesel::joinable!(loan_lines -> loans (loan_id));

diesel::allow_tables_to_appear_in_same_query!(
    events,
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    settlement_adjustments,
    settlement_periods,
    settlement_lines,
    settled_items,
    loans,
    loan_lines,
    inspections,
    demand_history,
    failure_rates,
    part_supply_terms,
    planning_runs,
    planning_levels,
    planning_proposals,
    courier_areas,
    rate_cards,
    tender_weights,
    tenders,
    shipments,
    shipment_lines,
    bids,
    tracking_events,
    claims,
    lateral_lanes,
    stock_movements,
    stock_balances,
    part_serials,
    parts_requests,
    parts_request_lines,
    request_allocations,
    idempotency_keys,
    tiers,
    tier_labour_rates,
    locations,
    station_values,
    station_value_slots,
    station_tier_history,
    users,
    parts,
    product_models,
    model_component_warranties,
    compatibility,
    product_units,
    unit_components,
    unit_swaps,
    tickets,
    ticket_quotes,
    ticket_parts,
    ticket_events,
    follow_ups,
);
