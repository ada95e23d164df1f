//! Movements and balances in the database. `post` is the only way stock changes: it writes the
//! movement and updates both balances (and the serials) in the caller's transaction.
//!
//! Concurrency: every change of a balance is one conditional `UPDATE ... WHERE` that checks
//! the quantity it needs in the same statement (`on_hand - reserved >= n`). On PostgreSQL the
//! row lock taken by the UPDATE makes a concurrent UPDATE of the same row wait and then
//! re-evaluate its WHERE against the committed row, so two transactions can never both take
//! the last unit (no read-then-write gap, no SKIP LOCKED, no duplicate balance rows: balance
//! rows are created with `ON CONFLICT DO NOTHING` on the primary key). On SQLite writers are
//! serialised by `BEGIN IMMEDIATE`. The CHECK constraints on `stock_balances` are the backstop.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::Reason;
use crate::db::schema::{locations, part_serials, stock_balances, stock_movements};
use crate::db::{CachedExt, DbConn};
use crate::error::{AppError, Problem};
use crate::network::rules::LocationKind;

/// A location as the ledger needs it.
#[derive(Debug, Clone)]
pub struct Place {
    pub id: i64,
    pub code: String,
    pub kind: LocationKind,
}

impl Place {
    /// Real goods: never below zero.
    pub fn holds_goods(&self) -> bool {
        !self.kind.is_external()
    }

    /// A station or a technician's custody under one: what it holds counts towards the
    /// station's outstanding value.
    pub fn counts_towards_a_station(&self) -> bool {
        matches!(self.kind, LocationKind::Station | LocationKind::Technician)
    }
}

pub fn place_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Place>> {
    let row: Option<(i64, String, LocationKind)> = locations::table
        .filter(locations::code.eq(crate::network::rules::canonical_code(code)))
        .select((locations::id, locations::code, locations::kind))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, code, kind)| Place { id, code, kind }))
}

pub fn place_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Place> {
    let (id, code, kind): (i64, String, LocationKind) =
        locations::table.find(id).select((locations::id, locations::code, locations::kind)).first(conn)?;
    Ok(Place { id, code, kind })
}

/// The first place of `kind` right under `parent`, if any (a centre's bin of returned cores).
pub fn place_under(conn: &mut DbConn, parent_id: i64, kind: LocationKind) -> QueryResult<Option<Place>> {
    Ok(places_under(conn, parent_id, kind)?.into_iter().next())
}

/// The places of `kind` right under `parent`, oldest first (a station's technicians' custody).
pub fn places_under(conn: &mut DbConn, parent_id: i64, kind: LocationKind) -> QueryResult<Vec<Place>> {
    let found: Vec<(i64, String)> = locations::table
        .filter(locations::parent_id.eq(parent_id))
        .filter(locations::kind.eq(kind.as_str()))
        .select((locations::id, locations::code))
        .order(locations::id.asc())
        .load(conn)?;
    Ok(found.into_iter().map(|(id, code)| Place { id, code, kind }).collect())
}

/// Makes a place of `kind` right under `parent` the first time it is needed (a technician's
/// custody under its station, a centre's bin of returned cores). Two first uses at once: the
/// loser's transaction runs again, to find the winner's.
pub fn new_place_under(
    conn: &mut DbConn,
    parent: &crate::network::store::LocationRow,
    kind: LocationKind,
    code: &str,
    name: &str,
    at: NaiveDateTime,
) -> Result<Place, AppError> {
    let new = crate::network::store::NewLocation {
        code,
        name,
        kind: kind.as_str(),
        parent_id: Some(parent.id),
        path: "",
        region: parent.region.as_deref(),
        city: parent.city.as_deref(),
        address: None,
        tier: None,
        lead_time_days: None,
        active: true,
        created_at: at,
    };
    let id = crate::network::store::insert(conn, &new, Some(&parent.path)).map_err(|e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::retry_transaction()
        }
        e => e.into(),
    })?;
    Ok(Place { id, code: code.to_string(), kind })
}

/// The single location of a virtual kind (SUPPLIER, IN-TRANSIT, ...).
pub fn virtual_place(conn: &mut DbConn, kind: LocationKind) -> Result<Place, AppError> {
    let row: Option<(i64, String)> = locations::table
        .filter(locations::kind.eq(kind.as_str()))
        .select((locations::id, locations::code))
        .order(locations::id.asc())
        .first(conn)
        .optional()?;
    let (id, code) = row
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no {} location is configured", kind.as_str())))?;
    Ok(Place { id, code, kind })
}

