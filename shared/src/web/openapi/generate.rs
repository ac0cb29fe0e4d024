//! Builds the OpenAPI 3.1 document from [`ROUTES`] and the Rust types of the
//! request and response bodies (JSON Schema 2020-12 from `schemars`, which is
//! what OpenAPI 3.1 uses). Every route must be described here: [`describe`]
//! is an exhaustive match, so a new route does not compile without an entry.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::web::router::{RouteId, Scope, Surface, ROUTES};

/// What a route takes.
enum Body {
    None,
    Json(Value),
    /// A JSON body the operation can do without (defaults apply).
    OptionalJson(Value),
    Form(&'static [(&'static str, bool)]),
}

/// What a route answers on success.
enum Ok {
    Json(u16, Value),
    Html,
    Redirect,
    Empty,
    Text,
}

struct Op {
    summary: &'static str,
    tag: &'static str,
    query: &'static [&'static str],
    body: Body,
    ok: Ok,
}

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

fn list_of<T: JsonSchema>(g: &mut SchemaGenerator, field: &str, cursor: bool) -> Value {
    let mut props = Map::new();
    props.insert(field.into(), json!({ "type": "array", "items": schema::<T>(g) }));
    let mut required = vec![field.to_string()];
    if cursor {
        props.insert("next_cursor".into(), json!({ "type": ["string", "null"] }));
        required.push("next_cursor".into());
    }
    json!({ "type": "object", "properties": props, "required": required })
}

fn open_object() -> Value {
    json!({ "type": "object" })
}

fn with_secret<T: JsonSchema>(g: &mut SchemaGenerator, field: &str) -> Value {
    json!({ "allOf": [schema::<T>(g), { "type": "object", "properties": { field: { "type": "string", "description": "Shown only in this response." } } }] })
}

const PAGE: &[&str] = &["limit", "cursor"];
const LOGIN_FORM: &[(&str, bool)] = &[("csrf_token", true), ("email", true), ("password", true), ("return_to", false)];

