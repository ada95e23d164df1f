//! The ledger's invariants (spec section 4), checked by `echelon audit` and after every test:
//! each balance equals the sum of its movements; each part sums to zero over all locations;
//! no location holding goods is negative or over-reserved; reservations equal the open
//! allocations; each serialized unit's serial is where the ledger says the unit is; each part
//! consumed out of a technician's custody names the ticket it served. Archived months
//! (PostgreSQL, `echelon archive movements`) count through their opening figures, which must
//! equal what the archive tables still hold.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use crate::db::DbConn;
use crate::network::rules::LocationKind;

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    part_id: i64,
    #[diesel(sql_type = BigInt)]
    location_id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Balance {
    #[diesel(sql_type = BigInt)]
    part_id: i64,
    #[diesel(sql_type = BigInt)]
    location_id: i64,
    #[diesel(sql_type = BigInt)]
    on_hand: i64,
    #[diesel(sql_type = BigInt)]
    reserved: i64,
    #[diesel(sql_type = Bool)]
    physical: bool,
    #[diesel(sql_type = Text)]
    kind: LocationKind,
    #[diesel(sql_type = Text)]
    code: String,
}

fn load<T: QueryableByName<crate::db::MultiBackend> + 'static>(
    conn: &mut DbConn,
    sql: &str,
) -> QueryResult<Vec<T>> {
    diesel::sql_query(sql).load(conn)
}

/// What the movements add up to per (part, location): the opening figures of the archived
/// months (`stock_opening_balances`, empty until a month is archived) and the live movements.
const MOVEMENT_SUMS: &str = "SELECT part_id, location_id, CAST(SUM(delta) AS BIGINT) AS total FROM ( \
     SELECT part_id, location_id, qty AS delta FROM stock_opening_balances \
     UNION ALL SELECT part_id, to_location_id AS location_id, qty AS delta FROM stock_movements \
     UNION ALL SELECT part_id, from_location_id AS location_id, -qty AS delta FROM stock_movements \
   ) m GROUP BY part_id, location_id";

/// The opening figures as stored, and as the archived movements themselves add up.
const OPENING: &str = "SELECT part_id, location_id, qty AS total FROM stock_opening_balances";
const ARCHIVED_SUMS: &str = "SELECT part_id, location_id, CAST(SUM(delta) AS BIGINT) AS total FROM ( \
     SELECT part_id, to_location_id AS location_id, qty AS delta FROM stock_movements_archived \
     UNION ALL SELECT part_id, from_location_id AS location_id, -qty AS delta FROM stock_movements_archived \
   ) m GROUP BY part_id, location_id";

/// Up to 20 consumptions out of a technician's custody that name no ticket, archived or live.
const UNTIED: &str = "SELECT m.id AS part_id, m.from_location_id AS location_id, m.qty AS total \
   FROM stock_movements_history m JOIN locations l ON l.id = m.from_location_id \
   WHERE m.reason = 'consume' AND l.kind = 'technician' AND m.ticket_id IS NULL LIMIT 20";

const BALANCES: &str = "SELECT b.part_id, b.location_id, b.on_hand, b.reserved, b.physical, l.kind, l.code \
   FROM stock_balances b JOIN locations l ON l.id = b.location_id";

const OPEN_ALLOCATIONS: &str = "SELECT part_id, source_id AS location_id, CAST(SUM(qty) AS BIGINT) AS total \
   FROM request_allocations WHERE status IN ('reserved', 'picked') GROUP BY part_id, source_id";

const SERIAL_COUNTS: &str = "SELECT part_id, location_id, CAST(COUNT(*) AS BIGINT) AS total \
   FROM part_serials GROUP BY part_id, location_id";

const SERIALIZED_STOCK: &str = "SELECT b.part_id, b.location_id, b.on_hand AS total FROM stock_balances b \
   JOIN parts p ON p.id = b.part_id WHERE p.serialized AND b.physical AND b.on_hand <> 0";

const LINE_BACKORDERS: &str = "SELECT l.id AS part_id, l.request_id AS location_id, \
     CAST(l.qty - l.backordered - COALESCE((SELECT SUM(a.qty) FROM request_allocations a \
        WHERE a.line_id = l.id AND a.status NOT IN ('cancelled', 'damaged')), 0) AS BIGINT) AS total \
   FROM parts_request_lines l JOIN parts_requests r ON r.id = l.request_id \
   WHERE r.status NOT IN ('pending_approval', 'rejected', 'cancelled')";

