//! The end-to-end load benchmark: the axum example server (`examples/axum_server.rs`, the
//! same code `cargo run --example axum_server` runs) on loopback, driven by a load generator
//! that keeps many HTTP/1.1 keep-alive connections busy, each sending its next request as
//! soon as the answer to the last one is in (a closed loop).
//!
//! ```sh
//! cargo bench --bench http_load                       # every scenario, 64 connections, 5 s each
//! cargo bench --bench http_load -- client_credentials # some scenarios only
//! LOAD_CONNECTIONS=8 LOAD_SECONDS=10 cargo bench --bench http_load
//! LOAD_ACCESS_TOKENS=jwt cargo bench --bench http_load  # the example in JWT mode
//! ```
//!
//! Scenarios: `client_credentials` (a token request with `client_secret_basic`),
//! `introspection`, `api_data` (the bearer-guarded resource) and `code_flow` (a complete
//! authorization code + PKCE flow: the sign-in page and POST, the consent page and POST, and
//! the code exchange), and `userinfo` (the OpenID Connect UserInfo endpoint with an access
//! token of alice's OpenID sign-in). For each it reports requests (and flows) per second, the median and
//! 99th-percentile latency of a request, and the number of errors, which must be zero.
//! With `LOAD_ACCESS_TOKENS=jwt` the example issues JWT access tokens (`ACCESS_TOKENS=jwt`):
//! `client_credentials` then signs one per request, and `api_data` verifies its token
//! offline (a repeated token, answered from the verified-token cache).
//!
//! Threads: the server runs on a Tokio runtime with `LOAD_SERVER_THREADS` workers (default
//! 1), the load generator on its own single-threaded runtime, so on a 2-core machine each
//! has a core. The scenarios start once the server has answered a first request (its key
//! generation done); every run stops by itself after a 1-second warm-up and `LOAD_SECONDS`.

#![allow(missing_docs, reason = "a benchmark binary")]

#[path = "../examples/axum_server.rs"]
#[allow(dead_code, reason = "the example's main is not used here")]
mod axum_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// RFC 7636 Appendix B: the verifier of the challenge in [`AUTHORIZE`].
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// `Basic` credentials of `demo-service:demo-service-secret`.
const SERVICE_BASIC: &str = "Basic ZGVtby1zZXJ2aWNlOmRlbW8tc2VydmljZS1zZWNyZXQ=";
const AUTHORIZE: &str = "/authorize?response_type=code&client_id=demo-spa&scope=profile\
    &redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&state=load\
    &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
/// [`AUTHORIZE`] as an OpenID Connect request, for the `userinfo` scenario's token.
const AUTHORIZE_OPENID: &str = "/authorize?response_type=code&client_id=demo-spa\
    &scope=openid%20email&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&state=load\
    &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    ClientCredentials,
    Introspection,
    ApiData,
    CodeFlow,
    UserInfo,
}

impl Scenario {
    const ALL: [Self; 5] = [
        Self::ClientCredentials,
        Self::Introspection,
        Self::ApiData,
        Self::CodeFlow,
        Self::UserInfo,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Introspection => "introspection",
            Self::ApiData => "api_data",
            Self::CodeFlow => "code_flow",
            Self::UserInfo => "userinfo",
        }
    }
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    /// Latency of every request, in microseconds.
    latencies: Vec<u32>,
    flows: u64,
    errors: u64,
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; anything else names scenarios to run.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.name()))
        .collect();
    let connections = env_number("LOAD_CONNECTIONS", 64);
    let seconds = env_number("LOAD_SECONDS", 5) as u64;
    let server_threads = env_number("LOAD_SERVER_THREADS", 1);

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .enable_all()
        .build()?;
    // Every connection of the code flow signs alice in, so she needs a session per
    // connection at once; the example's other limits stay as deployed.
    let limits = axum_server::Limits {
        sessions_per_user: 2 * connections,
        ..axum_server::Limits::default()
    };
    let tokens = match std::env::var("LOAD_ACCESS_TOKENS") {
        Ok(value) if value.eq_ignore_ascii_case("jwt") => axum_server::AccessTokens::Jwt,
        _ => axum_server::AccessTokens::Opaque,
    };
    server.spawn(axum_server::serve(listener, limits, tokens));

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The example generates its keys (an RSA one among them) before it accepts anything:
    // wait for its first answer, so that start-up never falls into a scenario's warm-up.
    client.block_on(ready(addr))?;
    println!(
        "http_load: axum example on {addr}, {tokens:?} access tokens, {server_threads} server \
         thread(s), {connections} connections, {seconds} s per scenario\n"
    );
    println!(
        "{:<20} {:>12} {:>10} {:>10} {:>10} {:>8}",
        "scenario", "requests/s", "flows/s", "median", "p99", "errors"
    );
    let mut failed = false;
    for scenario in scenarios {
        let report = client.block_on(run(addr, scenario, connections, seconds))?;
        failed |= report.errors > 0;
        println!(
            "{:<20} {:>12.0} {:>10} {:>10} {:>10} {:>8}",
            scenario.name(),
            report.requests_per_second,
            if scenario == Scenario::CodeFlow {
                format!("{:.0}", report.flows_per_second)
            } else {
                "-".to_owned()
            },
            format_micros(report.median),
            format_micros(report.p99),
            report.errors
        );
    }
    drop(server);
    if failed {
        return Err("some requests failed".into());
    }
    Ok(())
}

