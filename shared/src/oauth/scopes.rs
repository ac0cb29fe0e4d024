//! Scopes (RFC 6749 §3.3): which a client may request, for which audience.

use crate::error::{Error, Result};

/// The scopes OpenID Connect defines (Core §5.4, §11).
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn validate_scope_token(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!("'{s}' is not a valid scope")))
    }
}

/// Checks that every requested scope is allowed for the client and, when an
/// API audience is targeted, defined by that API (or an OIDC scope).
pub fn check(requested: &[String], client_scopes: &[String], api_scopes: Option<&[String]>) -> Result<(), String> {
    for s in requested {
        if !client_scopes.iter().any(|c| c == s) {
            return Err(format!("the client may not request scope '{s}'"));
        }
        let oidc = OIDC_SCOPES.contains(&s.as_str());
        if !oidc {
            match api_scopes {
                Some(api) if api.iter().any(|a| a == s) => {}
                Some(_) => return Err(format!("the API does not define scope '{s}'")),
                None => return Err(format!("scope '{s}' needs an audience (the API that defines it)")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scope_rules() {
        let client = v(&["openid", "email", "read:things"]);
        assert!(check(&v(&["openid", "email"]), &client, None).is_ok());
        assert!(check(&v(&["openid", "profile"]), &client, None).is_err());
        assert!(check(&v(&["read:things"]), &client, None).is_err());
        assert!(check(&v(&["read:things"]), &client, Some(&v(&["read:things"]))).is_ok());
        assert!(check(&v(&["read:things"]), &client, Some(&v(&["write:things"]))).is_err());
        assert!(validate_scope_token("read:things").is_ok());
        assert!(validate_scope_token("bad\"quote").is_err());
        assert!(validate_scope_token("").is_err());
    }
}
