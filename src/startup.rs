//! Building and running the server: state, routes, middleware (zero2prod's startup.rs).

use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use chrono::{DateTime, Utc};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::rules::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::http::json::BodyLimit;
use crate::http::metrics::Metrics;
use crate::http::RouteTable;

/// The time as echelon sees it. Production follows the system clock; tests move it forward
/// to reach deadlines without waiting.
#[derive(Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub keys: TokenKeys,
    pub clock: Clock,
    pub metrics: Metrics,
    pub config: Config,
    /// what parts requests read of the master data, kept between requests
    pub routing: std::sync::Arc<crate::requests::service::RoutingCache>,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> AppState {
        AppState {
            keys: TokenKeys::new(
                &config.jwt_secret,
                &config.jwt_issuer,
                &config.jwt_audience,
                config.token_ttl_seconds,
            ),
            db,
            clock: Clock::default(),
            metrics: Metrics::new(),
            config,
            routing: Default::default(),
        }
    }
}

/// Every documented route: ops at the root, the API under `/api/v1`.
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
    crate::requests::routes(cfg);
    crate::shipping::routes(cfg);
    crate::reports::routes(cfg);
    crate::tickets::routes(cfg);
    crate::planning::routes(cfg);
    crate::settlement::routes(cfg);
    crate::loans::routes(cfg);
}

/// A bound, not yet running server.
pub struct Application {
    pub port: u16,
    pub server: Server,
    pub state: web::Data<AppState>,
}

impl Application {
    /// Binds `config.bind` (or the given listener) and builds the server over `db`.
    pub fn build(config: Config, db: Db, listener: Option<TcpListener>) -> std::io::Result<Application> {
        let listener = match listener {
            Some(l) => l,
            None => TcpListener::bind(&config.bind)?,
        };
        let port = listener.local_addr()?.port();
        let workers = config.workers;
        let state = web::Data::new(AppState::new(config, db));
        let doc = crate::openapi::document();
        let routes = web::Data::new(RouteTable::from_openapi(&doc));
        let limit = web::Data::new(BodyLimit(state.config.max_body_bytes));
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .configure(mount)
                .into_app()
                .app_data(app_state.clone())
                .app_data(routes.clone())
                .app_data(limit.clone())
                .app_data(web::QueryConfig::default().error_handler(crate::http::query_error))
                .app_data(web::PathConfig::default().error_handler(crate::http::path_error))
                .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", doc.clone()))
                .default_service(web::to(crate::http::fallback))
                .wrap(ErrorHandlers::new().default_handler(crate::http::problem_for_framework_errors))
                .wrap(from_fn(crate::http::observe))
        })
        .listen(listener)?
        .shutdown_timeout(20);
        if let Some(w) = workers {
            server = server.workers(w.max(1));
        }
        Ok(Application { port, server: server.run(), state })
    }
}
