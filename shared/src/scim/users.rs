//! The SCIM view of a tenant's users (RFC 7643 §4.1). SCIM users *are* the
//! tenant's users: Tessera's own columns (email, name, blocked) come from
//! the SCIM attributes the tenant's mapping names, and everything else a
//! provisioning client wrote is kept in `scim_users.resource`. A user that
//! never came through SCIM shows with `userName` = email.

use serde_json::{json, Map, Value};

use super::config::{EmailFrom, NameFrom, ScimConfig};
use super::filter::{member, AttrPath, CompareOp, Filter};
use super::schema::{ENTERPRISE_USER, USER, USER_SCHEMA};
use super::shape::{self, ShapeError};
use super::ScimType;
use crate::error::{Error, Result};
use crate::host::{Db, Host, Row, Statement};
use crate::types::{Secret, TenantId};
use crate::users::{self, User};

/// Longest `userName` accepted.
pub const MAX_USER_NAME: usize = 256;

/// A user as SCIM shows it.
#[derive(Debug, Clone)]
pub struct ScimUser {
    pub user: User,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The stored attributes (or, for a user that never came through SCIM,
    /// the ones Tessera's columns give).
    pub attributes: Map<String, Value>,
    /// Whether a provisioning client wrote this user (a `scim_users` row).
    pub provisioned: bool,
    pub groups: Vec<GroupRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display: String,
}

/// The columns every read selects: the user's and the SCIM row's.
const SELECT: &str = "SELECT u.id, u.email, u.email_verified, u.name, u.blocked, u.is_admin, u.created_at,
        u.updated_at, u.last_login_at, u.app_metadata, u.user_metadata,
        s.user_name, s.external_id, s.resource
    FROM users u LEFT JOIN scim_users s ON s.user_id = u.id";

/// The users SCIM sees: not deprovisioned (a user without a row has a NULL
/// `deprovisioned_at` too).
const VISIBLE: &str = "s.deprovisioned_at IS NULL";

/// `userName eq ...`, through the two unique indexes: the SCIM rows'
/// `(tenant_id, user_name_lower)`, then users without a row by their
/// `(tenant_id, email)`. Public for the query-plan test.
pub const BY_USER_NAME: &str = "SELECT u.id, u.email, u.email_verified, u.name, u.blocked, u.is_admin, u.created_at,
        u.updated_at, u.last_login_at, u.app_metadata, u.user_metadata,
        s.user_name, s.external_id, s.resource
    FROM scim_users s JOIN users u ON u.id = s.user_id
    WHERE s.tenant_id = ?1 AND s.user_name_lower = ?2 AND s.deprovisioned_at IS NULL
    UNION ALL
    SELECT u.id, u.email, u.email_verified, u.name, u.blocked, u.is_admin, u.created_at,
        u.updated_at, u.last_login_at, u.app_metadata, u.user_metadata,
        NULL, NULL, NULL
    FROM users u
    WHERE u.tenant_id = ?1 AND u.email = ?2 AND NOT EXISTS (SELECT 1 FROM scim_users s WHERE s.user_id = u.id)";

impl ScimUser {
    fn from_row(r: &Row) -> Result<Self> {
        let user = User::from_row(r)?;
        let stored = r.opt_text("resource")?;
        let provisioned = stored.is_some();
        let attributes = match stored {
            Some(text) => serde_json::from_str::<Map<String, Value>>(&text).unwrap_or_default(),
            None => native_attributes(&user),
        };
        Ok(ScimUser {
            user_name: r.opt_text("user_name")?.unwrap_or_else(|| user.email.clone()),
            external_id: r.opt_text("external_id")?,
            attributes,
            provisioned,
            groups: Vec::new(),
            user,
        })
    }

