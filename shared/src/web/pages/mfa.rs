//! The second-factor pages: the challenge after the password (or a step-up
//! that `/authorize` asks for), enrolling an authenticator app, and the
//! account page's factor management.
//!
//! Wrong codes count toward the same account lockout as wrong passwords; the
//! counter is cleared only once the second factor is given, so a known
//! password never buys fresh guesses at the code.

use http::StatusCode;

use crate::error::Result;
use crate::host::{Host, HostExt};
use crate::logs::EventType;
use crate::mfa::{self, email_otp, recovery, totp};
use crate::session::{self, throttle, Session};
use crate::users::password;
use crate::web::csrf;
use crate::web::request::Form;
use crate::web::response::{html, see_other, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::session::{cookie, safe_return_to};
use crate::web::ui::pages;

fn to_login<H: Host>(cx: &Ctx<'_, H>, return_to: &str) -> HttpResponse {
    let back: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    see_other(&cx.tenant().path(&format!("/login?return_to={back}")))
}

fn with_return<H: Host>(cx: &Ctx<'_, H>, path: &str, return_to: &str) -> String {
    let back: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    cx.tenant().path(&format!("{path}?return_to={back}"))
}

/// The session (pending or full) the MFA pages work on, with its cookie.
async fn mfa_session<H: Host>(cx: &Ctx<'_, H>) -> Result<Option<(Session, String)>> {
    let Some(token) = cx.req.cookie(session::COOKIE) else {
        return Ok(None);
    };
    Ok(session::any(cx.host, cx.tenant(), Some(&token)).await?.map(|s| (s, token)))
}

/// A posted MFA form: its CSRF check, where to go after, and the session
/// (pending or full) with its cookie; or the answer when there is no session
/// or the account is locked.
async fn mfa_post<H: Host>(
    cx: &Ctx<'_, H>,
) -> Result<std::result::Result<(Form, String, Session, String), HttpResponse>> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let return_to = safe_return_to(t, form.get("return_to"));
    let Some((s, token)) = mfa_session(cx).await? else {
        return Ok(Err(to_login(cx, &return_to)));
    };
    if is_locked(cx, &s).await? {
        return Ok(Err(locked(cx, &s).await?));
    }
    Ok(Ok((form, return_to, s, token)))
}

fn page<H: Host>(cx: &Ctx<'_, H>, status: StatusCode, render: impl FnOnce(&str) -> String) -> Result<HttpResponse> {
    let (token, set) = csrf::issue(cx.host, cx.req, cx.tenant())?;
    Ok(with_cookies(html(status, render(&token)), &set.into_iter().collect::<Vec<_>>()))
}

fn remember_days<H: Host>(cx: &Ctx<'_, H>) -> u32 {
    cx.tenant().tenant.settings.mfa_remember_browser_days
}

pub async fn challenge_show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let return_to = safe_return_to(t, cx.req.query_param("return_to"));
    let Some((s, _)) = mfa_session(cx).await? else {
        return Ok(to_login(cx, &return_to));
    };
    let factors = mfa::factors(cx.host, t.id(), &s.user.id).await?;
    if !factors.enrolled() {
        return Ok(see_other(&with_return(cx, "/mfa/enroll", &return_to)));
    }
    let view = challenge_view(cx, &s, &factors, &return_to, cx.req.query_param("sent") == Some("1"));
    page(cx, StatusCode::OK, |csrf| pages::mfa_challenge(t, csrf, &view, None))
}

fn challenge_view<'a, H: Host>(
    cx: &Ctx<'_, H>,
    s: &Session,
    factors: &mfa::Factors,
    return_to: &'a str,
    sent: bool,
) -> pages::Challenge<'a> {
    pages::Challenge {
        return_to,
        remember_days: remember_days(cx),
        has_app: factors.has_app(),
        email: factors.has_email().then(|| email_otp::masked(&s.user.email)),
        sent,
        has_recovery: factors.recovery_codes_remaining > 0,
    }
}

/// Records an event about `user`, with the name Auth0's records carry.
async fn audit_user<H: Host>(
    cx: &Ctx<'_, H>,
    user: &crate::users::User,
    kind: EventType,
    what: &str,
    details: serde_json::Value,
) -> Result<()> {
    let e = cx.audit_event(kind, what, Some(&user.id), details);
    crate::logs::record(cx.host, e.with_user_name(&user.email)).await
}

