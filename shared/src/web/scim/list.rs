//! What a list or search asks for (RFC 7644 §3.4.2, §3.4.3): filter, sort,
//! page (`startIndex` from 1, `count`), and which attributes to return
//! (§3.4.2.5), from the query string or a `SearchRequest` body; and how a
//! resource is cut down to those attributes.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::discovery::MAX_RESULTS;
use super::LIST_RESPONSE;
use crate::error::Result;
use crate::scim::filter::{member, AttrPath, Filter};
use crate::scim::patch::Schema;
use crate::scim::schema::ResourceSchema;
use crate::scim::{self, ScimType};
use crate::web::request::Request;

pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The page size when a client names none.
const DEFAULT_COUNT: i64 = 100;

/// Which attributes to return.
#[derive(Debug, Default)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
    pub projection: Projection,
}

impl ListQuery {
    /// Whether the list is the plain id order a page query gives.
    pub fn is_plain(&self) -> bool {
        self.filter.is_none() && self.sort_by.is_none()
    }
}

fn paths(list: &str) -> Result<Vec<AttrPath>> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| AttrPath::parse(p).map_err(|e| scim::error(ScimType::InvalidValue, e.0)))
        .collect()
}

fn integer(name: &str, v: Option<&Value>) -> Result<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| scim::error(ScimType::InvalidValue, format!("\"{name}\" must be an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| scim::error(ScimType::InvalidValue, format!("\"{name}\" must be an integer"))),
        Some(_) => Err(scim::error(ScimType::InvalidValue, format!("\"{name}\" must be an integer"))),
    }
}

fn text<'v>(name: &str, v: Option<&'v Value>) -> Result<Option<&'v str>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(scim::error(ScimType::InvalidValue, format!("\"{name}\" must be a string"))),
    }
}

/// `attributes` / `excludedAttributes` of a query string.
pub fn projection_of(req: &Request) -> Result<Projection> {
    Ok(Projection {
        attributes: req.query_param("attributes").map(paths).transpose()?.unwrap_or_default(),
        excluded: req.query_param("excludedAttributes").map(paths).transpose()?.unwrap_or_default(),
    })
}

/// The parameters as one JSON object (a query string's, or a search body).
fn read(params: &Map<String, Value>) -> Result<ListQuery> {
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let filter = text("filter", get("filter"))?.map(Filter::parse).transpose()?;
    let sort_by = text("sortBy", get("sortBy"))?
        .map(|p| AttrPath::parse(p.trim()).map_err(|e| scim::error(ScimType::InvalidValue, e.0)))
        .transpose()?;
    let descending = match text("sortOrder", get("sortOrder"))? {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(_) => return Err(scim::error(ScimType::InvalidValue, "\"sortOrder\" must be ascending or descending")),
    };
    // §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
    let start_index = integer("startIndex", get("startIndex"))?.unwrap_or(1).max(1);
    let count = integer("count", get("count"))?.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_RESULTS);
    let list = |name: &str| -> Result<Vec<AttrPath>> {
        match get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => paths(s),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => AttrPath::parse(s.trim()).map_err(|e| scim::error(ScimType::InvalidValue, e.0)),
                    _ => Err(scim::error(ScimType::InvalidValue, format!("\"{name}\" must list strings"))),
                })
                .collect(),
            Some(_) => Err(scim::error(ScimType::InvalidValue, format!("\"{name}\" must be a list of strings"))),
        }
    };
    let projection = Projection { attributes: list("attributes")?, excluded: list("excludedAttributes")? };
    Ok(ListQuery { filter, sort_by, descending, start_index, count, projection })
}

/// A list request's query string.
pub fn from_query(req: &Request) -> Result<ListQuery> {
    let params: Map<String, Value> = req.query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    read(&params)
}

/// A `POST .../.search` body (§3.4.3).
pub fn from_search(body: &Value) -> Result<ListQuery> {
    let schemas = member(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST)))) {
        return Err(scim::error(ScimType::InvalidSyntax, format!("\"schemas\" must hold \"{SEARCH_REQUEST}\"")));
    }
    match body {
        Value::Object(params) => read(params),
        _ => Err(scim::error(ScimType::InvalidSyntax, "the body must be a JSON object")),
    }
}

/// The list response (§3.4.2): `items` is the page already.
pub fn response(total: usize, start_index: i64, items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": items.len(),
        "startIndex": start_index,
        "Resources": items,
    })
}

/// Reads a whole tenant's resources `chunk` at a time in id order (`next`
/// takes the last id read, "" first) and keeps what `keep` returns: a
/// filter or a sort that no index serves.
pub async fn scan<T, F, Fut>(
    chunk: i64,
    mut next: F,
    id_of: impl Fn(&T) -> String,
    keep: impl Fn(&T) -> Option<Value>,
) -> Result<Vec<Value>>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    let mut kept = Vec::new();
    let mut after = String::new();
    loop {
        let read = next(after).await?;
        kept.extend(read.iter().filter_map(&keep));
        match read.last() {
            Some(last) if read.len() as i64 == chunk => after = id_of(last),
            _ => return Ok(kept),
        }
    }
}

