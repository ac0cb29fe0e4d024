//! Logout and the account page.

use http::StatusCode;

use crate::error::Result;
use crate::host::Host;
use crate::logs::EventType;
use crate::response::{html, see_other, with_cookies, HttpResponse};
use crate::router::Ctx;
use crate::session::{self, csrf};
use crate::ui::pages;

/// GET shows a confirmation form: logging out is a state change, so it is a
/// CSRF-protected POST, never a GET a third-party page could trigger.
pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    if session::current(cx.host, cx.req, t).await?.is_none() {
        return Ok(see_other(&t.path("/login")));
    }
    let (token, set) = csrf::issue(cx.host, cx.req, t)?;
    Ok(with_cookies(html(StatusCode::OK, pages::logout_confirm(t, &token)), &set.into_iter().collect::<Vec<_>>()))
}

pub async fn submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let current = session::current(cx.host, cx.req, t).await?;
    let clear = session::end(cx.host, cx.req, t).await?;
    if let Some(s) = current {
        cx.audit(EventType::Logout, "logout", Some(&s.user.id), serde_json::json!({})).await?;
    }
    Ok(with_cookies(see_other(&t.path("/login?notice=logged_out")), &[clear]))
}

pub async fn account<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let Some(s) = session::current(cx.host, cx.req, t).await? else {
        let back: String = form_urlencoded::byte_serialize(t.path("/account").as_bytes()).collect();
        return Ok(see_other(&t.path(&format!("/login?return_to={back}"))));
    };
    let (token, set) = csrf::issue(cx.host, cx.req, t)?;
    Ok(with_cookies(html(StatusCode::OK, pages::account(t, &token, &s.user)), &set.into_iter().collect::<Vec<_>>()))
}
