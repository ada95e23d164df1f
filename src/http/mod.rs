//! Shared HTTP pieces: the JSON extractor, pagination, request ids and access logs, metrics,
//! and the handlers that turn every framework error into problem+json.

pub mod date;
pub mod docs;
pub mod json;
pub mod metrics;
pub mod mount;
pub mod pagination;
pub mod query;
pub mod sheet;
pub mod strict;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tracing::Instrument;

use crate::error::{AppError, Problem, PROBLEM_JSON};

pub use json::{Json, MaybeJson};
pub use metrics::Metrics;
pub use mount::Mount;
pub use pagination::{IdPage, KeyPage, Page, PageRequest};
pub use query::Query;

pub const REQUEST_ID: &str = "x-request-id";
pub use crate::db::replica::READ_AFTER_HEADER;

/// A file's bytes, as the OpenAPI document states a binary body or answer
/// (`type: string, format: binary`); a `Vec<u8>` would read as an array of integers.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// Which of the `offered` media types (the first is the default) the request's `Accept` header
/// prefers, by its quality values (`q=`; ties go to the earlier offered), an exact type before
/// `type/*` before `*/*`. No header takes the default; a header that accepts none of them is
/// 406 naming them.
pub fn negotiate(req: &HttpRequest, offered: &[&str]) -> Result<usize, AppError> {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(0);
    };
    if accept.trim().is_empty() {
        return Ok(0);
    }
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|r| {
            let mut parts = r.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!media.is_empty()).then_some((media, q))
        })
        .collect();
    // each offered type's quality: that of the most specific range naming it
    let quality = |offer: &str| -> f32 {
        let family = offer.split('/').next().unwrap_or("");
        let exact = ranges.iter().find(|(m, _)| m == offer);
        let wild = ranges.iter().find(|(m, _)| m.strip_suffix("/*") == Some(family));
        let any = ranges.iter().find(|(m, _)| m == "*/*");
        exact.or(wild).or(any).map_or(0.0, |(_, q)| *q)
    };
    let mut best: Option<(usize, f32)> = None;
    for (i, offer) in offered.iter().enumerate() {
        let q = quality(offer);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((i, q));
        }
    }
    best.map(|(i, _)| i).ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_ACCEPTABLE,
            Problem::NotAcceptable,
            format!("Accept: {accept} takes none of what this answers: {}", offered.join(", ")),
        )
        .with("available", offered)
    })
}

/// Whether the request's `Accept` header names `media` (how the file exports pick CSV or XLSX
/// when no `format=` is given).
pub fn accepts(req: &HttpRequest, media: &str) -> bool {
    req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(media))
}

/// Gives each request an id (the caller's `X-Request-Id` when sane, else a new one), logs it
/// in a span with method, route, status and latency, and counts it in the metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %id, %method, path = %req.path());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    // what the request's reads must see when they may go to a replica: the position the
    // client sent back from an earlier write's answer (a malformed one is ignored), and the
    // caller's own writes (named by the authentication); a write's answer carries its position
    let after = req
        .headers()
        .get(READ_AFTER_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::db::replica::parse_lsn)
        .unwrap_or(0);
    let session = crate::db::replica::Session::new(after);
    let mut res = session.clone().scope(next.call(req).instrument(span.clone())).await?;
    if let Some(lsn) = session.wrote() {
        if let Ok(v) = HeaderValue::from_str(&crate::db::replica::format_lsn(lsn)) {
            res.headers_mut().insert(header::HeaderName::from_static(READ_AFTER_HEADER), v);
        }
    }
    let status = res.status().as_u16();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, status, elapsed);
    }
    span.in_scope(|| {
        tracing::info!(status, route = %route, ms = elapsed * 1000.0, "answered");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(header::HeaderName::from_static(REQUEST_ID), v);
    }
    Ok(res)
}

/// Where the OpenAPI document is served (and where Swagger UI reads it).
pub const OPENAPI_JSON: &str = "/api-docs/openapi.json";

/// The OpenAPI document as JSON, serialised once when the server starts.
pub struct OpenApiJson(pub web::Bytes);

/// `GET /api-docs/openapi.json`: the document.
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type(header::ContentType::json()).body(doc.0.clone())
}

