//! ES256 on the native host through ring, as the Worker signs through
//! workerd's `node:crypto`: the portable P-256 arithmetic of the `p256`
//! crate spends about 0.28 ms a signature here (most of a token request,
//! see `native/benches/token.rs`); ring's fixed-base tables and assembly a
//! small fraction of that.
//!
//! A ring key pair is built once per signing key (building one checks the
//! public point, which costs a scalar multiplication) and kept in a small
//! process-wide map under the SHA-256 of the private scalar; the scalar
//! itself stays inside ring's key pair.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use p256::ecdsa::{SigningKey, VerifyingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING};

/// Signing keys are few (one active per tenant, plus the platform's); the
/// bound only keeps a long-lived process with many tenants from growing.
const MAX_PAIRS: usize = 1024;

type Pairs = Mutex<HashMap<[u8; 32], Arc<EcdsaKeyPair>>>;

fn pairs() -> &'static Pairs {
    static PAIRS: OnceLock<Pairs> = OnceLock::new();
    PAIRS.get_or_init(Pairs::default)
}

fn pair(key: &SigningKey) -> Result<Arc<EcdsaKeyPair>, String> {
    let scalar = key.to_bytes();
    let id = tessera_core::crypto::sha256(&scalar);
    let mut map = pairs().lock().map_err(|_| "the key cache is poisoned".to_string())?;
    if let Some(p) = map.get(&id) {
        return Ok(p.clone());
    }
    let public = key.verifying_key().to_encoded_point(false);
    let p = EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &scalar,
        public.as_bytes(),
        &SystemRandom::new(),
    )
    .map_err(|e| format!("ring refused the key: {e}"))?;
    let p = Arc::new(p);
    if map.len() >= MAX_PAIRS {
        map.clear();
    }
    map.insert(id, p.clone());
    Ok(p)
}

/// An ES256 signature (`R || S`, RFC 7518 §3.4) of `message`.
pub fn sign(key: &SigningKey, message: &[u8]) -> Result<[u8; 64], String> {
    let sig = pair(key)?.sign(&SystemRandom::new(), message).map_err(|e| format!("ring could not sign: {e}"))?;
    sig.as_ref().try_into().map_err(|_| "ring's signature is not 64 bytes".to_string())
}

/// Checks an ES256 `R || S` signature; anything but a valid one fails.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    let point = key.to_encoded_point(false);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.as_bytes()).verify(message, signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::{Signer, Verifier};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    #[test]
    fn ring_and_p256_agree_on_es256() {
        let k = key(7);
        let msg = b"header.payload";
        // ring signs, p256 verifies...
        let sig = sign(&k, msg).unwrap();
        let parsed = p256::ecdsa::Signature::from_slice(&sig).unwrap();
        assert!(k.verifying_key().verify(msg, &parsed).is_ok());
        // ...and the other way round.
        let theirs: p256::ecdsa::Signature = k.sign(msg);
        assert!(verify(k.verifying_key(), msg, &theirs.to_bytes()));
        // A second signature comes from the cached pair and verifies too.
        assert!(verify(k.verifying_key(), msg, &sign(&k, msg).unwrap()));
    }

    #[test]
    fn wrong_signatures_keys_and_messages_fail() {
        let k = key(7);
        let sig = sign(&k, b"m").unwrap();
        assert!(!verify(k.verifying_key(), b"n", &sig));
        assert!(!verify(key(8).verifying_key(), b"m", &sig));
        let mut bent = sig;
        bent[10] ^= 1;
        assert!(!verify(k.verifying_key(), b"m", &bent));
        assert!(!verify(k.verifying_key(), b"m", &sig[..63]));
        assert!(!verify(k.verifying_key(), b"m", &[0u8; 64]));
        // Two keys, two pairs: each signs as itself.
        assert!(!verify(key(8).verifying_key(), b"m", &sign(&k, b"m").unwrap()));
        assert!(verify(key(8).verifying_key(), b"m", &sign(&key(8), b"m").unwrap()));
    }
}
