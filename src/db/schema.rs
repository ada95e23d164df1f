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
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        location_id -> Nullable<BigInt>,
        display_name -> Text,
        active -> Bool,
        created_at -> Timestamp,
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

diesel::joinable!(tier_labour_rates -> tiers (tier));
diesel::joinable!(station_tier_history -> locations (location_id));
diesel::joinable!(users -> locations (location_id));

diesel::joinable!(model_component_warranties -> product_models (model_id));
diesel::joinable!(compatibility -> product_models (model_id));
diesel::joinable!(compatibility -> parts (part_id));
diesel::joinable!(product_units -> product_models (model_id));
diesel::joinable!(unit_components -> product_units (unit_id));
diesel::joinable!(unit_components -> parts (part_id));

diesel::joinable!(parts_request_lines -> parts_requests (request_id));
diesel::joinable!(request_allocations -> parts_request_lines (line_id));

diesel::joinable!(planning_proposals -> planning_runs (run_id));

diesel::allow_tables_to_appear_in_same_query!(
    demand_history,
    failure_rates,
    part_supply_terms,
    planning_runs,
    planning_proposals,
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
    station_tier_history,
    users,
    parts,
    product_models,
    model_component_warranties,
    compatibility,
    product_units,
    unit_components,
);
