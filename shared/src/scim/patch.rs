//! SCIM PATCH (RFC 7644 §3.5.2): reading a `PatchOp` request and applying
//! its operations to a resource in its SCIM JSON form.
//!
//! The whole request applies or none of it does (§3.5.2: "if any operation
//! fails, the resource is left unchanged"): operations run on a copy. The
//! quirks real identity providers send are accepted: Entra ID's capitalised
//! ops (`Replace`), attribute paths as the keys of a path-less value
//! (`{"name.givenName": "Ana"}`), and a `remove` of `members` that names the
//! members in `value`.

use serde_json::{Map, Value};

use super::filter::{member, AttrPath, Filter};
use super::ScimType;

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Operations per request (Entra ID sends membership changes in batches).
pub const MAX_OPERATIONS: usize = 1000;

/// Why a PATCH was refused: a SCIM error's `scimType` and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub scim_type: ScimType,
    pub detail: String,
}

fn fail<T>(scim_type: ScimType, detail: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError { scim_type, detail: detail.into() })
}

/// What the engine needs to know of the resource's schema.
pub trait Schema {
    /// Whether the attribute (`path.sub` ignored) holds a list.
    fn multi_valued(&self, path: &AttrPath) -> bool;
    /// Whether strings of the attribute compare case-sensitively.
    fn case_exact(&self, path: &AttrPath) -> bool;
    /// Whether `urn` names one of the resource's extension schemas.
    fn is_extension(&self, urn: &str) -> bool;
    /// The value as the attribute stores it (booleans sent as `"False"`).
    fn coerce(&self, path: &AttrPath, value: Value) -> Value;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// `attrPath` or `valuePath [subAttr]` (RFC 7644 §3.5.2, the PATH rule).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    Attr(AttrPath),
    Filtered { attr: AttrPath, filter: Filter, sub: Option<String> },
}

impl PatchPath {
    pub fn parse(text: &str) -> Result<PatchPath, PatchError> {
        let invalid = |detail: String| PatchError { scim_type: ScimType::InvalidPath, detail };
        let text = text.trim();
        let Some(open) = text.find('[') else {
            return AttrPath::parse(text).map(PatchPath::Attr).map_err(|e| invalid(e.0));
        };
        let attr = AttrPath::parse(&text[..open]).map_err(|e| invalid(e.0))?;
        if attr.sub.is_some() {
            return Err(invalid(format!("\"{text}\": a value filter follows the attribute, not a sub-attribute")));
        }
        // The closing bracket outside the filter's strings.
        let mut close = None;
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in text[open + 1..].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                ']' if !in_string => {
                    close = Some(open + 1 + i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else { return Err(invalid("a value filter in the path is not closed".into())) };
        let filter = Filter::parse(&text[open + 1..close])
            .map_err(|e| PatchError { scim_type: ScimType::InvalidFilter, detail: e.0 })?;
        let rest = &text[close + 1..];
        let sub = match rest.strip_prefix('.') {
            None if rest.is_empty() => None,
            Some(sub) if AttrPath::parse(sub).is_ok_and(|p| p.uri.is_none() && p.sub.is_none()) => {
                Some(sub.to_string())
            }
            _ => return Err(invalid(format!("\"{rest}\" after a value filter is not a sub-attribute"))),
        };
        Ok(PatchPath::Filtered { attr, filter, sub })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a `PatchOp` request body (RFC 7644 §3.5.2).
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, PatchError> {
    use ScimType::InvalidSyntax;
    let schemas = member(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))) {
        return fail(InvalidSyntax, format!("\"schemas\" must hold \"{PATCH_OP_SCHEMA}\""));
    }
    let Some(ops) = member(body, "Operations").and_then(Value::as_array) else {
        return fail(InvalidSyntax, "\"Operations\" must be a list of operations");
    };
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return fail(InvalidSyntax, format!("\"Operations\" must hold 1 to {MAX_OPERATIONS} operations"));
    }
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let n = i + 1;
            let kind = match member(o, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => OpKind::Add,
                Some("replace") => OpKind::Replace,
                Some("remove") => OpKind::Remove,
                _ => return fail(InvalidSyntax, format!("operation {n}: \"op\" must be add, replace or remove")),
            };
            let path = match member(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(PatchPath::parse(p).map_err(|e| PatchError {
                    scim_type: e.scim_type,
                    detail: format!("operation {n}: {}", e.detail),
                })?),
                Some(_) => return fail(ScimType::InvalidPath, format!("operation {n}: \"path\" must be a string")),
            };
            let value = member(o, "value").cloned();
            if kind == OpKind::Remove {
                if path.is_none() {
                    return fail(ScimType::NoTarget, format!("operation {n}: a remove needs a \"path\""));
                }
            } else if value.is_none() {
                return fail(InvalidSyntax, format!("operation {n}: an add or replace needs a \"value\""));
            } else if path.is_none() && !value.as_ref().is_some_and(Value::is_object) {
                return fail(
                    ScimType::InvalidValue,
                    format!("operation {n}: without a \"path\", the \"value\" must be an object of attributes"),
                );
            }
            Ok(Operation { op: kind, path, value })
        })
        .collect()
}

