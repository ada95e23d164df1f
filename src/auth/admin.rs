//! Adding users from the command line.

use crate::auth::rules::{hash_password, Role};
use crate::auth::store::{self, NewUser};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, Problem};

pub fn add_user(
    conn: &mut DbConn,
    username: &str,
    role: &str,
    location: Option<&str>,
    display_name: Option<&str>,
    password: &str,
) -> Result<(), String> {
    let role: Role = role.parse()?;
    if username.trim().is_empty() || username.len() > 100 {
        return Err("the username must be 1-100 characters".into());
    }
    if password.chars().count() < 10 {
        return Err("the password must be at least 10 characters".into());
    }
    let hash = hash_password(password);
    write_tx(conn, |c| {
        let location_id = match (role.required_location_kinds(), location) {
            (Some(kinds), Some(code)) => {
                let loc = super::store::location_by_code(c, code)?
                    .ok_or_else(|| AppError::not_found(format!("no location {code}")))?;
                if !kinds.contains(&loc.kind.as_str()) {
                    return Err(AppError::unprocessable(
                        Problem::InvalidLocation,
                        format!("a {role} user belongs to a {}, not a {}", kinds.join(" or "), loc.kind),
                    ));
                }
                Some(loc.id)
            }
            (Some(_), None) => {
                return Err(AppError::unprocessable(
                    Problem::InvalidLocation,
                    format!("a {role} user needs --location"),
                ))
            }
            (None, Some(_)) => {
                return Err(AppError::unprocessable(
                    Problem::InvalidLocation,
                    format!("a {role} user has no location"),
                ))
            }
            (None, None) => None,
        };
        store::insert(
            c,
            &NewUser {
                username,
                password_hash: &hash,
                role: role.as_str(),
                location_id,
                display_name: display_name.unwrap_or(username),
                active: true,
                created_at: chrono::Utc::now().naive_utc(),
            },
        )?;
        Ok(())
    })
    .map_err(|e: AppError| e.detail)
}