    /// The resource as `GET /Users/{id}` returns it; `base` is the SCIM
    /// root (`https://host/t/acme/scim/v2`).
    pub fn to_json(&self, base: &str) -> Value {
        let mut r = self.attributes.clone();
        let mut schemas = vec![Value::from(USER)];
        if r.contains_key(ENTERPRISE_USER) {
            schemas.push(ENTERPRISE_USER.into());
        }
        r.insert("schemas".into(), Value::Array(schemas));
        r.insert("id".into(), self.user.id.as_str().into());
        r.insert("userName".into(), self.user_name.clone().into());
        if let Some(x) = &self.external_id {
            r.insert("externalId".into(), x.clone().into());
        }
        // Tessera's blocked flag is the truth; shown when the client set
        // `active`, when the user is blocked, and for users no client wrote.
        if r.contains_key("active") || self.user.blocked || !self.provisioned {
            r.insert("active".into(), (!self.user.blocked).into());
        }
        if !self.groups.is_empty() {
            let groups = self
                .groups
                .iter()
                .map(|g| json!({ "value": g.id, "display": g.display, "$ref": format!("{base}/Groups/{}", g.id), "type": "direct" }))
                .collect();
            r.insert("groups".into(), Value::Array(groups));
        }
        let version = super::version(&Value::Object(r.clone()));
        r.insert(
            "meta".into(),
            json!({
                "resourceType": "User",
                "created": super::datetime(self.user.created_at),
                "lastModified": super::datetime(self.user.updated_at),
                "location": format!("{base}/Users/{}", self.user.id),
                "version": version,
            }),
        );
        Value::Object(r)
    }
}

/// What Tessera's columns say in SCIM terms, for a user no client wrote.
fn native_attributes(user: &User) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("emails".into(), json!([{ "value": user.email, "primary": true }]));
    if let Some(n) = &user.name {
        m.insert("displayName".into(), n.clone().into());
    }
    m
}

async fn attach_groups<H: Host>(host: &H, tenant: &TenantId, users: &mut [ScimUser]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = users.iter().map(|u| u.user.id.as_str()).collect();
    let rows = host
        .db()
        .query(
            "SELECT m.user_id, g.id, g.display_name FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id
             WHERE m.tenant_id = ?1 AND m.user_id IN (SELECT value FROM json_each(?2)) ORDER BY g.id",
            &[tenant.as_str().into(), Value::from(ids).to_string().into()],
        )
        .await?;
    for r in rows {
        let user_id = r.text("user_id")?;
        if let Some(u) = users.iter_mut().find(|u| u.user.id.as_str() == user_id) {
            u.groups.push(GroupRef { id: r.text("id")?, display: r.text("display_name")? });
        }
    }
    Ok(())
}

async fn read<H: Host>(host: &H, tenant: &TenantId, sql: &str, params: &[crate::host::Value]) -> Result<Vec<ScimUser>> {
    let rows = host.db().query(sql, params).await?;
    let mut found = rows.iter().map(ScimUser::from_row).collect::<Result<Vec<_>>>()?;
    attach_groups(host, tenant, &mut found).await?;
    Ok(found)
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<ScimUser>> {
    let sql = format!("{SELECT} WHERE u.tenant_id = ?1 AND u.id = ?2 AND {VISIBLE}");
    Ok(read(host, tenant, &sql, &[tenant.as_str().into(), id.into()]).await?.pop())
}

pub async fn find_by_user_name<H: Host>(host: &H, tenant: &TenantId, user_name: &str) -> Result<Option<ScimUser>> {
    let lower = user_name.to_lowercase();
    Ok(read(host, tenant, BY_USER_NAME, &[tenant.as_str().into(), lower.into()]).await?.pop())
}

/// A user deprovisioned under the block policy, by `userName`: a new
/// `POST` with that name provisions the same account again.
pub async fn find_deprovisioned<H: Host>(host: &H, tenant: &TenantId, user_name: &str) -> Result<Option<String>> {
    let rows = host
        .db()
        .query(
            "SELECT user_id FROM scim_users WHERE tenant_id = ?1 AND user_name_lower = ?2 AND deprovisioned_at IS NOT NULL",
            &[tenant.as_str().into(), user_name.to_lowercase().into()],
        )
        .await?;
    rows.first().map(|r| r.text("user_id")).transpose().map_err(Into::into)
}

/// How many users SCIM sees.
pub async fn count<H: Host>(host: &H, tenant: &TenantId) -> Result<i64> {
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT COUNT(*) AS n FROM users u LEFT JOIN scim_users s ON s.user_id = u.id WHERE u.tenant_id = ?1 AND {VISIBLE}"
            ),
            &[tenant.as_str().into()],
        )
        .await?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0))
}

