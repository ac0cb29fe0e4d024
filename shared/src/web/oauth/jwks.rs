//! The tenant's JSON Web Key Set: every key that verifies (active and
//! verify-only), never a retired one.

use crate::error::Result;
use crate::host::Host;
use crate::web::response::{prebuilt_json, same_for_every_get, HttpResponse};
use crate::web::router::Ctx;

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let doc = crate::keys::jwks(cx.host, cx.tenant().id()).await?;
    // Short enough that a rotation is seen well before the new key signs.
    Ok(same_for_every_get(prebuilt_json(cx.req.header("if-none-match"), &doc, 300)))
}
