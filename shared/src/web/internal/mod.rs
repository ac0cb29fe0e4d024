//! The internal platform API (`/api/v1/internal/*`): tenant lifecycle,
//! platform credentials, the platform audit log and dev tools.
//!
//! Every route is guarded here, in one place: [`guard`] names what each route
//! needs (an exhaustive match, so a new route cannot be added without a
//! decision), the caller is authenticated ([`auth`]), its role checked, and
//! the call, allowed or not, is recorded as a platform audit event.

pub mod tenants;

use http::StatusCode;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::{self, Audit, EventType};
use crate::platform::auth::{self, Credential, Permission, Principal, Role};
use crate::platform::{jwt, keys as platform_keys};
use crate::web::response::{json, json_cached, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};

use crate::web::router::Scope::Platform as P;
use crate::web::router::Surface::Problem as J;
use crate::web::router::{r, Route};

/// The platform API's routes (outside every tenant).
pub const ROUTES: &[Route] = &[
    r("GET", "/api/v1/internal/tenants", P, J, RouteId::TenantsList),
    r("POST", "/api/v1/internal/tenants", P, J, RouteId::TenantsCreate),
    r("GET", "/api/v1/internal/tenants/{tenant}", P, J, RouteId::TenantGet),
    r("PATCH", "/api/v1/internal/tenants/{tenant}", P, J, RouteId::TenantUpdate),
    r("DELETE", "/api/v1/internal/tenants/{tenant}", P, J, RouteId::TenantDelete),
    r("GET", "/api/v1/internal/tenants/{tenant}/api-keys", P, J, RouteId::ApiKeysList),
    r("POST", "/api/v1/internal/tenants/{tenant}/api-keys", P, J, RouteId::ApiKeysCreate),
    r("DELETE", "/api/v1/internal/tenants/{tenant}/api-keys/{key_id}", P, J, RouteId::ApiKeyRevoke),
    r("GET", "/api/v1/internal/tenants/{tenant}/signing-keys", P, J, RouteId::SigningKeysList),
    r("POST", "/api/v1/internal/tenants/{tenant}/signing-keys", P, J, RouteId::SigningKeysRotate),
    r("POST", "/api/v1/internal/tenants/{tenant}/signing-keys/{kid}/retire", P, J, RouteId::SigningKeyRetire),
    r("GET", "/api/v1/internal/tenants/{tenant}/domains", P, J, RouteId::DomainsList),
    r("POST", "/api/v1/internal/tenants/{tenant}/domains", P, J, RouteId::DomainsAdd),
    r("DELETE", "/api/v1/internal/tenants/{tenant}/domains/{domain}", P, J, RouteId::DomainRemove),
    r("GET", "/api/v1/internal/tenants/{tenant}/logs", P, J, RouteId::TenantLogs),
    r("GET", "/api/v1/internal/dev/mailbox", P, J, RouteId::DevMailbox),
    r("POST", "/api/v1/internal/dev/bench/argon2", P, J, RouteId::DevBenchArgon2),
    r("GET", "/api/v1/internal/.well-known/jwks.json", P, J, RouteId::PlatformJwks),
    r("POST", "/api/v1/internal/auth/token", P, J, RouteId::PlatformToken),
    r("GET", "/api/v1/internal/api-keys", P, J, RouteId::PlatformKeysList),
    r("POST", "/api/v1/internal/api-keys", P, J, RouteId::PlatformKeysCreate),
    r("POST", "/api/v1/internal/api-keys/{key_id}/rotate", P, J, RouteId::PlatformKeyRotate),
    r("DELETE", "/api/v1/internal/api-keys/{key_id}", P, J, RouteId::PlatformKeyRevoke),
    r("POST", "/api/v1/internal/platform-signing-keys", P, J, RouteId::PlatformSigningKeyRotate),
    r("GET", "/api/v1/internal/audit", P, J, RouteId::PlatformAudit),
    r("POST", "/api/v1/internal/maintenance", P, J, RouteId::Maintenance),
];

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Readable by anyone (public keys, health).
    Public,
    /// A platform credential whose role has this permission.
    Platform(Permission),
    /// Not an internal route (tenant routes have their own guards).
    NotInternal,
}

