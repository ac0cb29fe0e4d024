//! The tenant's admin UI: OAuth clients (`clients`), users (`users`), log
//! streams (`log_streams`), actions and their triggers (`actions`), SCIM
//! provisioning (`scim`) and the audit log (`logs`).
//!
//! Server-rendered, no JavaScript, every form CSRF-protected; reached with the
//! hosted-login session of a user marked `is_admin`.

use http::StatusCode;

mod actions;
mod clients;
mod log_streams;
mod logs;
mod scim;
mod users;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::EventType;
use crate::session::Session;
use crate::tenant::TenantCtx;
use crate::web::csrf;
use crate::web::request::Form;
use crate::web::response::{html, see_other, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::escape;

use crate::web::router::RouteId::{self, *};
use crate::web::router::Scope::Tenant as T;
use crate::web::router::Surface::Html as H;
use crate::web::router::{r, Route};

/// The admin UI's routes.
pub const ROUTES: &[Route] = &[
    r("GET", "/admin", T, H, AdminHome),
    r("GET", "/admin/clients", T, H, AdminClients),
    r("GET", "/admin/clients/new", T, H, AdminClientNew),
    r("POST", "/admin/clients", T, H, AdminClientCreate),
    r("GET", "/admin/clients/{client_id}", T, H, AdminClient),
    r("POST", "/admin/clients/{client_id}", T, H, AdminClientUpdate),
    r("POST", "/admin/clients/{client_id}/rotate-secret", T, H, AdminClientRotate),
    r("POST", "/admin/clients/{client_id}/delete", T, H, AdminClientDelete),
    r("POST", "/admin/clients/{client_id}/consents/revoke", T, H, AdminConsentRevoke),
    r("GET", "/admin/log-streams", T, H, AdminLogStreams),
    r("POST", "/admin/log-streams", T, H, AdminLogStreamCreate),
    r("GET", "/admin/log-streams/{stream_id}", T, H, AdminLogStream),
    r("POST", "/admin/log-streams/{stream_id}", T, H, AdminLogStreamUpdate),
    r("POST", "/admin/log-streams/{stream_id}/pause", T, H, AdminLogStreamPause),
    r("POST", "/admin/log-streams/{stream_id}/resume", T, H, AdminLogStreamResume),
    r("POST", "/admin/log-streams/{stream_id}/test", T, H, AdminLogStreamTest),
    r("POST", "/admin/log-streams/{stream_id}/delete", T, H, AdminLogStreamDelete),
    r("POST", "/admin/log-streams/{stream_id}/redeliver", T, H, AdminLogStreamRedeliver),
    r("GET", "/admin/logs", T, H, AdminLogs),
    r("GET", "/admin/users", T, H, AdminUsers),
    r("GET", "/admin/users/{user_id}", T, H, AdminUser),
    r("POST", "/admin/users/{user_id}/block", T, H, AdminUserBlock),
    r("POST", "/admin/users/{user_id}/unblock", T, H, AdminUserUnblock),
    r("POST", "/admin/users/{user_id}/password-reset", T, H, AdminUserPasswordReset),
    r("POST", "/admin/users/{user_id}/mfa/reset", T, H, AdminUserMfaReset),
    r("GET", "/admin/actions", T, H, AdminActions),
    r("POST", "/admin/actions", T, H, AdminActionCreate),
    r("GET", "/admin/actions/{action_id}", T, H, AdminAction),
    r("POST", "/admin/actions/{action_id}", T, H, AdminActionUpdate),
    r("POST", "/admin/actions/{action_id}/deploy", T, H, AdminActionDeploy),
    r("POST", "/admin/actions/{action_id}/rollback", T, H, AdminActionRollback),
    r("POST", "/admin/actions/{action_id}/delete", T, H, AdminActionDelete),
    r("POST", "/admin/triggers/{trigger}", T, H, AdminTriggerUpdate),
    r("GET", "/admin/scim", T, H, AdminScim),
    r("POST", "/admin/scim", T, H, AdminScimUpdate),
    r("POST", "/admin/scim/tokens", T, H, AdminScimTokenCreate),
    r("POST", "/admin/scim/tokens/{token_id}/rotate", T, H, AdminScimTokenRotate),
    r("POST", "/admin/scim/tokens/{token_id}/revoke", T, H, AdminScimTokenRevoke),
];

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match id {
        AdminHome => home(cx).await,
        AdminClients => clients::list(cx).await,
        AdminClientNew => clients::new(cx).await,
        AdminClientCreate => clients::create(cx).await,
        AdminClient => clients::show(cx).await,
        AdminClientUpdate => clients::update(cx).await,
        AdminClientRotate => clients::rotate(cx).await,
        AdminClientDelete => clients::delete(cx).await,
        AdminConsentRevoke => clients::revoke_consent(cx).await,
        AdminLogStreams => log_streams::list(cx).await,
        AdminLogStreamCreate => log_streams::create(cx).await,
        AdminLogStream => log_streams::show(cx).await,
        AdminLogStreamUpdate => log_streams::update(cx).await,
        AdminLogStreamPause
        | AdminLogStreamResume
        | AdminLogStreamTest
        | AdminLogStreamDelete
        | AdminLogStreamRedeliver => log_streams::action(id, cx).await,
        AdminLogs => logs::list(cx).await,
        AdminUsers => users::list(cx).await,
        AdminUser => users::show(cx).await,
        AdminUserBlock | AdminUserUnblock | AdminUserPasswordReset | AdminUserMfaReset => users::action(id, cx).await,
        AdminActions => actions::list(cx).await,
        AdminActionCreate => actions::create(cx).await,
        AdminAction => actions::show(cx).await,
        AdminActionUpdate => actions::update(cx).await,
        AdminActionDeploy | AdminActionRollback | AdminActionDelete => actions::action(id, cx).await,
        AdminTriggerUpdate => actions::update_trigger(cx).await,
        AdminScim => scim::show(cx).await,
        AdminScimUpdate => scim::update(cx).await,
        AdminScimTokenCreate | AdminScimTokenRotate | AdminScimTokenRevoke => scim::token(id, cx).await,
        _ => Err(Error::not_found("no such admin page")),
    }
}

