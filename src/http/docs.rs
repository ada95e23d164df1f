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