pub fn guard(id: RouteId) -> Guard {
    use Permission::*;
    use RouteId::*;
    match id {
        Health | OpenApi | PlatformJwks => Guard::Public,
        TenantsList | TenantGet | ApiKeysList | SigningKeysList | DomainsList | TenantLogs | PlatformKeysList
        | PlatformAudit | PlatformToken => Guard::Platform(Read),
        TenantsCreate | TenantUpdate | TenantDelete | DomainsAdd | DomainRemove => Guard::Platform(TenantWrite),
        ApiKeysCreate
        | ApiKeyRevoke
        | SigningKeysRotate
        | SigningKeyRetire
        | PlatformKeysCreate
        | PlatformKeyRotate
        | PlatformKeyRevoke
        | PlatformSigningKeyRotate
        | Maintenance => Guard::Platform(KeyWrite),
        DevMailbox | DevBenchArgon2 => Guard::Platform(Secrets),
        Discovery
        | Jwks
        | Home
        | LoginShow
        | LoginSubmit
        | SignupShow
        | SignupSubmit
        | LogoutShow
        | LogoutSubmit
        | Account
        | VerifyShow
        | VerifySubmit
        | VerifyResend
        | ResetShow
        | ResetSubmit
        | ResetConfirmShow
        | ResetConfirmSubmit
        | UsersList
        | UsersCreate
        | UserGet
        | UserUpdate
        | UserDelete
        | UserBlock
        | UserUnblock
        | UserMfaGet
        | UserMfaReset
        | UserMfaTotpImport
        | UserMfaTotpDelete
        | LogsList
        | Authorize
        | ConsentSubmit
        | Token
        | Revoke
        | Introspect
        | UserInfo
        | AccountConsentRevoke
        | MfaShow
        | MfaSubmit
        | MfaEnrollShow
        | MfaEnrollSubmit
        | MfaEmailSend
        | UserMfaEmailDelete
        | AccountMfaRemove
        | AccountMfaRecoveryCodes
        | ClientsList
        | ClientsCreate
        | ClientGet
        | ClientUpdate
        | ClientDelete
        | ClientRotateSecret
        | ResourcesList
        | ResourcesCreate
        | ResourceGet
        | ResourceDelete
        | ConsentsList
        | ConsentRevoke
        | AdminHome
        | AdminClients
        | AdminClientNew
        | AdminClientCreate
        | AdminClient
        | AdminClientUpdate
        | AdminClientRotate
        | AdminClientDelete
        | AdminConsentRevoke
        | LogStreamsList
        | LogStreamsCreate
        | LogStreamGet
        | LogStreamUpdate
        | LogStreamDelete
        | LogStreamPause
        | LogStreamResume
        | LogStreamTest
        | LogStreamDeliveries
        | LogStreamDeadLetters
        | LogStreamRedeliverAll
        | LogStreamRedeliverOne
        | ActionsList
        | ActionsCreate
        | ActionGet
        | ActionUpdate
        | ActionDelete
        | ActionDeploy
        | ActionVersions
        | ActionRollback
        | ActionTest
        | ActionExecutions
        | TriggersList
        | TriggerGet
        | TriggerUpdate
        | AdminScim
        | AdminScimUpdate
        | AdminScimTokenCreate
        | AdminScimTokenRotate
        | AdminScimTokenRevoke
        | ScimConfigGet
        | ScimConfigUpdate
        | ScimTokensList
        | ScimTokensCreate
        | ScimTokenRotate
        | ScimTokenRevoke
        | ScimServiceProviderConfig
        | ScimResourceTypes
        | ScimResourceType
        | ScimSchemas
        | ScimSchema
        | ScimUsersList
        | ScimUsersCreate
        | ScimUsersSearch
        | ScimUserGet
        | ScimUserReplace
        | ScimUserPatch
        | ScimUserDelete
        | ScimGroupsList
        | ScimGroupsCreate
        | ScimGroupsSearch
        | ScimGroupGet
        | ScimGroupReplace
        | ScimGroupPatch
        | ScimGroupDelete
        | ScimSearch
        | ScimBulk
        | AdminActions
        | AdminActionCreate
        | AdminAction
        | AdminActionUpdate
        | AdminActionDeploy
        | AdminActionRollback
        | AdminActionDelete
        | AdminTriggerUpdate
        | AdminLogStreams
        | AdminLogStreamCreate
        | AdminLogStream
        | AdminLogStreamUpdate
        | AdminLogStreamPause
        | AdminLogStreamResume
        | AdminLogStreamTest
        | AdminLogStreamDelete
        | AdminLogStreamRedeliver
        | AdminLogs
        | AdminUsers
        | AdminUser
        | AdminUserBlock
        | AdminUserUnblock
        | AdminUserPasswordReset
        | AdminUserMfaReset => Guard::NotInternal,
    }
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    // The dev routes do not exist outside dev mode, for anyone.
    if matches!(id, RouteId::DevMailbox | RouteId::DevBenchArgon2) && !crate::config::dev_mode(cx.host) {
        return Err(Error::not_found(format!("no route for {}", cx.req.path)));
    }
    let permission = match guard(id) {
        Guard::Public => return public(id, cx).await,
        Guard::Platform(p) => p,
        Guard::NotInternal => return Err(Error::not_found("no such route")),
    };
    let principal = auth::authenticate(cx.host, cx.req.bearer(), &cx.req.origin).await;
    let result = match &principal {
        Err(e) => Err(e.clone()),
        Ok(p) if !p.role.allows(permission) => {
            Err(Error::forbidden(format!("the {} role may not do this", p.role.as_str())))
        }
        Ok(p) => handle(id, cx, p).await,
    };
    let status = match &result {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    record(cx, id, principal.as_ref().ok(), status).await;
    result
}

/// Records who did what to which tenant, and how it ended. A failure to
/// record is reported to the operator, never turned into the caller's error.
async fn record<H: Host>(cx: &Ctx<'_, H>, id: RouteId, who: Option<&Principal>, status: u16) {
    let pattern = ROUTES.iter().find(|r| r.id == id).map_or("", |r| r.path);
    let kind = if status < 400 { EventType::PlatformApiCall } else { EventType::PlatformApiDenied };
    let tenant = cx.param("tenant");
    let res = logs::record(
        cx.host,
        Audit {
            tenant: None,
            kind,
            description: format!("{} {pattern}", cx.req.method),
            user: None,
            context: Default::default(),
            client_ip: &cx.req.client_ip,
            details: serde_json::json!({
                "actor": who.map_or_else(|| "anonymous".to_string(), Principal::actor),
                "role": who.map(|p| p.role.as_str()),
                "tenant": if tenant.is_empty() { None } else { Some(tenant) },
                "status": status,
            }),
        },
    )
    .await;
    if let Err(e) = res {
        cx.host.report_error(&format!("recording a platform audit event: {e:?}"));
    }
}

async fn public<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match id {
        RouteId::PlatformJwks => Ok(json_cached(cx.req.header("if-none-match"), &jwt::jwks(cx.host).await?, 300)),
        _ => Err(Error::not_found("no such route")),
    }
}

