//! The webhooks' rules, without HTTP or SQL: the Standard Webhooks signature, the retry
//! schedule, and which URLs a subscription may name.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;

/// A new signing secret, as the Standard Webhooks convention spells it: `whsec_` and 24 random
/// bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The `webhook-signature` value for a message: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret's key (the base64 after `whsec_`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|e| format!("the secret is not base64: {e}"))?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let tag = ring::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag.as_ref())))
}

/// How long to wait after the `attempt`-th failed attempt (1 for the first): `first`, doubled
/// each time, at most six hours, times `jitter` (drawn from 0.8-1.2 so that receivers that
/// failed together are not retried together).
pub fn backoff(attempt: u32, first: Duration, jitter: f64) -> Duration {
    let doubled = first.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    doubled.min(Duration::from_secs(6 * 3600)).mul_f64(jitter.clamp(0.5, 1.5))
}

/// Why a subscription's URL is refused, or `None`: http or https only, with a host, no
/// credentials in it; a host that is not in `allow_hosts` must resolve to public addresses
/// only (no loopback, private, link-local or unspecified one), so that a subscriber cannot make
/// echelon probe the internal network. `resolve` gives the host's addresses (DNS in the
/// service, a table in tests).
pub fn url_refusal(
    url: &str,
    allow_hosts: &[String],
    resolve: impl Fn(&str, u16) -> Vec<IpAddr>,
) -> Option<String> {
    let Ok(parsed) = url::Url::parse(url) else { return Some(format!("{url:?} is not a URL")) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!("the URL must be http or https, not {}", parsed.scheme()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("the URL may not carry credentials; the signature authenticates echelon".into());
    }
    let Some(host) = parsed.host_str() else { return Some("the URL has no host".into()) };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if allow_hosts.contains(&host) {
        return None;
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addresses = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => resolve(&host, port),
    };
    if addresses.is_empty() {
        return Some(format!("the host {host} does not resolve"));
    }
    addresses.iter().find(|ip| !is_public(ip)).map(|ip| {
        format!(
            "the host {host} is a private, loopback or link-local address ({ip}); only hosts listed \
             in ECHELON_WEBHOOK_ALLOW_HOSTS may be"
        )
    })
}

/// Whether a receiver may be at `ip` without its host being listed as allowed.
pub fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
                || v4.octets()[0] == 0)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| !is_public(&IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // the example of the Standard Webhooks specification's reference libraries
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_ne!(
            sign(secret, id, 1614265330, r#"{"test": 2432232315}"#).unwrap(),
            sign(secret, id, 1614265330, body).unwrap()
        );
        assert!(new_secret().starts_with("whsec_") && new_secret() != new_secret());
    }

    #[test]
    fn retries_back_off_doubling_to_six_hours() {
        let first = Duration::from_secs(30);
        assert_eq!(backoff(1, first, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(2, first, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(4, first, 1.0), Duration::from_secs(240));
        assert_eq!(backoff(30, first, 1.0), Duration::from_secs(6 * 3600));
        assert_eq!(backoff(2, first, 1.2), Duration::from_secs(72));
    }

    #[test]
    fn only_public_http_hosts_unless_allowed() {
        let dns = |host: &str, _| match host {
            "hooks.example.com" => vec!["93.184.216.34".parse().unwrap()],
            "intranet.local" => vec!["10.1.2.3".parse().unwrap()],
            _ => vec![],
        };
        let allow = vec!["127.0.0.1".to_string()];
        assert_eq!(url_refusal("https://hooks.example.com/echelon", &[], dns), None);
        assert_eq!(url_refusal("http://127.0.0.1:9000/hook", &allow, dns), None);
        for (url, why) in [
            ("ftp://hooks.example.com/", "http or https"),
            ("http://127.0.0.1:9000/hook", "loopback"),
            ("http://[::1]:9000/hook", "loopback"),
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://intranet.local/hook", "private"),
            ("http://nowhere.invalid/hook", "does not resolve"),
            ("https://user:pw@hooks.example.com/", "credentials"),
            ("not a url", "not a URL"),
        ] {
            let refusal = url_refusal(url, &[], dns).unwrap_or_default();
            assert!(refusal.contains(why), "{url}: {refusal}");
        }
    }
}