/// One page in id order (`offset` from 0), for an unfiltered list.
pub async fn page<H: Host>(host: &H, tenant: &TenantId, offset: i64, limit: i64) -> Result<Vec<ScimUser>> {
    let sql = format!("{SELECT} WHERE u.tenant_id = ?1 AND {VISIBLE} ORDER BY u.id LIMIT ?2 OFFSET ?3");
    read(host, tenant, &sql, &[tenant.as_str().into(), limit.into(), offset.into()]).await
}

/// Users after `after_id` in id order, `limit` of them: a scan's chunk.
pub async fn chunk<H: Host>(host: &H, tenant: &TenantId, after_id: &str, limit: i64) -> Result<Vec<ScimUser>> {
    let sql = format!("{SELECT} WHERE u.tenant_id = ?1 AND u.id > ?2 AND {VISIBLE} ORDER BY u.id LIMIT ?3");
    read(host, tenant, &sql, &[tenant.as_str().into(), after_id.into(), limit.into()]).await
}

/// The candidates of a filter that an index can find: a `userName`,
/// `externalId` or `id` equality at the top of the filter (alone or in an
/// `and`). `None` when the filter needs a scan.
pub async fn indexed_candidates<H: Host>(
    host: &H,
    tenant: &TenantId,
    filter: &Filter,
) -> Result<Option<Vec<ScimUser>>> {
    let Some((attr, value)) = indexed_equality(filter) else { return Ok(None) };
    let found = match attr {
        "username" => find_by_user_name(host, tenant, &value).await?.into_iter().collect(),
        "externalid" => {
            let sql = format!("{SELECT} WHERE s.tenant_id = ?1 AND s.external_id = ?2 AND {VISIBLE}");
            read(host, tenant, &sql, &[tenant.as_str().into(), value.into()]).await?
        }
        _ => get(host, tenant, &value).await?.into_iter().collect(),
    };
    Ok(Some(found))
}

/// The first `attr eq "string"` on an indexed attribute reachable through
/// `and`s only (any match must satisfy it).
fn indexed_equality(filter: &Filter) -> Option<(&'static str, String)> {
    match filter {
        Filter::Compare(AttrPath { uri, name, sub: None }, CompareOp::Eq, Value::String(v))
            if uri.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(USER)) =>
        {
            ["username", "externalid", "id"].into_iter().find(|a| name.eq_ignore_ascii_case(a)).map(|a| (a, v.clone()))
        }
        Filter::And(a, b) => indexed_equality(a).or_else(|| indexed_equality(b)),
        _ => None,
    }
}

/// A client's resource, read for writing.
pub struct Input {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub password: Option<Secret<String>>,
    pub email: String,
    pub name: Option<String>,
    /// What is stored in `scim_users.resource`.
    pub attributes: Map<String, Value>,
}

fn invalid(e: ShapeError) -> Error {
    super::error(e.scim_type, e.detail)
}

