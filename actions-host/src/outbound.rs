//! `Host::Outbound` over a blocking HTTP client: the delivery worker sends
//! one batch at a time per stream, so a thread per worker is enough.

use std::time::Duration;

use tessera_core::host::{Outbound, OutboundError};

pub struct HttpOutbound {
    agent: ureq::Agent,
}

impl HttpOutbound {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // A sink's 4xx/5xx is an answer to record, not a transport error.
            .http_status_as_error(false)
            // Never follow a redirect: a sink that moved must be reconfigured,
            // and a redirect must not carry the batch (or its credentials) elsewhere.
            .max_redirects(0)
            .build();
        HttpOutbound { agent: config.into() }
    }
}

impl Outbound for HttpOutbound {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError> {
        // The error names the kind of failure only: ureq's messages can carry
        // the URL, and a URL can carry a credential.
        let resp = self.agent.run(req).map_err(|e| OutboundError(describe(&e)))?;
        let (parts, mut body) = resp.into_parts();
        let bytes = body.with_config().limit(64 * 1024).read_to_vec().unwrap_or_default();
        Ok(http::Response::from_parts(parts, bytes))
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("connection failed ({:?})", io.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed".into(),
        _ => "request failed".into(),
    }
}
