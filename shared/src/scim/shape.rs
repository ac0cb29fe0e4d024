//! A resource as a client wrote it, checked against its schema and put in
//! canonical form before it is stored (RFC 7643 §2, RFC 7644 §3.3):
//! attribute names take the schema's spelling, Entra ID's `"True"` becomes
//! `true`, a single value of a multi-valued attribute becomes a list, and
//! `null` means "unassigned".
//!
//! Read-only attributes (`id`, `meta`, `groups`) are dropped, as §3.5.1
//! says the server SHALL ignore them; so are attributes no schema defines
//! (the stored resource then holds only what `/Schemas` announces).

use serde_json::{Map, Value};

use super::filter::AttrPath;
use super::patch::Schema;
use super::schema::{Attribute, Kind, Mutability, ResourceSchema};
use super::ScimType;

/// Why a resource was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub scim_type: ScimType,
    pub detail: String,
}

fn invalid<T>(detail: String) -> Result<T, ShapeError> {
    Err(ShapeError { scim_type: ScimType::InvalidValue, detail })
}

/// Longest string a client may store in one attribute.
pub const MAX_STRING: usize = 2048;
/// Most elements of one multi-valued attribute (group members aside).
pub const MAX_ELEMENTS: usize = 100;

/// The canonical form of `input` (a JSON object) under `schema`, without
/// `schemas`, read-only and write-only attributes. `password` and other
/// write-only values are the caller's to take out first.
pub fn clean(schema: &ResourceSchema, input: &Value) -> Result<Map<String, Value>, ShapeError> {
    let Some(object) = input.as_object() else {
        return Err(ShapeError { scim_type: ScimType::InvalidSyntax, detail: "the body must be a JSON object".into() });
    };
    let mut out = Map::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some((urn, attrs)) = schema.extensions.iter().find(|(u, _)| u.eq_ignore_ascii_case(key)) {
            let ext = match value {
                Value::Null => continue,
                Value::Object(_) => clean_attributes(schema, urn, attrs, value)?,
                _ => return invalid(format!("\"{urn}\" must be an object of the extension's attributes")),
            };
            if !ext.is_empty() {
                out.insert((*urn).to_string(), Value::Object(ext));
            }
            continue;
        }
        let path = AttrPath { uri: None, name: key.clone(), sub: None };
        let Some(attr) = schema.attribute(&path) else { continue };
        if let Some(v) = clean_value(schema, &path, &attr, value)? {
            out.insert(attr.name.to_string(), v);
        }
    }
    Ok(out)
}

fn clean_attributes(
    schema: &ResourceSchema,
    urn: &str,
    attrs: &[Attribute],
    object: &Value,
) -> Result<Map<String, Value>, ShapeError> {
    let mut out = Map::new();
    for (key, value) in object.as_object().into_iter().flatten() {
        let Some(attr) = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(key)) else { continue };
        let path = AttrPath { uri: Some(urn.to_owned()), name: attr.name.to_string(), sub: None };
        if let Some(v) = clean_value(schema, &path, attr, value)? {
            out.insert(attr.name.to_string(), v);
        }
    }
    Ok(out)
}

