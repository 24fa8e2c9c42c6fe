//! DPoP (RFC 9449) at the authorization server: the proof checker at the token endpoint,
//! key-bound access tokens (`token_type: DPoP`, `cnf.jkt` in JWT access tokens and in
//! introspection), public clients' refresh tokens bound to their key, the per-client and
//! server-wide requirements, and the metadata. Every proof is made by an independent JOSE
//! library (`jsonwebtoken` on RustCrypto), right and hostile ones; the RFC's own example
//! proofs are vectors.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::clock::ManualClock;
use grantflow::dpop::ProofChecker;
use grantflow::issuer::AccessTokenFormat;
use grantflow::jose::{Algorithm, AlgorithmSet, JwtAccessTokens, SigningKey};
use grantflow::store::MemorySingleUseStore;
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryTokenStore, Server,
};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::race::{race, runtime};
use crate::support::resource::*;

/// The token endpoint of the test servers, as proofs name it.
const TOKEN_URL: &str = "https://as.example.com/token";
/// A confidential client held to DPoP (`dpop_bound_access_tokens`).
pub(crate) const BOUND: (&str, &str) = ("dpop-bound", "dpop-bound-secret-1");
/// A confidential client issued JWT access tokens.
pub(crate) const JWT_CLIENT: (&str, &str) = ("dpop-jwt", "dpop-jwt-secret-2");

/// A client's DPoP key, held by the judge: the private key as `jsonwebtoken` signs with it,
/// and the public JWK it computes itself.
pub(crate) struct Holder {
    key: EncodingKey,
    alg: jsonwebtoken::Algorithm,
    jwk: Jwk,
}

impl Holder {
    pub(crate) fn es256() -> Self {
        let ours = SigningKey::generate(Algorithm::Es256).unwrap();
        let key = EncodingKey::from_ec_der(ours.to_pkcs8_der().unwrap().expose_secret());
        Self::new(key, jsonwebtoken::Algorithm::ES256)
    }

    fn ps256() -> Self {
        let ours = SigningKey::generate_rsa(Algorithm::Ps256, 2048).unwrap();
        let der = ours.to_pkcs8_der().unwrap();
        let body = base64::engine::general_purpose::STANDARD.encode(der.expose_secret());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        Self::new(key, jsonwebtoken::Algorithm::PS256)
    }

    fn new(key: EncodingKey, alg: jsonwebtoken::Algorithm) -> Self {
        let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        Self { key, alg, jwk }
    }

    /// The RFC 7638 thumbprint, computed here from the judge's JWK: the required members
    /// in lexicographic order, no whitespace, SHA-256, base64url.
    pub(crate) fn jkt(&self) -> String {
        let jwk = serde_json::to_value(&self.jwk).unwrap();
        let members: &[&str] = match jwk["kty"].as_str() {
            Some("EC") => &["crv", "kty", "x", "y"],
            Some("RSA") => &["e", "kty", "n"],
            _ => &["crv", "kty", "x"],
        };
        let canonical = members
            .iter()
            .map(|m| format!("\"{m}\":{}", jwk[*m]))
            .collect::<Vec<_>>()
            .join(",");
        URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{{{canonical}}}").as_bytes()))
    }

    /// `claims` signed as a DPoP proof: `typ: dpop+jwt` and the public `jwk` in the header.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".to_owned());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    /// A fresh proof for `POST` to the token endpoint at `now`.
    fn proof(&self, now: SystemTime) -> String {
        self.sign(&claims("POST", TOKEN_URL, now))
    }

    /// `header` (any JSON, hostile or not) and `claims`, signed with this key by the judge.
    fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).unwrap();
        format!("{input}.{signature}")
    }
}

fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The claims of a proof: a fresh `jti`, `htm`, `htu` and `iat`.
pub(crate) fn claims(htm: &str, htu: &str, iat: SystemTime) -> Value {
    json!({
        "jti": format!("jti-{}", rand::random::<u64>()),
        "htm": htm,
        "htu": htu,
        "iat": secs(iat),
    })
}

/// The resource harness with DPoP on (every algorithm), `configure` applied last, and the
/// clients [`BOUND`] and [`JWT_CLIENT`].
fn harness_with(
    configure: impl Fn(grantflow::ServerBuilder) -> grantflow::ServerBuilder,
) -> Harness {
    let keys = crate::jwt_access_tokens::bootstrapped();
    let h = Harness::with(|b| {
        configure(
            b.dpop(ProofChecker::new())
                .signing_keys(keys.clone())
                .jwt_access_tokens(JwtAccessTokens::new("https://api.example.com")),
        )
    });
    add_clients(&h.clients);
    h
}

pub(crate) fn harness() -> Harness {
    harness_with(|b| b)
}

fn add_clients(clients: &MemoryClientRegistry) {
    let cc = |(id, secret): (&str, &str)| {
        Client::builder(id, ClientType::Confidential)
            .secret(&ClientSecret::from_presented(secret.to_owned()))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read")
            .default_scope("read")
    };
    for client in [
        cc(BOUND).dpop_bound_access_tokens(true),
        cc(JWT_CLIENT).access_token_format(AccessTokenFormat::Jwt),
    ] {
        clients.insert(client.build().unwrap()).unwrap();
    }
}

