//! The UserInfo endpoint (OIDC Core §5.3): claims about the user of an
//! access token that carries the `openid` scope. Errors follow RFC 6750 §3
//! in `WWW-Authenticate`.

use http::StatusCode;

use crate::error::Result;
use crate::host::Host;
use crate::oauth::{split_scopes, tokens};
use crate::web::response::HttpResponse;
use crate::web::router::Ctx;

fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> HttpResponse {
    let mut value = "Bearer realm=\"tessera\"".to_string();
    // RFC 6750 §3.1: no error code in the challenge when no token was sent;
    // the body still says what is missing.
    let mut body =
        serde_json::json!({ "error": "invalid_request", "error_description": "an access token is required" });
    if let Some((code, desc)) = error {
        value.push_str(&format!(", error=\"{code}\", error_description=\"{desc}\""));
        body = serde_json::json!({ "error": code, "error_description": desc });
    }
    http::Response::builder()
        .status(status)
        .header("www-authenticate", value)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(body.to_string().into_bytes())
        .expect("static headers")
}

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    // RFC 6750 §2.1 (header); §2.2 (form body) is accepted on POST too.
    let form_token = if cx.req.method == http::Method::POST {
        cx.req.form().ok().and_then(|f| f.get("access_token").map(str::to_owned))
    } else {
        None
    };
    let Some(token) = cx.req.bearer().map(str::to_owned).or(form_token) else {
        return Ok(challenge(StatusCode::UNAUTHORIZED, None));
    };
    let claims = match tokens::verify_access(cx.host, t, &token).await? {
        Ok((c, _)) => c,
        Err(tokens::Rejected::Revoked) => {
            return Ok(challenge(StatusCode::UNAUTHORIZED, Some(("invalid_token", "the access token was revoked"))))
        }
        Err(tokens::Rejected::Invalid) => {
            return Ok(challenge(
                StatusCode::UNAUTHORIZED,
                Some(("invalid_token", "the access token is invalid or expired")),
            ))
        }
    };
    let scope = split_scopes(&claims.scope);
    if !scope.iter().any(|s| s == "openid") {
        return Ok(challenge(StatusCode::FORBIDDEN, Some(("insufficient_scope", "the openid scope is required"))));
    }
    let Some(user) = crate::users::get(cx.host, t.id(), &claims.sub).await?.filter(|u| !u.blocked) else {
        return Ok(challenge(StatusCode::UNAUTHORIZED, Some(("invalid_token", "the user is no longer active"))));
    };
    let mut body = serde_json::json!({ "sub": user.id });
    if scope.iter().any(|s| s == "email") {
        body["email"] = user.email.clone().into();
        body["email_verified"] = user.email_verified.into();
    }
    if scope.iter().any(|s| s == "profile") {
        if let Some(n) = &user.name {
            body["name"] = n.clone().into();
        }
        body["updated_at"] = (user.updated_at / 1000).into();
    }
    Ok(crate::web::response::no_store_json(body.to_string().into_bytes()))
}
