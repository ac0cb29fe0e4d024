//! The admin UI's users: a searchable list, and a user's page with profile,
//! blocked state, live sessions, consents and second factors, with block /
//! unblock, reset MFA and send a password reset.

use super::{admin, admin_post, audit, render, small_form};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::record::iso_date;
use crate::users::{self, User, UserPatch};
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::{Ctx, RouteId};
use crate::web::ui::{escape, message};

const PAGE: u32 = 50;

pub async fn list<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let q = cx.req.query_param("q").unwrap_or("");
    let after = cx.req.query_param("after");
    let mut found = users::search(cx.host, t.id(), q, after, PAGE + 1).await?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let rows: String = found
        .iter()
        .map(|u| {
            let state = if u.blocked { "blocked" } else { "active" };
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&t.path(&format!("/admin/users/{}", u.id))),
                escape(&u.email),
                escape(u.name.as_deref().unwrap_or("")),
                state,
                if u.is_admin { "admin" } else { "" },
                u.last_login_at.map(iso_date).unwrap_or_default(),
            )
        })
        .collect();
    let next = match (more, found.last()) {
        (true, Some(last)) => {
            let mut qs = form_urlencoded::Serializer::new(String::new());
            qs.append_pair("q", q).append_pair("after", &last.email);
            format!(
                "<p><a id=\"next\" href=\"{}?{}\">Next page</a></p>",
                escape(&t.path("/admin/users")),
                escape(&qs.finish())
            )
        }
        _ => String::new(),
    };
    // A GET form: searching changes nothing, so it needs no CSRF token.
    let body = format!(
        "<form method=\"get\" action=\"{}\" id=\"user-search\"><label for=\"q\">Email starts with</label>\
         <input id=\"q\" name=\"q\" type=\"text\" value=\"{}\"><button type=\"submit\">Search</button></form>\
         <table id=\"users\"><tr><th>Email</th><th>Name</th><th>State</th><th>Role</th><th>Last login</th></tr>{rows}</table>{next}",
        escape(&t.path("/admin/users")),
        escape(q),
    );
    Ok(render(t, &a, "Users", &body))
}

async fn load<H: Host>(cx: &Ctx<'_, H>) -> Result<User> {
    users::get(cx.host, cx.tenant().id(), cx.param("user_id")).await?.ok_or_else(|| Error::not_found("no such user"))
}

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let u = load(cx).await?;
    let base = t.path(&format!("/admin/users/{}", u.id));
    let notice = match cx.req.query_param("done") {
        Some("reset-sent") => message("notice", "A password reset link was sent."),
        Some("reset-not-sent") => {
            message("error", "No link was sent (the user is blocked, or the mail limit is reached).")
        }
        Some("mfa-reset") => message("notice", "The user's second factors were removed."),
        _ => String::new(),
    };
    let profile = format!(
        "<table id=\"profile\"><tr><th>Email</th><td>{}</td></tr><tr><th>Verified</th><td>{}</td></tr>\
         <tr><th>Name</th><td>{}</td></tr><tr><th>State</th><td id=\"state\">{}</td></tr><tr><th>Role</th><td>{}</td></tr>\
         <tr><th>Created</th><td>{}</td></tr><tr><th>Last login</th><td>{}</td></tr></table>",
        escape(&u.email),
        if u.email_verified { "yes" } else { "no" },
        escape(u.name.as_deref().unwrap_or("")),
        if u.blocked { "blocked" } else { "active" },
        if u.is_admin { "administrator" } else { "user" },
        iso_date(u.created_at),
        u.last_login_at.map(iso_date).unwrap_or_else(|| "never".into()),
    );
    let (block_path, block_label) =
        if u.blocked { ("/unblock", "Unblock") } else { ("/block", "Block (ends sessions and tokens)") };
    let actions = format!(
        "<div id=\"actions\">{}{}{}</div>",
        small_form(&format!("{base}{block_path}"), &a.csrf, &[], block_label),
        small_form(&format!("{base}/password-reset"), &a.csrf, &[], "Send password reset"),
        small_form(&format!("{base}/mfa/reset"), &a.csrf, &[], "Reset MFA"),
    );
    let sessions = crate::session::list_for_user(cx.host, t.id(), &u.id).await?;
    let session_rows: String = sessions
        .iter()
        .map(|s| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                iso_date(s.created_at),
                iso_date(s.expires_at),
                if s.pending { "waiting for second factor".to_string() } else { escape(&s.amr.joined()) },
            )
        })
        .collect();
    let consents = crate::oauth::consent::list(cx.host, t.id(), &u.id).await?;
    let consent_rows: String = consents
        .iter()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(c["client_name"].as_str().unwrap_or("")),
                escape(
                    &c["scopes"]
                        .as_array()
                        .map(|s| s.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" "))
                        .unwrap_or_default()
                ),
            )
        })
        .collect();
    let f = crate::mfa::factors(cx.host, t.id(), &u.id).await?;
    let mfa = format!(
        "<table id=\"factors\"><tr><th>Authenticator app</th><td>{}</td></tr><tr><th>Codes by email</th><td>{}</td></tr>\
         <tr><th>Recovery codes left</th><td>{}</td></tr></table>",
        match &f.totp {
            Some(x) if x.confirmed => format!("set up {}", x.confirmed_at.map(iso_date).unwrap_or_default()),
            Some(_) => "being set up".into(),
            None => "none".into(),
        },
        if f.has_email() { "on" } else { "off" },
        f.recovery_codes_remaining,
    );
    let body = format!(
        "{notice}{profile}{actions}<h2>Second factors</h2>{mfa}\
         <h2>Sessions</h2><table id=\"sessions\"><tr><th>Started</th><th>Expires</th><th>Methods</th></tr>{session_rows}</table>\
         <h2>Applications allowed</h2><table id=\"consents\"><tr><th>Application</th><th>Scopes</th></tr>{consent_rows}</table>"
    );
    Ok(render(t, &a, &format!("User {}", u.email), &body))
}

pub async fn action<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, _form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let u = load(cx).await?;
    let base = t.path(&format!("/admin/users/{}", u.id));
    let details = serde_json::json!({ "user_id": u.id });
    let done = match id {
        RouteId::AdminUserBlock | RouteId::AdminUserUnblock => {
            let blocked = id == RouteId::AdminUserBlock;
            let patch = UserPatch { blocked: Some(blocked), ..Default::default() };
            crate::usecases::account::update_user(cx.host, t.id(), &u, patch).await?;
            audit(cx, &a, if blocked { "user blocked" } else { "user unblocked" }, details).await?;
            ""
        }
        RouteId::AdminUserPasswordReset => {
            let sent = crate::usecases::account::send_password_reset(cx.host, t, &u).await?;
            audit(cx, &a, "password reset sent", serde_json::json!({ "user_id": u.id, "sent": sent })).await?;
            if sent {
                "?done=reset-sent"
            } else {
                "?done=reset-not-sent"
            }
        }
        RouteId::AdminUserMfaReset => {
            if crate::mfa::reset(cx.host, t.id(), &u.id).await? {
                let e = cx.audit_event(
                    crate::logs::EventType::MfaUnenrolled,
                    "MFA reset by an administrator",
                    Some(&u.id),
                    serde_json::json!({ "by": a.session.user.id }),
                );
                crate::logs::record(cx.host, e.with_user_name(&u.email)).await?;
            }
            audit(cx, &a, "MFA reset", details).await?;
            "?done=mfa-reset"
        }
        _ => return Err(Error::not_found("no such action")),
    };
    Ok(see_other(&format!("{base}{done}")))
}