const WIDE: &str = "<style>main{max-width:60rem}table{width:100%;border-collapse:collapse;margin:1rem 0}\
td,th{text-align:left;padding:.45rem;border-bottom:1px solid #dde}textarea{width:100%;box-sizing:border-box;min-height:4rem;font-family:monospace}\
nav a{margin-right:1rem}code{background:#f0f1f5;padding:.1rem .3rem;border-radius:4px}\
.inline{display:inline}.inline button{width:auto;margin:0;padding:.3rem .7rem;font-size:.85rem}</style>";

pub(super) struct Admin {
    pub(super) session: Session,
    pub(super) csrf: String,
    set_cookie: Option<String>,
}

/// The signed-in admin, or the response that sends everyone else away.
pub(super) async fn admin<H: Host>(cx: &Ctx<'_, H>) -> Result<std::result::Result<Admin, HttpResponse>> {
    let t = cx.tenant();
    let Some(session) = cx.session().await? else {
        let back: String = form_urlencoded::byte_serialize(t.path("/admin/clients").as_bytes()).collect();
        return Ok(Err(see_other(&t.path(&format!("/login?return_to={back}")))));
    };
    if !session.user.is_admin {
        return Err(Error::forbidden("this account is not an administrator of this tenant"));
    }
    let (csrf, set_cookie) = csrf::issue(cx.host, cx.req, t)?;
    Ok(Ok(Admin { session, csrf, set_cookie }))
}

/// The admin and the CSRF-checked form of a POST.
pub(super) async fn admin_post<H: Host>(cx: &Ctx<'_, H>) -> Result<std::result::Result<(Admin, Form), HttpResponse>> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, cx.tenant(), &form)?;
    Ok(Ok((a, form)))
}

pub(super) fn render(t: &TenantCtx, a: &Admin, title: &str, body: &str) -> HttpResponse {
    let nav = format!(
        "<nav><a href=\"{}\">Clients</a><a href=\"{}\">New client</a><a href=\"{}\">Users</a><a href=\"{}\">Log streams</a>\
         <a href=\"{}\">Actions</a><a href=\"{}\">SCIM</a><a href=\"{}\">Audit log</a><a href=\"{}\">Account</a></nav>",
        escape(&t.path("/admin/clients")),
        escape(&t.path("/admin/clients/new")),
        escape(&t.path("/admin/users")),
        escape(&t.path("/admin/log-streams")),
        escape(&t.path("/admin/actions")),
        escape(&t.path("/admin/scim")),
        escape(&t.path("/admin/logs")),
        escape(&t.path("/account")),
    );
    let signed = format!("<p class=\"tenant\">Signed in as {}</p>", escape(&a.session.user.email));
    let page = super::ui::page(Some(&t.tenant.name), title, &format!("{WIDE}{signed}{nav}{body}"));
    with_cookies(html(StatusCode::OK, page), &a.set_cookie.iter().cloned().collect::<Vec<_>>())
}

/// A labelled `<select>` with `selected` chosen.
pub(super) fn select(id: &str, label: &str, options: &[(&str, &str)], selected: &str) -> String {
    let opts: String = options
        .iter()
        .map(|(v, l)| {
            let sel = if *v == selected { " selected" } else { "" };
            format!("<option value=\"{}\"{sel}>{}</option>", escape(v), escape(l))
        })
        .collect();
    format!("<label for=\"{id}\">{}</label><select id=\"{id}\" name=\"{id}\">{opts}</select>", escape(label))
}

pub(super) fn small_form(action: &str, csrf_token: &str, hidden: &[(&str, &str)], button: &str) -> String {
    let fields: String = hidden
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"{}\" value=\"{}\">{fields}<button type=\"submit\">{}</button></form>",
        escape(action),
        csrf::FIELD,
        escape(csrf_token),
        escape(button)
    )
}

pub async fn home<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    Ok(see_other(&cx.tenant().path("/admin/clients")))
}

pub(super) async fn audit<H: Host>(cx: &Ctx<'_, H>, a: &Admin, what: &str, details: serde_json::Value) -> Result<()> {
    let user = &a.session.user;
    let event = cx.audit_event(EventType::ApiOperation, &format!("admin UI: {what}"), Some(&user.id), details);
    crate::logs::record(cx.host, event.with_user_name(&user.email)).await
}
