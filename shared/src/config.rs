//! The deployment's configuration, as far as the core must check it itself.
//!
//! The committed `wrangler.toml` and `spin.toml` are production
//! configurations. Local conveniences (mail kept in a dev mailbox, the
//! `/api/v1/internal/dev/*` routes) exist only with `DEV_MODE=true`, which
//! the dev and test scripts set. Without it, the deployment must name its
//! public origin and a real mail provider; if something is missing, every
//! request is refused with 503 and `/healthz` names what is missing, at the
//! first request rather than when a user first asks for a reset link.

use crate::host::{Host, Secrets};

/// Whether local development conveniences are on (`DEV_MODE=true`).
pub fn dev_mode<H: Host>(host: &H) -> bool {
    matches!(host.secrets().var("DEV_MODE").as_deref(), Some("true" | "1"))
}

/// What this deployment lacks to run, by name (never by value).
pub fn missing<H: Host>(host: &H) -> Vec<&'static str> {
    let secrets = host.secrets();
    let set = |v: Option<String>| v.is_some_and(|v| !v.trim().is_empty());
    // Read in place: this runs on every request.
    let secret_set = |name| secrets.secret(name).is_some_and(|s| !s.expose().trim().is_empty());
    let mut missing = Vec::new();
    if !secret_set("MASTER_KEY") {
        missing.push("MASTER_KEY (secret)");
    }
    if dev_mode(host) {
        return missing;
    }
    for var in ["PUBLIC_URL", "EMAIL_API_URL", "EMAIL_FROM"] {
        if !set(secrets.var(var)) {
            missing.push(match var {
                "PUBLIC_URL" => "PUBLIC_URL (var)",
                "EMAIL_API_URL" => "EMAIL_API_URL (var)",
                _ => "EMAIL_FROM (var)",
            });
        }
    }
    if !secret_set("EMAIL_API_KEY") {
        missing.push("EMAIL_API_KEY (secret)");
    }
    missing
}
