# Sourced by bench/run.sh (FLOOR=1): `request_floor_script DB` prints a pgbench script sending the
# SQL statements echelon sends for one routed one-line parts request (as PostgreSQL's statement
# log shows them: the token's user, BEGIN, the station, its open loans, the reservation, the
# request's one insert, the event, the booking, COMMIT), for the stations and parts the load
# uses (ONE_STATION or SPREAD's, ECHELON_PARTS), on database DB. Differences from echelon: the
# station is read by id rather than code, and the booking and COMMIT are two round trips where
# echelon sends them as one batch. (pgbench reads `:name` as a variable even inside a quoted
# literal, so the event's JSON is cut after each colon.)
# VARIANT (second argument) takes statements away, to measure what a leaner request would reach:
#   full      the statements echelon sends (the default)
#   no-event  without the event's insert (an event written after the commit, from an outbox)
#   one-row   no event, and the request's one insert writes the request row alone (a one-line
#             request stored as one row, with its line and allocation in it)
#   minimal   one-row, and without the token's user and the open loan lines (both cached): BEGIN,
#             the station, the reservation, the row, the booking, COMMIT
#   fused     the same rows as full, in fewer round trips: one read (the token's user, the
#             station with its value and its open loan lines), BEGIN, one statement reserving and
#             writing request, line, allocation and event (a new object's first event: sequence
#             1) with the subscriptions, the booking, COMMIT
#   single    fused with the booking in the same statement, sent outside a transaction (the
#             statement is its own): two round trips, the same rows as full
#   single3   single with the token's user read on its own: three round trips (what echelon's
#             one-statement request sends)
#   single1   single without the read: one round trip. The statement's reservation holds only
#             while the token's user is as read before, the station active with the same open
#             loan lines and the master data's revision unchanged (what a request would send if the
#             service kept the station's terms between requests and let the statement check
#             that they still hold; the guards are evaluated, none refuses, so that every
#             request writes as echelon's would)
request_floor_script() {
  local db="$1" variant="${2:-full}" user="admin"
  [ -n "${ONE_STATION:-}" ] && user="station-$(echo "$ONE_STATION" | tr 'A-Z' 'a-z')"
  psql_ -At -F' ' -c "SELECT id FROM users WHERE username = '$user'" "$db" >"$work/floor.user"
  if [ -n "${ONE_STATION:-}" ]; then
    psql_ -At -F' ' -c "SELECT s.id, c.id, c.path FROM locations s JOIN locations c ON c.id = s.parent_id WHERE s.code = '$ONE_STATION'" "$db"
  else
    psql_ -At -F' ' -c "SELECT s.id, c.id, c.path FROM locations s JOIN locations c ON c.id = s.parent_id WHERE c.code = '$SPREAD' AND s.kind = 'station' ORDER BY s.id" "$db"
  fi >"$work/floor.stations"
  psql_ -At -F' ' -c "SELECT id, unit_cost_minor, code FROM parts WHERE code = ANY(string_to_array('$ECHELON_PARTS', ',')) ORDER BY id" "$db" >"$work/floor.parts"
  python3 - "$work/floor.user" "$work/floor.stations" "$work/floor.parts" "$user" "$variant" <<'PY'
import sys
variant = sys.argv[5]
assert variant in ("full", "no-event", "one-row", "minimal", "fused", "single", "single3", "single1"), variant
uid = open(sys.argv[1]).read().split()[0]
stations = [l.split() for l in open(sys.argv[2]) if l.strip()]
parts = [l.split() for l in open(sys.argv[3]) if l.strip()]
user = sys.argv[4]
source, path = stations[0][1], stations[0][2]
def case(var, values):
    return "case " + " ".join(f"when :{var} = {i + 1} then {v}" for i, v in enumerate(values)) + " end"
print(f"\\set k random(1, {len(parts)})")
print(f"\\set part {case('k', [p[0] for p in parts])}")
print(f"\\set cost {case('k', [p[1] for p in parts])}")
print(f"\\set j random(1, {len(stations)})")
print(f"\\set st {case('j', [s[0] for s in stations])}")
statements = f"""SELECT "users"."version", "users"."active" FROM "users" WHERE ("users"."id" = {uid}) LIMIT 1;
BEGIN;
SELECT l.id, l.code, l.name, l.kind, l.parent_id, l.path, l.region, l.city, l.address, l.tier, l.lead_time_days, l.active, (SELECT v.outstanding_minor FROM station_values v WHERE v.id = l.id) AS outstanding_minor, EXISTS (SELECT 1 FROM loans lo JOIN loan_lines lol ON lol.loan_id = lo.id WHERE lo.station_id = l.id AND lol.status = 'open') AS open_loans, (SELECT r.revision FROM master_revision r WHERE r.id = 1) AS revision FROM locations l WHERE l.id = :st;
SELECT "loans"."created_at", "tiers"."core_return_days", "loan_lines"."qty", "loan_lines"."unit_cost_minor" FROM ((("loan_lines" INNER JOIN "loans" ON ("loan_lines"."loan_id" = "loans"."id")) INNER JOIN "locations" ON ("locations"."id" = "loans"."station_id")) INNER JOIN "tiers" ON ("locations"."tier" = "tiers"."tier")) WHERE (("loan_lines"."status" = 'open') AND ("loans"."station_id" = :st));
UPDATE "stock_balances" SET "reserved" = ("stock_balances"."reserved" + 1) WHERE ((("stock_balances"."part_id" = :part) AND ("stock_balances"."location_id" = {source})) AND (("stock_balances"."on_hand" - "stock_balances"."reserved") >= 1)) RETURNING "stock_balances"."reserved";
WITH req AS (INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, value_minor, exceeds_by_minor, requested_by, created_at, updated_at, outstanding_minor) VALUES (:st, NULL, 'normal', 'allocated', NULL, :cost, NULL, '{user}', localtimestamp, localtimestamp, :cost) RETURNING id), l0 AS (INSERT INTO parts_request_lines (request_id, line_no, requested_code, part_id, qty, unit_cost_minor, backordered, first_source_id, first_filled, first_stockout, routed_at) SELECT req.id, 1, (SELECT code FROM parts WHERE id = :part), :part, 1, :cost, 0, {source}, 1, false, localtimestamp FROM req RETURNING id), a0 AS (INSERT INTO request_allocations (request_id, line_id, part_id, source_id, qty, status, created_at, updated_at) SELECT req.id, l0.id, :part, {source}, 1, 'reserved', localtimestamp, localtimestamp FROM req, l0 RETURNING id) SELECT req.id AS request_id, CAST(ARRAY[l0.id] AS BIGINT[]) AS line_ids, CAST(ARRAY[a0.id] AS BIGINT[]) AS allocation_ids FROM req, l0, a0 \\gset
WITH e AS (INSERT INTO events (event_type, object_kind, object_id, sequence, station_id, scope_path, payload, created_at) SELECT 'parts_request.allocated', 'parts_request', CAST(:request_id AS BIGINT), COALESCE(MAX(sequence), 0) + 1, CAST(:st AS BIGINT), concat('{path}', CAST(:st AS BIGINT), '/'), concat('{{"backordered_units":', '0,"id":', CAST(:request_id AS BIGINT), ',"station":', '"S","status":', '"allocated","ticket_id":', 'null,"urgency":', '"normal"}}'), localtimestamp FROM events WHERE object_kind = 'parts_request' AND object_id = CAST(:request_id AS BIGINT) RETURNING id) SELECT e.id AS event_id, s.id AS subscription_id, s.scope_path AS subscription_scope, s.event_types AS subscription_types FROM e LEFT JOIN webhook_subscriptions s ON s.active ORDER BY s.id;
SELECT echelon_station_value_add(CAST(:st AS BIGINT), CAST(:cost AS BIGINT), 9000000000000000);
COMMIT;""".split("\n")
user_read, begin, station, loans, reserve, insert, event, booking, commit = statements
if variant in ("one-row", "minimal"):
    insert = (f"INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, value_minor, exceeds_by_minor, "
              f"requested_by, created_at, updated_at, outstanding_minor) VALUES (:st, NULL, 'normal', 'allocated', NULL, :cost, "
              f"NULL, '{user}', localtimestamp, localtimestamp, :cost) RETURNING id;")
keep = [user_read, begin, station, loans, reserve, insert, event, booking, commit]
if variant in ("fused", "single", "single3", "single1"):
    read = (f"SELECT u.version, u.active, l.id, l.code, l.name, l.kind, l.parent_id, l.path, l.region, l.city, l.address, l.tier, "
            f"l.lead_time_days, l.active, (SELECT v.outstanding_minor FROM station_values v WHERE v.id = l.id) AS outstanding_minor, "
            f"(SELECT json_agg(json_build_array(lo.created_at, t.core_return_days, lol.qty, lol.unit_cost_minor)) FROM loan_lines lol "
            f"JOIN loans lo ON lol.loan_id = lo.id JOIN tiers t ON t.tier = l.tier WHERE lo.station_id = l.id AND lol.status = 'open') AS loans, "
            f"(SELECT r.revision FROM master_revision r WHERE r.id = 1) AS revision FROM users u, locations l WHERE u.id = {uid} AND l.id = :st;")
    # the booking as echelon's statement makes it: the slot of this server process when its budget
    # has room, the function only when not
    booked = (", bf AS (UPDATE station_value_slots s SET used_minor = s.used_minor + :cost FROM a0 WHERE s.station_id = :st "
              "AND s.slot = echelon_station_value_slot() AND s.used_minor::numeric + :cost <= s.budget_minor "
              "AND s.ceiling_minor <= 9000000000000000::numeric + :cost "
              "AND s.base_minor >= (SELECT v.outstanding_minor FROM station_values v WHERE v.id = :st) RETURNING 1), "
              "b AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM bf) THEN NULL ELSE echelon_station_value_add(CAST(:st AS BIGINT), "
              "CAST(:cost AS BIGINT), 9000000000000000) END FROM a0)") if variant != "fused" else ""
    fused = (f"WITH r AS (UPDATE stock_balances SET reserved = reserved + 1 WHERE part_id = :part AND location_id = {source} AND on_hand - reserved >= 1 RETURNING reserved), "
             f"req AS (INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, value_minor, exceeds_by_minor, requested_by, created_at, updated_at, outstanding_minor) "
             f"SELECT :st, NULL, 'normal', 'allocated', NULL, :cost, NULL, '{user}', localtimestamp, localtimestamp, :cost FROM r RETURNING id), "
             f"l0 AS (INSERT INTO parts_request_lines (request_id, line_no, requested_code, part_id, qty, unit_cost_minor, backordered, first_source_id, first_filled, first_stockout, routed_at) "
             f"SELECT req.id, 1, (SELECT code FROM parts WHERE id = :part), :part, 1, :cost, 0, {source}, 1, false, localtimestamp FROM req RETURNING id), "
             f"a0 AS (INSERT INTO request_allocations (request_id, line_id, part_id, source_id, qty, status, created_at, updated_at) "
             f"SELECT req.id, l0.id, :part, {source}, 1, 'reserved', localtimestamp, localtimestamp FROM req, l0 RETURNING id), "
             f"e AS (INSERT INTO events (event_type, object_kind, object_id, sequence, station_id, scope_path, payload, created_at) "
             f"SELECT 'parts_request.allocated', 'parts_request', req.id, 1, CAST(:st AS BIGINT), concat('{path}', CAST(:st AS BIGINT), '/'), "
             f"concat('{{\"backordered_units\":', '0,\"id\":', req.id, ',\"station\":', '\"S\",\"status\":', '\"allocated\",\"ticket_id\":', 'null,\"urgency\":', '\"normal\"}}'), localtimestamp FROM req RETURNING id)"
             f"{booked} "
             f"SELECT req.id, l0.id, a0.id, e.id, s.id, s.scope_path, s.event_types FROM req, l0, a0{', b' if booked else ''}, e LEFT JOIN webhook_subscriptions s ON s.active ORDER BY s.id;")
    keep = [read, begin, fused, booking, commit] if variant == "fused" else [read, fused]
    if variant == "single1":
        guard = (f"AND EXISTS (SELECT 1 FROM users u, locations l, master_revision r WHERE u.id = {uid} AND u.active AND u.version >= 0 "
                 f"AND l.id = :st AND l.active AND r.id = 1 AND r.revision >= 0 "
                 f"AND ARRAY(SELECT lol.id FROM loans lo JOIN loan_lines lol ON lol.loan_id = lo.id WHERE lo.station_id = :st AND lol.status = 'open' ORDER BY lol.id) IS NOT NULL) RETURNING reserved), ")
        keep = [fused.replace("RETURNING reserved), ", guard, 1)]
    if variant == "single3":
        keep = [user_read, read.replace("u.version, u.active, ", "").replace("FROM users u, locations l WHERE u.id = " + uid + " AND", "FROM locations l WHERE"), fused]
if variant in ("no-event", "one-row", "minimal"):
    keep.remove(event)
if variant == "minimal":
    keep.remove(user_read)
    keep.remove(loans)
print("\n".join(keep))
PY
}
