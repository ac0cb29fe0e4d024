//! Per-tenant ES256 signing keys and the envelope that protects them.
//!
//! Key hierarchy: the master key (a deployment secret) wraps one data key per
//! tenant; the data key encrypts the tenant's private signing keys. Only public
//! JWKs are stored in the clear.
//!
//! Lifecycle: a tenant is created with one `active` key. Scheduled rotation
//! ([`rotation`]) first publishes a `next` key in the JWKS, promotes it to
//! `active` once relying parties have had time to fetch it, and turns the
//! previous key `verify_only`: it stays in the JWKS so tokens it signed keep
//! verifying until the last of them expires, then it is retired and its
//! private half erased. An operator can also rotate and retire by hand.
//! At most one key per tenant is active and one is next (partial unique
//! indexes enforce it).

pub mod rotation;

pub mod jwk;
pub mod jws;

use std::rc::Rc;

use p256::ecdsa::SigningKey;
use serde::Serialize;

use crate::cache::PrebuiltJson;
use crate::crypto::envelope::{sealed_key_id, SymmetricKey};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Kv, Row, Secrets, Statement};
use crate::types::{Secret, TenantId};

pub use jwk::PublicJwk;

/// The master keys of this deployment: `MASTER_KEY` seals, and
/// `MASTER_KEY_PREVIOUS` (during a master-key rotation) still opens.
pub struct MasterKeys {
    current: SymmetricKey,
    previous: Option<SymmetricKey>,
}

impl MasterKeys {
    pub fn load<H: Host>(host: &H) -> Result<Self> {
        let current =
            host.secrets().secret("MASTER_KEY").ok_or_else(|| Error::server("MASTER_KEY secret is not configured"))?;
        let current =
            SymmetricKey::parse_master(current.expose()).map_err(|e| Error::server(format!("MASTER_KEY: {e}")))?;
        let previous = match host.secrets().secret("MASTER_KEY_PREVIOUS") {
            Some(p) if !p.expose().trim().is_empty() => Some(
                SymmetricKey::parse_master(p.expose())
                    .map_err(|e| Error::server(format!("MASTER_KEY_PREVIOUS: {e}")))?,
            ),
            _ => None,
        };
        Ok(MasterKeys { current, previous })
    }

    /// A purpose-bound subkey of the current master key (HMAC-SHA256 as a
    /// PRF, labelled), so one secret does not serve two purposes.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        crate::crypto::hmac_sha256(self.current.bytes(), label)
    }

    /// Seals a deployment-level secret (not tenant data: that goes through
    /// the tenant's data key) directly under the current master key.
    pub fn seal<H: Host>(&self, host: &H, plaintext: &[u8], aad: &[u8]) -> String {
        self.current.seal(host.random_bytes::<12>(), plaintext, aad)
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Secret<Vec<u8>>> {
        self.for_sealed(sealed)?.open(sealed, aad).map_err(|e| Error::server(format!("opening sealed value: {e}")))
    }

    fn for_sealed(&self, sealed: &str) -> Result<&SymmetricKey> {
        let kid = sealed_key_id(sealed).ok_or_else(|| Error::server("malformed wrapped key"))?;
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id() == kid)
            .ok_or_else(|| Error::server(format!("no master key with id {kid} is configured")))
    }
}

fn dek_aad(tenant: &TenantId) -> Vec<u8> {
    format!("tessera:dek:{tenant}").into_bytes()
}

fn signing_aad(tenant: &TenantId, kid: &str) -> Vec<u8> {
    format!("tessera:sig:{tenant}:{kid}").into_bytes()
}

/// A new P-256 private key from the host's RNG. A random 256-bit string is a
/// valid scalar unless it is zero or above the group order (probability about
/// 2^-32), in which case another is drawn.
pub fn generate_signing_key<H: Host>(host: &H) -> SigningKey {
    loop {
        let bytes = host.random_bytes::<32>();
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            return k;
        }
    }
}

/// The statements that give a new tenant its data key and first signing key;
/// the caller runs them in the same batch as the tenant insert.
pub fn new_tenant_key_material<H: Host>(host: &H, tenant: &TenantId) -> Result<Vec<Statement>> {
    let master = MasterKeys::load(host)?;
    let dek = SymmetricKey::from_bytes(host.random_bytes::<32>());
    let wrapped = master.current.seal(host.random_bytes::<12>(), dek.bytes(), &dek_aad(tenant));
    let now = host.now();
    Ok(vec![
        Statement::new(
            "INSERT INTO tenant_data_keys (tenant_id, master_key_id, wrapped_key, created_at) VALUES (?1, ?2, ?3, ?4)",
            vec![tenant.as_str().into(), master.current.id().into(), wrapped.into(), now.into()],
        ),
        new_signing_key_statement(host, tenant, &dek, now, "active"),
    ])
}

