//! Creating a tenant: the tenant row, its data key and first signing key,
//! and its management API as an OAuth audience, all in one batch, so a
//! tenant never exists without the keys that sign its tokens.

use crate::error::{Error, Result};
use crate::host::{Db, DbErrorKind, Host};
use crate::tenant::{self, Tenant};

pub async fn create<H: Host>(host: &H, slug: &str, name: &str) -> Result<Tenant> {
    let (t, insert) = tenant::new_tenant(host, slug, name)?;
    let mut stmts = vec![insert];
    stmts.extend(crate::keys::new_tenant_key_material(host, &t.id)?);
    stmts.push(crate::oauth::resources::management_statement(&t.id, t.created_at));
    match host.db().batch(stmts).await {
        Ok(_) => Ok(t),
        Err(e) if e.kind == DbErrorKind::Unique => {
            Err(Error::conflict(format!("a tenant with slug '{slug}' already exists")))
        }
        Err(e) => Err(e.into()),
    }
}
