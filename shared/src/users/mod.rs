//! User accounts of a tenant: email (unique per tenant, stored lowercase),
//! an Argon2id password, verification and blocked flags.
//!
//! Every query is scoped by tenant id; an id from another tenant behaves
//! exactly like an id that does not exist.

pub mod email_tokens;
pub mod password;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::host::{Db, DbErrorKind, Host, HostExt, Row, Statement, Value};
use crate::types::{Secret, TenantId, UserId};

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub blocked: bool,
    /// May use the tenant's admin UI.
    pub is_admin: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
    /// Set by actions and administrators (Auth0's `app_metadata`).
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    /// The user's own settings (Auth0's `user_metadata`).
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
}

const COLUMNS: &str =
    "id, email, email_verified, name, blocked, is_admin, created_at, updated_at, last_login_at, app_metadata, user_metadata";

/// Metadata of one user may total this much JSON per object.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

fn metadata(r: &Row, column: &str) -> serde_json::Map<String, serde_json::Value> {
    r.opt_text(column).ok().flatten().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

impl User {
    /// A user from a row holding [`COLUMNS`].
    pub fn from_row(r: &Row) -> Result<Self> {
        Ok(User {
            id: UserId(r.text("id")?),
            email: r.text("email")?,
            email_verified: r.bool("email_verified")?,
            name: r.opt_text("name")?,
            blocked: r.bool("blocked")?,
            is_admin: r.bool("is_admin")?,
            created_at: r.int("created_at")?,
            updated_at: r.int("updated_at")?,
            last_login_at: r.opt_int("last_login_at")?,
            app_metadata: metadata(r, "app_metadata"),
            user_metadata: metadata(r, "user_metadata"),
        })
    }
}

/// Normalises and checks an email address. Deliberately permissive about the
/// local part (RFC 5321 allows a lot); strict about shape and length.
pub fn normalize_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let bad = || Error::bad_request("email must be a valid address such as ana@example.com");
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = e.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(bad());
    }
    Ok(e)
}

pub fn validate_display_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(Error::bad_request("name must be at most 200 printable characters"));
    }
    Ok(n.to_owned())
}

pub struct NewUser {
    pub email: String,
    pub password: Option<Secret<String>>,
    pub name: Option<String>,
    pub email_verified: bool,
    pub is_admin: bool,
    /// Set by a pre-user-registration action, for instance.
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
}

/// Creates a user. The password, when given, must already satisfy the
/// tenant's policy. A duplicate email is a `Conflict`.
pub async fn create<H: Host>(host: &H, tenant: &TenantId, new: NewUser) -> Result<User> {
    let (user, insert) = insert_statement(host, tenant, new)?;
    match host.db().execute(&insert.sql, &insert.params).await {
        Ok(_) => Ok(user),
        Err(e) if e.kind == DbErrorKind::Unique => Err(Error::conflict("a user with this email already exists")),
        Err(e) => Err(e.into()),
    }
}

/// The user [`create`] would make and the statement that stores it, for a
/// caller that writes more in the same batch (SCIM provisioning).
pub fn insert_statement<H: Host>(host: &H, tenant: &TenantId, new: NewUser) -> Result<(User, Statement)> {
    let email = normalize_email(&new.email)?;
    let name = new.name.as_deref().map(validate_display_name).transpose()?.filter(|n| !n.is_empty());
    let hash = new.password.as_ref().map(|p| password::hash(p, host.random_bytes::<16>())).transpose()?;
    let now = host.now();
    let user = User {
        id: UserId::generate(host),
        email,
        email_verified: new.email_verified,
        name,
        blocked: false,
        is_admin: new.is_admin,
        created_at: now,
        updated_at: now,
        last_login_at: None,
        app_metadata: new.app_metadata,
        user_metadata: new.user_metadata,
    };
    let app_metadata = serde_json::Value::Object(user.app_metadata.clone()).to_string();
    let user_metadata = serde_json::Value::Object(user.user_metadata.clone()).to_string();
    if app_metadata.len() > MAX_METADATA_BYTES || user_metadata.len() > MAX_METADATA_BYTES {
        return Err(Error::bad_request(format!("metadata may be at most {MAX_METADATA_BYTES} bytes per object")));
    }
    let statement = Statement::new(
        "INSERT INTO users (id, tenant_id, email, email_verified, name, password_hash, blocked, is_admin, created_at, updated_at, app_metadata, user_metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?8, ?7, ?7, ?9, ?10)",
        vec![
            user.id.as_str().into(),
            tenant.as_str().into(),
            user.email.clone().into(),
            user.email_verified.into(),
            user.name.clone().into(),
            hash.into(),
            now.into(),
            user.is_admin.into(),
            app_metadata.into(),
            user_metadata.into(),
        ],
    );
    Ok((user, statement))
}

