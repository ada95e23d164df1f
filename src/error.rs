//! `AppError`: every failure the API reports, rendered as RFC 9457 `application/problem+json`
//! with a stable snake_case `type` suffix that clients branch on. The kinds form one closed list,
//! [`Problem`], each with its slug, status and title; the OpenAPI document lists them as the
//! `ProblemType` schema.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Generates [`Problem`] from one table: `Variant => ("slug", STATUS [| OTHER_STATUS], "Title")`.
/// The first status is the kind's own; another one listed is used by a call site that says so
/// (`AppError::bad_request(Problem::NoNetwork, ..)`). `tools/problem_kinds.py` sweeps string
/// kinds into this table.
macro_rules! problem_kinds {
    ($($variant:ident => ($slug:literal, $status:ident $(| $also:ident)*, $title:literal),)*) => {
        /// Every kind of problem the API reports: its `type` is `/problems/<slug>`. A new refusal
        /// is a new variant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Problem {
            $($variant,)*
        }

        impl Problem {
            pub const ALL: &'static [Problem] = &[$(Problem::$variant,)*];

            /// The stable snake_case name clients branch on.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Problem::$variant => $slug,)*
                }
            }

            /// `/problems/<slug>`: the problem document's `type`.
            pub fn type_uri(self) -> &'static str {
                match self {
                    $(Problem::$variant => concat!("/problems/", $slug),)*
                }
            }

            /// The kind's own HTTP status.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Problem::$variant => StatusCode::$status,)*
                }
            }

            /// Every status the kind is answered with, its own first.
            pub fn statuses(self) -> &'static [StatusCode] {
                match self {
                    $(Problem::$variant => &[StatusCode::$status $(, StatusCode::$also)*],)*
                }
            }

            /// The problem document's `title`: the same for every occurrence of the kind.
            pub fn title(self) -> &'static str {
                match self {
                    $(Problem::$variant => $title,)*
                }
            }
        }
    };
}

