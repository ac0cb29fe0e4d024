//! SCIM provisioning as it changes accounts: a provisioned user is a
//! tenant user, so a deactivation (`active: false`) or a deprovisioning ends
//! the user's sessions, refresh tokens and unredeemed codes in the same
//! batch as the change (RFC 9700 §4.14, as for a block from the API).
//!
//! An administrator's account is not managed through SCIM: a SCIM token
//! could otherwise set the password of the account that opens the admin
//! UI. Reading it is allowed.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::host::{Db, DbErrorKind, Host, HostExt, Statement};
use crate::scim::config::{Deprovision, ScimConfig};
use crate::scim::patch::{self, Operation};
use crate::scim::schema::{GROUP_SCHEMA, USER_SCHEMA};
use crate::scim::users::{self, Input, ScimUser};
use crate::scim::{self, groups, ScimType};
use crate::tenant::TenantCtx;
use crate::types::UserId;
use crate::users::{self as accounts, password, NewUser};

fn uniqueness(e: crate::host::DbError, what: &str) -> Error {
    if e.kind == DbErrorKind::Unique {
        scim::error(ScimType::Uniqueness, format!("another user has this {what}"))
    } else {
        e.into()
    }
}

fn not_admin(user: &ScimUser) -> Result<()> {
    if user.user.is_admin {
        return Err(Error::forbidden("an administrator's account is not managed through SCIM; use the admin UI"));
    }
    Ok(())
}

fn check_password(t: &TenantCtx, input: &Input) -> Result<()> {
    match &input.password {
        Some(p) => password::check_policy(p.expose(), t.tenant.settings.password_min_length)
            .map_err(|e| scim::error(ScimType::InvalidValue, e.detail)),
        None => Ok(()),
    }
}

/// The user name must not name someone else: a SCIM row's userName, or a
/// user without one whose email it is.
async fn check_user_name<H: Host>(host: &H, t: &TenantCtx, input: &Input, own: Option<&UserId>) -> Result<()> {
    match users::find_by_user_name(host, t.id(), &input.user_name).await? {
        Some(other) if Some(&other.user.id) != own => {
            Err(scim::error(ScimType::Uniqueness, "another user has this userName"))
        }
        _ => Ok(()),
    }
}

/// `POST /Users`. A userName deprovisioned under the block policy is
/// provisioned again: the same account, unblocked as `active` says.
pub async fn create_user<H: Host>(host: &H, t: &TenantCtx, config: &ScimConfig, body: &Value) -> Result<ScimUser> {
    let input = users::read_input(config, body)?;
    check_password(t, &input)?;
    check_user_name(host, t, &input, None).await?;
    if let Some(id) = users::find_deprovisioned(host, t.id(), &input.user_name).await? {
        let user =
            accounts::get(host, t.id(), &id).await?.ok_or_else(|| Error::server("deprovisioned user vanished"))?;
        return write_user(host, t, &user, input).await;
    }
    let new = NewUser {
        email: input.email.clone(),
        password: input.password.clone(),
        name: input.name.clone(),
        // The tenant's own directory vouches for the address.
        email_verified: true,
        is_admin: false,
        app_metadata: Default::default(),
        user_metadata: Default::default(),
    };
    let (user, insert) = accounts::insert_statement(host, t.id(), new)?;
    let mut stmts = vec![insert, users::upsert_statement(t.id(), user.id.as_str(), &input)];
    if !input.active {
        stmts.push(Statement::new(
            "UPDATE users SET blocked = 1 WHERE tenant_id = ?1 AND id = ?2",
            vec![t.id().as_str().into(), user.id.as_str().into()],
        ));
    }
    host.db().batch(stmts).await.map_err(|e| uniqueness(e, "email address or userName"))?;
    users::get(host, t.id(), user.id.as_str()).await?.ok_or_else(|| Error::server("a user vanished as it was created"))
}