/// Reads a User resource a client sent (POST, PUT, or the result of a
/// PATCH) and maps it onto Tessera's columns by the tenant's mapping.
pub fn read_input(config: &ScimConfig, body: &Value) -> Result<Input> {
    let password = match member(body, "password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(Secret::new(p.clone())),
        Some(_) => return Err(super::error(ScimType::InvalidValue, "\"password\" must be a string")),
    };
    let mut attributes = shape::clean(&USER_SCHEMA, body).map_err(invalid)?;
    // `emails` is required by the mapping only (`email_of`): a tenant that
    // takes the address from userName needs none.
    let user_name = match attributes.remove("userName") {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => String::new(),
    };
    if user_name.is_empty() {
        return Err(super::error(ScimType::InvalidValue, "\"userName\" is required"));
    }
    if user_name.len() > MAX_USER_NAME {
        return Err(super::error(ScimType::InvalidValue, format!("\"userName\" may be at most {MAX_USER_NAME} bytes")));
    }
    let external_id = match attributes.remove("externalId") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    // `active` stays in the stored attributes too: a client that never set
    // it (or removed it) sees it unassigned, as it left it.
    let active = !matches!(attributes.get("active"), Some(Value::Bool(false)));
    let email = email_of(config, &user_name, &attributes)?;
    let name = name_of(config, &attributes)
        .map(|n| users::validate_display_name(&n))
        .transpose()
        .map_err(|e| super::error(ScimType::InvalidValue, e.detail))?
        .filter(|n| !n.is_empty());
    Ok(Input { user_name, external_id, active, password, email, name, attributes })
}

fn email_of(config: &ScimConfig, user_name: &str, attributes: &Map<String, Value>) -> Result<String> {
    let emails: Vec<&Value> = attributes.get("emails").and_then(Value::as_array).into_iter().flatten().collect();
    let primary = emails.iter().find(|e| e.get("primary") == Some(&Value::Bool(true))).or(emails.first());
    let from_emails = primary.and_then(|e| e.get("value")).and_then(Value::as_str);
    let (candidate, what) = match config.attribute_map.email {
        EmailFrom::Emails => match from_emails {
            Some(e) => (e, "the primary entry of \"emails\""),
            None => (user_name, "\"userName\" (there is no \"emails\" entry)"),
        },
        EmailFrom::UserName => (user_name, "\"userName\""),
    };
    users::normalize_email(candidate).map_err(|_| {
        super::error(ScimType::InvalidValue, format!("{what} must be an email address: users sign in with it"))
    })
}

fn name_of(config: &ScimConfig, attributes: &Map<String, Value>) -> Option<String> {
    let display = attributes.get("displayName").and_then(Value::as_str).map(str::to_owned);
    let name = attributes.get("name");
    let formatted = name.and_then(|n| n.get("formatted")).and_then(Value::as_str).map(str::to_owned);
    let parts = name.and_then(|n| {
        let given = n.get("givenName").and_then(Value::as_str).unwrap_or("");
        let family = n.get("familyName").and_then(Value::as_str).unwrap_or("");
        let joined = format!("{given} {family}").trim().to_string();
        (!joined.is_empty()).then_some(joined)
    });
    match config.attribute_map.name {
        NameFrom::DisplayName => display.or(formatted).or(parts),
        NameFrom::Name => formatted.or(parts).or(display),
    }
}

/// Writes the SCIM row of a user (insert or replace; provisioning again
/// clears a deprovisioning).
pub fn upsert_statement(tenant: &TenantId, user_id: &str, input: &Input) -> Statement {
    Statement::new(
        "INSERT INTO scim_users (user_id, tenant_id, user_name, user_name_lower, external_id, resource, deprovisioned_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)
         ON CONFLICT (user_id) DO UPDATE SET user_name = ?3, user_name_lower = ?4, external_id = ?5, resource = ?6,
           deprovisioned_at = NULL",
        vec![
            user_id.into(),
            tenant.as_str().into(),
            input.user_name.clone().into(),
            input.user_name.to_lowercase().into(),
            input.external_id.clone().into(),
            Value::Object(input.attributes.clone()).to_string().into(),
        ],
    )
}