/// Refuses a metadata merge (top-level keys; `null` removes one) whose
/// result would be larger than [`MAX_METADATA_BYTES`].
pub fn check_merged_metadata(
    current: &serde_json::Map<String, serde_json::Value>,
    patch: &serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let mut merged = current.clone();
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    if serde_json::Value::Object(merged).to_string().len() > MAX_METADATA_BYTES {
        return Err(Error::bad_request(format!("metadata may total at most {MAX_METADATA_BYTES} bytes per object")));
    }
    Ok(())
}

/// Merges keys into a user's metadata (RFC 7396 merge patch: a `null`
/// removes the key). Returns false, changing nothing, when either object
/// would grow past [`MAX_METADATA_BYTES`].
pub async fn merge_metadata<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    app: &serde_json::Map<String, serde_json::Value>,
    own: &serde_json::Map<String, serde_json::Value>,
) -> Result<bool> {
    if app.is_empty() && own.is_empty() {
        return Ok(true);
    }
    let n = host
        .db()
        .execute(
            "UPDATE users SET app_metadata = json_patch(app_metadata, ?3), user_metadata = json_patch(user_metadata, ?4),
             updated_at = ?5
             WHERE tenant_id = ?1 AND id = ?2
               AND length(json_patch(app_metadata, ?3)) <= ?6 AND length(json_patch(user_metadata, ?4)) <= ?6",
            &[
                tenant.as_str().into(),
                user.as_str().into(),
                serde_json::Value::Object(app.clone()).to_string().into(),
                serde_json::Value::Object(own.clone()).to_string().into(),
                host.now().into(),
                (MAX_METADATA_BYTES as i64).into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<User>> {
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM users WHERE tenant_id = ?1 AND id = ?2"),
            &[tenant.as_str().into(), id.into()],
        )
        .await?;
    rows.first().map(User::from_row).transpose()
}

/// The user with this email and their password hash, if any.
pub async fn find_by_email<H: Host>(
    host: &H,
    tenant: &TenantId,
    email: &str,
) -> Result<Option<(User, Option<String>)>> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS}, password_hash FROM users WHERE tenant_id = ?1 AND email = ?2"),
            &[tenant.as_str().into(), email.into()],
        )
        .await?;
    match rows.first() {
        Some(r) => Ok(Some((User::from_row(r)?, r.opt_text("password_hash")?))),
        None => Ok(None),
    }
}

