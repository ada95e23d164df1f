//! `POST /parts/import` and `GET /parts/export`: the catalogue as a CSV file (format in
//! `catalogue::transfer`).

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::E422Import;
use crate::auth::{Caller, Role};
use crate::catalogue::codes::PartCode;
use crate::catalogue::rules;
use crate::catalogue::store::parts::{self as store, NewPart, PartChanges, PartRow};
use crate::catalogue::transfer::{self, ParsedRow, PartRecord, RowError};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::http::docs::{E400, E401, E403, E413, E415};
use crate::http::Query;
use crate::money::Money;
use crate::state::AppState;
use crate::validate::Validate;

/// Largest CSV file accepted (about 100,000 parts).
pub const MAX_CSV_BYTES: usize = 16 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"rows": 3, "created": 1, "updated": 1, "unchanged": 1}))]
pub struct ImportResult {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

async fn read_csv(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, AppError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if (mime != "text/csv" && mime != "application/octet-stream") || !crate::http::json::utf8_or_unnamed(ct) {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::UnsupportedMediaType,
            "the body must be a CSV file in UTF-8, sent with Content-Type: text/csv (or application/octet-stream; a charset, if named, is utf-8)",
        ));
    }
    let too_large = || {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Problem::PayloadTooLarge,
            format!("the file is larger than the limit of {MAX_CSV_BYTES} bytes"),
        )
    };
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::bad_request(Problem::UnreadableBody, format!("the body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > MAX_CSV_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn rejected(errors: Vec<RowError>) -> AppError {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| e.line.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    AppError::unprocessable(
        Problem::InvalidCsv,
        format!("{} error(s) on line(s) {}; nothing was imported", errors.len(), lines.join(", ")),
    )
    .with("errors", errors)
}

