//! `echelon archive movements --before YYYY-MM`, `echelon archive restore YYYY-MM`,
//! `echelon archive list`: the ledger's closed, settled months on PostgreSQL (the work is
//! `echelon::audit::archive`; this prints it).

use std::process::ExitCode;

use echelon::config::Config;
use echelon::db;
use echelon::settlement::rules::Period;

use super::commands::open_existing;

fn month(s: &str, what: &str) -> Result<Period, String> {
    Period::parse(s).ok_or_else(|| format!("{what}: {s:?} is not a month (YYYY-MM)"))
}

fn sqlite_refusal(config: &Config) -> Result<(), String> {
    if db::Backend::of(&config.database_url)? == db::Backend::Sqlite {
        return Err("archiving months of stock movements needs PostgreSQL, where the movements are \
                    partitioned by month; on SQLite the ledger is one table and stays whole (nothing changed)"
            .into());
    }
    Ok(())
}

/// `echelon archive movements --before YYYY-MM`
pub fn movements(config: &Config, before: &str) -> Result<ExitCode, String> {
    let cut = month(before, "--before")?;
    sqlite_refusal(config)?;
    let db = open_existing(config)?;
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().naive_utc();
    let done = db::write_tx(&mut conn, |c| {
        Ok::<_, ArchiveError>(echelon::audit::archive::archive(c, cut, "echelon archive", now)?)
    })
    .map_err(|e| e.0)?;
    if done.is_empty() {
        println!("nothing to archive before {cut}");
    }
    for m in &done {
        println!("archived {}: {} movements in {}", m.month, m.movements, m.table_name);
    }
    audit_after(&db)
}

/// `echelon archive restore YYYY-MM`
pub fn restore(config: &Config, which: &str) -> Result<ExitCode, String> {
    let m = month(which, "the month")?;
    sqlite_refusal(config)?;
    let db = open_existing(config)?;
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let done = db::write_tx(&mut conn, |c| Ok::<_, ArchiveError>(echelon::audit::archive::restore(c, m)?))
        .map_err(|e| e.0)?;
    println!("restored {}: {} movements back in {}", done.month, done.movements, done.table_name);
    audit_after(&db)
}

/// The audit after the commit (the transaction did not hold the movements locked for it), on
/// the primary: a replica may not have replayed the commit yet.
fn audit_after(db: &db::Db) -> Result<ExitCode, String> {
    let conn = db.fresh.get().map_err(|e| e.to_string())?;
    super::commands::print_audit(conn, "the audit after it failed")
}

/// `echelon archive list`
pub fn list(config: &Config) -> Result<ExitCode, String> {
    sqlite_refusal(config)?;
    let db = open_existing(config)?;
    let mut conn = db.tool_read()?;
    let months = echelon::audit::archive::list(&mut conn)?;
    if months.is_empty() {
        println!("no month is archived");
    }
    for m in months {
        println!("{}\t{}\t{} movements", m.month, m.table_name, m.movements);
    }
    Ok(ExitCode::SUCCESS)
}

/// A refusal or failure inside the transaction (rolled back), or the database's own error.
struct ArchiveError(String);

impl From<String> for ArchiveError {
    fn from(s: String) -> Self {
        ArchiveError(s)
    }
}

impl From<diesel::result::Error> for ArchiveError {
    fn from(e: diesel::result::Error) -> Self {
        ArchiveError(e.to_string())
    }
}