async fn handle<H: Host>(id: RouteId, cx: &Ctx<'_, H>, who: &Principal) -> Result<HttpResponse> {
    match id {
        RouteId::PlatformToken => mint_token(cx, who).await,
        RouteId::PlatformKeysList => {
            let keys = platform_keys::list(cx.host).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "api_keys": keys })))
        }
        RouteId::PlatformKeysCreate => {
            let new: platform_keys::NewKey = cx.req.json()?;
            let (key, secret) = platform_keys::create(cx.host, new).await?;
            Ok(json(StatusCode::CREATED, &with_secret(&key, &secret)))
        }
        RouteId::PlatformKeyRotate => {
            let b: crate::web::schema::Overlap =
                if cx.req.body.is_empty() { Default::default() } else { cx.req.json()? };
            let overlap = b.overlap_seconds.unwrap_or(platform_keys::DEFAULT_OVERLAP_SECS);
            let (key, secret) = platform_keys::rotate(cx.host, cx.param("key_id"), overlap).await?;
            Ok(json(StatusCode::CREATED, &with_secret(&key, &secret)))
        }
        RouteId::PlatformKeyRevoke => {
            if !platform_keys::revoke(cx.host, cx.param("key_id")).await? {
                return Err(Error::not_found("no such live platform API key"));
            }
            Ok(no_content())
        }
        RouteId::PlatformSigningKeyRotate => {
            let kid = jwt::rotate(cx.host).await?;
            Ok(json(StatusCode::CREATED, &serde_json::json!({ "kid": kid })))
        }
        RouteId::PlatformAudit => {
            let page = cx.req.page()?;
            let events = logs::list_platform(cx.host, page.limit).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "logs": events })))
        }
        RouteId::DevMailbox => dev_mailbox(cx).await,
        RouteId::DevBenchArgon2 => bench_argon2(cx),
        RouteId::Maintenance => {
            let report = crate::usecases::maintenance::run(cx.host).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "changes": report.keys, "deleted": report.deleted })))
        }
        _ => tenants::dispatch(id, cx).await,
    }
}

