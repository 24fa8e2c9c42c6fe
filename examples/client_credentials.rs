//! A backend service obtains an access token with the client credentials grant, end to end
//! through the framework-free HTTP boundary: what an adapter for axum, actix-web or hyper
//! does, minus the framework.
//!
//! Run with `cargo run --example client_credentials`.

use std::sync::Arc;

use grantflow::{
    Client, ClientSecret, ClientType, Error, GrantType, HttpRequest, HttpResponse,
    MemoryClientRegistry, MemoryTokenStore, Method, Server,
};

/// The adapter's half: copy the response out. A real adapter sets the framework's status,
/// headers and body; here they are printed.
fn send(response: &HttpResponse) {
    println!("HTTP/1.1 {}", response.status.as_u16());
    for header in &response.headers {
        println!("{}: {}", header.name, header.value);
    }
    println!("\n{}\n", String::from_utf8_lossy(&response.body));
}

/// The adapter's other half: a storage fault becomes an opaque `server_error`, and the
/// fault itself goes to the host's log (never to the client).
fn respond(result: Result<HttpResponse, Error>) -> HttpResponse {
    result.unwrap_or_else(|fault| {
        eprintln!("storage fault: {fault}");
        fault.to_response()
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The authorization server generates client secrets; only their digests are stored.
    let secret = ClientSecret::generate();
    let clients = Arc::new(MemoryClientRegistry::new());
    clients.insert(
        Client::builder("reporting-service", ClientType::Confidential)
            .secret(&secret)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read:data write:data")
            .default_scope("read:data")
            .build()?,
    )?;
    let server = Server::builder(
        "https://as.example.com",
        clients,
        Arc::new(MemoryTokenStore::new()),
    )
    .build()?;

    // client_secret_basic: id and secret are form-encoded, joined by ':' and base64-encoded.
    use base64::Engine as _;
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("reporting-service:{}", secret.expose_secret()));

    println!("POST /token with valid credentials:");
    let request = HttpRequest::new(Method::Post)
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("Authorization", format!("Basic {credentials}"))
        .with_body("grant_type=client_credentials&scope=read%3Adata+write%3Adata");
    send(&respond(server.token(&request).await));

    println!("POST /token with a wrong secret:");
    let wrong = base64::engine::general_purpose::STANDARD.encode("reporting-service:guess");
    let request = HttpRequest::new(Method::Post)
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("Authorization", format!("Basic {wrong}"))
        .with_body("grant_type=client_credentials");
    send(&respond(server.token(&request).await));

    println!("POST /token asking for a scope the client may not have:");
    let request = HttpRequest::new(Method::Post)
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("Authorization", format!("Basic {credentials}"))
        .with_body("grant_type=client_credentials&scope=admin");
    send(&respond(server.token(&request).await));
    Ok(())
}
