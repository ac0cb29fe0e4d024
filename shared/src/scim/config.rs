//! A tenant's SCIM configuration: whether provisioning is on, whether
//! groups are served, what deprovisioning does, and which SCIM attributes
//! feed Tessera's own user fields. A tenant without a row has SCIM off.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row};
use crate::types::TenantId;

/// What `DELETE /Users/{id}` does.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprovision {
    /// The user is blocked and their sessions and tokens end; the account
    /// and its history stay (Okta and Entra ID deactivate before deleting).
    Block,
    /// The user is deleted.
    Delete,
}

/// Where the user's email address (Tessera's login name) comes from.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EmailFrom {
    /// The primary entry of `emails` (else the first, else `userName` when
    /// it is an address).
    Emails,
    /// `userName`, which must then be an address (Okta's default).
    UserName,
}

/// Where the user's display name comes from.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NameFrom {
    /// `displayName` (else `name.formatted`, else given and family names).
    DisplayName,
    /// `name.formatted` (else given and family names, else `displayName`).
    Name,
}

/// The attribute mapping.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeMap {
    pub email: EmailFrom,
    pub name: NameFrom,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScimConfig {
    pub enabled: bool,
    /// Whether `/Groups` is served (and advertised).
    pub groups_enabled: bool,
    pub deprovision: Deprovision,
    pub attribute_map: AttributeMap,
    /// Null until first configured.
    pub updated_at: Option<i64>,
}

impl Default for ScimConfig {
    fn default() -> Self {
        ScimConfig {
            enabled: false,
            groups_enabled: true,
            deprovision: Deprovision::Block,
            attribute_map: AttributeMap { email: EmailFrom::Emails, name: NameFrom::DisplayName },
            updated_at: None,
        }
    }
}

/// A change: absent fields keep their value.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfigPatch {
    pub enabled: Option<bool>,
    pub groups_enabled: Option<bool>,
    pub deprovision: Option<Deprovision>,
    pub attribute_map: Option<AttributeMap>,
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| Error::server(format!("scim_config holds an unknown value {text:?}")))
}

impl ScimConfig {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(ScimConfig {
            enabled: r.bool("enabled")?,
            groups_enabled: r.bool("groups_enabled")?,
            deprovision: parse(&r.text("deprovision")?)?,
            attribute_map: AttributeMap { email: parse(&r.text("email_from")?)?, name: parse(&r.text("name_from")?)? },
            updated_at: Some(r.int("updated_at")?),
        })
    }
}

fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId) -> Result<ScimConfig> {
    let rows = host
        .db()
        .query(
            "SELECT enabled, groups_enabled, deprovision, email_from, name_from, updated_at FROM scim_config
             WHERE tenant_id = ?1",
            &[tenant.as_str().into()],
        )
        .await?;
    rows.first().map(ScimConfig::from_row).transpose().map(Option::unwrap_or_default)
}

pub async fn update<H: Host>(host: &H, tenant: &TenantId, patch: ScimConfigPatch) -> Result<ScimConfig> {
    let mut c = get(host, tenant).await?;
    c.enabled = patch.enabled.unwrap_or(c.enabled);
    c.groups_enabled = patch.groups_enabled.unwrap_or(c.groups_enabled);
    c.deprovision = patch.deprovision.unwrap_or(c.deprovision);
    c.attribute_map = patch.attribute_map.unwrap_or(c.attribute_map);
    let now = host.now();
    c.updated_at = Some(now);
    host.db()
        .execute(
            "INSERT INTO scim_config (tenant_id, enabled, groups_enabled, deprovision, email_from, name_from, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (tenant_id) DO UPDATE SET enabled = ?2, groups_enabled = ?3, deprovision = ?4,
               email_from = ?5, name_from = ?6, updated_at = ?7",
            &[
                tenant.as_str().into(),
                c.enabled.into(),
                c.groups_enabled.into(),
                word(&c.deprovision).into(),
                word(&c.attribute_map.email).into(),
                word(&c.attribute_map.name).into(),
                now.into(),
            ],
        )
        .await?;
    Ok(c)
}
