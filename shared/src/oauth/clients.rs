//! OAuth clients of a tenant: confidential or public, exact-match redirect
//! URIs, allowed grant types, scopes and audiences, token lifetimes and the
//! refresh policy.
//!
//! Secrets are 256-bit random values shown once, stored as SHA-256 digests
//! and compared in constant time. Rotation adds a new secret and lets the old
//! one work until the end of an overlap window.

use serde::{Deserialize, Serialize};

use crate::crypto::{b64url, ct_eq, hex, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row, Statement, Value};
use crate::types::{Secret, TenantId};

pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
pub const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub client_type: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub require_pkce: bool,
    pub first_party: bool,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    /// Inactivity lifetime: each rotation gives the new token this long.
    pub refresh_token_ttl: i64,
    /// Absolute lifetime: no refresh token of a grant lives past the grant's
    /// time plus this, however often it rotates.
    pub refresh_token_absolute_ttl: i64,
    pub refresh_grace_seconds: i64,
    /// This client's MFA policy, or `inherit` for the tenant's.
    pub mfa_policy: ClientMfaPolicy,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A client's MFA policy: the tenant's (`inherit`) or its own.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClientMfaPolicy {
    #[default]
    Inherit,
    Never,
    Optional,
    Required,
}

impl ClientMfaPolicy {
    /// The policy in force for this client in a tenant whose policy is `tenant`.
    pub fn resolve(self, tenant: crate::mfa::Policy) -> crate::mfa::Policy {
        use crate::mfa::Policy;
        match self {
            ClientMfaPolicy::Inherit => tenant,
            ClientMfaPolicy::Never => Policy::Never,
            ClientMfaPolicy::Optional => Policy::Optional,
            ClientMfaPolicy::Required => Policy::Required,
        }
    }

    fn column(self) -> Value {
        match self {
            ClientMfaPolicy::Inherit => Value::Null,
            ClientMfaPolicy::Never => "never".into(),
            ClientMfaPolicy::Optional => "optional".into(),
            ClientMfaPolicy::Required => "required".into(),
        }
    }

    fn from_column(v: Option<&str>) -> Self {
        match v {
            Some("never") => ClientMfaPolicy::Never,
            Some("optional") => ClientMfaPolicy::Optional,
            Some("required") => ClientMfaPolicy::Required,
            _ => ClientMfaPolicy::Inherit,
        }
    }
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.client_type == "public"
    }

    pub fn allows_grant(&self, g: &str) -> bool {
        self.grant_types.iter().any(|x| x == g)
    }

    /// RFC 9700 §2.1.1: public clients must use PKCE; others when required.
    pub fn pkce_required(&self) -> bool {
        self.is_public() || self.require_pkce
    }

    fn from_row(r: &Row) -> Result<Self> {
        let list = |c: &str| -> Result<Vec<String>> {
            serde_json::from_str(&r.text(c)?).map_err(|e| Error::server(format!("{c}: {e}")))
        };
        Ok(Client {
            client_id: r.text("id")?,
            name: r.text("name")?,
            client_type: r.text("client_type")?,
            token_endpoint_auth_method: r.text("token_endpoint_auth_method")?,
            redirect_uris: list("redirect_uris")?,
            post_logout_redirect_uris: list("post_logout_redirect_uris")?,
            grant_types: list("grant_types")?,
            scopes: list("scopes")?,
            audiences: list("audiences")?,
            require_pkce: r.bool("require_pkce")?,
            first_party: r.bool("first_party")?,
            access_token_ttl: r.int("access_token_ttl")?,
            id_token_ttl: r.int("id_token_ttl")?,
            refresh_token_ttl: r.int("refresh_token_ttl")?,
            refresh_token_absolute_ttl: r.int("refresh_token_absolute_ttl")?,
            refresh_grace_seconds: r.int("refresh_grace_seconds")?,
            mfa_policy: ClientMfaPolicy::from_column(r.opt_text("mfa_policy")?.as_deref()),
            created_at: r.int("created_at")?,
            updated_at: r.int("updated_at")?,
        })
    }
}

const COLUMNS: &str = "id, name, client_type, token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, \
    grant_types, scopes, audiences, require_pkce, first_party, access_token_ttl, id_token_ttl, refresh_token_ttl, \
    refresh_token_absolute_ttl, refresh_grace_seconds, mfa_policy, created_at, updated_at";