/// A client credentials request of `client`, with a `DPoP` header when `proof` is given.
pub(crate) fn cc(client: (&str, &str), proof: Option<&str>) -> HttpRequest {
    let request = basic(client).with_body("grant_type=client_credentials");
    match proof {
        Some(proof) => request.with_header("DPoP", proof),
        None => request,
    }
}

/// A 200 token response of `token_type`; its access token.
#[track_caller]
pub(crate) fn issued(response: &HttpResponse, token_type: &str) -> String {
    assert_eq!(response.status.as_u16(), 200, "{:?}", json(response));
    let body = json(response);
    assert_eq!(body["token_type"], token_type, "{body:?}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A refresh of the public client [`SPA`]'s `refresh` token.
fn spa_refresh(refresh: &str, proof: Option<&str>) -> HttpRequest {
    let request = form().with_body(format!(
        "grant_type=refresh_token&client_id={SPA}&refresh_token={}",
        enc(refresh)
    ));
    match proof {
        Some(proof) => request.with_header("DPoP", proof),
        None => request,
    }
}

/// The user grant for [`SPA`] with `proof`: (access token, refresh token).
fn spa_tokens(h: &Harness, proof: &str) -> (String, String) {
    let response = h.token(
        &form()
            .with_body(format!("grant_type={}&client_id={SPA}", enc(USER_GRANT)))
            .with_header("DPoP", proof),
    );
    let access = issued(&response, "DPoP");
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (access, refresh)
}

// ---------------------------------------------------------------------------------------
// Binding at the token endpoint
// ---------------------------------------------------------------------------------------

#[test]
fn ex_11_a_valid_proof_gives_a_dpop_bound_token() {
    let h = harness();
    for holder in [Holder::es256(), Holder::ps256()] {
        let token = issued(&h.token(&cc(BACKEND, Some(&holder.proof(h.now())))), "DPoP");
        assert_eq!(
            h.record(&token).unwrap().dpop_jkt.as_deref(),
            Some(holder.jkt().as_str())
        );
    }
}

#[test]
fn ex_11_without_a_proof_the_token_is_a_bearer_token() {
    let h = harness();
    let token = issued(&h.token(&cc(BACKEND, None)), "Bearer");
    assert_eq!(h.record(&token).unwrap().dpop_jkt, None);
    let body = h.introspect_as_rs(&token);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("cnf").is_none());
}

#[test]
fn ex_11_with_dpop_off_the_header_is_ignored() {
    let h = Harness::new();
    let holder = Holder::es256();
    let token = issued(
        &h.token(&cc(BACKEND, Some(&holder.proof(h.now())))),
        "Bearer",
    );
    assert_eq!(h.record(&token).unwrap().dpop_jkt, None);
    let doc = json(&h.server.metadata());
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());
}

#[test]
fn ex_11_every_grant_binds_user_grant_and_refresh() {
    let h = harness();
    let holder = Holder::es256();
    // An extension grant, written as a user would write one.
    let (access, refresh) = spa_tokens(&h, &holder.proof(h.now()));
    assert_eq!(h.record(&access).unwrap().dpop_jkt, Some(holder.jkt()));
    let response = h.token(&spa_refresh(&refresh, Some(&holder.proof(h.now()))));
    let access = issued(&response, "DPoP");
    assert_eq!(h.record(&access).unwrap().dpop_jkt, Some(holder.jkt()));
}

#[test]
fn ex_11_a_bound_client_without_a_proof_is_invalid_request() {
    let h = harness();
    let response = h.token(&cc(BOUND, None));
    assert_token_error(&response, 400, "invalid_request");
    let holder = Holder::es256();
    issued(&h.token(&cc(BOUND, Some(&holder.proof(h.now())))), "DPoP");
    // DPoP off at the server: a client held to it gets no bearer token either.
    let off = Harness::new();
    add_clients(&off.clients);
    assert_token_error(
        &off.token(&cc(BOUND, Some(&holder.proof(off.now())))),
        400,
        "invalid_request",
    );
}

#[test]
fn ex_11_a_server_wide_requirement_refuses_requests_without_a_proof() {
    let h = harness_with(|b| b.require_dpop(true));
    assert_token_error(&h.token(&cc(BACKEND, None)), 400, "invalid_request");
    let holder = Holder::es256();
    issued(&h.token(&cc(BACKEND, Some(&holder.proof(h.now())))), "DPoP");
    // The requirement needs DPoP on.
    let registry = registry();
    let error = Server::builder(ISSUER, registry, Arc::new(MemoryTokenStore::new()))
        .require_dpop(true)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("dpop"), "{error}");
}

