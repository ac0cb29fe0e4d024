//! Issuing and checking tokens.
//!
//! - Access tokens are JWTs in the RFC 9068 profile (`typ: at+jwt`), ES256
//!   with the tenant's active key, and each is recorded by `jti` so it can be
//!   revoked and introspected.
//! - ID tokens follow OIDC Core §2 and §3.1.3.6 (`at_hash`).
//! - Refresh tokens are opaque 256-bit values, stored as digests.
//!
//! Every token of one authorization code shares a family id: a replayed
//! code or a reused refresh token revokes the family.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::{Claims, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

use super::clients::Client;
use crate::crypto::{b64url, sha256, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Statement};
use crate::keys::jws;
use crate::tenant::TenantCtx;
use crate::types::{TenantId, UserId};
use crate::users::User;

fn dt(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::server("clock out of range"))
}

/// The audience of access tokens that only serve `/userinfo`.
pub fn userinfo_audience(t: &TenantCtx) -> String {
    t.url("/userinfo")
}

/// What must still hold when a grant's tokens are stored. A revocation
/// (code replay, refresh reuse, consent withdrawn, password changed, user
/// blocked) can commit after a grant passed its checks and before its tokens
/// exist; each token's INSERT is therefore conditional on these, in the same
/// statement, and a grant whose rows were not inserted fails.
#[derive(Debug, Clone)]
pub enum Parent {
    /// Client credentials: nothing above the client.
    None,
    /// The authorization code (by digest) has not been revoked.
    Code(String),
    /// The refresh token being rotated (by digest) has not been revoked.
    RefreshToken(String),
}

/// What a grant hands to the issuer.
pub struct Issue<'a> {
    pub client: &'a Client,
    pub user: Option<&'a User>,
    /// The access token's scope.
    pub scope: Vec<String>,
    /// The refresh token's scope: the original grant's, even when this
    /// request narrowed the access token's (RFC 6749 §6).
    pub grant_scope: Vec<String>,
    /// When the grant behind this token family was made (ms): a refresh
    /// token never outlives it by more than the client's absolute lifetime.
    pub grant_time: i64,
    pub parent: Parent,
    /// The API identifier, or none for the userinfo audience.
    pub audience: Option<String>,
    pub access_ttl: i64,
    pub auth_time: Option<i64>,
    /// How the user authenticated (RFC 8176 methods, space-separated) and
    /// the resulting `acr`, for the ID token; kept on the refresh token.
    pub amr: Option<String>,
    pub acr: Option<String>,
    /// Claims post-login or credentials-exchange actions set:
    /// `{"id_token": {...}, "access_token": {...}}`; kept on the refresh
    /// token so refreshed tokens carry them too.
    pub action_claims: Option<serde_json::Value>,
    pub nonce: Option<String>,
    pub family_id: String,
    pub refresh: bool,
    pub id_token: bool,
}

impl Issue<'_> {
    /// A client's own access token (`client_credentials`: no user, no
    /// refresh token, no grant above the client) is self-contained: nothing
    /// is stored when it is issued, as RFC 9068 access tokens allow. What a
    /// row would decide is decided without one: the client must still exist
    /// when the token is presented, and a revoked one is on a deny-list
    /// (`revoked_access_tokens`). Tokens of a user keep their rows, which
    /// consent withdrawal, blocking and family revocation update.
    pub fn self_contained(&self) -> bool {
        self.user.is_none() && !self.refresh && !self.id_token && matches!(self.parent, Parent::None)
    }
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub jti: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// An access token as signed: its claims and the custom ones actions set
/// (never a registered one: see `actions::decision::RESERVED_CLAIMS`).
/// Serialise-only, so reading a token stays a plain struct decode.
#[derive(Serialize)]
struct SignedAccess {
    #[serde(flatten)]
    claims: AccessClaims,
    #[serde(flatten)]
    custom: serde_json::Map<String, serde_json::Value>,
}