/// The code a verification form carries, if it carries one.
fn given_code(form: &Form) -> Option<&str> {
    form.get("code").map(str::trim).filter(|c| !c.is_empty())
}

/// A verification form without a code is the client's mistake: refused
/// before any factor is looked at, and not counted toward the lockout (no
/// code was tried).
fn no_code<H: Host>(cx: &Ctx<'_, H>, back: &str, return_to: &str) -> HttpResponse {
    let t = cx.tenant();
    let back = with_return(cx, back, return_to);
    html(
        StatusCode::BAD_REQUEST,
        pages::notice(
            t,
            "Two-step verification",
            "error",
            "Enter the code, then submit the form.",
            Some((&back, "Back")),
        ),
    )
}

/// The lock message, after which the pending session is gone.
const LOCKED: &str = "Too many failed attempts for this account. Try again later.";

/// A wrong code: audited, counted toward the lockout; the page says why.
async fn refuse<H: Host>(
    cx: &Ctx<'_, H>,
    s: &Session,
    kind: EventType,
    why: &str,
    rerender: impl FnOnce(&str, Option<(&str, &str)>) -> String,
) -> Result<HttpResponse> {
    let t = cx.tenant();
    let settings = &t.tenant.settings;
    audit_user(cx, &s.user, kind, why, serde_json::json!({})).await?;
    let window_ms = settings.lockout_minutes as i64 * 60_000;
    let key = throttle::account_key(&s.user.email);
    if throttle::record_failure(cx.host, t.id(), &key, settings.lockout_threshold, window_ms).await? {
        audit_user(
            cx,
            &s.user,
            EventType::AccountLocked,
            "account locked after failed second-factor attempts",
            serde_json::json!({}),
        )
        .await?;
        return locked(cx, s).await;
    }
    page(cx, StatusCode::UNAUTHORIZED, |csrf| rerender(csrf, Some(("error", why))))
}

/// The account is locked: a pending session ends (a full one stays, but
/// its step-up waits for the lock to pass).
async fn locked<H: Host>(cx: &Ctx<'_, H>, s: &Session) -> Result<HttpResponse> {
    let t = cx.tenant();
    let mut cookies = Vec::new();
    if s.pending {
        cookies.push(cx.end_session().await?);
    }
    let body = pages::notice(t, "Two-step verification", "error", LOCKED, Some((&t.path("/login"), "Back to sign in")));
    Ok(with_cookies(html(StatusCode::TOO_MANY_REQUESTS, body), &cookies))
}

async fn is_locked<H: Host>(cx: &Ctx<'_, H>, s: &Session) -> Result<bool> {
    let key = throttle::account_key(&s.user.email);
    Ok(throttle::locked_until(cx.host, cx.tenant().id(), &key).await?.is_some())
}

/// The second factor is given: the session becomes full (under a new id),
/// the lockout counter clears, and the browser may be remembered.
async fn complete<H: Host>(
    cx: &Ctx<'_, H>,
    s: &Session,
    token: &str,
    otp: bool,
    remember: bool,
    event: EventType,
) -> Result<Option<Vec<String>>> {
    let t = cx.tenant();
    let Some(started) = session::second_factor_verified(cx.host, t, token, s, otp).await? else {
        return Ok(None);
    };
    let mut cookies = vec![cookie(t, session::COOKIE, started.token.expose(), started.max_age_secs)];
    throttle::clear(cx.host, t.id(), &throttle::account_key(&s.user.email)).await?;
    let days = remember_days(cx);
    if remember && days > 0 {
        let (value, max_age) = mfa::remember_browser(cx.host, t.id(), &s.user.id, cx.host.now(), days).await?;
        cookies.push(cookie(t, mfa::REMEMBER_COOKIE, value.expose(), max_age));
    }
    audit_user(cx, &s.user, event, "second factor verified", serde_json::json!({})).await?;
    if s.pending {
        crate::users::record_login(cx.host, t.id(), &s.user.id).await?;
        audit_user(cx, &s.user, EventType::LoginSuccess, "login", serde_json::json!({ "mfa": true })).await?;
    }
    Ok(Some(cookies))
}