fn describe(id: RouteId, g: &mut SchemaGenerator) -> Op {
    use crate::web::schema::*;
    use RouteId::*;
    let op = |summary, tag, body, ok| Op { summary, tag, query: &[], body, ok };
    let page = |summary, tag, ok| Op { summary, tag, query: &[], body: Body::None, ok };
    match id {
        Health => page("Liveness probe", "platform", Ok::Text),
        OpenApi => page("This OpenAPI document", "platform", Ok::Json(200, open_object())),
        TenantsList => Op {
            query: PAGE,
            ..page("List tenants", "platform", Ok::Json(200, list_of::<crate::tenant::Tenant>(g, "tenants", true)))
        },
        TenantsCreate => op(
            "Create a tenant with its keys",
            "platform",
            Body::Json(schema::<CreateTenant>(g)),
            Ok::Json(201, schema::<crate::tenant::Tenant>(g)),
        ),
        TenantGet => page("Get a tenant by id or slug", "platform", Ok::Json(200, schema::<crate::tenant::Tenant>(g))),
        TenantUpdate => op(
            "Update a tenant's name or settings",
            "platform",
            Body::Json(schema::<UpdateTenant>(g)),
            Ok::Json(200, schema::<crate::tenant::Tenant>(g)),
        ),
        TenantDelete => page("Delete a tenant and everything it owns", "platform", Ok::Empty),
        ApiKeysList => page(
            "List a tenant's management API keys",
            "platform",
            Ok::Json(200, list_of::<crate::tenant::api_keys::ApiKey>(g, "api_keys", false)),
        ),
        ApiKeysCreate => op(
            "Create a management API key (shown once)",
            "platform",
            Body::OptionalJson(schema::<CreateApiKey>(g)),
            Ok::Json(201, with_secret::<crate::tenant::api_keys::ApiKey>(g, "key")),
        ),
        ApiKeyRevoke => page("Revoke a management API key", "platform", Ok::Empty),
        SigningKeysList => page(
            "List a tenant's signing keys",
            "platform",
            Ok::Json(200, list_of::<crate::keys::KeyInfo>(g, "signing_keys", false)),
        ),
        SigningKeysRotate => {
            page("Rotate a tenant's signing key now", "platform", Ok::Json(201, schema::<crate::keys::KeyInfo>(g)))
        }
        SigningKeyRetire => page("Retire a verify-only signing key", "platform", Ok::Empty),
        DomainsList => page(
            "List a tenant's custom domains",
            "platform",
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "domains": { "type": "array", "items": { "type": "string" } } } }),
            ),
        ),
        DomainsAdd => op(
            "Map a custom domain to a tenant",
            "platform",
            Body::Json(schema::<AddDomain>(g)),
            Ok::Json(201, json!({ "type": "object", "properties": { "domain": { "type": "string" } } })),
        ),
        DomainRemove => page("Unmap a custom domain", "platform", Ok::Empty),
        TenantLogs => Op {
            query: &["limit", "type", "category", "severity", "user_id", "client_id", "since", "until", "from", "take"],
            ..page(
                "A tenant's audit events",
                "platform",
                Ok::Json(200, list_of::<crate::logs::LogEvent>(g, "logs", false)),
            )
        },
        DevMailbox => Op {
            query: &["limit", "to"],
            ..page(
                "Messages of the dev mailbox (DEV_MODE=true only)",
                "platform",
                Ok::Json(
                    200,
                    json!({ "type": "object", "properties": { "messages": { "type": "array", "items": { "type": "object" } } } }),
                ),
            )
        },
        DevBenchArgon2 => Op {
            query: &["n", "what"],
            ..page(
                "Run n password hashes, recovery-code or TOTP checks (DEV_MODE=true only)",
                "platform",
                Ok::Json(200, open_object()),
            )
        },
        PlatformJwks => page(
            "The platform's JWKS (super-admin JWTs)",
            "platform",
            Ok::Json(200, json!({ "type": "object", "properties": { "keys": { "type": "array" } } })),
        ),
        PlatformToken => op(
            "Mint a short-lived, single-use super-admin JWT",
            "platform",
            Body::OptionalJson(schema::<MintToken>(g)),
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "access_token": { "type": "string" }, "token_type": { "type": "string" }, "expires_in": { "type": "integer" }, "role": { "type": "string" } } }),
            ),
        ),
        PlatformKeysList => page(
            "List platform API keys",
            "platform",
            Ok::Json(200, list_of::<crate::platform::keys::PlatformKey>(g, "api_keys", false)),
        ),
        PlatformKeysCreate => op(
            "Create a platform API key (shown once)",
            "platform",
            Body::Json(schema::<crate::platform::keys::NewKey>(g)),
            Ok::Json(201, with_secret::<crate::platform::keys::PlatformKey>(g, "key")),
        ),
        PlatformKeyRotate => op(
            "Rotate a platform API key with an overlap",
            "platform",
            Body::OptionalJson(schema::<Overlap>(g)),
            Ok::Json(201, with_secret::<crate::platform::keys::PlatformKey>(g, "key")),
        ),
        PlatformKeyRevoke => page("Revoke a platform API key", "platform", Ok::Empty),
        PlatformSigningKeyRotate => page(
            "Rotate the platform JWT signing key",
            "platform",
            Ok::Json(201, json!({ "type": "object", "properties": { "kid": { "type": "string" } } })),
        ),
        PlatformAudit => Op {
            query: &["limit"],
            ..page(
                "Platform audit events (every internal call)",
                "platform",
                Ok::Json(200, list_of::<crate::logs::LogEvent>(g, "logs", false)),
            )
        },
        Maintenance => page(
            "Run scheduled maintenance now: key rotation, housekeeping, audit retention",
            "platform",
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "changes": { "type": "array" }, "deleted": { "type": "array" } } }),
            ),
        ),
        Discovery => page("OpenID Provider metadata", "oidc", Ok::Json(200, open_object())),
        Jwks => page(
            "The tenant's JSON Web Key Set",
            "oidc",
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "keys": { "type": "array" } }, "required": ["keys"] }),
            ),
        ),
        Home => page("Redirect to the account page", "pages", Ok::Redirect),
        LoginShow => {
            Op { query: &["return_to", "prompt", "login_hint", "notice"], ..page("Login page", "pages", Ok::Html) }
        }
        LoginSubmit => op("Sign in", "pages", Body::Form(LOGIN_FORM), Ok::Redirect),
        SignupShow => page("Signup page", "pages", Ok::Html),
        SignupSubmit => op(
            "Create an account",
            "pages",
            Body::Form(&[("csrf_token", true), ("email", true), ("password", true), ("name", false)]),
            Ok::Html,
        ),
        LogoutShow => Op {
            query: &["id_token_hint", "post_logout_redirect_uri", "state", "client_id"],
            ..page("RP-initiated logout (end_session_endpoint)", "oidc", Ok::Html)
        },
        LogoutSubmit => op(
            "Sign out",
            "pages",
            Body::Form(&[
                ("csrf_token", true),
                ("client_id", false),
                ("post_logout_redirect_uri", false),
                ("state", false),
            ]),
            Ok::Redirect,
        ),
        Account => page("The signed-in user's account page", "pages", Ok::Html),
        VerifyShow => Op { query: &["token"], ..page("Email verification link", "pages", Ok::Html) },
        VerifySubmit => {
            op("Verify an email address", "pages", Body::Form(&[("csrf_token", true), ("token", true)]), Ok::Html)
        }
        VerifyResend => {
            op("Send a new verification email", "pages", Body::Form(&[("csrf_token", true), ("email", true)]), Ok::Html)
        }
        ResetShow => page("Password reset request page", "pages", Ok::Html),
        ResetSubmit => {
            op("Request a password reset link", "pages", Body::Form(&[("csrf_token", true), ("email", true)]), Ok::Html)
        }
        ResetConfirmShow => Op { query: &["token"], ..page("Password reset link", "pages", Ok::Html) },
        ResetConfirmSubmit => op(
            "Set a new password",
            "pages",
            Body::Form(&[("csrf_token", true), ("token", true), ("password", true)]),
            Ok::Html,
        ),
        UsersList => Op {
            query: &["limit", "cursor", "email"],
            ..page("List users", "users", Ok::Json(200, list_of::<crate::users::User>(g, "users", true)))
        },
        UsersCreate => op(
            "Create a user",
            "users",
            Body::Json(schema::<CreateUser>(g)),
            Ok::Json(201, schema::<crate::users::User>(g)),
        ),
        UserGet => page("Get a user", "users", Ok::Json(200, schema::<crate::users::User>(g))),
        UserUpdate => op(
            "Update a user",
            "users",
            Body::Json(schema::<UpdateUser>(g)),
            Ok::Json(200, schema::<crate::users::User>(g)),
        ),
        UserDelete => page("Delete a user", "users", Ok::Empty),
        UserBlock => {
            page("Block a user (ends their sessions)", "users", Ok::Json(200, schema::<crate::users::User>(g)))
        }
        UserUnblock => page("Unblock a user", "users", Ok::Json(200, schema::<crate::users::User>(g))),
        UserMfaGet => page("A user's second factors", "users", Ok::Json(200, schema::<crate::mfa::Factors>(g))),
        UserMfaReset => {
            page("Reset a user's second factors (app, recovery codes, remembered browsers)", "users", Ok::Empty)
        }
        UserMfaTotpImport => op(
            "Import a user's existing TOTP secret (encrypted on the way in)",
            "users",
            Body::Json(schema::<ImportTotp>(g)),
            Ok::Json(200, schema::<crate::mfa::Factors>(g)),
        ),
        UserMfaTotpDelete => page("Remove a user's authenticator app", "users", Ok::Empty),
        UserMfaEmailDelete => page("Remove a user's email factor", "users", Ok::Empty),
        MfaEmailSend => op(
            "Send a one-time code by email (sign-in or enrolment)",
            "pages",
            Body::Form(&[("csrf_token", true), ("purpose", false), ("return_to", false)]),
            Ok::Redirect,
        ),
        LogsList => Op {
            query: &["limit", "type", "category", "severity", "user_id", "client_id", "since", "until", "from", "take"],
            ..page(
                "The tenant's audit events",
                "logs",
                Ok::Json(200, list_of::<crate::logs::LogEvent>(g, "logs", false)),
            )
        },
        Authorize => Op {
            query: &[
                "client_id",
                "redirect_uri",
                "response_type",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "prompt",
                "max_age",
                "login_hint",
                "audience",
                "resource",
                "response_mode",
                "acr_values",
            ],
            ..page("Authorization endpoint (code flow with PKCE)", "oidc", Ok::Html)
        },
        ConsentSubmit => op(
            "Allow or deny a client's request",
            "oidc",
            Body::Form(&[("csrf_token", true), ("request", true), ("decision", true)]),
            Ok::Redirect,
        ),
        Token => op(
            "Token endpoint",
            "oidc",
            Body::Form(&[
                ("grant_type", true),
                ("code", false),
                ("redirect_uri", false),
                ("code_verifier", false),
                ("refresh_token", false),
                ("scope", false),
                ("audience", false),
                ("resource", false),
                ("client_id", false),
                ("client_secret", false),
            ]),
            Ok::Json(200, schema::<crate::oauth::tokens::TokenResponse>(g)),
        ),
        Revoke => op(
            "Revoke a token (RFC 7009)",
            "oidc",
            Body::Form(&[("token", true), ("token_type_hint", false), ("client_id", false), ("client_secret", false)]),
            Ok::Empty,
        ),
        Introspect => op(
            "Introspect a token (RFC 7662)",
            "oidc",
            Body::Form(&[("token", true), ("token_type_hint", false), ("client_id", false), ("client_secret", false)]),
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "active": { "type": "boolean" } }, "required": ["active"] }),
            ),
        ),
        UserInfo => page(
            "Claims about the user of an access token",
            "oidc",
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "sub": { "type": "string" } }, "required": ["sub"] }),
            ),
        ),
        MfaShow => Op { query: &["return_to"], ..page("Second-factor challenge", "pages", Ok::Html) },
        MfaSubmit => op(
            "Give a second factor (authenticator or recovery code)",
            "pages",
            Body::Form(&[
                ("csrf_token", true),
                ("code", true),
                ("method", false),
                ("remember", false),
                ("return_to", false),
            ]),
            Ok::Redirect,
        ),
        MfaEnrollShow => Op { query: &["return_to"], ..page("Set up an authenticator app", "pages", Ok::Html) },
        MfaEnrollSubmit => op(
            "Confirm an authenticator app with its first code",
            "pages",
            Body::Form(&[("csrf_token", true), ("code", true), ("return_to", false)]),
            Ok::Html,
        ),
        AccountMfaRemove => op(
            "Turn two-step verification off (account page)",
            "pages",
            Body::Form(&[("csrf_token", true), ("proof", true)]),
            Ok::Redirect,
        ),
        AccountMfaRecoveryCodes => op(
            "Replace the recovery codes (account page)",
            "pages",
            Body::Form(&[("csrf_token", true), ("proof", true)]),
            Ok::Html,
        ),
        AccountConsentRevoke => op(
            "Withdraw a client's access (account page)",
            "pages",
            Body::Form(&[("csrf_token", true), ("client_id", true)]),
            Ok::Redirect,
        ),
        ClientsList => Op {
            query: PAGE,
            ..page(
                "List OAuth clients",
                "clients",
                Ok::Json(200, list_of::<crate::oauth::clients::Client>(g, "clients", true)),
            )
        },
        ClientsCreate => op(
            "Register a client (its secret is shown once)",
            "clients",
            Body::Json(schema::<crate::oauth::clients::ClientSpec>(g)),
            Ok::Json(201, with_secret::<crate::oauth::clients::Client>(g, "client_secret")),
        ),
        ClientGet => page("Get a client", "clients", Ok::Json(200, schema::<crate::oauth::clients::Client>(g))),
        ClientUpdate => op(
            "Update a client",
            "clients",
            Body::Json(schema::<crate::oauth::clients::ClientSpec>(g)),
            Ok::Json(200, schema::<crate::oauth::clients::Client>(g)),
        ),
        ClientDelete => page("Delete a client", "clients", Ok::Empty),
        ClientRotateSecret => op(
            "Rotate a client secret with an overlap (shown once)",
            "clients",
            Body::OptionalJson(schema::<Overlap>(g)),
            Ok::Json(200, with_secret::<crate::oauth::clients::Client>(g, "client_secret")),
        ),
        ResourcesList => page(
            "List APIs (audiences)",
            "clients",
            Ok::Json(200, list_of::<crate::oauth::resources::ApiResource>(g, "resource_servers", false)),
        ),
        ResourcesCreate => op(
            "Define an API and its scopes",
            "clients",
            Body::Json(schema::<crate::oauth::resources::ResourceSpec>(g)),
            Ok::Json(201, schema::<crate::oauth::resources::ApiResource>(g)),
        ),
        ResourceGet => page("Get an API", "clients", Ok::Json(200, schema::<crate::oauth::resources::ApiResource>(g))),
        ResourceDelete => page("Delete an API", "clients", Ok::Empty),
        ConsentsList => page(
            "A user's consents",
            "users",
            Ok::Json(
                200,
                json!({ "type": "object", "properties": { "consents": { "type": "array", "items": { "type": "object" } } } }),
            ),
        ),
        ConsentRevoke => page("Revoke a user's consent and the client's tokens for them", "users", Ok::Empty),
        LogStreamsList => Op {
            query: PAGE,
            ..page(
                "List log streams with their delivery status",
                "log-streams",
                Ok::Json(200, list_of::<crate::logs::streams::LogStream>(g, "log_streams", true)),
            )
        },
        LogStreamsCreate => op(
            "Create a log stream (a generated webhook secret is shown once)",
            "log-streams",
            Body::Json(schema::<crate::logs::streams::StreamSpec>(g)),
            Ok::Json(201, schema::<crate::logs::streams::LogStream>(g)),
        ),
        LogStreamGet => page(
            "Get a log stream and its delivery status",
            "log-streams",
            Ok::Json(200, schema::<crate::logs::streams::LogStream>(g)),
        ),
        LogStreamUpdate => op(
            "Change a log stream (secret fields left out keep their value)",
            "log-streams",
            Body::Json(schema::<crate::logs::streams::StreamUpdate>(g)),
            Ok::Json(200, schema::<crate::logs::streams::LogStream>(g)),
        ),
        LogStreamDelete => page("Delete a log stream", "log-streams", Ok::Empty),
        LogStreamPause => page(
            "Pause a log stream (events keep collecting for it)",
            "log-streams",
            Ok::Json(200, schema::<crate::logs::streams::LogStream>(g)),
        ),
        LogStreamResume => page(
            "Resume a paused or suspended log stream",
            "log-streams",
            Ok::Json(200, schema::<crate::logs::streams::LogStream>(g)),
        ),
        LogStreamTest => page(
            "Send a test event to a log stream (202: on its way; see the stream's deliveries)",
            "log-streams",
            Ok::Json(202, schema::<crate::web::schema::TestEvent>(g)),
        ),
        LogStreamDeliveries => Op {
            query: &["limit"],
            ..page(
                "A log stream's recent delivery attempts",
                "log-streams",
                Ok::Json(200, list_of::<crate::logs::attempts::Delivery>(g, "deliveries", false)),
            )
        },
        LogStreamDeadLetters => Op {
            query: PAGE,
            ..page(
                "A log stream's dead-lettered events",
                "log-streams",
                Ok::Json(200, list_of::<crate::logs::dead_letters::DeadLetter>(g, "dead_letters", true)),
            )
        },
        LogStreamRedeliverAll => page(
            "Redeliver every dead-lettered event of a log stream",
            "log-streams",
            Ok::Json(200, schema::<crate::web::schema::Redelivered>(g)),
        ),
        LogStreamRedeliverOne => page(
            "Redeliver one dead-lettered event",
            "log-streams",
            Ok::Json(200, schema::<crate::web::schema::Redelivered>(g)),
        ),
        ActionsList => Op {
            query: PAGE,
            ..page(
                "List actions",
                "actions",
                Ok::Json(200, list_of::<crate::actions::store::Action>(g, "actions", true)),
            )
        },
        ActionsCreate => op(
            "Create an action (a draft: deploy it to run it)",
            "actions",
            Body::Json(schema::<crate::actions::store::ActionSpec>(g)),
            Ok::Json(201, schema::<crate::actions::store::Action>(g)),
        ),
        ActionGet => {
            page("Get an action and its draft", "actions", Ok::Json(200, schema::<crate::actions::store::Action>(g)))
        }
        ActionUpdate => op(
            "Change an action's draft, name or secrets (secrets are write-only)",
            "actions",
            Body::Json(schema::<crate::actions::store::ActionUpdate>(g)),
            Ok::Json(200, schema::<crate::actions::store::Action>(g)),
        ),
        ActionDelete => page("Delete an action, its versions, secrets and bindings", "actions", Ok::Empty),
        ActionDeploy => page(
            "Deploy the draft as a new numbered version (bound triggers switch to it at once)",
            "actions",
            Ok::Json(201, schema::<crate::actions::store::Version>(g)),
        ),
        ActionVersions => page(
            "An action's deployed versions, newest first",
            "actions",
            Ok::Json(200, list_of::<crate::actions::store::Version>(g, "versions", false)),
        ),
        ActionRollback => page(
            "Roll back: bound triggers run this earlier version",
            "actions",
            Ok::Json(200, schema::<crate::actions::store::Version>(g)),
        ),
        ActionTest => op(
            "Run a version (or the draft) against a sample event, recording and applying nothing",
            "actions",
            Body::OptionalJson(schema::<crate::web::schema::ActionTest>(g)),
            Ok::Json(200, schema::<ActionTestResult>(g)),
        ),
        ActionExecutions => Op {
            query: PAGE,
            ..page(
                "An action's recent runs: outcome, duration, logs, error",
                "actions",
                Ok::Json(200, list_of::<crate::actions::store::Execution>(g, "executions", true)),
            )
        },
        TriggersList => page(
            "Every trigger with its bound actions and failure mode",
            "actions",
            Ok::Json(200, list_of::<crate::actions::store::TriggerSettings>(g, "triggers", false)),
        ),
        TriggerGet => page(
            "A trigger's bound actions, in order, and its failure mode",
            "actions",
            Ok::Json(200, schema::<crate::actions::store::TriggerSettings>(g)),
        ),
        TriggerUpdate => op(
            "Bind deployed actions to a trigger in order (replacing the list) and/or set its failure mode",
            "actions",
            Body::Json(schema::<crate::actions::store::TriggerUpdate>(g)),
            Ok::Json(200, schema::<crate::actions::store::TriggerSettings>(g)),
        ),
        AdminActions => page("Admin UI: actions and trigger bindings", "admin-ui", Ok::Html),
        AdminActionCreate => op(
            "Admin UI: create an action (then its page)",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("name", true), ("trigger", true), ("code", false)]),
            Ok::Redirect,
        ),
        AdminAction => page("Admin UI: an action, its versions and executions", "admin-ui", Ok::Html),
        AdminActionUpdate => op(
            "Admin UI: save an action's draft or set a secret",
            "admin-ui",
            Body::Form(&[
                ("csrf_token", true),
                ("name", false),
                ("code", false),
                ("secret_name", false),
                ("secret_value", false),
            ]),
            Ok::Html,
        ),
        AdminActionDeploy => {
            op("Admin UI: deploy an action's draft", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminActionRollback => op(
            "Admin UI: roll an action back to a version",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("version", true)]),
            Ok::Html,
        ),
        AdminActionDelete => {
            op("Admin UI: delete an action", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminTriggerUpdate => op(
            "Admin UI: bind actions to a trigger in order and set its failure mode",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("failure_mode", false)]),
            Ok::Html,
        ),
        AdminHome => page("Admin UI", "admin-ui", Ok::Redirect),
        AdminClients => page("Admin UI: clients", "admin-ui", Ok::Html),
        AdminClientNew => page("Admin UI: new client form", "admin-ui", Ok::Html),
        AdminClientCreate => {
            op("Admin UI: create a client", "admin-ui", Body::Form(&[("csrf_token", true), ("name", true)]), Ok::Html)
        }
        AdminClient => page("Admin UI: a client", "admin-ui", Ok::Html),
        AdminClientUpdate => {
            op("Admin UI: save a client", "admin-ui", Body::Form(&[("csrf_token", true), ("name", true)]), Ok::Html)
        }
        AdminClientRotate => op(
            "Admin UI: rotate a secret",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("overlap_seconds", false)]),
            Ok::Html,
        ),
        AdminClientDelete => {
            op("Admin UI: delete a client", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Redirect)
        }
        AdminConsentRevoke => op(
            "Admin UI: revoke a consent",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("user_id", true)]),
            Ok::Html,
        ),
        AdminLogStreams => page("Admin UI: log streams", "admin-ui", Ok::Html),
        AdminLogStreamCreate => op(
            "Admin UI: create a log stream",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("name", true), ("type", true), ("url", false), ("secret", false)]),
            Ok::Html,
        ),
        AdminLogStream => page("Admin UI: a log stream", "admin-ui", Ok::Html),
        AdminLogStreamUpdate => op(
            "Admin UI: save a log stream",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("name", false), ("secret", false)]),
            Ok::Html,
        ),
        AdminLogStreamPause => {
            op("Admin UI: pause a log stream", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminLogStreamResume => {
            op("Admin UI: resume a log stream", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminLogStreamTest => {
            op("Admin UI: send a test event", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminLogStreamDelete => {
            op("Admin UI: delete a log stream", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Redirect)
        }
        AdminLogStreamRedeliver => op(
            "Admin UI: redeliver dead letters (one, or all)",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("log_id", false)]),
            Ok::Html,
        ),
        AdminLogs => {
            Op { query: &["type", "category", "severity"], ..page("Admin UI: the audit log", "admin-ui", Ok::Html) }
        }
        AdminUsers => Op { query: &["q", "after"], ..page("Admin UI: users, searched by email", "admin-ui", Ok::Html) },
        AdminUser => Op { query: &["done"], ..page("Admin UI: a user", "admin-ui", Ok::Html) },
        AdminUserBlock => op("Admin UI: block a user", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html),
        AdminUserUnblock => op("Admin UI: unblock a user", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html),
        AdminUserPasswordReset => {
            op("Admin UI: send a password reset", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminUserMfaReset => {
            op("Admin UI: reset a user's second factors", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        AdminScim => page("Admin UI: SCIM provisioning settings and tokens", "admin-ui", Ok::Html),
        AdminScimUpdate => op(
            "Admin UI: change the SCIM settings",
            "admin-ui",
            Body::Form(&[
                ("csrf_token", true),
                ("enabled", false),
                ("groups_enabled", false),
                ("deprovision", false),
                ("email_from", false),
                ("name_from", false),
            ]),
            Ok::Html,
        ),
        AdminScimTokenCreate => op(
            "Admin UI: create a SCIM token (shown once)",
            "admin-ui",
            Body::Form(&[("csrf_token", true), ("name", true), ("lifetime_days", false)]),
            Ok::Html,
        ),
        AdminScimTokenRotate => op(
            "Admin UI: rotate a SCIM token (a day's overlap)",
            "admin-ui",
            Body::Form(&[("csrf_token", true)]),
            Ok::Html,
        ),
        AdminScimTokenRevoke => {
            op("Admin UI: revoke a SCIM token", "admin-ui", Body::Form(&[("csrf_token", true)]), Ok::Html)
        }
        ScimConfigGet => page(
            "The tenant's SCIM configuration and base URL",
            "scim-settings",
            Ok::Json(200, schema::<crate::web::api::scim::ScimSettings>(g)),
        ),
        ScimConfigUpdate => op(
            "Switch SCIM on or off, set group sync, deprovisioning and the attribute mapping",
            "scim-settings",
            Body::Json(schema::<crate::scim::config::ScimConfigPatch>(g)),
            Ok::Json(200, schema::<crate::web::api::scim::ScimSettings>(g)),
        ),
        ScimTokensList => page(
            "The tenant's live SCIM tokens (never their secrets)",
            "scim-settings",
            Ok::Json(200, list_of::<crate::scim::tokens::ScimToken>(g, "tokens", false)),
        ),
        ScimTokensCreate => op(
            "Create a SCIM token (its secret is in this response only)",
            "scim-settings",
            Body::Json(schema::<crate::web::api::scim::NewScimToken>(g)),
            Ok::Json(201, with_secret::<crate::scim::tokens::ScimToken>(g, "token")),
        ),
        ScimTokenRotate => op(
            "Replace a SCIM token; the old one works until the overlap ends",
            "scim-settings",
            Body::OptionalJson(schema::<crate::web::api::scim::RotateScimToken>(g)),
            Ok::Json(201, with_secret::<crate::scim::tokens::ScimToken>(g, "token")),
        ),
        ScimTokenRevoke => page("Revoke a SCIM token at once", "scim-settings", Ok::Empty),
        ScimServiceProviderConfig => page("SCIM: what this service supports (RFC 7644 §4)", "scim", scim_ok(200)),
        ScimResourceTypes => page("SCIM: the resource types (User, Group)", "scim", scim_ok(200)),
        ScimResourceType => page("SCIM: one resource type", "scim", scim_ok(200)),
        ScimSchemas => page("SCIM: the schemas served (RFC 7643 §7)", "scim", scim_ok(200)),
        ScimSchema => page("SCIM: one schema by URN", "scim", scim_ok(200)),
        ScimUsersList => Op { query: SCIM_LIST, ..page("SCIM: list or filter users", "scim", scim_ok(200)) },
        ScimUsersCreate => {
            Op { query: SCIM_PROJECTION, ..op("SCIM: provision a user", "scim", scim_body(), scim_ok(201)) }
        }
        ScimUsersSearch => op("SCIM: search users (POST .search)", "scim", scim_body(), scim_ok(200)),
        ScimUserGet => Op { query: SCIM_PROJECTION, ..page("SCIM: a user", "scim", scim_ok(200)) },
        ScimUserReplace => {
            Op { query: SCIM_PROJECTION, ..op("SCIM: replace a user", "scim", scim_body(), scim_ok(200)) }
        }
        ScimUserPatch => Op { query: SCIM_PROJECTION, ..op("SCIM: patch a user", "scim", scim_body(), scim_ok(200)) },
        ScimUserDelete => page("SCIM: deprovision a user (block or delete, per configuration)", "scim", Ok::Empty),
        ScimGroupsList => Op { query: SCIM_LIST, ..page("SCIM: list or filter groups", "scim", scim_ok(200)) },
        ScimGroupsCreate => {
            Op { query: SCIM_PROJECTION, ..op("SCIM: create a group", "scim", scim_body(), scim_ok(201)) }
        }
        ScimGroupsSearch => op("SCIM: search groups (POST .search)", "scim", scim_body(), scim_ok(200)),
        ScimGroupGet => Op { query: SCIM_PROJECTION, ..page("SCIM: a group", "scim", scim_ok(200)) },
        ScimGroupReplace => {
            Op { query: SCIM_PROJECTION, ..op("SCIM: replace a group", "scim", scim_body(), scim_ok(200)) }
        }
        ScimGroupPatch => Op { query: SCIM_PROJECTION, ..op("SCIM: patch a group", "scim", scim_body(), scim_ok(200)) },
        ScimGroupDelete => page("SCIM: delete a group", "scim", Ok::Empty),
        ScimSearch => op("SCIM: search across resource types (not supported: 501)", "scim", scim_body(), scim_ok(200)),
        ScimBulk => op("SCIM: bulk operations (not supported: 501)", "scim", scim_body(), scim_ok(200)),
    }
}

/// SCIM bodies are the resources `/Schemas` describes (RFC 7643); the
/// document does not repeat them.
fn scim_body() -> Body {
    Body::Json(
        json!({ "type": "object", "description": "A SCIM resource, PatchOp or SearchRequest (RFC 7643, RFC 7644); application/scim+json is accepted as well" }),
    )
}

fn scim_ok(status: u16) -> Ok {
    Ok::Json(status, json!({ "type": "object", "description": "A SCIM resource or ListResponse (RFC 7644)" }))
}

const SCIM_PROJECTION: &[&str] = &["attributes", "excludedAttributes"];
const SCIM_LIST: &[&str] =
    &["filter", "sortBy", "sortOrder", "startIndex", "count", "attributes", "excludedAttributes"];

fn security(id: RouteId, scope: Scope, surface: Surface) -> Value {
    use crate::web::internal::{guard, Guard};
    use RouteId::*;
    match (scope, guard(id)) {
        (Scope::Platform, Guard::Public) => json!([]),
        (Scope::Platform, _) => json!([{ "platformApiKey": [] }, { "superAdminJwt": [] }]),
        _ => match id {
            Token | Revoke | Introspect => json!([{ "clientSecretBasic": [] }, {}]),
            UserInfo => json!([{ "accessToken": [] }]),
            _ if surface == Surface::Scim => json!([{ "scimToken": [] }]),
            _ if surface == Surface::Problem && id != Discovery && id != Jwks => {
                json!([{ "managementApiKey": [] }, { "managementToken": [crate::web::api::required_scope(id)] }])
            }
            _ => json!([]),
        },
    }
}

/// The error statuses an operation can answer, each rendered in its
/// surface's format (`web::render`). Documented generously: a status the
/// operation cannot produce costs a client nothing, one it can produce but
/// the document hides breaks a typed client.
fn error_statuses(route: &crate::web::router::Route, secured: bool, has_body: bool) -> Vec<u16> {
    use RouteId::*;
    // The service routes answer only when configured (503 says what is missing).
    if matches!(route.id, Health | OpenApi) {
        return vec![503];
    }
    let writes = matches!(route.method, "POST" | "PATCH" | "PUT" | "DELETE");
    let mut s = vec![400];
    // Hosted forms: a wrong password (401), a missing CSRF token, a blocked
    // account or a non-admin (403).
    if secured || (route.surface == Surface::Html && (writes || route.path.starts_with("/admin"))) {
        s.extend([401, 403]);
    }
    if route.surface == Surface::OAuth && !secured {
        s.push(401);
    }
    s.push(404);
    if writes && matches!(route.surface, Surface::Problem | Surface::Scim) {
        s.push(409);
    }
    if route.surface == Surface::Scim {
        if matches!(route.method, "PUT" | "PATCH" | "DELETE") {
            s.push(412);
        }
        if matches!(route.id, ScimSearch | ScimBulk) {
            s.push(501);
        }
    }
    if writes || has_body {
        s.extend([413, 415]);
    }
    if matches!(
        route.id,
        LoginSubmit | MfaSubmit | MfaEnrollSubmit | MfaEmailSend | AccountMfaRemove | AccountMfaRecoveryCodes
    ) {
        s.push(429);
    }
    s.push(503);
    s.sort_unstable();
    s.dedup();
    s
}

fn error_description(status: u16, surface: Surface) -> &'static str {
    match (status, surface) {
        (400, Surface::OAuth) => "The request is invalid (invalid_request, invalid_grant, invalid_scope, ...)",
        (400, _) => "The request is invalid",
        (401, Surface::OAuth) => "Client authentication or the access token failed",
        (401, _) => "A valid credential is required",
        (403, _) => "The credential does not allow this",
        (404, _) => "No such tenant or resource",
        (409, _) => "It conflicts with the current state",
        (413, _) => "The body is over 64 KiB",
        (415, _) => "The body's media type is not the one this operation takes",
        (429, _) => "Too many attempts; try again later",
        (412, _) => "If-Match named a version the resource no longer has",
        (501, _) => "Not supported by this service",
        _ => "The deployment is not configured yet",
    }
}

/// The whole document.
pub fn generate() -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| s.definitions_path = "#/components/schemas/".into());
    let mut g = settings.into_generator();
    let problem = json!({ "$ref": "#/components/schemas/Problem" });
    let oauth_error = json!({ "$ref": "#/components/schemas/OAuthError" });
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let full = match route.scope {
            Scope::Platform => route.path.to_string(),
            Scope::Tenant if route.path == "/" => "/t/{tenant}".to_string(),
            Scope::Tenant => format!("/t/{{tenant}}{}", route.path),
        };
        let op = describe(route.id, &mut g);
        let mut params: Vec<Value> = full
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        for q in op.query {
            let schema = match *q {
                "limit" | "n" | "max_age" | "startIndex" | "count" => json!({ "type": "integer" }),
                "sortOrder" => json!({ "type": "string", "enum": ["ascending", "descending"] }),
                "take" => {
                    json!({ "type": "integer", "minimum": 1, "maximum": 100, "description": "Checkpoint pagination: how many events after `from` (default 50)" })
                }
                "from" => {
                    json!({ "type": "string", "description": "Checkpoint pagination: the log_id after which to read, in storage order" })
                }
                // The audit log's filters: the names a log stream's filter
                // takes; an empty value is no filter (what an HTML form's
                // "any" sends).
                "type" => {
                    let codes = crate::logs::EventType::ALL.iter().map(|t| t.code());
                    let all: std::collections::BTreeSet<&str> = std::iter::once("").chain(codes).collect();
                    json!({ "type": "string", "enum": all })
                }
                "category" => {
                    let mut all = vec![String::new()];
                    all.extend(crate::logs::filter::known_categories());
                    json!({ "type": "string", "enum": all })
                }
                "severity" => {
                    json!({ "type": "string", "enum": ["", "info", "warning", "error"], "description": "The least severity listed; empty: all" })
                }
                "what" => json!({ "type": "string", "enum": ["argon2", "recovery", "totp"] }),
                "since" | "until" => json!({ "type": "string", "format": "date-time" }),
                _ => json!({ "type": "string" }),
            };
            params.push(json!({ "name": q, "in": "query", "required": false, "schema": schema }));
        }
        let (error_ct, error_schema) = match route.surface {
            Surface::Problem => ("application/problem+json", problem.clone()),
            Surface::OAuth => ("application/json", oauth_error.clone()),
            Surface::Html => ("text/html; charset=utf-8", json!({ "type": "string" })),
            Surface::Scim => ("application/scim+json", json!({ "$ref": "#/components/schemas/ScimErrorBody" })),
        };
        let mut responses = Map::new();
        match op.ok {
            Ok::Json(code, schema) if route.surface == Surface::Scim => {
                // SCIM answers in its own media type (RFC 7644 §3.1), with
                // the resource's version as its ETag.
                let mut headers = json!({ "ETag": { "schema": { "type": "string" }, "description": "The resource's version (meta.version)" } });
                if code == 201 {
                    headers["Location"] =
                        json!({ "schema": { "type": "string" }, "description": "The new resource's URI" });
                }
                responses.insert(
                    code.to_string(),
                    json!({ "description": "Success", "headers": headers, "content": { "application/scim+json": { "schema": schema } } }),
                );
            }
            // Cacheable documents carry an ETag and answer a matching
            // If-None-Match with 304 (web::response::json_cached).
            Ok::Json(code, schema)
                if matches!(route.id, RouteId::Discovery | RouteId::Jwks | RouteId::PlatformJwks) =>
            {
                let etag = json!({ "ETag": { "schema": { "type": "string" }, "description": "The document's version, for If-None-Match" } });
                responses.insert(
                    code.to_string(),
                    json!({ "description": "Success", "headers": etag, "content": { "application/json": { "schema": schema } } }),
                );
                responses.insert(
                    "304".into(),
                    json!({ "description": "Not modified: If-None-Match named this version", "headers": etag }),
                );
            }
            Ok::Json(code, schema) => {
                responses.insert(
                    code.to_string(),
                    json!({ "description": "Success", "content": { "application/json": { "schema": schema } } }),
                );
            }
            // A hosted page may also send the browser elsewhere: to sign in,
            // or onward once it is.
            Ok::Html => {
                responses.insert(
                    "200".into(),
                    json!({ "description": "A page", "content": { "text/html; charset=utf-8": { "schema": { "type": "string" } } } }),
                );
                responses.insert(
                    "303".into(),
                    json!({ "description": "Redirect", "headers": { "Location": { "schema": { "type": "string" } } } }),
                );
            }
            Ok::Redirect => {
                responses.insert(
                    "303".into(),
                    json!({ "description": "Redirect", "headers": { "Location": { "schema": { "type": "string" } } } }),
                );
            }
            Ok::Empty if route.id == RouteId::Revoke => {
                responses.insert(
                    "200".into(),
                    json!({ "description": "Revoked, or not a token of this client (RFC 7009 §2.2)" }),
                );
            }
            Ok::Empty => {
                responses.insert("204".into(), json!({ "description": "Done" }));
            }
            Ok::Text => {
                responses.insert(
                    "200".into(),
                    json!({ "description": "OK", "content": { "text/plain; charset=utf-8": { "schema": { "type": "string" } } } }),
                );
            }
        }
        let secured = security(route.id, route.scope, route.surface) != json!([]);
        for status in error_statuses(route, secured, !matches!(op.body, Body::None)) {
            let why = error_description(status, route.surface);
            responses.insert(
                status.to_string(),
                json!({ "description": why, "content": { error_ct: { "schema": error_schema.clone() } } }),
            );
        }
        // One RouteId may serve two methods (UserInfo): keep ids unique.
        let shared = ROUTES.iter().filter(|r| r.id == route.id).count() > 1;
        let operation_id = if shared { format!("{:?}{}", route.id, route.method) } else { format!("{:?}", route.id) };
        let mut operation = json!({
            "operationId": operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": params,
            "responses": responses,
            "security": security(route.id, route.scope, route.surface),
        });
        match op.body {
            Body::None => {}
            Body::Json(schema) => {
                operation["requestBody"] =
                    json!({ "required": true, "content": { "application/json": { "schema": schema } } });
            }
            Body::OptionalJson(schema) => {
                operation["requestBody"] =
                    json!({ "required": false, "content": { "application/json": { "schema": schema } } });
            }
            Body::Form(fields) => {
                let props: Map<String, Value> =
                    fields.iter().map(|(f, _)| (f.to_string(), json!({ "type": "string" }))).collect();
                let required: Vec<&str> = fields.iter().filter(|(_, r)| *r).map(|(f, _)| *f).collect();
                operation["requestBody"] = json!({ "required": true, "content": { "application/x-www-form-urlencoded": { "schema": { "type": "object", "properties": props, "required": required } } } });
            }
        }
        let entry = paths.entry(full).or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = operation;
    }
    // The error bodies' schemas come from the types `web::render` serialises.
    g.subschema_for::<crate::web::render::Problem>();
    g.subschema_for::<crate::web::render::OAuthErrorBody>();
    g.subschema_for::<crate::web::render::ScimErrorBody>();
    let schemas = g.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera",
            "version": env!("CARGO_PKG_VERSION"),
            "license": { "name": "Apache 2.0", "identifier": env!("CARGO_PKG_LICENSE") },
            "description": "Multi-tenant identity service: OpenID Connect and OAuth 2.0 per tenant, the tenant management API, and the internal platform API.",
        },
        "servers": [
            { "url": "http://127.0.0.1:8787", "description": "Local development (scripts/dev.sh); a deployment serves under its PUBLIC_URL" },
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "platformApiKey": { "type": "http", "scheme": "bearer", "description": "A platform API key (tsk_...) or the bootstrap PLATFORM_API_KEY." },
                "superAdminJwt": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A short-lived, single-use ES256 super-admin JWT." },
                "managementApiKey": { "type": "http", "scheme": "bearer", "description": "A tenant management API key (tmk_...)." },
                "managementToken": {
                    "type": "oauth2",
                    "description": "A client-credentials access token for the audience urn:tessera:management.",
                    "flows": { "clientCredentials": { "tokenUrl": "/t/{tenant}/oauth/token", "scopes": crate::oauth::resources::MANAGEMENT_SCOPES.iter().map(|s| (s.to_string(), json!(s))).collect::<Map<String, Value>>() } },
                },
                "clientSecretBasic": { "type": "http", "scheme": "basic", "description": "OAuth client authentication (client_secret_post and none are accepted too)." },
                "accessToken": { "type": "http", "scheme": "bearer", "bearerFormat": "at+jwt" },
                "scimToken": { "type": "http", "scheme": "bearer", "description": "A tenant's SCIM token (tsc_...)." },
            },
        },
    })
}