/// The page `[start_index, start_index + count)` of `all`.
pub fn page_of<T>(all: Vec<T>, start_index: i64, count: i64) -> Vec<T> {
    all.into_iter().skip((start_index - 1) as usize).take(count as usize).collect()
}

/// Attributes always returned whatever the request says (RFC 7643 §7
/// `returned: always`, and `schemas`).
fn always(name: &str) -> bool {
    ["id", "schemas", "meta"].iter().any(|a| a.eq_ignore_ascii_case(name))
}

fn find_key(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Where a path's attribute lives in `resource`: an extension's object, or
/// the top.
fn container_key(schema: &ResourceSchema, object: &Map<String, Value>, path: &AttrPath) -> Option<Option<String>> {
    match &path.uri {
        Some(uri) if schema.is_extension(uri) => find_key(object, uri).map(Some),
        Some(uri) if !uri.eq_ignore_ascii_case(schema.core.0) => None,
        _ => Some(None),
    }
}

/// Copies what `path` names from `from` into `to`.
fn copy_path(schema: &ResourceSchema, from: &Map<String, Value>, to: &mut Map<String, Value>, path: &AttrPath) {
    // A path naming a whole extension (`urn:...:enterprise:2.0:User` parses
    // as URN + attribute `User`) copies the extension.
    let whole_ext = schema.extensions.iter().map(|(u, _)| *u).find(|u| {
        path.sub.is_none()
            && path.uri.as_deref().is_some_and(|uri| format!("{uri}:{}", path.name).eq_ignore_ascii_case(u))
    });
    if let Some(urn) = whole_ext {
        if let Some(k) = find_key(from, urn) {
            to.insert(k.clone(), from[&k].clone());
        }
        return;
    }
    let Some(container) = container_key(schema, from, path) else { return };
    let (source, target) = match &container {
        None => (from, &mut *to),
        Some(k) => {
            let Some(Value::Object(src)) = from.get(k) else { return };
            let entry = to.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(dst) = entry else { return };
            (src, dst)
        }
    };
    let Some(key) = find_key(source, &path.name) else { return };
    let value = &source[&key];
    match &path.sub {
        None => {
            target.insert(key, value.clone());
        }
        Some(sub) => {
            let pick = |v: &Value| -> Option<Value> {
                let k = find_key(v.as_object()?, sub)?;
                Some(json!({ k.clone(): v[&k].clone() }))
            };
            let picked = match value {
                Value::Array(items) => Value::Array(items.iter().filter_map(pick).collect()),
                v => match (pick(v), target.get_mut(&key)) {
                    (Some(Value::Object(p)), Some(Value::Object(existing))) => {
                        existing.extend(p);
                        return;
                    }
                    (Some(p), _) => p,
                    (None, _) => return,
                },
            };
            target.insert(key, picked);
        }
    }
}

fn remove_path(schema: &ResourceSchema, object: &mut Map<String, Value>, path: &AttrPath) {
    if path.sub.is_none() && path.uri.is_none() && always(&path.name) {
        return;
    }
    let whole_ext = schema.extensions.iter().map(|(u, _)| *u).find(|u| {
        path.sub.is_none()
            && path.uri.as_deref().is_some_and(|uri| format!("{uri}:{}", path.name).eq_ignore_ascii_case(u))
    });
    if let Some(urn) = whole_ext {
        if let Some(k) = find_key(object, urn) {
            object.remove(&k);
        }
        return;
    }
    let Some(container) = container_key(schema, object, path) else { return };
    let target = match &container {
        None => object,
        Some(k) => match object.get_mut(k) {
            Some(Value::Object(o)) => o,
            _ => return,
        },
    };
    let Some(key) = find_key(target, &path.name) else { return };
    match &path.sub {
        None => {
            target.remove(&key);
        }
        Some(sub) => match target.get_mut(&key) {
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(k) = find_key(item, sub) {
                        item.remove(&k);
                    }
                }
            }
            Some(Value::Object(o)) => {
                if let Some(k) = find_key(o, sub) {
                    o.remove(&k);
                }
            }
            _ => {}
        },
    }
}