/// Writes `input` over an existing account: Tessera's columns through the
/// account patch (which ends every grant on a block or a new password) and
/// the SCIM row, in one batch.
async fn write_user<H: Host>(host: &H, t: &TenantCtx, user: &accounts::User, input: Input) -> Result<ScimUser> {
    let patch = accounts::UserPatch {
        // The directory vouches for an address it sets (`read_input` has
        // normalised it, so a change is a real one).
        email_verified: (input.email != user.email).then_some(true),
        email: Some(input.email.clone()),
        name: Some(input.name.clone()),
        password: input.password.clone(),
        blocked: Some(!input.active),
        ..Default::default()
    };
    let p = accounts::patch(host, t.id(), user, patch).map_err(|e| scim::error(ScimType::InvalidValue, e.detail))?;
    let mut stmts = vec![p.statement, users::upsert_statement(t.id(), user.id.as_str(), &input)];
    if p.ends_grants {
        stmts.extend(super::account::end_everything(t.id(), &user.id, p.user.updated_at));
    }
    host.db().batch(stmts).await.map_err(|e| uniqueness(e, "email address or userName"))?;
    users::get(host, t.id(), user.id.as_str()).await?.ok_or_else(|| Error::server("a user vanished as it was written"))
}

/// `PUT /Users/{id}`: the body replaces every attribute a client may write.
pub async fn replace_user<H: Host>(
    host: &H,
    t: &TenantCtx,
    config: &ScimConfig,
    current: &ScimUser,
    body: &Value,
) -> Result<ScimUser> {
    not_admin(current)?;
    let input = users::read_input(config, body)?;
    check_password(t, &input)?;
    check_user_name(host, t, &input, Some(&current.user.id)).await?;
    write_user(host, t, &current.user, input).await
}

/// `PATCH /Users/{id}`: the operations apply to the resource as it is
/// shown, and the result is written as a replacement.
pub async fn patch_user<H: Host>(
    host: &H,
    t: &TenantCtx,
    config: &ScimConfig,
    current: &ScimUser,
    ops: &[Operation],
) -> Result<ScimUser> {
    not_admin(current)?;
    let mut resource = current.to_json("");
    if let Some(o) = resource.as_object_mut() {
        o.remove("meta");
    }
    patch::apply(&mut resource, ops, &USER_SCHEMA)?;
    replace_user(host, t, config, current, &resource).await
}

/// `DELETE /Users/{id}`: by the tenant's policy, block and hide the user
/// (deprovisioned: gone from SCIM, kept in Tessera) or delete them.
pub async fn delete_user<H: Host>(host: &H, t: &TenantCtx, config: &ScimConfig, current: &ScimUser) -> Result<()> {
    not_admin(current)?;
    let id = &current.user.id;
    match config.deprovision {
        Deprovision::Delete => {
            accounts::delete(host, t.id(), id.as_str()).await?;
        }
        Deprovision::Block => {
            let now = host.now();
            let stmts = |user_name: &str| {
                let mut stmts = vec![
                    Statement::new(
                        "UPDATE users SET blocked = 1, updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
                        vec![now.into(), t.id().as_str().into(), id.as_str().into()],
                    ),
                    users::deprovision_statement(t.id(), id.as_str(), now, user_name),
                    Statement::new("DELETE FROM scim_group_members WHERE user_id = ?1", vec![id.as_str().into()]),
                ];
                stmts.extend(super::account::end_everything(t.id(), id, now));
                stmts
            };
            match host.db().batch(stmts(&current.user_name)).await {
                // A user no client wrote shows with userName = email, which a
                // provisioned user may hold too (in another case): the row
                // that hides them is then keyed by their id, and they come
                // back through the admin UI or the API, not by that userName.
                Err(e) if e.kind == DbErrorKind::Unique => {
                    host.db().batch(stmts(id.as_str())).await?;
                }
                r => {
                    r?;
                }
            }
        }
    }
    Ok(())
}

/// `PATCH /Groups/{id}`: the operations apply to the group as shown,
/// members included; the result replaces it if nothing changed meanwhile.
pub async fn patch_group<H: Host>(
    host: &H,
    t: &TenantCtx,
    current: &groups::ScimGroup,
    ops: &[Operation],
) -> Result<bool> {
    let mut resource = groups::patchable(current, "");
    patch::apply(&mut resource, ops, &GROUP_SCHEMA)?;
    let input = groups::read_input(&resource)?;
    groups::replace(host, t.id(), &current.id, input, &current.revision).await
}