/// What an admin sends to create or update a client. Absent fields keep
/// their current (or default) value.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub name: Option<String>,
    pub client_type: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    pub require_pkce: Option<bool>,
    pub first_party: Option<bool>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub refresh_token_absolute_ttl: Option<i64>,
    pub refresh_grace_seconds: Option<i64>,
    pub mfa_policy: Option<ClientMfaPolicy>,
}

/// A redirect URI as RFC 6749 §3.1.2 and RFC 9700 §2.1 want it: absolute, no
/// fragment, https except for loopback (RFC 8252 §7.3) or a private-use
/// scheme for native apps (RFC 8252 §7.1), no wildcards.
pub fn validate_redirect_uri(uri: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_request(format!("redirect URI '{uri}' is not allowed: {why}")));
    if uri.len() > 2000 || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("it must be at most 2000 characters without spaces");
    }
    if uri.contains('#') {
        return bad("it must not have a fragment");
    }
    if uri.contains('*') {
        return bad("wildcards are not supported; register each URI exactly");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return bad("it must be absolute");
    };
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "https" => {
            if !rest.starts_with("//") || rest.len() <= 2 {
                return bad("it must have a host");
            }
            Ok(())
        }
        "http" => {
            let host = rest.trim_start_matches("//").split(['/', '?']).next().unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if crate::types::is_loopback(host) {
                Ok(())
            } else {
                bad("plain http is only allowed for loopback addresses")
            }
        }
        "javascript" | "data" | "file" | "vbscript" => bad("this scheme is not allowed"),
        s if s.contains('.') && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) => Ok(()),
        _ => bad("use https, loopback http or a reverse-domain private-use scheme"),
    }
}

/// The scopes a new client gets when none are given.
pub fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access"].map(String::from).to_vec()
}

struct Validated {
    name: String,
    client_type: String,
    auth_method: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    audiences: Vec<String>,
    require_pkce: bool,
    first_party: bool,
    access_token_ttl: i64,
    id_token_ttl: i64,
    refresh_token_ttl: i64,
    refresh_token_absolute_ttl: i64,
    refresh_grace_seconds: i64,
    mfa_policy: ClientMfaPolicy,
}

