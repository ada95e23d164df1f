//! The problem answers of the OpenAPI document, one mechanism for all: a response type per
//! status declared with [`problems!`](crate::problems), each problem kind it can answer a named
//! example of its own (its realistic `detail` and its extra members), so Swagger UI shows what
//! that operation really answers:
//!
//! ```ignore
//! problems!(E404Request, 404, "No parts request of this id in the caller's sight", [
//!     NotFound => "parts request 12 not found",
//! ]);
//! problems!(E422Parts, 422, "A line names a part that is unknown or does not fit the ticket", [
//!     UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
//!         {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"]},
//!     NotFound "ticket" => "ticket 7 not found",   // a second example of one kind, named
//! ]);
//! ```
//!
//! Each domain declares its 404, 409 and 422 types next to its handlers. The answers every
//! operation of a shape shares are stated here once: the 401, 403, 413, 415, 429 and 503, and
//! the markers [`E400`] and [`E422`], whose examples `openapi::document` derives from the
//! operation itself ([`request_faults`], [`field_fault`]): a body's malformed JSON, a query
//! parameter that does not parse, a path segment `http::clean_path` refuses, a header out of
//! its form, a field out of its limits.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{RefOr, Response};

use crate::error::{Problem, PROBLEM_JSON};

/// One documented problem: its kind, the example's name when the kind is shown more than once
/// in a response, its detail and its extra members.
pub struct Example {
    pub kind: Problem,
    pub name: Option<&'static str>,
    pub detail: String,
    pub extra: Map<String, Value>,
}

impl Example {
    pub fn new(kind: Problem, detail: impl Into<String>) -> Example {
        Example { kind, name: None, detail: detail.into(), extra: Map::new() }
    }

    pub fn named(mut self, name: &'static str) -> Example {
        self.name = Some(name);
        self
    }

    /// The extra members, a JSON object (`{"suggestions": [..]}`).
    pub fn with(mut self, extra: Value) -> Example {
        if let Value::Object(m) = extra {
            self.extra.extend(m);
        }
        self
    }

    /// The example's key in the response: the kind's slug, or `<slug>_<name>`.
    pub fn key(&self) -> String {
        match self.name {
            Some(n) => format!("{}_{n}", self.kind.slug()),
            None => self.kind.slug().to_string(),
        }
    }

    /// The problem document as the API answers it with `status`.
    pub fn value(&self, status: u16) -> Value {
        let mut v = json!({
            "type": self.kind.type_uri(),
            "title": self.kind.title(),
            "status": status,
            "detail": self.detail,
        });
        if let Value::Object(m) = &mut v {
            m.extend(self.extra.clone());
        }
        v
    }

    fn summary(&self) -> String {
        match self.name {
            Some(n) => format!("{} ({})", self.kind.title(), n.replace('_', " ")),
            None => self.kind.title().to_string(),
        }
    }
}

/// The response of one status listing `examples`, each a named example of its own.
pub fn problems(status: u16, description: &str, examples: Vec<Example>) -> BTreeMap<String, RefOr<Response>> {
    let mut content = ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")));
    for e in &examples {
        debug_assert!(e.kind.statuses().iter().any(|s| s.as_u16() == status), "{} is not a {status}", e.kind);
        let example = ExampleBuilder::new().summary(e.summary()).value(Some(e.value(status))).build();
        content = content.examples_from_iter([(e.key(), example)]);
    }
    let response =
        ResponseBuilder::new().description(description).content(PROBLEM_JSON, content.build()).build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

/// Declares a response type of one status with its problem examples (see the module's
/// documentation): `problems!(Name, status, "description", [Kind ["name"] => "detail"
/// [{extra members}], ..]);`.
#[macro_export]
macro_rules! problems {
    ($name:ident, $status:literal, $desc:literal, [
        $($kind:ident $($ex:literal)? => $detail:literal $({ $($extra:tt)* })?),* $(,)?
    ]) => {
        #[doc = $desc]
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses(
            ) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                $crate::http::docs::problems($status, $desc, vec![$(
                    $crate::http::docs::Example::new($crate::error::Problem::$kind, $detail)
                        $(.named($ex))?
                        $(.with(serde_json::json!({ $($extra)* })))?
                ),*])
            }
        }
    };
}

/// The description `openapi::document` replaces with what the operation's own faults are.
pub const DERIVED: &str = "(derived from the operation)";

