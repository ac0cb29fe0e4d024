//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3). Only what the
//! tenant serves today is listed; the authorization and token endpoints join
//! when they exist.

use crate::error::Result;
use crate::host::Host;
use crate::response::{json_cached, HttpResponse};
use crate::router::Ctx;

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let doc = serde_json::json!({
        "issuer": t.issuer,
        "jwks_uri": t.url("/.well-known/jwks.json"),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "claims_supported": ["sub", "iss", "email", "email_verified", "name"],
    });
    Ok(json_cached(&doc, 300))
}