/// One attribute's value in canonical form; `None` when it is to be left
/// out (read-only, write-only, null, empty).
fn clean_value(
    schema: &ResourceSchema,
    path: &AttrPath,
    attr: &Attribute,
    value: &Value,
) -> Result<Option<Value>, ShapeError> {
    if matches!(attr.mutability, Mutability::ReadOnly | Mutability::WriteOnly) || value.is_null() {
        return Ok(None);
    }
    let value = schema.coerce(path, value.clone());
    if attr.multi_valued {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        if items.len() > MAX_ELEMENTS {
            return invalid(format!("\"{}\" may hold at most {MAX_ELEMENTS} values", attr.name));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(v) = clean_single(schema, path, attr, item)? {
                out.push(v);
            }
        }
        if attr.kind == Kind::Complex && out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count() > 1
        {
            return invalid(format!("at most one of \"{}\" may be primary (RFC 7643 §2.4)", attr.name));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    clean_single(schema, path, attr, &value)
}

fn clean_single(
    schema: &ResourceSchema,
    path: &AttrPath,
    attr: &Attribute,
    value: &Value,
) -> Result<Option<Value>, ShapeError> {
    let name = match &path.sub {
        Some(sub) => format!("{}.{sub}", path.name),
        None => path.name.clone(),
    };
    match (attr.kind, value) {
        (_, Value::Null) => Ok(None),
        (Kind::String | Kind::Reference | Kind::DateTime, Value::String(s)) => {
            if s.len() > MAX_STRING {
                return invalid(format!("\"{name}\" is longer than {MAX_STRING} bytes"));
            }
            if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return invalid(format!("\"{name}\" holds control characters"));
            }
            if attr.kind == Kind::DateTime && chrono::DateTime::parse_from_rfc3339(s).is_err() {
                return invalid(format!("\"{name}\" must be an xsd:dateTime such as 2026-01-31T12:00:00Z"));
            }
            Ok(Some(Value::String(s.clone())))
        }
        (Kind::Boolean, Value::Bool(b)) => Ok(Some(Value::Bool(*b))),
        (Kind::Complex, Value::Object(_)) => {
            let mut out = Map::new();
            for (key, v) in value.as_object().into_iter().flatten() {
                let Some(sub) = attr.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(key)) else {
                    continue;
                };
                let sub_path = path.with_sub(sub.name);
                if let Some(v) = clean_value(schema, &sub_path, sub, v)? {
                    out.insert(sub.name.to_string(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        (kind, _) => invalid(format!("\"{name}\" must be {}", expected(kind, attr.multi_valued))),
    }
}

fn expected(kind: Kind, multi: bool) -> &'static str {
    match (kind, multi) {
        (Kind::Complex, true) => "a list of objects",
        (Kind::Complex, false) => "an object",
        (Kind::Boolean, _) => "a boolean",
        (Kind::DateTime, _) => "a date-time string",
        _ => "a string",
    }
}

/// Whether an attribute is required and absent (RFC 7643 §2.2 `required`).
pub fn missing_required(schema: &ResourceSchema, resource: &Map<String, Value>) -> Option<&'static str> {
    schema
        .core
        .1
        .iter()
        .filter(|a| a.required && a.mutability != Mutability::ReadOnly)
        .find(|a| resource.get(a.name).is_none_or(|v| v.as_str().is_some_and(|s| s.trim().is_empty())))
        .map(|a| a.name)
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA};
    use super::*;
    use serde_json::json;

    #[test]
    fn names_take_the_schemas_spelling_and_values_their_types() {
        let input = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "USERNAME": "ana@example.com",
            "Active": "False",
            "emails": {"value": "ana@example.com", "Primary": "True", "bogus": 1},
            "name": {"givenName": "Ana", "familyName": null},
            "id": "forged",
            "meta": {"created": "2020-01-01T00:00:00Z"},
            "groups": [{"value": "grp_1"}],
            "unknownThing": 5,
            ENTERPRISE_USER: {"department": "R&D", "manager": {"value": "usr_2", "displayName": "ignored"}}
        });
        let out = clean(&USER_SCHEMA, &input).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "userName": "ana@example.com",
                "active": false,
                "emails": [{"value": "ana@example.com", "primary": true}],
                "name": {"givenName": "Ana"},
                ENTERPRISE_USER: {"department": "R&D", "manager": {"value": "usr_2"}}
            })
        );
    }

    #[test]
    fn wrong_types_and_two_primaries_are_invalid_values() {
        for bad in [
            json!({"userName": 5}),
            json!({"active": "maybe"}),
            json!({"name": "Ana"}),
            json!({"emails": [{"value": "a@x.io", "primary": true}, {"value": "b@x.io", "primary": true}]}),
            json!({"emails": [{"value": 7}]}),
            json!({"userName": "a\u{0}b"}),
            json!({"userName": "x".repeat(MAX_STRING + 1)}),
            json!({ENTERPRISE_USER: "R&D"}),
        ] {
            let e = clean(&USER_SCHEMA, &bad).unwrap_err();
            assert_eq!(e.scim_type, ScimType::InvalidValue, "{bad}");
        }
        assert_eq!(clean(&USER_SCHEMA, &json!([1])).unwrap_err().scim_type, ScimType::InvalidSyntax);
    }

    #[test]
    fn required_attributes_are_checked() {
        let out = clean(&GROUP_SCHEMA, &json!({"displayName": "  "})).unwrap();
        assert_eq!(missing_required(&GROUP_SCHEMA, &out), Some("displayName"));
        let out = clean(&USER_SCHEMA, &json!({"userName": "ana"})).unwrap();
        assert_eq!(missing_required(&USER_SCHEMA, &out), Some("emails"));
        let out = clean(&USER_SCHEMA, &json!({"userName": "ana", "emails": [{"value": "a@x.io"}]})).unwrap();
        assert_eq!(missing_required(&USER_SCHEMA, &out), None);
    }
}
