//! One `Config` read from the environment and validated once: production refuses the
//! development secrets.

use std::env;

/// The JWT secret used when none is configured. Fine on a laptop; refused in production.
pub const DEV_JWT_SECRET: &str = "echelon-development-secret-do-not-use-in-production";
/// The demo users' password when `ECHELON_DEMO_PASSWORD` is unset.
pub const DEV_DEMO_PASSWORD: &str = "echelon-demo";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: String,
    pub database_read_url: Option<String>,
    pub bind: String,
    pub pool_size: u32,
    /// connections for reads, apart from the writers' (`ECHELON_DB_READ_POOL_SIZE`, half the
    /// write pool's by default)
    pub read_pool_size: u32,
    pub jwt_secret: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl_seconds: i64,
    pub demo_password: String,
    pub max_body_bytes: usize,
    pub workers: Option<usize>,
    /// the share of completed tickets drawn for follow-up calls, in basis points (500 = 5%)
    pub followup_share_bp: u32,
    /// how failed logins are slowed and then refused
    pub login: LoginThrottle,
    /// the load balancers and proxies in front of the service whose `X-Forwarded-For` is
    /// believed for the client address a login is counted against (`ECHELON_TRUSTED_PROXIES`)
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// where webhooks may be delivered and how they are retried
    pub webhooks: Webhooks,
}

/// `ECHELON_TRUSTED_PROXIES`: addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`),
/// comma separated.
fn trusted_proxies(value: Option<String>) -> Result<Vec<ipnet::IpNet>, String> {
    let Some(value) = value else { return Ok(Vec::new()) };
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!(
                        "ECHELON_TRUSTED_PROXIES: {e:?} is neither an address nor a network (such as \
                         10.0.0.5 or 10.0.0.0/8)"
                    )
                })
        })
        .collect()
}

/// Webhook delivery: hosts that may be private or loopback addresses (`ECHELON_WEBHOOK_ALLOW_HOSTS`,
/// comma separated; every other host must resolve to public addresses only, so a subscription
/// cannot probe the internal network), the first retry's wait (`ECHELON_WEBHOOK_RETRY_SECONDS`,
/// doubled at each further attempt, with jitter) and for how long a delivery is retried and a
/// failing subscription kept active (`ECHELON_WEBHOOK_GIVE_UP_HOURS`, a day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhooks {
    pub allow_hosts: Vec<String>,
    pub retry_seconds: u64,
    pub give_up_hours: i64,
    pub timeout_seconds: u64,
    /// how long events (with their delivery logs) are kept once every delivery is done
    /// (`ECHELON_EVENT_RETENTION_DAYS`, 30)
    pub retention_days: i64,
    /// a PEM file of certificates trusted for https receivers besides the built-in roots (a
    /// company's own CA: `ECHELON_WEBHOOK_CA_FILE`)
    pub ca_file: Option<String>,
}

impl Default for Webhooks {
    fn default() -> Webhooks {
        Webhooks {
            allow_hosts: Vec::new(),
            retry_seconds: 30,
            give_up_hours: 24,
            timeout_seconds: 10,
            retention_days: 30,
            ca_file: None,
        }
    }
}

