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
    // the URL is kept as sent: one that a parser would trim or clean up is refused, not stored
    if url.chars().any(|c| c.is_whitespace() || crate::validate::hidden(c)) {
        return Some("the URL must not contain spaces, control characters or invisible ones".into());
    }
    let Ok(parsed) = url::Url::parse(url) else { return Some(format!("{url:?} is not a URL")) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!("the URL must be http or https, not {}", parsed.scheme()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("the URL may not carry credentials; the signature authenticates echelon".into());
    }
    if parsed.fragment().is_some() {
        return Some("the URL may not have a #fragment: a receiver never sees it".into());
    }
    if parsed.port() == Some(0) {
        return Some("port 0 is no port a receiver listens on".into());
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

/// Whether a receiver may be at `ip` without its host being listed as allowed: a global unicast
/// address, not one of the special-purpose ranges (IANA's registries: private, shared, loopback,
/// link-local, documentation, benchmarking, protocol assignments, multicast, reserved), and for
/// an IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4), that address too.
pub fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(a == 0
                || a == 10
                || a == 127
                || a >= 224
                || (a == 100 && (64..128).contains(&b))
                || (a == 169 && b == 254)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168)
                || (a == 192 && b == 0 && (c == 0 || c == 2))
                || (a == 192 && b == 88 && c == 99)
                || (a == 198 && (b == 18 || b == 19))
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113))
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let v4 = std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
                is_public(&IpAddr::V4(v4))
            };
            match seg {
                // unspecified, loopback and IPv4-compatible (::a.b.c.d), mapped (::ffff:a.b.c.d)
                [0, 0, 0, 0, 0, 0, 0, _] => false,
                [0, 0, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
                [0, 0, 0, 0, 0, 0xffff, hi, lo] => embedded(hi, lo),
                // NAT64 (64:ff9b::/96 reaches the IPv4 address; 64:ff9b:1::/48 is local use)
                [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
                [0x64, 0xff9b, 1, ..] => false,
                // 6to4 (2002:a.b.c.d::/48) carries the IPv4 address of its relay
                [0x2002, hi, lo, ..] => embedded(hi, lo),
                // Teredo, ORCHID and other IETF protocol assignments; documentation
                [0x2001, s1, ..] if s1 < 0x200 => false,
                [0x2001, 0xdb8, ..] => false,
                [0x3fff, s1, ..] if s1 < 0x1000 => false,
                // discard-only, unique local, link-local, site-local, multicast
                [0x100, 0, 0, 0, ..] => false,
                [first, ..] => {
                    (first & 0xfe00) != 0xfc00
                        && (first & 0xffc0) != 0xfe80
                        && (first & 0xffc0) != 0xfec0
                        && (first & 0xff00) != 0xff00
                        && (first & 0xe000) == 0x2000
                }
            }
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
    fn special_purpose_addresses_and_ipv6_forms_of_them_are_not_public() {
        for ip in [
            "192.0.0.1",
            "198.18.0.1",
            "198.19.255.1",
            "224.0.0.1",
            "239.1.1.1",
            "240.0.0.1",
            "255.255.255.255",
            "192.88.99.1",
            "172.31.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "2001:db8::1",
            "3fff::1",
            "3fff:fff::1",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
            "100::1",
            "ff02::1",
            "fec0::1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(!is_public(&ip.parse().unwrap()), "{ip} passed as public");
        }
        for ip in [
            "93.184.216.34",
            "172.32.0.1",
            "198.20.0.1",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
            "2606:4700::1111",
            "3fff:1000::1",
        ] {
            assert!(is_public(&ip.parse().unwrap()), "{ip} refused");
        }
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
            ("not a url", "spaces"),
            ("nonsense", "not a URL"),
            (" https://hooks.example.com/echelon", "spaces"),
            ("https://hooks.example.com/echelon\t", "spaces"),
            ("https://hooks.example.com/ech\u{200b}elon", "invisible"),
            ("https://hooks.example.com/echelon#top", "fragment"),
            ("https://hooks.example.com:0/echelon", "port 0"),
        ] {
            let refusal = url_refusal(url, &[], dns).unwrap_or_default();
            assert!(refusal.contains(why), "{url}: {refusal}");
        }
    }
}
