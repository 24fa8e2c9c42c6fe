//! DPoP (RFC 9449 §7) at the resource server: the store-backed guard and the offline JWT
//! verifier accept a DPoP-bound token only in the `DPoP` scheme with a proof for this
//! request signed by the token's key, refuse the downgrades, and answer with the exact
//! challenges. Proofs are made by `jsonwebtoken`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::dpop::ProofChecker;
use grantflow::guard::{BearerGuard, GuardRejection, TokenInfo};
use grantflow::store::MemorySingleUseStore;
use grantflow::{HttpRequest, HttpResponse, Method, Scope};
use sha2::{Digest as _, Sha256};

use crate::dpop::{BOUND, Holder, JWT_CLIENT, cc, claims, harness, issued};
use crate::support::resource::*;

/// The protected resource, as proofs name it.
const API_URL: &str = "https://api.example.com/data";
const REALM: &str = "api";
/// The challenge of a guard accepting both schemes, before any credentials.
const BOTH: &str = "Bearer realm=\"api\", DPoP realm=\"api\", algs=\"ES256 EdDSA RS256 PS256\"";
/// The `DPoP` challenge's `algs` (the checker's default algorithms).
const ALGS: &str = "algs=\"ES256 EdDSA RS256 PS256\"";

fn dpop(guard: BearerGuard) -> BearerGuard {
    guard
        .realm(REALM)
        .unwrap()
        .dpop(
            ProofChecker::new(),
            API_URL,
            Arc::new(MemorySingleUseStore::new()),
        )
        .unwrap()
}

/// The two guards of the harness: the token store's and the offline JWT verifier's.
fn guards(h: &Harness) -> (BearerGuard, BearerGuard) {
    let offline = block_on(h.server.jwt_bearer_guard("https://api.example.com"))
        .unwrap()
        .clock(Arc::new(h.clock.clone()));
    (dpop(h.server.bearer_guard()), dpop(offline))
}