fn with_secret(key: &platform_keys::PlatformKey, secret: &crate::types::Secret<String>) -> serde_json::Value {
    let mut v = serde_json::to_value(key).unwrap_or_default();
    // Shown this once; only its digest is stored.
    v["key"] = secret.expose().clone().into();
    v
}

/// Exchanges a platform API key for a short-lived super-admin JWT.
async fn mint_token<H: Host>(cx: &Ctx<'_, H>, who: &Principal) -> Result<HttpResponse> {
    if matches!(who.credential, Credential::Jwt { .. }) {
        return Err(Error::forbidden("a token cannot mint tokens; use a platform API key"));
    }
    let b: crate::web::schema::MintToken = if cx.req.body.is_empty() { Default::default() } else { cx.req.json()? };
    let ttl = b.ttl_seconds.unwrap_or(jwt::DEFAULT_LIFETIME_SECS);
    if !(30..=jwt::MAX_LIFETIME_SECS).contains(&ttl) {
        return Err(Error::bad_request(format!("ttl_seconds must be from 30 to {}", jwt::MAX_LIFETIME_SECS)));
    }
    let role = match b.role.as_deref() {
        None => who.role,
        Some(r) => Role::parse(r).ok_or_else(|| Error::bad_request("unknown role"))?,
    };
    if role > who.role {
        return Err(Error::forbidden("a token cannot carry a higher role than the key that mints it"));
    }
    let token = jwt::mint(cx.host, &cx.req.origin, &who.actor(), role, ttl).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "access_token": token, "token_type": "Bearer", "expires_in": ttl, "role": role.as_str() }),
    ))
}

async fn dev_mailbox<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let page = cx.req.page()?;
    let messages = crate::email::dev_mailbox(cx.host, cx.req.query_param("to"), page.limit).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "messages": messages })))
}

/// Runs `n` times one of the costly steps of signing in, so a benchmark can
/// time it inside the real runtime from outside (Workers freeze `Date.now()`
/// during execution, so the worker cannot time itself): `what=argon2` (an
/// Argon2id password hash, the default), `recovery` (checking a recovery
/// code against a set of ten: one Argon2id hash and ten comparisons) or
/// `totp` (checking a TOTP code: three HMAC-SHA1 codes). Exists only in dev
/// mode, like every `/api/v1/internal/dev/*` route.
fn bench_argon2<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    use crate::types::Secret;
    use crate::users::password;
    let what = cx.req.query_param("what").unwrap_or("argon2");
    let max = if what == "totp" { 100_000 } else { 20 };
    let n: u32 = cx
        .req
        .query_param("n")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n <= max)
        .ok_or_else(|| Error::bad_request(format!("n must be an integer from 0 to {max}")))?;
    let pw = Secret::new("benchmark password".to_string());
    match what {
        "argon2" => {
            for i in 0..n {
                password::hash(&pw, [i as u8; 16])?;
            }
        }
        "recovery" => {
            let set: Vec<String> = (0..10u8)
                .map(|i| password::hash(&Secret::new(format!("CODE{i:08}")), [7; 16]))
                .collect::<Result<_>>()?;
            for _ in 0..n {
                let typed = password::hash_like(&Secret::new("CODE00000009".to_string()), &set[0])?.unwrap_or_default();
                if !set.iter().fold(false, |found, h| crate::crypto::ct_eq_str(h, &typed) | found) {
                    return Err(Error::server("benchmark recovery code did not match"));
                }
            }
        }
        "totp" => {
            let secret = [7u8; 20];
            let now = crate::host::HostExt::now(cx.host);
            let code = crate::mfa::totp::code_at(&secret, (now / 1000 / 30) as u64);
            for _ in 0..n {
                crate::mfa::totp::matching_step(&secret, &code, now)
                    .ok_or_else(|| Error::server("benchmark TOTP code did not match"))?;
            }
        }
        _ => return Err(Error::bad_request("what must be argon2, recovery or totp")),
    }
    Ok(json(StatusCode::OK, &serde_json::json!({ "runs": n, "what": what })))
}
