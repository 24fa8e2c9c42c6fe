//! Criterion benchmarks of the JOSE layer (feature `jwt`), and of the crypto backends it
//! could have been built on. See `benches/README.md` for the figures and the choice.
//!
//! Run with `cargo bench --features jwt --bench jose` (or `-- backend/` for the backend
//! comparison alone, `-- jwt/` for the crate's own paths).
//!
//! - `backend/*`: bare signature and verification of one JWS signing input (an RFC 9068
//!   access token's header and claims), ES256 and EdDSA on aws-lc-rs and on RustCrypto
//!   (`p256`, `ed25519-dalek`), RS256 and PS256 (2048-bit keys) on aws-lc-rs.
//! - `jwt/issue/*`: a whole access token through `KeySet::sign_access_token` (claims,
//!   header, base64, the key lookup, the async signer), against the bare signature of the
//!   same run. Target (issue 16): at most 1.3 times the bare signature.
//! - `jwt/verify/*`: `AccessTokenVerifier::verify` with its cache off (parse, checks,
//!   signature, claims), against the bare verification. Target: at most 1.2 times.
//! - `jwt/verify_cached`: a repeated token from the verified-token cache. Target: < 1 µs.
//! - `server/issue/*`: a whole client credentials request (`client_secret_basic`) at
//!   `Server::token` issuing JWT access tokens on the memory stores, against the bare
//!   signature of the same run. Target (issue 16): at most 1.3 times the bare signature.
//! - `server/guard/*`: `BearerGuard::check` on the offline verifier, its cache off, against
//!   the bare verification. Target: at most 1.2 times. `server/guard_cached/*`: a repeated
//!   token at the guard. Target: < 1 µs.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{
    self as lc, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RsaKeyPair,
};
use criterion::{Criterion, criterion_group, criterion_main};
use grantflow::clock::ManualClock;
use grantflow::guard::BearerGuard;
use grantflow::jose::{
    AccessTokenClaims, AccessTokenVerifier, Algorithm, JwtAccessTokens, KeySet, MemoryKeySetStore,
    SigningKey, Validation,
};
use grantflow::{
    Client, ClientId, ClientSecret, ClientType, GrantType, HttpRequest, MemoryClientRegistry,
    MemoryTokenStore, Method, Scope, Server, Subject,
};

const ISSUER: &str = "https://as.example.com";
const RS: &str = "https://rs.example.com";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn claims(now: SystemTime) -> AccessTokenClaims {
    AccessTokenClaims::new(
        RS,
        &ClientId::new("reporting-service").expect("valid id"),
        Some(&Subject::new("248289761001")),
        now,
        Duration::from_secs(300),
    )
    .with_scope(&Scope::parse("read:data write:data").expect("valid scope"))
}

/// A key set with one key of `algorithm`, and a token it signed (whose signing input the
/// backend benchmarks sign and verify too, so both sides work on the same bytes).
fn key_set(algorithm: Algorithm, now: SystemTime) -> (KeySet, Arc<SigningKey>, String) {
    let key = Arc::new(SigningKey::generate(algorithm).expect("key"));
    let set = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .default_algorithm(algorithm)
        .build()
        .expect("key set");
    block_on(set.bootstrap(key.clone(), now)).expect("bootstrap");
    let token = block_on(set.sign_access_token(&claims(now), now)).expect("token");
    (set, key, token)
}

fn signing_input(token: &str) -> &[u8] {
    token.rsplit_once('.').expect("a JWS").0.as_bytes()
}