/// Import parts from CSV (admin)
///
/// Columns (canonical order): `code,name,line,family,unit_of_measure,unit_cost,sale_price,
/// serialized,core_returnable,weight_grams,lifecycle,superseded_by,interchangeability`. Rows
/// carry their code, whose check character is verified; a known code updates that part, a new
/// one creates it. Every row is validated first: any error rejects the whole file (422
/// `invalid_csv` with `errors: [{line, column, message}]`, the header being line 1) and nothing
/// is written. An export imports back unchanged. The file is sent as `text/csv`, or as
/// `application/octet-stream` (a file upload from Swagger UI or a generated client): the bytes
/// are the same UTF-8 CSV either way. The example is the demo's RF-CMP-00130B as the export
/// gives it: trying it on the demo updates that part to what it already is, and creates none.
#[utoipa::path(
    tag = "catalogue",
    request_body(description = "the parts file (UTF-8 CSV)", content(
        (String = "text/csv",
            example = "code,name,line,family,unit_of_measure,unit_cost,sale_price,serialized,core_returnable,weight_grams,lifecycle,superseded_by,interchangeability\nRF-CMP-00130B,Compressor 110 W R600a,RF,CMP,pcs,365.20,620.50,true,true,8769,active,,\n"),
        (crate::http::FileBytes = "application/octet-stream"))),
    responses((status = 200, description = "What was imported: parts created and updated", body = ImportResult), E401, E403, E413, E415, E422Import),
    security(("bearer" = ["admin"]))
)]
#[post("/parts/import")]
pub async fn import_parts(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<ImportResult>, AppError> {
    caller.require(&[Role::Admin])?;
    let body = read_csv(&req, payload).await?;
    let rows = transfer::parse(&body).map_err(rejected)?;
    let now = state.clock.now().naive_utc();
    let result = state.db.write(move |conn| apply(conn, rows, now)).await?;
    Ok(web::Json(result))
}

/// Writes a parsed file, after the checks that need the catalogue: every successor exists (in
/// the file or the catalogue) and no supersession chain loops.
fn apply(
    conn: &mut DbConn,
    rows: Vec<ParsedRow>,
    now: chrono::NaiveDateTime,
) -> Result<ImportResult, AppError> {
    let codes: Vec<String> = rows.iter().map(|r| r.record.code.to_string()).collect();
    let existing: HashMap<String, PartRow> =
        store::by_codes(conn, &codes)?.into_iter().map(|r| (r.code.clone(), r)).collect();
    // successor links after the import, by code
    let mut links: HashMap<String, String> = HashMap::new();
    let db_links = store::supersessions(conn)?;
    let ids: Vec<i64> = db_links.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let names = store::codes_of(conn, &ids)?;
    for (a, b) in &db_links {
        if let (Some(a), Some(b)) = (names.get(a), names.get(b)) {
            links.insert(a.clone(), b.clone());
        }
    }
    for r in &rows {
        let code = r.record.code.to_string();
        match &r.record.superseded_by {
            Some(s) => links.insert(code, s.to_string()),
            None => links.remove(&code),
        };
    }
    let successor_codes: Vec<String> =
        rows.iter().filter_map(|r| r.record.superseded_by.as_ref().map(|s| s.to_string())).collect();
    let known = store::ids_of(conn, &successor_codes)?;
    let mut errors = Vec::new();
    for r in &rows {
        let Some(s) = &r.record.superseded_by else { continue };
        if !known.contains_key(s.as_str()) && !codes.iter().any(|c| c == s.as_str()) {
            errors.push(RowError::new(
                r.line,
                Some("superseded_by"),
                format!("there is no part {s} in the file or the catalogue"),
            ));
        } else if rules::follow_chain(r.record.code.to_string(), |c| Ok::<_, ()>(links.get(c).cloned()))
            .is_err()
        {
            errors.push(RowError::new(
                r.line,
                Some("superseded_by"),
                format!("the supersession chain from {} loops", r.record.code),
            ));
        }
    }
    // whether a part is serialized changes only while none of it is held (as `PATCH /parts`)
    for r in &rows {
        let Some(old) = existing.get(r.record.code.as_str()) else { continue };
        if old.serialized != r.record.serialized && store::held(conn, old.id)? {
            errors.push(RowError::new(r.line, Some("serialized"), super::parts::held_message(&old.code)));
        }
    }
    if !errors.is_empty() {
        return Err(rejected(errors));
    }
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    let mut new_parts = Vec::new();
    for r in &rows {
        let rec = &r.record;
        match existing.get(rec.code.as_str()) {
            None => {
                created += 1;
                new_parts.push(NewPart {
                    code: rec.code.to_string(),
                    line: rec.code.line().to_string(),
                    family: rec.code.family().to_string(),
                    seq: rec.code.seq() as i32,
                    name: rec.name.clone(),
                    unit_of_measure: rec.unit_of_measure.clone(),
                    unit_cost_minor: rec.unit_cost.0,
                    sale_price_minor: rec.sale_price.0,
                    serialized: rec.serialized,
                    core_returnable: rec.core_returnable,
                    weight_grams: rec.weight_grams,
                    lifecycle: rec.lifecycle.as_str().to_string(),
                    superseded_by: None,
                    interchangeability: None,
                    created_at: now,
                    updated_at: now,
                });
            }
            Some(old) if same(old, rec, &names) => unchanged += 1,
            Some(old) => {
                updated += 1;
                let changes = PartChanges {
                    name: Some(rec.name.clone()),
                    unit_of_measure: Some(rec.unit_of_measure.clone()),
                    unit_cost_minor: Some(rec.unit_cost.0),
                    sale_price_minor: Some(rec.sale_price.0),
                    serialized: Some(rec.serialized),
                    core_returnable: Some(rec.core_returnable),
                    weight_grams: Some(rec.weight_grams),
                    lifecycle: Some(rec.lifecycle.as_str().to_string()),
                    superseded_by: Some(None),
                    interchangeability: Some(None),
                    updated_at: Some(now),
                };
                store::update(conn, old.id, &changes)?;
            }
        }
    }
    store::insert_many(conn, &new_parts)?;
    // successors last: they may be parts created just now
    let all_ids = store::ids_of(conn, &codes)?;
    let successor_ids = store::ids_of(conn, &successor_codes)?;
    for r in &rows {
        let rec = &r.record;
        let Some(s) = &rec.superseded_by else { continue };
        if existing.get(rec.code.as_str()).is_some_and(|old| same(old, rec, &names)) {
            continue;
        }
        let changes = PartChanges {
            superseded_by: Some(successor_ids.get(s.as_str()).copied()),
            interchangeability: Some(rec.interchangeability.map(|i| i.as_str().to_string())),
            ..Default::default()
        };
        store::update(conn, all_ids[rec.code.as_str()], &changes)?;
    }
    Ok(ImportResult { rows: rows.len(), created, updated, unchanged })
}

/// Whether a stored part already equals a record.
fn same(old: &PartRow, rec: &PartRecord, names: &BTreeMap<i64, String>) -> bool {
    old.name == rec.name
        && old.unit_of_measure == rec.unit_of_measure
        && old.unit_cost_minor == rec.unit_cost.0
        && old.sale_price_minor == rec.sale_price.0
        && old.serialized == rec.serialized
        && old.core_returnable == rec.core_returnable
        && old.weight_grams == rec.weight_grams
        && old.lifecycle == rec.lifecycle
        && old.superseded_by.and_then(|s| names.get(&s)).map(String::as_str)
            == rec.superseded_by.as_ref().map(PartCode::as_str)
        && old.interchangeability == rec.interchangeability
}

/// The stored parts as file records, in code order.
pub fn records(conn: &mut DbConn) -> Result<Vec<PartRecord>, AppError> {
    let rows = store::all(conn)?;
    let codes: HashMap<i64, String> = rows.iter().map(|r| (r.id, r.code.clone())).collect();
    let bad = |what: &str| AppError::internal(anyhow::anyhow!("stored part with an invalid {what}"));
    rows.into_iter()
        .map(|r| {
            Ok(PartRecord {
                code: PartCode::parse(&r.code).map_err(|_| bad("code"))?,
                superseded_by: r
                    .superseded_by
                    .and_then(|s| codes.get(&s))
                    .map(|c| PartCode::parse(c).map_err(|_| bad("successor")))
                    .transpose()?,
                interchangeability: r.interchangeability,
                lifecycle: r.lifecycle,
                unit_cost: Money(r.unit_cost_minor),
                sale_price: Money(r.sale_price_minor),
                name: r.name,
                unit_of_measure: r.unit_of_measure,
                serialized: r.serialized,
                core_returnable: r.core_returnable,
                weight_grams: r.weight_grams,
            })
        })
        .collect()
}

/// Export parts as CSV
///
/// The whole catalogue in canonical form (see `POST /parts/import`), in code order, after a UTF-8
/// byte-order mark (so Excel reads Chinese names right; `bom=false` leaves it out). A name a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`) gets a leading `'`,
/// which the import takes off again.
#[utoipa::path(
    tag = "catalogue",
    params(ExportQuery),
    responses((status = 200, description = "The parts file (CSV), every part in code order", body = String, content_type = "text/csv"), E400, E401),
    security(("bearer" = []))
)]
#[get("/parts/export")]
pub async fn export_parts(
    state: web::Data<AppState>,
    _caller: Caller,
    query: Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let bom = if query.into_inner().bom.unwrap_or(true) { crate::http::sheet::BOM } else { "" };
    let text = state.db.read(|conn| Ok(transfer::write(&records(conn)?))).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"parts.csv\""))
        .body(format!("{bom}{text}")))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `false` leaves out the UTF-8 byte-order mark (default `true`)
    pub bom: Option<bool>,
}