/// The stored form of [`Issue::action_claims`].
pub fn parse_action_claims(stored: Option<String>) -> Option<serde_json::Value> {
    stored.and_then(|s| serde_json::from_str(&s).ok())
}

/// One token's custom claims out of [`Issue::action_claims`].
fn custom_claims(all: Option<&serde_json::Value>, token: &str) -> serde_json::Map<String, serde_json::Value> {
    all.and_then(|c| c.get(token)).and_then(|c| c.as_object()).cloned().unwrap_or_default()
}

/// Tokens signed for a grant, and the rows that record them. The token
/// endpoint stores the rows (with its audit event, in one batch) before it
/// answers.
pub struct Minted {
    pub response: TokenResponse,
    /// The access token's record id, to condition the audit event on.
    pub access_jti: String,
    pub records: Vec<Statement>,
}

/// Signs the tokens of a grant and prepares their records.
pub async fn issue<H: Host>(host: &H, t: &TenantCtx, i: Issue<'_>) -> Result<Minted> {
    let (kid, key) = crate::keys::active_signing_key(host, t.id()).await?;
    let now_ms = host.now();
    let now = dt(now_ms)?;
    let scope = i.scope.join(" ");
    let audience = i.audience.clone().unwrap_or_else(|| userinfo_audience(t));
    let sub = i.user.map_or_else(|| i.client.client_id.clone(), |u| u.id.to_string());
    let jti = b64url(&host.random_bytes::<16>());
    let mut at = Claims::new(SignedAccess {
        claims: AccessClaims {
            iss: t.issuer.clone(),
            sub: sub.clone(),
            aud: audience.clone(),
            client_id: i.client.client_id.clone(),
            jti: jti.clone(),
            scope: scope.clone(),
            auth_time: i.auth_time.map(|a| a / 1000),
        },
        custom: custom_claims(i.action_claims.as_ref(), "access_token"),
    });
    at.issued_at = Some(now);
    at.expiration = Some(now + Duration::seconds(i.access_ttl));
    let access_token = jws::sign(host, key.expose(), &kid, "at+jwt", &at).await?;

    let mut stmts = Vec::new();
    if !i.self_contained() {
        stmts.push(record(
            t,
            &i,
            TokenRow {
                kind: "access",
                id: &jti,
                scope: &scope,
                audience: &audience,
                now: now_ms,
                expires_at: now_ms + i.access_ttl * 1000,
            },
        ));
    }

    let refresh_token = if i.refresh {
        let rt = b64url(&host.random_bytes::<32>());
        // Inactivity (each rotation) and absolute (from the grant) lifetimes,
        // as Auth0 and Keycloak have them.
        let exp =
            (now_ms + i.client.refresh_token_ttl * 1000).min(i.grant_time + i.client.refresh_token_absolute_ttl * 1000);
        let grant_scope = i.grant_scope.join(" ");
        stmts.push(record(
            t,
            &i,
            TokenRow {
                kind: "refresh",
                id: &token_hash(&rt),
                scope: &grant_scope,
                audience: &audience,
                now: now_ms,
                expires_at: exp,
            },
        ));
        Some(rt)
    } else {
        None
    };

    let id_token = match (i.id_token, i.user) {
        (true, Some(user)) => {
            Some(id_token(host, t, i.client, user, &i, &access_token, &kid, key.expose(), now).await?)
        }
        _ => None,
    };
    let response =
        TokenResponse { access_token, token_type: "Bearer", expires_in: i.access_ttl, scope, id_token, refresh_token };
    Ok(Minted { response, access_jti: jti, records: stmts })
}

/// One token's row.
struct TokenRow<'a> {
    kind: &'a str,
    id: &'a str,
    scope: &'a str,
    audience: &'a str,
    now: i64,
    expires_at: i64,
}

