//! AES-256-GCM envelope encryption of secrets at rest.
//!
//! Each tenant has a data key; the data key is stored wrapped (encrypted) by
//! the deployment's master key, and tenant secrets (signing keys, later TOTP
//! seeds) are encrypted by the data key. A ciphertext names the key that made
//! it (`v1.<key id>.<nonce|ciphertext>`), so the master key can rotate: new
//! wraps use the new key while old ones stay readable until re-wrapped.
//! Associated data binds each ciphertext to its owner (tenant id, key id), so
//! a row copied to another tenant or key does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use super::{b64url, b64url_decode, sha256};
use crate::secret::Secret;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("master key must be 32 bytes, base64 or base64url encoded")]
    BadMasterKey,
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext was made by key {0}, which is not configured")]
    UnknownKey(String),
    #[error("ciphertext failed authentication")]
    Tampered,
}

/// A 256-bit AES key with the id that ciphertexts carry.
#[derive(Clone)]
pub struct SymmetricKey {
    id: String,
    key: Secret<[u8; 32]>,
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymmetricKey({}, [redacted])", self.id)
    }
}

impl SymmetricKey {
    /// A key whose id is derived from its bytes (a short digest prefix), so
    /// the same master key always has the same id on every host.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let id = b64url(&sha256(&bytes))[..10].to_string();
        SymmetricKey { id, key: Secret::new(bytes) }
    }

    /// Parses the master key secret: 32 bytes in base64 (standard or url).
    pub fn parse_master(encoded: &str) -> Result<Self, EnvelopeError> {
        use base64::Engine;
        let t = encoded.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .or_else(|| b64url_decode(t.trim_end_matches('=')))
            .ok_or(EnvelopeError::BadMasterKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| EnvelopeError::BadMasterKey)?;
        Ok(Self::from_bytes(arr))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> &[u8; 32] {
        self.key.expose()
    }

    /// Encrypts `plaintext` bound to `aad`, with a fresh 96-bit `nonce` that
    /// the caller draws from the host's secure RNG.
    pub fn seal(&self, nonce: [u8; 12], plaintext: &[u8], aad: &[u8]) -> String {
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*self.key.expose()));
        let ct = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
            .expect("AES-GCM encryption of in-memory data cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("v1.{}.{}", self.id, b64url(&blob))
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Secret<Vec<u8>>, EnvelopeError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EnvelopeError::Malformed);
        };
        if kid != self.id {
            return Err(EnvelopeError::UnknownKey(kid.to_string()));
        }
        let blob = b64url_decode(body).ok_or(EnvelopeError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(EnvelopeError::Malformed);
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| EnvelopeError::Malformed)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*self.key.expose()));
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
            .map(Secret::new)
            .map_err(|_| EnvelopeError::Tampered)
    }
}

/// The key id a sealed value names, to pick among master keys in rotation.
pub fn sealed_key_id(sealed: &str) -> Option<&str> {
    let mut parts = sealed.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some("v1"), Some(kid)) => Some(kid),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let k = SymmetricKey::from_bytes([7; 32]);
        let sealed = k.seal([1; 12], b"secret scalar", b"tenant-a");
        assert_eq!(sealed_key_id(&sealed), Some(k.id()));
        assert_eq!(k.open(&sealed, b"tenant-a").unwrap().expose(), b"secret scalar");
        // Bound to its owner: the same row under another tenant fails.
        assert_eq!(k.open(&sealed, b"tenant-b").unwrap_err(), EnvelopeError::Tampered);
        // Another key is told apart by id, not by a decryption failure.
        let other = SymmetricKey::from_bytes([8; 32]);
        assert!(matches!(other.open(&sealed, b"tenant-a"), Err(EnvelopeError::UnknownKey(_))));
        assert_eq!(k.open("v1.x", b"").unwrap_err(), EnvelopeError::Malformed);
    }

    #[test]
    fn tampering_detected() {
        let k = SymmetricKey::from_bytes([7; 32]);
        let sealed = k.seal([2; 12], b"abc", b"");
        let mut chars: Vec<char> = sealed.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let bad: String = chars.into_iter().collect();
        assert!(k.open(&bad, b"").is_err());
    }

    #[test]
    fn master_key_parsing() {
        use base64::Engine;
        let enc = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        assert!(SymmetricKey::parse_master(&enc).is_ok());
        assert_eq!(SymmetricKey::parse_master("c2hvcnQ=").unwrap_err(), EnvelopeError::BadMasterKey);
    }
}
