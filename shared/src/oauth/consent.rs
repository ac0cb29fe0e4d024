//! Consent (OIDC Core §3.1.2.4): the user approves a client's scopes once;
//! the grant is stored per user and client, skipped for first-party clients,
//! and revocable by the user and by an admin. Revoking also revokes the
//! client's tokens and codes for that user.
//!
//! An API's scope is consented for that API alone: `read` on API A does not
//! cover `read` on API B. Stored entries are the OpenID Connect scopes as
//! they are (they concern the user, not an API) and API scopes as
//! `"{audience} {scope}"` (neither can contain a space).

use super::scopes::OIDC_SCOPES;
use crate::crypto::{b64url, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::types::{TenantId, UserId};

/// The stored entry for a scope requested for `audience`.
fn entry(audience: Option<&str>, scope: &str) -> String {
    match audience {
        Some(a) if !OIDC_SCOPES.contains(&scope) => format!("{a} {scope}"),
        _ => scope.to_string(),
    }
}

/// Whether the stored consent covers every requested scope for `audience`.
pub async fn covers<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    client_id: &str,
    audience: Option<&str>,
    scope: &[String],
) -> Result<bool> {
    let granted = granted(host, tenant, user, client_id).await?;
    Ok(scope.iter().all(|s| granted.contains(&entry(audience, s))))
}

/// Stored entries as the API shows them: OIDC scopes, and API scopes with
/// their audience.
fn shown(entries: &str) -> (Vec<String>, Vec<serde_json::Value>) {
    let all: Vec<String> = serde_json::from_str(entries).unwrap_or_default();
    let mut scopes = Vec::new();
    let mut api = Vec::new();
    for e in all {
        match e.split_once(' ') {
            Some((audience, scope)) => api.push(serde_json::json!({ "audience": audience, "scope": scope })),
            None => scopes.push(e),
        }
    }
    (scopes, api)
}

async fn granted<H: Host>(host: &H, tenant: &TenantId, user: &UserId, client_id: &str) -> Result<Vec<String>> {
    let rows = host
        .db()
        .query(
            "SELECT scopes FROM oauth_consents WHERE tenant_id = ?1 AND user_id = ?2 AND client_id = ?3",
            &[tenant.as_str().into(), user.as_str().into(), client_id.into()],
        )
        .await?;
    match rows.first() {
        Some(r) => Ok(serde_json::from_str(&r.text("scopes")?).unwrap_or_default()),
        None => Ok(Vec::new()),
    }
}

/// Consents of a user, for the account page and the management API.
pub async fn list<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Vec<serde_json::Value>> {
    let rows = host
        .db()
        .query(
            "SELECT c.client_id, c.scopes, c.created_at, c.updated_at, k.name FROM oauth_consents c
             JOIN oauth_clients k ON k.id = c.client_id AND k.tenant_id = c.tenant_id
             WHERE c.tenant_id = ?1 AND c.user_id = ?2 ORDER BY k.name",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let (scopes, api_scopes) = shown(&r.text("scopes")?);
            Ok(serde_json::json!({
                "client_id": r.text("client_id")?,
                "client_name": r.text("name")?,
                "scopes": scopes,
                "api_scopes": api_scopes,
                "created_at": r.int("created_at")?,
                "updated_at": r.int("updated_at")?,
            }))
        })
        .collect()
}

/// Users who consented to a client, for the admin UI.
pub async fn list_for_client<H: Host>(host: &H, tenant: &TenantId, client_id: &str) -> Result<Vec<serde_json::Value>> {
    let rows = host
        .db()
        .query(
            "SELECT c.user_id, c.scopes, c.updated_at, u.email FROM oauth_consents c
             JOIN users u ON u.id = c.user_id AND u.tenant_id = c.tenant_id
             WHERE c.tenant_id = ?1 AND c.client_id = ?2 ORDER BY u.email",
            &[tenant.as_str().into(), client_id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let (scopes, api_scopes) = shown(&r.text("scopes")?);
            Ok(serde_json::json!({
                "user_id": r.text("user_id")?,
                "email": r.text("email")?,
                "scopes": scopes,
                "api_scopes": api_scopes,
                "updated_at": r.int("updated_at")?,
            }))
        })
        .collect()
}

/// Removes a consent and revokes the client's tokens for the user.
pub async fn revoke<H: Host>(host: &H, tenant: &TenantId, user: &UserId, client_id: &str) -> Result<bool> {
    let now = host.now();
    let mut writes = vec![Statement::new(
        "DELETE FROM oauth_consents WHERE tenant_id = ?1 AND user_id = ?2 AND client_id = ?3",
        vec![tenant.as_str().into(), user.as_str().into(), client_id.into()],
    )];
    writes.extend(super::tokens::revoke_user(tenant, user, Some(client_id), now));
    let counts = host.db().batch(writes).await?;
    Ok(counts.first() == Some(&1))
}

/// Records the user's consent to `scope` for `audience`, adding to what
/// they consented to before.
pub async fn store<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    client_id: &str,
    audience: Option<&str>,
    scope: &[String],
) -> Result<()> {
    let mut all = granted(host, tenant, user, client_id).await?;
    for s in scope {
        let e = entry(audience, s);
        if !all.contains(&e) {
            all.push(e);
        }
    }
    let now = host.now();
    host.db()
        .execute(
            "INSERT INTO oauth_consents (tenant_id, user_id, client_id, scopes, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
            &[
                tenant.as_str().into(),
                user.as_str().into(),
                client_id.into(),
                serde_json::to_string(&all).expect("strings").into(),
                now.into(),
            ],
        )
        .await?;
    Ok(())
}

/// Keeps an authorization request while the user decides; returns the id
/// the consent form carries. It lives ten minutes.
pub async fn save_pending<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    client_id: &str,
    query: &str,
) -> Result<String> {
    let id = b64url(&host.random_bytes::<32>());
    let now = host.now();
    host.db()
        .execute(
            "INSERT INTO oauth_pending_requests (id_hash, tenant_id, user_id, client_id, query, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                token_hash(&id).into(),
                tenant.as_str().into(),
                user.as_str().into(),
                client_id.into(),
                query.into(),
                now.into(),
                (now + 10 * 60_000).into(),
            ],
        )
        .await?;
    Ok(id)
}

/// Takes a pending request back: single use, and only by the user it was
/// made for (one conditional UPDATE).
pub async fn take_pending<H: Host>(host: &H, tenant: &TenantId, user: &UserId, id: &str) -> Result<Option<String>> {
    let now = host.now();
    let rows = host
        .db()
        .query(
            "UPDATE oauth_pending_requests SET used_at = ?1
             WHERE id_hash = ?2 AND tenant_id = ?3 AND user_id = ?4 AND used_at IS NULL AND expires_at > ?1
             RETURNING query",
            &[now.into(), token_hash(id).into(), tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    rows.first().map(|r| r.text("query").map_err(Into::into)).transpose()
}
