//! The delivery worker inside `serve`: claims the deliveries that are due (several processes
//! share the work: a claimed row is leased, and on PostgreSQL rows another process holds are
//! skipped), posts each to its subscription's URL, signed as Standard Webhooks says, and
//! records the answer. The HTTP call runs on the async thread; the database work in
//! `Db::write` on the blocking pool.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::web;
use serde_json::json;

use super::rules;
use super::service::{self, Answer, Claimed};
use crate::config::Webhooks;
use crate::error::AppError;
use crate::http::Metrics;
use crate::state::AppState;

/// How many deliveries one round claims (and posts one after the other): few, so that the
/// lease covering them all stays short.
const BATCH: i64 = 4;

/// The message a receiver gets for an event: its type and time, the object it is about with
/// the ordering key (`sequence` grows per object: a receiver drops an update older than one it
/// has), and the payload.
pub fn body(c: &Claimed) -> String {
    let data: serde_json::Value = serde_json::from_str(&c.event.payload).unwrap_or(serde_json::Value::Null);
    json!({
        "type": c.event.event_type,
        "timestamp": c.event.created_at.and_utc(),
        "event_id": c.event.id,
        "object": {"kind": c.event.object_kind, "id": c.event.object_id, "sequence": c.event.sequence},
        "data": data,
    })
    .to_string()
}

/// The `webhook-id`: one per delivery, the same on every retry and replay, so a receiver can
/// drop a duplicate.
pub fn message_id(c: &Claimed) -> String {
    format!("msg_{}", c.delivery.id)
}

/// The `webhook-signature` header: the current secret's signature, and within a rotation's
/// grace the previous secret's too (space separated, as the convention allows).
pub fn signature(
    c: &Claimed,
    timestamp: i64,
    body: &str,
    now: chrono::NaiveDateTime,
) -> Result<String, String> {
    let id = message_id(c);
    let mut sigs = vec![rules::sign(&c.subscription.secret, &id, timestamp, body)?];
    if let (Some(old), Some(until)) = (&c.subscription.previous_secret, c.subscription.previous_until) {
        if now < until {
            sigs.push(rules::sign(old, &id, timestamp, body)?);
        }
    }
    Ok(sigs.join(" "))
}

/// The delivery client for `config`: redirects not followed, TLS with the built-in roots and
/// the configured private CA, and a resolver that refuses a host resolving to a private
/// address at the moment of connecting (so a name that changed its address since the check
/// cannot reach the internal network). One per configuration, made once.
fn client(config: &Webhooks) -> reqwest::Client {
    type Key = (Option<String>, Vec<String>);
    static CLIENTS: OnceLock<Mutex<HashMap<Key, reqwest::Client>>> = OnceLock::new();
    let key = (config.ca_file.clone(), config.allow_hosts.clone());
    let mut clients = CLIENTS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    clients
        .entry(key)
        .or_insert_with(|| {
            let mut b = reqwest::Client::builder()
                // a redirect could lead anywhere, the internal network included: not followed
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("echelon-webhooks/", env!("CARGO_PKG_VERSION")))
                .dns_resolver(Arc::new(PublicOnly { allow: config.allow_hosts.clone() }));
            // the file was read and checked when the configuration was
            for root in config.ca_roots().unwrap_or_default() {
                b = b.add_root_certificate(root);
            }
            b.build().expect("the HTTP client builds")
        })
        .clone()
}

/// Resolves a receiver's host and refuses it when any of its addresses is private, loopback or
/// link-local, unless the host is allowed.
struct PublicOnly {
    allow: Vec<String>,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let allowed = self.allow.contains(&host);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = actix_web::rt::task::spawn_blocking(move || {
                use std::net::ToSocketAddrs;
                (host.as_str(), 0).to_socket_addrs().map(|a| (host.clone(), a.collect::<Vec<_>>()))
            })
            .await
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.to_string().into() })?
            .and_then(|(host, addresses)| {
                match addresses.iter().find(|a| !rules::is_public(&a.ip())) {
                    Some(a) if !allowed => Err(std::io::Error::other(format!(
                        "the host {host} resolves to a private, loopback or link-local address ({})",
                        a.ip()
                    ))),
                    _ => Ok(addresses),
                }
            })?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// One round: claims what is due and delivers it; returns how many deliveries it handled.
