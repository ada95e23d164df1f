//! Taking a ticket in: the unit (an unknown serial is refused with the nearest ones), the
//! warranty decision and the SLA deadlines.

use chrono::{DateTime, Utc};

use super::{own_named, station_named};
use crate::auth::{Caller, Role};
use crate::catalogue::store::models as model_store;
use crate::catalogue::store::units as unit_store;
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::tickets::rules::{self, Category, Channel, Status, Urgency};
use crate::tickets::sla;
use crate::tickets::store::{self, NewEvent, NewTicket};

/// Most serials suggested for an unknown one.
const MAX_SERIAL_SUGGESTIONS: usize = 5;
/// Largest edit distance at which a serial is suggested.
const MAX_SERIAL_DISTANCE: usize = 3;

/// A ticket as the desk takes it in.
#[derive(Debug, Clone)]
pub struct Intake {
    pub channel: Channel,
    pub category: Category,
    pub urgency: Urgency,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_address: String,
    pub customer_region: String,
    pub serial: String,
    /// the model the desk was told, checked against the unit's
    pub model: Option<String>,
    pub fault: String,
    pub component_family: Option<String>,
    pub station: Option<String>,
}

/// 422 `unknown_unit` with the nearest existing serials.
fn unknown_unit(conn: &mut DbConn, serial: &str) -> Result<AppError, AppError> {
    let typed = serial.trim().to_ascii_uppercase();
    let candidates = store::serial_candidates(conn, &typed, 20_000)?;
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = strsim::osa_distance(&typed, &c.to_ascii_uppercase());
            (d <= MAX_SERIAL_DISTANCE).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup();
    let suggestions: Vec<String> = scored.into_iter().take(MAX_SERIAL_SUGGESTIONS).map(|s| s.1).collect();
    let detail = match suggestions.first() {
        Some(s) => format!("there is no product unit {serial:?}; did you mean {s}?"),
        None => format!("there is no product unit {serial:?}"),
    };
    Ok(AppError::unprocessable(Problem::UnknownUnit, detail)
        .with("field", "serial")
        .with("serial", serial)
        .with("suggestions", suggestions))
}

/// Takes a ticket in: the unit must exist; the warranty is decided from its ship date and the
/// model's terms; the SLA deadlines are set from the category and urgency. A station's ticket
/// is its own; an agent may name a station or leave it for dispatch.
pub fn intake(
    conn: &mut DbConn,
    caller: &Caller,
    input: &Intake,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    caller.require(&[Role::Agent, Role::Station, Role::Admin])?;
    let station = match (caller.role, input.station.as_deref()) {
        (Role::Station, named) => {
            Some(own_named(conn, caller, named, "a station takes in tickets for itself only")?)
        }
        (_, Some(code)) => Some(station_named(conn, code)?),
        (_, None) => None,
    };
    if let Some(st) = &station {
        crate::network::require_active(st, "it takes in no new tickets")?;
    }
    let serial = input.serial.as_str();
    let unit = match unit_store::by_serial_typed(conn, serial)? {
        Some(u) => u,
        None => return Err(unknown_unit(conn, serial)?),
    };
    let model = model_store::by_id(conn, unit.model_id)?;
    if input.model.as_ref().is_some_and(|m| *m != model.code) {
        return Err(AppError::unprocessable(
            Problem::ModelMismatch,
            format!(
                "unit {} is a {}, not a {}",
                unit.serial,
                model.code,
                input.model.as_deref().unwrap_or("")
            ),
        )
        .with("field", "model")
        .with("model", &model.code));
    }
    if let Some(family) = &input.component_family {
        let families = store::families_of_line(conn, &model.line)?;
        if !families.contains(family) {
            return Err(AppError::unprocessable(
                Problem::UnknownComponentFamily,
                format!("no part family {family} in product line {} (model {})", model.line, model.code),
            )
            .with("field", "component_family")
            .with("families", families));
        }
    }
    // the customer's region is one of the network's, as a unit's is (reports group by it)
    let regions = unit_store::regions(conn)?;
    if !regions.contains(&input.customer_region) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "customer.region",
            format!("not a region of the network; one of: {}", regions.join(", ")),
        )]));
    }
    let terms = model_store::warranties(conn, &[model.id])?.remove(&model.id).unwrap_or_default();
    let decision = rules::decide_warranty(
        unit.ship_date,
        now.date_naive(),
        model.warranty_months,
        &terms,
        input.component_family.as_deref(),
    );
    let at = now.naive_utc();
    let deadlines = sla::deadlines(input.category, input.urgency, at);
    let id = store::insert(
        conn,
        &NewTicket {
            channel: input.channel.as_str().into(),
            category: input.category.as_str().into(),
            urgency: input.urgency.as_str().into(),
            status: Status::Open.as_str().into(),
            customer_name: input.customer_name.clone(),
            customer_phone: input.customer_phone.clone(),
            customer_address: input.customer_address.clone(),
            customer_region: input.customer_region.clone(),
            unit_id: unit.id,
            fault: input.fault.clone(),
            component_family: input.component_family.clone(),
            warranty: decision.warranty.as_str().into(),
            warranty_covers: decision.covers,
            warranty_until: decision.until,
            warranty_reason: decision.reason,
            station_id: station.as_ref().map(|s| s.id),
            technician_id: None,
            job_type: None,
            cause: None,
            respond_by: deadlines.respond_by,
            resolve_by: deadlines.resolve_by,
            decide_by: deadlines.decide_by,
            responded_at: None,
            resolved_at: None,
            confirmed_at: None,
            closed_at: None,
            completed_at: None,
            created_by: caller.username.clone(),
            created_at: at,
            updated_at: at,
        },
    )?;
    store::insert_event(
        conn,
        &NewEvent {
            ticket_id: id,
            action: "intake",
            from_status: None,
            to_status: Status::Open.as_str(),
            actor: &caller.username,
            at,
            station_id: station.map(|s| s.id),
            technician_id: None,
            note: None,
        },
    )?;
    Ok(id)
}