fn validate(spec: ClientSpec, current: Option<&Client>) -> Result<Validated> {
    let name = match (&spec.name, current) {
        (Some(n), _) => crate::tenant::validate_name(n)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(Error::bad_request("name is required")),
    };
    let client_type = spec.client_type.or(current.map(|c| c.client_type.clone())).unwrap_or("confidential".into());
    if !["confidential", "public"].contains(&client_type.as_str()) {
        return Err(Error::bad_request("client_type must be confidential or public"));
    }
    if current.is_some_and(|c| c.client_type != client_type) {
        return Err(Error::bad_request("client_type cannot change; create a new client"));
    }
    let default_method = if client_type == "public" { "none" } else { "client_secret_basic" };
    let auth_method = spec
        .token_endpoint_auth_method
        .or(current.map(|c| c.token_endpoint_auth_method.clone()))
        .unwrap_or(default_method.into());
    if !AUTH_METHODS.contains(&auth_method.as_str()) {
        return Err(Error::bad_request(
            "token_endpoint_auth_method must be client_secret_basic, client_secret_post or none",
        ));
    }
    if (client_type == "public") != (auth_method == "none") {
        return Err(Error::bad_request(
            "public clients use token_endpoint_auth_method none; confidential clients a secret",
        ));
    }
    let redirect_uris = spec.redirect_uris.or(current.map(|c| c.redirect_uris.clone())).unwrap_or_default();
    let post_logout_redirect_uris =
        spec.post_logout_redirect_uris.or(current.map(|c| c.post_logout_redirect_uris.clone())).unwrap_or_default();
    for u in redirect_uris.iter().chain(&post_logout_redirect_uris) {
        validate_redirect_uri(u)?;
    }
    if redirect_uris.len() > 50 || post_logout_redirect_uris.len() > 50 {
        return Err(Error::bad_request("at most 50 redirect URIs of each kind"));
    }
    let grant_types = spec
        .grant_types
        .or(current.map(|c| c.grant_types.clone()))
        .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    for g in &grant_types {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(Error::bad_request(format!("unsupported grant type '{g}'")));
        }
    }
    if client_type == "public" && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(Error::bad_request("public clients cannot use client_credentials"));
    }
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(Error::bad_request("authorization_code needs at least one redirect URI"));
    }
    let scopes = spec.scopes.or(current.map(|c| c.scopes.clone())).unwrap_or_else(default_scopes);
    for s in &scopes {
        super::scopes::validate_scope_token(s)?;
    }
    let audiences = spec.audiences.or(current.map(|c| c.audiences.clone())).unwrap_or_default();
    let ttl = |v: Option<i64>, cur: Option<i64>, def: i64, max: i64, what: &str| -> Result<i64> {
        let v = v.or(cur).unwrap_or(def);
        if (60..=max).contains(&v) {
            Ok(v)
        } else {
            Err(Error::bad_request(format!("{what} must be from 60 to {max} seconds")))
        }
    };
    let access_token_ttl =
        ttl(spec.access_token_ttl, current.map(|c| c.access_token_ttl), 3600, 86400, "access_token_ttl")?;
    let id_token_ttl = ttl(spec.id_token_ttl, current.map(|c| c.id_token_ttl), 3600, 86400, "id_token_ttl")?;
    let refresh_token_ttl = ttl(
        spec.refresh_token_ttl,
        current.map(|c| c.refresh_token_ttl),
        30 * 86400,
        365 * 86400,
        "refresh_token_ttl",
    )?;
    let refresh_token_absolute_ttl = ttl(
        spec.refresh_token_absolute_ttl,
        current.map(|c| c.refresh_token_absolute_ttl),
        90 * 86400,
        365 * 86400,
        "refresh_token_absolute_ttl",
    )?;
    let refresh_grace_seconds = spec.refresh_grace_seconds.or(current.map(|c| c.refresh_grace_seconds)).unwrap_or(0);
    if !(0..=300).contains(&refresh_grace_seconds) {
        return Err(Error::bad_request("refresh_grace_seconds must be from 0 to 300"));
    }
    Ok(Validated {
        name,
        client_type,
        auth_method,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        audiences,
        require_pkce: spec.require_pkce.or(current.map(|c| c.require_pkce)).unwrap_or(true),
        first_party: spec.first_party.or(current.map(|c| c.first_party)).unwrap_or(false),
        access_token_ttl,
        id_token_ttl,
        refresh_token_ttl,
        refresh_token_absolute_ttl,
        refresh_grace_seconds,
        mfa_policy: spec.mfa_policy.or(current.map(|c| c.mfa_policy)).unwrap_or_default(),
    })
}

/// The columns an update may change, in the order of [`editable_params`].
const EDITABLE: &str = "name, token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, grant_types, \
    scopes, audiences, require_pkce, first_party, access_token_ttl, id_token_ttl, refresh_token_ttl, \
    refresh_grace_seconds, refresh_token_absolute_ttl, mfa_policy";

fn editable_params(v: &Validated) -> Vec<Value> {
    vec![
        v.name.clone().into(),
        v.auth_method.clone().into(),
        json_list(&v.redirect_uris),
        json_list(&v.post_logout_redirect_uris),
        json_list(&v.grant_types),
        json_list(&v.scopes),
        json_list(&v.audiences),
        v.require_pkce.into(),
        v.first_party.into(),
        v.access_token_ttl.into(),
        v.id_token_ttl.into(),
        v.refresh_token_ttl.into(),
        v.refresh_grace_seconds.into(),
        v.refresh_token_absolute_ttl.into(),
        v.mfa_policy.column(),
    ]
}

fn json_list(v: &[String]) -> Value {
    serde_json::to_string(v).expect("strings serialize").into()
}

fn new_secret<H: Host>(host: &H) -> Secret<String> {
    Secret::new(b64url(&host.random_bytes::<32>()))
}

fn secret_insert<H: Host>(host: &H, tenant: &TenantId, client_id: &str, secret: &Secret<String>) -> Statement {
    Statement::new(
        "INSERT INTO oauth_client_secrets (id, tenant_id, client_id, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        vec![
            format!("sec_{}", hex(&host.random_bytes::<10>())).into(),
            tenant.as_str().into(),
            client_id.into(),
            token_hash(secret.expose()).into(),
            host.now().into(),
        ],
    )
}

