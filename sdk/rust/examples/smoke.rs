//! Smoke test of the generated Rust SDK against a running Tessera:
//! `smoke <base-url> <management-api-key> <tenant>` creates a user through
//! the management API, reads it back, and prints its email.

use tessera_sdk::types::CreateUser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, key, tenant] = args.as_slice() else {
        return Err("usage: smoke <base-url> <management-api-key> <tenant>".into());
    };
    let auth = format!("Bearer {key}").parse()?;
    let http = reqwest::Client::builder()
        .default_headers([(reqwest::header::AUTHORIZATION, auth)].into_iter().collect())
        .build()?;
    let tessera = tessera_sdk::Client::new_with_client(base, http);
    let body = CreateUser {
        email: "rust-sdk@example.com".into(),
        email_verified: true,
        is_admin: false,
        name: Some("Rust SDK".into()),
        password: None,
        app_metadata: [("plan".to_owned(), serde_json::json!("pro"))].into_iter().collect(),
        user_metadata: Default::default(),
    };
    let created = tessera.users_create(tenant, &body.clone()).await?.into_inner();
    let read = tessera.user_get(tenant, &created.id).await?.into_inner();
    assert_eq!(read.id, created.id);
    assert_eq!(read.email, "rust-sdk@example.com");
    assert_eq!(read.app_metadata["plan"], "pro");
    // Errors are typed: the problem details (RFC 9457) of a missing user...
    match tessera.user_get(tenant, "usr_missing").await {
        Err(tessera_sdk::Error::ErrorResponse(problem)) => {
            assert_eq!(problem.status().as_u16(), 404);
            assert_eq!(problem.status, 404);
            println!("404 problem: {}", problem.detail);
        }
        other => return Err(format!("expected a 404 problem, got {other:?}").into()),
    }
    // ...and of invalid input.
    let bad = CreateUser { email: "not-an-email".into(), ..body };
    match tessera.users_create(tenant, &bad).await {
        Err(tessera_sdk::Error::ErrorResponse(problem)) => {
            assert_eq!(problem.status, 400);
            assert!(problem.detail.contains("email"), "{}", problem.detail);
            println!("400 problem: {}", problem.detail);
        }
        other => return Err(format!("expected a 400 problem, got {other:?}").into()),
    }
    println!("created and read {}", read.email);
    Ok(())
}
