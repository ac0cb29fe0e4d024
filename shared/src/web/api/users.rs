//! `/api/v1/users`: list (cursor pagination, filter by email), create, get,
//! update, block/unblock, delete.

use http::StatusCode;
use serde_json::{Map, Value};

use super::Caller;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::types::Secret;
use crate::users::{self, password, NewUser, User, UserPatch};
use crate::web::response::{json, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};

/// The management scope that creates, changes or deletes administrators.
const WRITE_ADMINS: &str = "write:admins";

fn to_json(u: &User) -> Value {
    serde_json::to_value(u).unwrap_or_default()
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>, key: &Caller) -> Result<HttpResponse> {
    let tenant = cx.tenant().id();
    match id {
        RouteId::UsersList => {
            let page = cx.req.page()?;
            let rows = users::list(cx.host, tenant, cx.req.query_param("email"), page.after.as_deref(), page.limit + 1)
                .await?;
            let (items, next) = page.finish(rows, |u| u.id.as_str());
            let items: Vec<Value> = items.iter().map(to_json).collect();
            Ok(json(StatusCode::OK, &serde_json::json!({ "users": items, "next_cursor": next })))
        }
        RouteId::UsersCreate => create(cx, key).await,
        _ => {
            let user = users::get(cx.host, tenant, cx.param("user_id"))
                .await?
                .ok_or_else(|| Error::not_found("no such user"))?;
            // An administrator's account (password, email, block, deletion)
            // is as powerful as the admin UI it opens: only a caller that
            // may make administrators may change one.
            if !matches!(id, RouteId::UserGet | RouteId::UserMfaGet) && user.is_admin {
                key.may_grant([WRITE_ADMINS])?;
            }
            match id {
                RouteId::UserGet => Ok(json(StatusCode::OK, &to_json(&user))),
                RouteId::UserUpdate => update(cx, key, &user).await,
                RouteId::UserBlock | RouteId::UserUnblock => {
                    let blocked = id == RouteId::UserBlock;
                    let patch = UserPatch { blocked: Some(blocked), ..Default::default() };
                    let u = crate::usecases::account::update_user(cx.host, tenant, &user, patch).await?;
                    let what = if blocked { "user blocked" } else { "user unblocked" };
                    super::audit(cx, key, what, serde_json::json!({ "user_id": u.id })).await?;
                    Ok(json(StatusCode::OK, &to_json(&u)))
                }
                RouteId::UserMfaGet => {
                    let factors = crate::mfa::factors(cx.host, tenant, &user.id).await?;
                    Ok(json(StatusCode::OK, &serde_json::to_value(factors).unwrap_or_default()))
                }
                RouteId::UserMfaReset | RouteId::UserMfaTotpDelete | RouteId::UserMfaEmailDelete => {
                    let (removed, what) = match id {
                        RouteId::UserMfaTotpDelete => {
                            (crate::mfa::totp::remove(cx.host, tenant, &user.id).await?, "authenticator app removed")
                        }
                        RouteId::UserMfaEmailDelete => {
                            (crate::mfa::email_otp::remove(cx.host, tenant, &user.id).await?, "email factor removed")
                        }
                        _ => (crate::mfa::reset(cx.host, tenant, &user.id).await?, "MFA reset"),
                    };
                    if id != RouteId::UserMfaReset && !removed {
                        return Err(Error::not_found("the user has no such factor"));
                    }
                    let details = serde_json::json!({ "user_id": user.id, "by": "admin" });
                    super::audit(cx, key, what, details.clone()).await?;
                    if removed {
                        cx.audit(crate::logs::EventType::MfaUnenrolled, what, Some(&user.id), details).await?;
                    }
                    Ok(no_content())
                }
                RouteId::UserMfaTotpImport => {
                    let b: crate::web::schema::ImportTotp = cx.req.json()?;
                    let secret = crate::mfa::totp::decode_legacy(&b.secret, b.encoding)?;
                    crate::mfa::totp::import(cx.host, tenant, &user.id, &secret).await?;
                    let details = serde_json::json!({ "user_id": user.id, "imported": true });
                    super::audit(cx, key, "TOTP secret imported", details.clone()).await?;
                    cx.audit(crate::logs::EventType::MfaEnrolled, "TOTP secret imported", Some(&user.id), details)
                        .await?;
                    let factors = crate::mfa::factors(cx.host, tenant, &user.id).await?;
                    Ok(json(StatusCode::OK, &serde_json::to_value(factors).unwrap_or_default()))
                }
                RouteId::UserDelete => {
                    users::delete(cx.host, tenant, user.id.as_str()).await?;
                    super::audit(cx, key, "user deleted", serde_json::json!({ "user_id": user.id })).await?;
                    Ok(no_content())
                }
                _ => Err(Error::not_found("no such route")),
            }
        }
    }
}