pub(crate) fn new_signing_key_statement<H: Host>(
    host: &H,
    tenant: &TenantId,
    dek: &SymmetricKey,
    now: i64,
    status: &str,
) -> Statement {
    let key = generate_signing_key(host);
    let jwk = PublicJwk::from_verifying_key(key.verifying_key());
    let sealed = dek.seal(host.random_bytes::<12>(), &key.to_bytes(), &signing_aad(tenant, &jwk.kid));
    Statement::new(
        "INSERT INTO signing_keys (kid, tenant_id, alg, public_jwk, private_key_enc, status, created_at, activated_at)
         VALUES (?1, ?2, 'ES256', ?3, ?4, ?6, ?5, CASE WHEN ?6 = 'active' THEN ?5 END)",
        vec![
            jwk.kid.clone().into(),
            tenant.as_str().into(),
            jwk.to_json().into(),
            sealed.into(),
            now.into(),
            status.into(),
        ],
    )
}

/// The tenant's data key, unwrapped.
pub async fn data_key<H: Host>(host: &H, tenant: &TenantId) -> Result<SymmetricKey> {
    let rows = host
        .db()
        .query("SELECT wrapped_key FROM tenant_data_keys WHERE tenant_id = ?1", &[tenant.as_str().into()])
        .await?;
    let wrapped = rows.first().ok_or_else(|| Error::server("tenant has no data key"))?.text("wrapped_key")?;
    let master = MasterKeys::load(host)?;
    let bytes = master
        .for_sealed(&wrapped)?
        .open(&wrapped, &dek_aad(tenant))
        .map_err(|e| Error::server(format!("unwrapping data key: {e}")))?;
    let arr: [u8; 32] = bytes.expose().as_slice().try_into().map_err(|_| Error::server("data key length"))?;
    Ok(SymmetricKey::from_bytes(arr))
}

/// Re-wraps up to `limit` tenant data keys still wrapped by a previous master
/// key under the current one; what they encrypt (signing keys, TOTP and
/// sink secrets) is untouched. Run by maintenance, so that after a rotation
/// (`MASTER_KEY` new, `MASTER_KEY_PREVIOUS` old) every data key moves over
/// and the old key can be dropped. Returns how many moved.
pub async fn rewrap_data_keys<H: Host>(host: &H, limit: u32) -> Result<u64> {
    let master = MasterKeys::load(host)?;
    if master.previous.is_none() {
        return Ok(0);
    }
    let rows = host
        .db()
        .query(
            "SELECT tenant_id, wrapped_key FROM tenant_data_keys WHERE master_key_id != ?1 LIMIT ?2",
            &[master.current.id().into(), (limit as i64).into()],
        )
        .await?;
    let mut moved = 0;
    for r in rows {
        let tenant = TenantId(r.text("tenant_id")?);
        let wrapped = r.text("wrapped_key")?;
        let Ok(key) = master.for_sealed(&wrapped) else {
            // Wrapped by a key that is no longer configured: nothing to do here.
            continue;
        };
        let dek =
            key.open(&wrapped, &dek_aad(&tenant)).map_err(|e| Error::server(format!("unwrapping data key: {e}")))?;
        let rewrapped = master.current.seal(host.random_bytes::<12>(), dek.expose(), &dek_aad(&tenant));
        // Conditional on the row being as read: a concurrent run moves it once.
        moved += host
            .db()
            .execute(
                "UPDATE tenant_data_keys SET wrapped_key = ?1, master_key_id = ?2 WHERE tenant_id = ?3 AND wrapped_key = ?4",
                &[rewrapped.into(), master.current.id().into(), tenant.as_str().into(), wrapped.into()],
            )
            .await?;
    }
    Ok(moved)
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub status: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

impl KeyInfo {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(KeyInfo {
            kid: r.text("kid")?,
            alg: r.text("alg")?,
            status: r.text("status")?,
            created_at: r.int("created_at")?,
            retired_at: r.opt_int("retired_at")?,
        })
    }
}

pub async fn list<H: Host>(host: &H, tenant: &TenantId) -> Result<Vec<KeyInfo>> {
    let rows = host
        .db()
        .query(
            "SELECT kid, alg, status, created_at, retired_at FROM signing_keys WHERE tenant_id = ?1 ORDER BY created_at, kid",
            &[tenant.as_str().into()],
        )
        .await?;
    rows.iter().map(KeyInfo::from_row).collect()
}