/// One movement to post.
pub struct Move<'a> {
    pub part_id: i64,
    pub qty: i64,
    pub from: &'a Place,
    pub to: &'a Place,
    pub reason: Reason,
    pub reference: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub at: NaiveDateTime,
    pub serials: &'a [String],
    /// the units leave `from` out of a reservation made for them (a shipment of allocated
    /// stock), rather than out of what is available
    pub from_reserved: bool,
    /// the ticket the units serve (a loan's movements), which settlement reconciles by
    pub ticket_id: Option<i64>,
}

fn ensure_balance(conn: &mut DbConn, part_id: i64, place: &Place) -> QueryResult<()> {
    let row = (
        stock_balances::part_id.eq(part_id),
        stock_balances::location_id.eq(place.id),
        stock_balances::on_hand.eq(0i64),
        stock_balances::reserved.eq(0i64),
        stock_balances::physical.eq(place.holds_goods()),
    );
    crate::on_backend!(conn, |c| diesel::insert_into(stock_balances::table)
        .values(row)
        .on_conflict((stock_balances::part_id, stock_balances::location_id))
        .do_nothing()
        .execute(c))?;
    Ok(())
}

fn balance_row(
    part_id: i64,
    location_id: i64,
) -> stock_balances::BoxedQuery<'static, crate::db::MultiBackend> {
    stock_balances::table
        .filter(stock_balances::part_id.eq(part_id))
        .filter(stock_balances::location_id.eq(location_id))
        .into_boxed()
}

/// (on_hand, reserved) of a part at a location; zeros when never stocked.
pub fn balance(conn: &mut DbConn, part_id: i64, location_id: i64) -> QueryResult<(i64, i64)> {
    Ok(balance_row(part_id, location_id)
        .select((stock_balances::on_hand, stock_balances::reserved))
        .first(conn)
        .optional()?
        .unwrap_or((0, 0)))
}

/// [`balance`], its row locked to the transaction's end (PostgreSQL; SQLite's writers run one
/// at a time): for a change computed from it, such as a count's difference, so that two at once
/// run one after the other. A part never stocked at the place gets its (empty) row first, so
/// that there is a row to lock: two first counts at once wait for each other at its insert
/// rather than each computing from nothing, and every count takes the place's row before the
/// `ADJUSTMENT` row its movement meets.
pub fn balance_locked(conn: &mut DbConn, part_id: i64, place: &Place) -> QueryResult<(i64, i64)> {
    ensure_balance(conn, part_id, place)?;
    let DbConn::Pg(c) = conn else { return balance(conn, part_id, place.id) };
    stock_balances::table
        .filter(stock_balances::part_id.eq(part_id))
        .filter(stock_balances::location_id.eq(place.id))
        .select((stock_balances::on_hand, stock_balances::reserved))
        .for_update()
        .first(c)
}

pub fn available(conn: &mut DbConn, part_id: i64, location_id: i64) -> QueryResult<i64> {
    balance(conn, part_id, location_id).map(|(h, r)| h - r)
}

fn insufficient(conn: &mut DbConn, m: &Move<'_>) -> AppError {
    let (on_hand, reserved) = balance(conn, m.part_id, m.from.id).unwrap_or((0, 0));
    AppError::conflict(
        Problem::InsufficientStock,
        format!(
            "{} holds {} available ({} on hand, {} reserved); {} cannot leave it",
            m.from.code,
            on_hand - reserved,
            on_hand,
            reserved,
            m.qty
        ),
    )
    .with("location", &m.from.code)
    .with("available", on_hand - reserved)
    .with("requested", m.qty)
}

