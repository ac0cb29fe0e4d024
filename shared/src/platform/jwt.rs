//! Super-admin JWTs for the internal API (ES256).
//!
//! The platform has its own signing key (sealed by the master key) and
//! publishes its JWKS at `/api/v1/internal/.well-known/jwks.json`. A platform
//! API key can mint a short-lived token (`POST /api/v1/internal/auth/token`);
//! tokens from another issuer are accepted when the operator trusts it
//! (`PLATFORM_JWT_TRUSTED`: `[{"issuer": ..., "jwks": {"keys": [...]}}]`).
//!
//! Checks (RFC 7519 §4.1, RFC 8725 §3): `alg` is ES256 only; `kid` names a
//! key of the issuer the token claims; `iss`, `aud` (`PLATFORM_JWT_AUDIENCE`,
//! default `tessera-platform`), `exp`, `nbf`, `jti` and a platform `role` are
//! required; the lifetime is at most an hour; each `jti` is accepted once.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::{Claims, TimeOptions, UntrustedToken};
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::auth::{unauthorized, Credential, Principal, Role};
use crate::crypto::b64url;
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Secrets, Statement};
use crate::keys::{generate_signing_key, MasterKeys, PublicJwk};
use crate::types::Secret;

pub const MAX_LIFETIME_SECS: i64 = 3600;
pub const DEFAULT_LIFETIME_SECS: i64 = 300;
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct PlatformClaims {
    iss: String,
    sub: String,
    aud: Audience,
    jti: String,
    role: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(v) => v.iter().any(|a| a == aud),
        }
    }
}

/// The platform issuer: `PLATFORM_JWT_ISSUER`, or the platform API under the
/// deployment's canonical `origin`.
pub fn issuer<H: Host>(host: &H, origin: &str) -> String {
    host.secrets().var("PLATFORM_JWT_ISSUER").unwrap_or_else(|| format!("{origin}/api/v1/internal"))
}

pub fn audience<H: Host>(host: &H) -> String {
    host.secrets().var("PLATFORM_JWT_AUDIENCE").unwrap_or_else(|| "tessera-platform".into())
}

fn aad(kid: &str) -> Vec<u8> {
    format!("tessera:platform-sig:{kid}").into_bytes()
}

fn datetime(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::server("clock out of range"))
}

/// The active platform signing key, created on first use.
async fn active_key<H: Host>(host: &H) -> Result<(String, Secret<SigningKey>)> {
    let master = MasterKeys::load(host)?;
    for _ in 0..2 {
        let rows = host
            .db()
            .query("SELECT kid, private_key_enc FROM platform_signing_keys WHERE status = 'active'", &[])
            .await?;
        if let Some(r) = rows.first() {
            let kid = r.text("kid")?;
            let scalar = master.open(&r.text("private_key_enc")?, &aad(&kid))?;
            let key =
                SigningKey::from_slice(scalar.expose()).map_err(|_| Error::server("stored platform key is invalid"))?;
            return Ok((kid, Secret::new(key)));
        }
        insert_new_key(host, &master, "active").await?;
    }
    Err(Error::server("could not create the platform signing key"))
}

async fn insert_new_key<H: Host>(host: &H, master: &MasterKeys, status: &str) -> Result<String> {
    let key = generate_signing_key(host);
    let jwk = PublicJwk::from_verifying_key(key.verifying_key());
    let sealed = master.seal(host, &key.to_bytes(), &aad(&jwk.kid));
    // OR IGNORE: a concurrent first use may have created the active key; the
    // partial unique index keeps exactly one.
    host.db()
        .execute(
            "INSERT OR IGNORE INTO platform_signing_keys (kid, public_jwk, private_key_enc, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[jwk.kid.clone().into(), jwk.to_json().into(), sealed.into(), status.into(), host.now().into()],
        )
        .await?;
    Ok(jwk.kid)
}

/// A new active platform key; the previous one keeps verifying.
pub async fn rotate<H: Host>(host: &H) -> Result<String> {
    let master = MasterKeys::load(host)?;
    active_key(host).await?;
    let key = generate_signing_key(host);
    let jwk = PublicJwk::from_verifying_key(key.verifying_key());
    let sealed = master.seal(host, &key.to_bytes(), &aad(&jwk.kid));
    host.db()
        .batch(vec![
            Statement::new("UPDATE platform_signing_keys SET status = 'verify_only' WHERE status = 'active'", vec![]),
            Statement::new(
                "INSERT INTO platform_signing_keys (kid, public_jwk, private_key_enc, status, created_at)
                 VALUES (?1, ?2, ?3, 'active', ?4)",
                vec![jwk.kid.clone().into(), jwk.to_json().into(), sealed.into(), host.now().into()],
            ),
        ])
        .await?;
    Ok(jwk.kid)
}

