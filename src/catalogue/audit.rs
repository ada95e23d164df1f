//! The catalogue's invariants, for `echelon audit`: every stored code is valid and agrees with
//! its line, family and sequence; no supersession chain loops; parts fit models of their line.

use diesel::prelude::*;

use super::codes::PartCode;
use super::rules::{self, ChainError};
use super::store::parts;
use crate::db::schema::{compatibility, parts as parts_t, product_models};
use crate::db::DbConn;

/// Every breach found, in words.
pub fn run(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut breaches = Vec::new();
    let rows: Vec<(String, String, String, i32)> =
        parts_t::table.select((parts_t::code, parts_t::line, parts_t::family, parts_t::seq)).load(conn)?;
    for (code, line, family, seq) in rows {
        let issued = u32::try_from(seq).ok().and_then(|s| PartCode::issue(&line, &family, s));
        if PartCode::parse(&code).is_err() || issued.as_ref().map(PartCode::as_str) != Some(code.as_str()) {
            breaches.push(format!("part {code} is not the valid code of {line}-{family}-{seq:05}"));
        }
    }
    let links = parts::supersessions(conn)?;
    let codes = parts::codes_of(conn, &links.keys().copied().collect::<Vec<_>>())?;
    for start in links.keys() {
        if let Err(ChainError::Cycle(_)) =
            rules::follow_chain(*start, |id| Ok::<_, ()>(links.get(id).copied()))
        {
            breaches.push(format!(
                "the supersession chain of part {} loops",
                codes.get(start).map_or("?", |c| c)
            ));
        }
    }
    let mismatched: Vec<(String, String)> = compatibility::table
        .inner_join(parts_t::table)
        .inner_join(product_models::table)
        .filter(parts_t::line.ne(product_models::line))
        .select((product_models::code, parts_t::code))
        .load(conn)?;
    for (model, part) in mismatched {
        breaches.push(format!("part {part} is listed for model {model} of another line"));
    }
    Ok(breaches)
}