/// Posts one movement: the movement row, both balances and the serials, or an error and
/// nothing (the caller's transaction rolls back).
pub fn post(conn: &mut DbConn, m: &Move<'_>) -> Result<i64, AppError> {
    use stock_balances::dsl::{location_id, on_hand, part_id, reserved};
    if m.from.id == m.to.id || m.qty <= 0 {
        return Err(AppError::internal(anyhow::anyhow!(
            "bad movement {} -> {} x{}",
            m.from.code,
            m.to.code,
            m.qty
        )));
    }
    // the stations' running outstanding values first: a request locks its station before it
    // touches stock, so this keeps one lock order (a failed debit below rolls the whole back)
    for (place, qty) in [(m.from, -m.qty), (m.to, m.qty)] {
        if place.counts_towards_a_station() {
            crate::outstanding::on_stock(conn, place.id, m.part_id, qty)?;
        }
    }
    let key = part_id.eq(m.part_id).and(location_id.eq(m.from.id));
    let debited = if m.from_reserved {
        diesel::update(stock_balances::table.filter(key).filter(reserved.ge(m.qty)).filter(on_hand.ge(m.qty)))
            .set((on_hand.eq(on_hand - m.qty), reserved.eq(reserved - m.qty)))
            .execute(conn)?
    } else if m.from.holds_goods() {
        diesel::update(stock_balances::table.filter(key).filter((on_hand - reserved).ge(m.qty)))
            .set(on_hand.eq(on_hand - m.qty))
            .execute(conn)?
    } else {
        ensure_balance(conn, m.part_id, m.from)?;
        diesel::update(stock_balances::table.filter(key)).set(on_hand.eq(on_hand - m.qty)).execute(conn)?
    };
    if debited != 1 {
        return Err(insufficient(conn, m));
    }
    ensure_balance(conn, m.part_id, m.to)?;
    diesel::update(stock_balances::table.filter(part_id.eq(m.part_id)).filter(location_id.eq(m.to.id)))
        .set(on_hand.eq(on_hand + m.qty))
        .execute(conn)?;
    move_serials(conn, m)?;
    let serials = (!m.serials.is_empty()).then(|| serde_json::to_string(m.serials).unwrap_or_default());
    let id = diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::part_id.eq(m.part_id),
            stock_movements::qty.eq(m.qty),
            stock_movements::from_location_id.eq(m.from.id),
            stock_movements::to_location_id.eq(m.to.id),
            stock_movements::reason.eq(m.reason.as_str()),
            stock_movements::reference.eq(m.reference),
            stock_movements::actor.eq(m.actor),
            stock_movements::at.eq(m.at),
            stock_movements::serials.eq(serials),
            stock_movements::ticket_id.eq(m.ticket_id),
        ))
        .returning(stock_movements::id)
        .get_result(conn)?;
    // no KPI summary row is written here: a day's stock value and outflow are rolled up from
    // the movements once the day is over (`rollup::closing`), so no two movements of a
    // location queue on one row, and no lock is taken between the stock rows of one line and
    // the next
    Ok(id)
}

/// Each serial must be at `from` (or, entering from outside, nowhere yet) and goes to `to`.
fn move_serials(conn: &mut DbConn, m: &Move<'_>) -> Result<(), AppError> {
    for serial in m.serials {
        let at: Option<i64> = part_serials::table
            .filter(part_serials::part_id.eq(m.part_id))
            .filter(part_serials::serial.eq(serial))
            .select(part_serials::location_id)
            .first(conn)
            .optional()?;
        match at {
            Some(loc) if loc == m.from.id => {
                diesel::update(
                    part_serials::table
                        .filter(part_serials::part_id.eq(m.part_id))
                        .filter(part_serials::serial.eq(serial)),
                )
                .set(part_serials::location_id.eq(m.to.id))
                .execute(conn)?;
            }
            // new to the ledger: from a customer's unit (a core taken out) it may be recorded
            // as fitted; from a supplier or a count it must not be, or it would be in two places
            None if m.from.kind == LocationKind::Customer
                || (m.from.kind.is_external()
                    && !crate::catalogue::store::units::fitted_in_unit(conn, serial)?) =>
            {
                diesel::insert_into(part_serials::table)
                    .values((
                        part_serials::part_id.eq(m.part_id),
                        part_serials::serial.eq(serial),
                        part_serials::location_id.eq(m.to.id),
                    ))
                    .execute(conn)?;
            }
            Some(_) => {
                return Err(AppError::conflict(
                    Problem::SerialElsewhere,
                    format!("serial {serial} is not at {}", m.from.code),
                )
                .with("serial", serial))
            }
            None if m.from.kind.is_external() => {
                return Err(AppError::conflict(
                    Problem::SerialElsewhere,
                    format!("serial {serial} is fitted in a unit sold, not at {}", m.from.code),
                )
                .with("serial", serial))
            }
            None => {
                return Err(AppError::unprocessable(
                    Problem::UnknownSerial,
                    format!("serial {serial} is not at {}", m.from.code),
                )
                .with("serial", serial))
            }
        }
    }
    Ok(())
}

/// Reserves `qty` at a location if that many are available, in one statement; false when not.
/// (Loaded with `RETURNING` rather than executed: that way the statement stays prepared, see
/// `db::cached`.)
pub fn reserve(conn: &mut DbConn, part_id: i64, location_id: i64, qty: i64) -> QueryResult<bool> {
    use stock_balances::dsl as b;
    // on the concrete connection, which does not render a prepared statement's SQL again
    let updated: Vec<i64> = crate::on_backend!(conn, |c| diesel::update(
        stock_balances::table
            .filter(b::part_id.eq(part_id))
            .filter(b::location_id.eq(location_id))
            .filter((b::on_hand - b::reserved).ge(qty)),
    )
    .set(b::reserved.eq(b::reserved + qty))
    .returning(b::reserved)
    .cached()
    .load(c))?;
    Ok(updated.len() == 1)
}

