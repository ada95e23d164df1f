//! Every documented route, mounted in one place: ops at the root, the API under `/api/v1`.
//! The OpenAPI document (`openapi`, through utoipa) and the server (`startup`, through actix
//! alone) both mount from here (`http::Mount`), so the document lists exactly what is served,
//! in this order.

use crate::http::Mount;

/// The routes as the server serves them.
pub fn mount(cfg: &mut actix_web::web::ServiceConfig) {
    ops(cfg);
    cfg.service(actix_web::web::scope("/api/v1").configure(api_v1));
}

/// The same routes, each described, for the OpenAPI document.
pub fn describe(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    ops(cfg);
    cfg.service(utoipa_actix_web::scope("/api/v1").configure(|c| api_v1(c)));
}

fn ops<C: Mount>(cfg: &mut C) {
    cfg.service(crate::ops::healthz).service(crate::ops::readyz).service(crate::ops::metrics);
}

fn api_v1<C: Mount>(cfg: &mut C) {
    crate::auth::api::routes(cfg);
    crate::network::routes(cfg);
    crate::catalogue::routes(cfg);
    crate::ledger::routes(cfg);
    // the ledger's audit spans every domain, so it is served from above them
    cfg.service(crate::audit::api::audit);
    crate::requests::routes(cfg);
    crate::shipping::routes(cfg);
    crate::reports::routes(cfg);
    crate::tickets::routes(cfg);
    crate::planning::routes(cfg);
    crate::settlement::routes(cfg);
    crate::loans::routes(cfg);
    crate::webhooks::routes(cfg);
}