/// Marks a user deprovisioned (the block policy's DELETE).
pub fn deprovision_statement(tenant: &TenantId, user_id: &str, now: i64, user_name: &str) -> Statement {
    Statement::new(
        "INSERT INTO scim_users (user_id, tenant_id, user_name, user_name_lower, resource, deprovisioned_at)
         VALUES (?1, ?2, ?4, ?5, '{}', ?3)
         ON CONFLICT (user_id) DO UPDATE SET deprovisioned_at = ?3",
        vec![user_id.into(), tenant.as_str().into(), now.into(), user_name.into(), user_name.to_lowercase().into()],
    )
}

#[cfg(test)]
mod tests {
    use super::super::config::AttributeMap;
    use super::*;

    fn config(email: EmailFrom, name: NameFrom) -> ScimConfig {
        ScimConfig { attribute_map: AttributeMap { email, name }, ..ScimConfig::default() }
    }

    #[test]
    fn the_mapping_picks_email_and_name() {
        let body = json!({
            "userName": "Ana.Lima@Corp.Example",
            "displayName": "Ana L.",
            "name": {"givenName": "Ana", "familyName": "Lima", "formatted": "Ms. Ana Lima"},
            "emails": [{"value": "ana@home.example"}, {"value": "ana@work.example", "primary": "True"}],
            "active": "False",
            "externalId": "00u1",
            "password": "correct horse battery"
        });
        let i = read_input(&config(EmailFrom::Emails, NameFrom::DisplayName), &body).unwrap();
        assert_eq!((i.email.as_str(), i.name.as_deref()), ("ana@work.example", Some("Ana L.")));
        assert_eq!(
            (i.user_name.as_str(), i.external_id.as_deref(), i.active),
            ("Ana.Lima@Corp.Example", Some("00u1"), false)
        );
        assert_eq!(i.password.as_ref().map(|p| p.expose().as_str()), Some("correct horse battery"));
        assert!(!i.attributes.contains_key("password") && !i.attributes.contains_key("userName"));
        assert_eq!(i.attributes.get("active"), Some(&Value::Bool(false)));
        let i = read_input(&config(EmailFrom::UserName, NameFrom::Name), &body).unwrap();
        assert_eq!((i.email.as_str(), i.name.as_deref()), ("ana.lima@corp.example", Some("Ms. Ana Lima")));
    }

    #[test]
    fn a_user_without_an_address_or_user_name_is_refused() {
        let c = config(EmailFrom::Emails, NameFrom::DisplayName);
        let e = read_input(&c, &json!({"userName": "ana"})).err().unwrap();
        assert_eq!((e.status().as_u16(), e.code), (400, Some("invalidValue")));
        assert!(e.detail.contains("userName"), "{}", e.detail);
        let e = read_input(&c, &json!({"emails": [{"value": "a@b.io"}]})).err().unwrap();
        assert!(e.detail.contains("userName"), "{}", e.detail);
        assert!(read_input(&c, &json!({"userName": "ana", "emails": [{"value": "ana@x.io"}]})).is_ok());
    }

    #[test]
    fn only_top_level_and_chains_use_an_index() {
        let eq = |f: &str| indexed_equality(&Filter::parse(f).unwrap()).map(|(a, v)| format!("{a}={v}"));
        assert_eq!(eq("userName eq \"Ana\""), Some("username=Ana".into()));
        assert_eq!(eq("active eq true and externalId eq \"x\""), Some("externalid=x".into()));
        assert_eq!(eq("urn:ietf:params:scim:schemas:core:2.0:User:id eq \"usr_1\""), Some("id=usr_1".into()));
        assert_eq!(eq("userName eq \"a\" or displayName eq \"b\""), None);
        assert_eq!(eq("not (userName eq \"a\")"), None);
        assert_eq!(eq("userName co \"a\""), None);
        assert_eq!(eq("name.givenName eq \"a\""), None);
    }
}
