//! Webhooks: subscriptions to the events of the outbox (`events`), and the worker that
//! delivers them signed, retried, logged and replayable.

pub mod api;
pub mod clock;
pub mod deliver;
pub mod rules;
pub mod service;
pub mod store;

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::create_subscription)
        .service(api::list_subscriptions)
        .service(api::get_subscription)
        .service(api::patch_subscription)
        .service(api::delete_subscription)
        .service(api::rotate_secret)
        .service(api::list_deliveries)
        .service(api::replay_delivery);
}
