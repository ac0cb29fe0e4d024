//! Authenticator apps: RFC 6238 TOTP with SHA-1, 6 digits, 30-second steps,
//! one step of drift either way (RFC 6238 §5.2), 160-bit secrets (RFC 4226
//! §4 recommends 160).
//!
//! The secret is sealed with the tenant's data key and bound to tenant and
//! user, so a row copied to another user or tenant does not open. A code is
//! taken by one conditional UPDATE that raises the newest accepted step: the
//! same code (or an older one) is refused afterwards, whatever KV says.

use totp_rs::{Algorithm, TOTP};

use crate::crypto::ct_eq_str;
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Statement};
use crate::secret::Secret;
use crate::types::{TenantId, UserId};

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
pub const SECRET_BYTES: usize = 20;
/// Legacy secrets as short as 80 bits (RFC 4226 §4's floor, and what older
/// authenticator setups issued) are accepted on import.
pub const MIN_IMPORT_BYTES: usize = 10;
pub const MAX_IMPORT_BYTES: usize = 64;

fn aad(tenant: &TenantId, user: &UserId) -> Vec<u8> {
    format!("tessera:mfa:totp:{tenant}:{user}").into_bytes()
}

/// The code for `secret` at time step `step`.
pub fn code_at(secret: &[u8], step: u64) -> String {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS, secret.to_vec()).generate(step * STEP_SECONDS)
}

/// The time step, within one of `now_ms`'s, whose code `code` is.
pub fn matching_step(secret: &[u8], code: &str, now_ms: i64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = (now_ms.max(0) as u64) / 1000 / STEP_SECONDS;
    // Compare every candidate (no early exit), so timing tells nothing.
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        if ct_eq_str(&code_at(secret, step), code) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Base32 (RFC 4648, no padding), the form authenticator apps take.
pub fn to_base32(secret: &[u8]) -> String {
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, secret)
}

/// Percent-encodes a URI component (RFC 3986 unreserved characters kept).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `otpauth://` URI authenticator apps scan (Google's Key Uri Format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        pct(issuer),
        pct(account),
        to_base32(secret),
        pct(issuer)
    )
}

/// A user's authenticator app as the account page and API show it.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, serde::Serialize)]
pub struct TotpFactor {
    pub confirmed: bool,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// The user's row, if any.
async fn row<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Option<crate::host::Row>> {
    let rows = host
        .db()
        .query(
            "SELECT secret_sealed, created_at, confirmed_at, last_used_at FROM mfa_totp WHERE tenant_id = ?1 AND user_id = ?2",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    Ok(rows.into_iter().next())
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Option<TotpFactor>> {
    row(host, tenant, user)
        .await?
        .as_ref()
        .map(|r| {
            Ok(TotpFactor {
                confirmed: r.opt_int("confirmed_at")?.is_some(),
                created_at: r.int("created_at")?,
                confirmed_at: r.opt_int("confirmed_at")?,
                last_used_at: r.opt_int("last_used_at")?,
            })
        })
        .transpose()
}

async fn seal<H: Host>(host: &H, tenant: &TenantId, user: &UserId, secret: &[u8]) -> Result<String> {
    let dek = crate::keys::data_key(host, tenant).await?;
    Ok(dek.seal(host.random_bytes::<12>(), secret, &aad(tenant, user)))
}

async fn open<H: Host>(host: &H, tenant: &TenantId, user: &UserId, sealed: &str) -> Result<Secret<Vec<u8>>> {
    let dek = crate::keys::data_key(host, tenant).await?;
    // The error names the key, never the secret.
    dek.open(sealed, &aad(tenant, user)).map_err(|e| Error::server(format!("opening a TOTP secret: {e}")))
}

/// An enrolment in progress: the secret to show once, as text and URI.
pub struct Enrolment {
    pub secret: Secret<Vec<u8>>,
}

/// Starts (or resumes) enrolling an authenticator app: an unconfirmed
/// secret is kept until confirmed, so a page reload shows the same QR code.
/// Refused when an app is already confirmed (remove it first).
pub async fn begin<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Enrolment> {
    if let Some(r) = row(host, tenant, user).await? {
        if r.opt_int("confirmed_at")?.is_some() {
            return Err(Error::conflict("an authenticator app is already set up; remove it first"));
        }
        return Ok(Enrolment { secret: open(host, tenant, user, &r.text("secret_sealed")?).await? });
    }
    let secret = host.random_bytes::<SECRET_BYTES>().to_vec();
    let sealed = seal(host, tenant, user, &secret).await?;
    host.db()
        .execute(
            "INSERT INTO mfa_totp (tenant_id, user_id, secret_sealed, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant_id, user_id) DO NOTHING",
            &[tenant.as_str().into(), user.as_str().into(), sealed.into(), host.now().into()],
        )
        .await?;
    Ok(Enrolment { secret: Secret::new(secret) })
}

/// What a presented code came to.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Verdict {
    Accepted,
    /// Not a code of the secret within one step of now.
    Wrong,
    /// A code of a step already used (a replay, or an older code).
    Replayed,
    /// No (confirmed) authenticator app.
    NotEnrolled,
}

/// Checks `code` and takes it: confirms a pending enrolment when
/// `confirming`, otherwise needs a confirmed app.
pub async fn verify<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    code: &str,
    confirming: bool,
) -> Result<Verdict> {
    let Some(r) = row(host, tenant, user).await? else {
        return Ok(Verdict::NotEnrolled);
    };
    if r.opt_int("confirmed_at")?.is_some() == confirming {
        return Ok(Verdict::NotEnrolled);
    }
    let secret = open(host, tenant, user, &r.text("secret_sealed")?).await?;
    let now = host.now();
    let Some(step) = matching_step(secret.expose(), code, now) else {
        return Ok(Verdict::Wrong);
    };
    // The single-use decision: only a step newer than the last one taken.
    let changed = host
        .db()
        .execute(
            "UPDATE mfa_totp SET last_step = ?3, last_used_at = ?4, confirmed_at = COALESCE(confirmed_at, ?4)
             WHERE tenant_id = ?1 AND user_id = ?2 AND (last_step IS NULL OR last_step < ?3)",
            &[tenant.as_str().into(), user.as_str().into(), (step as i64).into(), now.into()],
        )
        .await?;
    Ok(if changed == 1 { Verdict::Accepted } else { Verdict::Replayed })
}

/// Removes the user's authenticator app; whether there was one.
pub async fn remove<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<bool> {
    Ok(host.db().execute(delete_sql(), &[tenant.as_str().into(), user.as_str().into()]).await? > 0)
}

fn delete_sql() -> &'static str {
    "DELETE FROM mfa_totp WHERE tenant_id = ?1 AND user_id = ?2"
}