/// `/` and `/swagger-ui` lead to Swagger UI (308, so the method is kept).
pub async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/swagger-ui/")).finish()
}

/// The most characters a path segment may have: every code and serial the API names in a path
/// is at most this long (the same limit as the codes in bodies). The OpenAPI document states it
/// on every string path parameter.
pub const PATH_SEGMENT_MAX: usize = 64;

/// The pattern the OpenAPI document states for string path parameters: no control character
/// (Unicode's Cc category, as `char::is_control`: U+0000-U+001F and U+007F-U+009F).
pub const PATH_SEGMENT_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// Text hygiene of the path, before routing and before any database call: a path whose
/// percent-decoded segments are not UTF-8, hold a control character (a NUL among them) or are
/// longer than [`PATH_SEGMENT_MAX`] characters is 400 `invalid_path`, naming the segment.
pub async fn clean_path(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Err(detail) = path_fault(req.path()) {
        return Err(AppError::bad_request(Problem::InvalidPath, detail).into());
    }
    next.call(req).await
}

/// What is wrong with a raw request path, if anything.
fn path_fault(raw: &str) -> Result<(), String> {
    for (n, segment) in raw.split('/').enumerate().skip(1) {
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| format!("path segment {n} is not valid UTF-8 once percent-decoded"))?;
        if decoded.chars().any(char::is_control) {
            return Err(format!("path segment {n} holds a control character (such as NUL)"));
        }
        let chars = decoded.chars().count();
        if chars > PATH_SEGMENT_MAX {
            return Err(format!(
                "path segment {n} has {chars} characters; at most {PATH_SEGMENT_MAX} are allowed"
            ));
        }
    }
    Ok(())
}

/// Last line of defence: any 4xx/5xx that is not already problem+json (actix's own plain-text
/// errors from routing or extractors) is rewritten as problem+json with the same status.
pub fn problem_for_framework_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, old) = res.into_parts();
    let detail = match old.into_body().try_into_bytes() {
        Ok(b) if !b.is_empty() && b.len() < 512 => String::from_utf8_lossy(&b).into_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let kind = kind_for(status);
    let new = AppError::new(status, kind, detail).error_response();
    let res = ServiceResponse::new(req, new).map_into_boxed_body().map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

fn kind_for(status: StatusCode) -> Problem {
    match status.as_u16() {
        400 => Problem::BadRequest,
        401 => Problem::Unauthorized,
        403 => Problem::Forbidden,
        404 => Problem::NotFound,
        405 => Problem::MethodNotAllowed,
        406 => Problem::NotAcceptable,
        409 => Problem::Conflict,
        413 => Problem::PayloadTooLarge,
        414 => Problem::UriTooLong,
        415 => Problem::UnsupportedMediaType,
        422 => Problem::ValidationFailed,
        431 => Problem::HeadersTooLarge,
        503 => Problem::Unavailable,
        s if s >= 500 => Problem::Internal,
        _ => Problem::Error,
    }
}

/// Query strings that do not parse: 400 naming the parameter.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    // the parser's own words, without the framework's name for its step
    let why = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    AppError::bad_request(Problem::InvalidQuery, format!("invalid query parameters: {why}")).into()
}

/// Path segments that do not parse (an id that is no whole number, ...): nothing by that name
/// exists.
pub fn path_error(_: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    AppError::not_found(format!("no resource at {} (an id is a whole number)", req.path())).into()
}

/// The routes of the API with their methods, so that an unknown path is 404 and a known path
/// with a wrong method is 405 with an `Allow` header.
pub struct RouteTable(pub Vec<(actix_web::dev::ResourceDef, Vec<Method>, Vec<Operation>)>);

/// What a documented operation takes besides its path.
pub struct Operation {
    /// its query parameters
    pub query: Vec<String>,
    /// whether it takes a request body (optional or not)
    pub body: bool,
    /// the header parameters it documents, in lower case
    pub headers: Vec<String>,
    /// who may call it: `None` when it needs no token (the operation states no security),
    /// else the roles its bearer requirement names (none named: every role)
    pub roles: Option<Vec<String>>,
}