/// The bare backends on one signing input.
fn backends(c: &mut Criterion) {
    let now = SystemTime::now();
    let (_, _, token) = key_set(Algorithm::Es256, now);
    let input = signing_input(&token).to_vec();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let seed: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));

    // ES256.
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&lc::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let lc_ec = EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .expect("key");
    let lc_ec_public =
        ParsedPublicKey::new(&lc::ECDSA_P256_SHA256_FIXED, lc_ec.public_key().as_ref())
            .expect("key");
    let lc_ec_sig = lc_ec.sign(&rng, &input).expect("signature");
    c.bench_function("backend/es256/sign/aws-lc-rs", |b| {
        b.iter(|| lc_ec.sign(&rng, black_box(&input)).expect("signature"));
    });
    c.bench_function("backend/es256/verify/aws-lc-rs", |b| {
        b.iter(|| {
            lc_ec_public
                .verify_sig(black_box(&input), lc_ec_sig.as_ref())
                .expect("valid")
        });
    });
    {
        use p256::ecdsa::signature::{Signer as _, Verifier as _};
        let rc = p256::ecdsa::SigningKey::from_slice(&seed).expect("key");
        let rc_public = *rc.verifying_key();
        let rc_sig: p256::ecdsa::Signature = rc.sign(&input);
        c.bench_function("backend/es256/sign/rustcrypto-p256", |b| {
            b.iter(|| -> p256::ecdsa::Signature { rc.sign(black_box(&input)) });
        });
        c.bench_function("backend/es256/verify/rustcrypto-p256", |b| {
            b.iter(|| rc_public.verify(black_box(&input), &rc_sig).expect("valid"));
        });
    }

    // EdDSA (Ed25519).
    let lc_ed = Ed25519KeyPair::from_seed_unchecked(&seed).expect("key");
    let lc_ed_public =
        ParsedPublicKey::new(&lc::ED25519, lc_ed.public_key().as_ref()).expect("key");
    let lc_ed_sig = lc_ed.sign(&input);
    c.bench_function("backend/eddsa/sign/aws-lc-rs", |b| {
        b.iter(|| lc_ed.sign(black_box(&input)));
    });
    c.bench_function("backend/eddsa/verify/aws-lc-rs", |b| {
        b.iter(|| {
            lc_ed_public
                .verify_sig(black_box(&input), lc_ed_sig.as_ref())
                .expect("valid")
        });
    });
    {
        use ed25519_dalek::{Signer as _, Verifier as _};
        let rc = ed25519_dalek::SigningKey::from_bytes(&seed);
        let rc_public = rc.verifying_key();
        let rc_sig = rc.sign(&input);
        c.bench_function("backend/eddsa/sign/ed25519-dalek", |b| {
            b.iter(|| rc.sign(black_box(&input)));
        });
        c.bench_function("backend/eddsa/verify/ed25519-dalek", |b| {
            b.iter(|| rc_public.verify(black_box(&input), &rc_sig).expect("valid"));
        });
    }

    // RS256 and PS256 (aws-lc-rs only: the pure-Rust `rsa` crate is not constant-time,
    // RUSTSEC-2023-0071).
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("key");
    for (name, padding, params) in [
        (
            "rs256",
            &lc::RSA_PKCS1_SHA256 as &'static dyn lc::RsaEncoding,
            &lc::RSA_PKCS1_2048_8192_SHA256,
        ),
        ("ps256", &lc::RSA_PSS_SHA256, &lc::RSA_PSS_2048_8192_SHA256),
    ] {
        let public = ParsedPublicKey::new(params, rsa.public_key().as_ref()).expect("key");
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(padding, &rng, &input, &mut sig)
            .expect("signature");
        c.bench_function(&format!("backend/{name}/sign/aws-lc-rs"), |b| {
            b.iter(|| {
                let mut out = vec![0; rsa.public_modulus_len()];
                rsa.sign(padding, &rng, black_box(&input), &mut out)
                    .expect("signature");
                out
            });
        });
        c.bench_function(&format!("backend/{name}/verify/aws-lc-rs"), |b| {
            b.iter(|| public.verify_sig(black_box(&input), &sig).expect("valid"));
        });
    }
}

/// The crate's own paths, each next to the bare operation it wraps, in the same run.
fn jwt(c: &mut Criterion) {
    let now = SystemTime::now();
    for algorithm in [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256] {
        let name = algorithm.name().to_lowercase();
        let (set, key, token) = key_set(algorithm, now);
        let claims = claims(now);
        let input = signing_input(&token).to_vec();
        c.bench_function(&format!("jwt/issue/{name}/bare-signature"), |b| {
            b.iter(|| {
                block_on(grantflow::jose::Signer::sign(&*key, black_box(&input)))
                    .expect("signature")
            });
        });
        c.bench_function(&format!("jwt/issue/{name}/access-token"), |b| {
            b.iter(|| block_on(set.sign_access_token(black_box(&claims), now)).expect("token"));
        });
        let keys = block_on(set.public_keys(now)).expect("keys");
        let (signed, signature) = token.rsplit_once('.').expect("JWS");
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .expect("b64");
        let params: &'static dyn lc::VerificationAlgorithm = match algorithm {
            Algorithm::Es256 => &lc::ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDsa => &lc::ED25519,
            _ => &lc::RSA_PKCS1_2048_8192_SHA256,
        };
        let der = key.to_pkcs8_der().expect("pkcs8");
        let bare_public = match algorithm {
            Algorithm::Es256 => {
                EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P256_SHA256_FIXED_SIGNING, der.expose_secret())
                    .expect("key")
                    .public_key()
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDsa => Ed25519KeyPair::from_pkcs8(der.expose_secret())
                .expect("key")
                .public_key()
                .as_ref()
                .to_vec(),
            _ => RsaKeyPair::from_pkcs8(der.expose_secret())
                .expect("key")
                .public_key()
                .as_ref()
                .to_vec(),
        };
        let bare = ParsedPublicKey::new(params, bare_public).expect("key");
        c.bench_function(&format!("jwt/verify/{name}/bare-verification"), |b| {
            b.iter(|| {
                bare.verify_sig(black_box(signed.as_bytes()), &signature)
                    .expect("valid")
            });
        });
        let uncached = AccessTokenVerifier::with_cache_capacity(
            Validation::access_token(ISSUER, RS),
            keys.clone(),
            0,
        )
        .expect("verifier");
        c.bench_function(&format!("jwt/verify/{name}/access-token"), |b| {
            b.iter(|| uncached.verify(black_box(&token), now).expect("valid"));
        });
        let cached =
            AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), keys).expect("verifier");
        cached.verify(&token, now).expect("valid");
        c.bench_function(&format!("jwt/verify_cached/{name}"), |b| {
            b.iter(|| cached.verify(black_box(&token), now).expect("valid"));
        });
    }
}

