//! The token endpoint's own cost, natively: `client_credentials` with an
//! ES256 JWT access token through `tessera_core::handle` over in-memory
//! SQLite (the same SQL as D1), no HTTP server and no runtime around it.
//! Compare with bench/token-endpoint.mjs, which measures the same request
//! inside local workerd, where the runtime and local D1 dominate.

use std::time::Instant;

use base64::Engine;
use tessera_native::NativeHost;

fn send(host: &NativeHost, method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> (u16, serde_json::Value) {
    let mut b = http::Request::builder().method(method).uri(format!("http://127.0.0.1:8787{uri}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = host.handle(b.body(body.as_bytes().to_vec()).expect("request"));
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(resp.body()).unwrap_or_default())
}

fn main() {
    let host = NativeHost::in_memory().expect("migrations");
    host.set_secret("MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    host.set_secret("PLATFORM_API_KEY", "bench-platform-key-0123456789");
    // Local use: no mail provider or public URL to configure.
    host.set_var("DEV_MODE", "true");
    let p = [("authorization", "Bearer bench-platform-key-0123456789"), ("content-type", "application/json")];
    send(&host, "POST", "/api/v1/internal/tenants", &p, r#"{"slug":"bench"}"#);
    let (_, k) = send(&host, "POST", "/api/v1/internal/tenants/bench/api-keys", &p, "");
    let auth = format!("Bearer {}", k["key"].as_str().expect("key"));
    let m = [("authorization", auth.as_str()), ("content-type", "application/json")];
    send(
        &host,
        "POST",
        "/t/bench/api/v1/resource-servers",
        &m,
        r#"{"identifier":"https://api.example.test","scopes":["read:things"]}"#,
    );
    let (_, c) = send(
        &host,
        "POST",
        "/t/bench/api/v1/clients",
        &m,
        r#"{"name":"bench","grant_types":["client_credentials"],"audiences":["https://api.example.test"],"scopes":["read:things"]}"#,
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            c["client_id"].as_str().unwrap(),
            c["client_secret"].as_str().unwrap()
        ))
    );
    let h = [("authorization", basic.as_str()), ("content-type", "application/x-www-form-urlencoded")];
    let body = "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.test";
    for _ in 0..50 {
        assert_eq!(send(&host, "POST", "/t/bench/oauth/token", &h, body).0, 200);
    }
    let n = 1000;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let (status, _) = send(&host, "POST", "/t/bench/oauth/token", &h, body);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
    }
    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let mean = times.iter().sum::<f64>() / n as f64;
    println!(
        "token endpoint natively (client_credentials, ES256, in-memory SQLite, one thread): mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms = {:.0} req/s per core",
        mean,
        times[n / 2],
        times[n * 99 / 100],
        1000.0 / mean
    );
}
