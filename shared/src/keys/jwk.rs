//! Public EC keys as JWKs (RFC 7517, RFC 7518 §6.2) with RFC 7638
//! thumbprints as key ids.

use p256::ecdsa::VerifyingKey;

use crate::crypto::{b64url, sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: String,
    pub x: String,
    pub y: String,
}

impl PublicJwk {
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let x = b64url(point.x().expect("uncompressed point has x"));
        let y = b64url(point.y().expect("uncompressed point has y"));
        // RFC 7638 §3.2: the required members, lexicographic order, no spaces.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = b64url(&sha256(canonical.as_bytes()));
        PublicJwk { kid, x, y }
    }

    /// The verifying key of a public P-256 JWK, if it is one.
    pub fn parse(jwk: &serde_json::Value) -> Option<VerifyingKey> {
        if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
            return None;
        }
        let x = crate::crypto::b64url_decode(jwk["x"].as_str()?)?;
        let y = crate::crypto::b64url_decode(jwk["y"].as_str()?)?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut sec1 = vec![4u8];
        sec1.extend(x);
        sec1.extend(y);
        VerifyingKey::from_sec1_bytes(&sec1).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;

    #[test]
    fn jwk_shape_and_thumbprint() {
        let sk = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let jwk = PublicJwk::from_verifying_key(sk.verifying_key());
        let v: serde_json::Value = serde_json::from_str(&jwk.to_json()).unwrap();
        assert_eq!(v["kty"], "EC");
        assert_eq!(v["crv"], "P-256");
        // 32-byte coordinates encode to 43 base64url characters.
        assert_eq!(jwk.x.len(), 43);
        assert_eq!(jwk.y.len(), 43);
        assert_eq!(jwk.kid.len(), 43);
        // Same key, same kid; another key, another kid.
        let again = PublicJwk::from_verifying_key(sk.verifying_key());
        assert_eq!(jwk, again);
        assert_eq!(PublicJwk::parse(&v).as_ref(), Some(sk.verifying_key()));
        let other = SigningKey::from_slice(&[4u8; 32]).unwrap();
        assert_ne!(PublicJwk::from_verifying_key(other.verifying_key()).kid, jwk.kid);
    }
}