/// Each attempt is counted in `metrics` when given (by subscription and outcome, with the
/// receiver's latency).
pub async fn deliver_due(state: &web::Data<AppState>, metrics: Option<&Metrics>) -> Result<usize, AppError> {
    let now = state.clock.now().naive_utc();
    // the claimed rows are leased for as long as the round's attempts may take and a little
    // more, so no other process takes one while this one may still post it; a process killed
    // mid-round leaves its rows to another when the lease ends
    let lease = chrono::Duration::seconds((state.config.webhooks.timeout_seconds as i64 + 5) * BATCH);
    let claimed = state.db.write(move |conn| service::claim(conn, now, lease, BATCH)).await?;
    let n = claimed.len();
    for c in claimed {
        let answer = match &c.refused {
            Some(why) => Answer { status_code: None, error: Some(why.clone()), latency_ms: 0 },
            None => post(state, &c).await,
        };
        let config = state.config.webhooks.clone();
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        let at = state.clock.now().naive_utc();
        if let Some(m) = metrics {
            let outcome = if answer.succeeded() { "delivered" } else { "failed" };
            m.webhook_attempts.with_label_values(&[&c.subscription.id.to_string(), outcome]).inc();
            if c.refused.is_none() {
                m.webhook_latency.observe(answer.latency_ms as f64 / 1000.0);
            }
        }
        state.db.write(move |conn| service::finish(conn, &c, &answer, at, &config, jitter)).await?;
    }
    Ok(n)
}

async fn post(state: &web::Data<AppState>, c: &Claimed) -> Answer {
    let config = &state.config.webhooks;
    // the URL is checked again as it is now (its host may resolve elsewhere since)
    let url = c.subscription.url.clone();
    let check = {
        let config = config.clone();
        actix_web::rt::task::spawn_blocking(move || service::check_url(&url, &config)).await
    };
    if let Ok(Err(e)) | Err(e) = check.map_err(|e| AppError::internal(anyhow::anyhow!("{e}"))) {
        return Answer { status_code: None, error: Some(e.detail), latency_ms: 0 };
    }
    let now = state.clock.now();
    let body = body(c);
    let signature = match signature(c, now.timestamp(), &body, now.naive_utc()) {
        Ok(s) => s,
        Err(e) => return Answer { status_code: None, error: Some(e), latency_ms: 0 },
    };
    let started = Instant::now();
    let sent = client(config)
        .post(&c.subscription.url)
        .timeout(Duration::from_secs(config.timeout_seconds))
        .header("content-type", "application/json")
        .header("webhook-id", message_id(c))
        .header("webhook-timestamp", now.timestamp().to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let latency_ms = started.elapsed().as_millis() as i64;
    match sent {
        Ok(r) => Answer { status_code: Some(r.status().as_u16()), error: None, latency_ms },
        Err(e) => Answer { status_code: None, error: Some(describe(&e)), latency_ms },
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the receiver did not answer in time".into()
    } else if e.is_connect() {
        // the root cause says why: refused, a private address, a certificate not trusted
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        format!("cannot connect to the receiver: {cause}")
    } else {
        format!("the request failed: {e}")
    }
}

/// Delivers as long as the process serves: a round at once when the last one found work, else
/// every second.
pub async fn keep_delivering(state: web::Data<AppState>, metrics: web::Data<Metrics>) {
    let mut swept: Option<Instant> = None;
    loop {
        // the clock's events (deadlines missed, cores overdue) every half minute
        if swept.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
            swept = Some(Instant::now());
            let now = state.clock.now().naive_utc();
            let keep = state.config.webhooks.retention_days;
            if let Err(e) = state.db.write(move |conn| super::clock::record_due(conn, now, keep)).await {
                tracing::warn!(error = %e, "cannot write the deadline and overdue events");
            }
        }
        let found = match deliver_due(&state, Some(&metrics)).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery round failed");
                0
            }
        };
        if found == 0 {
            actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    #[actix_web::test]
    async fn a_name_that_resolves_to_a_private_address_is_refused_when_connecting_unless_allowed() {
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        let refused = PublicOnly { allow: Vec::new() }.resolve(name()).await;
        let Err(e) = refused else { panic!("localhost was resolved for a receiver") };
        assert!(e.to_string().contains("loopback"), "{e}");
        let allowed = PublicOnly { allow: vec!["localhost".into()] }.resolve(name()).await;
        assert!(allowed.is_ok_and(|mut a| a.next().is_some_and(|a| a.ip().is_loopback())));
    }
}
