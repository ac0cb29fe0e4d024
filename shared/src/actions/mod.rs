//! Actions: tenant code that runs at fixed points of the flows (Auth0's
//! triggers), in the actions host's Wasmtime sandbox.
//!
//! This module holds what the edge and the actions host agree on: the
//! triggers ([`Trigger`]), the signed request between them ([`signature`],
//! [`protocol`]) and what an action may decide ([`decision`]), which the
//! edge validates before acting on any of it.

pub mod decision;
pub mod execute;
pub mod protocol;
pub mod signature;
pub mod store;

use serde::{Deserialize, Serialize};

/// Where in a flow an action runs. Auth0's names where Auth0 has one.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Before the user row is written: may deny, may set metadata.
    PreUserRegistration,
    /// After the signup committed; asynchronous, never delays or fails it.
    PostUserRegistration,
    /// Before the password is checked: may deny.
    PreLogin,
    /// After authentication, before the code is issued: may deny, set
    /// claims and metadata, require MFA.
    PostLogin,
    /// Token issue for `client_credentials`: may deny, set claims.
    CredentialsExchange,
}

impl Trigger {
    pub const ALL: [Trigger; 5] = [
        Trigger::PreUserRegistration,
        Trigger::PostUserRegistration,
        Trigger::PreLogin,
        Trigger::PostLogin,
        Trigger::CredentialsExchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::PreUserRegistration => "pre-user-registration",
            Trigger::PostUserRegistration => "post-user-registration",
            Trigger::PreLogin => "pre-login",
            Trigger::PostLogin => "post-login",
            Trigger::CredentialsExchange => "credentials-exchange",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The function a JavaScript action exports for this trigger.
    pub fn handler_name(self) -> &'static str {
        match self {
            Trigger::PreUserRegistration => "onExecutePreUserRegistration",
            Trigger::PostUserRegistration => "onExecutePostUserRegistration",
            Trigger::PreLogin => "onExecutePreLogin",
            Trigger::PostLogin => "onExecutePostLogin",
            Trigger::CredentialsExchange => "onExecuteCredentialsExchange",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_names_round_trip_through_text_and_json() {
        for t in Trigger::ALL {
            assert_eq!(Trigger::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        assert_eq!(Trigger::parse("post_login"), None);
    }
}
