//! The account page: who is signed in, and which applications they allowed.

use http::StatusCode;

use crate::error::Result;
use crate::host::Host;
use crate::web::csrf;
use crate::web::response::{html, see_other, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::pages;

pub async fn account<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let Some(s) = cx.session().await? else {
        let back: String = form_urlencoded::byte_serialize(t.path("/account").as_bytes()).collect();
        return Ok(see_other(&t.path(&format!("/login?return_to={back}"))));
    };
    let (token, set) = csrf::issue(cx.host, cx.req, t)?;
    let consents = crate::oauth::consent::list(cx.host, t.id(), &s.user.id).await?;
    let factors = crate::mfa::factors(cx.host, t.id(), &s.user.id).await?;
    let mfa = pages::account_mfa(t, &token, &factors);
    Ok(with_cookies(
        html(StatusCode::OK, pages::account(t, &token, &s.user, &consents, &mfa)),
        &set.into_iter().collect::<Vec<_>>(),
    ))
}

/// The user withdraws a client's access from the account page.
pub async fn revoke_consent<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let Some(s) = cx.session().await? else {
        return Ok(see_other(&t.path("/login")));
    };
    crate::oauth::consent::revoke(cx.host, t.id(), &s.user.id, form.require("client_id")?).await?;
    Ok(see_other(&t.path("/account")))
}
