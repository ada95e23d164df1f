//! Roles, tokens and passwords: no HTTP, no database.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::validate::Validate;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user may do (spec section 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Warehouse,
    Station,
    Technician,
    Agent,
    Finance,
    Courier,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Warehouse,
        Role::Station,
        Role::Technician,
        Role::Agent,
        Role::Finance,
        Role::Courier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Warehouse => "warehouse",
            Role::Station => "station",
            Role::Technician => "technician",
            Role::Agent => "agent",
            Role::Finance => "finance",
            Role::Courier => "courier",
        }
    }

    /// Roles whose every action is limited to one location (and what lies below it).
    /// Whether the role receives events by webhook: admin and finance the whole network's, a
    /// warehouse its subtree's, a station its own; a technician or a courier none.
    pub fn subscribes(self) -> bool {
        matches!(self, Role::Admin | Role::Finance | Role::Warehouse | Role::Station)
    }

    pub fn is_location_scoped(self) -> bool {
        matches!(self, Role::Warehouse | Role::Station | Role::Technician)
    }

    /// Which kind of location a user of this role must belong to, if any.
    pub fn required_location_kinds(self) -> Option<&'static [&'static str]> {
        match self {
            Role::Warehouse => Some(&["central_warehouse", "regional_centre"]),
            Role::Station | Role::Technician => Some(&["station"]),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!(
                "unknown role {s:?}; one of admin, warehouse, station, technician, agent, finance, courier"
            )
        })
    }
}

/// A username: 1-64 of ASCII letters, digits and `.` `_` `-` `@`, starting with a letter or
/// a digit (it appears in paths, whose segments hold at most 64 characters, and in logs as it
/// is).
pub const USERNAME_MAX: usize = 64;
/// Passwords: 10-200 characters (any characters; Argon2id hashes the UTF-8 bytes).
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 200;

/// The key a username is one account by: names that differ only in case are the same account
/// (`ST-TZ-001` is `st-tz-001`), so it is looked up, made unique and throttled by this form.
pub fn username_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Why a username is not acceptable, if it is not.
pub fn username_fault(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > USERNAME_MAX {
        return Some(format!("must be 1-{USERNAME_MAX} characters long"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if !name.chars().all(allowed) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("may hold only ASCII letters, digits, '.', '_', '-' and '@', and must start with a letter or digit".into());
    }
    None
}

/// Why a password is not acceptable, if it is not.
pub fn password_fault(password: &str) -> Option<String> {
    let len = password.chars().count();
    (!(PASSWORD_MIN..=PASSWORD_MAX).contains(&len))
        .then(|| format!("must be {PASSWORD_MIN}-{PASSWORD_MAX} characters long"))
}

/// The claims of an echelon access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// username
    pub sub: String,
    pub uid: i64,
    pub role: Role,
    /// the location the user belongs to (its code), for scoped roles
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loc: Option<String>,
    /// the user's version when the token was issued (`users.version`); a token whose user has
    /// changed since is refused. Tokens from before versions existed read as 0, never current.
    #[serde(default)]
    pub ver: i64,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signing and checking keys with the pinned algorithm (HS256) and the expected `iss`/`aud`.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: i64,
    /// claims of tokens already verified, by token string; see [`TokenKeys::verify_cached`]
    verified: Arc<quick_cache::sync::Cache<String, Claims>>,
}

/// How many verified tokens the cache keeps (the least used go first).
const VERIFIED_CAPACITY: usize = 4096;

impl TokenKeys {
    pub fn new(secret: &str, issuer: &str, audience: &str, ttl_seconds: i64) -> TokenKeys {
        // Only HS256 is accepted: a token naming another algorithm (`none`, RS256 with the
        // secret as a public key, ...) fails before its signature is looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl_seconds,
            verified: Arc::new(quick_cache::sync::Cache::new(VERIFIED_CAPACITY)),
        }
    }

    pub fn issue(
        &self,
        uid: i64,
        username: &str,
        role: Role,
        loc: Option<String>,
        ver: i64,
        now: i64,
    ) -> String {
        let claims = Claims {
            sub: username.to_string(),
            uid,
            role,
            loc,
            ver,
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    /// [`TokenKeys::verify`] with the answer remembered: a token that verified once is accepted
    /// again without its signature being recomputed while `now < exp`. The signature check
    /// depends only on the token, the keys and the clock (whether the token's user is still as
    /// the token says, `ver`, is checked per request by the caller extractor), and `verify`
    /// itself accepts a token until `exp` plus the leeway, so a cached answer is never one that
    /// `verify` would refuse; from `exp` on the token goes through `verify` again (and is
    /// refused once the leeway has passed). Refusals are not cached.
    pub fn verify_cached(&self, token: &str, now: i64) -> Result<Claims, String> {
        if let Some(claims) = self.verified.get(token) {
            if now < claims.exp {
                return Ok(claims);
            }
            self.verified.remove(token);
        }
        let claims = self.verify(token)?;
        if now < claims.exp {
            self.verified.insert(token.to_string(), claims.clone());
        }
        Ok(claims)
    }

    /// Checks signature, algorithm, `exp`, `iss` and `aud`; says why a token is refused.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        use jsonwebtoken::errors::ErrorKind as K;
        decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|e| {
            match e.kind() {
                K::ExpiredSignature => "the token has expired".to_string(),
                K::InvalidIssuer => "the token was issued by someone else".to_string(),
                K::InvalidAudience => "the token is not for this API".to_string(),
                K::InvalidAlgorithm => "the token's algorithm is not accepted".to_string(),
                K::InvalidSignature => "the token's signature is invalid".to_string(),
                K::MissingRequiredClaim(c) => format!("the token lacks the {c} claim"),
                _ => "the token is malformed".to_string(),
            }
        })
    }
}

