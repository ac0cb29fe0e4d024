//! Compact ES256 JWS through the host's signer: what the core signs, a
//! third-party verifier (jwt-compact) accepts; what the core accepts is only
//! an untampered ES256 token of the right key.

use super::native_host_support::*;
use base64::Engine;
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, UntrustedToken};
use tessera_core::keys::jws;
use tessera_native::HostView;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn signed_tokens_verify_elsewhere_and_tampering_is_refused() {
    let host = NativeHost::in_memory().unwrap();
    let view = HostView::new(&host);
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let other = p256::ecdsa::SigningKey::from_slice(&[8u8; 32]).unwrap();
    let claims = Claims::new(json!({ "sub": "u1", "scope": "read" }));
    let token = pollster::block_on(jws::sign(&view, &key, "k1", "at+jwt", &claims)).unwrap();

    // A third-party verifier agrees, header included.
    let untrusted = UntrustedToken::new(&token).unwrap();
    assert_eq!(untrusted.algorithm(), "ES256");
    assert_eq!(untrusted.header().key_id.as_deref(), Some("k1"));
    assert_eq!(untrusted.header().token_type.as_deref(), Some("at+jwt"));
    let checked = Es256.validator::<Value>(key.verifying_key()).validate(&untrusted).unwrap();
    assert_eq!(checked.claims().custom["sub"], "u1");

    let verify = |t: &str, k: &p256::ecdsa::SigningKey| {
        pollster::block_on(jws::verify::<_, Value>(&view, k.verifying_key(), t)).map(|c| c.custom)
    };
    assert_eq!(verify(&token, &key).unwrap()["scope"], "read");
    assert!(verify(&token, &other).is_none(), "another key's token");

    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = b64(json!({ "sub": "admin", "scope": "read" }).to_string().as_bytes());
    assert!(verify(&format!("{}.{forged_payload}.{}", parts[0], parts[2]), &key).is_none(), "payload changed");
    let hs256 = b64(br#"{"alg":"HS256","kid":"k1","typ":"at+jwt"}"#);
    assert!(verify(&format!("{hs256}.{}.{}", parts[1], parts[2]), &key).is_none(), "alg switched");
    let none = b64(br#"{"alg":"none"}"#);
    assert!(verify(&format!("{none}.{}.", parts[1]), &key).is_none(), "alg none");
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(sig.len(), 64, "R || S, not DER (RFC 7518 §3.4)");
    let mut long = sig.clone();
    long.push(0);
    assert!(verify(&format!("{}.{}.{}", parts[0], parts[1], b64(&long)), &key).is_none(), "65-byte signature");
}