pub fn delete_statement(tenant: &TenantId, user: &UserId) -> Statement {
    Statement::new(delete_sql(), vec![tenant.as_str().into(), user.as_str().into()])
}

/// How an imported secret is written.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base32,
    Base64,
}

/// Decodes a legacy secret: base32 as apps show it (any case, spaces or
/// dashes between groups, padding optional) or base64 (standard or URL
/// alphabet, padding optional).
pub fn decode_legacy(text: &str, encoding: Encoding) -> Result<Secret<Vec<u8>>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let bytes = match encoding {
        Encoding::Base32 => {
            let upper = compact.trim_end_matches('=').to_ascii_uppercase();
            base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &upper)
        }
        Encoding::Base64 => {
            use base64::Engine;
            let unpadded = compact.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .ok()
                .or_else(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded).ok())
        }
    };
    let bytes = bytes.ok_or_else(|| Error::bad_request(format!("secret is not valid {encoding:?}").to_lowercase()))?;
    if !(MIN_IMPORT_BYTES..=MAX_IMPORT_BYTES).contains(&bytes.len()) {
        return Err(Error::bad_request(format!(
            "secret must decode to {MIN_IMPORT_BYTES}-{MAX_IMPORT_BYTES} bytes (80-512 bits)"
        )));
    }
    Ok(Secret::new(bytes))
}

/// Imports a secret already in use by the user's app (from an older
/// system): encrypted on the way in and confirmed, replacing any app.
pub async fn import<H: Host>(host: &H, tenant: &TenantId, user: &UserId, secret: &Secret<Vec<u8>>) -> Result<()> {
    let sealed = seal(host, tenant, user, secret.expose()).await?;
    let now = host.now();
    host.db()
        .batch(vec![
            delete_statement(tenant, user),
            Statement::new(
                "INSERT INTO mfa_totp (tenant_id, user_id, secret_sealed, created_at, confirmed_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                vec![tenant.as_str().into(), user.as_str().into(), sealed.into(), now.into()],
            ),
        ])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (the 8-digit values' last six digits).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59u64, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(secret, t / STEP_SECONDS), code, "t={t}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way() {
        let secret = b"12345678901234567890";
        let now_ms = 1_111_111_111_000;
        let step = 1_111_111_111 / STEP_SECONDS;
        for s in [step - 1, step, step + 1] {
            assert_eq!(matching_step(secret, &code_at(secret, s), now_ms), Some(s));
        }
        assert_eq!(matching_step(secret, &code_at(secret, step + 2), now_ms), None);
        assert_eq!(matching_step(secret, &code_at(secret, step - 2), now_ms), None);
        assert_eq!(matching_step(secret, "12345", now_ms), None);
        assert_eq!(matching_step(secret, "abcdef", now_ms), None);
    }

    #[test]
    fn legacy_secrets_in_both_encodings() {
        let raw = b"12345678901234567890";
        let b32 = to_base32(raw);
        let spaced = b32
            .to_ascii_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(decode_legacy(&spaced, Encoding::Base32).unwrap().expose(), raw);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(decode_legacy(&b64, Encoding::Base64).unwrap().expose(), raw);
        assert!(decode_legacy("!!!", Encoding::Base32).is_err());
        assert!(decode_legacy("AAAA", Encoding::Base32).is_err(), "too short");
    }

    #[test]
    fn uri_has_the_parameters_apps_read() {
        let uri = otpauth_uri(b"12345678901234567890", "Acme Inc", "ana@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Inc:ana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30"
        );
    }
}
