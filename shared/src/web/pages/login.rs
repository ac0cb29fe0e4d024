//! The hosted login page: email and password, CSRF-protected, throttled.
//!
//! Whatever fails, the client learns only "wrong email or password" (or that
//! attempts are locked, which happens for addresses with and without an
//! account alike), and an unknown address costs the same Argon2id time as a
//! known one.

use http::StatusCode;

use crate::actions::execute::Verdict;
use crate::error::Result;
use crate::host::Host;
use crate::logs::EventType;
use crate::mfa;
use crate::session::{self, throttle};
use crate::types::Secret;
use crate::users::{self, password};
use crate::web::csrf;
use crate::web::response::{html, see_other, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::pages;

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let return_to = crate::web::session::safe_return_to(cx.tenant(), cx.req.query_param("return_to"));
    if cx.session().await?.is_some() && cx.req.query_param("prompt") != Some("login") {
        return Ok(see_other(&return_to));
    }
    let notice = match cx.req.query_param("notice") {
        Some("logged_out") => Some(("notice", "You have been signed out.")),
        _ => None,
    };
    let hint = cx.req.query_param("login_hint").unwrap_or("").to_string();
    let fresh = cx.req.query_param("prompt") == Some("login");
    render(cx, StatusCode::OK, &hint, &return_to, fresh, notice)
}

fn render<H: Host>(
    cx: &Ctx<'_, H>,
    status: StatusCode,
    email: &str,
    return_to: &str,
    fresh: bool,
    msg: Option<(&str, &str)>,
) -> Result<HttpResponse> {
    let (token, set) = csrf::issue(cx.host, cx.req, cx.tenant())?;
    let page = pages::login(cx.tenant(), &token, email, return_to, fresh, msg);
    Ok(with_cookies(html(status, page), &set.into_iter().collect::<Vec<_>>()))
}

