//! What an action may decide, and the edge's check of it. The host's answer
//! is untrusted input: every decision is parsed, checked against what its
//! trigger allows, and bounded before the flow acts on any of them.

use serde::{Deserialize, Serialize};

use super::Trigger;

/// Claims an action cannot set: the ones that say who issued the token, for
/// whom, when, and for what (RFC 7519 §4.1, OIDC Core §2 and §3.1.3.6,
/// RFC 9068 §2.2), and the ones Tessera derives from the sign-in itself.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "azp",
    "nonce",
    "at_hash",
    "c_hash",
    "auth_time",
    "scope",
    "client_id",
    "amr",
    "acr",
    "sid",
    "cnf",
    "act",
    "may_act",
    "typ",
];

pub const MAX_NAME_CHARS: usize = 256;
/// One claim or metadata value, as JSON.
pub const MAX_VALUE_BYTES: usize = 2048;
/// All custom claims of one token, or all metadata set by one run, as JSON.
pub const MAX_TOTAL_BYTES: usize = 8192;
pub const MAX_REASON_CHARS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Token {
    IdToken,
    AccessToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataKind {
    App,
    User,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    /// `api.access.deny(reason[, userMessage])`; credentials-exchange
    /// passes an OAuth error `code` first.
    Deny {
        reason: String,
        #[serde(default)]
        user_message: Option<String>,
        #[serde(default)]
        code: Option<String>,
    },
    SetClaim {
        token: Token,
        name: String,
        value: serde_json::Value,
    },
    SetMetadata {
        kind: MetadataKind,
        name: String,
        value: serde_json::Value,
    },
    AddScope {
        scope: String,
    },
    RequireMfa {
        provider: String,
        #[serde(default)]
        allow_remember_browser: bool,
    },
}

/// OAuth error codes a credentials-exchange deny may answer with (RFC 6749
/// §5.2, and `access_denied` when the action names none).
pub const DENY_CODES: &[&str] =
    &["access_denied", "invalid_request", "invalid_scope", "unauthorized_client", "server_error"];
pub const MFA_PROVIDERS: &[&str] = &["any", "otp", "google-authenticator", "email"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionError(pub String);

impl std::fmt::Display for DecisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, DecisionError> {
    Err(DecisionError(message.into()))
}

fn allowed(trigger: Trigger, d: &Decision) -> bool {
    use Decision::*;
    match trigger {
        Trigger::PreUserRegistration => matches!(d, Deny { .. } | SetMetadata { .. }),
        Trigger::PostUserRegistration => false,
        Trigger::PreLogin => matches!(d, Deny { .. }),
        Trigger::PostLogin => true,
        Trigger::CredentialsExchange => {
            matches!(d, Deny { .. } | SetClaim { token: Token::AccessToken, .. })
        }
    }
}

fn json_len(v: &serde_json::Value) -> usize {
    serde_json::to_string(v).map(|s| s.len()).unwrap_or(usize::MAX)
}

fn check_name(what: &str, name: &str) -> Result<(), DecisionError> {
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return err(format!("a {what} name must have 1 to {MAX_NAME_CHARS} characters"));
    }
    Ok(())
}

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Parses and checks one run's decisions for its trigger. Any decision that
/// is unknown, not offered by the trigger, or out of bounds fails the whole
/// run: acting on part of what an action meant would be worse.
pub fn validate(trigger: Trigger, raw: &[serde_json::Value]) -> Result<Vec<Decision>, DecisionError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut claim_bytes = [0usize; 2];
    let mut metadata_bytes = 0usize;
    for value in raw {
        let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("(none)");
        let d: Decision = match serde_json::from_value(value.clone()) {
            Ok(d) => d,
            Err(_) => return err(format!("unknown or malformed decision of type {kind}")),
        };
        if !allowed(trigger, &d) {
            return err(format!("a {trigger} action cannot make a {kind} decision"));
        }
        match &d {
            Decision::Deny { reason, user_message, code } => {
                if reason.chars().count() > MAX_REASON_CHARS
                    || user_message.as_ref().is_some_and(|m| m.chars().count() > MAX_REASON_CHARS)
                {
                    return err(format!("a deny reason may have at most {MAX_REASON_CHARS} characters"));
                }
                if let Some(code) = code {
                    if !DENY_CODES.contains(&code.as_str()) {
                        return err(format!("deny code {code} is not one of {}", DENY_CODES.join(", ")));
                    }
                }
            }
            Decision::SetClaim { token, name, value } => {
                check_name("claim", name)?;
                if RESERVED_CLAIMS.contains(&name.as_str()) {
                    return err(format!("claim {name} is reserved and cannot be set by an action"));
                }
                if value.is_null() {
                    return err(format!("claim {name} has no value"));
                }
                let len = json_len(value);
                if len > MAX_VALUE_BYTES {
                    return err(format!("claim {name} is {len} bytes; at most {MAX_VALUE_BYTES}"));
                }
                let total = &mut claim_bytes[*token as usize];
                *total += len + name.len();
                if *total > MAX_TOTAL_BYTES {
                    return err(format!("custom claims of one token may total at most {MAX_TOTAL_BYTES} bytes"));
                }
            }
            Decision::SetMetadata { name, value, .. } => {
                check_name("metadata", name)?;
                let len = json_len(value);
                if len > MAX_VALUE_BYTES {
                    return err(format!("metadata {name} is {len} bytes; at most {MAX_VALUE_BYTES}"));
                }
                metadata_bytes += len + name.len();
                if metadata_bytes > MAX_TOTAL_BYTES {
                    return err(format!("metadata set by one run may total at most {MAX_TOTAL_BYTES} bytes"));
                }
            }
            Decision::AddScope { scope } => {
                if !scope_token(scope) {
                    return err("a scope must be one RFC 6749 scope token of at most 128 characters");
                }
            }
            Decision::RequireMfa { provider, .. } => {
                if !MFA_PROVIDERS.contains(&provider.as_str()) {
                    return err(format!("MFA provider {provider} is not one of {}", MFA_PROVIDERS.join(", ")));
                }
            }
        }
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_and_metadata_within_bounds_pass() {
        let raw = [
            json!({"type": "set_claim", "token": "id_token", "name": "https://example.com/roles", "value": ["admin"]}),
            json!({"type": "set_claim", "token": "access_token", "name": "plan", "value": "pro"}),
            json!({"type": "set_metadata", "kind": "app", "name": "seen", "value": true}),
            json!({"type": "add_scope", "scope": "read:reports"}),
            json!({"type": "require_mfa", "provider": "any"}),
            json!({"type": "deny", "reason": "blocked", "user_message": null}),
        ];
        let d = validate(Trigger::PostLogin, &raw).unwrap();
        assert_eq!(d.len(), 6);
        assert!(
            matches!(&d[0], Decision::SetClaim { token: Token::IdToken, name, .. } if name == "https://example.com/roles")
        );
    }

    #[test]
    fn every_reserved_claim_is_refused() {
        for name in RESERVED_CLAIMS {
            let raw = [json!({"type": "set_claim", "token": "access_token", "name": name, "value": "x"})];
            let e = validate(Trigger::PostLogin, &raw).unwrap_err();
            assert!(e.0.contains("reserved"), "{name}: {e}");
        }
    }

    #[test]
    fn unknown_out_of_place_and_oversized_decisions_are_refused() {
        let cases = [
            (Trigger::PostLogin, json!({"type": "become_admin"})),
            (Trigger::PostLogin, json!({"type": "set_claim", "token": "refresh_token", "name": "a", "value": 1})),
            (Trigger::PostLogin, json!("deny")),
            (Trigger::PreLogin, json!({"type": "set_claim", "token": "id_token", "name": "a", "value": 1})),
            (Trigger::PostUserRegistration, json!({"type": "deny", "reason": "late"})),
            (Trigger::CredentialsExchange, json!({"type": "set_claim", "token": "id_token", "name": "a", "value": 1})),
            (Trigger::CredentialsExchange, json!({"type": "deny", "code": "teapot", "reason": "x"})),
            (
                Trigger::PostLogin,
                json!({"type": "set_claim", "token": "id_token", "name": "big", "value": "x".repeat(MAX_VALUE_BYTES)}),
            ),
            (Trigger::PostLogin, json!({"type": "set_claim", "token": "id_token", "name": "", "value": 1})),
            (Trigger::PostLogin, json!({"type": "set_claim", "token": "id_token", "name": "n", "value": null})),
            (Trigger::PostLogin, json!({"type": "add_scope", "scope": "two words"})),
            (Trigger::PostLogin, json!({"type": "require_mfa", "provider": "sms"})),
            (Trigger::PostLogin, json!({"type": "deny", "reason": "r".repeat(MAX_REASON_CHARS + 1)})),
        ];
        for (trigger, raw) in cases {
            assert!(validate(trigger, std::slice::from_ref(&raw)).is_err(), "{trigger} {raw}");
        }
    }

    #[test]
    fn many_small_claims_cannot_add_up_past_the_token_budget() {
        let raw: Vec<_> = (0..10)
            .map(|i| json!({"type": "set_claim", "token": "id_token", "name": format!("c{i}"), "value": "x".repeat(1000)}))
            .collect();
        assert!(validate(Trigger::PostLogin, &raw[..7]).is_ok());
        assert!(validate(Trigger::PostLogin, &raw).unwrap_err().0.contains("total"));
    }
}
