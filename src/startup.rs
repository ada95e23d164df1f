//! Building and running the server: app data, middleware, the listener (zero2prod's
//! startup.rs). The routes come from `routes`, the state from `state`.

use std::net::TcpListener;
use std::sync::OnceLock;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::rules::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::http::json::BodyLimit;
use crate::http::metrics::Metrics;
use crate::http::{OpenApiJson, RouteTable};
use crate::ledger::arrivals::Arrivals;
use crate::requests::service::RoutingCache;
use crate::state::AppState;

/// The route table made from the OpenAPI document, and the document's JSON as served: made once
/// per process, not by each worker nor for each request. Both are a function of the code alone,
/// and making them costs 80 ms of a debug build's CPU, which a test suite building a server per
/// test paid hundreds of times over.
fn described() -> &'static (web::Data<RouteTable>, web::Data<OpenApiJson>) {
    static DESCRIBED: OnceLock<(web::Data<RouteTable>, web::Data<OpenApiJson>)> = OnceLock::new();
    DESCRIBED.get_or_init(|| {
        let doc = crate::openapi::document();
        let json = serde_json::to_vec(&doc).expect("the OpenAPI document serialises");
        (web::Data::new(RouteTable::from_openapi(&doc)), web::Data::new(OpenApiJson(json.into())))
    })
}

/// A bound, not yet running server.
pub struct Application {
    pub port: u16,
    pub server: Server,
    pub state: web::Data<AppState>,
    /// the process's metrics, for the work that runs beside the server (webhook delivery)
    pub metrics: web::Data<Metrics>,
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
        let keys = web::Data::new(TokenKeys::new(
            &config.jwt_secret,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.token_ttl_seconds,
        ));
        let metrics = web::Data::new(Metrics::new());
        let routing = web::Data::new(RoutingCache::default());
        let arrivals = web::Data::new(Arrivals { fill_backorders: crate::requests::fill_backorders });
        let state = web::Data::new(AppState::new(config, db));
        let (routes, doc_json) = described().clone();
        let limit = web::Data::new(BodyLimit(state.config.max_body_bytes));
        let app_state = state.clone();
        let beside = metrics.clone();
        let mut server = HttpServer::new(move || {
            // the routes through actix alone: their description is the document above
            App::new()
                .configure(crate::routes::mount)
                .app_data(app_state.clone())
                .app_data(keys.clone())
                .app_data(metrics.clone())
                .app_data(routing.clone())
                .app_data(arrivals.clone())
                .app_data(routes.clone())
                .app_data(limit.clone())
                .app_data(web::QueryConfig::default().error_handler(crate::http::query_error))
                .app_data(web::PathConfig::default().error_handler(crate::http::path_error))
                .service(
                    web::resource(crate::http::OPENAPI_JSON)
                        .guard(actix_web::guard::Get())
                        .app_data(doc_json.clone())
                        .to(crate::http::openapi_json),
                )
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}").config(
                        utoipa_swagger_ui::Config::new([crate::http::OPENAPI_JSON])
                            // the token pasted into Authorize survives a reload of the page
                            .persist_authorization(true),
                    ),
                )
                // the service's front door, and the UI's address typed without its slash
                .route("/", web::get().to(crate::http::to_swagger_ui))
                .route("/swagger-ui", web::get().to(crate::http::to_swagger_ui))
                .default_service(web::to(crate::http::fallback))
                .wrap(from_fn(crate::http::declared_input))
                // the token and the role before any input is read (401, 403, then 400/415/422)
                .wrap(from_fn(crate::auth::gate))
                .wrap(from_fn(crate::http::clean_path))
                .wrap(ErrorHandlers::new().default_handler(crate::http::problem_for_framework_errors))
                .wrap(from_fn(crate::http::observe))
        })
        // Nagle off: a streamed answer (an export, a CSV) goes out in several writes, and with
        // Nagle on each write after the first waits for the client's delayed ACK, 40 ms on
        // Linux (a settlement CSV took 44 ms at p50 under light load, its work 8 ms)
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(20);
        if let Some(w) = workers {
            server = server.workers(w.max(1));
        }
        Ok(Application { port, server: server.run(), state, metrics: beside })
    }
}