/// Takes up to `want` units available at a location; returns how many were reserved. Reads the
/// availability, then reserves with the conditional update; if another transaction took some in
/// between, reads again (bounded).
pub fn reserve_up_to(conn: &mut DbConn, part_id: i64, location_id: i64, want: i64) -> QueryResult<i64> {
    for _ in 0..8 {
        let take = available(conn, part_id, location_id)?.min(want);
        if take <= 0 {
            return Ok(0);
        }
        if reserve(conn, part_id, location_id, take)? {
            return Ok(take);
        }
    }
    Ok(0)
}

/// Releases a reservation.
pub fn release(conn: &mut DbConn, part_id: i64, location_id: i64, qty: i64) -> Result<(), AppError> {
    use stock_balances::dsl as b;
    let n = diesel::update(
        stock_balances::table
            .filter(b::part_id.eq(part_id))
            .filter(b::location_id.eq(location_id))
            .filter(b::reserved.ge(qty)),
    )
    .set(b::reserved.eq(b::reserved - qty))
    .execute(conn)?;
    if n != 1 {
        return Err(AppError::internal(anyhow::anyhow!(
            "release of {qty} of part {part_id} at {location_id}: not reserved"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct MovementRow {
    pub id: i64,
    pub part_id: i64,
    pub qty: i64,
    pub from_location_id: i64,
    pub to_location_id: i64,
    pub reason: Reason,
    pub reference: Option<String>,
    pub actor: Option<String>,
    pub at: NaiveDateTime,
    pub serials: Option<String>,
}

#[derive(Debug, Default)]
pub struct MovementFilter {
    pub part_id: Option<i64>,
    /// either side
    pub location_id: Option<i64>,
    pub reason: Option<String>,
    pub reference: Option<String>,
    /// scoped callers: movements touching one of these locations
    pub within: Option<Vec<i64>>,
}

/// Newest first, before `before` (exclusive).
pub fn movements(
    conn: &mut DbConn,
    f: &MovementFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<MovementRow>> {
    use stock_movements::dsl as m;
    let mut q = stock_movements::table.into_boxed();
    if let Some(p) = f.part_id {
        q = q.filter(m::part_id.eq(p));
    }
    if let Some(l) = f.location_id {
        q = q.filter(m::from_location_id.eq(l).or(m::to_location_id.eq(l)));
    }
    if let Some(r) = &f.reason {
        q = q.filter(m::reason.eq(r.clone()));
    }
    if let Some(r) = &f.reference {
        q = q.filter(m::reference.eq(r.clone()));
    }
    if let Some(ids) = &f.within {
        q = q.filter(m::from_location_id.eq_any(ids.clone()).or(m::to_location_id.eq_any(ids.clone())));
    }
    if let Some(b) = before {
        q = q.filter(m::id.lt(b));
    }
    q.select((
        m::id,
        m::part_id,
        m::qty,
        m::from_location_id,
        m::to_location_id,
        m::reason,
        m::reference,
        m::actor,
        m::at,
        m::serials,
    ))
    .order(m::id.desc())
    .limit(limit)
    .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct BalanceRow {
    pub part_id: i64,
    pub location_id: i64,
    pub on_hand: i64,
    pub reserved: i64,
}

/// Balances ordered by (location, part), after the given key.
pub fn balances(
    conn: &mut DbConn,
    part_id: Option<i64>,
    location_ids: Option<&[i64]>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> QueryResult<Vec<BalanceRow>> {
    use stock_balances::dsl as b;
    let mut q = stock_balances::table.filter(b::physical.eq(true)).into_boxed();
    if let Some(p) = part_id {
        q = q.filter(b::part_id.eq(p));
    }
    if let Some(ids) = location_ids {
        q = q.filter(b::location_id.eq_any(ids.to_vec()));
    }
    if let Some((l, p)) = after {
        q = q.filter(b::location_id.gt(l).or(b::location_id.eq(l).and(b::part_id.gt(p))));
    }
    q.select((b::part_id, b::location_id, b::on_hand, b::reserved))
        .order((b::location_id.asc(), b::part_id.asc()))
        .limit(limit)
        .load(conn)
}

/// Up to `qty` serials of a part at a location, in serial order.
pub fn serials_at(conn: &mut DbConn, part_id: i64, location_id: i64, qty: i64) -> QueryResult<Vec<String>> {
    part_serials::table
        .filter(part_serials::part_id.eq(part_id))
        .filter(part_serials::location_id.eq(location_id))
        .select(part_serials::serial)
        .order(part_serials::serial.asc())
        .limit(qty)
        .load(conn)
}