pub(crate) fn jwks_cache_key(tenant: &TenantId) -> String {
    format!("jwks:{tenant}")
}

/// How long a key keeps verifying after it stops signing: the longest
/// lifetime a token can have (access and ID tokens are capped at a day).
pub const MAX_TOKEN_LIFETIME_MS: i64 = 86_400_000;

/// Makes a new key active now (the published `next` key if there is one);
/// the previous active key keeps verifying until its tokens have expired.
pub async fn rotate<H: Host>(host: &H, tenant: &TenantId) -> Result<KeyInfo> {
    let now = host.now();
    let next = host
        .db()
        .query("SELECT kid FROM signing_keys WHERE tenant_id = ?1 AND status = 'next'", &[tenant.as_str().into()])
        .await?;
    let (kid, insert) = match next.first() {
        Some(r) => (r.text("kid")?, None),
        None => {
            let dek = data_key(host, tenant).await?;
            let insert = new_signing_key_statement(host, tenant, &dek, now, "next");
            let kid = match insert.params.first() {
                Some(crate::host::Value::Text(k)) => k.clone(),
                _ => return Err(Error::server("signing key statement without kid")),
            };
            (kid, Some(insert))
        }
    };
    let mut stmts: Vec<Statement> = insert.into_iter().collect();
    stmts.extend(rotation::promote_statements(tenant, &kid, now));
    host.db().batch(stmts).await?;
    forget_signing_key(tenant);
    forget_jwks(host, tenant).await?;
    Ok(KeyInfo { kid, alg: "ES256".into(), status: "active".into(), created_at: now, retired_at: None })
}

#[derive(Debug, PartialEq, Eq)]
pub enum RetireOutcome {
    Retired,
    NotFound,
    /// The active key signs; rotate first.
    IsActive,
}

/// Retires a `verify_only` key: it leaves the JWKS and its private half is
/// erased, so nothing can sign with it again.
pub async fn retire<H: Host>(host: &H, tenant: &TenantId, kid: &str) -> Result<RetireOutcome> {
    let n = host
        .db()
        .execute(
            "UPDATE signing_keys SET status = 'retired', retired_at = ?1, private_key_enc = ''
             WHERE tenant_id = ?2 AND kid = ?3 AND status = 'verify_only'",
            &[host.now().into(), tenant.as_str().into(), kid.into()],
        )
        .await?;
    if n == 1 {
        forget_signing_key(tenant);
        forget_jwks(host, tenant).await?;
        return Ok(RetireOutcome::Retired);
    }
    let rows = host
        .db()
        .query(
            "SELECT status FROM signing_keys WHERE tenant_id = ?1 AND kid = ?2",
            &[tenant.as_str().into(), kid.into()],
        )
        .await?;
    Ok(match rows.first().map(|r| r.text("status")).transpose()?.as_deref() {
        Some("active") => RetireOutcome::IsActive,
        Some("retired") => RetireOutcome::Retired,
        _ => RetireOutcome::NotFound,
    })
}

/// How long an isolate serves the key set it last read from KV. A rotation
/// publishes the next key a day before it signs, so seconds do not matter;
/// a rotation or retirement through this isolate is seen at once.
const JWKS_CACHE_MS: i64 = 10_000;

thread_local! {
    static JWKS: crate::cache::TtlCache<Rc<PrebuiltJson>> = const { crate::cache::TtlCache::new(JWKS_CACHE_MS) };
}

/// Drops the cached key sets (this isolate's and KV's) after a key change.
pub(crate) async fn forget_jwks<H: Host>(host: &H, tenant: &TenantId) -> Result<()> {
    JWKS.with(|c| c.forget(tenant.as_str()));
    Ok(host.kv().delete(&jwks_cache_key(tenant)).await?)
}

