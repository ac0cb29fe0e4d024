//! Recovery (backup) codes: ten single-use codes of 60 bits each, shown once
//! and stored as Argon2id hashes with the password parameters.
//!
//! One set shares one salt, so a presented code costs one Argon2id hash,
//! compared in constant time with each unused hash of the set; the code
//! itself is taken by a conditional UPDATE of `used_at`. Regenerating
//! replaces the whole set.

use crate::crypto::{ct_eq_str, hex};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::secret::Secret;
use crate::types::{TenantId, UserId};
use crate::users::password;

pub const COUNT: usize = 10;
/// Crockford's base32 alphabet: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 12 characters of 5 bits: 60 bits per code.
const CHARS: usize = 12;

/// A code as the user sees it: `xxxx-xxxx-xxxx`.
fn format_code(raw: &str) -> String {
    raw.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).to_lowercase()).collect::<Vec<_>>().join("-")
}

/// A typed code in canonical form: separators and spaces dropped, case
/// folded, and the letters Crockford maps to digits mapped.
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CHARS);
    for c in typed.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        out.push(c);
    }
    (out.len() == CHARS).then_some(out)
}

fn draw<H: Host>(host: &H) -> String {
    // 5 random bits per character from a byte each (256 is a multiple of 32:
    // no modulo bias).
    host.random_bytes::<CHARS>().iter().map(|b| ALPHABET[(b & 31) as usize] as char).collect()
}

/// Replaces the user's codes with a fresh set; returns the codes to show once.
pub async fn regenerate<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Vec<Secret<String>>> {
    let salt = host.random_bytes::<16>();
    let now = host.now();
    let mut shown = Vec::with_capacity(COUNT);
    let mut stmts = vec![delete_statement(tenant, user)];
    for _ in 0..COUNT {
        let raw = draw(host);
        let hash = password::hash(&Secret::new(raw.clone()), salt)?;
        stmts.push(Statement::new(
            "INSERT INTO mfa_recovery_codes (id, tenant_id, user_id, code_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            vec![
                format!("rc_{}", hex(&host.random_bytes::<10>())).into(),
                tenant.as_str().into(),
                user.as_str().into(),
                hash.into(),
                now.into(),
            ],
        ));
        shown.push(Secret::new(format_code(&raw)));
    }
    host.db().batch(stmts).await?;
    Ok(shown)
}

/// Takes `typed` if it is one of the user's unused codes.
pub async fn redeem<H: Host>(host: &H, tenant: &TenantId, user: &UserId, typed: &str) -> Result<bool> {
    let rows = host
        .db()
        .query(
            "SELECT id, code_hash FROM mfa_recovery_codes WHERE tenant_id = ?1 AND user_id = ?2 AND used_at IS NULL",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    let Some(first) = rows.first() else {
        return Ok(false);
    };
    let Some(code) = normalize(typed) else {
        return Ok(false);
    };
    let Some(hashed) = password::hash_like(&Secret::new(code), &first.text("code_hash")?)? else {
        return Ok(false);
    };
    let mut matched = None;
    for r in &rows {
        if ct_eq_str(&r.text("code_hash")?, &hashed) && matched.is_none() {
            matched = Some(r.text("id")?);
        }
    }
    let Some(id) = matched else {
        return Ok(false);
    };
    let changed = host
        .db()
        .execute(
            "UPDATE mfa_recovery_codes SET used_at = ?4 WHERE id = ?1 AND tenant_id = ?2 AND user_id = ?3 AND used_at IS NULL",
            &[id.into(), tenant.as_str().into(), user.as_str().into(), host.now().into()],
        )
        .await?;
    Ok(changed == 1)
}

/// How many unused codes the user has (none when no set exists).
pub async fn remaining<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<u32> {
    let rows = host
        .db()
        .query(
            "SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE tenant_id = ?1 AND user_id = ?2 AND used_at IS NULL",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0) as u32)
}

pub fn delete_statement(tenant: &TenantId, user: &UserId) -> Statement {
    Statement::new(
        "DELETE FROM mfa_recovery_codes WHERE tenant_id = ?1 AND user_id = ?2",
        vec![tenant.as_str().into(), user.as_str().into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_forgiving_but_exact() {
        assert_eq!(normalize("abcd-efgh-jkmn").as_deref(), Some("ABCDEFGHJKMN"));
        assert_eq!(normalize(" ABCD EFGH JKMN ").as_deref(), Some("ABCDEFGHJKMN"));
        assert_eq!(normalize("o1l0-0000-0000").as_deref(), Some("011000000000"));
        assert_eq!(normalize("abcd-efgh-jkm"), None, "too short");
        assert_eq!(normalize("abcd-efgh-jkmu"), None, "U is not in the alphabet");
        assert_eq!(format_code("ABCDEFGHJKMN"), "abcd-efgh-jkmn");
    }
}