impl Webhooks {
    /// The certificates of [`Webhooks::ca_file`], read and checked (none without a file).
    pub fn ca_roots(&self) -> Result<Vec<reqwest::Certificate>, String> {
        let Some(file) = &self.ca_file else { return Ok(Vec::new()) };
        let pem = std::fs::read(file).map_err(|e| format!("ECHELON_WEBHOOK_CA_FILE {file}: {e}"))?;
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(roots) if !roots.is_empty() => Ok(roots),
            Ok(_) => Err(format!("ECHELON_WEBHOOK_CA_FILE {file} holds no PEM certificate")),
            Err(e) => Err(format!("ECHELON_WEBHOOK_CA_FILE {file} is not a PEM certificate bundle: {e}")),
        }
    }

    fn from_env() -> Result<Webhooks, String> {
        let d = Webhooks::default();
        let w = Webhooks {
            allow_hosts: var("ECHELON_WEBHOOK_ALLOW_HOSTS")
                .map(|v| {
                    v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect()
                })
                .unwrap_or_default(),
            retry_seconds: parse_var("ECHELON_WEBHOOK_RETRY_SECONDS", d.retry_seconds)?,
            give_up_hours: parse_var("ECHELON_WEBHOOK_GIVE_UP_HOURS", d.give_up_hours)?,
            timeout_seconds: parse_var("ECHELON_WEBHOOK_TIMEOUT_SECONDS", d.timeout_seconds)?,
            retention_days: parse_var("ECHELON_EVENT_RETENTION_DAYS", d.retention_days)?,
            ca_file: var("ECHELON_WEBHOOK_CA_FILE").filter(|f| !f.is_empty()),
        };
        w.ca_roots()?;
        if w.retry_seconds == 0 || w.give_up_hours <= 0 || w.timeout_seconds == 0 {
            return Err(
                "ECHELON_WEBHOOK_RETRY_SECONDS, _GIVE_UP_HOURS and _TIMEOUT_SECONDS must be positive".into(),
            );
        }
        if w.retention_days * 24 <= w.give_up_hours {
            return Err(
                "ECHELON_EVENT_RETENTION_DAYS must be longer than ECHELON_WEBHOOK_GIVE_UP_HOURS".into()
            );
        }
        Ok(w)
    }
}

/// Failed logins are counted per username and per client address in a window that starts at
/// the first failure. From `*_slow_after` failures on, each attempt waits `delay_ms`, doubled
/// for every further failure (at most `max_delay_ms`); from `*_limit` failures on, attempts are
/// answered 429 until the window ends. A successful login clears its username's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub window_seconds: i64,
    pub username_slow_after: i32,
    pub username_limit: i32,
    pub address_slow_after: i32,
    pub address_limit: i32,
    pub delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle {
            window_seconds: 15 * 60,
            username_slow_after: 5,
            username_limit: 10,
            address_slow_after: 20,
            address_limit: 40,
            delay_ms: 250,
            max_delay_ms: 2000,
        }
    }
}

impl LoginThrottle {
    fn from_env() -> Result<LoginThrottle, String> {
        let d = LoginThrottle::default();
        Ok(LoginThrottle {
            window_seconds: parse_var("ECHELON_LOGIN_WINDOW_SECONDS", d.window_seconds)?,
            username_slow_after: parse_var("ECHELON_LOGIN_USERNAME_SLOW_AFTER", d.username_slow_after)?,
            username_limit: parse_var("ECHELON_LOGIN_USERNAME_LIMIT", d.username_limit)?,
            address_slow_after: parse_var("ECHELON_LOGIN_ADDRESS_SLOW_AFTER", d.address_slow_after)?,
            address_limit: parse_var("ECHELON_LOGIN_ADDRESS_LIMIT", d.address_limit)?,
            delay_ms: parse_var("ECHELON_LOGIN_DELAY_MS", d.delay_ms)?,
            max_delay_ms: parse_var("ECHELON_LOGIN_MAX_DELAY_MS", d.max_delay_ms)?,
        })
    }

    fn validate(&self) -> Result<(), String> {
        if self.window_seconds <= 0 {
            return Err("ECHELON_LOGIN_WINDOW_SECONDS must be positive".into());
        }
        if self.username_slow_after < 1 || self.username_limit < 1 {
            return Err("ECHELON_LOGIN_USERNAME_SLOW_AFTER and _LIMIT must be at least 1".into());
        }
        if self.address_slow_after < 1 || self.address_limit < 1 {
            return Err("ECHELON_LOGIN_ADDRESS_SLOW_AFTER and _LIMIT must be at least 1".into());
        }
        if self.max_delay_ms > 60_000 {
            return Err("ECHELON_LOGIN_MAX_DELAY_MS must be at most 60000".into());
        }
        Ok(())
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("database_url", &crate::db::redact(&self.database_url))
            .field("bind", &self.bind)
            .field("pool_size", &self.pool_size)
            .field("read_pool_size", &self.read_pool_size)
            .finish_non_exhaustive()
    }
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| format!("{name}={v:?} is not a valid value")),
    }
}

