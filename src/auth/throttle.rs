//! Login throttling: from the failures counted for a username and for a client address, whether
//! an attempt goes ahead (after how long a wait) or is refused until the window ends. No HTTP,
//! no database; the counts live in `login_failures` (see `store`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::NaiveDateTime;

use super::store::Failures;
use crate::config::LoginThrottle;

/// What happens to a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// check the password after waiting this long
    Proceed(Duration),
    /// answer 429; the earliest moment worth trying again, in seconds from now
    Refuse { retry_after: i64 },
}

/// The client address a login is counted against: the TCP peer's, or, when the peer is a
/// trusted proxy, the address the proxies say they served: `X-Forwarded-For`'s entries (every
/// header line, in order) read from the right, past the trusted proxies, to the first one that
/// is not. Entries left of it are the client's own claims and are never believed; an entry
/// that is not an address stops the reading at the last proxy trusted.
pub fn client_address(peer: Option<IpAddr>, forwarded_for: &[String], trusted: &[ipnet::IpNet]) -> String {
    let Some(peer) = peer else { return "unknown".into() };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let mut last = peer;
    for entry in forwarded_for.iter().flat_map(|line| line.split(',')).map(str::trim).rev() {
        let ip = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()));
        match ip {
            Some(ip) if is_trusted(&ip) => last = ip,
            Some(ip) => return ip.to_string(),
            None => break,
        }
    }
    last.to_string()
}

/// Failures still in their window at `now` (a row whose window has ended counts none).
fn live(f: Option<Failures>, policy: &LoginThrottle, now: NaiveDateTime) -> Option<Failures> {
    f.filter(|f| now < f.window_start + chrono::Duration::seconds(policy.window_seconds))
}

/// The wait before an attempt that follows `failures` failures, when attempts are slowed from
/// `slow_after` failures on: the policy's delay, doubled for every failure beyond, capped.
fn delay(failures: i32, slow_after: i32, policy: &LoginThrottle) -> Duration {
    if failures < slow_after {
        return Duration::ZERO;
    }
    let doublings = (failures - slow_after).min(20) as u32;
    Duration::from_millis(policy.delay_ms.saturating_mul(1u64 << doublings).min(policy.max_delay_ms))
}

/// The verdict on an attempt for a username and from an address with these counts. The same
/// for a username that exists and one that does not: only the counts are looked at.
pub fn verdict(
    policy: &LoginThrottle,
    username: Option<Failures>,
    address: Option<Failures>,
    now: NaiveDateTime,
) -> Verdict {
    let username = live(username, policy, now);
    let address = live(address, policy, now);
    let over = |f: Option<Failures>, limit: i32| f.filter(|f| f.failures >= limit);
    let retry_after = [over(username, policy.username_limit), over(address, policy.address_limit)]
        .into_iter()
        .flatten()
        .map(|f| {
            let ends = f.window_start + chrono::Duration::seconds(policy.window_seconds);
            ((ends - now).num_milliseconds() + 999) / 1000
        })
        .max();
    if let Some(secs) = retry_after {
        return Verdict::Refuse { retry_after: secs.max(1) };
    }
    let wait = |f: Option<Failures>, slow_after: i32| {
        f.map(|f| delay(f.failures, slow_after, policy)).unwrap_or(Duration::ZERO)
    };
    Verdict::Proceed(wait(username, policy.username_slow_after).max(wait(address, policy.address_slow_after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_names_another() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let lb: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::1/128".parse().unwrap()];
        // no proxy trusted: the peer, whatever the header says
        assert_eq!(client_address(ip("203.0.113.7"), &lines(&["198.51.100.1"]), &[]), "203.0.113.7");
        assert_eq!(client_address(ip("10.0.0.2"), &lines(&["198.51.100.1"]), &[]), "10.0.0.2");
        assert_eq!(client_address(None, &[], &lb), "unknown");
        // a peer that is not a trusted proxy is believed over its header
        assert_eq!(client_address(ip("203.0.113.7"), &lines(&["198.51.100.1"]), &lb), "203.0.113.7");
        // through the load balancer: the entry it appended
        assert_eq!(client_address(ip("10.0.0.2"), &lines(&["198.51.100.1"]), &lb), "198.51.100.1");
        // a client's own claims left of it are not believed; proxies in a chain are passed
        assert_eq!(
            client_address(ip("10.0.0.2"), &lines(&["1.2.3.4, 198.51.100.1", "10.0.0.9"]), &lb),
            "198.51.100.1"
        );
        // with ports, IPv6
        assert_eq!(client_address(ip("fd00::1"), &lines(&["[2001:db8::5]:443"]), &lb), "2001:db8::5");
        assert_eq!(client_address(ip("10.0.0.2"), &lines(&["198.51.100.1:5000"]), &lb), "198.51.100.1");
        // no header, or only proxies: the last proxy; an unreadable entry stops at it
        assert_eq!(client_address(ip("10.0.0.2"), &[], &lb), "10.0.0.2");
        assert_eq!(client_address(ip("10.0.0.2"), &lines(&["10.1.1.1"]), &lb), "10.1.1.1");
        assert_eq!(client_address(ip("10.0.0.2"), &lines(&["1.2.3.4, unknown"]), &lb), "10.0.0.2");
        assert_eq!(client_address(ip("10.0.0.2"), &lines(&["1.2.3.4, unknown, 10.3.3.3"]), &lb), "10.3.3.3");
    }

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap().naive_utc()
    }

    fn failures(n: i32, start: i64) -> Option<Failures> {
        Some(Failures { window_start: at(start), failures: n })
    }

    #[test]
    fn attempts_are_free_then_slowed_more_and_more_then_refused_until_the_window_ends() {
        let p = LoginThrottle::default(); // slow after 5, refuse after 10, 250 ms doubling to 2 s
        assert_eq!(verdict(&p, None, None, at(0)), Verdict::Proceed(Duration::ZERO));
        assert_eq!(verdict(&p, failures(4, 0), None, at(10)), Verdict::Proceed(Duration::ZERO));
        // the 6th attempt after five failures waits
        assert_eq!(verdict(&p, failures(5, 0), None, at(10)), Verdict::Proceed(Duration::from_millis(250)));
        assert_eq!(verdict(&p, failures(6, 0), None, at(10)), Verdict::Proceed(Duration::from_millis(500)));
        assert_eq!(verdict(&p, failures(9, 0), None, at(10)), Verdict::Proceed(Duration::from_millis(2000)));
        assert_eq!(verdict(&p, failures(10, 0), None, at(60)), Verdict::Refuse { retry_after: 840 });
        // the window has ended: the count no longer applies
        assert_eq!(verdict(&p, failures(10, 0), None, at(900)), Verdict::Proceed(Duration::ZERO));
    }

    #[test]
    fn the_address_counts_apart_and_the_longer_wait_or_refusal_wins() {
        let p = LoginThrottle::default(); // address: slow after 20, refuse after 40
        assert_eq!(verdict(&p, None, failures(19, 0), at(1)), Verdict::Proceed(Duration::ZERO));
        assert_eq!(
            verdict(&p, failures(6, 0), failures(20, 0), at(1)),
            Verdict::Proceed(Duration::from_millis(500))
        );
        assert_eq!(verdict(&p, failures(1, 0), failures(40, 0), at(1)), Verdict::Refuse { retry_after: 899 });
        assert_eq!(
            verdict(&p, failures(10, 100), failures(40, 0), at(101)),
            Verdict::Refuse { retry_after: 899 },
            "the later end of the two windows"
        );
    }
}
