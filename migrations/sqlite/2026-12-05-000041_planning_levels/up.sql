-- What a planning run shows for review (issue 25): per part, every location of the run's scope
-- it plans (a level, demand, or stock on hand), as a compact JSON array of
-- [location_id, class, reorder_point, order_up_to, on_hand, available, lead_days, demand_rate,
--  history_rate, causal_rate, pipeline_mean, pipeline_variance, expected_backorders,
--  expected_fill] (class: 0 central warehouse, 1 regional centre, 2-5 station of tier A-D),
-- in location id order. One row per part rather than per location: a run on a large network
-- plans millions of (part, location) pairs, as its proposals' lines are (see
-- planning_proposals). `figures`: the run's figures per echelon and tier, as JSON.
CREATE TABLE planning_levels (
    run_id  BIGINT  NOT NULL REFERENCES planning_runs (id),
    part_id BIGINT  NOT NULL REFERENCES parts (id),
    -- the number of locations in `levels`
    entries INTEGER NOT NULL CHECK (entries > 0),
    levels  TEXT    NOT NULL,
    PRIMARY KEY (run_id, part_id)
);
ALTER TABLE planning_runs ADD COLUMN figures TEXT;