problems!(E400, 400, "(derived from the operation)", []);
problems!(E422, 422, "(derived from the operation)", []);

problems!(E401, 401, "No token, or an invalid or expired one", [
    Unauthorized => "an Authorization: Bearer token is required",
]);
problems!(E403, 403, "The caller's role may not do this", [
    Forbidden => "the station role may not do this; it needs one of: admin",
]);
problems!(E406, 406, "The Accept header takes none of the media types this operation answers with (`available` lists them); `format=` picks one outright", [
    NotAcceptable => "Accept: application/pdf takes none of what this answers: application/json, text/csv"
        {"available": ["application/json", "text/csv"]},
]);
problems!(E413, 413, "The body is larger than the limit", [
    PayloadTooLarge => "the body is larger than the limit of 1048576 bytes",
]);
problems!(E415, 415, "The body is not JSON", [
    UnsupportedMediaType => "the body must be JSON in UTF-8, sent with Content-Type: application/json (a charset, if named, is utf-8)",
]);
problems!(
    E429,
    429,
    "Too many failed logins for this username or from this address; `Retry-After` says when to try again",
    [TooManyLogins => "too many failed logins; try again in 840 seconds"]
);
problems!(E503, 503, "The database is unreachable; retry shortly", [
    Unavailable => "the database is unavailable; retry shortly",
]);

/// What an operation's request is made of, as the document states it.
pub struct Shape<'a> {
    pub path: &'a str,
    pub has_body: bool,
    /// the query parameters: name, whether a string, its `maxLength`
    pub query: Vec<(&'a str, bool, Option<usize>)>,
    pub has_path_parameter: bool,
    pub headers: Vec<&'a str>,
}

/// The 400s an operation of `shape` can answer before its handler runs: a malformed body, a
/// query that does not parse or breaks its limits, a path segment `http::clean_path` refuses,
/// an `Idempotency-Key` out of its form.
pub fn request_faults(shape: &Shape) -> Vec<Example> {
    let mut out = Vec::new();
    if shape.has_body {
        out.push(Example::new(
            Problem::MalformedJson,
            "the body is not valid JSON: EOF while parsing an object at line 1 column 12",
        ));
    }
    if let Some((name, _, max)) = shape.query.iter().find(|(_, _, max)| max.is_some()) {
        let max = max.unwrap_or_default();
        let message = format!("at most {max} characters");
        out.push(
            Example::new(Problem::InvalidQuery, format!("invalid query parameters: {name}: {message}"))
                .with(json!({"errors": [{"field": name, "message": message}]})),
        );
    } else if let Some((_, string, _)) = shape.query.first() {
        let why = if *string { "unknown variant `everything`" } else { "invalid digit found in string" };
        out.push(Example::new(
            Problem::InvalidQuery,
            format!("invalid query parameters: Query deserialize error: {why}"),
        ));
    }
    if shape.has_path_parameter {
        let segment = shape.path.split('/').position(|s| s.starts_with('{')).unwrap_or(1);
        out.push(Example::new(
            Problem::InvalidPath,
            format!("path segment {segment} holds a control character (such as NUL)"),
        ));
    }
    if shape.headers.iter().any(|h| h.eq_ignore_ascii_case("idempotency-key")) {
        out.push(Example::new(
            Problem::InvalidHeader,
            "Idempotency-Key must be 1-200 visible ASCII characters",
        ));
    }
    out
}

/// How [`request_faults`]' kinds read in a 400's description.
pub fn fault_phrase(kind: Problem) -> &'static str {
    match kind {
        Problem::MalformedJson => "the body is not JSON",
        Problem::UnreadableBody => "the body could not be read",
        Problem::InvalidQuery => "a query parameter does not parse or is out of its limits",
        Problem::InvalidPath => "a path segment holds a control character or is too long",
        Problem::InvalidHeader => "a header is not of its form",
        Problem::NoNetwork => "the network is not set up",
        _ => "the request is malformed",
    }
}

/// The `validation_failed` example of an operation: a body field out of its limits (`field`
/// and `message` from the body's schema), or a query string holding a NUL.
pub fn field_fault(field: &str, message: &str) -> Example {
    Example::new(Problem::ValidationFailed, format!("{field}: {message}"))
        .with(json!({"errors": [{"field": field, "message": message}]}))
}
