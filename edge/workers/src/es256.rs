//! ES256 through workerd's `node:crypto`: BoringSSL's ECDSA instead of P-256
//! arithmetic compiled to Wasm, which costs about a millisecond a signature
//! (most of a token request's CPU).
//!
//! `node:crypto` (the `nodejs_compat` flag in wrangler.toml) rather than
//! WebCrypto, because its `sign` and `verify` answer at once where
//! `crypto.subtle`'s return a promise. The signature itself costs the same
//! either way (about 21 µs here, timed in a JavaScript loop), but a promise
//! suspends the request's future in Rust: it costs the promise's callbacks,
//! a microtask, wasm-bindgen's executor waking the task and polling the
//! whole chain of futures again, and the exported `fetch` must answer with a
//! promise of its own. Signed at once, a `client_credentials` token, whose
//! client comes from the isolate's cache, is answered in the export's first
//! poll (see `fetch` in lib.rs).
//!
//! Imported keys are kept per isolate in the core's `TtlCache`, under their
//! public point (the private scalar is held only inside the `KeyObject`,
//! which this module never exports): a key pair's public point names it as
//! well as a digest of its scalar would, and needs no SHA-256 on every
//! signature.

use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use tessera_core::cache::TtlCache;
use tessera_core::crypto::b64url;
use wasm_bindgen::prelude::*;

/// Imported keys are derived from the key bytes, so they never go stale;
/// the window only bounds how long an unused one is kept.
const KEY_CACHE_MS: i64 = 3_600_000;

thread_local! {
    static SIGNING: TtlCache<JsValue> = const { TtlCache::new(KEY_CACHE_MS) };
    static VERIFYING: TtlCache<JsValue> = const { TtlCache::new(KEY_CACHE_MS) };
}

#[wasm_bindgen(inline_js = r#"
// `process.getBuiltinModule` rather than an import, and on first use: an
// isolate loads node:crypto only when it signs or verifies (not for a
// health check or a cached document), and without the flag the module
// still loads and each call says what is missing.
let nodeCrypto;
function nc() {
  nodeCrypto ??= globalThis.process?.getBuiltinModule?.('node:crypto');
  if (nodeCrypto === undefined) throw new Error('node:crypto is not available: wrangler.toml needs compatibility_flags = ["nodejs_compat"]');
  return nodeCrypto;
}
export function tessera_es256_private(d, x, y) {
  return nc().createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d, x, y }, format: 'jwk' });
}
export function tessera_es256_public(x, y) {
  return nc().createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
}
// workerd's sign and verify take a KeyObject only bare, not in an options
// object with `dsaEncoding`, so signatures cross as DER.
export function tessera_es256_sign(key, message) {
  return nc().sign('sha256', message, key);
}
export function tessera_es256_verify(key, message, der) {
  return nc().verify('sha256', message, key, der);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn tessera_es256_private(d: &str, x: &str, y: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn tessera_es256_public(x: &str, y: &str) -> Result<JsValue, JsValue>;
    /// The signature as an ECDSA-Sig-Value in DER (RFC 3279 §2.2.3).
    #[wasm_bindgen(catch)]
    fn tessera_es256_sign(key: &JsValue, message: &[u8]) -> Result<js_sys::Uint8Array, JsValue>;
    #[wasm_bindgen(catch)]
    fn tessera_es256_verify(key: &JsValue, message: &[u8], der: &[u8]) -> Result<bool, JsValue>;
}

/// The imported key for the public point `point`, importing it on first
/// use.
fn cached(
    cache: &'static std::thread::LocalKey<TtlCache<JsValue>>,
    point: &p256::EncodedPoint,
    import: impl FnOnce(&str, &str) -> Result<JsValue, JsValue>,
) -> Result<JsValue, JsValue> {
    let id = b64url(point.as_bytes());
    let now = js_sys::Date::now() as i64;
    if let Some(k) = cache.with(|c| c.get(&id, now)) {
        return Ok(k);
    }
    let (x, y) = (point.x().ok_or("identity point")?, point.y().ok_or("identity point")?);
    let k = import(&b64url(x), &b64url(y))?;
    cache.with(|c| c.put(id, now, k.clone()));
    Ok(k)
}

/// The 64-byte `R || S`, the form RFC 7518 §3.4 wants.
pub fn sign(key: &SigningKey, message: &[u8]) -> Result<[u8; 64], JsValue> {
    let point = key.verifying_key().to_encoded_point(false);
    let node_key = cached(&SIGNING, &point, |x, y| tessera_es256_private(&b64url(&key.to_bytes()), x, y))?;
    let der = tessera_es256_sign(&node_key, message)?.to_vec();
    let signature =
        Signature::from_der(&der).map_err(|_| JsValue::from_str("node:crypto's ECDSA signature is not DER"))?;
    Ok(signature.to_bytes().into())
}

/// Checks an `R || S` signature; anything but 64 bytes of two scalars in
/// range fails.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> Result<bool, JsValue> {
    let Ok(signature) = Signature::from_slice(signature) else { return Ok(false) };
    let point = key.to_encoded_point(false);
    let node_key = cached(&VERIFYING, &point, tessera_es256_public)?;
    tessera_es256_verify(&node_key, message, signature.to_der().as_bytes())
}
