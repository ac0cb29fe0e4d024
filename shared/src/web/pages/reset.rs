//! Password reset by emailed, single-use, one-hour link (OWASP Forgot
//! Password cheat sheet): the same answer for every address, the token used
//! by one conditional update, and every session of the user ended on change.

use http::StatusCode;

use crate::error::Result;
use crate::host::{Host, HostExt};
use crate::logs::EventType;
use crate::session::throttle;
use crate::types::Secret;
use crate::users::{self, email_tokens, email_tokens::Purpose, password};
use crate::web::csrf;
use crate::web::response::{html, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::pages;

pub async fn show_request<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (token, set) = csrf::issue(cx.host, cx.req, cx.tenant())?;
    Ok(with_cookies(
        html(StatusCode::OK, pages::reset_request(cx.tenant(), &token, None)),
        &set.into_iter().collect::<Vec<_>>(),
    ))
}

pub async fn submit_request<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    // Every address gets the same answer; a form with no address at all (or
    // something that is not one) is a mistake to show, not an address.
    let email_in = match users::normalize_email(form.get("email").unwrap_or("")) {
        Ok(e) => e,
        Err(e) => {
            let (token, set) = csrf::issue(cx.host, cx.req, t)?;
            return Ok(with_cookies(
                html(StatusCode::BAD_REQUEST, pages::reset_request(t, &token, Some(("error", &e.detail)))),
                &set.into_iter().collect::<Vec<_>>(),
            ));
        }
    };
    if let Some((user, _)) = users::find_by_email(cx.host, t.id(), &email_in).await? {
        if crate::usecases::account::send_password_reset(cx.host, t, &user).await? {
            cx.audit(
                EventType::PasswordResetRequested,
                "password reset requested",
                Some(&user.id),
                serde_json::json!({}),
            )
            .await?;
        }
    }
    Ok(html(
        StatusCode::OK,
        pages::notice(
            t,
            "Check your email",
            "notice",
            "If an account exists for that address, we sent it a link to reset the password.",
            Some((&t.path("/login"), "Back to sign in")),
        ),
    ))
}

fn invalid_link<H: Host>(cx: &Ctx<'_, H>) -> HttpResponse {
    let t = cx.tenant();
    html(
        StatusCode::BAD_REQUEST,
        pages::notice(
            t,
            "Link not valid",
            "error",
            "This reset link is invalid, already used or expired. Ask for a new one.",
            Some((&t.path("/password-reset"), "Reset password")),
        ),
    )
}

fn render_confirm<H: Host>(
    cx: &Ctx<'_, H>,
    status: StatusCode,
    token: &str,
    msg: Option<(&str, &str)>,
) -> Result<HttpResponse> {
    let (csrf_token, set) = csrf::issue(cx.host, cx.req, cx.tenant())?;
    Ok(with_cookies(
        html(status, pages::reset_confirm(cx.tenant(), &csrf_token, token, msg)),
        &set.into_iter().collect::<Vec<_>>(),
    ))
}

pub async fn show_confirm<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let token = cx.req.query_param("token").unwrap_or("");
    if token.is_empty() || !email_tokens::is_valid(cx.host, cx.tenant().id(), token, Purpose::ResetPassword).await? {
        return Ok(invalid_link(cx));
    }
    render_confirm(cx, StatusCode::OK, token, None)
}

pub async fn submit_confirm<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let token = form.get("token").unwrap_or("");
    let pw = form.get("password").unwrap_or("");
    // Check the policy before using the token, so a too-short password does
    // not burn the link.
    if let Err(e) = password::check_policy(pw, t.tenant.settings.password_min_length) {
        return render_confirm(cx, StatusCode::BAD_REQUEST, token, Some(("error", &e.detail)));
    }
    let Some(user_id) = email_tokens::consume(cx.host, t.id(), token, Purpose::ResetPassword).await? else {
        return Ok(invalid_link(cx));
    };
    let hash = password::hash(&Secret::new(pw.to_string()), cx.host.random_bytes::<16>())?;
    // Following the link proves control of the address, so it is verified too.
    // The new password ends every session, token and code of the account.
    crate::usecases::account::reset_password(cx.host, t.id(), &user_id, &hash).await?;
    if let Some(user) = users::get(cx.host, t.id(), user_id.as_str()).await? {
        throttle::clear(cx.host, t.id(), &throttle::account_key(&user.email)).await?;
    }
    cx.audit(EventType::PasswordChanged, "password changed by reset link", Some(&user_id), serde_json::json!({}))
        .await?;
    Ok(html(
        StatusCode::OK,
        pages::notice(
            t,
            "Password changed",
            "notice",
            "Your password is changed. Sign in with the new one.",
            Some((&t.path("/login"), "Sign in")),
        ),
    ))
}
