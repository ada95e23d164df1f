-- Issue 12: a running outstanding value per station (spec section 5's allowance check), kept in
-- the same transaction as every change of what it sums, so the check reads one column of the row
-- it locks instead of recomputing the station's stock, open allocations and backorders.
-- `parts_requests.outstanding_minor` is one request's share (its open allocations and backorders
-- at line cost while the request is open); `locations.outstanding_minor` is, for a station, its
-- stock and its technicians' custody at current cost plus its requests' shares (0 elsewhere).
-- `echelon audit` compares both with the sums recomputed from scratch.
ALTER TABLE parts_requests ADD COLUMN outstanding_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE locations ADD COLUMN outstanding_minor BIGINT NOT NULL DEFAULT 0;
UPDATE parts_requests AS r SET outstanding_minor = CAST(CASE
    WHEN r.status IN ('pending_approval', 'rejected', 'cancelled', 'closed') THEN 0
    ELSE COALESCE((SELECT SUM(a.qty * ln.unit_cost_minor) FROM request_allocations a
                     JOIN parts_request_lines ln ON ln.id = a.line_id
                     WHERE a.request_id = r.id AND a.status IN ('reserved', 'picked', 'shipped')), 0)
       + COALESCE((SELECT SUM(ln.backordered * ln.unit_cost_minor) FROM parts_request_lines ln
                     WHERE ln.request_id = r.id AND ln.backordered > 0), 0)
  END AS BIGINT);
UPDATE locations AS s SET outstanding_minor = CAST(
    COALESCE((SELECT SUM(b.on_hand * p.unit_cost_minor) FROM stock_balances b
                JOIN parts p ON p.id = b.part_id JOIN locations x ON x.id = b.location_id
                WHERE (x.id = s.id OR x.parent_id = s.id) AND b.on_hand > 0), 0)
  + COALESCE((SELECT SUM(r.outstanding_minor) FROM parts_requests r WHERE r.station_id = s.id), 0)
  AS BIGINT)
  WHERE s.kind = 'station';
