//! `AppError`: every failure the API reports, rendered as RFC 9457 `application/problem+json`
//! with a stable snake_case `type` suffix that clients branch on.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";
const RETRY: &str = "retry_transaction";

/// The problem document (RFC 9457). `type` is `/problems/<kind>`; extra members such as
/// `suggestions`, `errors` or `exceeds_by` appear beside the standard ones where useful.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "location ST-XX-999 not found"
}))]
pub struct Problem {
    /// `/problems/<kind>`: a stable identifier of the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Extra members: `errors`, `suggestions`, `exceeds_by`, `allowed`, ...
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extra: Map<String, Value>,
}

/// A failure with its HTTP status. Expected failures carry what the caller needs; unexpected
/// ones (`internal`) keep their cause for the log and show an opaque body.
pub struct AppError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
    pub extra: Map<String, Value>,
    pub headers: Vec<(header::HeaderName, String)>,
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> AppError {
        AppError { status, kind, detail: detail.into(), extra: Map::new(), headers: Vec::new(), source: None }
    }

    /// Adds an extra member to the problem document.
    pub fn with(mut self, key: &str, value: impl Serialize) -> AppError {
        self.extra.insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> AppError {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bad_request(kind: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, kind, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"echelon\"")
    }

    pub fn forbidden(detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(kind: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::CONFLICT, kind, detail)
    }

    pub fn unprocessable(kind: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, kind, detail)
    }

    /// A 422 listing what is wrong with each field: `errors: [{field, message}]`.
    pub fn invalid_fields(errors: Vec<FieldError>) -> AppError {
        let detail =
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        AppError::unprocessable("validation_failed", detail).with("errors", errors)
    }

    pub fn unavailable(detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
            .with_header(header::RETRY_AFTER, "1")
    }

    /// A transaction that lost a race (serialization failure, deadlock, a concurrent insert of
    /// the same key) and may simply be run again; `Db::write_retrying` does so.
    pub fn retry_transaction() -> AppError {
        AppError::unavailable("the database was busy; retry the request").kind_as(RETRY)
    }

    fn kind_as(mut self, kind: &'static str) -> AppError {
        self.kind = kind;
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == RETRY
    }

    pub fn internal(source: anyhow::Error) -> AppError {
        let mut e = AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an unexpected error occurred; it has been logged",
        );
        e.source = Some(source);
        e
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("/problems/{}", self.kind),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            extra: self.extra.clone(),
        }
    }
}

/// One field's complaint in a 422.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.kind, self.detail)?;
        if let Some(source) = &self.source {
            // the whole cause chain, for the log
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let mut builder = HttpResponse::build(self.status);
        builder.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        for (name, value) in &self.headers {
            builder.insert_header((name.clone(), value.as_str()));
        }
        builder.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::NotFound => AppError::not_found("not found"),
            E::DatabaseError(K::UniqueViolation, info) => {
                AppError::conflict("already_exists", format!("already exists: {}", info.message()))
            }
            E::DatabaseError(K::ForeignKeyViolation, info) => AppError::unprocessable(
                "reference_missing",
                format!("a referenced record does not exist: {}", info.message()),
            ),
            E::DatabaseError(K::CheckViolation, info) => AppError::conflict(
                "constraint_violated",
                format!("the change would break a stock rule: {}", info.message()),
            ),
            E::DatabaseError(K::SerializationFailure, _) => AppError::retry_transaction(),
            E::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
                AppError::retry_transaction()
            }
            E::DatabaseError(K::ClosedConnection, _) => {
                AppError::unavailable("the database connection was lost; retry the request")
            }
            E::DatabaseError(_, info) if is_sqlite_busy(info.message()) => {
                AppError::unavailable("the database was busy; retry the request")
            }
            _ => AppError::internal(anyhow::Error::new(e)),
        }
    }
}

fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> AppError {
        tracing::warn!(error = %e, "no database connection");
        AppError::unavailable("the database is unavailable; retry shortly")
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> AppError {
        AppError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_document_has_the_standard_members_and_extras() {
        let e = AppError::unprocessable("invalid_part_code", "bad code").with("suggestions", ["A"]);
        let v = serde_json::to_value(e.problem()).unwrap();
        assert_eq!(v["type"], "/problems/invalid_part_code");
        assert_eq!(v["title"], "Unprocessable Entity");
        assert_eq!(v["status"], 422);
        assert_eq!(v["detail"], "bad code");
        assert_eq!(v["suggestions"][0], "A");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = AppError::internal(anyhow::anyhow!("password=hunter2"));
        let body = serde_json::to_string(&e.problem()).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(format!("{e:?}").contains("hunter2"));
    }
}
