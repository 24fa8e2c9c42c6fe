//! Measures the memory the in-memory token store uses per live access token.
//!
//! Inserts one million live access token records into a [`MemoryTokenStore`], the way the
//! token endpoint stores them (one grant and one scope allocation per token), and reads the
//! process's resident memory from `/proc/self/statm` (Linux) before and after. Run with
//! `cargo run --release --example store_memory [COUNT] [subject]`; with `subject`, every
//! record also carries a resource owner (as user tokens do).

use std::time::{Duration, SystemTime};

use grantflow::{
    AccessToken, ClientId, GrantId, MemoryTokenStore, Scope, Subject, TokenHash, TokenKind,
    TokenRecord, TokenStore as _,
};

/// Resident memory in bytes, from `/proc/self/statm` (in pages of 4 KiB).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let with_subject = std::env::args().nth(2).is_some_and(|a| a == "subject");
    let hashes: Vec<TokenHash> = (0..count).map(|_| AccessToken::generate().hash()).collect();
    let client_id = ClientId::new("backend")?;
    let now = SystemTime::now();
    let expires = now + Duration::from_secs(3600);
    let store = MemoryTokenStore::new();
    let before = resident_bytes().ok_or("no /proc/self/statm")?;
    for hash in &hashes {
        let record = TokenRecord::new(
            TokenKind::Access,
            GrantId::generate(),
            client_id.clone(),
            Scope::parse("read write")?,
            now,
            expires,
        )
        .with_subject(with_subject.then(|| Subject::new("user-1234567")));
        block_on(store.insert(vec![(*hash, record)]))?;
    }
    let after = resident_bytes().ok_or("no /proc/self/statm")?;
    assert_eq!(store.len(), count);
    let probe = block_on(store.find(&hashes[count / 2]))?;
    assert!(probe.is_some());
    let per_token = (after - before) as f64 / count as f64;
    println!(
        "{count} live tokens: resident {} MiB -> {} MiB, {per_token:.0} bytes per token",
        before >> 20,
        after >> 20
    );
    Ok(())
}