/// Every breach of the ledger's invariants, in words.
pub fn breaches(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    let sums: HashMap<(i64, i64), i64> = load::<Sum>(conn, MOVEMENT_SUMS)?
        .into_iter()
        .map(|s| ((s.part_id, s.location_id), s.total))
        .collect();
    let balances = load::<Balance>(conn, BALANCES)?;
    let mut per_part: BTreeMap<i64, i64> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for b in &balances {
        seen.insert((b.part_id, b.location_id));
        let moved = sums.get(&(b.part_id, b.location_id)).copied().unwrap_or(0);
        if moved != b.on_hand {
            out.push(format!(
                "part {} at {}: balance {} but movements sum to {moved}",
                b.part_id, b.code, b.on_hand
            ));
        }
        *per_part.entry(b.part_id).or_default() += b.on_hand;
        let holds_goods = !b.kind.is_external();
        if b.physical != holds_goods {
            out.push(format!(
                "part {} at {}: balance marked physical={} for a {}",
                b.part_id, b.code, b.physical, b.kind
            ));
        }
        if holds_goods && b.on_hand < 0 {
            out.push(format!("part {} at {}: negative stock {}", b.part_id, b.code, b.on_hand));
        }
        if b.reserved < 0 || (holds_goods && b.reserved > b.on_hand) {
            out.push(format!(
                "part {} at {}: reserved {} of {} on hand",
                b.part_id, b.code, b.reserved, b.on_hand
            ));
        }
    }
    for ((part, loc), total) in &sums {
        if *total != 0 && !seen.contains(&(*part, *loc)) {
            out.push(format!(
                "part {part} at location {loc}: movements sum to {total} but there is no balance"
            ));
        }
    }
    for (part, total) in per_part {
        if total != 0 {
            out.push(format!("part {part}: balances over all locations sum to {total}, not 0"));
        }
    }
    // the archived months are carried as opening figures: they are what the archive tables
    // still add up to (so the ledger stays checked from its first movement)
    let opening: HashMap<(i64, i64), i64> =
        load::<Sum>(conn, OPENING)?.into_iter().map(|s| ((s.part_id, s.location_id), s.total)).collect();
    let archived: HashMap<(i64, i64), i64> = load::<Sum>(conn, ARCHIVED_SUMS)?
        .into_iter()
        .map(|s| ((s.part_id, s.location_id), s.total))
        .collect();
    let keys: std::collections::BTreeSet<(i64, i64)> =
        opening.keys().chain(archived.keys()).copied().collect();
    for (part, loc) in keys {
        let o = opening.get(&(part, loc)).copied().unwrap_or(0);
        let a = archived.get(&(part, loc)).copied().unwrap_or(0);
        if o != a {
            out.push(format!(
                "part {part} at location {loc}: opening figure {o} but the archived movements sum to {a}"
            ));
        }
    }
    // a part consumed out of a technician's custody went into a ticket's unit, and names that
    // ticket (settlement reconciles the consumption by it)
    for m in load::<Sum>(conn, UNTIED)? {
        out.push(format!(
            "movement {} consumes out of a technician's custody without naming its ticket",
            m.part_id
        ));
    }
    let open: HashMap<(i64, i64), i64> = load::<Sum>(conn, OPEN_ALLOCATIONS)?
        .into_iter()
        .map(|s| ((s.part_id, s.location_id), s.total))
        .collect();
    for b in &balances {
        let want = open.get(&(b.part_id, b.location_id)).copied().unwrap_or(0);
        if want != b.reserved {
            out.push(format!(
                "part {} at {}: {} reserved but open allocations hold {want}",
                b.part_id, b.code, b.reserved
            ));
        }
    }
    let serials: HashMap<(i64, i64), i64> = load::<Sum>(conn, SERIAL_COUNTS)?
        .into_iter()
        .map(|s| ((s.part_id, s.location_id), s.total))
        .collect();
    for s in load::<Sum>(conn, SERIALIZED_STOCK)? {
        let n = serials.get(&(s.part_id, s.location_id)).copied().unwrap_or(0);
        if n != s.total {
            out.push(format!(
                "serialized part {} at location {}: {} on hand but {n} serials there",
                s.part_id, s.location_id, s.total
            ));
        }
    }
    for l in load::<Sum>(conn, LINE_BACKORDERS)? {
        if l.total != 0 {
            out.push(format!(
                "request {} line {}: quantity, allocations and backorder disagree by {}",
                l.location_id, l.part_id, l.total
            ));
        }
    }
    Ok(out)
}
