//! `/Users` (RFC 7644 §3.2-3.6) over `scim::users` and `usecases::scim`.

use http::StatusCode;
use serde_json::{json, Value};

use super::list::{self, ListQuery};
use super::{resource, Scim};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::scim::patch::{self, Schema};
use crate::scim::schema::USER_SCHEMA;
use crate::scim::users::{self, ScimUser};
use crate::usecases::scim as provisioning;
use crate::web::response::{no_content, HttpResponse};
use crate::web::router::RouteId;

/// Users read per statement while a filter or a sort scans the tenant.
const SCAN_CHUNK: i64 = 500;

fn not_found(id: &str) -> Error {
    Error::not_found(format!("no user has the id \"{id}\""))
}

pub async fn dispatch<H: Host>(id: RouteId, s: &Scim<'_, '_, H>) -> Result<HttpResponse> {
    let (host, t) = (s.cx.host, s.cx.tenant());
    match id {
        RouteId::ScimUsersList => list_users(s, list::from_query(s.cx.req)?).await,
        RouteId::ScimUsersSearch => list_users(s, list::from_search(&s.body()?)?).await,
        RouteId::ScimUsersCreate => {
            let body = s.body()?;
            let u = provisioning::create_user(host, t, &s.config, &body).await?;
            s.audit("user provisioned", Some(&u.user.id), json!({ "user_id": u.user.id, "active": !u.user.blocked }))
                .await?;
            respond(s, StatusCode::CREATED, &u)
        }
        _ => {
            let user_id = s.cx.param("id");
            let current = users::get(host, t.id(), user_id).await?.ok_or_else(|| not_found(user_id))?;
            let version = current.to_json(&s.base)["meta"]["version"].as_str().unwrap_or_default().to_string();
            match id {
                RouteId::ScimUserGet => respond(s, StatusCode::OK, &current),
                RouteId::ScimUserReplace => {
                    s.check_if_match(&version)?;
                    let u = provisioning::replace_user(host, t, &s.config, &current, &s.body()?).await?;
                    audit_change(s, &current, &u, "user replaced").await?;
                    respond(s, StatusCode::OK, &u)
                }
                RouteId::ScimUserPatch => {
                    s.check_if_match(&version)?;
                    let ops = patch::parse_request(&s.body()?)?;
                    let u = provisioning::patch_user(host, t, &s.config, &current, &ops).await?;
                    audit_change(s, &current, &u, "user patched").await?;
                    respond(s, StatusCode::OK, &u)
                }
                _ => {
                    s.check_if_match(&version)?;
                    provisioning::delete_user(host, t, &s.config, &current).await?;
                    let what = match s.config.deprovision {
                        crate::scim::config::Deprovision::Block => "user deprovisioned (blocked)",
                        crate::scim::config::Deprovision::Delete => "user deprovisioned (deleted)",
                    };
                    s.audit(what, Some(&current.user.id), json!({ "user_id": current.user.id })).await?;
                    Ok(no_content())
                }
            }
        }
    }
}

async fn audit_change<H: Host>(s: &Scim<'_, '_, H>, before: &ScimUser, after: &ScimUser, what: &str) -> Result<()> {
    let mut details = json!({ "user_id": after.user.id });
    if before.user.blocked != after.user.blocked {
        details["active"] = (!after.user.blocked).into();
    }
    s.audit(what, Some(&after.user.id), details).await
}

fn respond<H: Host>(s: &Scim<'_, '_, H>, status: StatusCode, u: &ScimUser) -> Result<HttpResponse> {
    let projection = list::projection_of(s.cx.req)?;
    Ok(resource(status, &list::project(&USER_SCHEMA, u.to_json(&s.base), &projection)))
}

async fn list_users<H: Host>(s: &Scim<'_, '_, H>, q: ListQuery) -> Result<HttpResponse> {
    let (host, tenant) = (s.cx.host, s.cx.tenant().id());
    let (total, page): (usize, Vec<Value>) = if q.is_plain() {
        let total = users::count(host, tenant).await? as usize;
        let page =
            if q.count == 0 { Vec::new() } else { users::page(host, tenant, q.start_index - 1, q.count).await? };
        (total, page.iter().map(|u| u.to_json(&s.base)).collect())
    } else {
        let case_exact = |p: &crate::scim::filter::AttrPath| USER_SCHEMA.case_exact(p);
        let keep = |u: &ScimUser| -> Option<Value> {
            let mut v = u.to_json(&s.base);
            let Some(f) = &q.filter else { return Some(v) };
            // A user whose client never set `active` is active in Tessera:
            // `active eq true` finds them, though the resource leaves it out.
            let unassigned = v.get("active").is_none();
            if unassigned {
                v["active"] = (!u.user.blocked).into();
            }
            let matched = f.matches(&v, &case_exact);
            if unassigned {
                if let Some(o) = v.as_object_mut() {
                    o.remove("active");
                }
            }
            matched.then_some(v)
        };
        let candidates = match &q.filter {
            Some(f) => users::indexed_candidates(host, tenant, f).await?,
            None => None,
        };
        let mut matched: Vec<Value> = match candidates {
            Some(found) => found.iter().filter_map(keep).collect(),
            None => {
                let next = |after: String| async move { users::chunk(host, tenant, &after, SCAN_CHUNK).await };
                list::scan(SCAN_CHUNK, next, |u: &ScimUser| u.user.id.0.clone(), keep).await?
            }
        };
        if let Some(by) = &q.sort_by {
            list::sort(&USER_SCHEMA, &mut matched, by, q.descending);
        }
        (matched.len(), list::page_of(matched, q.start_index, q.count))
    };
    let items = page.into_iter().map(|v| list::project(&USER_SCHEMA, v, &q.projection)).collect();
    Ok(resource(StatusCode::OK, &list::response(total, q.start_index, items)))
}
