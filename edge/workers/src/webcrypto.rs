//! ES256 through WebCrypto: workerd's native ECDSA instead of P-256
//! arithmetic compiled to Wasm, which costs about a millisecond a signature
//! (most of a token request's CPU).
//!
//! Imported keys are kept per isolate in the core's `TtlCache`, under their
//! public point (the private scalar itself is held only inside the
//! `CryptoKey`, which is not extractable): a key pair's public point names
//! it as well as a digest of its scalar would, and needs no SHA-256 on
//! every signature.

use std::cell::OnceCell;

use js_sys::{Array, Object, Reflect, Uint8Array};
use p256::ecdsa::{SigningKey, VerifyingKey};
use tessera_core::cache::TtlCache;
use tessera_core::crypto::b64url;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

/// Imported keys are derived from the key bytes, so they never go stale;
/// the window only bounds how long an unused one is kept.
const KEY_CACHE_MS: i64 = 3_600_000;

thread_local! {
    /// WebCrypto and the ES256 parameters, once per isolate: each is several
    /// calls into JS to build, and neither changes.
    static SUBTLE: OnceCell<SubtleCrypto> = const { OnceCell::new() };
    static ES256: OnceCell<Object> = const { OnceCell::new() };
    static SIGNING: TtlCache<CryptoKey> = const { TtlCache::new(KEY_CACHE_MS) };
    static VERIFYING: TtlCache<CryptoKey> = const { TtlCache::new(KEY_CACHE_MS) };
}

/// The imported key for the public point `point`, importing it on first
/// use.
async fn cached<F: std::future::Future<Output = Result<CryptoKey, JsValue>>>(
    cache: &'static std::thread::LocalKey<TtlCache<CryptoKey>>,
    point: &[u8],
    import: F,
) -> Result<CryptoKey, JsValue> {
    let id = b64url(point);
    let now = js_sys::Date::now() as i64;
    if let Some(k) = cache.with(|c| c.get(&id, now)) {
        return Ok(k);
    }
    let k = import.await?;
    cache.with(|c| c.put(id, now, k.clone()));
    Ok(k)
}

/// The isolate's value in `cell`, made on first use.
fn kept<T: Clone>(
    cell: &'static std::thread::LocalKey<OnceCell<T>>,
    make: impl FnOnce() -> Result<T, JsValue>,
) -> Result<T, JsValue> {
    if let Some(v) = cell.with(|c| c.get().cloned()) {
        return Ok(v);
    }
    let v = make()?;
    cell.with(|c| {
        let _ = c.set(v.clone());
    });
    Ok(v)
}

fn subtle() -> Result<SubtleCrypto, JsValue> {
    kept(&SUBTLE, || Ok(Reflect::get(&js_sys::global(), &"crypto".into())?.unchecked_into::<Crypto>().subtle()))
}

fn object(entries: &[(&str, &str)]) -> Result<Object, JsValue> {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &(*k).into(), &(*v).into())?;
    }
    Ok(o)
}

/// `{ name: "ECDSA", namedCurve: "P-256" }` for importKey.
fn p256_params() -> Result<Object, JsValue> {
    object(&[("name", "ECDSA"), ("namedCurve", "P-256")])
}

/// `{ name: "ECDSA", hash: "SHA-256" }` for sign and verify: ES256. WebCrypto
/// only reads it, so one object serves every call.
fn es256_params() -> Result<Object, JsValue> {
    kept(&ES256, || object(&[("name", "ECDSA"), ("hash", "SHA-256")]))
}

async fn import_signing(key: &SigningKey) -> Result<CryptoKey, JsValue> {
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) = (point.x().ok_or("identity point")?, point.y().ok_or("identity point")?);
    let d = key.to_bytes();
    let jwk = object(&[("kty", "EC"), ("crv", "P-256"), ("d", &b64url(&d)), ("x", &b64url(x)), ("y", &b64url(y))])?;
    let usages = Array::of1(&"sign".into());
    let promise = subtle()?.import_key_with_object("jwk", &jwk, &p256_params()?, false, &usages)?;
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

async fn import_verifying(point: &[u8]) -> Result<CryptoKey, JsValue> {
    let raw: Object = Uint8Array::from(point).into();
    let usages = Array::of1(&"verify".into());
    let promise = subtle()?.import_key_with_object("raw", &raw, &p256_params()?, true, &usages)?;
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

/// The 64-byte `R || S` (WebCrypto's ECDSA output is already IEEE P1363,
/// the form RFC 7518 §3.4 wants).
pub async fn sign(key: &SigningKey, message: &[u8]) -> Result<[u8; 64], JsValue> {
    let point = key.verifying_key().to_encoded_point(false);
    let crypto_key = cached(&SIGNING, point.as_bytes(), import_signing(key)).await?;
    let promise = subtle()?.sign_with_object_and_u8_array(&es256_params()?, &crypto_key, message)?;
    let signature = Uint8Array::new(&JsFuture::from(promise).await?).to_vec();
    signature.try_into().map_err(|_| JsValue::from_str("ECDSA P-256 signature is not 64 bytes"))
}

pub async fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> Result<bool, JsValue> {
    if signature.len() != 64 {
        return Ok(false);
    }
    let point = key.to_encoded_point(false);
    let crypto_key = cached(&VERIFYING, point.as_bytes(), import_verifying(point.as_bytes())).await?;
    let promise =
        subtle()?.verify_with_object_and_u8_array_and_u8_array(&es256_params()?, &crypto_key, signature, message)?;
    Ok(JsFuture::from(promise).await?.as_bool().unwrap_or(false))
}
