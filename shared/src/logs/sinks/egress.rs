//! Where sinks may send: a tenant names the destination, so a stream must
//! not become a way into the deployment's own network (SSRF). Outside dev
//! mode a sink needs `https` and a public host: loopback, private,
//! link-local and unique-local addresses and `localhost` are refused. An
//! operator can narrow egress further with `LOG_SINK_HOSTS` (a
//! comma-separated list of host names; `*.example.com` for subdomains),
//! which every host checks again before each request.

use crate::error::{Error, Result};
use crate::host::{Host, Secrets};

#[derive(Debug, Clone, Default)]
pub struct Egress {
    /// Dev mode: `http://` and local receivers are fine.
    pub local: bool,
    /// `LOG_SINK_HOSTS`, when set.
    pub hosts: Option<Vec<String>>,
}

impl Egress {
    pub fn of<H: Host>(host: &H) -> Self {
        let hosts = host
            .secrets()
            .var("LOG_SINK_HOSTS")
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect());
        Egress { local: crate::config::dev_mode(host), hosts }
    }

    /// Checks a destination URL; `field` names it in the error.
    pub fn check(&self, url: &str, field: &str) -> Result<()> {
        let bad = |why: &str| Error::bad_request(format!("{field}: {why}"));
        let uri: http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if self.local => {}
            Some("http") => return Err(bad("must use https")),
            _ => return Err(bad("must be an absolute https URL")),
        }
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not carry credentials; use the sink's secret fields"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if !self.local && is_internal(&host) {
            return Err(bad("must be a public host, not a loopback, private or link-local address"));
        }
        if let Some(allowed) = &self.hosts {
            let ok = allowed.iter().any(|a| match a.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => *a == host,
            });
            if !ok {
                return Err(bad(&format!("host {host} is not in LOG_SINK_HOSTS")));
            }
        }
        Ok(())
    }
}

/// Addresses inside the deployment's network, and names for them.
fn is_internal(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT (RFC 6598).
                || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64)
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(|v4| is_internal(&v4.to_string()))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_egress_is_https_to_public_hosts() {
        let prod = Egress::default();
        assert!(prod.check("https://siem.example.com/in", "url").is_ok());
        for bad in [
            "http://siem.example.com/in",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://192.168.0.1/",
            "https://172.16.5.5/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost:8080/",
            "https://metadata.google.internal/",
            "https://user:pw@siem.example.com/",
            "/relative",
            "ftp://x/",
        ] {
            assert!(prod.check(bad, "url").is_err(), "{bad}");
        }
        let dev = Egress { local: true, hosts: None };
        assert!(dev.check("http://127.0.0.1:9/in", "url").is_ok());
    }

    #[test]
    fn an_operator_allow_list_narrows_egress() {
        let e = Egress { local: true, hosts: Some(vec!["127.0.0.1".into(), "*.splunkcloud.com".into()]) };
        assert!(e.check("http://127.0.0.1:9/", "url").is_ok());
        assert!(e.check("https://acme.splunkcloud.com:8088/", "url").is_ok());
        assert!(e.check("https://splunkcloud.com.evil.test/", "url").is_err());
        assert!(e.check("https://198.51.100.7/", "url").is_err());
    }
}
