//! SCIM groups (RFC 7643 §4.2): a tenant's named sets of users, as the
//! provisioning client keeps them. Members are users of the same tenant;
//! groups of groups are not offered (the schema says so).

use serde_json::{json, Map, Value};

use super::filter::{member, AttrPath, CompareOp, Filter};
use super::schema::{GROUP, GROUP_SCHEMA};
use super::shape;
use super::ScimType;
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row, Statement};
use crate::types::{GroupId, TenantId};

/// Most members one group may hold.
pub const MAX_MEMBERS: usize = 10_000;
/// Longest `displayName` accepted.
pub const MAX_NAME: usize = 256;

#[derive(Debug, Clone)]
pub struct ScimGroup {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub revision: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// `None` when not read (`excludedAttributes=members`).
    pub members: Option<Vec<Member>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
}

const SELECT: &str = "SELECT id, display_name, external_id, revision, created_at, updated_at FROM scim_groups";

impl ScimGroup {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(ScimGroup {
            id: r.text("id")?,
            display_name: r.text("display_name")?,
            external_id: r.opt_text("external_id")?,
            revision: r.text("revision")?,
            created_at: r.int("created_at")?,
            updated_at: r.int("updated_at")?,
            members: None,
        })
    }

    /// The version: every change, members included, sets a new revision,
    /// so it holds whether or not the members were read.
    pub fn version(&self) -> String {
        format!("W/\"{}\"", self.revision)
    }

    pub fn to_json(&self, base: &str) -> Value {
        let mut r = Map::new();
        r.insert("schemas".into(), json!([GROUP]));
        r.insert("id".into(), self.id.clone().into());
        r.insert("displayName".into(), self.display_name.clone().into());
        if let Some(x) = &self.external_id {
            r.insert("externalId".into(), x.clone().into());
        }
        if let Some(members) = self.members.as_ref().filter(|m| !m.is_empty()) {
            let list = members
                .iter()
                // No `display`: clients compare the members they wrote with
                // the ones read back, and they never write one.
                .map(|m| json!({ "value": m.id, "$ref": format!("{base}/Users/{}", m.id), "type": "User" }))
                .collect();
            r.insert("members".into(), Value::Array(list));
        }
        r.insert(
            "meta".into(),
            json!({
                "resourceType": "Group",
                "created": super::datetime(self.created_at),
                "lastModified": super::datetime(self.updated_at),
                "location": format!("{base}/Groups/{}", self.id),
                "version": self.version(),
            }),
        );
        Value::Object(r)
    }
}

async fn attach_members<H: Host>(host: &H, tenant: &TenantId, groups: &mut [ScimGroup]) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    let rows = host
        .db()
        .query(
            "SELECT group_id, user_id FROM scim_group_members
             WHERE tenant_id = ?1 AND group_id IN (SELECT value FROM json_each(?2)) ORDER BY user_id",
            &[tenant.as_str().into(), Value::from(ids).to_string().into()],
        )
        .await?;
    for g in groups.iter_mut() {
        g.members = Some(Vec::new());
    }
    for r in rows {
        let group_id = r.text("group_id")?;
        if let Some(g) = groups.iter_mut().find(|g| g.id == group_id) {
            g.members.get_or_insert_with(Vec::new).push(Member { id: r.text("user_id")? });
        }
    }
    Ok(())
}

async fn read<H: Host>(
    host: &H,
    tenant: &TenantId,
    sql: &str,
    params: &[crate::host::Value],
    with_members: bool,
) -> Result<Vec<ScimGroup>> {
    let rows = host.db().query(sql, params).await?;
    let mut found = rows.iter().map(ScimGroup::from_row).collect::<Result<Vec<_>>>()?;
    if with_members {
        attach_members(host, tenant, &mut found).await?;
    }
    Ok(found)
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str, with_members: bool) -> Result<Option<ScimGroup>> {
    let sql = format!("{SELECT} WHERE tenant_id = ?1 AND id = ?2");
    Ok(read(host, tenant, &sql, &[tenant.as_str().into(), id.into()], with_members).await?.pop())
}

pub async fn count<H: Host>(host: &H, tenant: &TenantId) -> Result<i64> {
    let rows = host
        .db()
        .query("SELECT COUNT(*) AS n FROM scim_groups WHERE tenant_id = ?1", &[tenant.as_str().into()])
        .await?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0))
}

pub async fn page<H: Host>(
    host: &H,
    tenant: &TenantId,
    offset: i64,
    limit: i64,
    with_members: bool,
) -> Result<Vec<ScimGroup>> {
    let sql = format!("{SELECT} WHERE tenant_id = ?1 ORDER BY id LIMIT ?2 OFFSET ?3");
    read(host, tenant, &sql, &[tenant.as_str().into(), limit.into(), offset.into()], with_members).await
}

