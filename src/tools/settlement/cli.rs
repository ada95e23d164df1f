//! `echelon export settlement`: the same streamed export as the API, to a file.

use std::path::Path;

use echelon::db::Db;
use echelon::error::AppError;
use echelon::settlement::export::{self, FileFormat, Scope};
use echelon::settlement::lines::Spec;
use echelon::settlement::rules::Period;

/// The command line's own faults, before any database is opened: a period that is no month, a
/// format that is neither CSV nor XLSX or that the file's extension contradicts. Each names the
/// help to read, as clap's own refusals do.
pub fn check_args(period: &str, format: Option<&str>, out: &Path) -> Result<(), String> {
    let hint = |why: String| format!("{why} (see `echelon export settlement --help`)");
    Period::parse(period).ok_or_else(|| hint(format!("--period must be YYYY-MM, not {period:?}")))?;
    if !(out == Path::new("-") && format.is_none()) {
        file_format(format, out).map_err(hint)?;
    }
    Ok(())
}

/// Writes the settlement of `period` (one station or all) to `out`; returns a one-line summary.
pub fn export_command(
    db: &Db,
    period: &str,
    format: Option<&str>,
    station: Option<&str>,
    out: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, String> {
    let period = Period::parse(period).ok_or_else(|| format!("--period must be YYYY-MM, not {period:?}"))?;
    // `-` is standard output (CSV unless --format says otherwise); a file named through a
    // symbolic link is written where the link points, and the link stays
    let to_stdout = out == Path::new("-");
    let format = if to_stdout && format.is_none() { FileFormat::Csv } else { file_format(format, out)? };
    let target = if to_stdout { out.to_path_buf() } else { target_of(out)? };
    let out = target.as_path();
    if period.first_day() > now.date_naive() {
        return Err(format!("{period} has not begun; nothing is settled before its month"));
    }
    // the output is checked before any work, and a failure said in the command's words; the
    // file is written beside it and put in its place only once whole, so a refusal or a
    // failure half-way leaves what was there (or nothing)
    let temp_dir = std::env::temp_dir();
    let dir = match out.parent() {
        _ if to_stdout => temp_dir.as_path(),
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let partial = tempfile::Builder::new()
        .prefix(".echelon-export-")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let written = partial.path().to_path_buf();
    let mut conn = db.tool_read()?;
    let started = std::time::Instant::now();
    echelon::db::read_tx(&mut conn, |c| -> Result<(), AppError> {
        let (station_id, scope) = match station {
            Some(code) => {
                let row = echelon::network::store::by_code(c, code)?
                    .filter(|r| r.kind == echelon::network::rules::LocationKind::Station)
                    .ok_or_else(|| AppError::not_found(format!("no station {code}")))?;
                (Some(row.id), Scope { code: row.code, name: row.name })
            }
            None => (None, Scope::all()),
        };
        let spec = Spec { period, station: station_id, now: now.naive_utc() };
        let scope = &scope;
        match format {
            FileFormat::Csv => {
                let file = partial.reopen().map_err(|e| {
                    AppError::internal(anyhow::anyhow!("cannot write {}: {e}", out.display()))
                })?;
                export::write_csv(c, &spec, scope, std::io::BufWriter::with_capacity(64 * 1024, file), true)
            }
            FileFormat::Xlsx => export::write_xlsx(c, &spec, scope, &written),
        }
    })
    .map_err(|e| e.plain())?;
    // as a file the command made itself (a temporary one is made readable by its owner only)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&written, std::fs::Permissions::from_mode(0o644));
    }
    if to_stdout {
        let mut file = partial.reopen().map_err(|e| format!("cannot read back the export: {e}"))?;
        let mut stdout = std::io::stdout().lock();
        let bytes = std::io::copy(&mut file, &mut stdout)
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
        std::io::Write::flush(&mut stdout).map_err(|e| format!("cannot write to standard output: {e}"))?;
        // the summary goes to standard error, so the standard output is the file alone
        eprintln!(
            "settlement {period} ({}) written to standard output: {bytes} bytes in {:.2} s",
            station.unwrap_or("all stations"),
            started.elapsed().as_secs_f64()
        );
        return Ok(String::new());
    }
    partial.persist(out).map_err(|e| format!("cannot write {}: {}", out.display(), e.error))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "settlement {period} ({}) written to {}: {bytes} bytes in {:.2} s",
        station.unwrap_or("all stations"),
        out.display(),
        started.elapsed().as_secs_f64()
    ))
}

/// Where `--out` writes: the path itself, or where a symbolic link at it points (the link
/// stays a link); a directory, a pipe, a device or anything else that is not a regular file is
/// refused, since the export is put in place by renaming a whole file over it.
fn target_of(out: &Path) -> Result<std::path::PathBuf, String> {
    let mut path = out.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let link =
                    std::fs::read_link(&path).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_file() => return Ok(path),
            Ok(m) => {
                let what =
                    if m.is_dir() { "a directory" } else { "not a regular file (a pipe, a device, ...)" };
                return Err(format!("--out {} is {what}: name a file to write", out.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(format!("cannot write {}: {e}", out.display())),
        }
    }
    Err(format!("--out {}: too many symbolic links", out.display()))
}

/// The file's format: `--format` when given, else `--out`'s extension; the two must agree.
fn file_format(format: Option<&str>, out: &Path) -> Result<FileFormat, String> {
    let by_extension = match out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref()
    {
        Some("csv") => Some(FileFormat::Csv),
        Some("xlsx") => Some(FileFormat::Xlsx),
        _ => None,
    };
    let given = match format {
        None => None,
        Some("csv") => Some(FileFormat::Csv),
        Some("xlsx") => Some(FileFormat::Xlsx),
        Some(other) => return Err(format!("--format must be csv or xlsx, not {other:?}")),
    };
    match (given, by_extension) {
        (Some(g), Some(e)) if g != e => Err(format!(
            "--format {} does not match --out {} (leave --format out to take the extension's)",
            format.unwrap_or_default(),
            out.display()
        )),
        (Some(f), _) | (None, Some(f)) => Ok(f),
        (None, None) => Err(format!(
            "cannot tell the format from --out {}: end it in .csv or .xlsx, or give --format",
            out.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_extension_unless_given_and_the_two_agree() {
        let f = |format: Option<&str>, out: &str| file_format(format, Path::new(out));
        assert_eq!(f(None, "x.xlsx"), Ok(FileFormat::Xlsx));
        assert_eq!(f(None, "x.CSV"), Ok(FileFormat::Csv));
        assert_eq!(f(Some("xlsx"), "x.xlsx"), Ok(FileFormat::Xlsx));
        assert_eq!(f(Some("csv"), "settlement"), Ok(FileFormat::Csv));
        assert!(f(Some("csv"), "x.xlsx").unwrap_err().contains("does not match"));
        assert!(f(None, "x.txt").unwrap_err().contains(".csv or .xlsx"));
        assert!(f(Some("pdf"), "x.pdf").unwrap_err().contains("csv or xlsx"));
    }
}
