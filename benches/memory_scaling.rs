//! How the in-memory token store scales, from ten thousand to one million live tokens:
//! resident memory per live token, the time of a lookup (which must stay flat), and the
//! cost of purging expired tokens (which must not pause for a time that grows with the
//! store).
//!
//! ```sh
//! cargo bench --bench memory_scaling                      # 10k, 100k and 1M live tokens
//! MEMORY_SIZES=1000000,4000000 cargo bench --bench memory_scaling
//! ```
//!
//! Columns: resident memory per live token; a lookup of a live token and of an unknown
//! one; an insert after every live token has expired (each purges at most a few expired
//! records), median and 99.9th percentile, and the longest; and the longest insert while
//! the store fills, which is the one that doubles a table (`MemoryTokenStore::with_capacity`
//! avoids it).
//!
//! Each size is measured in a fresh child process, so memory freed by a smaller run cannot
//! hide the growth of a larger one. Records are stored the way the token endpoint stores a
//! client credentials token: its own grant, a client id, a scope string per token.
//! Resident memory comes from `/proc/self/statm` (Linux).
//!
//! A last line measures the flood bound of dynamic client registration: a
//! `MemoryClientRegistry` filled through `Server::register` up to its default bound of
//! 10,000 registered clients, the resident memory per client, and the answer to one more.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::hint::black_box;
use std::process::Command;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use grantflow::secret::{AccessToken, TokenHash};
use grantflow::store::{GrantId, TokenKind, TokenRecord, TokenStore as _};
use grantflow::{ClientId, MemoryTokenStore, Scope};

