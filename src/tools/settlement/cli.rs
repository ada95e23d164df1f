//! `echelon export settlement`: the same streamed export as the API, to a file.

use std::path::Path;

use diesel::Connection;

use echelon::db::{Db, DbConn};
use echelon::error::AppError;
use echelon::settlement::export::{self, FileFormat};
use echelon::settlement::lines::Spec;
use echelon::settlement::rules::Period;

/// Writes the settlement of `period` (one station or all) to `out`; returns a one-line summary.
pub fn export_command(
    db: &Db,
    period: &str,
    format: &str,
    station: Option<&str>,
    out: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, String> {
    let period = Period::parse(period).ok_or_else(|| format!("--period must be YYYY-MM, not {period:?}"))?;
    let format = match format {
        "csv" => FileFormat::Csv,
        "xlsx" => FileFormat::Xlsx,
        other => return Err(format!("--format must be csv or xlsx, not {other:?}")),
    };
    let mut conn = db.read.get().map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    <DbConn as Connection>::transaction(&mut conn, |c| -> Result<(), AppError> {
        let station_id = match station {
            Some(code) => Some(
                echelon::network::store::by_code(c, code)?
                    .filter(|r| r.kind == echelon::network::rules::LocationKind::Station)
                    .ok_or_else(|| AppError::not_found(format!("no station {code}")))?
                    .id,
            ),
            None => None,
        };
        let spec = Spec { period, station: station_id, now: now.naive_utc() };
        let scope = station.unwrap_or("ALL");
        match format {
            FileFormat::Csv => {
                let file = std::fs::File::create(out).map_err(|e| {
                    AppError::internal(anyhow::anyhow!("cannot write {}: {e}", out.display()))
                })?;
                export::write_csv(c, &spec, scope, std::io::BufWriter::with_capacity(64 * 1024, file))
            }
            FileFormat::Xlsx => export::write_xlsx(c, &spec, scope, out),
        }
    })
    .map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "settlement {period} ({}) written to {}: {bytes} bytes in {:.2} s",
        station.unwrap_or("all stations"),
        out.display(),
        started.elapsed().as_secs_f64()
    ))
}
