//! The hosted pages' markup. Handlers decide what to show; this file only
//! renders it.

use super::{escape, message, page};
use crate::tenant::TenantCtx;
use crate::users::User;
use crate::web::csrf;

pub struct Field<'a> {
    pub name: &'a str,
    /// The input's id (its name unless two forms of a page share a name).
    pub id: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub autocomplete: &'a str,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, kind: &'a str, autocomplete: &'a str) -> Self {
        Field { name, id: name, label, kind, value: "", autocomplete }
    }
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = id;
        self
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn hidden(name: &'a str, value: &'a str) -> Self {
        Field { name, id: name, label: "", kind: "hidden", value, autocomplete: "" }
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
        if f.kind == "checkbox" {
            out.push_str(&format!(
                "<label><input type=\"checkbox\" id=\"{}\" name=\"{}\" value=\"1\"> {}</label>",
                escape(f.id),
                escape(f.name),
                escape(f.label)
            ));
            continue;
        }
        let required = if f.kind == "text" { "" } else { " required" };
        out.push_str(&format!(
            "<label for=\"{i}\">{l}</label><input id=\"{i}\" name=\"{n}\" type=\"{k}\" value=\"{v}\" autocomplete=\"{a}\"{required}>",
            i = escape(f.id),
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

pub fn login(
    t: &TenantCtx,
    csrf_token: &str,
    email: &str,
    return_to: &str,
    fresh: bool,
    msg: Option<(&str, &str)>,
) -> String {
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
                Field::hidden("fresh", if fresh { "1" } else { "" }),
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

/// What the challenge page offers.
pub struct Challenge<'a> {
    pub return_to: &'a str,
    pub remember_days: u32,
    pub has_app: bool,
    /// The masked address, when codes by email are a factor.
    pub email: Option<String>,
    /// A code was just sent by email.
    pub sent: bool,
    pub has_recovery: bool,
}

/// The second-factor challenge: a code from the app or by email, or a
/// recovery code.
pub fn mfa_challenge(t: &TenantCtx, csrf_token: &str, c: &Challenge, msg: Option<(&str, &str)>) -> String {
    let remember = format!("Remember this browser for {} days", c.remember_days);
    let code_form = |label: &str, method: &str, button: &str| {
        let (id, remember_id) = match method {
            "totp" => ("totp-code", "totp-remember"),
            "email" => ("email-code", "email-remember"),
            _ => ("recovery-code", "recovery-remember"),
        };
        let mut fields = vec![
            Field::new("code", label, "text", if method == "recovery" { "off" } else { "one-time-code" }).id(id),
            Field::hidden("method", method),
            Field::hidden("return_to", c.return_to),
        ];
        if c.remember_days > 0 {
            fields.push(Field::new("remember", &remember, "checkbox", "").id(remember_id));
        }
        form(&t.path("/mfa"), csrf_token, &fields, button)
    };
    let mut body = msg_html(msg);
    if c.has_app {
        body.push_str("<p>Enter the 6-digit code your authenticator app shows.</p>");
        body.push_str(&code_form("Code from your authenticator app", "totp", "Verify"));
    }
    if let Some(masked) = &c.email {
        let send = form(
            &t.path("/mfa/email"),
            csrf_token,
            &[Field::hidden("purpose", "challenge"), Field::hidden("return_to", c.return_to)],
            if c.sent { "Send another code" } else { "Email me a code" },
        );
        let input = if c.sent { code_form("Code from the email", "email", "Verify") } else { String::new() };
        let open = if c.has_app && !c.sent { "" } else { " open" };
        body.push_str(&format!(
            "<details id=\"email\"{open}><summary>Get a code at {}</summary>{input}{send}</details>",
            escape(masked)
        ));
    }
    if c.has_recovery {
        body.push_str(&format!(
            "<details id=\"recovery\"><summary>Use a recovery code instead</summary>{}</details>",
            code_form("Recovery code", "recovery", "Use recovery code")
        ));
    }
    page(Some(&t.tenant.name), "Two-step verification", &body)
}

/// Enrolling an authenticator app: the QR code (SVG), the secret as text,
/// and the first code that confirms it.
/// `email`: the masked address when the user may enrol codes by email
/// instead, and whether a code was just sent.
#[derive(Clone, Copy)]
pub struct Enrolment<'a> {
    pub qr_svg: &'a str,
    pub otpauth_uri: &'a str,
    pub secret_text: &'a str,
    pub return_to: &'a str,
    pub email: Option<(&'a str, bool)>,
}

pub fn mfa_enroll(t: &TenantCtx, csrf_token: &str, e: &Enrolment, msg: Option<(&str, &str)>) -> String {
    let Enrolment { qr_svg, otpauth_uri, secret_text, return_to, email } = *e;
    let by_email = match email {
        None => String::new(),
        Some((masked, sent)) => {
            let input = if sent {
                form(
                    &t.path("/mfa/enroll"),
                    csrf_token,
                    &[
                        Field::new("code", "Code from the email", "text", "one-time-code").id("email-code"),
                        Field::hidden("method", "email"),
                        Field::hidden("return_to", return_to),
                    ],
                    "Use codes by email",
                )
            } else {
                String::new()
            };
            let send = form(
                &t.path("/mfa/email"),
                csrf_token,
                &[Field::hidden("purpose", "enroll"), Field::hidden("return_to", return_to)],
                if sent { "Send another code" } else { "Email me a code" },
            );
            let open = if sent { " open" } else { "" };
            format!(
                "<details id=\"email\"{open}><summary>No app? Get codes at {}</summary>{input}{send}</details>",
                escape(masked)
            )
        }
    };
    let body = format!(
        "{}<p>Scan this code with your authenticator app (Google Authenticator, 1Password, Authy, ...).</p>\
<figure id=\"qr\">{qr_svg}</figure><p>On this device: <a id=\"otpauth\" href=\"{}\">open in your authenticator app</a>. \
Or enter this key: <code id=\"secret\">{}</code></p>{}{by_email}",
        msg_html(msg),
        escape(otpauth_uri),
        escape(secret_text),
        form(
            &t.path("/mfa/enroll"),
            csrf_token,
            &[
                Field::new("code", "Code from the app", "text", "one-time-code").id("totp-code"),
                Field::hidden("return_to", return_to),
            ],
            "Turn on two-step verification"
        ),
    );
    page(Some(&t.tenant.name), "Set up two-step verification", &body)
}

/// Recovery codes, shown once.
pub fn recovery_codes(t: &TenantCtx, codes: &[String], next: &str) -> String {
    let items: String = codes.iter().map(|c| format!("<li><code>{}</code></li>", escape(c))).collect();
    let body = format!(
        "{}<ol id=\"recovery-codes\">{items}</ol>{}",
        message("notice", "Save these recovery codes somewhere safe. Each works once, and they are shown only now."),
        links(&[(next, "Continue")]),
    );
    page(Some(&t.tenant.name), "Your recovery codes", &body)
}

/// The account page's two-step verification section.
pub fn account_mfa(t: &TenantCtx, csrf_token: &str, factors: &crate::mfa::Factors) -> String {
    // Passwords are at least 8 characters, so a 6-digit proof is a code.
    let confirm = |id| {
        [Field::new("proof", "Your password, or a code from your authenticator app", "password", "current-password")
            .id(id)]
    };
    if factors.enrolled() {
        let what = match (factors.has_app(), factors.has_email()) {
            (true, true) => "authenticator app and codes by email",
            (true, false) => "authenticator app",
            _ => "codes by email",
        };
        format!(
            "<h2>Two-step verification</h2><p id=\"mfa-status\">On: {what}. \
<span id=\"recovery-left\">{}</span> recovery codes left.</p>{}{}",
            factors.recovery_codes_remaining,
            form(&t.path("/account/mfa/recovery-codes"), csrf_token, &confirm("proof-codes"), "New recovery codes"),
            form(
                &t.path("/account/mfa/remove"),
                csrf_token,
                &confirm("proof-remove"),
                "Turn off two-step verification"
            ),
        )
    } else {
        let back: String = form_urlencoded::byte_serialize(t.path("/account").as_bytes()).collect();
        format!(
            "<h2>Two-step verification</h2><p id=\"mfa-status\">Off.</p>{}",
            links(&[(&t.path(&format!("/mfa/enroll?return_to={back}")), "Set up an authenticator app")])
        )
    }
}

pub fn account(t: &TenantCtx, csrf_token: &str, user: &User, consents: &[serde_json::Value], mfa: &str) -> String {
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
        "<p>Signed in as <strong id=\"email\">{}</strong>{name}.</p>{mfa}{apps}{}",
        escape(&user.email),
        form(&t.path("/logout"), csrf_token, &[], "Sign out"),
    );
    page(Some(&t.tenant.name), "Your account", &body)
}