/// Applies `ops` to `resource`, all or nothing.
pub fn apply(resource: &mut Value, ops: &[Operation], schema: &dyn Schema) -> Result<(), PatchError> {
    let mut copy = resource.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut copy, op, schema)
            .map_err(|e| PatchError { scim_type: e.scim_type, detail: format!("operation {}: {}", i + 1, e.detail) })?;
    }
    *resource = copy;
    Ok(())
}

fn apply_one(resource: &mut Value, op: &Operation, schema: &dyn Schema) -> Result<(), PatchError> {
    match (&op.path, op.op) {
        (None, OpKind::Remove) => fail(ScimType::NoTarget, "a remove needs a path"),
        (None, kind) => {
            let Some(Value::Object(attrs)) = &op.value else {
                return fail(ScimType::InvalidValue, "the value must be an object of attributes");
            };
            for (key, value) in attrs {
                if schema.is_extension(key) {
                    // `{"urn:...:enterprise:2.0:User": {"department": "x"}}`.
                    let Value::Object(inner) = value else {
                        return fail(ScimType::InvalidValue, format!("\"{key}\" must be an object"));
                    };
                    for (name, v) in inner {
                        let path = AttrPath::parse(&format!("{key}:{name}"))
                            .map_err(|e| PatchError { scim_type: ScimType::InvalidPath, detail: e.0 })?;
                        set_at(resource, &path, v.clone(), kind, schema)?;
                    }
                } else if key.eq_ignore_ascii_case("schemas") {
                    continue;
                } else {
                    // Entra ID sends attribute paths as keys.
                    let path = AttrPath::parse(key)
                        .map_err(|e| PatchError { scim_type: ScimType::InvalidPath, detail: e.0 })?;
                    set_at(resource, &path, value.clone(), kind, schema)?;
                }
            }
            Ok(())
        }
        (Some(PatchPath::Attr(path)), kind) if whole_extension(path, schema).is_some() => {
            let urn = whole_extension(path, schema).unwrap_or_default();
            patch_extension(resource, &urn, kind, op.value.as_ref(), schema)
        }
        (Some(PatchPath::Attr(path)), OpKind::Remove) => remove_at(resource, path, op.value.as_ref(), schema),
        (Some(PatchPath::Attr(path)), kind) => {
            set_at(resource, path, op.value.clone().unwrap_or(Value::Null), kind, schema)
        }
        (Some(PatchPath::Filtered { attr, filter, sub }), kind) => {
            filtered(resource, attr, filter, sub.as_deref(), kind, op.value.as_ref(), schema)
        }
    }
}

/// The extension URN a path names as a whole (`urn:...:enterprise:2.0:User`
/// parses as the URN `urn:...:enterprise:2.0` and the attribute `User`).
fn whole_extension(path: &AttrPath, schema: &dyn Schema) -> Option<String> {
    let uri = path.uri.as_deref()?;
    let urn = format!("{uri}:{}", path.name);
    (path.sub.is_none() && schema.is_extension(&urn)).then_some(urn)
}