pub async fn chunk<H: Host>(
    host: &H,
    tenant: &TenantId,
    after_id: &str,
    limit: i64,
    with_members: bool,
) -> Result<Vec<ScimGroup>> {
    let sql = format!("{SELECT} WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
    read(host, tenant, &sql, &[tenant.as_str().into(), after_id.into(), limit.into()], with_members).await
}

/// Candidates through an index: `displayName`, `externalId` or `id`
/// equality at the top of the filter.
pub async fn indexed_candidates<H: Host>(
    host: &H,
    tenant: &TenantId,
    filter: &Filter,
    with_members: bool,
) -> Result<Option<Vec<ScimGroup>>> {
    let Some((column, value)) = indexed_equality(filter) else { return Ok(None) };
    let sql = format!("{SELECT} WHERE tenant_id = ?1 AND {column} = ?2 ORDER BY id");
    Ok(Some(read(host, tenant, &sql, &[tenant.as_str().into(), value.into()], with_members).await?))
}

fn indexed_equality(filter: &Filter) -> Option<(&'static str, String)> {
    match filter {
        Filter::Compare(AttrPath { uri, name, sub: None }, CompareOp::Eq, Value::String(v))
            if uri.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(GROUP)) =>
        {
            if name.eq_ignore_ascii_case("displayName") {
                Some(("display_name_lower", v.to_lowercase()))
            } else if name.eq_ignore_ascii_case("externalId") {
                Some(("external_id", v.clone()))
            } else if name.eq_ignore_ascii_case("id") {
                Some(("id", v.clone()))
            } else {
                None
            }
        }
        Filter::And(a, b) => indexed_equality(a).or_else(|| indexed_equality(b)),
        _ => None,
    }
}

/// A Group resource a client sent.
pub struct Input {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Member user ids, deduplicated, in the order given.
    pub members: Vec<String>,
}

pub fn read_input(body: &Value) -> Result<Input> {
    // Members are read here, not by the shape check: a group may hold far
    // more than one attribute's usual bound.
    let mut members = Vec::new();
    match member(body, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for m in list {
                let Some(id) = member(m, "value").and_then(Value::as_str) else {
                    return Err(super::error(ScimType::InvalidValue, "each of \"members\" needs a string \"value\""));
                };
                if !members.iter().any(|x| x == id) {
                    members.push(id.to_string());
                }
            }
        }
        Some(_) => return Err(super::error(ScimType::InvalidValue, "\"members\" must be a list")),
    }
    if members.len() > MAX_MEMBERS {
        return Err(super::error(ScimType::InvalidValue, format!("a group may hold at most {MAX_MEMBERS} members")));
    }
    let mut without_members = body.clone();
    if let Some(o) = without_members.as_object_mut() {
        o.retain(|k, _| !k.eq_ignore_ascii_case("members"));
    }
    let mut attributes =
        shape::clean(&GROUP_SCHEMA, &without_members).map_err(|e| super::error(e.scim_type, e.detail))?;
    if let Some(name) = shape::missing_required(&GROUP_SCHEMA, &attributes) {
        return Err(super::error(ScimType::InvalidValue, format!("\"{name}\" is required")));
    }
    let display_name = match attributes.remove("displayName") {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => String::new(),
    };
    if display_name.len() > MAX_NAME {
        return Err(super::error(ScimType::InvalidValue, format!("\"displayName\" may be at most {MAX_NAME} bytes")));
    }
    let external_id = match attributes.remove("externalId") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    Ok(Input { display_name, external_id, members })
}

/// Refuses member ids that are not users SCIM sees in this tenant.
pub async fn check_members<H: Host>(host: &H, tenant: &TenantId, members: &[String]) -> Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    let rows = host
        .db()
        .query(
            "SELECT u.id FROM users u LEFT JOIN scim_users s ON s.user_id = u.id
             WHERE u.tenant_id = ?1 AND u.id IN (SELECT value FROM json_each(?2)) AND s.deprovisioned_at IS NULL",
            &[tenant.as_str().into(), Value::from(members.to_vec()).to_string().into()],
        )
        .await?;
    if rows.len() == members.len() {
        return Ok(());
    }
    let found: Vec<String> = rows.iter().filter_map(|r| r.text("id").ok()).collect();
    let missing = members.iter().find(|m| !found.contains(m)).cloned().unwrap_or_default();
    Err(super::error(ScimType::InvalidValue, format!("no user has the id \"{missing}\" (members are users)")))
}

fn new_revision<H: Host>(host: &H) -> String {
    crate::crypto::hex(&host.random_bytes::<8>())
}

