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

diesel::joinable!(tier_labour_rates -> tiers (tier));
diesel::joinable!(station_tier_history -> locations (location_id));
diesel::joinable!(users -> locations (location_id));

diesel::allow_tables_to_appear_in_same_query!(
    tiers,
    tier_labour_rates,
    locations,
    station_tier_history,
    users,
);
