//! The schemas Tessera serves (RFC 7643 §4 and §8.7): the core User with the
//! enterprise extension, and the core Group. One definition answers three
//! questions: what `/Schemas` publishes, how filters compare (`caseExact`),
//! and how PATCH treats an attribute (multi-valued, booleans).

use serde_json::{json, Value};

use super::filter::AttrPath;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
}

/// One attribute of a schema (RFC 7643 §7).
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Kind,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `server`: unique within the tenant.
    pub unique: bool,
    pub description: &'static str,
    pub sub_attributes: &'static [Attribute],
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
}

const fn attr(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind: Kind::String,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        description,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
    }
}

const fn complex(name: &'static str, description: &'static str, subs: &'static [Attribute]) -> Attribute {
    Attribute { kind: Kind::Complex, sub_attributes: subs, ..attr(name, description) }
}

const fn multi(a: Attribute) -> Attribute {
    Attribute { multi_valued: true, ..a }
}

const fn boolean(name: &'static str, description: &'static str) -> Attribute {
    Attribute { kind: Kind::Boolean, ..attr(name, description) }
}

const fn read_only(a: Attribute) -> Attribute {
    Attribute { mutability: Mutability::ReadOnly, ..a }
}

const fn exact(a: Attribute) -> Attribute {
    Attribute { case_exact: true, ..a }
}

const fn reference(name: &'static str, description: &'static str, types: &'static [&'static str]) -> Attribute {
    Attribute { kind: Kind::Reference, reference_types: types, case_exact: true, ..attr(name, description) }
}

const fn canonical(a: Attribute, values: &'static [&'static str]) -> Attribute {
    Attribute { canonical_values: values, ..a }
}

/// The sub-attributes shared by the multi-valued attributes (RFC 7643
/// §2.4): `value`, `display`, `type`, `primary`.
const fn typed_value(types: &'static [&'static str]) -> [Attribute; 4] {
    [
        attr("value", "The value, e.g. an email address or a phone number."),
        attr("display", "A human-readable name, for display only."),
        canonical(attr("type", "A label for the value's function."), types),
        boolean("primary", "Whether this is the primary value; at most one is."),
    ]
}

const EMAIL_SUBS: [Attribute; 4] = {
    // An entry without an address means nothing; a client that fills only
    // required attributes then sends one.
    let [value, display, kind, primary] = typed_value(&["work", "home", "other"]);
    [Attribute { required: true, ..value }, display, kind, primary]
};
const PHONE_SUBS: [Attribute; 4] = typed_value(&["work", "home", "mobile", "fax", "pager", "other"]);

const NAME_SUBS: [Attribute; 6] = [
    attr("formatted", "The full name, formatted for display."),
    attr("familyName", "The family name."),
    attr("givenName", "The given name."),
    attr("middleName", "The middle name(s)."),
    attr("honorificPrefix", "The honorific prefix, e.g. Ms."),
    attr("honorificSuffix", "The honorific suffix, e.g. III."),
];

const GROUP_REF_SUBS: [Attribute; 4] = [
    read_only(exact(attr("value", "The group's id."))),
    read_only(reference("$ref", "The group's URI.", &["Group"])),
    read_only(attr("display", "The group's display name.")),
    read_only(canonical(attr("type", "How the user is a member."), &["direct"])),
];

pub const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..attr("userName", "The unique identifier the user signs in with: Tessera's email address.")
    },
    complex("name", "The user's name, in parts.", &NAME_SUBS),
    attr("displayName", "The name to display."),
    attr("nickName", "The casual name."),
    reference("profileUrl", "A URL of the user's online profile.", &["external"]),
    attr("title", "The user's title, e.g. Vice President."),
    attr("userType", "The relationship to the organisation, e.g. Employee."),
    attr("preferredLanguage", "The preferred written or spoken language (RFC 7231 Accept-Language)."),
    attr("locale", "The locale, for localising currency and dates."),
    attr("timezone", "The time zone, in the IANA database's format."),
    boolean("active", "Whether the user may sign in: false blocks them and ends their sessions."),
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        case_exact: true,
        ..attr("password", "The user's password; never returned.")
    },
    // Required: Tessera's users sign in with an address, so a client that
    // fills only the required attributes sends one.
    Attribute {
        required: true,
        ..multi(complex(
            "emails",
            "Email addresses; the primary one is the address the user signs in with.",
            &EMAIL_SUBS,
        ))
    },
    multi(complex("phoneNumbers", "Phone numbers.", &PHONE_SUBS)),
    read_only(multi(complex("groups", "The groups the user is in (managed through the groups).", &GROUP_REF_SUBS))),
];