fn format_micros(micros: u32) -> String {
    if micros >= 1000 {
        format!("{:.2} ms", f64::from(micros) / 1000.0)
    } else {
        format!("{micros} µs")
    }
}

struct Report {
    requests_per_second: f64,
    flows_per_second: f64,
    median: u32,
    p99: u32,
    errors: u64,
}

async fn run(
    addr: std::net::SocketAddr,
    scenario: Scenario,
    connections: usize,
    seconds: u64,
) -> Result<Report, Box<dyn std::error::Error>> {
    let token = Arc::new(match scenario {
        Scenario::ClientCredentials => String::new(),
        Scenario::UserInfo => openid_token(addr).await?,
        _ => service_token(addr).await?,
    });
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let sender = connect(addr).await?;
        let (token, measuring, stop) = (
            Arc::clone(&token),
            Arc::clone(&measuring),
            Arc::clone(&stop),
        );
        tasks.push(tokio::spawn(async move {
            drive(sender, scenario, &token, &measuring, &stop).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await?;
        all.latencies.extend(tally.latencies);
        all.flows += tally.flows;
        all.errors += tally.errors;
    }
    all.latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((all.latencies.len() as f64 - 1.0) * p).round() as usize;
        all.latencies.get(index).copied().unwrap_or(0)
    };
    Ok(Report {
        requests_per_second: all.latencies.len() as f64 / elapsed,
        flows_per_second: all.flows as f64 / elapsed,
        median: percentile(0.5),
        p99: percentile(0.99),
        errors: all.errors,
    })
}

/// One keep-alive HTTP/1.1 connection.
async fn connect(
    addr: std::net::SocketAddr,
) -> Result<SendRequest<Full<Bytes>>, Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Waits until the server answers its metadata document.
async fn ready(addr: std::net::SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let mut sender = connect(addr).await?;
    let metadata = get("/.well-known/oauth-authorization-server", None, None);
    match send(&mut sender, metadata).await {
        Some(answer) if answer.status == 200 => Ok(()),
        _ => Err("the server did not answer its metadata request".into()),
    }
}

/// A token for `demo-service` with `read:data`, to introspect and to present.
async fn service_token(addr: std::net::SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
    let mut sender = connect(addr).await?;
    let answer = send(&mut sender, token_request())
        .await
        .ok_or("no answer")?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body)?;
    Ok(body["access_token"].as_str().ok_or("no token")?.to_owned())
}

/// An access token of alice's OpenID Connect sign-in as `demo-spa` (scope `openid email`),
/// for UserInfo.
async fn openid_token(addr: std::net::SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
    let mut sender = connect(addr).await?;
    let answer = code_flow(&mut sender, AUTHORIZE_OPENID, false, &mut Tally::default())
        .await
        .ok_or("the OpenID sign-in failed")?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body)?;
    let token = body["access_token"].as_str().ok_or("no token")?.to_owned();
    let bearer = format!("Bearer {token}");
    let check = send(&mut sender, get("/userinfo", Some(&bearer), None))
        .await
        .ok_or("no answer from /userinfo")?;
    if check.status != 200 {
        return Err(format!(
            "/userinfo answered {}: {:?} {}",
            check.status,
            check.headers,
            String::from_utf8_lossy(&check.body)
        )
        .into());
    }
    Ok(token)
}

fn token_request() -> hyper::Request<Full<Bytes>> {
    form_post(
        "/token",
        Some(SERVICE_BASIC),
        None,
        "grant_type=client_credentials&scope=read%3Adata".into(),
    )
}

fn form_post(
    path: &str,
    authorization: Option<&str>,
    cookie: Option<&str>,
    body: String,
) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

fn get(
    path: &str,
    authorization: Option<&str>,
    cookie: Option<&str>,
) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::get(path).header("host", "127.0.0.1");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Full::new(Bytes::new())).unwrap_or_default()
}

struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Option<Answer> {
    sender.ready().await.ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.ok()?.to_bytes();
    Some(Answer {
        status,
        headers: parts.headers,
        body,
    })
}