/// The statements that set a group's members, run only when the group
/// holds `revision` (the write they belong to happened).
fn members_statements(tenant: &TenantId, group_id: &str, revision: &str, members: &[String]) -> Vec<Statement> {
    let guard = "EXISTS (SELECT 1 FROM scim_groups WHERE id = ?1 AND revision = ?2)";
    vec![
        Statement::new(
            format!("DELETE FROM scim_group_members WHERE group_id = ?1 AND {guard}"),
            vec![group_id.into(), revision.into()],
        ),
        Statement::new(
            format!(
                "INSERT INTO scim_group_members (group_id, user_id, tenant_id)
                 SELECT ?1, value, ?3 FROM json_each(?4) WHERE {guard}"
            ),
            vec![
                group_id.into(),
                revision.into(),
                tenant.as_str().into(),
                Value::from(members.to_vec()).to_string().into(),
            ],
        ),
    ]
}

pub async fn create<H: Host>(host: &H, tenant: &TenantId, input: Input) -> Result<ScimGroup> {
    check_members(host, tenant, &input.members).await?;
    let now = host.now();
    let id = GroupId::generate(host).0;
    let revision = new_revision(host);
    let mut stmts = vec![Statement::new(
        "INSERT INTO scim_groups (id, tenant_id, display_name, display_name_lower, external_id, revision, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        vec![
            id.as_str().into(),
            tenant.as_str().into(),
            input.display_name.clone().into(),
            input.display_name.to_lowercase().into(),
            input.external_id.clone().into(),
            revision.as_str().into(),
            now.into(),
        ],
    )];
    stmts.extend(members_statements(tenant, &id, &revision, &input.members));
    host.db().batch(stmts).await.map_err(member_vanished)?;
    get(host, tenant, &id, true).await?.ok_or_else(|| Error::server("a group vanished as it was created"))
}

/// Replaces the attributes and members of a group that still holds
/// `revision` (the one read, or the one `If-Match` named); `false` when it
/// changed meanwhile and nothing was written.
pub async fn replace<H: Host>(host: &H, tenant: &TenantId, id: &str, input: Input, revision: &str) -> Result<bool> {
    check_members(host, tenant, &input.members).await?;
    let next = new_revision(host);
    let mut stmts = vec![Statement::new(
        "UPDATE scim_groups SET display_name = ?1, display_name_lower = ?2, external_id = ?3, revision = ?4,
           updated_at = ?5
         WHERE tenant_id = ?6 AND id = ?7 AND revision = ?8",
        vec![
            input.display_name.clone().into(),
            input.display_name.to_lowercase().into(),
            input.external_id.clone().into(),
            next.as_str().into(),
            host.now().into(),
            tenant.as_str().into(),
            id.into(),
            revision.into(),
        ],
    )];
    stmts.extend(members_statements(tenant, id, &next, &input.members));
    let counts = host.db().batch(stmts).await.map_err(member_vanished)?;
    Ok(counts.first() == Some(&1))
}

pub async fn delete<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute("DELETE FROM scim_groups WHERE tenant_id = ?1 AND id = ?2", &[tenant.as_str().into(), id.into()])
        .await?;
    Ok(n > 0)
}

/// A member deleted between the check and the write fails the foreign key.
fn member_vanished(e: crate::host::DbError) -> Error {
    if e.kind == crate::host::DbErrorKind::ForeignKey {
        super::error(ScimType::InvalidValue, "a member was deleted meanwhile; read the group and try again")
    } else {
        e.into()
    }
}

/// The Group resource of `input` for a PATCH to work on: what `to_json`
/// shows, members included.
pub fn patchable(group: &ScimGroup, base: &str) -> Value {
    let mut v = group.to_json(base);
    if let Some(o) = v.as_object_mut() {
        o.remove("meta");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_by_value_and_deduplicated() {
        let i = read_input(&json!({
            "displayName": "Eng",
            "members": [{"value": "usr_1", "display": "x"}, {"value": "usr_2"}, {"value": "usr_1"}]
        }))
        .unwrap();
        assert_eq!(i.members, vec!["usr_1", "usr_2"]);
        assert_eq!(i.display_name, "Eng");
        let e = read_input(&json!({"displayName": "Eng", "members": [{"display": "x"}]})).err().unwrap();
        assert_eq!(e.code, Some("invalidValue"));
        let e = read_input(&json!({"members": []})).err().unwrap();
        assert!(e.detail.contains("displayName"));
    }

    #[test]
    fn display_name_lookups_ignore_case() {
        let f = Filter::parse("displayName eq \"Engineering\"").unwrap();
        assert_eq!(indexed_equality(&f), Some(("display_name_lower", "engineering".into())));
        assert_eq!(indexed_equality(&Filter::parse("displayName co \"Eng\"").unwrap()), None);
    }
}