/// The JSON Web Key Set (RFC 7517 §5) of the keys that verify: active and
/// verify-only, serialised once per read. Cached in KV (and for seconds in
/// the isolate, as the bytes served); every change above drops the cached
/// copies.
pub async fn jwks<H: Host>(host: &H, tenant: &TenantId) -> Result<Rc<PrebuiltJson>> {
    let now = host.now();
    if let Some(doc) = JWKS.with(|c| c.get(tenant.as_str(), now)) {
        return Ok(doc);
    }
    let cache_key = jwks_cache_key(tenant);
    if let Some(cached) = host.kv().get(&cache_key).await? {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&cached) {
            let doc = Rc::new(PrebuiltJson::new(&v));
            JWKS.with(|c| c.put(tenant.to_string(), now, doc.clone()));
            return Ok(doc);
        }
    }
    let rows = host
        .db()
        .query(
            "SELECT public_jwk FROM signing_keys WHERE tenant_id = ?1 AND status IN ('next', 'active', 'verify_only')
             ORDER BY status = 'active' DESC, status = 'next' DESC, created_at DESC, kid",
            &[tenant.as_str().into()],
        )
        .await?;
    let doc = Rc::new(PrebuiltJson::new(&jwk_set(&rows)?));
    // The bytes are the document's canonical serialisation.
    host.kv().put(&cache_key, std::str::from_utf8(&doc.body).map_err(|e| Error::server(e.to_string()))?, 60).await?;
    JWKS.with(|c| c.put(tenant.to_string(), now, doc.clone()));
    Ok(doc)
}

/// How long an isolate reuses a decrypted signing key before reading it
/// again. A key rotated elsewhere keeps signing here for at most this long,
/// which is safe: a demoted key stays in the JWKS for a day.
const SIGNING_KEY_CACHE_MS: i64 = 60_000;

thread_local! {
    // Per tenant id: (kid, key).
    static SIGNING_KEYS: crate::cache::TtlCache<(String, SigningKey)> =
        const { crate::cache::TtlCache::new(SIGNING_KEY_CACHE_MS) };
}

pub(crate) fn forget_signing_key(tenant: &TenantId) {
    SIGNING_KEYS.with(|c| c.forget(tenant.as_str()));
}

/// The active private key and its kid, decrypted for signing. Cached in
/// memory for a minute: the token endpoint's hot path then skips two reads
/// and two AES-GCM openings.
pub async fn active_signing_key<H: Host>(host: &H, tenant: &TenantId) -> Result<(String, Secret<SigningKey>)> {
    let now = host.now();
    if let Some((kid, key)) = SIGNING_KEYS.with(|c| c.get(tenant.as_str(), now)) {
        return Ok((kid, Secret::new(key)));
    }
    let (kid, key) = load_active_signing_key(host, tenant).await?;
    SIGNING_KEYS.with(|c| c.put(tenant.to_string(), now, (kid.clone(), key.expose().clone())));
    Ok((kid, key))
}

async fn load_active_signing_key<H: Host>(host: &H, tenant: &TenantId) -> Result<(String, Secret<SigningKey>)> {
    let rows = host
        .db()
        .query(
            "SELECT kid, private_key_enc FROM signing_keys WHERE tenant_id = ?1 AND status = 'active'",
            &[tenant.as_str().into()],
        )
        .await?;
    let row = rows.first().ok_or_else(|| Error::server("tenant has no active signing key"))?;
    let kid = row.text("kid")?;
    let dek = data_key(host, tenant).await?;
    let scalar = dek
        .open(&row.text("private_key_enc")?, &signing_aad(tenant, &kid))
        .map_err(|e| Error::server(format!("decrypting signing key {kid}: {e}")))?;
    let key = SigningKey::from_slice(scalar.expose()).map_err(|_| Error::server("stored signing key is invalid"))?;
    Ok((kid, Secret::new(key)))
}

/// A tenant key that may verify tokens (active or verify-only), by kid.
pub async fn verifying_key<H: Host>(
    host: &H,
    tenant: &TenantId,
    kid: &str,
) -> Result<Option<p256::ecdsa::VerifyingKey>> {
    let rows = host
        .db()
        .query(
            "SELECT public_jwk FROM signing_keys WHERE tenant_id = ?1 AND kid = ?2 AND status IN ('active', 'verify_only')",
            &[tenant.as_str().into(), kid.into()],
        )
        .await?;
    Ok(match rows.first() {
        Some(r) => PublicJwk::parse(&serde_json::from_str(&r.text("public_jwk")?).unwrap_or_default()),
        None => None,
    })
}

/// A JWK Set (RFC 7517 §5) from rows with a `public_jwk` column.
pub fn jwk_set(rows: &[Row]) -> Result<serde_json::Value> {
    let keys = rows
        .iter()
        .map(|r| {
            r.text("public_jwk")
                .map_err(Error::from)
                .and_then(|j| serde_json::from_str(&j).map_err(|e| Error::server(e.to_string())))
        })
        .collect::<Result<Vec<serde_json::Value>>>()?;
    Ok(serde_json::json!({ "keys": keys }))
}
