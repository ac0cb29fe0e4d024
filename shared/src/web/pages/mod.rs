//! The hosted pages: sign-up, email verification, sign-in, password reset
//! and the account page (server-rendered HTML, CSRF-protected forms).

pub mod account;
pub mod login;
pub mod mfa;
pub mod reset;
pub mod signup;
pub mod verify;

use crate::error::Result;
use crate::host::Host;
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::RouteId::{self, *};
use crate::web::router::Scope::Tenant as T;
use crate::web::router::Surface::Html as H;
use crate::web::router::{r, Ctx, Route};

/// The hosted pages' routes.
pub const ROUTES: &[Route] = &[
    r("GET", "/", T, H, Home),
    r("GET", "/login", T, H, LoginShow),
    r("POST", "/login", T, H, LoginSubmit),
    r("GET", "/signup", T, H, SignupShow),
    r("POST", "/signup", T, H, SignupSubmit),
    r("GET", "/account", T, H, Account),
    r("GET", "/verify-email", T, H, VerifyShow),
    r("POST", "/verify-email", T, H, VerifySubmit),
    r("POST", "/verify-email/resend", T, H, VerifyResend),
    r("GET", "/password-reset", T, H, ResetShow),
    r("POST", "/password-reset", T, H, ResetSubmit),
    r("GET", "/password-reset/confirm", T, H, ResetConfirmShow),
    r("POST", "/password-reset/confirm", T, H, ResetConfirmSubmit),
    r("POST", "/account/consents/revoke", T, H, AccountConsentRevoke),
    r("GET", "/mfa", T, H, MfaShow),
    r("POST", "/mfa", T, H, MfaSubmit),
    r("GET", "/mfa/enroll", T, H, MfaEnrollShow),
    r("POST", "/mfa/enroll", T, H, MfaEnrollSubmit),
    r("POST", "/mfa/email", T, H, MfaEmailSend),
    r("POST", "/account/mfa/remove", T, H, AccountMfaRemove),
    r("POST", "/account/mfa/recovery-codes", T, H, AccountMfaRecoveryCodes),
];

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match id {
        Home => Ok(see_other(&cx.tenant().path("/account"))),
        LoginShow => login::show(cx).await,
        LoginSubmit => login::submit(cx).await,
        SignupShow => signup::show(cx).await,
        SignupSubmit => signup::submit(cx).await,
        Account => account::account(cx).await,
        AccountConsentRevoke => account::revoke_consent(cx).await,
        MfaShow => mfa::challenge_show(cx).await,
        MfaSubmit => mfa::challenge_submit(cx).await,
        MfaEnrollShow => mfa::enroll_show(cx).await,
        MfaEnrollSubmit => mfa::enroll_submit(cx).await,
        MfaEmailSend => mfa::email_send(cx).await,
        AccountMfaRemove => mfa::account_remove(cx).await,
        AccountMfaRecoveryCodes => mfa::account_recovery_codes(cx).await,
        VerifyShow => verify::show(cx).await,
        VerifySubmit => verify::submit(cx).await,
        VerifyResend => verify::resend(cx).await,
        ResetShow => reset::show_request(cx).await,
        ResetSubmit => reset::submit_request(cx).await,
        ResetConfirmShow => reset::show_confirm(cx).await,
        ResetConfirmSubmit => reset::submit_confirm(cx).await,
        _ => Err(crate::error::Error::not_found("no such page")),
    }
}