/// An operation on a whole extension: `remove` drops it, `replace` puts
/// the value in its place, `add` sets the value's attributes. Okta and
/// scim2-tester send the value with its own `schemas` member, ignored.
fn patch_extension(
    resource: &mut Value,
    urn: &str,
    kind: OpKind,
    value: Option<&Value>,
    schema: &dyn Schema,
) -> Result<(), PatchError> {
    let Some(object) = resource.as_object_mut() else {
        return fail(ScimType::InvalidValue, "the resource is not an object");
    };
    let existing = key_of(object, urn);
    if kind == OpKind::Remove || kind == OpKind::Replace {
        if let Some(k) = &existing {
            object.remove(k);
        }
        if kind == OpKind::Remove {
            return Ok(());
        }
    }
    let Some(Value::Object(attrs)) = value else {
        return fail(ScimType::InvalidValue, format!("the value for \"{urn}\" must be an object of its attributes"));
    };
    for (name, v) in attrs.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("schemas")) {
        let path = AttrPath::parse(&format!("{urn}:{name}"))
            .map_err(|e| PatchError { scim_type: ScimType::InvalidPath, detail: e.0 })?;
        set_at(resource, &path, v.clone(), OpKind::Add, schema)?;
    }
    Ok(())
}

/// The object an attribute of `path` lives in, created when `create`: the
/// extension's object for an extension URN, else the resource itself.
fn container_mut<'a>(
    resource: &'a mut Value,
    path: &AttrPath,
    create: bool,
    schema: &dyn Schema,
) -> Result<Option<&'a mut Map<String, Value>>, PatchError> {
    let Some(uri) = path.uri.as_deref().filter(|u| schema.is_extension(u)) else {
        if path.uri.is_some() && !is_core_uri(resource, path) {
            return fail(ScimType::InvalidPath, format!("\"{path}\" names a schema this resource does not have"));
        }
        return Ok(resource.as_object_mut());
    };
    let Some(top) = resource.as_object_mut() else { return Ok(None) };
    let key = match key_of(top, uri) {
        Some(k) => k,
        None if create => {
            top.insert(uri.to_string(), Value::Object(Map::new()));
            if let Some(Value::Array(schemas)) = top.get_mut("schemas") {
                if !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(uri))) {
                    schemas.push(Value::String(uri.to_string()));
                }
            }
            uri.to_string()
        }
        None => return Ok(None),
    };
    Ok(top.get_mut(&key).and_then(Value::as_object_mut))
}

fn is_core_uri(resource: &Value, path: &AttrPath) -> bool {
    let core = member(resource, "schemas").and_then(|s| s.as_array()?.first()?.as_str().map(str::to_string));
    match (core, &path.uri) {
        (Some(core), Some(uri)) => core.eq_ignore_ascii_case(uri),
        _ => false,
    }
}

