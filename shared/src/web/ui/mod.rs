//! Server-rendered HTML for the hosted pages. No JavaScript: every page is a
//! plain form, so it works under the strict CSP set in `response::html`.
//! Every interpolated value goes through [`escape`].

pub mod pages;

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem 2.25rem;border-radius:10px;box-shadow:0 2px 12px #0002}\
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .25rem;font-weight:600}\
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #b9bfcc;border-radius:6px;font-size:1rem}\
button{margin-top:1.2rem;width:100%;padding:.65rem;border:0;border-radius:6px;background:#2b59c3;color:#fff;font-size:1rem;cursor:pointer}\
.error{background:#fde8e8;color:#8a1f1f;padding:.6rem .8rem;border-radius:6px}.notice{background:#e7f3ea;color:#1f5a2e;padding:.6rem .8rem;border-radius:6px}\
.links{margin-top:1.2rem;font-size:.9rem;display:flex;justify-content:space-between}.tenant{color:#667;font-size:.85rem;margin-bottom:.5rem}";

/// A whole page around `body` (already-escaped HTML).
pub fn page(tenant_name: Option<&str>, title: &str, body: &str) -> String {
    let tenant = tenant_name.map(|n| format!("<div class=\"tenant\">{}</div>", escape(n))).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head>\
<body><main>{tenant}<h1>{t}</h1>{body}</main></body></html>",
        t = escape(title),
    )
}

pub fn error_page(title: &str, detail: &str) -> String {
    page(None, title, &format!("<p class=\"error\" role=\"alert\">{}</p>", escape(detail)))
}

/// A message box; `kind` is `error` or `notice`.
pub fn message(kind: &str, text: &str) -> String {
    let role = if kind == "error" { " role=\"alert\"" } else { "" };
    format!("<p class=\"{kind}\"{role}>{}</p>", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;");
        let p = page(Some("<b>"), "Sign in", "");
        assert!(p.contains("&lt;b&gt;"));
        assert!(!p.contains("<b>"));
    }
}