async fn create<H: Host>(cx: &Ctx<'_, H>, key: &Caller) -> Result<HttpResponse> {
    let b: crate::web::schema::CreateUser = cx.req.json()?;
    if b.is_admin {
        key.may_grant([WRITE_ADMINS])?;
    }
    if let Some(p) = &b.password {
        password::check_policy(p, cx.tenant().tenant.settings.password_min_length)?;
    }
    let user = users::create(
        cx.host,
        cx.tenant().id(),
        NewUser {
            email: b.email,
            password: b.password.map(Secret::new),
            name: b.name,
            email_verified: b.email_verified,
            is_admin: b.is_admin,
            app_metadata: b.app_metadata,
            user_metadata: b.user_metadata,
        },
    )
    .await?;
    super::audit(cx, key, "user created", serde_json::json!({ "user_id": user.id })).await?;
    Ok(json(StatusCode::CREATED, &to_json(&user)))
}

fn field_str(m: &Map<String, Value>, k: &str) -> Result<Option<String>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::bad_request(format!("field '{k}' must be a string"))),
    }
}

fn field_bool(m: &Map<String, Value>, k: &str) -> Result<Option<bool>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Error::bad_request(format!("field '{k}' must be a boolean"))),
    }
}

async fn update<H: Host>(cx: &Ctx<'_, H>, key: &Caller, user: &User) -> Result<HttpResponse> {
    let m: Map<String, Value> = cx.req.json()?;
    // The documented shape (types, unknown fields); `m` keeps null apart
    // from absent for `name`.
    let typed = serde_json::from_value::<crate::web::schema::UpdateUser>(Value::Object(m.clone())).map_err(|e| {
        Error::bad_request(format!("invalid user update: {}", e.to_string().split(" at line").next().unwrap_or("")))
    })?;
    const KNOWN: [&str; 8] =
        ["email", "email_verified", "name", "password", "blocked", "is_admin", "app_metadata", "user_metadata"];
    if let Some(unknown) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(Error::bad_request(format!("unknown field '{unknown}'")));
    }
    let name = match m.get("name") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => return Err(Error::bad_request("field 'name' must be a string or null")),
    };
    let is_admin = field_bool(&m, "is_admin")?;
    if is_admin == Some(true) {
        key.may_grant([WRITE_ADMINS])?;
    }
    let password = field_str(&m, "password")?;
    if let Some(p) = &password {
        password::check_policy(p, cx.tenant().tenant.settings.password_min_length)?;
    }
    let patch = UserPatch {
        email: field_str(&m, "email")?,
        email_verified: field_bool(&m, "email_verified")?,
        name,
        password: password.map(Secret::new),
        blocked: field_bool(&m, "blocked")?,
        is_admin,
    };
    let fields: Vec<&String> = m.keys().collect();
    let (app, own) = (typed.app_metadata.unwrap_or_default(), typed.user_metadata.unwrap_or_default());
    // Checked before anything is written, so a refused update changes nothing.
    users::check_merged_metadata(&user.app_metadata, &app)?;
    users::check_merged_metadata(&user.user_metadata, &own)?;
    let mut u = crate::usecases::account::update_user(cx.host, cx.tenant().id(), user, patch).await?;
    if !app.is_empty() || !own.is_empty() {
        users::merge_metadata(cx.host, cx.tenant().id(), &user.id, &app, &own).await?;
        u = users::get(cx.host, cx.tenant().id(), user.id.as_str())
            .await?
            .ok_or_else(|| Error::not_found("no such user"))?;
    }
    super::audit(cx, key, "user updated", serde_json::json!({ "user_id": u.id, "fields": fields })).await?;
    Ok(json(StatusCode::OK, &to_json(&u)))
}

pub async fn logs<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    list_logs(cx, cx.tenant().id()).await
}

/// A tenant's audit events (the tenant API and the platform API): newest
/// first with filters and `limit`, or, with `from` and/or `take`, what was
/// stored after a checkpoint in storage order (Auth0's checkpoint
/// pagination), which takes no filters.
pub async fn list_logs<H: Host>(cx: &Ctx<'_, H>, tenant: &crate::types::TenantId) -> Result<HttpResponse> {
    let from = cx.req.query_param("from").filter(|v| !v.is_empty());
    let take = cx.req.query_param("take");
    let events = if from.is_some() || take.is_some() {
        const FILTERS: [&str; 8] = ["type", "category", "severity", "user_id", "client_id", "since", "until", "limit"];
        if let Some(f) = FILTERS.iter().find(|f| cx.req.query_param(f).is_some_and(|v| !v.is_empty())) {
            return Err(Error::bad_request(format!("from/take (checkpoint pagination) cannot be combined with {f}")));
        }
        let take = match take {
            None => 50,
            Some(t) => t.parse().map_err(|_| Error::bad_request("take must be an integer from 1 to 100"))?,
        };
        crate::logs::list_from(cx.host, tenant, from, take).await?
    } else {
        let page = cx.req.page()?;
        crate::logs::list(cx.host, tenant, &cx.req.log_filter()?, page.limit).await?
    };
    Ok(json(StatusCode::OK, &serde_json::json!({ "logs": events })))
}
