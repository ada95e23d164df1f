//! Mounting the routes twice over one list. The OpenAPI document is made by mounting every
//! handler through utoipa's `ServiceConfig`, which builds each operation's description as it
//! goes; the server mounts the same list through actix's own `ServiceConfig`, which does not.
//! Each server worker builds its `App` anew, so describing every operation there was the
//! larger part of a server's start (a test suite starts a thousand servers). The routes
//! (`routes`, each domain's `routes`) are written once, over [`Mount`], so the document lists
//! exactly what is served.

use actix_web::dev::HttpServiceFactory;
use utoipa_actix_web::OpenApiFactory;

/// What a list of handlers is mounted on.
pub trait Mount {
    fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static;
}

/// For the document: every operation described as it is mounted.
impl Mount for utoipa_actix_web::service_config::ServiceConfig<'_> {
    fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        utoipa_actix_web::service_config::ServiceConfig::service(self, factory)
    }
}

/// For the server: the handlers only.
impl Mount for actix_web::web::ServiceConfig {
    fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        actix_web::web::ServiceConfig::service(self, factory)
    }
}