#[test]
fn ex_11_metadata_lists_exactly_the_checkers_algorithms() {
    let h = harness();
    let doc = json(&h.server.metadata());
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256", "PS256"])
    );
    let only = AlgorithmSet::only(Algorithm::Es256).with(Algorithm::EdDsa);
    let h = harness_with(|b| b.dpop(ProofChecker::new().algorithms(only)));
    let doc = json(&h.server.metadata());
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    // What is not listed is refused.
    let rsa = Holder::ps256();
    assert_token_error(
        &h.token(&cc(BACKEND, Some(&rsa.proof(h.now())))),
        400,
        "invalid_dpop_proof",
    );
}

#[test]
fn ex_18_introspection_returns_cnf_jkt_and_token_type_dpop() {
    let h = harness();
    let holder = Holder::es256();
    let token = issued(&h.token(&cc(BACKEND, Some(&holder.proof(h.now())))), "DPoP");
    let body = h.introspect_as_rs(&token);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["cnf"], json!({ "jkt": holder.jkt() }));
}

#[test]
fn ex_18_jwt_access_tokens_carry_cnf_jkt() {
    let h = harness();
    let holder = Holder::es256();
    let token = issued(
        &h.token(&cc(JWT_CLIENT, Some(&holder.proof(h.now())))),
        "DPoP",
    );
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&token)
        .unwrap()
        .claims;
    assert_eq!(claims["cnf"], json!({ "jkt": holder.jkt() }));
    // A bearer JWT has none.
    let bearer = issued(&h.token(&cc(JWT_CLIENT, None)), "Bearer");
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&bearer)
        .unwrap()
        .claims;
    assert!(claims.get("cnf").is_none());
}

// ---------------------------------------------------------------------------------------
// Refresh tokens
// ---------------------------------------------------------------------------------------

#[test]
fn ex_12_a_public_clients_refresh_token_is_bound_to_its_key() {
    let h = harness();
    let (k1, k2) = (Holder::es256(), Holder::es256());
    let (_, refresh) = spa_tokens(&h, &k1.proof(h.now()));
    assert_eq!(h.record(&refresh).unwrap().dpop_jkt, Some(k1.jkt()));
    // Another key, or no proof: invalid_grant, and the token is not used up.
    assert_token_error(
        &h.token(&spa_refresh(&refresh, Some(&k2.proof(h.now())))),
        400,
        "invalid_grant",
    );
    assert_token_error(&h.token(&spa_refresh(&refresh, None)), 400, "invalid_grant");
    // The same key: a new pair, the refresh token still bound (the binding survives
    // rotation).
    let response = h.token(&spa_refresh(&refresh, Some(&k1.proof(h.now()))));
    issued(&response, "DPoP");
    let next = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(h.record(&next).unwrap().dpop_jkt, Some(k1.jkt()));
    assert_token_error(
        &h.token(&spa_refresh(&next, Some(&k2.proof(h.now())))),
        400,
        "invalid_grant",
    );
    issued(
        &h.token(&spa_refresh(&next, Some(&k1.proof(h.now())))),
        "DPoP",
    );
}

#[test]
fn ex_12_a_confidential_client_may_switch_keys() {
    let h = harness();
    let (k1, k2) = (Holder::es256(), Holder::es256());
    let response = h.token(
        &basic(BACKEND)
            .with_body(format!("grant_type={}", enc(USER_GRANT)))
            .with_header("DPoP", k1.proof(h.now())),
    );
    issued(&response, "DPoP");
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(h.record(&refresh).unwrap().dpop_jkt, None);
    let response = h.token(
        &basic(BACKEND)
            .with_body(format!(
                "grant_type=refresh_token&refresh_token={}",
                enc(&refresh)
            ))
            .with_header("DPoP", k2.proof(h.now())),
    );
    let access = issued(&response, "DPoP");
    assert_eq!(h.record(&access).unwrap().dpop_jkt, Some(k2.jkt()));
}

// ---------------------------------------------------------------------------------------
// Refused proofs
// ---------------------------------------------------------------------------------------

/// The token endpoint's answer to a client credentials request with `proof`.
fn with_proof(h: &Harness, proof: &str) -> HttpResponse {
    h.token(&cc(BACKEND, Some(proof)))
}

