//! The hosted pages' markup. Handlers decide what to show; this file only
//! renders it.

use super::{escape, message, page};
use crate::tenant::TenantCtx;
use crate::users::User;
use crate::web::csrf;

pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub autocomplete: &'a str,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, kind: &'a str, autocomplete: &'a str) -> Self {
        Field { name, label, kind, value: "", autocomplete }
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn hidden(name: &'a str, value: &'a str) -> Self {
        Field { name, label: "", kind: "hidden", value, autocomplete: "" }
    }
}

pub fn form(action: &str, csrf_token: &str, fields: &[Field], button: &str) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(action),
        csrf::FIELD,
        escape(csrf_token)
    );
    for f in fields {
        if f.kind == "hidden" {
            out.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(f.name), escape(f.value)));
            continue;
        }
        let required = if f.kind == "text" { "" } else { " required" };
        out.push_str(&format!(
            "<label for=\"{n}\">{l}</label><input id=\"{n}\" name=\"{n}\" type=\"{k}\" value=\"{v}\" autocomplete=\"{a}\"{required}>",
            n = escape(f.name),
            l = escape(f.label),
            k = escape(f.kind),
            v = escape(f.value),
            a = escape(f.autocomplete),
        ));
    }
    out.push_str(&format!("<button type=\"submit\">{}</button></form>", escape(button)));
    out
}

fn msg_html(msg: Option<(&str, &str)>) -> String {
    msg.map(|(k, t)| message(k, t)).unwrap_or_default()
}

fn links(items: &[(&str, &str)]) -> String {
    let inner: String =
        items.iter().map(|(href, text)| format!("<a href=\"{}\">{}</a>", escape(href), escape(text))).collect();
    format!("<div class=\"links\">{inner}</div>")
}

pub fn login(t: &TenantCtx, csrf_token: &str, email: &str, return_to: &str, msg: Option<(&str, &str)>) -> String {
    let body = format!(
        "{}{}{}",
        msg_html(msg),
        form(
            &t.path("/login"),
            csrf_token,
            &[
                Field::new("email", "Email", "email", "username").value(email),
                Field::new("password", "Password", "password", "current-password"),
                Field::hidden("return_to", return_to),
            ],
            "Sign in",
        ),
        links(&[(&t.path("/signup"), "Create an account"), (&t.path("/password-reset"), "Forgot password?")]),
    );
    page(Some(&t.tenant.name), "Sign in", &body)
}

pub fn signup(t: &TenantCtx, csrf_token: &str, email: &str, name: &str, msg: Option<(&str, &str)>) -> String {
    let body = format!(
        "{}{}{}",
        msg_html(msg),
        form(
            &t.path("/signup"),
            csrf_token,
            &[
                Field::new("email", "Email", "email", "email").value(email),
                Field::new("name", "Name (optional)", "text", "name").value(name),
                Field::new("password", "Password", "password", "new-password"),
            ],
            "Create account",
        ),
        links(&[(&t.path("/login"), "Already have an account? Sign in")]),
    );
    page(Some(&t.tenant.name), "Create your account", &body)
}

/// A page that only tells something, with an optional link onwards.
pub fn notice(t: &TenantCtx, title: &str, kind: &str, text: &str, link: Option<(&str, &str)>) -> String {
    let body = format!("{}{}", message(kind, text), link.map(|l| links(&[l])).unwrap_or_default());
    page(Some(&t.tenant.name), title, &body)
}

pub fn verify_email(t: &TenantCtx, csrf_token: &str, token: &str) -> String {
    let body = format!(
        "<p>Confirm that this address is yours.</p>{}",
        form(&t.path("/verify-email"), csrf_token, &[Field::hidden("token", token)], "Verify email address")
    );
    page(Some(&t.tenant.name), "Verify your email", &body)
}

pub fn resend_verification(t: &TenantCtx, csrf_token: &str, email: &str) -> String {
    form(
        &t.path("/verify-email/resend"),
        csrf_token,
        &[Field::hidden("email", email)],
        "Send the verification email again",
    )
}

pub fn reset_request(t: &TenantCtx, csrf_token: &str, msg: Option<(&str, &str)>) -> String {
    let body = format!(
        "{}<p>Enter your email and we will send you a link to choose a new password.</p>{}{}",
        msg_html(msg),
        form(
            &t.path("/password-reset"),
            csrf_token,
            &[Field::new("email", "Email", "email", "username")],
            "Send reset link",
        ),
        links(&[(&t.path("/login"), "Back to sign in")]),
    );
    page(Some(&t.tenant.name), "Reset your password", &body)
}

pub fn reset_confirm(t: &TenantCtx, csrf_token: &str, token: &str, msg: Option<(&str, &str)>) -> String {
    let body = format!(
        "{}{}",
        msg_html(msg),
        form(
            &t.path("/password-reset/confirm"),
            csrf_token,
            &[Field::new("password", "New password", "password", "new-password"), Field::hidden("token", token)],
            "Set new password",
        ),
    );
    page(Some(&t.tenant.name), "Choose a new password", &body)
}

pub fn account(t: &TenantCtx, csrf_token: &str, user: &User, consents: &[serde_json::Value]) -> String {
    let name = user.name.as_deref().map(|n| format!(" ({})", escape(n))).unwrap_or_default();
    let apps: String = consents
        .iter()
        .map(|c| {
            let client_id = c["client_id"].as_str().unwrap_or("");
            format!(
                "<li><strong>{}</strong>{}</li>",
                escape(c["client_name"].as_str().unwrap_or("")),
                form(
                    &t.path("/account/consents/revoke"),
                    csrf_token,
                    &[Field::hidden("client_id", client_id)],
                    "Remove access"
                ),
            )
        })
        .collect();
    let apps = if apps.is_empty() {
        String::new()
    } else {
        format!("<h2>Applications you allowed</h2><ul id=\"consents\">{apps}</ul>")
    };
    let body = format!(
        "<p>Signed in as <strong id=\"email\">{}</strong>{name}.</p>{apps}{}",
        escape(&user.email),
        form(&t.path("/logout"), csrf_token, &[], "Sign out"),
    );
    page(Some(&t.tenant.name), "Your account", &body)
}
