//! One module per grant type; the token endpoint looks the grant up by its
//! `grant_type` and hands it the authenticated client and the form.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::clients::Client;
use super::tokens::Minted;
use super::OResult;
use crate::host::Host;
use crate::request::Form;
use crate::router::Ctx;

/// A grant type of RFC 6749 §4 / §6.
pub trait Grant {
    const GRANT_TYPE: &'static str;

    #[allow(async_fn_in_trait)]
    async fn exchange<H: Host>(cx: &Ctx<'_, H>, client: &Client, form: &Form) -> OResult<Minted>;
}