fn check(guard: &BearerGuard, request: &HttpRequest) -> Result<TokenInfo, HttpResponse> {
    block_on(guard.check(request, &Scope::parse("read").unwrap())).map_err(|r| match r {
        GuardRejection::Refused(response) => response,
        fault => panic!("no fault: {fault}"),
    })
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A resource proof of `holder` for `GET` [`API_URL`] with `token`'s `ath`.
fn proof(h: &Harness, holder: &Holder, token: &str) -> String {
    let mut claims = claims("GET", API_URL, h.now());
    claims["ath"] = ath(token).into();
    holder.sign(&claims)
}

fn get(scheme: &str, token: &str, proof: Option<&str>) -> HttpRequest {
    let request =
        HttpRequest::new(Method::Get).with_header("Authorization", format!("{scheme} {token}"));
    match proof {
        Some(proof) => request.with_header("DPoP", proof),
        None => request,
    }
}

/// A DPoP-bound token of `holder`: opaque (the store's) and JWT (verified offline).
fn bound_tokens(h: &Harness, holder: &Holder) -> [(String, BearerGuard); 2] {
    let (store, offline) = guards(h);
    let opaque = issued(
        &h.token(&cc(
            BOUND,
            Some(&holder.sign(&claims("POST", "https://as.example.com/token", h.now()))),
        )),
        "DPoP",
    );
    let jwt = issued(
        &h.token(&cc(
            JWT_CLIENT,
            Some(&holder.sign(&claims("POST", "https://as.example.com/token", h.now()))),
        )),
        "DPoP",
    );
    [(opaque, store), (jwt, offline)]
}

#[track_caller]
fn challenge(response: &HttpResponse, status: u16) -> &str {
    assert_eq!(response.status.as_u16(), status);
    response.header("www-authenticate").unwrap()
}

#[test]
fn ex_16_a_bound_token_with_its_proof_passes_both_guards() {
    let h = harness();
    let holder = Holder::es256();
    for (token, guard) in bound_tokens(&h, &holder) {
        let info = check(
            &guard,
            &get("DPoP", &token, Some(&proof(&h, &holder, &token))),
        )
        .unwrap();
        assert_eq!(info.dpop_jkt.as_deref(), Some(holder.jkt().as_str()));
    }
}

#[test]
fn ex_06_a_bound_token_as_bearer_is_invalid_token() {
    let h = harness();
    let holder = Holder::es256();
    for (token, guard) in bound_tokens(&h, &holder) {
        for request in [
            get("Bearer", &token, None),
            get("Bearer", &token, Some(&proof(&h, &holder, &token))),
        ] {
            let response = check(&guard, &request).unwrap_err();
            assert_eq!(
                challenge(&response, 401),
                format!(
                    "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the access token is not active\", DPoP realm=\"api\", {ALGS}"
                )
            );
        }
        // The guard without DPoP refuses it too.
        let plain = h.server.bearer_guard();
        assert_eq!(
            check(&plain, &get("Bearer", &token, None))
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
    }
}

#[test]
fn ex_06_an_unbound_token_as_dpop_is_invalid_token() {
    let h = harness();
    let holder = Holder::es256();
    let token = issued(&h.token(&cc(BACKEND, None)), "Bearer");
    let (guard, _) = guards(&h);
    let response = check(
        &guard,
        &get("DPoP", &token, Some(&proof(&h, &holder, &token))),
    )
    .unwrap_err();
    assert_eq!(
        challenge(&response, 401),
        "Bearer realm=\"api\", DPoP realm=\"api\", error=\"invalid_token\", error_description=\"the access token is not active\", algs=\"ES256 EdDSA RS256 PS256\""
    );
    // As Bearer it still passes.
    assert!(check(&guard, &get("Bearer", &token, None)).is_ok());
}

#[test]
fn ex_16_no_credentials_offer_both_schemes() {
    let h = harness();
    let (store, offline) = guards(&h);
    for guard in [store, offline] {
        let response = check(&guard, &HttpRequest::new(Method::Get)).unwrap_err();
        assert_eq!(challenge(&response, 401), BOTH);
    }
}

#[test]
fn ex_16_a_token_in_both_schemes_is_invalid_request() {
    let h = harness();
    let holder = Holder::es256();
    for (token, guard) in bound_tokens(&h, &holder) {
        let guard = guard.form_body_tokens(true);
        let request = HttpRequest::new(Method::Post)
            .with_header("Authorization", format!("DPoP {token}"))
            .with_header("DPoP", proof(&h, &holder, &token))
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(format!("access_token={token}"));
        let response = check(&guard, &request).unwrap_err();
        assert!(challenge(&response, 400).contains("error=\"invalid_request\""));
        let two = HttpRequest::new(Method::Get)
            .with_header("Authorization", format!("DPoP {token}"))
            .with_header("Authorization", format!("Bearer {token}"));
        assert_eq!(check(&guard, &two).unwrap_err().status.as_u16(), 400);
    }
}

#[test]
fn ex_17_hostile_proofs_are_invalid_dpop_proof() {
    let h = harness();
    let holder = Holder::es256();
    let invalid = format!(
        "Bearer realm=\"api\", DPoP realm=\"api\", error=\"invalid_dpop_proof\", error_description=\"the DPoP proof is not valid for this request\", {ALGS}"
    );
    for (token, guard) in bound_tokens(&h, &holder) {
        let no_ath = holder.sign(&claims("GET", API_URL, h.now()));
        let wrong_key = proof(&h, &Holder::es256(), &token);
        let mut wrong_uri = claims("GET", "https://api.example.com/other", h.now());
        wrong_uri["ath"] = ath(&token).into();
        let mut wrong_method = claims("POST", API_URL, h.now());
        wrong_method["ath"] = ath(&token).into();
        let mut other_ath = claims("GET", API_URL, h.now());
        other_ath["ath"] = ath("another-token").into();
        let requests = [
            get("DPoP", &token, None),
            get("DPoP", &token, Some(&no_ath)),
            get("DPoP", &token, Some(&wrong_key)),
            get("DPoP", &token, Some(&holder.sign(&wrong_uri))),
            get("DPoP", &token, Some(&holder.sign(&wrong_method))),
            get("DPoP", &token, Some(&holder.sign(&other_ath))),
        ];
        for request in &requests {
            let response = check(&guard, request).unwrap_err();
            assert_eq!(challenge(&response, 401), invalid);
        }
        // A replayed proof.
        let once = proof(&h, &holder, &token);
        assert!(check(&guard, &get("DPoP", &token, Some(&once))).is_ok());
        let response = check(&guard, &get("DPoP", &token, Some(&once))).unwrap_err();
        assert_eq!(challenge(&response, 401), invalid);
    }
}

#[test]
fn ex_16_the_resource_url_is_checked() {
    let h = harness();
    let store = Arc::new(MemorySingleUseStore::new());
    for bad in ["not a url", "ftp://api.example.com/", "/data"] {
        assert!(
            h.server
                .bearer_guard()
                .dpop(ProofChecker::new(), bad, store.clone())
                .is_err()
        );
    }
}