/// Creates a client; a confidential one comes with its secret (shown once).
pub async fn create<H: Host>(
    host: &H,
    tenant: &TenantId,
    spec: ClientSpec,
) -> Result<(Client, Option<Secret<String>>)> {
    let v = validate(spec, None)?;
    let id = b64url(&host.random_bytes::<16>());
    let now = host.now();
    // The editable columns, in `EDITABLE` order, then what only creation sets.
    let mut params = editable_params(&v);
    params.extend([tenant.as_str().into(), id.clone().into(), v.client_type.clone().into(), now.into()]);
    let mut stmts = vec![Statement::new(
        format!(
            "INSERT INTO oauth_clients ({EDITABLE}, tenant_id, id, client_type, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19)"
        ),
        params,
    )];
    let secret = (v.client_type == "confidential").then(|| new_secret(host));
    if let Some(s) = &secret {
        stmts.push(secret_insert(host, tenant, &id, s));
    }
    host.db().batch(stmts).await?;
    let client = get(host, tenant, &id).await?.ok_or_else(|| Error::server("client vanished after insert"))?;
    Ok((client, secret))
}

/// How long an isolate reuses a client it authenticated (with its secrets'
/// digests and their ends). Changes made here are seen at once; a secret cut
/// short through another isolate keeps authenticating there for at most this
/// long (a deleted client too, though it gets no token: its token records
/// need the row). A secret's own expiry is checked on every use.
const CLIENT_CACHE_MS: i64 = 5_000;

/// A secret digest and when it stops working (none: until rotated).
type SecretDigest = (String, Option<i64>);

thread_local! {
    // Per "tenant/client_id".
    static CLIENTS: crate::cache::TtlCache<(Client, Vec<SecretDigest>)> =
        const { crate::cache::TtlCache::new(CLIENT_CACHE_MS) };
}

fn cache_key(tenant: &TenantId, client_id: &str) -> String {
    format!("{tenant}/{client_id}")
}

/// Called after a write commits: forgetting before it would let a request
/// that reads meanwhile cache the old row again.
fn forget(tenant: &TenantId, client_id: &str) {
    CLIENTS.with(|c| c.forget(&cache_key(tenant, client_id)));
}

/// A client with the digests of its live secrets, in one read (the token
/// endpoint's hot path), remembered for [`CLIENT_CACHE_MS`].
pub async fn get_with_secrets<H: Host>(
    host: &H,
    tenant: &TenantId,
    client_id: &str,
) -> Result<Option<(Client, Vec<String>)>> {
    let now = host.now();
    let key = cache_key(tenant, client_id);
    let live = |secrets: Vec<SecretDigest>| -> Vec<String> {
        secrets.into_iter().filter(|(_, exp)| exp.is_none_or(|e| e > now)).map(|(d, _)| d).collect()
    };
    if let Some((client, secrets)) = CLIENTS.with(|c| c.get(&key, now)) {
        return Ok(Some((client, live(secrets))));
    }
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT {COLUMNS}, (SELECT json_group_array(json_array(secret_hash, expires_at)) FROM oauth_client_secrets s
                   WHERE s.tenant_id = c.tenant_id AND s.client_id = c.id AND (s.expires_at IS NULL OR s.expires_at > ?3)) AS secrets
                 FROM oauth_clients c WHERE c.tenant_id = ?1 AND c.id = ?2"
            ),
            &[tenant.as_str().into(), client_id.into(), now.into()],
        )
        .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let secrets: Vec<SecretDigest> = serde_json::from_str(&r.text("secrets")?).unwrap_or_default();
    let client = Client::from_row(r)?;
    CLIENTS.with(|c| c.put(key, now, (client.clone(), secrets.clone())));
    Ok(Some((client, live(secrets))))
}

/// Whether `presented` matches one of `digests`; every digest is compared,
/// in constant time each. Both sides are digests of one fixed length, so
/// they are compared directly, not through `ct_eq_str`'s two further
/// SHA-256s that hide a length (a comparison that fails on length alone
/// tells nothing about the secret either: its digest is always that long).
pub fn secret_matches(digests: &[String], presented: &str) -> bool {
    let digest = token_hash(presented);
    digests.iter().fold(false, |ok, d| ok | ct_eq(d.as_bytes(), digest.as_bytes()))
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, client_id: &str) -> Result<Option<Client>> {
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM oauth_clients WHERE tenant_id = ?1 AND id = ?2"),
            &[tenant.as_str().into(), client_id.into()],
        )
        .await?;
    rows.first().map(Client::from_row).transpose()
}