const MANAGER_SUBS: [Attribute; 3] = [
    exact(attr("value", "The manager's id.")),
    reference("$ref", "The manager's URI.", &["User"]),
    read_only(attr("displayName", "The manager's display name.")),
];

pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    attr("employeeNumber", "The employee number."),
    attr("costCenter", "The cost center."),
    attr("organization", "The organisation."),
    attr("division", "The division."),
    attr("department", "The department."),
    complex("manager", "The user's manager.", &MANAGER_SUBS),
];

const MEMBER_SUBS: [Attribute; 4] = [
    Attribute { mutability: Mutability::Immutable, ..exact(attr("value", "The member's id.")) },
    Attribute { mutability: Mutability::Immutable, ..reference("$ref", "The member's URI.", &["User", "Group"]) },
    read_only(attr("display", "The member's display name.")),
    Attribute { mutability: Mutability::Immutable, ..canonical(attr("type", "The member's kind."), &["User"]) },
];

pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute { required: true, unique: true, ..attr("displayName", "The group's name.") },
    multi(complex("members", "The group's members: users.", &MEMBER_SUBS)),
];

/// The attributes every resource has (RFC 7643 §3.1), not in any schema's
/// list: `id`, `externalId`, `meta`.
const ID: Attribute =
    Attribute { returned: Returned::Always, ..read_only(exact(attr("id", "The id Tessera gave it."))) };
const EXTERNAL_ID: Attribute = exact(attr("externalId", "The provisioning client's own id for it."));
const META_SUBS: [Attribute; 5] = [
    read_only(exact(attr("resourceType", "User or Group."))),
    read_only(Attribute { kind: Kind::DateTime, ..attr("created", "When it was created.") }),
    read_only(Attribute { kind: Kind::DateTime, ..attr("lastModified", "When it last changed.") }),
    read_only(reference("location", "Its URI.", &["uri"])),
    read_only(exact(attr("version", "Its version, as an ETag."))),
];
const META: Attribute = read_only(complex("meta", "Resource metadata.", &META_SUBS));

/// A resource type's schemas: the core one, and its extensions.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    pub core: (&'static str, &'static [Attribute]),
    pub extensions: &'static [(&'static str, &'static [Attribute])],
}

pub const USER_SCHEMA: ResourceSchema =
    ResourceSchema { core: (USER, USER_ATTRIBUTES), extensions: &[(ENTERPRISE_USER, ENTERPRISE_ATTRIBUTES)] };
pub const GROUP_SCHEMA: ResourceSchema = ResourceSchema { core: (GROUP, GROUP_ATTRIBUTES), extensions: &[] };

fn find(attrs: &[Attribute], name: &str) -> Option<Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name)).copied()
}

impl ResourceSchema {
    /// The attribute a path names (its sub-attribute when it has one).
    pub fn attribute(&self, path: &AttrPath) -> Option<Attribute> {
        let attrs = match &path.uri {
            None => self.core.1,
            Some(uri) if uri.eq_ignore_ascii_case(self.core.0) => self.core.1,
            Some(uri) => self.extensions.iter().find(|(u, _)| u.eq_ignore_ascii_case(uri))?.1,
        };
        let top = find(attrs, &path.name).or_else(|| {
            (path.uri.is_none() || path.uri.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(self.core.0)))
                .then_some([ID, EXTERNAL_ID, META])
                .and_then(|common| find(&common, &path.name))
        })?;
        match &path.sub {
            None => Some(top),
            Some(sub) => find(top.sub_attributes, sub),
        }
    }
}

impl super::patch::Schema for ResourceSchema {
    fn multi_valued(&self, path: &AttrPath) -> bool {
        let top = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
        self.attribute(&top).is_some_and(|a| a.multi_valued)
    }

    fn case_exact(&self, path: &AttrPath) -> bool {
        self.attribute(path).is_some_and(|a| a.case_exact)
    }

    fn is_extension(&self, urn: &str) -> bool {
        self.extensions.iter().any(|(u, _)| u.eq_ignore_ascii_case(urn))
    }

