//! Argon2id password hashing (RFC 9106; OWASP's floor of m=19456 KiB, t=2,
//! p=1). The PHC string keeps the parameters, so raising them later works:
//! a login that verifies against weaker parameters rehashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};
use crate::types::Secret;

pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;
/// Longer inputs are refused: hashing is linear in length and the limit keeps
/// a login request from becoming a CPU amplifier.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a 128-bit salt drawn by the caller from the host RNG.
pub fn hash(password: &Secret<String>, salt: [u8; 16]) -> Result<String> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::server(format!("salt: {e}")))?;
    hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::server(format!("argon2: {e}")))
}

/// Hashes `input` with the salt and parameters of `stored` (a PHC string),
/// so it can be compared with a set of hashes sharing that salt (recovery
/// codes) at the cost of one hash. None when `stored` is not a PHC string.
pub fn hash_like(input: &Secret<String>, stored: &str) -> Result<Option<String>> {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Ok(None);
    };
    let (Some(salt), Ok(params)) = (parsed.salt, Params::try_from(&parsed)) else {
        return Ok(None);
    };
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(input.expose().as_bytes(), salt)
        .map(|h| Some(h.to_string()))
        .map_err(|e| Error::server(format!("argon2: {e}")))
}

/// A hash with today's parameters whose password nobody knows. Verifying
/// against it when an account does not exist costs the same time as a real
/// verification, so response time does not reveal which emails have accounts.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYWR1bW15c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Correct, and the stored hash uses current parameters.
    Ok,
    /// Correct, but the stored hash is weaker than today's policy: rehash.
    OkNeedsRehash,
    Wrong,
}

pub fn verify(password: &Secret<String>, stored: Option<&str>) -> Verified {
    let Some(stored) = stored else {
        let _ = verify_phc(password, DUMMY_HASH);
        return Verified::Wrong;
    };
    verify_phc(password, stored)
}

fn verify_phc(password: &Secret<String>, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::Wrong;
    };
    // The verifier reads algorithm and parameters from the PHC string.
    if Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_err() {
        return Verified::Wrong;
    }
    let weaker = match Params::try_from(&parsed) {
        Ok(p) => {
            parsed.algorithm.as_str() != "argon2id"
                || p.m_cost() < M_COST_KIB
                || p.t_cost() < T_COST
                || p.p_cost() < P_COST
        }
        Err(_) => true,
    };
    if weaker {
        Verified::OkNeedsRehash
    } else {
        Verified::Ok
    }
}

/// NIST SP 800-63B §5.1.1.2: a minimum length, a generous maximum, and no
/// composition rules.
pub fn check_policy(password: &str, min_len: u32) -> Result<()> {
    let chars = password.chars().count();
    if chars < min_len as usize {
        return Err(Error::bad_request(format!("password must be at least {min_len} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::bad_request(format!("password must be at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Secret<String> {
        Secret::new(v.to_string())
    }

    #[test]
    fn hash_and_verify() {
        let h = hash(&s("correct horse"), [5; 16]).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(verify(&s("correct horse"), Some(&h)), Verified::Ok);
        assert_eq!(verify(&s("wrong horse"), Some(&h)), Verified::Wrong);
        assert_eq!(verify(&s("x"), None), Verified::Wrong);
        assert_eq!(verify(&s("x"), Some("not a phc string")), Verified::Wrong);
    }

    #[test]
    fn weaker_parameters_ask_for_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let salt = SaltString::encode_b64(&[1; 16]).unwrap();
        let h = weak.hash_password(b"pw-123456", &salt).unwrap().to_string();
        assert_eq!(verify(&s("pw-123456"), Some(&h)), Verified::OkNeedsRehash);
    }

    #[test]
    fn policy() {
        assert!(check_policy("short", 8).is_err());
        assert!(check_policy("long enough", 8).is_ok());
        assert!(check_policy(&"x".repeat(2000), 8).is_err());
    }
}