/// Sends requests on one connection until `stop`, counting from `measuring`.
async fn drive(
    mut sender: SendRequest<Full<Bytes>>,
    scenario: Scenario,
    token: &str,
    measuring: &AtomicBool,
    stop: &AtomicBool,
) -> Tally {
    let mut tally = Tally::default();
    let bearer = format!("Bearer {token}");
    let introspect_body = format!("token={token}");
    while !stop.load(Ordering::Relaxed) {
        let counted = measuring.load(Ordering::Relaxed);
        let ok = match scenario {
            Scenario::ClientCredentials => {
                timed(&mut sender, token_request(), 200, counted, &mut tally)
                    .await
                    .is_some()
            }
            Scenario::Introspection => {
                let request = form_post(
                    "/introspect",
                    Some(SERVICE_BASIC),
                    None,
                    introspect_body.clone(),
                );
                timed(&mut sender, request, 200, counted, &mut tally)
                    .await
                    .is_some_and(|a| a.body.starts_with(b"{\"active\":true"))
            }
            Scenario::ApiData => timed(
                &mut sender,
                get("/api/data", Some(&bearer), None),
                200,
                counted,
                &mut tally,
            )
            .await
            .is_some(),
            Scenario::CodeFlow => code_flow(&mut sender, AUTHORIZE, counted, &mut tally)
                .await
                .is_some(),
            Scenario::UserInfo => timed(
                &mut sender,
                get("/userinfo", Some(&bearer), None),
                200,
                counted,
                &mut tally,
            )
            .await
            .is_some(),
        };
        if counted {
            if ok {
                if scenario == Scenario::CodeFlow {
                    tally.flows += 1;
                }
            } else {
                tally.errors += 1;
            }
        }
        if !ok {
            // A broken connection is replaced rather than spun on.
            if sender.is_closed() {
                break;
            }
        }
    }
    tally
}

/// Sends `request`, records its latency, and checks the status.
async fn timed(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
    expected: u16,
    counted: bool,
    tally: &mut Tally,
) -> Option<Answer> {
    let started = Instant::now();
    let answer = send(sender, request).await;
    if counted {
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        tally.latencies.push(micros);
    }
    answer.filter(|a| a.status == expected)
}

/// A complete authorization code + PKCE flow as a browser and a client run it: the sign-in
/// page, the sign-in POST, the consent page, the consent POST, and the code exchange.
async fn code_flow(
    sender: &mut SendRequest<Full<Bytes>>,
    authorize: &str,
    counted: bool,
    tally: &mut Tally,
) -> Option<Answer> {
    let page = timed(sender, get(authorize, None, None), 200, counted, tally).await?;
    let cookie = session_cookie(&page)?;
    let sign_in = "username=alice&password=alice-password&decision=continue";
    let signed_in =
        post_page_form(sender, authorize, &page, &cookie, sign_in, counted, tally).await?;
    let cookie = session_cookie(&signed_in)?;
    let consent = get(authorize, None, Some(&cookie));
    let consent = timed(sender, consent, 200, counted, tally).await?;
    let approve = "decision=approve";
    let redirect = post_page_form(
        sender, authorize, &consent, &cookie, approve, counted, tally,
    )
    .await?;
    let location = redirect.headers.get("location")?.to_str().ok()?;
    let code = location.split("code=").nth(1)?.split('&').next()?;
    let body = format!(
        "grant_type=authorization_code&code={code}&client_id=demo-spa\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&code_verifier={VERIFIER}"
    );
    timed(
        sender,
        form_post("/token", None, None, body),
        200,
        counted,
        tally,
    )
    .await
}

/// Posts the form of `page` (its CSRF token, then `fields`) with the session `cookie`:
/// the 303 it answers.
async fn post_page_form(
    sender: &mut SendRequest<Full<Bytes>>,
    authorize: &str,
    page: &Answer,
    cookie: &str,
    fields: &str,
    counted: bool,
    tally: &mut Tally,
) -> Option<Answer> {
    let csrf = between(&page.body, b"name=\"csrf_token\" value=\"", b"\"")?;
    let body = format!("csrf_token={csrf}&{fields}");
    let request = form_post(authorize, None, Some(cookie), body);
    timed(sender, request, 303, counted, tally).await
}

/// The `name=value` of the session cookie an answer sets.
fn session_cookie(answer: &Answer) -> Option<String> {
    let set = answer.headers.get("set-cookie")?.to_str().ok()?;
    Some(set.split(';').next()?.to_owned())
}

/// The text between `start` and the next `end` in `haystack`.
fn between<'a>(haystack: &'a [u8], start: &[u8], end: &[u8]) -> Option<&'a str> {
    let from = haystack.windows(start.len()).position(|w| w == start)? + start.len();
    let len = haystack[from..].windows(end.len()).position(|w| w == end)?;
    std::str::from_utf8(&haystack[from..from + len]).ok()
}