    /// Entra ID sends booleans as `"True"`/`"False"`.
    fn coerce(&self, path: &AttrPath, value: Value) -> Value {
        let is_bool = self.attribute(path).is_some_and(|a| a.kind == Kind::Boolean);
        match value {
            Value::String(s) if is_bool && s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if is_bool && s.eq_ignore_ascii_case("false") => Value::Bool(false),
            Value::Array(items) if !items.is_empty() => {
                // A multi-valued complex attribute's elements: coerce each
                // sub-attribute (`{"primary": "True"}`).
                let top = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
                Value::Array(items.into_iter().map(|v| coerce_members(self, &top, v)).collect())
            }
            v @ Value::Object(_) if path.sub.is_none() => coerce_members(self, path, v),
            v => v,
        }
    }
}

fn coerce_members(schema: &ResourceSchema, parent: &AttrPath, value: Value) -> Value {
    use super::patch::Schema;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let sub = parent.with_sub(&k);
                    let v = match v {
                        Value::String(_) => schema.coerce(&sub, v),
                        v => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        v => v,
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::DateTime => "dateTime",
        Kind::Reference => "reference",
        Kind::Complex => "complex",
    }
}

fn attribute_json(a: &Attribute) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": kind_name(a.kind),
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
        },
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if !a.sub_attributes.is_empty() {
        v["subAttributes"] = a.sub_attributes.iter().map(attribute_json).collect();
    }
    if !a.canonical_values.is_empty() {
        v["canonicalValues"] = json!(a.canonical_values);
    }
    if !a.reference_types.is_empty() {
        v["referenceTypes"] = json!(a.reference_types);
    }
    v
}

/// A schema's representation for `/Schemas` (RFC 7643 §7), `location`
/// under `base` (`https://host/t/acme/scim/v2`).
pub fn schema_json(id: &str, name: &str, description: &str, attrs: &[Attribute], base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attrs.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
    })
}

/// Every schema served, in `/Schemas` order.
pub fn all(base: &str) -> Vec<Value> {
    vec![
        schema_json(USER, "User", "User Account", USER_ATTRIBUTES, base),
        schema_json(ENTERPRISE_USER, "EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRIBUTES, base),
        schema_json(GROUP, "Group", "Group", GROUP_ATTRIBUTES, base),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::Schema;

    #[test]
    fn paths_find_their_attributes_in_any_case_and_schema() {
        let s = USER_SCHEMA;
        let a = |p: &str| s.attribute(&AttrPath::parse(p).unwrap());
        assert!(a("USERNAME").is_some_and(|a| a.unique && !a.case_exact));
        assert!(a("emails").is_some_and(|a| a.multi_valued));
        assert!(a("name.givenName").is_some());
        assert!(a("id").is_some_and(|a| a.case_exact));
        assert!(a("meta.lastModified").is_some_and(|a| a.kind == Kind::DateTime));
        assert!(a(&format!("{ENTERPRISE_USER}:manager.value")).is_some_and(|a| a.case_exact));
        assert!(a(&format!("{USER}:userName")).is_some());
        assert!(a("shoeSize").is_none() && a("name.shoeSize").is_none());
        assert!(a("urn:example:other:User:userName").is_none());
        assert!(s.is_extension(&ENTERPRISE_USER.to_uppercase()) && !s.is_extension(USER));
        assert!(GROUP_SCHEMA.multi_valued(&AttrPath::parse("members").unwrap()));
    }

    #[test]
    fn booleans_sent_as_strings_become_booleans() {
        let s = USER_SCHEMA;
        let p = |t: &str| AttrPath::parse(t).unwrap();
        assert_eq!(s.coerce(&p("active"), json!("False")), json!(false));
        assert_eq!(s.coerce(&p("active"), json!("TRUE")), json!(true));
        assert_eq!(s.coerce(&p("displayName"), json!("False")), json!("False"));
        assert_eq!(
            s.coerce(&p("emails"), json!([{ "value": "a@b.c", "primary": "True" }])),
            json!([{ "value": "a@b.c", "primary": true }])
        );
    }

    #[test]
    fn the_published_schemas_say_what_the_definitions_say() {
        let all = all("https://id.example.com/t/acme/scim/v2");
        assert_eq!(all.len(), 3);
        let user = &all[0];
        assert_eq!(user["meta"]["location"], format!("https://id.example.com/t/acme/scim/v2/Schemas/{USER}"));
        let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        let password = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(
            (password["returned"].as_str(), password["mutability"].as_str()),
            (Some("never"), Some("writeOnly"))
        );
        let emails = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["subAttributes"].as_array().unwrap().len(), 4);
        assert_eq!(emails["required"], true);
    }
}