problem_kinds! {
    AlreadyBid => ("already_bid", CONFLICT, "Already Bid"),
    AlreadyExists => ("already_exists", CONFLICT, "Already Exists"),
    AlreadyInspected => ("already_inspected", CONFLICT, "Already Inspected"),
    AlreadyReconciled => ("already_reconciled", CONFLICT, "Already Reconciled"),
    AlreadyRecorded => ("already_recorded", CONFLICT, "Already Recorded"),
    BadRequest => ("bad_request", BAD_REQUEST, "Bad Request"),
    BiddingOpen => ("bidding_open", CONFLICT, "Bidding Open"),
    Conflict => ("conflict", CONFLICT, "Conflict"),
    ConstraintViolated => ("constraint_violated", CONFLICT, "Constraint Violated"),
    CoreMismatch => ("core_mismatch", UNPROCESSABLE_ENTITY, "Core Mismatch"),
    CoreAttemptsExhausted => ("core_attempts_exhausted", CONFLICT, "Core Attempts Exhausted"),
    CoreQty => ("core_qty", UNPROCESSABLE_ENTITY, "Core Quantity"),
    CountBelowReserved => ("count_below_reserved", CONFLICT, "Count Below Reserved"),
    EmptyNetwork => ("empty_network", UNPROCESSABLE_ENTITY, "Empty Network"),
    Error => ("error", BAD_REQUEST, "Client Error"),
    Forbidden => ("forbidden", FORBIDDEN, "Forbidden"),
    HeadersTooLarge => ("headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Headers Too Large"),
    IdempotencyKeyReused => ("idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency Key Reused"),
    InTransit => ("in_transit", CONFLICT, "In Transit"),
    InWarranty => ("in_warranty", UNPROCESSABLE_ENTITY, "In Warranty"),
    IncompatiblePart => ("incompatible_part", UNPROCESSABLE_ENTITY, "Incompatible Part"),
    InsufficientStock => ("insufficient_stock", CONFLICT, "Insufficient Stock"),
    Internal => ("internal", INTERNAL_SERVER_ERROR, "Internal Server Error"),
    InvalidCsv => ("invalid_csv", UNPROCESSABLE_ENTITY, "Invalid CSV"),
    InvalidHeader => ("invalid_header", BAD_REQUEST, "Invalid Header"),
    InvalidLocation => ("invalid_location", UNPROCESSABLE_ENTITY, "Invalid Location"),
    InvalidPartCode => ("invalid_part_code", UNPROCESSABLE_ENTITY, "Invalid Part Code"),
    InvalidPlacement => ("invalid_placement", UNPROCESSABLE_ENTITY, "Invalid Placement"),
    EventOutOfOrder => ("event_out_of_order", UNPROCESSABLE_ENTITY, "Event Out of Order"),
    InvalidPath => ("invalid_path", BAD_REQUEST, "Invalid Path"),
    InvalidQuery => ("invalid_query", BAD_REQUEST, "Invalid Query"),
    InvalidTechnician => ("invalid_technician", UNPROCESSABLE_ENTITY, "Invalid Technician"),
    InvalidTransition => ("invalid_transition", CONFLICT, "Invalid Transition"),
    InvalidUrl => ("invalid_url", UNPROCESSABLE_ENTITY, "Invalid URL"),
    LineMismatch => ("line_mismatch", UNPROCESSABLE_ENTITY, "Line Mismatch"),
    LocationInactive => ("location_inactive", CONFLICT, "Location Inactive"),
    MalformedJson => ("malformed_json", BAD_REQUEST, "Malformed JSON"),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "Method Not Allowed"),
    MixedLanes => ("mixed_lanes", UNPROCESSABLE_ENTITY, "Mixed Lanes"),
    ModelMismatch => ("model_mismatch", UNPROCESSABLE_ENTITY, "Model Mismatch"),
    NoFactoryRecord => ("no_factory_record", UNPROCESSABLE_ENTITY, "No Factory Record"),
    NoVisitYet => ("no_visit_yet", CONFLICT, "No Visit Yet"),
    NoNetwork => ("no_network", UNPROCESSABLE_ENTITY | BAD_REQUEST, "No Network"),
    NoPartsOnOrder => ("no_parts_on_order", CONFLICT, "No Parts On Order"),
    NoQuote => ("no_quote", CONFLICT, "No Quote"),
    NoValidBid => ("no_valid_bid", UNPROCESSABLE_ENTITY, "No Valid Bid"),
    NotAPlanningScope => ("not_a_planning_scope", UNPROCESSABLE_ENTITY, "Not a Planning Scope"),
    NotAStation => ("not_a_station", UNPROCESSABLE_ENTITY, "Not a Station"),
    NotAStockingLocation => ("not_a_stocking_location", UNPROCESSABLE_ENTITY, "Not a Stocking Location"),
    NotAcceptable => ("not_acceptable", NOT_ACCEPTABLE, "Not Acceptable"),
    NotAwaitingTender => ("not_awaiting_tender", CONFLICT, "Not Awaiting Tender"),
    NotDispatched => ("not_dispatched", CONFLICT, "Not Dispatched"),
    NotEmpty => ("not_empty", CONFLICT, "Not Empty"),
    NotFound => ("not_found", NOT_FOUND, "Not Found"),
    OwnRequest => ("own_request", FORBIDDEN, "Own Request"),
    NotInWarranty => ("not_in_warranty", UNPROCESSABLE_ENTITY, "Not in Warranty"),
    NothingToPick => ("nothing_to_pick", CONFLICT, "Nothing to Pick"),
    NothingToReceive => ("nothing_to_receive", CONFLICT, "Nothing to Receive"),
    NothingToShip => ("nothing_to_ship", CONFLICT, "Nothing to Ship"),
    PartsTied => ("parts_tied", CONFLICT, "Parts Tied"),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "Payload Too Large"),
    PartHeld => ("part_held", CONFLICT, "Part Held"),
    PeriodClosed => ("period_closed", CONFLICT, "Period Closed"),
    PeriodNotEnded => ("period_not_ended", UNPROCESSABLE_ENTITY, "Period Not Ended"),
    PeriodOutOfOrder => ("period_out_of_order", CONFLICT, "Period Out of Order"),
    QuoteNotNeeded => ("quote_not_needed", CONFLICT, "Quote Not Needed"),
    QuoteRequired => ("quote_required", CONFLICT, "Quote Required"),
    ReceiptMismatch => ("receipt_mismatch", UNPROCESSABLE_ENTITY, "Receipt Mismatch"),
    ReferenceMissing => ("reference_missing", UNPROCESSABLE_ENTITY, "Reference Missing"),
    RetryTransaction => ("retry_transaction", SERVICE_UNAVAILABLE, "Retry Transaction"),
    SequenceExhausted => ("sequence_exhausted", CONFLICT, "Sequence Exhausted"),
    SerialElsewhere => ("serial_elsewhere", CONFLICT, "Serial Elsewhere"),
    SerializedPart => ("serialized_part", UNPROCESSABLE_ENTITY, "Serialized Part"),
    SerialsMissing => ("serials_missing", CONFLICT, "Serials Missing"),
    SourceNotAllowed => ("source_not_allowed", UNPROCESSABLE_ENTITY, "Source Not Allowed"),
    SupersessionCycle => ("supersession_cycle", CONFLICT | UNPROCESSABLE_ENTITY, "Supersession Cycle"),
    TenderClosed => ("tender_closed", CONFLICT, "Tender Closed"),
    TicketNotDispatched => ("ticket_not_dispatched", UNPROCESSABLE_ENTITY, "Ticket Not Dispatched"),
    TicketOfAnotherStation => ("ticket_of_another_station", UNPROCESSABLE_ENTITY, "Ticket of Another Station"),
    TicketTakesNoParts => ("ticket_takes_no_parts", CONFLICT, "Ticket Takes No Parts"),
    TooManyLogins => ("too_many_logins", TOO_MANY_REQUESTS, "Too Many Failed Logins"),
    Unauthorized => ("unauthorized", UNAUTHORIZED, "Unauthorized"),
    Unavailable => ("unavailable", SERVICE_UNAVAILABLE, "Service Unavailable"),
    UnknownBid => ("unknown_bid", UNPROCESSABLE_ENTITY, "Unknown Bid"),
    UnknownComponentFamily => ("unknown_component_family", UNPROCESSABLE_ENTITY, "Unknown Component Family"),
    UnknownLine => ("unknown_line", UNPROCESSABLE_ENTITY, "Unknown Line"),
    UnknownModel => ("unknown_model", UNPROCESSABLE_ENTITY, "Unknown Model"),
    UnknownPartCode => ("unknown_part_code", UNPROCESSABLE_ENTITY | NOT_FOUND, "Unknown Part Code"),
    UnknownProductLine => ("unknown_product_line", UNPROCESSABLE_ENTITY, "Unknown Product Line"),
    UnknownSerial => ("unknown_serial", UNPROCESSABLE_ENTITY, "Unknown Serial"),
    UnknownSource => ("unknown_source", UNPROCESSABLE_ENTITY, "Unknown Source"),
    UnknownStation => ("unknown_station", UNPROCESSABLE_ENTITY, "Unknown Station"),
    UnknownUnit => ("unknown_unit", UNPROCESSABLE_ENTITY, "Unknown Unit"),
    UnreadableBody => ("unreadable_body", BAD_REQUEST, "Unreadable Body"),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"),
    UriTooLong => ("uri_too_long", URI_TOO_LONG, "URI Too Long"),
    ValidationFailed => ("validation_failed", UNPROCESSABLE_ENTITY, "Validation Failed"),
    ValueOutOfRange => ("value_out_of_range", UNPROCESSABLE_ENTITY, "Value Out of Range"),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// A problem's kind serializes as its `type` URI.
impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.type_uri())
    }
}

/// The closed list in the OpenAPI document: a string enum of the `type` URIs, described by a
/// table of slug, status(es) and title.
impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut description = String::from(
            "The kinds of problem, `/problems/<slug>`; a client branches on this value. \
             A kind with two statuses is answered with the second by some operations.\n\n\
             | slug | status | title |\n|---|---|---|\n",
        );
        for p in Problem::ALL {
            let statuses: Vec<String> = p.statuses().iter().map(|s| s.as_u16().to_string()).collect();
            description.push_str(&format!("| `{}` | {} | {} |\n", p.slug(), statuses.join(", "), p.title()));
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .enum_values(Some(Problem::ALL.iter().map(|p| p.type_uri())))
            .into()
    }
}

impl ToSchema for Problem {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProblemType")
    }
}

/// The problem document (RFC 9457). `type` is `/problems/<kind>`; extra members such as
/// `suggestions`, `errors` or `exceeds_by` appear beside the standard ones where useful.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Problem)]
#[schema(example = json!({
    "type": "/problems/not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "location ST-XX-999 not found"
}))]
pub struct ProblemDocument {
    /// `/problems/<kind>`: a stable identifier of the kind of problem.
    #[serde(rename = "type")]
    pub type_: Problem,
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
    pub kind: Problem,
    pub detail: String,
    pub extra: Map<String, Value>,
    pub headers: Vec<(header::HeaderName, String)>,
    pub source: Option<anyhow::Error>,
}