const DEFAULT_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
/// Lookups timed per size.
const LOOKUPS: usize = 1_000_000;
/// Inserts timed after every live token has expired, each purging a bounded batch: as
/// many as the store held (at most this many), so the store does not grow meanwhile and
/// the figures are the purge's alone.
const PURGING_INSERTS: usize = 100_000;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Resident memory in bytes.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--registrations") {
        return registrations();
    }
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let size = args.get(at + 1).ok_or("--child needs a size")?.parse()?;
        return child(size);
    }
    let sizes: Vec<usize> = match std::env::var("MEMORY_SIZES") {
        Ok(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        Err(_) => DEFAULT_SIZES.to_vec(),
    };
    println!("memory_scaling: MemoryTokenStore, one client credentials token per grant\n");
    println!(
        "{:>10} {:>12} {:>11} {:>11} {:>23} {:>12} {:>13}",
        "live",
        "bytes/token",
        "lookup hit",
        "lookup miss",
        "insert+purge p50/p99.9",
        "purge max",
        "growth max"
    );
    let me = std::env::current_exe()?;
    for size in sizes {
        let output = Command::new(&me)
            .args(["--child", &size.to_string()])
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "the run with {size} tokens failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
    let output = Command::new(&me).arg("--registrations").output()?;
    if !output.status.success() {
        return Err(format!(
            "the registration run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    print!("\n{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}

/// Fills a registry to its default bound through `Server::register` (a fresh process).
fn registrations() -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;

    use grantflow::limiter::MemoryAttemptLimiter;
    use grantflow::registration::OpenRegistration;
    use grantflow::{HttpRequest, MemoryClientRegistry, Method, Server};

    const BOUND: usize = 10_000;
    let clients = Arc::new(MemoryClientRegistry::new().with_registration_limit(BOUND));
    let limiter = MemoryAttemptLimiter::new(u32::MAX, Duration::from_secs(3600));
    let server = Server::builder(
        "https://as.example.com",
        clients.clone(),
        Arc::new(MemoryTokenStore::new()),
    )
    .client_registration(clients, Arc::new(OpenRegistration::new(Arc::new(limiter))))
    .build()?;
    let body = br#"{"client_name":"My MCP client","redirect_uris":["http://127.0.0.1:3000/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"scope":"read:data"}"#;
    let request = HttpRequest::new(Method::Post)
        .with_header("content-type", "application/json")
        .with_body(&body[..]);
    let before = resident_bytes();
    let timer = Instant::now();
    for _ in 0..BOUND {
        let response = block_on(server.register(&request))?;
        if response.status.as_u16() != 201 {
            return Err(format!("registration answered {}", response.status.as_u16()).into());
        }
    }
    let elapsed = timer.elapsed();
    let after = resident_bytes();
    let beyond = block_on(server.register(&request))?.status.as_u16();
    println!(
        "registration: {BOUND} clients (the default bound) in {:.0} ms, {:.0} resident bytes \
         per client; one more is answered {beyond}",
        elapsed.as_secs_f64() * 1000.0,
        after.saturating_sub(before) as f64 / BOUND as f64,
    );
    Ok(())
}

/// A small deterministic generator for lookup order.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn record(client_id: &ClientId, issued: SystemTime, ttl: Duration) -> TokenRecord {
    TokenRecord::new(
        TokenKind::Access,
        GrantId::generate(),
        client_id.clone(),
        Scope::parse("read:data write:data").unwrap_or_else(|_| Scope::empty()),
        issued,
        issued + ttl,
    )
}

fn child(size: usize) -> Result<(), Box<dyn std::error::Error>> {
    let hashes: Vec<TokenHash> = (0..size).map(|_| AccessToken::generate().hash()).collect();
    let misses: Vec<TokenHash> = (0..1024).map(|_| AccessToken::generate().hash()).collect();
    let client_id = ClientId::new("demo-service")?;
    let start = SystemTime::now();
    let ttl = Duration::from_secs(3600);
    let store = MemoryTokenStore::new();

    let before = resident_bytes();
    // The longest insert while the store grows: the one that doubles a table.
    let mut growth = Duration::ZERO;
    for hash in &hashes {
        let record = record(&client_id, start, ttl);
        let timer = Instant::now();
        block_on(store.insert(vec![(*hash, record)]))?;
        growth = growth.max(timer.elapsed());
    }
    let after = resident_bytes();
    let per_token = after.saturating_sub(before) as f64 / size as f64;

    // The keys to look up, in random order but side by side, so that the benchmark's
    // own reading of them costs no cache miss: only the store's accesses are timed.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let sample: Vec<TokenHash> = (0..LOOKUPS)
        .map(|_| hashes[(xorshift(&mut state) % size as u64) as usize])
        .collect();
    let timer = Instant::now();
    for hash in &sample {
        black_box(block_on(store.find(black_box(hash)))?);
    }
    let hit = timer.elapsed().as_nanos() as f64 / LOOKUPS as f64;
    let timer = Instant::now();
    for i in 0..LOOKUPS {
        black_box(block_on(store.find(black_box(&misses[i % misses.len()])))?);
    }
    let miss = timer.elapsed().as_nanos() as f64 / LOOKUPS as f64;

    // Every live token has expired; new tokens keep arriving. Each insert purges at most
    // a few expired records, so no insert waits for the whole store to be swept.
    let later = start + ttl + Duration::from_secs(1);
    let inserts = PURGING_INSERTS.min(size);
    let fresh: Vec<TokenHash> = (0..inserts)
        .map(|_| AccessToken::generate().hash())
        .collect();
    let mut pauses = Vec::with_capacity(inserts);
    let held = store.len();
    for hash in fresh {
        let record = record(&client_id, later, ttl);
        let timer = Instant::now();
        block_on(store.insert(vec![(hash, record)]))?;
        pauses.push(timer.elapsed().as_nanos() as u64);
    }
    let purged = held + inserts - store.len();
    pauses.sort_unstable();
    let at = |p: f64| pauses[((pauses.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    let max = pauses.last().copied().unwrap_or(0) as f64 / 1000.0;
    println!(
        "{:>10} {:>12.0} {:>8.0} ns {:>8.0} ns {:>11.2} / {:>5.2} µs {:>9.1} µs {:>10.2} ms  ({purged} purged)",
        size,
        per_token,
        hit,
        miss,
        at(0.5),
        at(0.999),
        max,
        growth.as_secs_f64() * 1000.0
    );
    Ok(())
}