impl Config {
    /// Reads the environment. Errors say which variable is wrong and how to fix it.
    pub fn from_env() -> Result<Config, String> {
        let environment = match var("ECHELON_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => return Err(format!("ECHELON_ENV={other:?}: use development or production")),
        };
        let pool_size = parse_var("ECHELON_DB_POOL_SIZE", 16)?;
        let config = Config {
            environment,
            database_url: var("DATABASE_URL").unwrap_or_else(|| "sqlite://echelon.db".into()),
            database_read_url: var("DATABASE_READ_URL"),
            bind: var("ECHELON_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            pool_size,
            read_pool_size: parse_var("ECHELON_DB_READ_POOL_SIZE", (pool_size / 2).max(1))?,
            jwt_secret: var("ECHELON_JWT_SECRET").unwrap_or_else(|| DEV_JWT_SECRET.into()),
            jwt_issuer: var("ECHELON_JWT_ISSUER").unwrap_or_else(|| "echelon".into()),
            jwt_audience: var("ECHELON_JWT_AUDIENCE").unwrap_or_else(|| "echelon-api".into()),
            token_ttl_seconds: parse_var("ECHELON_TOKEN_TTL_SECONDS", 8 * 3600)?,
            demo_password: var("ECHELON_DEMO_PASSWORD").unwrap_or_else(|| DEV_DEMO_PASSWORD.into()),
            max_body_bytes: parse_var("ECHELON_MAX_BODY_BYTES", 1024 * 1024)?,
            workers: var("ECHELON_WORKERS")
                .map(|w| w.parse())
                .transpose()
                .map_err(|_| "ECHELON_WORKERS must be a positive whole number".to_string())?,
            followup_share_bp: match var("ECHELON_FOLLOWUP_SHARE") {
                None => followup_share::DEFAULT_SHARE_BP,
                Some(v) => {
                    followup_share::parse_share(&v).map_err(|e| format!("ECHELON_FOLLOWUP_SHARE: {e}"))?
                }
            },
            login: LoginThrottle::from_env()?,
            trusted_proxies: trusted_proxies(var("ECHELON_TRUSTED_PROXIES"))?,
            webhooks: Webhooks::from_env()?,
        };
        config.validate()?;
        Ok(config)
    }

    /// The checks that do not depend on what is being run.
    pub fn validate(&self) -> Result<(), String> {
        crate::db::Backend::of(&self.database_url)?;
        if self.pool_size == 0 {
            return Err("ECHELON_DB_POOL_SIZE must be at least 1".into());
        }
        if self.read_pool_size == 0 {
            return Err("ECHELON_DB_READ_POOL_SIZE must be at least 1".into());
        }
        if self.token_ttl_seconds <= 0 {
            return Err("ECHELON_TOKEN_TTL_SECONDS must be positive".into());
        }
        self.login.validate()?;
        if self.environment == Environment::Production {
            if self.jwt_secret == DEV_JWT_SECRET {
                return Err("refusing to start: ECHELON_ENV=production but ECHELON_JWT_SECRET is \
                            unset or the development default; set a random secret of at least \
                            32 bytes"
                    .into());
            }
            if self.jwt_secret.len() < 32 {
                return Err("refusing to start: ECHELON_JWT_SECRET must be at least 32 bytes in \
                            production"
                    .into());
            }
        }
        Ok(())
    }

    /// The demo users get a known password: never in production with the default one.
    pub fn check_demo_allowed(&self) -> Result<(), String> {
        if self.environment == Environment::Production && self.demo_password == DEV_DEMO_PASSWORD {
            return Err("refusing to load demo users: ECHELON_ENV=production with the development \
                        demo password; set ECHELON_DEMO_PASSWORD"
                .into());
        }
        Ok(())
    }

    /// `serve --demo`: besides the hosts the operator allows, a webhook receiver on the demo's
    /// own machine (`localhost`), so the subscribe example works and its deliveries can be
    /// watched there (say `nc -lk 9000`). Only in development, where the demo is a trial on
    /// one's own machine.
    pub fn allow_demo_receiver(&mut self) {
        if self.environment != Environment::Production
            && !self.webhooks.allow_hosts.iter().any(|h| h == "localhost")
        {
            self.webhooks.allow_hosts.push("localhost".into());
        }
    }

    /// A configuration for tests and tools: development defaults with the given database.
    pub fn for_database(url: &str) -> Config {
        Config {
            environment: Environment::Development,
            database_url: url.to_string(),
            database_read_url: None,
            bind: "127.0.0.1:0".into(),
            pool_size: 8,
            read_pool_size: 4,
            jwt_secret: DEV_JWT_SECRET.into(),
            jwt_issuer: "echelon".into(),
            jwt_audience: "echelon-api".into(),
            token_ttl_seconds: 3600,
            demo_password: DEV_DEMO_PASSWORD.into(),
            max_body_bytes: 1024 * 1024,
            workers: Some(2),
            followup_share_bp: followup_share::DEFAULT_SHARE_BP,
            login: LoginThrottle::default(),
            trusted_proxies: Vec::new(),
            webhooks: Webhooks::default(),
        }
    }
}

/// The share of completed tickets drawn for follow-up calls (the service standard's 5-10%),
/// as `ECHELON_FOLLOWUP_SHARE` and `echelon followups --share` spell it.
pub mod followup_share {
    use rust_decimal::Decimal;