pub async fn challenge_submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let (form, return_to, s, token) = match mfa_post(cx).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let Some(code) = given_code(&form) else {
        return Ok(no_code(cx, "/mfa", &return_to));
    };
    let remember = form.get("remember") == Some("1");
    let factors = mfa::factors(cx.host, t.id(), &s.user.id).await?;
    let method = form.get("method");
    let view = challenge_view(cx, &s, &factors, &return_to, method == Some("email"));
    let rerender = |csrf: &str, msg: Option<(&str, &str)>| pages::mfa_challenge(t, csrf, &view, msg);
    let (otp, event) = match method {
        Some("email") if factors.has_email() => match email_otp::verify(cx.host, t.id(), &s.user.id, code).await? {
            email_otp::Verdict::Accepted => (true, EventType::MfaSuccess),
            email_otp::Verdict::Wrong => {
                return refuse(cx, &s, EventType::MfaFailed, "That code is not valid.", rerender).await;
            }
            email_otp::Verdict::NoCode => {
                let why = "That code has expired or was replaced by a newer one. Send a new code.";
                return refuse(cx, &s, EventType::MfaFailed, why, rerender).await;
            }
            email_otp::Verdict::TooManyAttempts => {
                let why = "Too many wrong codes. Send a new code.";
                return refuse(cx, &s, EventType::MfaRateLimited, why, rerender).await;
            }
        },
        Some("recovery") => {
            if !recovery::redeem(cx.host, t.id(), &s.user.id, code).await? {
                return refuse(cx, &s, EventType::MfaRecoveryFailed, "That recovery code is not valid.", rerender)
                    .await;
            }
            (false, EventType::MfaRecoverySuccess)
        }
        _ => match totp::verify(cx.host, t.id(), &s.user.id, code, false).await? {
            totp::Verdict::Accepted => (true, EventType::MfaSuccess),
            totp::Verdict::NotEnrolled => return Ok(see_other(&with_return(cx, "/mfa/enroll", &return_to))),
            totp::Verdict::Replayed => {
                let why = "That code was already used. Wait for the next one.";
                return refuse(cx, &s, EventType::MfaFailed, why, rerender).await;
            }
            totp::Verdict::Wrong => {
                return refuse(cx, &s, EventType::MfaFailed, "That code is not valid.", rerender).await;
            }
        },
    };
    match complete(cx, &s, &token, otp, remember, event).await? {
        Some(cookies) => Ok(with_cookies(see_other(&return_to), &cookies)),
        None => Ok(to_login(cx, &return_to)),
    }
}

/// Renders a QR code as inline SVG (no script, no image request: the strict
/// CSP holds).
fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
            // Inline in HTML: without the XML declaration.
            svg.find("<svg").map_or(svg.clone(), |i| svg[i..].to_string())
        }
        Err(_) => String::new(),
    }
}

/// The base32 secret in groups of four, as apps' manual entry shows it.
fn grouped(secret_b32: &str) -> String {
    secret_b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// What the enrolment page shows: the secret is opened once per request.
struct EnrolView {
    svg: String,
    uri: String,
    text: String,
    /// The masked address, when codes by email may be chosen instead (only
    /// to an address the user has proven).
    email: Option<String>,
}

async fn enrol_view<H: Host>(cx: &Ctx<'_, H>, s: &Session) -> Result<EnrolView> {
    let t = cx.tenant();
    let enrolment = totp::begin(cx.host, t.id(), &s.user.id).await?;
    let uri = totp::otpauth_uri(enrolment.secret.expose(), &t.tenant.name, &s.user.email);
    Ok(EnrolView {
        svg: qr_svg(&uri),
        text: grouped(&totp::to_base32(enrolment.secret.expose())),
        uri,
        email: s.user.email_verified.then(|| email_otp::masked(&s.user.email)),
    })
}

fn enrol_page<H: Host>(
    cx: &Ctx<'_, H>,
    csrf: &str,
    v: &EnrolView,
    return_to: &str,
    sent: bool,
    msg: Option<(&str, &str)>,
) -> String {
    let e = pages::Enrolment {
        qr_svg: &v.svg,
        otpauth_uri: &v.uri,
        secret_text: &v.text,
        return_to,
        email: v.email.as_deref().map(|m| (m, sent)),
    };
    pages::mfa_enroll(cx.tenant(), csrf, &e, msg)
}

pub async fn enroll_show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let return_to = safe_return_to(t, cx.req.query_param("return_to"));
    let Some((s, _)) = mfa_session(cx).await? else {
        return Ok(to_login(cx, &return_to));
    };
    if mfa::enrolled(cx.host, t.id(), &s.user.id).await? {
        // Already set up: a pending session is asked for the code instead.
        let next = if s.pending { with_return(cx, "/mfa", &return_to) } else { return_to };
        return Ok(see_other(&next));
    }
    let sent = cx.req.query_param("sent") == Some("1");
    let view = enrol_view(cx, &s).await?;
    page(cx, StatusCode::OK, |csrf| enrol_page(cx, csrf, &view, &return_to, sent, None))
}

