//! `Json<T>`: the JSON body extractor every handler uses. Unlike actix's own it says *which*
//! field is wrong (`errors: [{field, message}]`), and every failure is problem+json:
//! 415 wrong content type, 413 too large, 400 not JSON, 422 JSON of the wrong shape.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError, Problem};
use crate::validate::{self, Validate};

use super::strict;

/// Deepest nesting accepted in a request body (serde_json's own limit is 128).
const MAX_DEPTH: usize = 32;

pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Body size limit, set from `ECHELON_MAX_BODY_BYTES` in app data.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Json<T>, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<web::Data<BodyLimit>>().map(|l| l.0).unwrap_or(1024 * 1024);
        let content_type_ok = is_json(req);
        let encoding = coded(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(AppError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Problem::UnsupportedMediaType,
                    "the body must be JSON in UTF-8, sent with Content-Type: application/json (a charset, if named, is utf-8)",
                ));
            }
            if let Some(coding) = encoding {
                return Err(not_decoded(&coding));
            }
            let too_large = || {
                AppError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    Problem::PayloadTooLarge,
                    format!("the body is larger than the limit of {limit} bytes"),
                )
            };
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request(Problem::UnreadableBody, format!("the body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let value = parse::<T>(&body)?;
            validate::body(&value)?;
            Ok(Json(value))
        })
    }
}

/// An optional JSON object as the body: no body (zero bytes) is `None`; anything else, even
/// whitespace, must be a JSON object of the right shape, with the same problems as [`Json`]
/// (unlike `Option<Json<T>>`, which would silently drop a malformed body): not JSON is 400, an
/// array or another value 422.
pub struct MaybeJson<T>(pub Option<T>);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for MaybeJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeJson<T>, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<web::Data<BodyLimit>>().map(|l| l.0).unwrap_or(1024 * 1024);
        let content_type_ok = is_json(req);
        let encoding = coded(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request(Problem::UnreadableBody, format!("the body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::new(
                        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                        Problem::PayloadTooLarge,
                        format!("the body is larger than the limit of {limit} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Ok(MaybeJson(None));
            }
            if !content_type_ok {
                return Err(AppError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Problem::UnsupportedMediaType,
                    "the body must be JSON in UTF-8, sent with Content-Type: application/json (a charset, if named, is utf-8)",
                ));
            }
            if let Some(coding) = encoding {
                return Err(not_decoded(&coding));
            }
            let value = parse::<T>(&body)?;
            validate::body(&value)?;
            Ok(MaybeJson(Some(value)))
        })
    }
}

/// The request's `Content-Encoding` when it is one the body would have to be decoded from
/// (anything but `identity`): echelon reads bodies as sent, so a compressed one is refused
/// rather than read as malformed JSON.
fn coded(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::CONTENT_ENCODING)?;
    let v = String::from_utf8_lossy(v.as_bytes()).trim().to_ascii_lowercase();
    (!v.is_empty() && v != "identity").then_some(v)
}

fn not_decoded(coding: &str) -> AppError {
    AppError::new(
        actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Problem::UnsupportedMediaType,
        format!("a body with Content-Encoding {coding:?} is not accepted: send it uncompressed"),
    )
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    json && utf8_or_unnamed(ct)
}

/// The media type's `charset`, when it names one, is UTF-8 (in any case, quoted or not): a body
/// is read as UTF-8, so one declared in another charset (`charset=latin1`) is refused (415)
/// rather than read as something it is not (RFC 8259 section 8.1: JSON is UTF-8). The CSV
/// import holds its files to the same rule.
pub fn utf8_or_unnamed(content_type: &str) -> bool {
    content_type.split(';').skip(1).all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

/// Parses a JSON body into `T`, naming the field at fault.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request(
            Problem::MalformedJson,
            "the body is empty; a JSON document is required",
        ));
    }
    if nesting_depth(body) > MAX_DEPTH {
        return Err(AppError::bad_request(
            Problem::MalformedJson,
            format!("the JSON is nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    // Two steps, so that every syntax error is a 400 and every shape error a 422 naming its
    // field (serde_json reports some shape errors, e.g. a number where an enum belongs, as
    // syntax errors when deserialising straight from bytes).
    // A name given twice in one object is refused (serde_json would keep the last), and a
    // struct is read from an object only (serde would read an array as its fields in order):
    // see `strict`.
    let value = strict::value(body).map_err(|e| match e {
        strict::ValueError::Syntax(e) => {
            AppError::bad_request(Problem::MalformedJson, format!("the body is not valid JSON: {e}"))
        }
        strict::ValueError::Duplicate(path) => AppError::invalid_fields(vec![FieldError::new(
            path,
            "given twice in one object; give each name once",
        )]),
    })?;
    serde_path_to_error::deserialize::<_, T>(strict::Strict(value)).map_err(|err| {
        let path = err.path().to_string();
        let message = clean(err.inner());
        // a missing field is named itself, not the object that lacks it
        let missing = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`'));
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_string(),
            (_, Some(name)) => format!("{path}.{name}"),
            (".", None) => "(body)".to_string(),
            _ => path,
        };
        let message = if missing.is_some() { "required".to_string() } else { message };
        AppError::invalid_fields(vec![FieldError::new(field, message)])
    })
}

/// serde's message without the " at line 1 column 9" tail.
fn clean(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The deepest nesting of arrays/objects, ignoring brackets inside strings.
fn nesting_depth(body: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        part_code: String,
        qty: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Req {
        lines: Vec<Line>,
    }

    #[test]
    fn a_charset_named_is_utf_8_or_refused() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;Charset=\"UTF-8\"",
            "text/csv; header=present",
        ] {
            assert!(utf8_or_unnamed(ct), "{ct}");
        }
        for ct in [
            "application/json; charset=latin1",
            "application/json; charset=\"iso-8859-1\"",
            "text/csv; charset=utf-16",
        ] {
            assert!(!utf8_or_unnamed(ct), "{ct}");
        }
    }

    #[test]
    fn names_the_field_with_the_wrong_type() {
        let e = parse::<Req>(br#"{"lines":[{"part_code":"X","qty":"two"}]}"#).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.extra["errors"][0]["field"], "lines[0].qty");
    }

    #[test]
    fn syntax_errors_are_400_and_deep_nesting_is_refused() {
        assert_eq!(parse::<Req>(b"{\"lines\": [").unwrap_err().status.as_u16(), 400);
        assert_eq!(parse::<Req>(b"").unwrap_err().status.as_u16(), 400);
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse::<Req>(deep.as_bytes()).unwrap_err().status.as_u16(), 400);
        assert_eq!(nesting_depth(br#"{"a":"[[[[["}"#), 1);
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = parse::<Req>(br#"{"lines":[{"part_cod":"X","qty":1}]}"#).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert!(e.detail.contains("part_cod"), "{}", e.detail);
    }
}