/// The INSERT of one token, made only while the grant still stands (see
/// [`Parent`]): its parent is unrevoked, its user exists and is not blocked,
/// and a third-party client still has the user's consent.
fn record(t: &TenantCtx, i: &Issue<'_>, row: TokenRow<'_>) -> Statement {
    let mut conditions = Vec::new();
    let parent = match &i.parent {
        Parent::None => None,
        Parent::Code(code) => {
            conditions.push(
                "EXISTS (SELECT 1 FROM oauth_codes WHERE code_hash = ?14 AND tenant_id = ?2 AND revoked_at IS NULL)",
            );
            Some(code.clone())
        }
        Parent::RefreshToken(id) => {
            conditions
                .push("EXISTS (SELECT 1 FROM oauth_tokens WHERE id = ?14 AND tenant_id = ?2 AND revoked_at IS NULL)");
            Some(id.clone())
        }
    };
    if i.user.is_some() {
        conditions.push("EXISTS (SELECT 1 FROM users WHERE id = ?4 AND tenant_id = ?2 AND blocked = 0)");
        if !i.client.first_party {
            conditions
                .push("EXISTS (SELECT 1 FROM oauth_consents WHERE tenant_id = ?2 AND user_id = ?4 AND client_id = ?3)");
        }
    }
    let condition = if conditions.is_empty() { "?14 IS NULL".to_string() } else { conditions.join(" AND ") };
    Statement::new(
        format!(
            "INSERT INTO oauth_tokens (id, tenant_id, client_id, user_id, kind, family_id, scope, audience, auth_time, nonce, created_at, expires_at, grant_time, amr, acr, action_claims)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?15, ?16, ?17 WHERE {condition}"
        ),
        vec![
            row.id.into(),
            t.id().as_str().into(),
            i.client.client_id.clone().into(),
            i.user.map(|u| u.id.to_string()).into(),
            row.kind.into(),
            i.family_id.clone().into(),
            row.scope.into(),
            row.audience.into(),
            i.auth_time.into(),
            i.nonce.clone().into(),
            row.now.into(),
            row.expires_at.into(),
            i.grant_time.into(),
            parent.into(),
            i.amr.clone().into(),
            i.acr.clone().into(),
            i.action_claims.as_ref().map(|c| c.to_string()).into(),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
async fn id_token<H: Host>(
    host: &H,
    t: &TenantCtx,
    client: &Client,
    user: &User,
    i: &Issue<'_>,
    access_token: &str,
    kid: &str,
    key: &p256::ecdsa::SigningKey,
    now: DateTime<Utc>,
) -> Result<String> {
    // OIDC Core §3.1.3.6: the left half of SHA-256 of the access token.
    let digest = sha256(access_token.as_bytes());
    let mut claims = serde_json::json!({
        "iss": t.issuer,
        "sub": user.id,
        "aud": client.client_id,
        "at_hash": b64url(&digest[..16]),
    });
    if let Some(a) = i.auth_time {
        claims["auth_time"] = (a / 1000).into();
    }
    // OIDC Core §2: `amr` (RFC 8176 values) and `acr`.
    if let Some(amr) = &i.amr {
        claims["amr"] = amr.split(' ').filter(|m| !m.is_empty()).collect::<Vec<_>>().into();
    }
    if let Some(acr) = &i.acr {
        claims["acr"] = acr.clone().into();
    }
    if let Some(n) = &i.nonce {
        claims["nonce"] = n.clone().into();
    }
    if i.scope.iter().any(|s| s == "email") {
        claims["email"] = user.email.clone().into();
        claims["email_verified"] = user.email_verified.into();
    }
    if i.scope.iter().any(|s| s == "profile") {
        if let Some(n) = &user.name {
            claims["name"] = n.clone().into();
        }
        claims["updated_at"] = (user.updated_at / 1000).into();
    }
    // An action's claim never replaces one Tessera set.
    if let Some(obj) = claims.as_object_mut() {
        for (k, v) in custom_claims(i.action_claims.as_ref(), "id_token") {
            obj.entry(k).or_insert(v);
        }
    }
    let mut c = Claims::new(claims);
    c.issued_at = Some(now);
    c.expiration = Some(now + Duration::seconds(client.id_token_ttl));
    jws::sign(host, key, kid, "JWT", &c).await
}

/// Whether a grant's tokens were stored.
pub enum Stored {
    Yes,
    /// The client or user was deleted (through another isolate) after the
    /// grant read it: the records' foreign keys refused the batch.
    RowVanished,
    /// A revocation committed after the grant's checks (see [`Parent`]):
    /// nothing was stored, so the tokens are worthless.
    GrantRevoked,
}

/// Stores a grant's token records and its audit event in one batch; the
/// event only with the records, and published only once they committed.
pub async fn store<H: Host>(host: &H, minted: Minted, event: crate::logs::Prepared) -> Result<Stored> {
    let (statement, json) = event.into_statement_when_token_stored(&minted.access_jti);
    let mut writes = minted.records;
    let n = writes.len();
    writes.push(statement);
    let counts = match host.db().batch(writes).await {
        Ok(c) => c,
        Err(e) if e.kind == crate::host::DbErrorKind::ForeignKey => return Ok(Stored::RowVanished),
        Err(e) => return Err(e.into()),
    };
    if counts[..n].iter().any(|c| *c != 1) {
        return Ok(Stored::GrantRevoked);
    }
    crate::logs::publish(host, &json).await;
    Ok(Stored::Yes)
}

/// Why an access token was not accepted (for `WWW-Authenticate`).
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    Invalid,
    Revoked,
}

/// Verifies an access token of this tenant: signature by a tenant key,
/// `typ: at+jwt` (RFC 9068 §4), issuer, expiry, and a live record.
pub async fn verify_access<H: Host>(
    host: &H,
    t: &TenantCtx,
    token: &str,
) -> Result<std::result::Result<(AccessClaims, i64), Rejected>> {
    let Ok(untrusted) = UntrustedToken::new(token) else { return Ok(Err(Rejected::Invalid)) };
    if untrusted.header().token_type.as_deref() != Some("at+jwt") {
        return Ok(Err(Rejected::Invalid));
    }
    let Some(kid) = untrusted.header().key_id.clone() else { return Ok(Err(Rejected::Invalid)) };
    let Some(key) = crate::keys::verifying_key(host, t.id(), &kid).await? else { return Ok(Err(Rejected::Invalid)) };
    let Some(claims) = jws::verify::<H, AccessClaims>(host, &key, token).await else {
        return Ok(Err(Rejected::Invalid));
    };
    let now = dt(host.now())?;
    let time = TimeOptions::new(Duration::seconds(0), move || now);
    if claims.validate_expiration(&time).is_err() || claims.custom.iss != t.issuer {
        return Ok(Err(Rejected::Invalid));
    }
    // A blocked user's tokens are revoked when the block is made; the join
    // also refuses one minted by a grant that raced the block. The same
    // round trip reads the deny-list of self-contained tokens.
    let rows = host
        .db()
        .query(
            "SELECT 1 AS recorded, t.revoked_at, t.user_id, u.blocked FROM oauth_tokens t
             LEFT JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
             WHERE t.id = ?1 AND t.tenant_id = ?2 AND t.kind = 'access'
             UNION ALL
             SELECT 0, revoked_at, NULL, NULL FROM revoked_access_tokens WHERE tenant_id = ?2 AND jti = ?1",
            &[claims.custom.jti.clone().into(), t.id().as_str().into()],
        )
        .await?;
    let exp = claims.expiration.map_or(0, |e| e.timestamp());
    if let Some(r) = rows.iter().find(|r| r.int("recorded").ok() == Some(1)) {
        return Ok(
            if r.opt_int("revoked_at")?.is_some()
                || (r.opt_text("user_id")?.is_some() && r.opt_int("blocked")? != Some(0))
            {
                Err(Rejected::Revoked)
            } else {
                Ok((claims.custom.clone(), exp))
            },
        );
    }
    if !rows.is_empty() {
        return Ok(Err(Rejected::Revoked));
    }
    // No row: only a client's own (self-contained) token may have none, and
    // only while its client exists (the cached read; a client deleted
    // through another isolate is seen within the client cache's window).
    let own = claims.custom.sub == claims.custom.client_id;
    if !own || crate::oauth::clients::get_with_secrets(host, t.id(), &claims.custom.client_id).await?.is_none() {
        return Ok(Err(Rejected::Invalid));
    }
    Ok(Ok((claims.custom.clone(), exp)))
}

/// Revokes the access token `jti` (`exp` in seconds): a recorded token is
/// marked; a self-contained one, which has no row, goes on the deny-list
/// until it expires.
pub fn revoke_access(t: &TenantCtx, jti: &str, exp: i64, now: i64) -> Vec<Statement> {
    vec![
        Statement::new(
            "UPDATE oauth_tokens SET revoked_at = ?1 WHERE id = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
            vec![now.into(), jti.into(), t.id().as_str().into()],
        ),
        Statement::new(
            "INSERT INTO revoked_access_tokens (tenant_id, jti, expires_at, revoked_at)
             SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM oauth_tokens WHERE id = ?2 AND tenant_id = ?1)
             ON CONFLICT (tenant_id, jti) DO NOTHING",
            vec![t.id().as_str().into(), jti.into(), (exp * 1000).into(), now.into()],
        ),
    ]
}

/// Revokes every token of a family (code replay, refresh reuse, revocation).
/// A family's id is the digest of the code that started it, so the code is
/// marked too: an exchange of it still in flight then stores nothing.
pub fn revoke_family(t: &TenantCtx, family_id: &str, now: i64) -> Vec<Statement> {
    vec![
        Statement::new(
            "UPDATE oauth_tokens SET revoked_at = ?1 WHERE tenant_id = ?2 AND family_id = ?3 AND revoked_at IS NULL",
            vec![now.into(), t.id().as_str().into(), family_id.into()],
        ),
        Statement::new(
            "UPDATE oauth_codes SET revoked_at = ?1 WHERE tenant_id = ?2 AND code_hash = ?3 AND revoked_at IS NULL",
            vec![now.into(), t.id().as_str().into(), family_id.into()],
        ),
    ]
}

/// Revokes every token and code of a user (password changed or reset, user
/// blocked), or of a user with one client (consent withdrawn), in the
/// caller's batch.
pub fn revoke_user(tenant: &TenantId, user: &UserId, client_id: Option<&str>, now: i64) -> Vec<Statement> {
    let params = || vec![now.into(), tenant.as_str().into(), user.as_str().into(), client_id.into()];
    vec![
        Statement::new(
            "UPDATE oauth_tokens SET revoked_at = ?1
             WHERE tenant_id = ?2 AND user_id = ?3 AND (?4 IS NULL OR client_id = ?4) AND revoked_at IS NULL",
            params(),
        ),
        Statement::new(
            "UPDATE oauth_codes SET revoked_at = ?1
             WHERE tenant_id = ?2 AND user_id = ?3 AND (?4 IS NULL OR client_id = ?4) AND revoked_at IS NULL",
            params(),
        ),
    ]
}

/// The access-token lifetime for an audience: the API's own, or the
/// client's for the userinfo audience.
pub async fn access_ttl<H: Host>(host: &H, t: &TenantCtx, client: &Client, audience: Option<&str>) -> Result<i64> {
    Ok(match audience {
        Some(a) => super::resources::by_identifier(host, t.id(), a)
            .await?
            .map_or(client.access_token_ttl, |r| r.access_token_ttl),
        None => client.access_token_ttl,
    })
}
