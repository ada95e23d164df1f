//! Reusable OpenAPI responses for the problem documents, so every path lists its 4xx/5xx
//! answers in one short line: `responses((status = 200, body = X), E401, E404)`.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{RefOr, Response};

use crate::error::{Problem, PROBLEM_JSON};

fn problem(kind: Problem, description: &str, detail: &str) -> BTreeMap<String, RefOr<Response>> {
    let status = kind.status().as_u16();
    let example = serde_json::json!({
        "type": kind.type_uri(),
        "title": kind.title(),
        "status": status,
        "detail": detail,
    });
    let content = ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
        .example(Some(example))
        .build();
    let response = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content).build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

/// One answer status with several problem kinds, each its own named example (named by the
/// kind), for an operation whose 409 or 422 can mean more than the general kind.
pub fn problems(
    status: u16,
    description: &str,
    kinds: &[(Problem, &str)],
) -> BTreeMap<String, RefOr<Response>> {
    use utoipa::openapi::example::ExampleBuilder;
    let examples = kinds.iter().map(|(kind, detail)| {
        debug_assert!(kind.statuses().iter().any(|s| s.as_u16() == status), "{kind} is not a {status}");
        let value = serde_json::json!({
            "type": kind.type_uri(),
            "title": kind.title(),
            "status": status,
            "detail": detail,
        });
        (kind.slug().to_string(), ExampleBuilder::new().summary(kind.title()).value(Some(value)).build())
    });
    let content = ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
        .examples_from_iter(examples)
        .build();
    let response = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content).build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

/// Declares a response set of one status with several kinds:
/// `problem_responses!(E422Event, 422, "what", [ValidationFailed => "detail", ...]);`
macro_rules! problem_responses {
    ($name:ident, $status:literal, $desc:literal, [$($kind:ident => $detail:literal),+ $(,)?]) => {
        #[doc = $desc]
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problems($status, $desc, &[$((Problem::$kind, $detail)),+])
            }
        }
    };
}

problem_responses!(
    E422Event,
    422,
    "Valid JSON that breaks a rule, or an event out of time order",
    [
        ValidationFailed => "kind: unknown variant `lost`",
        EventOutOfOrder => "at: 2026-12-01T08:00:00+00:00 is before the event reported before it (2026-12-02T09:30:00Z)",
    ]
);

/// The 400 of a path that `http::clean_path` refuses, added to every operation with a path
/// parameter by `openapi::document`.
pub fn invalid_path() -> BTreeMap<String, RefOr<Response>> {
    problem(
        Problem::InvalidPath,
        "A path segment holds a control character (a NUL among them) or is too long",
        "path segment 4 holds a control character (such as NUL)",
    )
}

macro_rules! problem_response {
    ($name:ident, $kind:ident, $desc:literal, $detail:literal) => {
        #[doc = $desc]
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem(Problem::$kind, $desc, $detail)
            }
        }
    };
}

problem_response!(
    E400,
    MalformedJson,
    "Malformed request (body, query or header)",
    "the body is not valid JSON: EOF while parsing an object at line 1 column 12"
);
problem_response!(
    E401,
    Unauthorized,
    "No token, or an invalid or expired one",
    "an Authorization: Bearer token is required"
);
problem_response!(
    E403,
    Forbidden,
    "The caller's role may not do this",
    "the station role may not do this; it needs one of: admin"
);
problem_response!(E404, NotFound, "Not found, or outside the caller's scope", "location ST-XX-999 not found");
problem_response!(E409, Conflict, "The object's state does not allow this", "already exists: location RC-HZ");
problem_response!(
    E413,
    PayloadTooLarge,
    "The body is larger than the limit",
    "the body is larger than the limit of 1048576 bytes"
);
problem_response!(
    E415,
    UnsupportedMediaType,
    "The body is not JSON",
    "the body must be JSON, sent with Content-Type: application/json"
);
problem_response!(
    E422,
    ValidationFailed,
    "Valid JSON that breaks a rule; `errors` names each field",
    "kind: unknown variant `depot`"
);
problem_response!(
    E429,
    TooManyLogins,
    "Too many failed logins for this username or from this address; `Retry-After` says when to try again",
    "too many failed logins; try again in 840 seconds"
);
problem_response!(
    E503,
    Unavailable,
    "The database is unreachable",
    "the database is unavailable; retry shortly"
);

/// The answers of one status with one named example per kind of problem, for an operation whose
/// refusals of that status are of several kinds: `kinds` is `(kind, detail)` pairs, all of the
/// same status; the first also names the response's description.
pub fn problems_of(description: &str, kinds: &[(Problem, &str)]) -> BTreeMap<String, RefOr<Response>> {
    use utoipa::openapi::example::ExampleBuilder;
    let Some((first, _)) = kinds.first() else { return BTreeMap::new() };
    let status = first.status().as_u16();
    let examples = kinds.iter().map(|(kind, detail)| {
        let value = serde_json::json!({
            "type": kind.type_uri(),
            "title": kind.title(),
            "status": kind.status().as_u16(),
            "detail": detail,
        });
        (kind.slug().to_string(), ExampleBuilder::new().summary(kind.title()).value(Some(value)).build())
    });
    let content = ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
        .examples_from_iter(examples)
        .build();
    let response = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content).build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

/// A response type of several problem kinds of one status, each with its own example (see
/// [`problems_of`]): `problem_examples!(E422Ticket, "desc", [(Kind, "detail"), ..])`.
#[macro_export]
macro_rules! problem_examples {
    ($name:ident, $desc:literal, [$(($kind:ident, $detail:literal)),+ $(,)?]) => {
        #[doc = $desc]
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses(
            ) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                $crate::http::docs::problems_of($desc, &[$(($crate::error::Problem::$kind, $detail)),+])
            }
        }
    };
}

problem_examples!(
    E409Parts,
    "The object's state does not allow this; the ticket named takes no more parts",
    [
        (InsufficientStock, "not enough RF-CMP-00130B at ST-TZ-001: 0 available, 1 asked"),
        (TicketTakesNoParts, "ticket 7: a ticket that is closed takes no more parts"),
    ]
);
problem_examples!(
    E422Parts,
    "Valid JSON that breaks a rule: a field (`errors`), a part that does not fit the ticket's unit, a ticket of another station",
    [
        (ValidationFailed, "lines: at least 1 item"),
        (UnknownPartCode, "there is no part RF-CMP-00131A; did you mean RF-CMP-00130B? (parts of model BCD-539WT)"),
        (
            IncompatiblePart,
            "line 0: part RF-CMP-00417K does not fit model BCD-539WT of ticket 7; it takes RF-CMP-00130B"
        ),
        (
            TicketOfAnotherStation,
            "ticket 7 is of ST-TZ-002, not of ST-TZ-001: parts go to the station that does the work"
        ),
    ]
);
problem_examples!(
    E409Core,
    "The line is reconciled already, or the ticket has had no visit yet",
    [
        (AlreadyReconciled, "loan line 1 is reconciled already (core_returned)"),
        (
            NoVisitYet,
            "ticket 7 has had no visit yet (dispatched): a core is returned after the technician was on site"
        ),
    ]
);
problem_examples!(
    E422Core,
    "Valid JSON that breaks a rule: a field (`errors`), or an old part that is not the one the unit's record holds",
    [
        (ValidationFailed, "serial: give serial or production_date"),
        (
            CoreMismatch,
            "the old CMP part (CMP0000000000) is not the one the unit's record holds; bring back the part taken out of the unit"
        ),
    ]
);
