//! AWS Signature Version 4 for the S3 sink, through AWS's own `aws-sigv4`
//! crate (it builds for wasm32): this module only maps Tessera's request,
//! credentials and clock onto it, with S3's rules (the path encoded once and
//! not normalised, and the payload's SHA-256 sent as `x-amz-content-sha256`;
//! "Authenticating Requests (AWS Signature Version 4)", Amazon S3 API
//! Reference).

use std::time::{Duration, UNIX_EPOCH};

use aws_sigv4::http_request::{
    self, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use http::Request;

use crate::secret::Secret;

/// An access key, with its session token for temporary credentials.
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, [redacted])", self.access_key_id)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SigV4 signing failed: {0}")]
pub struct SignError(String);

/// Signs `req` in place (headers: `authorization`, `x-amz-date`, and for S3
/// `x-amz-content-sha256`; `x-amz-security-token` with a session token).
/// `now_ms` comes from the host's clock: the core never reads one itself.
pub fn sign(
    req: &mut Request<Vec<u8>>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now_ms: i64,
) -> Result<(), SignError> {
    let err = |e: &dyn std::fmt::Display| SignError(e.to_string());
    // Every header value must be one the `http` crate accepts, or applying
    // the signature would fail; refuse here instead.
    if let Some(t) = &creds.session_token {
        http::HeaderValue::from_str(t)
            .map_err(|_| SignError("the session token is not a valid header value".into()))?;
    }
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().clone(),
        creds.session_token.clone(),
        None,
        "tessera",
    )
    .into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let time = UNIX_EPOCH + Duration::from_millis(now_ms.max(0) as u64);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| err(&e))?
        .into();
    // A header that is not text cannot be signed (nor sent by every host).
    let mut headers = Vec::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        headers.push((name.as_str(), value.to_str().map_err(|_| SignError(format!("header {name} is not text")))?));
    }
    let uri = req.uri().to_string();
    let signable =
        SignableRequest::new(req.method().as_str(), uri, headers.into_iter(), SignableBody::Bytes(req.body()))
            .map_err(|e| err(&e))?;
    let (instructions, _) = http_request::sign(signable, &params).map_err(|e| err(&e))?.into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Vectors from AWS's SigV4 test suite (aws-sig-v4-test-suite, as kept in
    //! smithy-lang/smithy-rs `aws/rust-runtime/aws-sigv4/aws-signing-test-suite/v4/`)
    //! and the signed examples of the S3 API Reference ("Signature
    //! Calculations for the Authorization Header"): they hold that Tessera
    //! calls the crate with the settings S3 needs.

    use super::*;

    const SUITE_KEY: &str = "AKIDEXAMPLE";
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    /// 2015-08-30T12:36:00Z.
    const SUITE_NOW_MS: i64 = 1_440_938_160_000;
    const S3_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const S3_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 2013-05-24T00:00:00Z.
    const S3_NOW_MS: i64 = 1_369_353_600_000;

    fn creds(key: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: key.into(),
            secret_access_key: Secret::new(secret.into()),
            session_token: token.map(Into::into),
        }
    }

    fn signed(
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        c: &Credentials,
        service: &str,
        now: i64,
    ) -> Request<Vec<u8>> {
        let mut b = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        let mut req = b.body(body.to_vec()).expect("a valid test request");
        sign(&mut req, c, "us-east-1", service, now).expect("signs");
        req
    }

    fn authorization(req: &Request<Vec<u8>>) -> &str {
        req.headers()["authorization"].to_str().unwrap()
    }

    #[test]
    fn suite_get_vanilla() {
        let req = signed(
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            &creds(SUITE_KEY, SUITE_SECRET, None),
            "service",
            SUITE_NOW_MS,
        );
        assert_eq!(req.headers()["x-amz-date"], "20150830T123600Z");
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn suite_post_vanilla() {
        let req = signed(
            "POST",
            "https://example.amazonaws.com/",
            &[],
            b"",
            &creds(SUITE_KEY, SUITE_SECRET, None),
            "service",
            SUITE_NOW_MS,
        );
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn suite_get_vanilla_query_order_key_case() {
        let req = signed(
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            &[],
            b"",
            &creds(SUITE_KEY, SUITE_SECRET, None),
            "service",
            SUITE_NOW_MS,
        );
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn suite_get_vanilla_with_session_token() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
        let req = signed(
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            &creds(SUITE_KEY, SUITE_SECRET, Some(token)),
            "service",
            SUITE_NOW_MS,
        );
        assert_eq!(req.headers()["x-amz-security-token"], token);
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-security-token, \
             Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        );
    }

    #[test]
    fn s3_get_object_example() {
        let req = signed(
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[("Range", "bytes=0-9")],
            b"",
            &creds(S3_KEY, S3_SECRET, None),
            "s3",
            S3_NOW_MS,
        );
        assert_eq!(
            req.headers()["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// A key with `$`, sent encoded as the canonical request has it
    /// (`%24`): S3 encodes the path once. (Tessera's own keys are made of
    /// characters that need no encoding.)
    #[test]
    fn s3_put_object_example() {
        let req = signed(
            "PUT",
            "https://examplebucket.s3.amazonaws.com/test%24file.text",
            &[("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            b"Welcome to Amazon S3.",
            &creds(S3_KEY, S3_SECRET, None),
            "s3",
            S3_NOW_MS,
        );
        assert_eq!(
            req.headers()["x-amz-content-sha256"],
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, \
             Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    /// The query is sorted (`max-keys` before `prefix`).
    #[test]
    fn s3_list_objects_example() {
        let req = signed(
            "GET",
            "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2",
            &[],
            b"",
            &creds(S3_KEY, S3_SECRET, None),
            "s3",
            S3_NOW_MS,
        );
        assert_eq!(
            authorization(&req),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn bad_input_is_an_error_and_credentials_never_print() {
        let mut req = Request::builder().uri("https://b.s3.amazonaws.com/k").body(Vec::new()).unwrap();
        let c = creds(S3_KEY, S3_SECRET, Some("bad\ntoken"));
        assert!(sign(&mut req, &c, "us-east-1", "s3", S3_NOW_MS).is_err());
        assert!(!format!("{c:?}").contains(S3_SECRET));
    }
}