impl RouteTable {
    /// Each documented path with its methods and, per method, the query parameters it takes and
    /// whether it takes a body.
    /// The document's paths are in text order, so a fixed segment (`/parts/export`) comes
    /// before a template that would match it too (`/parts/{code}`).
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> RouteTable {
        use utoipa::openapi::path::ParameterIn;
        let mut routes = Vec::new();
        for (path, item) in &doc.paths.paths {
            let mut methods = Vec::new();
            let mut queries = Vec::new();
            let ops = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (m, op) in ops {
                if let Some(op) = op {
                    methods.push(m);
                    let names = op.parameters.iter().flatten().chain(item.parameters.iter().flatten());
                    let names: Vec<_> = names.collect();
                    queries.push(Operation {
                        query: names
                            .iter()
                            .filter(|p| p.parameter_in == ParameterIn::Query)
                            .map(|p| p.name.clone())
                            .collect(),
                        body: op.request_body.is_some(),
                        headers: names
                            .iter()
                            .filter(|p| p.parameter_in == ParameterIn::Header)
                            .map(|p| p.name.to_ascii_lowercase())
                            .collect(),
                        roles: roles_of(op),
                    });
                }
            }
            routes.push((actix_web::dev::ResourceDef::new(path.as_str()), methods, queries));
        }
        RouteTable(routes)
    }

    fn allowed(&self, path: &str) -> Option<&[Method]> {
        self.0.iter().find(|(def, _, _)| def.is_match(path)).map(|(_, m, _)| m.as_slice())
    }

    /// The request's operation, if it is a documented one, looked up once per request: the
    /// first middleware that asks (`auth::gate`) leaves where it found it in the request's
    /// extensions for the next (`declared_input`), so the patterns are matched once, not once
    /// per middleware.
    pub fn operation_of(&self, req: &ServiceRequest) -> Option<&Operation> {
        let known = req.extensions().get::<Found>().copied();
        let at = match known {
            Some(Found(at)) => at,
            None => {
                let at = self.find(req.method(), req.path());
                req.extensions_mut().insert(Found(at));
                at
            }
        };
        at.map(|(r, o)| &self.0[r].2[o])
    }

    /// (route, operation) indices of `method` `path`.
    fn find(&self, method: &Method, path: &str) -> Option<(usize, usize)> {
        let r = self.0.iter().position(|(def, _, _)| def.is_match(path))?;
        let o = self.0[r].1.iter().position(|m| m == method)?;
        Some((r, o))
    }
}

/// Where [`RouteTable::operation_of`] found a request's operation (None: not a documented one).
#[derive(Clone, Copy)]
struct Found(Option<(usize, usize)>);

/// The roles an operation's `bearer` requirement names (OpenAPI 3.1 lets a requirement of an
/// HTTP scheme list "role names which are required for the execution"); `None` when it states
/// no security at all.
fn roles_of(op: &utoipa::openapi::path::Operation) -> Option<Vec<String>> {
    let requirements = op.security.as_ref()?;
    // the requirement's map is private to utoipa; its serialised form is `{"bearer": [...]}`
    let value = serde_json::to_value(requirements).ok()?;
    let roles = value
        .as_array()?
        .iter()
        .filter_map(|r| r.get("bearer")?.as_array())
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    Some(roles)
}