pub async fn list<H: Host>(host: &H, tenant: &TenantId, after: Option<&str>, limit: u32) -> Result<Vec<Client>> {
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM oauth_clients WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
            &[tenant.as_str().into(), after.unwrap_or("").into(), Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter().map(Client::from_row).collect()
}

pub async fn update<H: Host>(host: &H, tenant: &TenantId, current: &Client, spec: ClientSpec) -> Result<Client> {
    let v = validate(spec, Some(current))?;
    let mut params = editable_params(&v);
    params.extend([host.now().into(), tenant.as_str().into(), current.client_id.clone().into()]);
    host.db()
        .execute(
            "UPDATE oauth_clients SET name = ?1, token_endpoint_auth_method = ?2, redirect_uris = ?3,
               post_logout_redirect_uris = ?4, grant_types = ?5, scopes = ?6, audiences = ?7, require_pkce = ?8,
               first_party = ?9, access_token_ttl = ?10, id_token_ttl = ?11, refresh_token_ttl = ?12,
               refresh_grace_seconds = ?13, refresh_token_absolute_ttl = ?14, mfa_policy = ?15, updated_at = ?16
             WHERE tenant_id = ?17 AND id = ?18",
            &params,
        )
        .await?;
    forget(tenant, &current.client_id);
    get(host, tenant, &current.client_id).await?.ok_or_else(|| Error::not_found("no such client"))
}

pub async fn delete<H: Host>(host: &H, tenant: &TenantId, client_id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute(
            "DELETE FROM oauth_clients WHERE tenant_id = ?1 AND id = ?2",
            &[tenant.as_str().into(), client_id.into()],
        )
        .await?;
    forget(tenant, client_id);
    Ok(n > 0)
}

/// Issues a new secret. Secrets still live keep working for `overlap_secs`
/// more (0 ends them now).
pub async fn rotate_secret<H: Host>(
    host: &H,
    tenant: &TenantId,
    client: &Client,
    overlap_secs: i64,
) -> Result<Secret<String>> {
    if client.is_public() {
        return Err(Error::bad_request("public clients have no secret"));
    }
    if !(0..=30 * 86400).contains(&overlap_secs) {
        return Err(Error::bad_request("overlap_seconds must be from 0 to 2592000"));
    }
    let now = host.now();
    let secret = new_secret(host);
    host.db()
        .batch(vec![
            // Live secrets end at the overlap's end (or earlier, if they
            // already would).
            Statement::new(
                "UPDATE oauth_client_secrets SET expires_at = ?1
                 WHERE tenant_id = ?2 AND client_id = ?3 AND (expires_at IS NULL OR expires_at > ?1)",
                vec![(now + overlap_secs * 1000).into(), tenant.as_str().into(), client.client_id.clone().into()],
            ),
            secret_insert(host, tenant, &client.client_id, &secret),
        ])
        .await?;
    forget(tenant, &client.client_id);
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_any_of_its_live_digests_and_nothing_else() {
        let (old, new) = ("first-secret-of-the-client", "second-secret-after-rotation");
        let digests = vec![token_hash(old), token_hash(new)];
        assert!(secret_matches(&digests, old));
        assert!(secret_matches(&digests, new));
        assert!(!secret_matches(&digests, "another-secret-entirely"));
        assert!(!secret_matches(&digests, ""));
        assert!(!secret_matches(&[], old));
        // A stored value that is not a digest of the same form never matches.
        assert!(!secret_matches(&[token_hash(old)[..20].to_string()], old));
        assert!(!secret_matches(&[old.to_string()], old));
    }

    #[test]
    fn redirect_uris() {
        for ok in
            ["https://app.example.com/cb", "http://127.0.0.1:3000/cb", "http://localhost/cb", "com.example.app:/cb"]
        {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "https://*.example.com/cb",
            "javascript:alert(1)",
            "/relative",
            "https://",
            "https://a.example/ cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
