//! Which origins this deployment answers under, decided from configuration,
//! never from the request alone.
//!
//! The issuer, discovery, every emailed link and every redirect are built
//! from the origin a request is served under, so a forged `Host` header must
//! not choose it (otherwise `Host: evil.example` on a password-reset request
//! puts the attacker's host into the victim's reset link). The rules:
//!
//! - `PUBLIC_URL` (`https://id.example.com`) is the deployment's canonical
//!   origin: the platform API and every tenant's `/t/{slug}` mount answer
//!   there and nowhere else.
//! - A tenant's custom domain answers for that tenant alone, under the
//!   canonical origin's scheme (`https` when none is configured); `/t/...`
//!   paths and the platform API are not served there.
//! - Without `PUBLIC_URL` (local development) the canonical origin is the
//!   loopback address the client used (`http://127.0.0.1:8787`); no public
//!   host name is accepted except a custom domain.
//! - Any other host is refused with 421 Misdirected Request (RFC 9110
//!   §15.5.20).

use crate::error::{Error, ErrorKind, Result};
use crate::host::{Host, Secrets};
use crate::web::request::is_loopback;

/// The configured `PUBLIC_URL`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `https` or `http`.
    pub scheme: String,
    /// `host[:port]`, lowercase.
    pub authority: String,
}

impl PublicUrl {
    /// Parses `scheme://host[:port]` with an optional trailing slash; a path,
    /// query or user info is a configuration error.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::server(format!("PUBLIC_URL must look like https://id.example.com, not '{s}'"));
        let (scheme, rest) = s.trim().split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
        let host_ok = !authority.is_empty()
            && authority.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            && !authority.starts_with(':');
        if !(scheme == "https" || scheme == "http") || !host_ok {
            return Err(bad());
        }
        Ok(PublicUrl { scheme, authority })
    }

    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The deployment's `PUBLIC_URL`, if one is set.
    pub fn configured<H: Host>(host: &H) -> Result<Option<Self>> {
        host.secrets().var("PUBLIC_URL").filter(|v| !v.trim().is_empty()).map(|v| Self::parse(&v)).transpose()
    }
}

/// How a request's host relates to this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// The canonical origin: the platform API and the `/t/{slug}` mounts.
    Canonical { origin: String },
    /// Some other host name: served only if it is a tenant's custom domain,
    /// under this origin.
    Elsewhere { origin: String },
}

/// Classifies a request's authority (`host[:port]` from the URL or `Host`).
pub fn arrival(public: Option<&PublicUrl>, authority: &str, host_name: &str) -> Arrival {
    let authority = authority.to_ascii_lowercase();
    match public {
        Some(p) if p.authority == authority => Arrival::Canonical { origin: p.origin() },
        Some(p) => Arrival::Elsewhere { origin: format!("{}://{host_name}", p.scheme) },
        None if is_loopback(host_name) => Arrival::Canonical { origin: format!("http://{authority}") },
        None => Arrival::Elsewhere { origin: format!("https://{host_name}") },
    }
}

/// The refusal for a host this deployment does not serve.
pub fn misdirected(host_name: &str) -> Error {
    let shown: String = host_name.chars().filter(|c| !c.is_control()).take(100).collect();
    Error::new(ErrorKind::MisdirectedRequest, format!("this server does not answer for the host '{shown}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_parses_strictly() {
        let p = PublicUrl::parse("https://ID.example.com/").unwrap();
        assert_eq!(p.origin(), "https://id.example.com");
        assert_eq!(PublicUrl::parse("http://127.0.0.1:8787").unwrap().authority, "127.0.0.1:8787");
        for bad in ["id.example.com", "ftp://id.example.com", "https://", "https://id.example.com/base", "https://u@h"]
        {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_configured_origin_is_canonical() {
        let p = PublicUrl::parse("https://id.example.com").unwrap();
        assert_eq!(
            arrival(Some(&p), "ID.example.com", "id.example.com"),
            Arrival::Canonical { origin: "https://id.example.com".into() }
        );
        assert_eq!(
            arrival(Some(&p), "evil.example", "evil.example"),
            Arrival::Elsewhere { origin: "https://evil.example".into() }
        );
        // A loopback Host is not canonical once PUBLIC_URL is set.
        assert!(matches!(arrival(Some(&p), "127.0.0.1:8787", "127.0.0.1"), Arrival::Elsewhere { .. }));
        // Without it, only loopback is.
        assert_eq!(
            arrival(None, "127.0.0.1:8787", "127.0.0.1"),
            Arrival::Canonical { origin: "http://127.0.0.1:8787".into() }
        );
        assert!(matches!(arrival(None, "evil.example", "evil.example"), Arrival::Elsewhere { .. }));
    }
}
