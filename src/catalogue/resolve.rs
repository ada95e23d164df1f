//! The one way a part code from outside becomes a part: [`resolve_part_code`]. Every endpoint
//! that takes a part code calls it, in a body, a query or the URL alike, so a wrong code is
//! refused the same way everywhere (422, with the right suggestions; a well-formed code of no
//! part too, even in `/parts/{code}`: the contract's rule for part codes). And the supersession chain:
//! [`resolve_successor`], [`check_compatible`].

use serde::Serialize;
use utoipa::ToSchema;

use super::codes::{CodeError, PartCode};
use super::rules::{self, ChainError, Interchangeability};
use super::store::models::{self, ModelRow};
use super::store::parts::{self, PartRow};
use crate::db::DbConn;
use crate::error::{AppError, Problem};

/// Longest input that is still compared with the catalogue for suggestions.
const MAX_INPUT: usize = 64;

/// Reads a product model named as context (`?model=`, a new unit's model), as typed (model codes
/// are in capitals, as the ticket desk takes them), or 422 `unknown_model`.
pub fn model_context(conn: &mut DbConn, model: Option<&str>) -> Result<Option<ModelRow>, AppError> {
    match model {
        None => Ok(None),
        Some(code) => models::by_code(conn, &code.trim().to_ascii_uppercase())?.map(Some).ok_or_else(|| {
            AppError::unprocessable(Problem::UnknownModel, format!("there is no product model {code:?}"))
                .with("model", code)
        }),
    }
}

/// Turns a part code from a client into the part, or refuses it.
///
/// The input is trimmed and upper-cased, then must be a well-formed code
/// (`<LINE>-<FAMILY>-<SEQ><CHECK>`), pass the ISO/IEC 7064 MOD 37-2 check, and exist.
/// Otherwise: 422 problem+json of type `invalid_part_code` (malformed, with `reason`
/// `malformed`, or failing the check, `reason` `check_failed`) or `unknown_part_code` (well
/// formed and checked, but no such part), each with `code` (the input) and `suggestions`: up to
/// five existing codes nearest by edit distance ([`rules::rank_suggestions`]). When
/// `model_context` names a product model, only parts compatible with it are suggested (an
/// unknown model is 422 `unknown_model`). The model does not restrict which part is returned;
/// use [`check_compatible`] for that.
pub fn resolve_part_code(
    conn: &mut DbConn,
    raw: &str,
    model_context: Option<&str>,
) -> Result<PartRow, AppError> {
    let model = self::model_context(conn, model_context)?;
    let typed = raw.trim().to_ascii_uppercase();
    let (kind, detail, reason) = match PartCode::parse(&typed) {
        Ok(code) => match parts::by_code(conn, code.as_str())? {
            Some(row) => return Ok(row),
            None => (Problem::UnknownPartCode, format!("there is no part {code}"), None),
        },
        Err(CodeError::CheckFailed) => (
            Problem::InvalidPartCode,
            format!("{raw:?} fails its check character: a character is wrong or two are swapped"),
            Some("check_failed"),
        ),
        Err(e @ CodeError::Malformed(_)) => (Problem::InvalidPartCode, e.to_string(), Some("malformed")),
    };
    let suggestions = suggest(conn, &typed, model.as_ref())?;
    let detail = match (&model, suggestions.first()) {
        (Some(m), Some(s)) => format!("{detail}; did you mean {s}? (parts of model {})", m.code),
        (Some(m), None) => format!("{detail}; no part of model {} is close", m.code),
        (None, Some(s)) => format!("{detail}; did you mean {s}?"),
        (None, None) => detail,
    };
    let mut err = AppError::unprocessable(kind, detail).with("code", raw).with("suggestions", suggestions);
    if let Some(r) = reason {
        err = err.with("reason", r);
    }
    if let Some(m) = model {
        err = err.with("model", m.code);
    }
    Err(err)
}

/// The catalogue's form of a part code from a client (trimmed, upper-cased, well formed and
/// checked): the code [`resolve_part_code`] looks up; `None` when it would refuse it unread.
pub fn catalogue_code(raw: &str) -> Option<String> {
    PartCode::parse(&raw.trim().to_ascii_uppercase()).ok().map(|c| c.as_str().to_string())
}

/// Existing codes nearest to `typed`: all parts, or those compatible with `model`.
pub fn suggest(conn: &mut DbConn, typed: &str, model: Option<&ModelRow>) -> Result<Vec<String>, AppError> {
    if typed.len() > MAX_INPUT {
        return Ok(Vec::new());
    }
    let candidates = parts::suggestion_candidates(conn, model.map(|m| m.id))?;
    Ok(rules::rank_suggestions(typed, candidates.iter().map(|(c, l)| (c.as_str(), *l))))
}