/// A server issuing `algorithm` JWT access tokens to one confidential client, on the
/// memory stores and a manual clock; and a client credentials request for it.
fn jwt_server(algorithm: Algorithm) -> (Server, ManualClock, Arc<SigningKey>, HttpRequest) {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let clock = ManualClock::new(start);
    let key = Arc::new(SigningKey::generate(algorithm).expect("key"));
    let keys = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .default_algorithm(algorithm)
        .build()
        .expect("key set");
    block_on(keys.bootstrap(key.clone(), start)).expect("bootstrap");
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            Client::builder("s6BhdRkqt3", ClientType::Confidential)
                .secret(&ClientSecret::from_presented("gX1fBat3bV".to_owned()))
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .allowed_scope("read:data write:data")
                .build()
                .expect("client"),
        )
        .expect("client");
    let server = Server::builder(ISSUER, clients, Arc::new(MemoryTokenStore::new()))
        .clock(Arc::new(clock.clone()))
        .access_token_ttl(Duration::from_secs(1))
        .signing_keys(keys)
        .jwt_access_tokens(JwtAccessTokens::new(RS))
        .build()
        .expect("server");
    let request = HttpRequest::new(Method::Post)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW")
        .with_body("grant_type=client_credentials&scope=read%3Adata");
    (server, clock, key, request)
}

fn server(c: &mut Criterion) {
    for algorithm in [Algorithm::Es256, Algorithm::EdDsa] {
        let name = algorithm.name().to_lowercase();
        let (server, clock, key, request) = jwt_server(algorithm);
        let response = block_on(server.token(&request)).expect("response");
        let body: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
        let token = body["access_token"].as_str().expect("a token").to_owned();
        let input = signing_input(&token).to_vec();
        c.bench_function(&format!("server/issue/{name}/bare-signature"), |b| {
            b.iter(|| {
                block_on(grantflow::jose::Signer::sign(&*key, black_box(&input)))
                    .expect("signature")
            });
        });
        c.bench_function(&format!("server/issue/{name}/client-credentials"), |b| {
            b.iter(|| {
                // Each token expires a second later: the store recycles their slots.
                clock.advance(Duration::from_millis(1));
                let response = block_on(server.token(black_box(&request))).expect("response");
                assert_eq!(response.status.as_u16(), 200);
            });
        });

        // The guard verifies a token issued now, with the server's published keys.
        let (server, _clock, key, request) = jwt_server(algorithm);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let response = block_on(server.token(&request)).expect("response");
        let body: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
        let token = body["access_token"].as_str().expect("a token").to_owned();
        let keys = grantflow::jose::JwkSet::from_keys([key.public_key().clone()]).expect("keys");
        let (signed, signature) = token.rsplit_once('.').expect("JWS");
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .expect("b64");
        let der = key.to_pkcs8_der().expect("pkcs8");
        let bare = match algorithm {
            Algorithm::Es256 => ParsedPublicKey::new(
                &lc::ECDSA_P256_SHA256_FIXED,
                EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P256_SHA256_FIXED_SIGNING, der.expose_secret())
                    .expect("key")
                    .public_key()
                    .as_ref(),
            ),
            _ => ParsedPublicKey::new(
                &lc::ED25519,
                Ed25519KeyPair::from_pkcs8(der.expose_secret())
                    .expect("key")
                    .public_key()
                    .as_ref(),
            ),
        }
        .expect("key");
        c.bench_function(&format!("server/guard/{name}/bare-verification"), |b| {
            b.iter(|| {
                bare.verify_sig(black_box(signed.as_bytes()), &signature)
                    .expect("valid")
            });
        });
        let fixed = Arc::new(ManualClock::new(now));
        let scope = Scope::parse("read:data").expect("scope");
        let request =
            HttpRequest::new(Method::Get).with_header("authorization", format!("Bearer {token}"));
        let uncached = BearerGuard::jwt(
            AccessTokenVerifier::with_cache_capacity(
                Validation::access_token(ISSUER, RS),
                keys.clone(),
                0,
            )
            .expect("verifier"),
            None,
        )
        .clock(fixed.clone());
        c.bench_function(&format!("server/guard/{name}/access-token"), |b| {
            b.iter(|| block_on(uncached.check(black_box(&request), &scope)).expect("valid"));
        });
        let cached = BearerGuard::jwt(
            AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), keys).expect("verifier"),
            None,
        )
        .clock(fixed);
        block_on(cached.check(&request, &scope)).expect("valid");
        c.bench_function(&format!("server/guard_cached/{name}"), |b| {
            b.iter(|| block_on(cached.check(black_box(&request), &scope)).expect("valid"));
        });
    }
}

criterion_group!(benches, backends, jwt, server);
criterion_main!(benches);
