//! Reusable OpenAPI responses for the problem documents, so every path lists its 4xx/5xx
//! answers in one short line: `responses((status = 200, body = X), E401, E404)`.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{RefOr, Response};

use crate::error::PROBLEM_JSON;

fn problem(status: u16, kind: &str, description: &str, detail: &str) -> BTreeMap<String, RefOr<Response>> {
    let example = serde_json::json!({
        "type": format!("/problems/{kind}"),
        "title": actix_web::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
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
    ($name:ident, $status:literal, $kind:literal, $desc:literal, $detail:literal) => {
        #[doc = $desc]
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem($status, $kind, $desc, $detail)
            }
        }
    };
}

problem_response!(
    E400,
    400,
    "malformed_json",
    "Malformed request (body, query or header)",
    "the body is not valid JSON: EOF while parsing an object at line 1 column 12"
);
problem_response!(
    E401,
    401,
    "unauthorized",
    "No token, or an invalid or expired one",
    "an Authorization: Bearer token is required"
);
problem_response!(
    E403,
    403,
    "forbidden",
    "The caller's role may not do this",
    "the station role may not do this; it needs one of: admin"
);
problem_response!(
    E404,
    404,
    "not_found",
    "Not found, or outside the caller's scope",
    "location ST-XX-999 not found"
);
problem_response!(
    E409,
    409,
    "conflict",
    "The object's state does not allow this",
    "already exists: location RC-HZ"
);
problem_response!(
    E413,
    413,
    "payload_too_large",
    "The body is larger than the limit",
    "the body is larger than the limit of 1048576 bytes"
);
problem_response!(
    E415,
    415,
    "unsupported_media_type",
    "The body is not JSON",
    "the body must be JSON, sent with Content-Type: application/json"
);
problem_response!(
    E422,
    422,
    "validation_failed",
    "Valid JSON that breaks a rule; `errors` names each field",
    "kind: unknown variant `depot`"
);
problem_response!(
    E503,
    503,
    "unavailable",
    "The database is unreachable",
    "the database is unavailable; retry shortly"
);
