//! The whole authorization code flow with PKCE and refresh tokens, on the memory stores,
//! without a web framework: what a host does at each step, and what goes over the wire.
//!
//! Run with `cargo run --example in_memory_flow`.

use std::sync::Arc;

use grantflow::authorize::AuthorizeError;
use grantflow::pkce::s256_challenge;
use grantflow::secret::CodeVerifier;
use grantflow::{
    Client, ClientType, GrantType, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryCodeStore, MemoryTokenStore, Method, Server, Subject,
};

/// The memory stores never wait, so a future finishes on its first poll; a real host
/// awaits the endpoint methods inside its async runtime instead.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn form_post(body: String) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body)
}

fn show(step: &str, response: &HttpResponse) -> serde_json::Value {
    println!("{step}: HTTP {}", response.status.as_u16());
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    if let Some(object) = body.as_object() {
        for (name, value) in object {
            // Tokens are secrets: print only their length.
            match (name.as_str(), value.as_str()) {
                ("access_token" | "refresh_token", Some(token)) => {
                    println!("  {name}: <{} characters>", token.len());
                }
                _ => println!("  {name}: {value}"),
            }
        }
    }
    body
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // --- Setup: a public native app with a loopback redirect URI. ---
    let clients = Arc::new(MemoryClientRegistry::new());
    clients.insert(
        Client::builder("native-app", ClientType::Public)
            .name("Example Native App")
            .redirect_uri("http://127.0.0.1/callback")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("profile email")
            .build()?,
    )?;
    let server = Server::builder(
        "https://as.example.com",
        clients,
        Arc::new(MemoryTokenStore::new()),
    )
    // The default; a deployment of several instances sets a shared store here.
    .code_store(Arc::new(MemoryCodeStore::new()))
    .build()?;

    // --- The client prepares PKCE and sends the browser to /authorize. ---
    let verifier = CodeVerifier::generate();
    let challenge = s256_challenge(verifier.expose_secret());
    let query = format!(
        "response_type=code&client_id=native-app\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A51004%2Fcallback\
         &scope=profile+email&state=af0ifjsldkj\
         &code_challenge={challenge}&code_challenge_method=S256"
    );

    // --- GET /authorize: validate, then stop with a pending value. ---
    let request = HttpRequest::new(Method::Get).with_query(query.clone());
    let pending = match block_on(server.authorize(&request)) {
        Ok(pending) => pending,
        Err(AuthorizeError::Redirect(error)) => {
            // Only after the user has logged in (AZ-07): redirect the error to the client.
            let response = error.into_response();
            println!("redirect error: {:?}", response.header("location"));
            return Ok(());
        }
        Err(error) => {
            // Unknown client or unregistered redirect URI: an error page, never a redirect.
            println!("error page: {error}");
            return Ok(());
        }
    };
    println!(
        "consent page: {} asks for \"{}\"",
        pending
            .client_name()
            .unwrap_or(pending.client_id().as_str()),
        pending.requested_scope()
    );

    // --- The host shows its login page, keeping `query` in the session. When the user
    // comes back, it re-validates the same query (cheap and stateless) rather than
    // trusting anything stored in the browser. ---
    drop(pending);
    let pending = block_on(server.authorize(&HttpRequest::new(Method::Get).with_query(query)))
        .map_err(|e| e.to_string())?;

    // --- The user logged in as alice and consented to `profile` only. The consent form
    // was a POST, so answer with 303 See Other. ---
    let granted = "profile".parse()?;
    let response = block_on(pending.see_other().approve(Subject::new("alice"), granted))?;
    let location = response.header("location").ok_or("no Location")?.to_owned();
    println!(
        "approve: HTTP {} to the client's loopback listener",
        response.status.as_u16()
    );
    let code = query_param(&location, "code").ok_or("no code")?;
    println!(
        "  state: {:?}, iss: {:?}",
        query_param(&location, "state"),
        query_param(&location, "iss")
    );

    // --- The client exchanges the code with its PKCE verifier (POST /token). ---
    let response = block_on(server.token(&form_post(format!(
        "grant_type=authorization_code&code={code}&client_id=native-app\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A51004%2Fcallback&code_verifier={}",
        verifier.expose_secret()
    ))))?;
    let tokens = show("code exchange", &response);
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .ok_or("no refresh token")?
        .to_owned();

    // --- Replaying the code fails, and revokes everything issued from it (AC-02). ---
    let replay = block_on(server.token(&form_post(format!(
        "grant_type=authorization_code&code={code}&client_id=native-app&code_verifier={}",
        verifier.expose_secret()
    ))))?;
    show("code replay", &replay);

    let response = block_on(server.token(&form_post(format!(
        "grant_type=refresh_token&refresh_token={refresh_token}&client_id=native-app"
    ))))?;
    show("refresh with the revoked grant's token", &response);

    // --- A fresh flow, since the replay revoked the first grant's tokens. ---
    let verifier = CodeVerifier::generate();
    let challenge = s256_challenge(verifier.expose_secret());
    let request = HttpRequest::new(Method::Get).with_query(format!(
        "response_type=code&client_id=native-app&scope=profile\
         &code_challenge={challenge}&code_challenge_method=S256"
    ));
    let pending = block_on(server.authorize(&request)).map_err(|e| e.to_string())?;
    let response = block_on(pending.approve(Subject::new("alice"), "profile".parse()?))?;
    let code =
        query_param(response.header("location").ok_or("no Location")?, "code").ok_or("no code")?;
    let response = block_on(server.token(&form_post(format!(
        "grant_type=authorization_code&code={code}&client_id=native-app&code_verifier={}",
        verifier.expose_secret()
    ))))?;
    let tokens = show("second code exchange", &response);
    let first_refresh = tokens["refresh_token"]
        .as_str()
        .ok_or("no refresh token")?
        .to_owned();

    // --- Refresh: the refresh token is rotated. ---
    let response = block_on(server.token(&form_post(format!(
        "grant_type=refresh_token&refresh_token={first_refresh}&client_id=native-app"
    ))))?;
    let rotated = show("refresh", &response);
    let second_refresh = rotated["refresh_token"]
        .as_str()
        .ok_or("no refresh token")?
        .to_owned();

    // --- Reusing the rotated-out token is detected and revokes the grant (RT-06). ---
    let response = block_on(server.token(&form_post(format!(
        "grant_type=refresh_token&refresh_token={first_refresh}&client_id=native-app"
    ))))?;
    show("reuse of the old refresh token", &response);
    let response = block_on(server.token(&form_post(format!(
        "grant_type=refresh_token&refresh_token={second_refresh}&client_id=native-app"
    ))))?;
    show("the successor after reuse", &response);
    Ok(())
}