pub async fn enroll_submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let (form, return_to, s, token) = match mfa_post(cx).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    if s.pending && mfa::enrolled(cx.host, t.id(), &s.user.id).await? {
        // A password alone never adds a factor to an account that has one:
        // that would walk around the factor it has.
        return Ok(see_other(&with_return(cx, "/mfa", &return_to)));
    }
    let Some(code) = given_code(&form) else {
        return Ok(no_code(cx, "/mfa/enroll", &return_to));
    };
    let by_email = form.get("method") == Some("email");
    let accepted = if by_email {
        if !s.user.email_verified {
            return Ok(see_other(&with_return(cx, "/mfa/enroll", &return_to)));
        }
        email_otp::verify(cx.host, t.id(), &s.user.id, code).await? == email_otp::Verdict::Accepted
    } else {
        match totp::verify(cx.host, t.id(), &s.user.id, code, true).await? {
            totp::Verdict::Accepted => true,
            totp::Verdict::NotEnrolled => return Ok(see_other(&with_return(cx, "/mfa/enroll", &return_to))),
            totp::Verdict::Wrong | totp::Verdict::Replayed => false,
        }
    };
    if !accepted {
        let why = if by_email {
            "That code is not right, has expired, or was replaced by a newer one."
        } else {
            "That code is not right. Check the time on your device and try the next code."
        };
        let view = enrol_view(cx, &s).await?;
        let rerender = |csrf: &str, msg: Option<(&str, &str)>| enrol_page(cx, csrf, &view, &return_to, by_email, msg);
        return refuse(cx, &s, EventType::MfaFailed, why, rerender).await;
    }
    if by_email {
        email_otp::confirm(cx.host, t.id(), &s.user.id).await?;
    }
    let codes = recovery::regenerate(cx.host, t.id(), &s.user.id).await?;
    let what = if by_email { "codes by email set up" } else { "authenticator app set up" };
    let factor = if by_email { "email" } else { "totp" };
    audit_user(cx, &s.user, EventType::MfaEnrolled, what, serde_json::json!({ "factor": factor })).await?;
    let Some(cookies) = complete(cx, &s, &token, true, false, EventType::MfaSuccess).await? else {
        return Ok(to_login(cx, &return_to));
    };
    let shown: Vec<String> = codes.iter().map(|c| c.expose().clone()).collect();
    Ok(with_cookies(html(StatusCode::OK, pages::recovery_codes(t, &shown, &return_to)), &cookies))
}

/// Sends a code by email, to sign in (`purpose=challenge`, the user has the
/// email factor) or to set it up (`purpose=enroll`, a verified address).
pub async fn email_send<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let (form, return_to, s, _) = match mfa_post(cx).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let enrolling = form.get("purpose") == Some("enroll");
    let factors = mfa::factors(cx.host, t.id(), &s.user.id).await?;
    // Enrolling from a pending session only while the account has no factor
    // (see `enroll_submit`).
    let allowed =
        if enrolling { s.user.email_verified && !(s.pending && factors.enrolled()) } else { factors.has_email() };
    let back = if enrolling && !(s.pending && factors.enrolled()) { "/mfa/enroll" } else { "/mfa" };
    if !allowed {
        return Ok(see_other(&with_return(cx, back, &return_to)));
    }
    match email_otp::send(cx.host, t.id(), &t.tenant.name, &s.user).await? {
        email_otp::Sent::Sent => {
            cx.audit(EventType::MfaEmailSent, "code sent by email", Some(&s.user.id), serde_json::json!({})).await?;
            let next = with_return(cx, back, &return_to);
            Ok(see_other(&format!("{next}&sent=1")))
        }
        email_otp::Sent::TooMany => {
            audit_user(cx, &s.user, EventType::MfaRateLimited, "too many codes requested", serde_json::json!({}))
                .await?;
            let body = pages::notice(
                t,
                "Two-step verification",
                "error",
                "Too many codes were sent. Wait a few minutes, then ask for a new one.",
                Some((&with_return(cx, back, &return_to), "Back")),
            );
            Ok(html(StatusCode::TOO_MANY_REQUESTS, body))
        }
    }
}