/// Input an operation does not take is refused, on every operation (after `auth::gate`: a
/// caller without a valid token, or of a role the operation does not take, is refused before):
/// - an `Idempotency-Key` on a write that does not take one (400 `invalid_header`): a client
///   that retries trusting it would write twice;
/// - a query parameter it does not document (400 `invalid_query`, naming it and the ones it
///   takes): a misspelled `limt` or a `dry_run` the API does not have would otherwise be ignored
///   in silence, and a "dry run" would write;
/// - a body, when it takes none: it is read as strictly as any body, as an object with no
///   fields. Nothing (zero bytes) or `{}` pass; `{"reason": ...}` is 422 naming `reason`,
///   `{{{garbage` 400, another content type 415, as for an operation with a body. So
///   `POST /parts-requests/{id}/cancel` never acts on a body it did not read as if nothing had
///   been sent.
pub async fn declared_input(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // the operation's checks read its entry in place; only whether it takes a body is kept
    let takes_body = match req.app_data::<web::Data<RouteTable>>().and_then(|r| r.operation_of(&req)) {
        None => None,
        Some(op) => {
            // a write that does not take the key would run again on a retry that trusts it
            let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
            let idempotent = op.headers.iter().any(|h| h == "idempotency-key");
            if writes && !idempotent && req.headers().contains_key("idempotency-key") {
                return Err(AppError::bad_request(
                    Problem::InvalidHeader,
                    format!(
                        "{} {} does not take an Idempotency-Key: a retry of it would not be known as one \
                         (POST /api/v1/parts-requests takes one); send it without the header",
                        req.method(),
                        req.path()
                    ),
                )
                .with("header", "Idempotency-Key")
                .into());
            }
            let known = &op.query;
            for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
                let raw = pair.split_once('=').map_or(pair, |(n, _)| n);
                let name = percent_encoding::percent_decode_str(&raw.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                if !known.contains(&name) {
                    let takes = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                    return Err(AppError::bad_request(
                        Problem::InvalidQuery,
                        format!(
                            "unknown query parameter {name:?}; the parameters this operation takes: {takes}"
                        ),
                    )
                    .with("parameter", name)
                    .into());
                }
            }
            Some(op.body)
        }
    };
    if takes_body == Some(false) {
        let (http, mut payload) = req.into_parts();
        <json::MaybeJson<NoFields> as actix_web::FromRequest>::from_request(&http, &mut payload).await?;
        return next.call(ServiceRequest::from_parts(http, actix_web::dev::Payload::None)).await;
    }
    next.call(req).await
}

/// The body of an operation that takes none: absent, or an object with no fields.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl crate::validate::Validate for NoFields {
    fn check(&self, _: &str, _: &crate::validate::Limits, _: &mut Vec<crate::error::FieldError>) {}
}

/// The default service: 405 for a known path with another method, else 404.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    let path = req.path();
    match routes.allowed(path) {
        Some(methods) if !methods.is_empty() => {
            let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let err = AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                Problem::MethodNotAllowed,
                format!("{} is not allowed on {path}; allowed: {allow}", req.method()),
            )
            .with_header(header::ALLOW, allow.clone())
            .with("allowed", allow.split(", ").collect::<Vec<_>>());
            actix_web::ResponseError::error_response(&err)
        }
        _ => actix_web::ResponseError::error_response(&AppError::not_found(format!(
            "no route {} {path}; see /swagger-ui/ for the API",
            req.method()
        ))),
    }
}

/// For PATCH bodies: an absent field is `None`, `null` is `Some(None)`, a value `Some(Some(v))`
/// (use with `#[serde(default)]`).
/// For a field of a change (`PATCH`) that can be changed but not cleared: absent keeps it
/// (with `#[serde(default)]`), a value changes it, `null` is refused naming the field rather
/// than read as "absent" (`{"name": null}` would otherwise change nothing and answer 200).
pub fn not_null<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    match <Option<T> as serde::Deserialize>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("cannot be cleared (null); leave it out to keep it")),
    }
}

pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod negotiation_tests {
    use super::negotiate;

    fn pick(accept: Option<&str>) -> Result<usize, u16> {
        let mut req = actix_web::test::TestRequest::default();
        if let Some(a) = accept {
            req = req.insert_header(("accept", a));
        }
        negotiate(&req.to_http_request(), &["application/json", "text/csv", "application/vnd.ms-excel"])
            .map_err(|e| e.status.as_u16())
    }

    #[test]
    fn the_accept_header_is_weighed_by_its_qualities() {
        assert_eq!(pick(None), Ok(0), "no header: the default");
        assert_eq!(pick(Some("text/csv")), Ok(1));
        assert_eq!(pick(Some("text/csv;q=0.1, application/json")), Ok(0), "q weighs");
        assert_eq!(pick(Some("application/json, text/csv")), Ok(0), "a tie goes to the first offered");
        assert_eq!(pick(Some("text/*")), Ok(1));
        assert_eq!(pick(Some("*/*")), Ok(0));
        assert_eq!(pick(Some("*/*;q=0.1, text/csv")), Ok(1));
        assert_eq!(pick(Some("application/json;q=0, */*")), Ok(1), "q=0 refuses a type");
        assert_eq!(pick(Some("application/pdf")), Err(406));
        assert_eq!(pick(Some("text/csv;q=0")), Err(406));
    }
}
