//! Self-service signup on the hosted page.
//!
//! The answer is the same whether or not the address already has an account
//! (no account enumeration): a new address gets a verification link, an
//! existing one gets a note that someone tried to sign up with it.

use http::StatusCode;

use crate::actions::execute::Verdict;
use crate::email::{self, Email};
use crate::error::{ErrorKind, Result};
use crate::host::Host;
use crate::logs::EventType;
use crate::session::throttle;
use crate::types::Secret;
use crate::users::{self, email_tokens, email_tokens::Purpose, password, NewUser};
use crate::web::csrf;
use crate::web::response::{html, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::pages;

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    render(cx, StatusCode::OK, "", "", None)
}

fn render<H: Host>(
    cx: &Ctx<'_, H>,
    status: StatusCode,
    email: &str,
    name: &str,
    msg: Option<(&str, &str)>,
) -> Result<HttpResponse> {
    let (token, set) = csrf::issue(cx.host, cx.req, cx.tenant())?;
    Ok(with_cookies(
        html(status, pages::signup(cx.tenant(), &token, email, name, msg)),
        &set.into_iter().collect::<Vec<_>>(),
    ))
}

pub async fn submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let email_in = form.get("email").unwrap_or("").trim().to_string();
    let name = form.get("name").unwrap_or("").to_string();
    let pw = form.get("password").unwrap_or("");

    let checked = users::normalize_email(&email_in)
        .and_then(|e| password::check_policy(pw, t.tenant.settings.password_min_length).map(|_| e))
        .and_then(|e| users::validate_display_name(&name).map(|_| e));
    let email = match checked {
        Ok(e) => e,
        Err(err) => {
            cx.audit(EventType::SignupFailed, &err.detail, None, serde_json::json!({ "email": email_in })).await?;
            return render(cx, StatusCode::BAD_REQUEST, &email_in, &name, Some(("error", &err.detail)));
        }
    };

    // pre-user-registration actions, before the row is written: a deny
    // leaves no user behind.
    let applied = match crate::usecases::actions::pre_user_registration(
        cx.host,
        t,
        &email,
        Some(name.as_str()).filter(|n| !n.is_empty()),
        &cx.req.action_info(),
    )
    .await?
    {
        Verdict::Continue(applied) => applied,
        Verdict::Denied { reason, user_message, .. } => {
            cx.audit(
                EventType::SignupFailed,
                "denied by a pre-user-registration action",
                None,
                serde_json::json!({ "email": email, "reason": reason }),
            )
            .await?;
            let shown = user_message.unwrap_or_else(|| "Sign-up is not allowed.".into());
            return render(cx, StatusCode::FORBIDDEN, &email_in, &name, Some(("error", &shown)));
        }
        Verdict::Failed { .. } => {
            let shown = "Sign-up is unavailable right now. Try again later.";
            return render(cx, StatusCode::SERVICE_UNAVAILABLE, &email_in, &name, Some(("error", shown)));
        }
    };
    let new = NewUser {
        email: email.clone(),
        password: Some(Secret::new(pw.to_string())),
        name: Some(name.clone()),
        email_verified: false,
        is_admin: false,
        app_metadata: applied.app_metadata,
        user_metadata: applied.user_metadata,
    };
    match users::create(cx.host, t.id(), new).await {
        Ok(user) => {
            let token = email_tokens::issue(cx.host, t.id(), &user.id, Purpose::VerifyEmail).await?;
            send_verification(cx, &user.email, token.expose()).await?;
            cx.audit(EventType::SignupSuccess, "signup", Some(&user.id), serde_json::json!({ "email": user.email }))
                .await?;
        }
        Err(e) if e.kind == ErrorKind::Conflict => {
            if !throttle::allow_mail(cx.host, t.id(), &email).await? {
                return Ok(check_email(t, &email));
            }
            email::send(
                cx.host,
                t.id(),
                Email {
                    to: email.clone(),
                    subject: format!("Sign-up attempt at {}", t.tenant.name),
                    text: format!(
                        "Someone tried to create an account at {} with this address, which already has one.\n\
                         If it was you, sign in at {} or reset your password at {}.\n",
                        t.tenant.name,
                        t.url("/login"),
                        t.url("/password-reset")
                    ),
                },
            )
            .await?;
            cx.audit(EventType::SignupFailed, "email already registered", None, serde_json::json!({ "email": email }))
                .await?;
        }
        Err(e) => return Err(e),
    }
    Ok(check_email(t, &email))
}

fn check_email(t: &crate::tenant::TenantCtx, email: &str) -> HttpResponse {
    html(
        StatusCode::OK,
        pages::notice(
            t,
            "Check your email",
            "notice",
            &format!("We sent a message to {email}. Open the link in it to verify your address, then sign in."),
            Some((&t.path("/login"), "Go to sign in")),
        ),
    )
}

pub async fn send_verification<H: Host>(cx: &Ctx<'_, H>, to: &str, token: &str) -> Result<()> {
    let t = cx.tenant();
    let link = format!("{}?token={}", t.url("/verify-email"), token);
    email::send(
        cx.host,
        t.id(),
        Email {
            to: to.to_string(),
            subject: format!("Verify your email for {}", t.tenant.name),
            text: format!(
                "Open this link to verify your email address:\n\n{link}\n\nThe link works once and expires in 24 hours.\n"
            ),
        },
    )
    .await
}
