//! Closing a settlement period.

use actix_web::{post, web};

use crate::auth::Caller;
use crate::error::AppError;
use crate::error::{Problem, PROBLEM_JSON};
use crate::http::docs::{E401, E403, E422};
use crate::settlement::service::{self, Closed};
use crate::state::AppState;

use super::*;

/// Close a period (finance, admin)
///
/// Freezes the period's lines into a snapshot: its figures and exports never change again,
/// and anything dated in it later (a late event, an adjustment) lands in the next open
/// period. Periods close once (409 `period_closed`), in order (409 `period_out_of_order`), and
/// only after they ended (422 `period_not_ended`). The first close may be any ended month; the
/// months before it that were never closed are covered by it: closing one is 409
/// `period_closed` whose `detail` says what its statement and files say (`closed as part of
/// 2026-10 ...; its items are settled in 2026-11`), with `covered_by` and `landed_in`.
#[utoipa::path(
    tag = "finance",
    params(("period" = String, Path, description = "the month, `YYYY-MM`", example = "2026-11",
        pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")),
    responses((status = 200, body = Closed), E401, E403, E409Close, E422),
    security(("bearer" = []))
)]
#[post("/periods/{period}/close")]
pub async fn close_period(
    state: web::Data<AppState>,
    caller: Caller,
    period: web::Path<String>,
) -> Result<web::Json<Closed>, AppError> {
    caller.require(FINANCE)?;
    let period = parse_period(&period.into_inner(), "period")?;
    let now = state.clock.now();
    let out = state.db.write(move |conn| service::close(conn, period, &caller.username, now)).await?;
    Ok(web::Json(out))
}

/// The close's 409s, each its own example: a period closed itself, a month covered by a later
/// close (with `covered_by` and `landed_in`), and a close out of order (with `next_to_close`).
pub struct E409Close;

impl utoipa::IntoResponses for E409Close {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use serde_json::json;
        use utoipa::openapi::content::ContentBuilder;
        use utoipa::openapi::example::ExampleBuilder;
        use utoipa::openapi::response::ResponseBuilder;
        let problem = |kind: Problem, detail: &str, extra: serde_json::Value| {
            let mut v =
                json!({"type": kind.type_uri(), "title": kind.title(), "status": 409, "detail": detail});
            if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
                v.extend(extra.clone());
            }
            v
        };
        let examples = [
            (
                "period_closed",
                "Closed already",
                problem(
                    Problem::PeriodClosed,
                    "period 2026-10 is already closed at 2026-11-02T09:00:00Z by finance",
                    json!({"period": "2026-10", "closed_at": "2026-11-02T09:00:00Z", "closed_by": "finance"}),
                ),
            ),
            (
                "period_covered",
                "Covered by a later close: its items are in landed_in",
                problem(
                    Problem::PeriodClosed,
                    "period 2026-09 is already closed as part of 2026-10 (closed at 2026-11-02T09:00:00Z by \
                     finance); its items are settled in 2026-11",
                    json!({"period": "2026-09", "closed_at": "2026-11-02T09:00:00Z", "closed_by": "finance",
                        "covered_by": "2026-10", "landed_in": "2026-11"}),
                ),
            ),
            (
                "period_out_of_order",
                "Out of order",
                problem(
                    Problem::PeriodOutOfOrder,
                    "periods close in order: the next to close is 2026-11",
                    json!({"next_to_close": "2026-11"}),
                ),
            ),
        ]
        .map(|(name, summary, value)| {
            (name, ExampleBuilder::new().summary(summary).value(Some(value)).build())
        });
        let content = ContentBuilder::new()
            .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
            .examples_from_iter(examples)
            .build();
        let description =
            "The period is closed already (itself, or covered by a later close), or periods close in order";
        let response = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content).build();
        std::collections::BTreeMap::from([("409".to_string(), utoipa::openapi::RefOr::T(response))])
    }
}