impl AppError {
    /// A problem of `kind`, answered with the kind's own status.
    pub fn of(kind: Problem, detail: impl Into<String>) -> AppError {
        AppError::new(kind.status(), kind, detail)
    }

    /// A problem of `kind` answered with `status`: a framework error keeps the status actix
    /// chose; elsewhere prefer [`AppError::of`].
    pub fn new(status: StatusCode, kind: Problem, detail: impl Into<String>) -> AppError {
        AppError { status, kind, detail: detail.into(), extra: Map::new(), headers: Vec::new(), source: None }
    }

    /// One of the kind's listed statuses (checked in debug builds, so the list stays true).
    fn answered(status: StatusCode, kind: Problem, detail: impl Into<String>) -> AppError {
        debug_assert!(kind.statuses().contains(&status), "{kind} is not listed with status {status}");
        AppError::new(status, kind, detail)
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

    pub fn bad_request(kind: Problem, detail: impl Into<String>) -> AppError {
        AppError::answered(StatusCode::BAD_REQUEST, kind, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> AppError {
        AppError::of(Problem::Unauthorized, detail)
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"echelon\"")
    }

    pub fn forbidden(detail: impl Into<String>) -> AppError {
        AppError::of(Problem::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> AppError {
        AppError::of(Problem::NotFound, detail)
    }

    pub fn conflict(kind: Problem, detail: impl Into<String>) -> AppError {
        AppError::answered(StatusCode::CONFLICT, kind, detail)
    }

    pub fn unprocessable(kind: Problem, detail: impl Into<String>) -> AppError {
        AppError::answered(StatusCode::UNPROCESSABLE_ENTITY, kind, detail)
    }

    /// A 422 listing what is wrong with each field: `errors: [{field, message}]`.
    pub fn invalid_fields(errors: Vec<FieldError>) -> AppError {
        AppError::field_problems(Problem::ValidationFailed, "", errors)
    }

    /// A problem of `kind` listing what is wrong with each field, its detail `prefix` followed
    /// by every `field: message`.
    pub fn field_problems(kind: Problem, prefix: &str, errors: Vec<FieldError>) -> AppError {
        let detail =
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        AppError::of(kind, format!("{prefix}{detail}")).with("errors", errors)
    }

    pub fn unavailable(detail: impl Into<String>) -> AppError {
        AppError::of(Problem::Unavailable, detail).with_header(header::RETRY_AFTER, "1")
    }

    /// A transaction that lost a race (serialization failure, deadlock, a concurrent insert of
    /// the same key) and may simply be run again; `Db::write_retrying` does so.
    pub fn retry_transaction() -> AppError {
        let mut e = AppError::unavailable("the database was busy; retry the request");
        e.kind = Problem::RetryTransaction;
        e
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == Problem::RetryTransaction
    }

    pub fn internal(source: anyhow::Error) -> AppError {
        let mut e = AppError::of(Problem::Internal, "an unexpected error occurred; it has been logged");
        e.source = Some(source);
        e
    }

    pub fn problem(&self) -> ProblemDocument {
        ProblemDocument {
            type_: self.kind,
            title: self.kind.title().to_string(),
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

impl AppError {
    /// The error as a command-line tool says it, in one line: the detail in the product's
    /// words, without the HTTP status; for an unexpected error, its cause.
    pub fn plain(&self) -> String {
        let text = match (&self.source, self.status.is_server_error()) {
            (Some(source), true) => format!("{source:#}"),
            _ => self.detail.clone(),
        };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
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
        // a commit that failed and whose rollback failed too: the commit's own failure says
        // what happened (the rollback only followed it)
        let e = match e {
            E::RollbackErrorOnCommit { commit_error, .. } => *commit_error,
            e => e,
        };
        match &e {
            E::NotFound => AppError::not_found("not found"),
            E::DatabaseError(K::UniqueViolation, info) => {
                AppError::conflict(Problem::AlreadyExists, format!("already exists: {}", info.message()))
            }
            E::DatabaseError(K::ForeignKeyViolation, info) => AppError::unprocessable(
                Problem::ReferenceMissing,
                format!("a referenced record does not exist: {}", info.message()),
            ),
            E::DatabaseError(K::CheckViolation, info) => AppError::conflict(
                Problem::ConstraintViolated,
                format!("the change would break a stock rule: {}", info.message()),
            ),
            E::DatabaseError(K::SerializationFailure, _) => AppError::retry_transaction(),
            E::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
                AppError::retry_transaction()
            }
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => {
                AppError::unavailable("the database connection was lost; retry the request")
            }
            // the server going away reports itself once per connection, as an error of its own
            // (`terminating connection due to administrator command`, SQLSTATE 57P01) before
            // the connection reads as closed
            E::DatabaseError(_, info) if is_server_going_away(info.message()) => {
                AppError::unavailable("the database is restarting; retry the request")
            }
            E::BrokenTransactionManager => {
                AppError::unavailable("the database connection was lost; retry the request")
            }
            E::DatabaseError(_, info) if is_sqlite_busy(info.message()) => {
                AppError::unavailable("the database was busy; retry the request")
            }
            _ => AppError::internal(anyhow::Error::new(e)),
        }
    }
}

/// PostgreSQL ending the session as it shuts down, or refusing work while it starts or
/// recovers (SQLSTATE 57P01-57P03): the database will be back, the request may be retried.
fn is_server_going_away(message: &str) -> bool {
    [
        // 57P01 and the idle-session and other terminations
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection unexpectedly",
        "no connection to the server",
    ]
    .iter()
    .any(|m| message.contains(m))
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
        let e = AppError::unprocessable(Problem::InvalidPartCode, "bad code").with("suggestions", ["A"]);
        let v = serde_json::to_value(e.problem()).unwrap();
        assert_eq!(v["type"], "/problems/invalid_part_code");
        assert_eq!(v["title"], "Invalid Part Code");
        assert_eq!(v["status"], 422);
        assert_eq!(v["detail"], "bad code");
        assert_eq!(v["suggestions"][0], "A");
    }

    #[test]
    fn each_kind_has_one_slug_its_uri_and_its_own_status_first() {
        let mut slugs: Vec<&str> = Problem::ALL.iter().map(|p| p.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), Problem::ALL.len(), "a slug is listed twice");
        for p in Problem::ALL {
            assert_eq!(p.type_uri(), format!("/problems/{}", p.slug()));
            assert_eq!(p.statuses()[0], p.status());
            assert!(p.slug().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{p}");
            assert_eq!(AppError::of(*p, "x").status, p.status());
        }
    }

    #[test]
    fn a_kind_with_two_statuses_keeps_the_one_its_call_site_names() {
        assert_eq!(AppError::bad_request(Problem::NoNetwork, "x").status, StatusCode::BAD_REQUEST);
        assert_eq!(AppError::of(Problem::NoNetwork, "x").status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(AppError::conflict(Problem::SupersessionCycle, "x").status, StatusCode::CONFLICT);
        assert_eq!(
            AppError::unprocessable(Problem::SupersessionCycle, "x").status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn the_openapi_list_names_every_kind() {
        let schema = serde_json::to_value(<Problem as utoipa::PartialSchema>::schema()).unwrap();
        let listed = schema["enum"].as_array().unwrap();
        assert_eq!(listed.len(), Problem::ALL.len());
        assert!(listed.contains(&Value::from("/problems/tender_closed")));
        assert!(schema["description"].as_str().unwrap().contains("| `no_network` | 422, 400 | No Network |"));
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = AppError::internal(anyhow::anyhow!("password=hunter2"));
        let body = serde_json::to_string(&e.problem()).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(format!("{e:?}").contains("hunter2"));
    }
}