/// A fresh proof of the user for changing factors: the password, or a
/// current authenticator code (6 digits; passwords are at least 8
/// characters). A wrong proof counts toward the lockout.
async fn proven<H: Host>(cx: &Ctx<'_, H>, s: &Session, form: &Form) -> Result<bool> {
    let t = cx.tenant();
    let proof = form.get("proof").unwrap_or("");
    let ok = if proof.len() == totp::DIGITS && proof.bytes().all(|b| b.is_ascii_digit()) {
        totp::verify(cx.host, t.id(), &s.user.id, proof, false).await? == totp::Verdict::Accepted
    } else if proof.is_empty() || proof.len() > password::MAX_PASSWORD_BYTES {
        false
    } else {
        let found = crate::users::find_by_email(cx.host, t.id(), &s.user.email).await?;
        let hash = found.as_ref().and_then(|(_, h)| h.as_deref());
        matches!(
            password::verify(&crate::types::Secret::new(proof.to_string()), hash),
            password::Verified::Ok | password::Verified::OkNeedsRehash
        )
    };
    if !ok {
        let settings = &t.tenant.settings;
        let key = throttle::account_key(&s.user.email);
        throttle::record_failure(
            cx.host,
            t.id(),
            &key,
            settings.lockout_threshold,
            settings.lockout_minutes as i64 * 60_000,
        )
        .await?;
    }
    Ok(ok)
}

/// The signed-in user of an account form, after its CSRF check and proof.
async fn account_change<H: Host>(cx: &Ctx<'_, H>) -> Result<std::result::Result<Session, HttpResponse>> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let Some(s) = cx.session().await? else {
        return Ok(Err(see_other(&t.path("/login"))));
    };
    if is_locked(cx, &s).await? {
        let body = pages::notice(t, "Two-step verification", "error", LOCKED, Some((&t.path("/account"), "Back")));
        return Ok(Err(html(StatusCode::TOO_MANY_REQUESTS, body)));
    }
    if !proven(cx, &s, &form).await? {
        let body = pages::notice(
            t,
            "Two-step verification",
            "error",
            "Wrong password or code; nothing was changed.",
            Some((&t.path("/account"), "Back to your account")),
        );
        return Ok(Err(html(StatusCode::FORBIDDEN, body)));
    }
    Ok(Ok(s))
}

/// Turns two-step verification off: the app, the recovery codes and
/// remembered browsers go.
pub async fn account_remove<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let s = match account_change(cx).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    if mfa::reset(cx.host, t.id(), &s.user.id).await? {
        audit_user(
            cx,
            &s.user,
            EventType::MfaUnenrolled,
            "two-step verification turned off by the user",
            serde_json::json!({ "by": "user" }),
        )
        .await?;
    }
    Ok(see_other(&t.path("/account")))
}

/// A new set of recovery codes, shown once; the old set stops working.
pub async fn account_recovery_codes<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let s = match account_change(cx).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    if !mfa::enrolled(cx.host, t.id(), &s.user.id).await? {
        return Ok(see_other(&t.path("/account")));
    }
    let codes = recovery::regenerate(cx.host, t.id(), &s.user.id).await?;
    audit_user(cx, &s.user, EventType::MfaRecoveryCodesRegenerated, "new recovery codes", serde_json::json!({}))
        .await?;
    let shown: Vec<String> = codes.iter().map(|c| c.expose().clone()).collect();
    Ok(html(StatusCode::OK, pages::recovery_codes(t, &shown, &t.path("/account"))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_is_inline_svg() {
        let svg = super::qr_svg("otpauth://totp/A:b?secret=ABC");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(!svg.contains("<script"));
        assert_eq!(super::grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