pub async fn jwks<H: Host>(host: &H) -> Result<serde_json::Value> {
    active_key(host).await?;
    let rows = host
        .db()
        .query(
            "SELECT public_jwk FROM platform_signing_keys WHERE status IN ('active', 'verify_only')
             ORDER BY status = 'active' DESC, created_at DESC",
            &[],
        )
        .await?;
    crate::keys::jwk_set(&rows)
}

/// Mints a token for `subject` with `role`, valid for `lifetime_secs`.
pub async fn mint<H: Host>(host: &H, origin: &str, subject: &str, role: Role, lifetime_secs: i64) -> Result<String> {
    let (kid, key) = active_key(host).await?;
    let now = datetime(host.now())?;
    let claims = PlatformClaims {
        iss: issuer(host, origin),
        sub: subject.to_string(),
        aud: Audience::One(audience(host)),
        jti: b64url(&host.random_bytes::<16>()),
        role: role.as_str().to_string(),
    };
    let mut c = Claims::new(claims);
    c.issued_at = Some(now);
    c.not_before = Some(now);
    c.expiration = Some(now + Duration::seconds(lifetime_secs));
    crate::keys::jws::sign(host, key.expose(), &kid, "JWT", &c).await
}

/// The verifying keys an issuer's token may name, by kid.
async fn key_for<H: Host>(host: &H, origin: &str, iss: &str, kid: &str) -> Result<Option<VerifyingKey>> {
    if iss == issuer(host, origin) {
        let rows = host
            .db()
            .query(
                "SELECT public_jwk FROM platform_signing_keys WHERE kid = ?1 AND status IN ('active', 'verify_only')",
                &[kid.into()],
            )
            .await?;
        return Ok(match rows.first() {
            Some(r) => PublicJwk::parse(&serde_json::from_str(&r.text("public_jwk")?).unwrap_or_default()),
            None => None,
        });
    }
    let Some(trusted) = host.secrets().var("PLATFORM_JWT_TRUSTED") else {
        return Ok(None);
    };
    let trusted: Vec<serde_json::Value> = serde_json::from_str(&trusted)
        .map_err(|e| Error::server(format!("PLATFORM_JWT_TRUSTED is not a JSON array: {e}")))?;
    Ok(trusted
        .iter()
        .filter(|t| t["issuer"] == iss)
        .flat_map(|t| t["jwks"]["keys"].as_array().cloned().unwrap_or_default())
        .find(|k| k["kid"] == kid)
        .and_then(|k| PublicJwk::parse(&k)))
}

pub async fn authenticate<H: Host>(host: &H, origin: &str, token: &str) -> Result<Principal> {
    let untrusted = UntrustedToken::new(token).map_err(|_| unauthorized())?;
    let kid = untrusted.header().key_id.clone().ok_or_else(unauthorized)?;
    // The issuer decides which keys may verify; it is read before the
    // signature check only to pick them, and checked again after.
    let claimed: Claims<PlatformClaims> = untrusted.deserialize_claims_unchecked().map_err(|_| unauthorized())?;
    let key = key_for(host, origin, &claimed.custom.iss, &kid).await?.ok_or_else(unauthorized)?;
    let claims = crate::keys::jws::verify::<H, PlatformClaims>(host, &key, token).await.ok_or_else(unauthorized)?;
    let claims = &claims;
    let now_ms = host.now();
    let now = datetime(now_ms)?;
    let time = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now);
    claims.validate_expiration(&time).map_err(|_| unauthorized())?;
    if claims.not_before.is_some() {
        claims.validate_maturity(&time).map_err(|_| unauthorized())?;
    }
    let exp = claims.expiration.ok_or_else(unauthorized)?;
    if (exp - now).num_seconds() > MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(unauthorized());
    }
    let c = &claims.custom;
    if c.iss != claimed.custom.iss || !c.aud.contains(&audience(host)) || c.jti.is_empty() || c.sub.is_empty() {
        return Err(unauthorized());
    }
    let role = Role::parse(&c.role).ok_or_else(unauthorized)?;
    // Single use: the first INSERT of this (issuer, jti) wins.
    let ledger_key = format!("{}|{}", c.iss, c.jti);
    let rows = host
        .db()
        .batch(vec![
            Statement::new("DELETE FROM platform_jti WHERE expires_at < ?1", vec![now_ms.into()]),
            Statement::new(
                "INSERT OR IGNORE INTO platform_jti (jti, expires_at) VALUES (?1, ?2)",
                vec![ledger_key.into(), (exp.timestamp_millis() + LEEWAY_SECS * 1000).into()],
            ),
        ])
        .await?;
    if rows.get(1) != Some(&1) {
        return Err(unauthorized());
    }
    Ok(Principal { credential: Credential::Jwt { issuer: c.iss.clone(), subject: c.sub.clone() }, role })
}