#[track_caller]
fn refused(response: &HttpResponse) {
    assert_token_error(response, 400, "invalid_dpop_proof");
    let description = json(response)["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!description.contains("eyJ"), "{description}");
}

#[test]
fn ex_04_htm_and_htu_must_match() {
    let h = harness();
    let holder = Holder::es256();
    let now = h.now();
    refused(&with_proof(
        &h,
        &holder.sign(&claims("GET", TOKEN_URL, now)),
    ));
    refused(&with_proof(
        &h,
        &holder.sign(&claims("post", TOKEN_URL, now)),
    ));
    refused(&with_proof(
        &h,
        &holder.sign(&claims("POST", "https://as.example.com/token2", now)),
    ));
    refused(&with_proof(
        &h,
        &holder.sign(&claims("POST", "https://as.example.com/token?x=1", now)),
    ));
    // Normalized: scheme and host case, the default port.
    issued(
        &with_proof(
            &h,
            &holder.sign(&claims("POST", "HTTPS://AS.example.com:443/token", now)),
        ),
        "DPoP",
    );
}

#[test]
fn ex_15_a_forged_host_header_does_not_change_the_expected_htu() {
    let h = harness();
    let holder = Holder::es256();
    let proof = holder.sign(&claims("POST", "https://evil.example/token", h.now()));
    let request = cc(BACKEND, Some(&proof))
        .with_header("Host", "evil.example")
        .with_header("X-Forwarded-Host", "evil.example");
    refused(&h.token(&request));
}

#[test]
fn ex_14_iat_window() {
    let h = harness();
    let holder = Holder::es256();
    let now = h.now();
    refused(&with_proof(
        &h,
        &holder.sign(&claims("POST", TOKEN_URL, now - Duration::from_secs(600))),
    ));
    refused(&with_proof(
        &h,
        &holder.sign(&claims("POST", TOKEN_URL, now + Duration::from_secs(600))),
    ));
    issued(
        &with_proof(
            &h,
            &holder.sign(&claims("POST", TOKEN_URL, now + Duration::from_secs(5))),
        ),
        "DPoP",
    );
    issued(
        &with_proof(
            &h,
            &holder.sign(&claims("POST", TOKEN_URL, now - Duration::from_secs(59))),
        ),
        "DPoP",
    );
}

#[test]
fn ex_14_the_same_proof_twice_is_refused_the_second_time() {
    let h = harness();
    let proof = Holder::es256().proof(h.now());
    issued(&with_proof(&h, &proof), "DPoP");
    refused(&with_proof(&h, &proof));
}

#[test]
fn ex_04_hostile_proofs() {
    let h = harness();
    let holder = Holder::es256();
    let jwk = serde_json::to_value(&holder.jwk).unwrap();
    let good = claims("POST", TOKEN_URL, h.now());
    let header = |extra: Value| {
        let mut header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        for (name, value) in extra.as_object().unwrap() {
            header[name] = value.clone();
        }
        header
    };
    // A private key in the `jwk`.
    let mut private = jwk.clone();
    private["d"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    refused(&with_proof(
        &h,
        &holder.sign_raw(&header(json!({ "jwk": private })), &good),
    ));
    // `alg: none`, unsigned.
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header(json!({ "alg": "none" })).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    refused(&with_proof(&h, &unsigned));
    // HMAC keyed with the public key's bytes.
    let hmac = jsonwebtoken::encode(
        &{
            let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
            header.typ = Some("dpop+jwt".to_owned());
            header.jwk = Some(holder.jwk.clone());
            header
        },
        &good,
        &EncodingKey::from_secret(jwk.to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    refused(&with_proof(&h, &hmac));
    // Another type, no key, a key URL.
    refused(&with_proof(
        &h,
        &holder.sign_raw(&header(json!({ "typ": "JWT" })), &good),
    ));
    let mut keyless = header(json!({}));
    keyless.as_object_mut().unwrap().remove("jwk");
    refused(&with_proof(&h, &holder.sign_raw(&keyless, &good)));
    refused(&with_proof(
        &h,
        &holder.sign_raw(
            &header(json!({ "jku": "https://evil.example/jwks" })),
            &good,
        ),
    ));
    // Another key than the signer's.
    let other = serde_json::to_value(&Holder::es256().jwk).unwrap();
    refused(&with_proof(
        &h,
        &holder.sign_raw(&header(json!({ "jwk": other })), &good),
    ));
    // Two headers, one of them good.
    let request = cc(BACKEND, Some(&holder.proof(h.now()))).with_header("DPoP", "x.y.z");
    refused(&h.token(&request));
    // A `jti` over 256 characters; no `jti`.
    let mut long = good.clone();
    long["jti"] = json!("j".repeat(257));
    refused(&with_proof(&h, &holder.sign(&long)));
    let mut none = good;
    none.as_object_mut().unwrap().remove("jti");
    refused(&with_proof(&h, &holder.sign(&none)));
}

#[test]
fn ex_04_an_invalid_proof_issues_nothing() {
    let h = harness();
    let before = h.stored();
    refused(&with_proof(&h, "not-a-jwt"));
    assert_eq!(h.stored(), before);
}

#[test]
fn ex_14_64_concurrent_copies_of_one_proof_give_one_token() {
    let h = harness();
    let proof = Holder::es256().proof(h.now());
    let server = Arc::new(h.server.clone());
    let outcomes = race(&runtime(4), 64, |_| {
        let (server, request) = (Arc::clone(&server), cc(BACKEND, Some(&proof)));
        async move { server.token(&request).await.unwrap().status.as_u16() }
    });
    assert_eq!(
        outcomes.iter().filter(|s| **s == 200).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(outcomes.iter().filter(|s| **s == 400).count(), 63);
}

// ---------------------------------------------------------------------------------------
// The RFC 9449 examples (V-JOSE-4)
// ---------------------------------------------------------------------------------------

/// The proof of the token request of RFC 9449 §4.1 (Figure 3) and §5 (Figure 4).
const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// The proof of the refresh request of RFC 9449 §5 (Figure 6).
const RFC_REFRESH_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjY1Mjk2fQ.pAqut2IRDm_De6PR93SYmGBPXpwrAk90e8cP2hjiaG5QsGSuKDYW7_X620BxqhvYC8ynrrvZLTk41mSRroapUA";
/// The thumbprint of the RFC 9449 example key (§6.1, §6.2).
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

/// A server at `https://server.example.com`, the RFC's, with DPoP on and its clock at
/// `iat`.
fn rfc_server(iat: u64) -> (Server, Arc<MemoryTokenStore>) {
    let clients = registry();
    add_clients(&clients);
    let tokens = Arc::new(MemoryTokenStore::new());
    let server = Server::builder("https://server.example.com", clients, tokens.clone())
        .clock(Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(iat),
        )))
        .dpop(ProofChecker::new())
        .build()
        .unwrap();
    (server, tokens)
}

#[test]
fn v_jose_4_the_rfc_example_proofs_verify_and_name_the_example_key() {
    let header = jsonwebtoken::decode_header(RFC_PROOF).unwrap();
    assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    // Exactly the example key, whose thumbprint is the `cnf.jkt` of §6.1 and §6.2.
    let jwk = json!({
        "kty": "EC",
        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        "crv": "P-256",
    });
    assert_eq!(
        serde_json::to_value(header.jwk.as_ref().unwrap()).unwrap(),
        jwk
    );
    let key = grantflow::jose::PublicJwk::parse(jwk.to_string().as_bytes()).unwrap();
    assert_eq!(key.thumbprint(), RFC_JKT);
    for (proof, iat) in [
        (RFC_PROOF, 1_562_262_616),
        (RFC_REFRESH_PROOF, 1_562_265_296),
    ] {
        let (server, tokens) = rfc_server(iat);
        let response = block_on(server.token(&cc(BACKEND, Some(proof)))).unwrap();
        let token = issued(&response, "DPoP");
        let record = block_on(grantflow::store::TokenStore::find(
            &*tokens,
            &grantflow::secret::TokenHash::of(&token),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(record.dpop_jkt.as_deref(), Some(RFC_JKT));
        // The same proof once more: a replay.
        refused(&block_on(server.token(&cc(BACKEND, Some(proof)))).unwrap());
    }
    // At the wrong server (`htu` https://server.example.com/token), or ten minutes later.
    let stale = rfc_server(1_562_262_616 + 600).0;
    refused(&block_on(stale.token(&cc(BACKEND, Some(RFC_PROOF)))).unwrap());
    let h = harness();
    refused(&with_proof(&h, RFC_PROOF));
}

#[test]
fn ex_14_the_checker_consumes_jti_per_uri_in_the_shared_store() {
    // The checker on its own, as a resource server would use it: the same `jti` at
    // another URI is another proof, and the store is what makes it single-use.
    let store = MemorySingleUseStore::new();
    let holder = Holder::es256();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut c = claims("POST", TOKEN_URL, now);
    c["jti"] = json!("shared-jti");
    let proof = holder.sign(&c);
    let checker = ProofChecker::new();
    let request = HttpRequest::new(grantflow::Method::Post).with_header("DPoP", &proof);
    let target = grantflow::dpop::ProofTarget::new("POST", TOKEN_URL);
    let first = block_on(checker.verify(&request, &target, &store, now)).unwrap();
    assert_eq!(first.unwrap().jkt(), holder.jkt());
    let second = block_on(checker.verify(&request, &target, &store, now)).unwrap();
    assert_eq!(second.unwrap_err(), grantflow::dpop::DpopError::Replayed);
    let mut c = claims("POST", "https://rs.example.com/api", now);
    c["jti"] = json!("shared-jti");
    let elsewhere = HttpRequest::new(grantflow::Method::Post).with_header("DPoP", holder.sign(&c));
    let target = grantflow::dpop::ProofTarget::new("POST", "https://rs.example.com/api");
    assert!(
        block_on(checker.verify(&elsewhere, &target, &store, now))
            .unwrap()
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

/// EX-14 across instances: 64 concurrent token requests with one proof, split over two
/// servers sharing one PostgreSQL single-use store (each with its own pool), give exactly
/// one token, and its record in PostgreSQL names the proof's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ex_14_64_concurrent_copies_of_one_proof_across_postgres_instances_give_one_token() {
    use crate::postgres::pg::{database_url, pool};
    use crate::support::race::race_async;
    use grantflow::postgres::PgStores;
    use grantflow::store::TokenStore as _;

    let Some(url) = database_url("the DPoP proof replay race") else {
        return;
    };
    let clients = registry();
    let mut servers = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..2 {
        let pg = PgStores::new(pool(&url).await);
        servers.push(
            Server::builder(ISSUER, clients.clone(), pg.tokens())
                .single_use_store(pg.single_use())
                .dpop(ProofChecker::new())
                .build()
                .unwrap(),
        );
        stores.push(pg);
    }
    let holder = Holder::es256();
    let proof = holder.proof(SystemTime::now());
    let outcomes = race_async(64, |i| {
        let (server, request) = (servers[i % 2].clone(), cc(BACKEND, Some(&proof)));
        async move { server.token(&request).await.unwrap() }
    })
    .await;
    let issued: Vec<&HttpResponse> = outcomes
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .collect();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        outcomes
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("invalid_dpop_proof"))
            .count(),
        63
    );
    let token = json(issued[0])["access_token"].as_str().unwrap().to_owned();
    let record = stores[1]
        .tokens()
        .find(&grantflow::secret::TokenHash::of(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.dpop_jkt, Some(holder.jkt()));
}

// ---------------------------------------------------------------------------------------
// Binding the authorization code: `dpop_jkt` and proofs on pushed requests
// ---------------------------------------------------------------------------------------

mod code_binding {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use grantflow::clock::ManualClock;
    use grantflow::dpop::ProofChecker;
    use grantflow::store::MemoryPushedRequestStore;
    use grantflow::{HttpResponse, MemoryCodeStore, MemoryTokenStore, Server};

    use super::{Holder, RFC_PROOF, claims, issued, refused};
    use crate::support::authz::{
        CONF_SECRET, Harness, PKCE, VERIFIER, assert_location_error, basic, block_on, clients, enc,
        get, json, location_param, post_form, redirect_error,
    };
    use crate::support::harness::assert_token_error;

    /// The pushed authorization request endpoint of the test servers.
    const PAR_URL: &str = "https://as.example.com/par";
    /// The RFC 7638 §3.1 example key's thumbprint (V-JOSE-2), the `dpop_jkt` of RFC 9449
    /// §10.
    const RFC_7638_JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    /// The code flow harness with DPoP and pushed requests on.
    fn harness() -> Harness {
        Harness::builder(clients()).build(|b| {
            b.dpop(ProofChecker::new())
                .pushed_authorization(Arc::new(MemoryPushedRequestStore::new()))
        })
    }

    /// A code of public `app` for a request with `extra` parameters.
    fn code(h: &Harness, extra: &str) -> String {
        h.code_with(&format!(
            "response_type=code&client_id=app&scope=read&{PKCE}{extra}"
        ))
    }

    /// The token request redeeming `code` of `app`, with `proof` as its `DPoP` header.
    fn redeem(h: &Harness, code: &str, proof: Option<&str>) -> HttpResponse {
        let request = post_form(format!(
            "grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}"
        ));
        h.token(&match proof {
            Some(proof) => request.with_header("DPoP", proof),
            None => request,
        })
    }

    #[test]
    fn ex_13_dpop_jkt_binds_the_code_to_the_key() {
        let h = harness();
        let k1 = Holder::es256();
        let c = code(&h, &format!("&dpop_jkt={}", k1.jkt()));
        let response = redeem(&h, &c, Some(&k1.proof(h.now())));
        let access = issued(&response, "DPoP");
        let refresh = json(&response)["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // The access token and the public client's refresh token are bound to the key.
        assert_eq!(h.record(&access).unwrap().dpop_jkt, Some(k1.jkt()));
        assert_eq!(h.record(&refresh).unwrap().dpop_jkt, Some(k1.jkt()));
    }

    #[test]
    fn ex_13_a_bound_code_needs_a_proof_by_its_key() {
        let h = harness();
        let (k1, k2) = (Holder::es256(), Holder::es256());
        let bound = format!("&dpop_jkt={}", k1.jkt());
        let c = code(&h, &bound);
        assert_token_error(
            &redeem(&h, &c, Some(&k2.proof(h.now()))),
            400,
            "invalid_grant",
        );
        let c = code(&h, &bound);
        assert_token_error(&redeem(&h, &c, None), 400, "invalid_grant");
        let c = code(&h, &bound);
        issued(&redeem(&h, &c, Some(&k1.proof(h.now()))), "DPoP");
        // An unbound code takes any key, or none.
        let c = code(&h, "");
        issued(&redeem(&h, &c, Some(&k2.proof(h.now()))), "DPoP");
    }

    #[test]
    fn ex_13_a_malformed_dpop_jkt_is_invalid_request() {
        let h = harness();
        let good = Holder::es256().jkt();
        for bad in [
            "abc".to_owned(),
            format!("{good}A"),
            good.replacen(&good[..1], "+", 1),
            format!("{}=", &good[..42]),
            // 43 characters whose last one leaves bits over: not a canonical encoding.
            format!("{}B", &good[..42]),
        ] {
            let query = format!(
                "response_type=code&client_id=app&scope=read&{PKCE}&dpop_jkt={}",
                enc(&bad)
            );
            assert_location_error(&redirect_error(h.authorize(&query)), "invalid_request");
        }
        // With DPoP off, the parameter is ignored.
        let off = Harness::builder(clients()).build(|b| b);
        let query = format!("response_type=code&client_id=app&scope=read&{PKCE}&dpop_jkt=abc");
        assert!(off.authorize(&query).is_ok());
    }

    #[test]
    fn ex_13_v_jose_2_code_redeemed_with_the_rfc_9449_key_is_refused() {
        // A server at the RFC's address and time, so that its example proof is fresh.
        let server = Server::builder(
            "https://server.example.com",
            clients(),
            Arc::new(MemoryTokenStore::new()),
        )
        .clock(Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(1_562_262_616),
        )))
        .code_store(Arc::new(MemoryCodeStore::new()))
        .dpop(ProofChecker::new())
        .build()
        .unwrap();
        let pending = block_on(server.authorize(&get(&format!(
            "response_type=code&client_id=app&scope=read&{PKCE}&dpop_jkt={RFC_7638_JKT}"
        ))))
        .unwrap();
        let response = block_on(pending.approve(
            grantflow::Subject::new("alice"),
            grantflow::Scope::parse("read").unwrap(),
        ))
        .unwrap();
        let code = location_param(&response, "code").unwrap();
        let request = post_form(format!(
            "grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}"
        ))
        .with_header("DPoP", RFC_PROOF);
        assert_token_error(
            &block_on(server.token(&request)).unwrap(),
            400,
            "invalid_grant",
        );
    }

    /// `POST /par` as `conf` with `body` and `proof`.
    fn push(h: &Harness, body: &str, proof: Option<&str>) -> HttpResponse {
        let request = post_form(body).with_header("authorization", basic("conf", CONF_SECRET));
        let request = match proof {
            Some(proof) => request.with_header("DPoP", proof),
            None => request,
        };
        block_on(h.server.pushed_authorization(&request)).unwrap()
    }

    fn conf_request() -> String {
        format!(
            "response_type=code&redirect_uri={}&scope=read&{PKCE}",
            enc("https://conf.example.com/cb?tenant=a")
        )
    }

    /// The code of a pushed request: load it by its `request_uri`, approve it.
    fn code_of_pushed(h: &Harness, pushed: &HttpResponse) -> String {
        assert_eq!(pushed.status.as_u16(), 201, "{:?}", json(pushed));
        let uri = json(pushed)["request_uri"].as_str().unwrap().to_owned();
        let pending = h
            .authorize(&format!("client_id=conf&request_uri={}", enc(&uri)))
            .unwrap();
        let response = h.approve(pending, "alice", "read");
        location_param(&response, "code").unwrap()
    }

    /// `conf` redeems `code` with `proof`.
    fn redeem_conf(h: &Harness, code: &str, proof: &str) -> HttpResponse {
        h.token(
            &post_form(format!(
                "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
                enc("https://conf.example.com/cb?tenant=a")
            ))
            .with_header("authorization", basic("conf", CONF_SECRET))
            .with_header("DPoP", proof),
        )
    }

    #[test]
    fn ex_13_a_proof_on_the_pushed_request_binds_the_code() {
        let h = harness();
        let (k1, k2) = (Holder::es256(), Holder::es256());
        let par_proof = |k: &Holder| k.sign(&claims("POST", PAR_URL, h.now()));
        let c = code_of_pushed(&h, &push(&h, &conf_request(), Some(&par_proof(&k1))));
        assert_token_error(
            &redeem_conf(&h, &c, &k2.proof(h.now())),
            400,
            "invalid_grant",
        );
        let c = code_of_pushed(&h, &push(&h, &conf_request(), Some(&par_proof(&k1))));
        issued(&redeem_conf(&h, &c, &k1.proof(h.now())), "DPoP");
        // `dpop_jkt` in a pushed request binds the same way.
        let body = format!("{}&dpop_jkt={}", conf_request(), k2.jkt());
        let c = code_of_pushed(&h, &push(&h, &body, None));
        assert_token_error(
            &redeem_conf(&h, &c, &k1.proof(h.now())),
            400,
            "invalid_grant",
        );
    }

    #[test]
    fn ex_13_a_pushed_request_whose_dpop_jkt_and_proof_disagree_is_refused() {
        let h = harness();
        let (k1, k2) = (Holder::es256(), Holder::es256());
        let proof = k1.sign(&claims("POST", PAR_URL, h.now()));
        let body = format!("{}&dpop_jkt={}", conf_request(), k2.jkt());
        let response = push(&h, &body, Some(&proof));
        assert_token_error(&response, 400, "invalid_request");
        // Agreeing: accepted.
        let proof = k1.sign(&claims("POST", PAR_URL, h.now()));
        let body = format!("{}&dpop_jkt={}", conf_request(), k1.jkt());
        assert_eq!(push(&h, &body, Some(&proof)).status.as_u16(), 201);
        // A proof made for the token endpoint is not one for the pushed request.
        refused(&push(&h, &conf_request(), Some(&k1.proof(h.now()))));
    }
}

// ---------------------------------------------------------------------------------------
// Server nonces
// ---------------------------------------------------------------------------------------

mod nonces {
    use std::time::Duration;

    use grantflow::dpop::{DpopNonces, ProofChecker};
    use grantflow::random::SystemRandom;
    use serde_json::{Value, json};

    use super::{BACKEND, Holder, TOKEN_URL, cc, claims, harness_with, issued};
    use crate::support::resource::*;

    const SECRET: [u8; 32] = [0x5a; 32];

    fn harness() -> Harness {
        harness_with(|b| b.dpop_nonces(DpopNonces::new(&SECRET, ISSUER).unwrap()))
    }

    /// A token request whose proof carries `nonce`.
    fn with_nonce(h: &Harness, holder: &Holder, nonce: Option<&str>) -> grantflow::HttpResponse {
        let mut c: Value = claims("POST", TOKEN_URL, h.now());
        if let Some(nonce) = nonce {
            c["nonce"] = json!(nonce);
        }
        h.token(&cc(BACKEND, Some(&holder.sign(&c))))
    }

    /// A `use_dpop_nonce` answer with exactly one `DPoP-Nonce`; the nonce.
    #[track_caller]
    fn use_nonce(response: &grantflow::HttpResponse) -> String {
        assert_token_error(response, 400, "use_dpop_nonce");
        let nonces = headers(response, "dpop-nonce");
        assert_eq!(nonces.len(), 1, "{response:?}");
        nonces[0].to_owned()
    }

    #[test]
    fn ex_09_a_proof_without_nonce_gets_use_dpop_nonce_and_one_nonce() {
        let h = harness();
        let holder = Holder::es256();
        let nonce = use_nonce(&with_nonce(&h, &holder, None));
        // 1*NQCHAR.
        assert!(
            nonce
                .bytes()
                .all(|c| c == 0x21 || (0x23..=0x5b).contains(&c) || (0x5d..=0x7e).contains(&c))
        );
        let response = with_nonce(&h, &holder, Some(&nonce));
        issued(&response, "DPoP");
        // The next nonce comes with the success, which is not cacheable.
        assert_eq!(headers(&response, "dpop-nonce").len(), 1);
        assert_eq!(response.header("cache-control"), Some("no-store"));
        // A request without a proof gets a bearer token and no nonce.
        let bearer = h.token(&cc(BACKEND, None));
        issued(&bearer, "Bearer");
        assert!(bearer.header("dpop-nonce").is_none());
    }

    #[test]
    fn ex_09_nonces_rotate_within_a_window() {
        let h = harness();
        let holder = Holder::es256();
        let n1 = use_nonce(&with_nonce(&h, &holder, None));
        // The next rotation: the earlier nonce still works.
        h.advance(Duration::from_secs(61));
        issued(&with_nonce(&h, &holder, Some(&n1)), "DPoP");
        // Past the window: refused, with a fresh nonce that works.
        h.advance(Duration::from_secs(120));
        let n2 = use_nonce(&with_nonce(&h, &holder, Some(&n1)));
        assert_ne!(n1, n2);
        issued(&with_nonce(&h, &holder, Some(&n2)), "DPoP");
        // Made-up nonces are refused the same way.
        use_nonce(&with_nonce(&h, &holder, Some("made-up")));
    }

    #[test]
    fn ex_10_a_nonce_of_another_server_is_refused() {
        let h = harness();
        let holder = Holder::es256();
        let rs = DpopNonces::new(&SECRET, "https://rs.example.com").unwrap();
        let theirs = rs.issue(&SystemRandom::default(), h.now());
        use_nonce(&with_nonce(&h, &holder, Some(&theirs)));
        // Another instance of this server (same identifier and secret) accepts ours.
        let ours = DpopNonces::new(&SECRET, ISSUER)
            .unwrap()
            .issue(&SystemRandom::default(), h.now());
        issued(&with_nonce(&h, &holder, Some(&ours)), "DPoP");
    }

    #[test]
    fn ex_09_nonces_need_dpop() {
        let error = grantflow::Server::builder(
            ISSUER,
            registry(),
            std::sync::Arc::new(grantflow::MemoryTokenStore::new()),
        )
        .dpop_nonces(DpopNonces::new(&SECRET, ISSUER).unwrap())
        .build()
        .unwrap_err();
        assert!(error.to_string().contains("dpop_nonces"), "{error}");
        // With DPoP on, the same builds.
        let _ = harness_with(|b| {
            b.dpop(ProofChecker::new())
                .dpop_nonces(DpopNonces::new(&SECRET, ISSUER).unwrap())
        });
    }
}

/// EX-11: the device grant binds too, and the public `tv`'s refresh token with it.
#[test]
fn ex_11_the_device_grant_binds_the_tokens() {
    use crate::support::device::{Harness as Devices, poll_body};

    let h = Devices::with(|b| b.dpop(ProofChecker::new()));
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    let holder = Holder::es256();
    let response = h.token(
        &post_form(poll_body(&device_code, "tv")).with_header("DPoP", holder.proof(h.now())),
    );
    let access = issued(&response, "DPoP");
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(h.record(&access).unwrap().dpop_jkt, Some(holder.jkt()));
    assert_eq!(h.record(&refresh).unwrap().dpop_jkt, Some(holder.jkt()));
}