pub async fn submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let tenant_id = t.id();
    let settings = &t.tenant.settings;
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let return_to = crate::web::session::safe_return_to(t, form.get("return_to"));
    // A forced sign-in (prompt=login, max_age) does not take a remembered
    // browser in place of the second factor.
    let fresh = form.get("fresh") == Some("1");
    let email = form.get("email").unwrap_or("").trim().to_string();
    let window_ms = settings.lockout_minutes as i64 * 60_000;

    let ip_key = throttle::ip_key(&cx.req.client_ip);
    if throttle::locked_until(cx.host, tenant_id, &ip_key).await?.is_some() {
        return render(
            cx,
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            &return_to,
            fresh,
            Some(("error", "Too many failed attempts from your network. Try again later.")),
        );
    }
    let acct_key = throttle::account_key(&email);
    let locked_msg = "Too many failed attempts for this account. Try again later, or reset your password.";
    if throttle::locked_until(cx.host, tenant_id, &acct_key).await?.is_some() {
        return render(cx, StatusCode::TOO_MANY_REQUESTS, &email, &return_to, fresh, Some(("error", locked_msg)));
    }
    if email.is_empty() || form.get("password").unwrap_or("").is_empty() {
        return render(
            cx,
            StatusCode::BAD_REQUEST,
            &email,
            &return_to,
            fresh,
            Some(("error", "Enter your email and password.")),
        );
    }
    let pw = Secret::new(form.get("password").unwrap_or("").to_string());
    if pw.expose().len() > password::MAX_PASSWORD_BYTES {
        return render(
            cx,
            StatusCode::BAD_REQUEST,
            &email,
            &return_to,
            fresh,
            Some(("error", "Wrong email or password.")),
        );
    }

    // pre-login actions, before the password is checked (an action that
    // denies by IP or country spares the hash too).
    match crate::usecases::actions::pre_login(cx.host, t, &email, &cx.req.action_info()).await? {
        Verdict::Continue(_) => {}
        Verdict::Denied { user_message, .. } => {
            let shown = user_message.unwrap_or_else(|| "Sign-in is not allowed.".into());
            return render(cx, StatusCode::FORBIDDEN, &email, &return_to, fresh, Some(("error", &shown)));
        }
        Verdict::Failed { .. } => {
            let shown = "Sign-in is unavailable right now. Try again later.";
            return render(cx, StatusCode::SERVICE_UNAVAILABLE, &email, &return_to, fresh, Some(("error", shown)));
        }
    }
    let found = users::find_by_email(cx.host, tenant_id, &email).await?;
    let verdict = password::verify(&pw, found.as_ref().and_then(|(_, h)| h.as_deref()));
    let user = match (found, &verdict) {
        (Some((user, _)), password::Verified::Ok | password::Verified::OkNeedsRehash) => user,
        (found, _) => {
            let kind = if found.is_some() { EventType::LoginWrongPassword } else { EventType::LoginUnknownUser };
            let user_id = found.as_ref().map(|(u, _)| u.id.clone());
            let event = cx.audit_event(kind, "wrong email or password", user_id.as_ref(), serde_json::json!({}));
            crate::logs::record(cx.host, event.with_user_name(&email)).await?;
            let ip_locked =
                throttle::record_failure(cx.host, tenant_id, &ip_key, settings.ip_failure_limit, window_ms).await?;
            if ip_locked {
                cx.audit(EventType::IpThrottled, "too many failed logins from one IP", None, serde_json::json!({}))
                    .await?;
            }
            let acct_locked =
                throttle::record_failure(cx.host, tenant_id, &acct_key, settings.lockout_threshold, window_ms).await?;
            if acct_locked {
                let event = cx.audit_event(
                    EventType::AccountLocked,
                    "account locked after failed logins",
                    user_id.as_ref(),
                    serde_json::json!({}),
                );
                crate::logs::record(cx.host, event.with_user_name(&email)).await?;
                return render(
                    cx,
                    StatusCode::TOO_MANY_REQUESTS,
                    &email,
                    &return_to,
                    fresh,
                    Some(("error", locked_msg)),
                );
            }
            return render(
                cx,
                StatusCode::UNAUTHORIZED,
                &email,
                &return_to,
                fresh,
                Some(("error", "Wrong email or password.")),
            );
        }
    };

    if user.blocked {
        let event = cx.audit_event(EventType::LoginFailed, "user is blocked", Some(&user.id), serde_json::json!({}));
        crate::logs::record(cx.host, event.with_user_name(&user.email)).await?;
        return render(
            cx,
            StatusCode::FORBIDDEN,
            &email,
            &return_to,
            fresh,
            Some(("error", "This account is blocked.")),
        );
    }
    if settings.require_email_verification && !user.email_verified {
        let event = cx.audit_event(EventType::LoginFailed, "email not verified", Some(&user.id), serde_json::json!({}));
        crate::logs::record(cx.host, event.with_user_name(&user.email)).await?;
        let (token, set) = csrf::issue(cx.host, cx.req, t)?;
        let mut page = pages::login(
            t,
            &token,
            &email,
            &return_to,
            fresh,
            Some(("error", "Verify your email address first: open the link we sent you.")),
        );
        page = page.replace("</main>", &format!("{}</main>", pages::resend_verification(t, &token, &user.email)));
        return Ok(with_cookies(html(StatusCode::FORBIDDEN, page), &set.into_iter().collect::<Vec<_>>()));
    }

    if verdict == password::Verified::OkNeedsRehash {
        let h = password::hash(&pw, crate::host::HostExt::random_bytes::<16>(cx.host))?;
        users::set_password_hash(cx.host, tenant_id, &user.id, &h).await?;
    }
    let enrolled = mfa::enrolled(cx.host, tenant_id, &user.id).await?;
    let second_factor = match settings.mfa_policy {
        mfa::Policy::Never => false,
        mfa::Policy::Optional => enrolled,
        mfa::Policy::Required => true,
    };
    let remembered = match second_factor && !fresh {
        true => mfa::remembered(cx.host, tenant_id, &user.id, cx.req.cookie(mfa::REMEMBER_COOKIE).as_deref()).await?,
        false => None,
    };
    if second_factor && remembered.is_none() {
        // The failure counter stays until the second factor is given: a
        // password alone must not buy fresh guesses at the code.
        let started = session::start(cx.host, t, &user.id, session::Start::Pending).await?;
        let cookie = crate::web::session::cookie(t, session::COOKIE, started.token.expose(), started.max_age_secs);
        let back: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        let next = if enrolled { "/mfa" } else { "/mfa/enroll" };
        return Ok(with_cookies(see_other(&t.path(&format!("{next}?return_to={back}"))), &[cookie]));
    }
    throttle::clear(cx.host, tenant_id, &acct_key).await?;
    let how = session::Start::Full { amr: mfa::Amr::password(), mfa_time: remembered };
    let started = session::start(cx.host, t, &user.id, how).await?;
    let cookie = crate::web::session::cookie(t, session::COOKIE, started.token.expose(), started.max_age_secs);
    users::record_login(cx.host, tenant_id, &user.id).await?;
    let event = cx.audit_event(EventType::LoginSuccess, "login", Some(&user.id), serde_json::json!({}));
    crate::logs::record(cx.host, event.with_user_name(&user.email)).await?;
    Ok(with_cookies(see_other(&return_to), &[cookie]))
}
