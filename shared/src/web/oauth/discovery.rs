//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414).

use std::rc::Rc;

use crate::cache::{PrebuiltJson, TtlCache};
use crate::error::Result;
use crate::host::{Host, HostExt};
use crate::oauth::clients::{AUTH_METHODS, GRANT_TYPES};
use crate::oauth::scopes::OIDC_SCOPES;
use crate::tenant::TenantCtx;
use crate::web::response::{prebuilt_json, same_for_every_get, HttpResponse};
use crate::web::router::Ctx;

/// The document depends on the issuer alone (and this build), so an isolate
/// builds it once per issuer; the window only bounds how long an idle
/// issuer's bytes stay in memory.
const DISCOVERY_CACHE_MS: i64 = 3_600_000;

thread_local! {
    static DOCS: TtlCache<Rc<PrebuiltJson>> = const { TtlCache::new(DISCOVERY_CACHE_MS) };
}

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let now = cx.host.now();
    let doc = match DOCS.with(|c| c.get(&t.issuer, now)) {
        Some(doc) => doc,
        None => {
            let doc = Rc::new(PrebuiltJson::new(&document(t)));
            DOCS.with(|c| c.put(t.issuer.clone(), now, doc.clone()));
            doc
        }
    };
    Ok(same_for_every_get(prebuilt_json(cx.req.header("if-none-match"), &doc, 300)))
}

fn document(t: &TenantCtx) -> serde_json::Value {
    serde_json::json!({
        "issuer": t.issuer,
        "authorization_endpoint": t.url("/authorize"),
        "token_endpoint": t.url("/oauth/token"),
        "userinfo_endpoint": t.url("/userinfo"),
        "jwks_uri": t.url("/.well-known/jwks.json"),
        "revocation_endpoint": t.url("/oauth/revoke"),
        "introspection_endpoint": t.url("/oauth/introspect"),
        "end_session_endpoint": t.url("/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": OIDC_SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "amr", "acr", "email", "email_verified", "name", "updated_at"],
        "acr_values_supported": [crate::mfa::ACR_MFA, crate::mfa::ACR_PASSWORD],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}
