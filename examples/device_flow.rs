//! The device authorization grant (RFC 8628) end to end on the memory stores, without a
//! web framework: a TV asks for codes, the user approves on the host's verification page,
//! the TV polls until it gets its tokens.
//!
//! Run with `cargo run --example device_flow`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use grantflow::clock::ManualClock;
use grantflow::device::{DeviceVerificationError, EnteredUserCode};
use grantflow::{
    Client, ClientType, GrantType, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryDeviceStore, MemoryTokenStore, Method, Scope, Server, Subject,
};

/// The memory stores never wait, so one poll finishes every request.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn form(body: String) -> HttpRequest {
    HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body)
}

fn json(response: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients.insert(
        Client::builder("living-room-tv", ClientType::Public)
            .name("Living room TV")
            .grant_type(GrantType::DEVICE_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("profile videos")
            .build()?,
    )?;
    // A manual clock so the example can "wait" for the polling interval.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let server = Server::builder(
        "https://as.example.com",
        clients,
        Arc::new(MemoryTokenStore::new()),
    )
    .clock(Arc::new(clock.clone()))
    .device_store(Arc::new(MemoryDeviceStore::new()))
    .build()?;

    // 1. The TV: POST /device_authorization.
    let response = block_on(server.device_authorization(&form(
        "client_id=living-room-tv&scope=profile videos".to_owned(),
    )))?;
    let codes = json(&response);
    let device_code = codes["device_code"]
        .as_str()
        .ok_or("no device_code")?
        .to_owned();
    let user_code = codes["user_code"]
        .as_str()
        .ok_or("no user_code")?
        .to_owned();
    println!(
        "TV shows: go to {} and enter {user_code}",
        codes["verification_uri"]
    );

    let poll = || {
        block_on(server.token(&form(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
             &device_code={device_code}&client_id=living-room-tv"
        ))))
    };
    println!("TV polls: {}", String::from_utf8_lossy(&poll()?.body));

    // 2. The host's verification page. The user signed in as alice (the host's login) and
    //    typed the code in lower case with a space; a typo first.
    let verifier = server
        .device_verifier()
        .ok_or("the device grant is enabled")?;
    match block_on(verifier.verify(EnteredUserCode::new("bbbb cccc"), "session:alice")) {
        Err(DeviceVerificationError::InvalidUserCode) => println!("Page: no such code"),
        other => println!("Page: unexpected {other:?}"),
    }
    let typed = user_code.to_lowercase().replace('-', " ");
    let pending = block_on(verifier.verify(EnteredUserCode::new(&typed), "session:alice"))?;
    println!(
        "Page asks: allow {} ({}) to use \"{}\"? Check that the TV shows {}.",
        pending.client_name().unwrap_or("?"),
        pending.client_id(),
        pending.requested_scope(),
        pending.user_code()
    );
    // alice confirms, granting only part of the request.
    block_on(pending.approve(Subject::new("alice"), Scope::parse("profile")?))?;

    // 3. The TV polls again after its interval.
    clock.advance(Duration::from_secs(5));
    let response = poll()?;
    let tokens = json(&response);
    println!(
        "TV receives: status {}, token_type {}, scope {}, refresh token: {}",
        response.status.as_u16(),
        tokens["token_type"],
        tokens["scope"],
        tokens["refresh_token"].is_string()
    );
    // The device code is used up.
    clock.advance(Duration::from_secs(5));
    println!("TV polls again: {}", String::from_utf8_lossy(&poll()?.body));
    Ok(())
}