    /// Shares of completed tickets to sample, in basis points (1/100 of a percent).
    pub const DEFAULT_SHARE_BP: u32 = 500;
    pub const MIN_SHARE_BP: u32 = 500;
    pub const MAX_SHARE_BP: u32 = 1000;

    /// Parses a follow-up share: a fraction (`0.05`) or a percentage (`5%`, or `5`), between 5%
    /// and 10%; answers basis points.
    pub fn parse_share(s: &str) -> Result<u32, String> {
        let t = s.trim();
        let (number, percent) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t, false),
        };
        let value: Decimal =
            number.parse().map_err(|_| format!("{s:?} is not a share such as 0.05 or 5%"))?;
        let fraction = if percent || value >= Decimal::ONE { value / Decimal::ONE_HUNDRED } else { value };
        share_bp(fraction).ok_or_else(|| format!("{s:?} is not between 5% and 10%"))
    }

    /// A fraction (0.05-0.10) as basis points, or `None` outside the range.
    pub fn share_bp(fraction: Decimal) -> Option<u32> {
        let bp = fraction.checked_mul(Decimal::from(10_000))?.round();
        u32::try_from(bp).ok().filter(|b| (MIN_SHARE_BP..=MAX_SHARE_BP).contains(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_a_wrong_one_is_named() {
        assert!(trusted_proxies(None).unwrap().is_empty());
        let nets = trusted_proxies(Some(" 10.0.0.5, 192.168.0.0/16,fd00::/8 ,".into())).unwrap();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.5/32", "192.168.0.0/16", "fd00::/8"]);
        let err = trusted_proxies(Some("10.0.0.5, proxy.local".into())).unwrap_err();
        assert!(err.contains("\"proxy.local\"") && err.contains("ECHELON_TRUSTED_PROXIES"), "{err}");
        assert!(trusted_proxies(Some("10.0.0.0/33".into())).is_err());
    }

    #[test]
    fn production_refuses_the_development_secret() {
        let mut c = Config::for_database("sqlite://x.db");
        c.environment = Environment::Production;
        let err = c.validate().unwrap_err();
        assert!(err.contains("ECHELON_JWT_SECRET"), "{err}");
        c.jwt_secret = "short".into();
        assert!(c.validate().unwrap_err().contains("32 bytes"));
        c.jwt_secret = "x".repeat(40);
        assert!(c.validate().is_ok());
        assert!(c.check_demo_allowed().is_err());
        c.demo_password = "another".into();
        assert!(c.check_demo_allowed().is_ok());
    }
}
