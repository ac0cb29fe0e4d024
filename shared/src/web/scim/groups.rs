//! `/Groups` (RFC 7644 §3.2-3.6) over `scim::groups`.

use http::StatusCode;
use serde_json::{json, Value};

use super::list::{self, ListQuery, Projection};
use super::{resource, Scim};
use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::scim::filter::AttrPath;
use crate::scim::groups::{self, ScimGroup};
use crate::scim::patch::{self, Schema};
use crate::scim::schema::GROUP_SCHEMA;
use crate::usecases::scim as provisioning;
use crate::web::response::{no_content, HttpResponse};
use crate::web::router::RouteId;

const SCAN_CHUNK: i64 = 200;

fn not_found(id: &str) -> Error {
    Error::not_found(format!("no group has the id \"{id}\""))
}

/// Whether a response shows members, so whether to read them: Entra ID
/// asks for `excludedAttributes=members` to keep large groups cheap.
fn wants_members(p: &Projection) -> bool {
    let names = |list: &[AttrPath]| list.iter().any(|a| a.name.eq_ignore_ascii_case("members"));
    !names(&p.excluded) && (p.attributes.is_empty() || names(&p.attributes))
}

fn changed_meanwhile() -> Error {
    Error::new(ErrorKind::PreconditionFailed, "the group changed while this request was applied; read it and retry")
}

pub async fn dispatch<H: Host>(id: RouteId, s: &Scim<'_, '_, H>) -> Result<HttpResponse> {
    let (host, t) = (s.cx.host, s.cx.tenant());
    match id {
        RouteId::ScimGroupsList => list_groups(s, list::from_query(s.cx.req)?).await,
        RouteId::ScimGroupsSearch => list_groups(s, list::from_search(&s.body()?)?).await,
        RouteId::ScimGroupsCreate => {
            let input = groups::read_input(&s.body()?)?;
            let g = groups::create(host, t.id(), input).await?;
            s.audit(
                "group created",
                None,
                json!({ "group_id": g.id, "members": g.members.as_ref().map_or(0, Vec::len) }),
            )
            .await?;
            respond(s, StatusCode::CREATED, &g)
        }
        _ => {
            let group_id = s.cx.param("id");
            let current = groups::get(host, t.id(), group_id, true).await?.ok_or_else(|| not_found(group_id))?;
            if id != RouteId::ScimGroupGet {
                s.check_if_match(&current.version())?;
            }
            match id {
                RouteId::ScimGroupGet => respond(s, StatusCode::OK, &current),
                RouteId::ScimGroupReplace => {
                    let input = groups::read_input(&s.body()?)?;
                    if !groups::replace(host, t.id(), &current.id, input, &current.revision).await? {
                        return Err(changed_meanwhile());
                    }
                    written(s, &current, "group replaced").await
                }
                RouteId::ScimGroupPatch => {
                    let ops = patch::parse_request(&s.body()?)?;
                    if !provisioning::patch_group(host, t, &current, &ops).await? {
                        return Err(changed_meanwhile());
                    }
                    written(s, &current, "group patched").await
                }
                _ => {
                    groups::delete(host, t.id(), &current.id).await?;
                    s.audit("group deleted", None, json!({ "group_id": current.id })).await?;
                    Ok(no_content())
                }
            }
        }
    }
}

async fn written<H: Host>(s: &Scim<'_, '_, H>, before: &ScimGroup, what: &str) -> Result<HttpResponse> {
    let (host, t) = (s.cx.host, s.cx.tenant());
    let after = groups::get(host, t.id(), &before.id, true).await?.ok_or_else(|| not_found(&before.id))?;
    let ids = |g: &ScimGroup| -> Vec<String> { g.members.iter().flatten().map(|m| m.id.clone()).collect() };
    let (old, new) = (ids(before), ids(&after));
    let added: Vec<&String> = new.iter().filter(|m| !old.contains(m)).collect();
    let removed: Vec<&String> = old.iter().filter(|m| !new.contains(m)).collect();
    s.audit(what, None, json!({ "group_id": after.id, "members_added": added, "members_removed": removed })).await?;
    respond(s, StatusCode::OK, &after)
}

fn respond<H: Host>(s: &Scim<'_, '_, H>, status: StatusCode, g: &ScimGroup) -> Result<HttpResponse> {
    let projection = list::projection_of(s.cx.req)?;
    Ok(resource(status, &list::project(&GROUP_SCHEMA, g.to_json(&s.base), &projection)))
}

async fn list_groups<H: Host>(s: &Scim<'_, '_, H>, q: ListQuery) -> Result<HttpResponse> {
    let (host, tenant) = (s.cx.host, s.cx.tenant().id());
    // A filter may name members: read them whenever one is given.
    let with_members = wants_members(&q.projection) || q.filter.is_some();
    let (total, page): (usize, Vec<Value>) = if q.is_plain() {
        let total = groups::count(host, tenant).await? as usize;
        let page = if q.count == 0 {
            Vec::new()
        } else {
            groups::page(host, tenant, q.start_index - 1, q.count, with_members).await?
        };
        (total, page.iter().map(|g| g.to_json(&s.base)).collect())
    } else {
        let case_exact = |p: &AttrPath| GROUP_SCHEMA.case_exact(p);
        let keep = |g: &ScimGroup| -> Option<Value> {
            let v = g.to_json(&s.base);
            q.filter.as_ref().is_none_or(|f| f.matches(&v, &case_exact)).then_some(v)
        };
        let candidates = match &q.filter {
            Some(f) => groups::indexed_candidates(host, tenant, f, with_members).await?,
            None => None,
        };
        let mut matched: Vec<Value> = match candidates {
            Some(found) => found.iter().filter_map(keep).collect(),
            None => {
                let next =
                    |after: String| async move { groups::chunk(host, tenant, &after, SCAN_CHUNK, with_members).await };
                list::scan(SCAN_CHUNK, next, |g: &ScimGroup| g.id.clone(), keep).await?
            }
        };
        if let Some(by) = &q.sort_by {
            list::sort(&GROUP_SCHEMA, &mut matched, by, q.descending);
        }
        (matched.len(), list::page_of(matched, q.start_index, q.count))
    };
    let items = page.into_iter().map(|v| list::project(&GROUP_SCHEMA, v, &q.projection)).collect();
    Ok(resource(StatusCode::OK, &list::response(total, q.start_index, items)))
}