/// Argon2id with the crate's default (OWASP) parameters and a random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that an unknown username takes
/// as long to refuse as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no-such-user-password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new("secret-secret-secret-secret-secret", "echelon", "echelon-api", 60)
    }

    #[test]
    fn a_token_round_trips() {
        let now = chrono::Utc::now().timestamp();
        let t = keys().issue(7, "admin", Role::Admin, None, 1, now);
        let c = keys().verify(&t).unwrap();
        assert_eq!(c.uid, 7);
        assert_eq!(c.role, Role::Admin);
    }

    #[test]
    fn a_cached_token_is_accepted_only_until_its_expiry_and_refusals_are_not_cached() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue(7, "admin", Role::Admin, None, 1, now);
        assert_eq!(k.verify_cached(&t, now).unwrap().uid, 7);
        assert_eq!(k.verify_cached(&t, now + 30).unwrap().uid, 7);
        // at its expiry the cached answer is dropped; the token is verified again (here still
        // within the leeway of the real clock, so the check that refuses it is `verify`'s)
        let old = k.issue(8, "admin", Role::Admin, None, 1, now - 3600);
        assert!(k.verify_cached(&old, now).unwrap_err().contains("expired"));
        let soon = k.issue(9, "admin", Role::Admin, None, 1, now - 50); // exp = now + 10
        assert_eq!(k.verify_cached(&soon, now).unwrap().uid, 9);
        assert!(k.verified.get(&soon).is_some());
        assert_eq!(k.verify_cached(&soon, now + 10).unwrap().uid, 9); // real clock: still valid
        assert!(k.verified.get(&soon).is_none(), "not re-cached at or after exp");
        // the cached token's header and claims under another signature are refused
        let other = TokenKeys::new("another-secret-another-secret-xx", "echelon", "echelon-api", 60);
        let forged_sig = other.issue(7, "admin", Role::Admin, None, 1, now);
        let forged = format!("{}.{}", t.rsplit_once('.').unwrap().0, forged_sig.rsplit_once('.').unwrap().1);
        assert_ne!(forged, t);
        assert!(k.verify_cached(&forged, now).unwrap_err().contains("signature"));
        assert!(k.verify_cached(&forged, now).unwrap_err().contains("signature"));
        // a key set with another secret does not share the cache
        assert!(other.verify_cached(&t, now).unwrap_err().contains("signature"));
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let now = chrono::Utc::now().timestamp();
        let old = keys().issue(7, "admin", Role::Admin, None, 1, now - 3600);
        assert!(keys().verify(&old).unwrap_err().contains("expired"));
        let other = TokenKeys::new("another-secret-another-secret-xx", "echelon", "echelon-api", 60);
        let t = other.issue(7, "admin", Role::Admin, None, 1, now);
        assert!(keys().verify(&t).unwrap_err().contains("signature"));
        let wrong_aud = TokenKeys::new("secret-secret-secret-secret-secret", "echelon", "other", 60);
        let t = wrong_aud.issue(7, "admin", Role::Admin, None, 1, now);
        assert!(keys().verify(&t).unwrap_err().contains("not for this API"));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("pw");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("pw", &h));
        assert!(!verify_password("pW", &h));
        assert!(!verify_password("pw", "not a hash"));
    }

    #[test]
    fn usernames_and_passwords_are_held_to_their_forms() {
        assert_eq!(username_fault("station-st-tz-001"), None);
        assert_eq!(username_fault("j.doe@example"), None);
        assert!(username_fault("").is_some());
        assert!(username_fault("-lead").is_some());
        assert!(username_fault("has space").is_some());
        assert!(username_fault(&"a".repeat(101)).is_some());
        assert_eq!(password_fault("0123456789"), None);
        assert!(password_fault("012345678").is_some());
        assert!(password_fault(&"x".repeat(201)).is_some());
    }

    #[test]
    fn roles_parse_and_print() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn a_username_fits_in_a_path_segment() {
        // a user the API accepts can be read and changed at /users/{username}
        const { assert!(USERNAME_MAX <= crate::http::PATH_SEGMENT_MAX) };
        assert_eq!(username_fault(&"a".repeat(USERNAME_MAX)), None);
        assert!(username_fault(&"a".repeat(USERNAME_MAX + 1)).is_some());
    }
}
