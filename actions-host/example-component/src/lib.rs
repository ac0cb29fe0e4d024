//! An action as a WebAssembly component, in Rust. On `post-login` it denies
//! users of one domain, tags everyone else's ID token, and logs a line; on
//! `credentials-exchange` it adds the client's name to the access token.
//!
//! Build: `cargo build -p tessera-example-action --target wasm32-wasip2
//! --release`, then upload `target/wasm32-wasip2/release/tessera_example_action.wasm`
//! as an action with `runtime: "wasm"`.

wit_bindgen::generate!({ path: "../wit", world: "action" });

use tessera::actions::types::{Denial, Entry};

struct Example;

impl Guest for Example {
    fn on_execute(trigger: String, event: String) -> Result<Vec<Decision>, String> {
        let event: serde_json::Value = serde_json::from_str(&event).map_err(|e| format!("event: {e}"))?;
        let text = |path: &[&str]| {
            path.iter().try_fold(&event, |v, k| v.get(*k)).and_then(|v| v.as_str()).unwrap_or_default().to_owned()
        };
        match trigger.as_str() {
            "post-login" => {
                let email = text(&["user", "email"]);
                log("info", &format!("component saw a sign-in by {email}"));
                // Shows the host turning a trap into an execution error.
                if email.starts_with("trap@") {
                    panic!("asked to trap");
                }
                if email.ends_with("@blocked.example") {
                    return Ok(vec![Decision::Deny(Denial {
                        reason: "the example component blocks this domain".into(),
                        user_message: None,
                        code: None,
                    })]);
                }
                let greeting = match text(&["secrets", "GREETING"]) {
                    s if s.is_empty() => "hello".to_owned(),
                    s => s,
                };
                Ok(vec![Decision::SetIdTokenClaim(Entry {
                    name: "https://example.com/component".into(),
                    value_json: serde_json::json!({ "greeting": greeting, "client": text(&["client", "client_id"]) })
                        .to_string(),
                })])
            }
            "credentials-exchange" => Ok(vec![Decision::SetAccessTokenClaim(Entry {
                name: "https://example.com/client_name".into(),
                value_json: serde_json::Value::String(text(&["client", "name"])).to_string(),
            })]),
            other => Err(format!("the example component does not handle {other}")),
        }
    }
}

export!(Example);
