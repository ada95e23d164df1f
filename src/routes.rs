//! Every documented route, mounted in one place: ops at the root, the API under `/api/v1`.
//! The OpenAPI document (`openapi`) and the server (`startup`) both mount from here, so the
//! document lists exactly what is served, in this order.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn mount(cfg: &mut ServiceConfig) {
    cfg.service(crate::ops::healthz)
        .service(crate::ops::readyz)
        .service(crate::ops::metrics)
        .service(scope("/api/v1").configure(api_v1));
}

fn api_v1(cfg: &mut ServiceConfig) {
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
