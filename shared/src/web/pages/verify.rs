//! Email verification links. Opening the link (GET) only shows a button;
//! the POST uses the token. Mail scanners that prefetch links therefore
//! cannot burn it, and the state change is CSRF-protected like every form.

use http::StatusCode;

use crate::error::Result;
use crate::host::Host;
use crate::logs::EventType;
use crate::session::throttle;
use crate::users::{self, email_tokens, email_tokens::Purpose};
use crate::web::csrf;
use crate::web::response::{html, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::pages;

fn invalid_link<H: Host>(cx: &Ctx<'_, H>) -> HttpResponse {
    let t = cx.tenant();
    html(
        StatusCode::BAD_REQUEST,
        pages::notice(
            t,
            "Link not valid",
            "error",
            "This verification link is invalid, already used or expired. Sign in to get a new one.",
            Some((&t.path("/login"), "Go to sign in")),
        ),
    )
}

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let token = cx.req.query_param("token").unwrap_or("");
    if token.is_empty() || !email_tokens::is_valid(cx.host, t.id(), token, Purpose::VerifyEmail).await? {
        return Ok(invalid_link(cx));
    }
    let (csrf_token, set) = csrf::issue(cx.host, cx.req, t)?;
    Ok(with_cookies(
        html(StatusCode::OK, pages::verify_email(t, &csrf_token, token)),
        &set.into_iter().collect::<Vec<_>>(),
    ))
}

pub async fn submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let token = form.get("token").unwrap_or("");
    let Some(user_id) = email_tokens::consume(cx.host, t.id(), token, Purpose::VerifyEmail).await? else {
        return Ok(invalid_link(cx));
    };
    users::mark_verified(cx.host, t.id(), &user_id).await?;
    cx.audit(EventType::EmailVerified, "email verified", Some(&user_id), serde_json::json!({})).await?;
    Ok(html(
        StatusCode::OK,
        pages::notice(
            t,
            "Email verified",
            "notice",
            "Your email address is verified. You can sign in now.",
            Some((&t.path("/login"), "Sign in")),
        ),
    ))
}

/// Sends a fresh link to an unverified account; answers the same for any
/// address.
pub async fn resend<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    // The form carries the address it was rendered for; without one it is
    // a mistake, refused before any lookup.
    let Ok(email) = users::normalize_email(form.get("email").unwrap_or("")) else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            pages::notice(
                t,
                "Verify your email",
                "error",
                "The form did not carry a valid email address. Sign in again to get a new link.",
                Some((&t.path("/login"), "Go to sign in")),
            ),
        ));
    };
    if let Some((user, _)) = users::find_by_email(cx.host, t.id(), &email).await? {
        if !user.email_verified && !user.blocked && throttle::allow_mail(cx.host, t.id(), &user.email).await? {
            let token = email_tokens::issue(cx.host, t.id(), &user.id, Purpose::VerifyEmail).await?;
            super::signup::send_verification(cx, &user.email, token.expose()).await?;
        }
    }
    Ok(html(
        StatusCode::OK,
        pages::notice(
            t,
            "Check your email",
            "notice",
            "If that address has an account waiting for verification, a new link is on its way.",
            Some((&t.path("/login"), "Go to sign in")),
        ),
    ))
}
