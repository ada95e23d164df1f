//! `echelon user add | list | show | set`: user management from the command line, through the
//! same service as `/api/v1/users` (so the same rules and the same refusal of changed users'
//! tokens). Errors come back as one line for `main` to print (exit code 2).

use std::io::BufRead;
use std::process::ExitCode;

use echelon::auth::admin::{self, NewUserSpec, UserChange, UserFilter, UserOut};
use echelon::auth::rules::{hash_password, password_fault, Role};
use echelon::auth::users_api::{NewUserIn, UserPatchIn};
use echelon::config::Config;
use echelon::db::write_tx;
use echelon::error::AppError;

use super::commands::{open, open_existing};

/// The role named on the command line, or the list of roles.
fn role(name: &str) -> Result<Role, String> {
    name.parse().map_err(|e: String| format!("--role: {e}"))
}

/// A new password from the first line of standard input, held to the API's limits.
fn password_from_stdin() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("the password (the first line of standard input) could not be read: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    match password_fault(&password) {
        Some(fault) => Err(format!("the password (from standard input) {fault}")),
        None => Ok(password),
    }
}

fn print(u: &UserOut) {
    println!(
        "{}\t{}\t{}\t{}\t{}",
        u.username,
        u.role,
        u.location.as_deref().unwrap_or("-"),
        if u.active { "active" } else { "disabled" },
        u.display_name
    );
}

fn message(e: AppError) -> String {
    e.plain()
}

/// `echelon user add`: the password is read from the first line of standard input.
pub fn add(
    config: &Config,
    username: &str,
    role_name: &str,
    location: Option<&str>,
    display_name: Option<&str>,
) -> Result<ExitCode, String> {
    let role = role(role_name)?;
    let password = password_from_stdin()?;
    // the API's own checks of a new user (lengths, NUL and control characters, the role's
    // location), so that the command makes no user the API would refuse
    let input = NewUserIn {
        username: username.to_string(),
        password: password.clone(),
        role,
        location: location.map(String::from),
        display_name: display_name.map(String::from),
    };
    echelon::validate::body(&input).map_err(message)?;
    let db = open(config)?;
    let hash = hash_password(&password);
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().naive_utc();
    let spec = NewUserSpec { username, role, location, display_name, password_hash: &hash };
    write_tx(&mut conn, |c| admin::create(c, &spec, now)).map_err(message)?;
    println!("user {username} ({role}) added");
    Ok(ExitCode::SUCCESS)
}

/// `echelon user list`
pub fn list(config: &Config, role_name: Option<&str>, location: Option<&str>) -> Result<ExitCode, String> {
    let filter = UserFilter {
        role: role_name.map(role).transpose()?,
        location: location.map(String::from),
        active: None,
    };
    let db = open_existing(config)?;
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let mut after: Option<String> = None;
    loop {
        let page = admin::list(&mut conn, &filter, after.as_deref(), 500).map_err(message)?;
        page.iter().for_each(print);
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.username.clone()),
            _ => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `echelon user show USERNAME`
pub fn show(config: &Config, username: &str) -> Result<ExitCode, String> {
    let db = open_existing(config)?;
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    print(&admin::get(&mut conn, username).map_err(message)?);
    Ok(ExitCode::SUCCESS)
}

/// What `echelon user set` changes.
pub struct Set {
    pub role: Option<String>,
    pub location: Option<String>,
    pub no_location: bool,
    pub disable: bool,
    pub enable: bool,
    pub password: bool,
    pub display_name: Option<String>,
}

/// `echelon user set USERNAME ...`: the user's live tokens are refused from their next request.
pub fn set(config: &Config, username: &str, s: Set) -> Result<ExitCode, String> {
    let role = s.role.as_deref().map(role).transpose()?;
    let location = match (s.location, s.no_location) {
        (Some(_), true) => return Err("--location and --no-location exclude each other".into()),
        (Some(code), false) => Some(Some(code)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let active = match (s.disable, s.enable) {
        (true, true) => return Err("--disable and --enable exclude each other".into()),
        (true, false) => Some(false),
        (false, true) => Some(true),
        (false, false) => None,
    };
    let password = if s.password { Some(password_from_stdin()?) } else { None };
    let input = UserPatchIn {
        role,
        location: location.clone(),
        active,
        password: password.clone(),
        display_name: s.display_name.clone(),
    };
    echelon::validate::body(&input).map_err(message)?;
    let password_hash = password.as_deref().map(hash_password);
    let change = UserChange { role, location, active, password_hash, display_name: s.display_name };
    if change.role.is_none()
        && change.location.is_none()
        && change.active.is_none()
        && change.password_hash.is_none()
        && change.display_name.is_none()
    {
        return Err("nothing to change: give --role, --location, --no-location, --disable, --enable, \
                    --password or --display-name"
            .into());
    }
    let db = open_existing(config)?;
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let user = write_tx(&mut conn, |c| admin::change(c, username, change, None)).map_err(message)?;
    print(&user);
    Ok(ExitCode::SUCCESS)
}