/// The key of `name` in `map`, ignoring case (RFC 7643 §2.1).
fn key_of(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Merges `value`'s members into `target` (a complex attribute's
/// sub-attributes: §3.5.2.1 and §3.5.2.3 leave the unnamed ones as they are).
fn merge(target: &mut Map<String, Value>, value: Map<String, Value>) {
    for (k, v) in value {
        let key = key_of(target, &k).unwrap_or(k);
        target.insert(key, v);
    }
}

/// `add` or `replace` at an attribute path.
fn set_at(
    resource: &mut Value,
    path: &AttrPath,
    value: Value,
    kind: OpKind,
    schema: &dyn Schema,
) -> Result<(), PatchError> {
    let parent = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
    let multi = schema.multi_valued(&parent);
    let Some(container) = container_mut(resource, path, true, schema)? else {
        return fail(ScimType::InvalidValue, "the resource is not an object");
    };
    let key = key_of(container, &path.name).unwrap_or_else(|| path.name.clone());
    match &path.sub {
        None if multi => {
            let items = match value {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                one => vec![one],
            };
            let items: Vec<Value> = items.into_iter().map(|v| schema.coerce(&parent, v)).collect();
            let existing = container.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            match (kind, existing) {
                // §3.5.2.1: add appends; an equal value already there is not repeated.
                (OpKind::Add, Value::Array(list)) => {
                    for item in items {
                        if !list.contains(&item) {
                            list.push(item);
                        }
                    }
                }
                // §3.5.2.3: replace without a filter replaces them all.
                (_, slot) => *slot = Value::Array(items),
            }
            Ok(())
        }
        None => {
            let value = schema.coerce(&parent, value);
            let both_complex = matches!((container.get(&key), &value), (Some(Value::Object(_)), Value::Object(_)));
            if value.is_null() {
                container.remove(&key);
            } else if both_complex {
                if let (Some(Value::Object(existing)), Value::Object(v)) = (container.get_mut(&key), value) {
                    merge(existing, v);
                }
            } else {
                container.insert(key, value);
            }
            Ok(())
        }
        Some(sub) => {
            let value = schema.coerce(path, value);
            let slot = container.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let targets: Vec<&mut Value> = match slot {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for t in targets {
                if !t.is_object() {
                    *t = Value::Object(Map::new());
                }
                if let Value::Object(o) = t {
                    let k = key_of(o, sub).unwrap_or_else(|| sub.clone());
                    o.insert(k, value.clone());
                }
            }
            Ok(())
        }
    }
}

/// `remove` at an attribute path (§3.5.2.2). A `value` naming elements of a
/// multi-valued attribute removes those (Entra ID's way for `members`).
fn remove_at(
    resource: &mut Value,
    path: &AttrPath,
    value: Option<&Value>,
    schema: &dyn Schema,
) -> Result<(), PatchError> {
    let parent = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
    let multi = schema.multi_valued(&parent);
    let Some(container) = container_mut(resource, path, false, schema)? else { return Ok(()) };
    let Some(key) = key_of(container, &path.name) else { return Ok(()) };
    match (&path.sub, value) {
        (None, Some(listed)) if multi && !listed.is_null() => {
            let listed: Vec<&Value> = match listed {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            let emptied = match container.get_mut(&key) {
                Some(Value::Array(items)) => {
                    items.retain(|item| !listed.iter().any(|l| same_element(item, l)));
                    items.is_empty()
                }
                _ => false,
            };
            if emptied {
                container.remove(&key);
            }
        }
        (None, _) => {
            container.remove(&key);
        }
        (Some(sub), _) => {
            match container.get_mut(&key) {
                Some(Value::Array(items)) => {
                    for item in items.iter_mut() {
                        remove_member(item, sub);
                    }
                }
                Some(item) => remove_member(item, sub),
                None => {}
            }
            if container.get(&key).is_some_and(is_unassigned) {
                container.remove(&key);
            }
        }
    }
    Ok(())
}

/// An element named by a remove's value: by its `value` sub-attribute when
/// both have one (`{"value": "usr_1"}`), else whole.
fn same_element(item: &Value, listed: &Value) -> bool {
    match (member(item, "value"), member(listed, "value")) {
        (Some(a), Some(b)) => a == b,
        _ => item == listed,
    }
}

fn remove_member(item: &mut Value, name: &str) {
    if let Value::Object(o) = item {
        if let Some(k) = key_of(o, name) {
            o.remove(&k);
        }
    }
}

fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// An operation whose path has a value filter (`emails[type eq "work"]`,
/// `members[value eq "usr_1"]`, `emails[type eq "work"].value`).
fn filtered(
    resource: &mut Value,
    attr: &AttrPath,
    filter: &Filter,
    sub: Option<&str>,
    kind: OpKind,
    value: Option<&Value>,
    schema: &dyn Schema,
) -> Result<(), PatchError> {
    let case_exact = |p: &AttrPath| schema.case_exact(&attr.with_sub(&p.name));
    let create = kind != OpKind::Remove;
    let Some(container) = container_mut(resource, attr, create, schema)? else {
        return if kind == OpKind::Remove {
            Ok(())
        } else {
            fail(ScimType::NoTarget, format!("nothing matches \"{attr}[...]\""))
        };
    };
    let key = key_of(container, &attr.name);
    let items = match key.as_ref().and_then(|k| container.get_mut(k)) {
        Some(Value::Array(items)) => items,
        _ if kind == OpKind::Remove => return Ok(()),
        _ => return fail(ScimType::NoTarget, format!("nothing matches \"{attr}[...]\"")),
    };
    let matching: Vec<usize> = (0..items.len()).filter(|i| filter.matches(&items[*i], &case_exact)).collect();
    if matching.is_empty() {
        // §3.5.2.2: removing what is not there changes nothing; §3.5.2.1 and
        // §3.5.2.3: add and replace need a target.
        return if kind == OpKind::Remove {
            Ok(())
        } else {
            fail(ScimType::NoTarget, format!("nothing matches \"{attr}[...]\""))
        };
    }
    match (kind, sub) {
        (OpKind::Remove, None) => {
            let mut i = 0;
            items.retain(|_| {
                let keep = !matching.contains(&i);
                i += 1;
                keep
            });
        }
        (OpKind::Remove, Some(sub)) => {
            for &i in &matching {
                remove_member(&mut items[i], sub);
            }
        }
        (_, Some(sub)) => {
            let v = schema.coerce(&attr.with_sub(sub), value.cloned().unwrap_or(Value::Null));
            for &i in &matching {
                if let Value::Object(o) = &mut items[i] {
                    let k = key_of(o, sub).unwrap_or_else(|| sub.to_string());
                    o.insert(k, v.clone());
                }
            }
        }
        (OpKind::Add, None) => {
            let Some(Value::Object(v)) = value else {
                return fail(ScimType::InvalidValue, "the value for a filtered path must be an object");
            };
            for &i in &matching {
                if let Value::Object(o) = &mut items[i] {
                    merge(o, v.clone());
                }
            }
        }
        (OpKind::Replace, None) => {
            let Some(v @ Value::Object(_)) = value else {
                return fail(ScimType::InvalidValue, "the value for a filtered path must be an object");
            };
            for &i in &matching {
                items[i] = v.clone();
            }
        }
    }
    if let Some(k) = key {
        if container.get(&k).is_some_and(is_unassigned) {
            container.remove(&k);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    struct UserSchema;
    impl Schema for UserSchema {
        fn multi_valued(&self, p: &AttrPath) -> bool {
            ["emails", "phoneNumbers", "members", "groups", "roles"].iter().any(|n| n.eq_ignore_ascii_case(&p.name))
        }
        fn case_exact(&self, p: &AttrPath) -> bool {
            p.name == "id" || (p.sub.as_deref() == Some("value") && p.name.eq_ignore_ascii_case("members"))
        }
        fn is_extension(&self, urn: &str) -> bool {
            urn.eq_ignore_ascii_case(ENTERPRISE)
        }
        fn coerce(&self, p: &AttrPath, v: Value) -> Value {
            match (p.name.eq_ignore_ascii_case("active"), &v) {
                (true, Value::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
                (true, Value::String(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
                _ => v,
            }
        }
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "usr_1",
            "userName": "bjensen@example.com",
            "active": true,
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": true },
                { "value": "babs@jensen.org", "type": "home" }
            ]
        })
    }

    fn patch(resource: &mut Value, ops: Value) -> Result<(), PatchError> {
        let body = json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops });
        let ops = parse_request(&body)?;
        apply(resource, &ops, &UserSchema)
    }

    #[test]
    fn entra_replace_without_a_path_toggles_active_and_takes_string_booleans() {
        let mut u = user();
        patch(&mut u, json!([{ "op": "Replace", "value": { "active": "False" } }])).unwrap();
        assert_eq!(u["active"], false);
        patch(&mut u, json!([{ "op": "replace", "path": "active", "value": "True" }])).unwrap();
        assert_eq!(u["active"], true);
        // Paths as keys, including an extension attribute by its full URN.
        patch(
            &mut u,
            json!([{ "op": "Replace", "value": {
                "name.givenName": "Babs",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D"
            } }]),
        )
        .unwrap();
        assert_eq!(u["name"], json!({ "givenName": "Babs", "familyName": "Jensen" }));
        assert_eq!(u[ENTERPRISE]["department"], "R&D");
        assert!(u["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
    }

    #[test]
    fn add_appends_to_lists_merges_complex_values_and_sets_the_rest() {
        let mut u = user();
        patch(
            &mut u,
            json!([
                { "op": "add", "path": "emails", "value": [{ "value": "b@work.example", "type": "other" }, { "value": "babs@jensen.org", "type": "home" }] },
                { "op": "add", "path": "name", "value": { "middleName": "Ann" } },
                { "op": "add", "path": "nickName", "value": "Babs" },
                { "op": "add", "value": { ENTERPRISE: { "employeeNumber": "42" } } }
            ]),
        )
        .unwrap();
        assert_eq!(u["emails"].as_array().unwrap().len(), 3, "an equal element is not added twice");
        assert_eq!(u["name"]["middleName"], "Ann");
        assert_eq!(u["name"]["givenName"], "Barbara");
        assert_eq!(u["nickName"], "Babs");
        assert_eq!(u[ENTERPRISE]["employeeNumber"], "42");
    }

    #[test]
    fn value_filters_in_paths_pick_the_elements() {
        let mut u = user();
        patch(
            &mut u,
            json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com" }]),
        )
        .unwrap();
        assert_eq!(u["emails"][0]["value"], "new@example.com");
        assert_eq!(u["emails"][1]["value"], "babs@jensen.org");
        patch(&mut u, json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }])).unwrap();
        assert_eq!(u["emails"].as_array().unwrap().len(), 1);
        // A bracket inside the filter's string is not the end of the filter.
        patch(&mut u, json!([{ "op": "add", "path": "emails[value eq \"new@example.com\"].display", "value": "a]b" }]))
            .unwrap();
        assert_eq!(u["emails"][0]["display"], "a]b");
        let e = patch(&mut u, json!([{ "op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x" }]))
            .unwrap_err();
        assert_eq!(e.scim_type, ScimType::NoTarget);
        // Removing what is not there changes nothing.
        let before = u.clone();
        patch(&mut u, json!([{ "op": "remove", "path": "emails[type eq \"fax\"]" }])).unwrap();
        assert_eq!(u, before);
    }

    #[test]
    fn group_membership_changes_the_ways_idps_send_them() {
        let mut g = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Ops",
            "members": [{ "value": "usr_1" }, { "value": "usr_2" }]
        });
        patch(&mut g, json!([{ "op": "add", "path": "members", "value": [{ "value": "usr_3" }] }])).unwrap();
        // Okta: a filtered remove; Entra ID: remove with the members listed.
        patch(&mut g, json!([{ "op": "remove", "path": "members[value eq \"usr_1\"]" }])).unwrap();
        patch(&mut g, json!([{ "op": "Remove", "path": "members", "value": [{ "value": "usr_2" }] }])).unwrap();
        assert_eq!(g["members"], json!([{ "value": "usr_3" }]));
        // Member ids are case-exact.
        patch(&mut g, json!([{ "op": "remove", "path": "members[value eq \"USR_3\"]" }])).unwrap();
        assert_eq!(g["members"], json!([{ "value": "usr_3" }]));
        // Replacing the list; removing the last member unassigns it.
        patch(&mut g, json!([{ "op": "replace", "path": "members", "value": [{ "value": "usr_9" }] }])).unwrap();
        assert_eq!(g["members"], json!([{ "value": "usr_9" }]));
        patch(&mut g, json!([{ "op": "remove", "path": "members[value eq \"usr_9\"]" }])).unwrap();
        assert!(g.get("members").is_none());
        patch(&mut g, json!([{ "op": "replace", "value": { "displayName": "Ops EU" } }])).unwrap();
        assert_eq!(g["displayName"], "Ops EU");
    }

    #[test]
    fn a_whole_extension_is_added_replaced_and_removed_by_its_urn() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut u = user();
        u[ent] = json!({"department": "R&D", "costCenter": "1"});
        let op = |op: &str, value: Value| json!([{"op": op, "path": ent, "value": value}]);
        patch(&mut u, op("replace", json!({"schemas": [ent], "division": "EU"}))).unwrap();
        assert_eq!(u[ent], json!({"division": "EU"}));
        patch(&mut u, op("add", json!({"schemas": [ent], "department": "Ops"}))).unwrap();
        assert_eq!(u[ent], json!({"division": "EU", "department": "Ops"}));
        patch(&mut u, json!([{"op": "remove", "path": ent}])).unwrap();
        assert!(u.get(ent).is_none());
        assert!(patch(&mut u, op("add", json!("x"))).is_err());
    }

    #[test]
    fn remove_takes_attributes_and_sub_attributes() {
        let mut u = user();
        patch(&mut u, json!([{ "op": "remove", "path": "name.familyName" }, { "op": "remove", "path": "nickName" }]))
            .unwrap();
        assert_eq!(u["name"], json!({ "givenName": "Barbara" }));
        patch(&mut u, json!([{ "op": "remove", "path": "name.givenName" }])).unwrap();
        assert!(u.get("name").is_none(), "an emptied complex attribute is unassigned");
        patch(&mut u, json!([{ "op": "remove", "path": "emails" }])).unwrap();
        assert!(u.get("emails").is_none());
    }

    #[test]
    fn a_failing_operation_leaves_the_resource_unchanged() {
        let mut u = user();
        let before = u.clone();
        let e = patch(
            &mut u,
            json!([
                { "op": "replace", "path": "userName", "value": "changed@example.com" },
                { "op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x" }
            ]),
        )
        .unwrap_err();
        assert!(e.detail.starts_with("operation 2:"), "{}", e.detail);
        assert_eq!(u, before);
    }

    #[test]
    fn malformed_requests_name_what_is_wrong() {
        let cases = [
            (json!({ "Operations": [] }), ScimType::InvalidSyntax, "schemas"),
            (json!({ "schemas": [PATCH_OP_SCHEMA] }), ScimType::InvalidSyntax, "Operations"),
            (json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [] }), ScimType::InvalidSyntax, "1 to"),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "move" }] }),
                ScimType::InvalidSyntax,
                "add, replace or remove",
            ),
            (json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "remove" }] }), ScimType::NoTarget, "path"),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": "x" }] }),
                ScimType::InvalidSyntax,
                "value",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "value": "x" }] }),
                ScimType::InvalidValue,
                "object",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": 5, "value": 1 }] }),
                ScimType::InvalidPath,
                "string",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": "a..b", "value": 1 }] }),
                ScimType::InvalidPath,
                "sub-attribute",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": "9lives", "value": 1 }] }),
                ScimType::InvalidPath,
                "attribute path",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": "emails[type eq]", "value": 1 }] }),
                ScimType::InvalidFilter,
                "value",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": "emails[type eq \"a\"", "value": 1 }] }),
                ScimType::InvalidPath,
                "not closed",
            ),
            (
                json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": [{ "op": "add", "path": "emails[type eq \"a\"]x", "value": 1 }] }),
                ScimType::InvalidPath,
                "sub-attribute",
            ),
        ];
        for (body, scim_type, says) in cases {
            let e = parse_request(&body).expect_err(&body.to_string());
            assert_eq!(e.scim_type, scim_type, "{body}: {}", e.detail);
            assert!(e.detail.contains(says), "{body}: {}", e.detail);
        }
        let many: Vec<Value> = (0..=MAX_OPERATIONS).map(|_| json!({ "op": "remove", "path": "x" })).collect();
        let body = json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": many });
        assert_eq!(parse_request(&body).unwrap_err().scim_type, ScimType::InvalidSyntax);
        // A schema the resource does not have.
        let mut u = user();
        let e =
            patch(&mut u, json!([{ "op": "add", "path": "urn:example:other:1.0:User:x", "value": 1 }])).unwrap_err();
        assert_eq!(e.scim_type, ScimType::InvalidPath);
    }

    #[test]
    fn no_request_makes_it_panic() {
        // Operations assembled from the pieces IdPs send, in random order
        // against a user and a group: each applies or is refused.
        let paths = [
            Value::Null,
            json!("emails"),
            json!("emails[type eq \"work\"]"),
            json!("emails[type eq \"work\"].value"),
            json!("name"),
            json!("name.givenName"),
            json!("active"),
            json!("members"),
            json!("members[value eq \"u\"]"),
            json!(format!("{ENTERPRISE}:manager.value")),
            json!("emails[value co \"]\"].type"),
            json!("["),
            json!(""),
            json!("userName"),
            json!("x.y.z"),
        ];
        let values = [
            Value::Null,
            json!("v"),
            json!("False"),
            json!(1),
            json!([]),
            json!([{ "value": "u" }]),
            json!({}),
            json!({ "active": false, "name.familyName": "J" }),
            json!({ ENTERPRISE: { "department": "d" } }),
            json!({ ENTERPRISE: 5 }),
            json!([1, [2]]),
            json!({ "value": "u", "type": "work" }),
        ];
        let ops = ["add", "Replace", "remove", "REMOVE", "bad"];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..5_000 {
            let mut r = if next(2) == 0 {
                user()
            } else {
                json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "members": [{ "value": "u" }] })
            };
            let list: Vec<Value> = (0..1 + next(4))
                .map(|_| {
                    let mut o = json!({ "op": ops[next(ops.len())] });
                    let p = &paths[next(paths.len())];
                    if !p.is_null() {
                        o["path"] = p.clone();
                    }
                    let v = &values[next(values.len())];
                    if !v.is_null() {
                        o["value"] = v.clone();
                    }
                    o
                })
                .collect();
            let _ = patch(&mut r, Value::Array(list));
        }
    }
}