/// One page of users ordered by id; `after` is the last id of the previous
/// page (the cursor), `email` an exact (case-insensitive) filter.
pub async fn list<H: Host>(
    host: &H,
    tenant: &TenantId,
    email: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<User>> {
    let email = email.map(|e| e.trim().to_lowercase());
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT {COLUMNS} FROM users WHERE tenant_id = ?1 AND id > ?2 AND (?3 IS NULL OR email = ?3)
                 ORDER BY id LIMIT ?4"
            ),
            &[tenant.as_str().into(), after.unwrap_or("").into(), email.into(), Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter().map(User::from_row).collect()
}

/// One page of users whose email starts with `prefix` (case-insensitive),
/// ordered by email; `after` is the last email of the previous page. The
/// range on `(tenant_id, email)` is served by the unique index.
pub async fn search<H: Host>(
    host: &H,
    tenant: &TenantId,
    prefix: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<User>> {
    let prefix = prefix.trim().to_lowercase();
    // Every string with the prefix sorts below prefix + U+10FFFF.
    let upper = format!("{prefix}\u{10FFFF}");
    let from = after.map(str::to_owned).unwrap_or_default();
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT {COLUMNS} FROM users WHERE tenant_id = ?1 AND email >= ?2 AND email < ?3 AND email > ?4
                 ORDER BY email LIMIT ?5"
            ),
            &[tenant.as_str().into(), prefix.into(), upper.into(), from.into(), Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter().map(User::from_row).collect()
}

#[derive(Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<Option<String>>,
    pub password: Option<Secret<String>>,
    pub blocked: Option<bool>,
    pub is_admin: Option<bool>,
}

/// A patch applied: the user as it will be, the statement that writes it,
/// and whether it changes a credential (a new password, or a block), after
/// which every session and grant of the user must end
/// (`usecases::account::update_user` does both in one batch).
pub struct Patched {
    pub user: User,
    pub statement: Statement,
    pub ends_grants: bool,
}

/// Validates a patch against the current user.
pub fn patch<H: Host>(host: &H, tenant: &TenantId, user: &User, patch: UserPatch) -> Result<Patched> {
    let mut next = user.clone();
    if let Some(e) = patch.email {
        let e = normalize_email(&e)?;
        if e != user.email {
            next.email = e;
            // A new address is unverified unless the caller says otherwise.
            next.email_verified = false;
        }
    }
    if let Some(v) = patch.email_verified {
        next.email_verified = v;
    }
    if let Some(n) = patch.name {
        next.name = n.as_deref().map(validate_display_name).transpose()?.filter(|n| !n.is_empty());
    }
    if let Some(b) = patch.blocked {
        next.blocked = b;
    }
    if let Some(a) = patch.is_admin {
        next.is_admin = a;
    }
    let hash = patch.password.as_ref().map(|p| password::hash(p, host.random_bytes::<16>())).transpose()?;
    next.updated_at = host.now();
    let ends_grants = hash.is_some() || (next.blocked && !user.blocked);
    let statement = Statement::new(
        "UPDATE users SET email = ?1, email_verified = ?2, name = ?3, blocked = ?4, updated_at = ?5,
                password_hash = COALESCE(?6, password_hash), is_admin = ?9
         WHERE tenant_id = ?7 AND id = ?8",
        vec![
            next.email.clone().into(),
            next.email_verified.into(),
            next.name.clone().into(),
            next.blocked.into(),
            next.updated_at.into(),
            hash.into(),
            tenant.as_str().into(),
            user.id.as_str().into(),
            next.is_admin.into(),
        ],
    );
    Ok(Patched { user: next, statement, ends_grants })
}

/// The statement that sets a new password hash from a reset link; following
/// the link proves control of the address, so it is verified too.
pub fn reset_password_statement(tenant: &TenantId, user: &UserId, hash: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE users SET password_hash = ?1, email_verified = 1, updated_at = ?2 WHERE tenant_id = ?3 AND id = ?4",
        vec![hash.into(), now.into(), tenant.as_str().into(), user.as_str().into()],
    )
}

pub async fn delete<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute("DELETE FROM users WHERE tenant_id = ?1 AND id = ?2", &[tenant.as_str().into(), id.into()])
        .await?;
    Ok(n > 0)
}

/// Replaces the password hash with a stronger one of the same password
/// (rehash on login).
pub async fn set_password_hash<H: Host>(host: &H, tenant: &TenantId, user: &UserId, hash: &str) -> Result<()> {
    host.db()
        .execute(
            "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE tenant_id = ?3 AND id = ?4",
            &[hash.into(), host.now().into(), tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    Ok(())
}

pub async fn mark_verified<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<()> {
    host.db()
        .execute(
            "UPDATE users SET email_verified = 1, updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
            &[host.now().into(), tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    Ok(())
}

pub async fn record_login<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<()> {
    host.db()
        .execute(
            "UPDATE users SET last_login_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
            &[host.now().into(), tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(normalize_email("  Ana@Example.COM ").unwrap(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@example.com", "ana@example", "a b@example.com", "ana@.com", "ana@example..com"]
        {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