/// 422 `incompatible_part` unless `part` fits `model`, with `compatible_alternatives`: the
/// model's parts of the same family.
pub fn check_compatible(conn: &mut DbConn, part: &PartRow, model: &ModelRow) -> Result<i32, AppError> {
    if let Some(qty) = models::qty_per_unit(conn, model.id, part.id)? {
        return Ok(qty);
    }
    let alternatives: Vec<String> =
        models::compatible_in_family(conn, model.id, &part.family)?.into_iter().map(|(c, _)| c).collect();
    Err(AppError::unprocessable(
        Problem::IncompatiblePart,
        format!("part {} does not fit model {}", part.code, model.code),
    )
    .with("code", &part.code)
    .with("model", &model.code)
    .with("compatible_alternatives", alternatives))
}

/// The compatible part of `model` that `part` stands for: `part` itself when it is in the
/// model's bill of service parts, else a compatible part of its family whose successor chain
/// (each successor interchangeable with the part before it) leads through `part`; `None` when
/// the part does not fit the model.
pub fn fitting(conn: &mut DbConn, part: &PartRow, model: &ModelRow) -> Result<Option<PartRow>, AppError> {
    if models::qty_per_unit(conn, model.id, part.id)?.is_some() {
        return Ok(Some(part.clone()));
    }
    for compatible in parts::compatible_of_family(conn, model.id, &part.family)? {
        if compatible.superseded_by.is_none() {
            continue;
        }
        if resolve_successor(conn, compatible.clone())?.chain.contains(&part.code) {
            return Ok(Some(compatible));
        }
    }
    Ok(None)
}

/// The parts of `family` that fit `model`: its bill of service parts, by code.
pub fn compatible_parts(conn: &mut DbConn, model: &ModelRow, family: &str) -> Result<Vec<PartRow>, AppError> {
    Ok(parts::compatible_of_family(conn, model.id, family)?)
}

/// What serves a request for a part: the part itself, or the end of its supersession chain.
#[derive(Debug, Clone)]
pub struct Supersession {
    pub requested: PartRow,
    /// the final successor (the requested part when it is not superseded)
    pub served: PartRow,
    /// the codes from the requested part's successor to the final one
    pub chain: Vec<String>,
    /// the weakest interchangeability along the chain (`None` when not superseded)
    pub interchangeability: Option<Interchangeability>,
}

impl Supersession {
    pub fn is_substituted(&self) -> bool {
        self.served.id != self.requested.id
    }
}

/// The successor chain of a part, for the JSON answers that say "served with its successor".
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "RF-CMP-00418G", "chain": ["RF-CMP-00418G"], "interchangeability": "one_way"}))]
pub struct SuccessorOut {
    /// the final successor: what a request for this part is served with
    pub code: String,
    /// every successor in order, ending with `code`
    pub chain: Vec<String>,
    pub interchangeability: Interchangeability,
}

impl Supersession {
    pub fn out(&self) -> Option<SuccessorOut> {
        Some(SuccessorOut {
            code: self.served.code.clone(),
            chain: self.chain.clone(),
            interchangeability: self.interchangeability?,
        })
    }
}

/// Follows `superseded_by` from `part` to the final successor. A request for a superseded part
/// is served with what this returns (and says so). A chain that loops (which writes refuse) is
/// 409 `supersession_cycle`.
pub fn resolve_successor(conn: &mut DbConn, part: PartRow) -> Result<Supersession, AppError> {
    let mut rows: Vec<PartRow> = Vec::new();
    let first = part.superseded_by;
    let followed = rules::follow_chain(part.id, |&id| {
        let next = if id == part.id { first } else { rows.last().and_then(|r: &PartRow| r.superseded_by) };
        if let Some(n) = next {
            rows.push(parts::by_id(conn, n)?);
        }
        Ok::<_, diesel::result::Error>(next)
    });
    match followed {
        Ok(_) => {}
        Err(ChainError::Cycle(at)) => {
            return Err(AppError::conflict(
                Problem::SupersessionCycle,
                format!("the supersession chain of {} loops (at part id {at}); fix superseded_by", part.code),
            ))
        }
        Err(ChainError::Lookup(e)) => return Err(e.into()),
    }
    let interchangeability = std::iter::once(&part)
        .chain(rows.iter())
        .filter_map(|r| r.interchangeability)
        .reduce(Interchangeability::weakest);
    let chain = rows.iter().map(|r| r.code.clone()).collect();
    let served = rows.last().cloned().unwrap_or_else(|| part.clone());
    Ok(Supersession { requested: part, served, chain, interchangeability })
}

/// 422 `supersession_cycle` when making `part_id` superseded by `successor_id` would loop.
pub fn refuse_cycle(conn: &mut DbConn, part_id: i64, successor_id: i64, code: &str) -> Result<(), AppError> {
    let cycles = rules::would_cycle(part_id, successor_id, |&id| parts::successor_of(conn, id))?;
    if cycles {
        return Err(AppError::unprocessable(
            Problem::SupersessionCycle,
            format!("{code} cannot be superseded by a part that is (eventually) superseded by {code}"),
        ));
    }
    Ok(())
}