/// The resource with only the attributes the projection asks for (§3.4.2.5).
pub fn project(schema: &ResourceSchema, resource: Value, projection: &Projection) -> Value {
    let Value::Object(mut object) = resource else { return resource };
    if !projection.attributes.is_empty() {
        let mut out = Map::new();
        for (k, v) in &object {
            if always(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        for path in &projection.attributes {
            copy_path(schema, &object, &mut out, path);
        }
        object = out;
    }
    for path in &projection.excluded {
        remove_path(schema, &mut object, path);
    }
    Value::Object(object)
}

/// The value a resource sorts by: the attribute's, or for a multi-valued
/// one its primary (else first) element's `value` (§3.4.2.3).
fn sort_key<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let container = match &path.uri {
        Some(uri) => member(resource, uri).or(Some(resource)),
        None => Some(resource),
    }?;
    let mut v = member(container, &path.name)?;
    if let Value::Array(items) = v {
        v = items.iter().find(|i| member(i, "primary") == Some(&Value::Bool(true))).or(items.first())?;
    }
    match (&path.sub, v) {
        (Some(sub), v) => member(v, sub),
        (None, v @ Value::Object(_)) => member(v, "value"),
        (None, v) => Some(v),
    }
}

/// Sorts resources by `path`; unassigned values sort last either way.
pub fn sort(schema: &ResourceSchema, items: &mut Vec<Value>, path: &AttrPath, descending: bool) {
    let exact = schema.case_exact(path);
    let mut keyed: Vec<(Option<Value>, Value)> = std::mem::take(items)
        .into_iter()
        .map(|v| {
            let key = sort_key(&v, path).filter(|k| !k.is_null()).map(|k| match k {
                Value::String(s) if !exact => Value::String(s.to_lowercase()),
                k => k.clone(),
            });
            (key, v)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => {
            let o = match (a, b) {
                (Value::String(x), Value::String(y)) => x.cmp(y),
                (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
                (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
                _ => Ordering::Equal,
            };
            if descending {
                o.reverse()
            } else {
                o
            }
        }
    });
    *items = keyed.into_iter().map(|(_, v)| v).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER, USER_SCHEMA};

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "usr_1",
            "userName": "ana",
            "name": {"givenName": "Ana", "familyName": "Lima"},
            "emails": [{"value": "a@x.io", "type": "work"}, {"value": "b@x.io", "primary": true}],
            ENTERPRISE_USER: {"department": "R&D", "costCenter": "7"},
            "meta": {"resourceType": "User"}
        })
    }

    fn proj(attributes: &str, excluded: &str) -> Projection {
        Projection { attributes: paths(attributes).unwrap(), excluded: paths(excluded).unwrap() }
    }

    #[test]
    fn attributes_keep_what_is_named_and_what_is_always_returned() {
        let out = project(&USER_SCHEMA, user(), &proj("userName,name.givenName,emails.value", ""));
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "usr_1",
                "userName": "ana",
                "name": {"givenName": "Ana"},
                "emails": [{"value": "a@x.io"}, {"value": "b@x.io"}],
                "meta": {"resourceType": "User"}
            })
        );
        let out = project(&USER_SCHEMA, user(), &proj(&format!("{ENTERPRISE_USER}:department"), ""));
        assert_eq!(out[ENTERPRISE_USER], json!({"department": "R&D"}));
        let out = project(&USER_SCHEMA, user(), &proj(ENTERPRISE_USER, ""));
        assert_eq!(out[ENTERPRISE_USER], json!({"department": "R&D", "costCenter": "7"}));
    }

    #[test]
    fn excluded_attributes_go_but_id_stays() {
        let out = project(&USER_SCHEMA, user(), &proj("", "emails,name.familyName,id,meta"));
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Ana"}));
        assert_eq!(out["id"], "usr_1");
        let out = project(&USER_SCHEMA, user(), &proj("", &format!("{ENTERPRISE_USER}:costCenter")));
        assert_eq!(out[ENTERPRISE_USER], json!({"department": "R&D"}));
    }

    #[test]
    fn sorting_ignores_case_uses_primary_values_and_puts_unassigned_last() {
        let mut items = vec![
            json!({"id": "1", "userName": "bob"}),
            json!({"id": "2"}),
            json!({"id": "3", "userName": "Ana"}),
            json!({"id": "4", "userName": "carl"}),
        ];
        let by = AttrPath::parse("userName").unwrap();
        sort(&USER_SCHEMA, &mut items, &by, false);
        let ids: Vec<&str> = items.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["3", "1", "4", "2"]);
        sort(&USER_SCHEMA, &mut items, &by, true);
        let ids: Vec<&str> = items.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["4", "1", "3", "2"]);
        let mut items = vec![user(), json!({"id": "usr_0", "emails": [{"value": "c@x.io"}]})];
        sort(&USER_SCHEMA, &mut items, &AttrPath::parse("emails").unwrap(), false);
        assert_eq!(items[0]["id"], "usr_1", "the primary b@x.io sorts before c@x.io");
    }

    #[test]
    fn list_parameters_are_read_and_bounded() {
        let q =
            read(json!({"startIndex": "0", "count": "-5", "sortOrder": "DESCENDING"}).as_object().unwrap()).unwrap();
        assert_eq!((q.start_index, q.count, q.descending), (1, 0, true));
        let q = read(json!({"count": 999999}).as_object().unwrap()).unwrap();
        assert_eq!(q.count, MAX_RESULTS);
        for bad in [json!({"count": "ten"}), json!({"sortOrder": "up"}), json!({"filter": "userName eq"})] {
            let e = read(bad.as_object().unwrap()).err().unwrap();
            assert!(e.code.is_some(), "{bad}");
        }
        let e = from_search(&json!({"filter": "userName pr"})).err().unwrap();
        assert_eq!(e.code, Some("invalidSyntax"));
    }
}
