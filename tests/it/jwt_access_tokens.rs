//! JWT access tokens from the server (RFC 9068, feature `jwt`): what the token endpoint
//! issues (checked with an independent JWT library, `jsonwebtoken`), the JWK Set endpoint
//! and `jwks_uri`, introspection and revocation of JWTs, the configuration checks, the
//! bearer guard verifying offline, and key rotation across two servers sharing one key set.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::guard::{BearerGuard, GuardRejection, TokenInfo};
use grantflow::issuer::AccessTokenFormat;
use grantflow::jose::{
    AccessTokenVerifier, Algorithm, JwkSet, JwksDocument, JwksSource, JwtAccessTokens, KeySet,
    KeySetStore, MemoryKeySetStore, Signer as _, SigningKey, Validation,
};
use grantflow::random::SeededRandom;
use grantflow::{
    AuthMethod, Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse,
    MemoryClientRegistry, MemoryTokenStore, Method, Scope, Server, ServerBuilder, Status,
    StorageError,
};
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;

use crate::support::resource::*;

/// The default audience of the test servers' JWT access tokens.
pub(crate) const DEFAULT_AUD: &str = "https://default.example.com";
/// A confidential client registered for opaque access tokens.
const OPAQUE: (&str, &str) = ("opaque-backend", "opaque-secret-5Tq");
/// A confidential client registered for JWT access tokens.
const JWT: (&str, &str) = ("jwt-backend", "jwt-secret-8Wp");

/// A key set at [`ISSUER`] over `store`: tokens of at most an hour, a JWK Set cacheable for
/// 5 minutes, the schedule read again every minute.
fn key_set(store: Arc<dyn KeySetStore>) -> KeySet {
    KeySet::builder(ISSUER, store)
        .build()
        .expect("a valid key set")
}

/// A key set over a fresh store whose first ES256 key signs from [`t0`].
pub(crate) fn bootstrapped() -> KeySet {
    let keys = key_set(Arc::new(MemoryKeySetStore::new()));
    block_on(keys.bootstrap(es256(), t0())).expect("bootstrap");
    keys
}

fn es256() -> Arc<SigningKey> {
    Arc::new(SigningKey::generate(Algorithm::Es256).expect("a key"))
}

/// The resource harness, plus [`OPAQUE`] and [`JWT`], issuing JWT access tokens signed by
/// `keys` with `settings`.
pub(crate) fn harness_with(keys: KeySet, settings: JwtAccessTokens) -> Harness {
    let clients = registry();
    for ((id, secret), format) in [
        (OPAQUE, AccessTokenFormat::Opaque),
        (JWT, AccessTokenFormat::Jwt),
    ] {
        clients
            .insert(
                Client::builder(id, ClientType::Confidential)
                    .secret(&ClientSecret::from_presented(secret.to_owned()))
                    .auth_method(AuthMethod::ClientSecretBasic)
                    .grant_type(GrantType::CLIENT_CREDENTIALS)
                    .allowed_scope("read write")
                    .access_token_format(format)
                    .build()
                    .expect("a valid client"),
            )
            .expect("a new client");
    }
    Harness::builder(clients).build(|builder| {
        builder
            .access_token_ttl(TTL)
            .grant_handler(Arc::new(UserGrant))
            .signing_keys(keys)
            .jwt_access_tokens(settings)
    })
}

/// JWT access tokens for every client not registered otherwise.
fn jwt_harness() -> Harness {
    harness_with(bootstrapped(), JwtAccessTokens::new(DEFAULT_AUD))
}

/// The decoded JSON of a JWT's header and claims.
fn decode(jwt: &str) -> (Value, Value) {
    let part = |text: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).expect("base64url")).expect("JSON")
    };
    let mut parts = jwt.split('.');
    let header = part(parts.next().expect("a header"));
    let claims = part(parts.next().expect("claims"));
    (header, claims)
}

fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// `GET /jwks` (or another method) on `server`.
fn jwks_response(server: &Server, method: Method) -> HttpResponse {
    block_on(server.jwks(&HttpRequest::new(method))).expect("memory stores never fail")
}

/// The published keys, as the judge reads them.
fn judge_keys(server: &Server) -> Vec<Jwk> {
    let body: Value =
        serde_json::from_slice(&jwks_response(server, Method::Get).body).expect("a JSON JWK Set");
    serde_json::from_value(body["keys"].clone()).expect("JWKs the judge reads")
}

fn check(guard: &BearerGuard, token: &str, scope: &str) -> Result<TokenInfo, HttpResponse> {
    let scope = Scope::parse(scope).expect("a scope");
    match block_on(guard.check(&bearer(token), &scope)) {
        Ok(info) => Ok(info),
        Err(GuardRejection::Refused(response)) => Err(response),
        Err(other) => panic!("no storage fault expected: {other:?}"),
    }
}

/// `guard` refuses `token` for `scope` with `status` and the challenge's `error`.
#[track_caller]
fn refused(guard: &BearerGuard, token: &str, scope: &str, status: u16, error: &str) {
    assert_challenge(&check(guard, token, scope).unwrap_err(), status, error);
}

#[track_caller]
fn assert_challenge(response: &HttpResponse, status: u16, error: &str) {
    assert_eq!(response.status.as_u16(), status);
    let challenge = response.header("www-authenticate").expect("a challenge");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
}

/// An offline guard for `audience` in the server's process.
fn offline_guard(h: &Harness, audience: &str) -> BearerGuard {
    block_on(h.server.jwt_bearer_guard(audience)).expect("the server has signing keys")
}

// ---------------------------------------------------------------------------------------
// What the token endpoint issues
// ---------------------------------------------------------------------------------------

/// EX-07: a token from the token endpoint has `typ: at+jwt` and the seven required claims
/// with the right values, and verifies with the judge and the published key; `scope` is
/// the granted scope; the lifetime is the server's access token lifetime.
#[test]
fn ex_07_issued_access_tokens_have_the_rfc_9068_shape() {
    let h = jwt_harness();
    let (token, _) = h.user_tokens(BACKEND, "scope=read+write");
    assert!(is_jwt(&token));
    let (header, claims) = decode(&token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let judged = judge(&h.server, &token, DEFAULT_AUD);
    assert_eq!(judged, claims);
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        assert!(claims.get(claim).is_some(), "{claim} in {claims}");
    }
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], DEFAULT_AUD);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], BACKEND.0);
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["iat"], secs(t0()));
    assert_eq!(claims["exp"], secs(t0() + TTL));
    // 128 random bits at least (JW-16): 22 base64url characters or more.
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));
    // Refresh tokens stay opaque.
    let (_, refresh) = h.user_tokens(BACKEND, "");
    assert!(!is_jwt(&refresh));
}

/// EX-07: without a resource the token's `aud` is the server's default audience; a grant
/// restricted to a resource server puts that one in `aud` instead, alone.
#[test]
fn ex_07_aud_is_the_default_resource_or_the_grants_audience() {
    let h = jwt_harness();
    let (plain, _) = h.user_tokens(BACKEND, "");
    assert_eq!(judge(&h.server, &plain, DEFAULT_AUD)["aud"], DEFAULT_AUD);
    let (restricted, _) = h.user_tokens(BACKEND, &format!("aud={}", enc(API)));
    assert_eq!(judge(&h.server, &restricted, API)["aud"], API);
    let guard = offline_guard(&h, DEFAULT_AUD);
    refused(&guard, &restricted, "read", 401, "invalid_token");
}

/// JW-13 at the server: the header names `alg`, a `kid` that the JWK Set publishes, and
/// `typ`, and nothing that could supply a key.
#[test]
fn jw_13_issued_tokens_name_a_published_key_and_nothing_else() {
    let h = jwt_harness();
    let token = h.cc_token(BACKEND, "read");
    let (header, _) = decode(&token);
    let kids: Vec<Option<String>> = judge_keys(&h.server)
        .into_iter()
        .map(|k| k.common.key_id)
        .collect();
    assert!(kids.contains(&header["kid"].as_str().map(str::to_owned)));
    let mut members: Vec<&str> = header
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "kid", "typ"]);
}

/// JW-16 at the server: 10,000 issued access tokens have 10,000 distinct `jti`s.
#[test]
fn jw_16_every_issued_token_has_its_own_jti() {
    let h = jwt_harness();
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let token = h.cc_token(BACKEND, "read");
        let jti = decode(&token).1["jti"].as_str().expect("jti").to_owned();
        assert!(seen.insert(jti));
    }
}

/// The `jti` comes from the server's injected `Random`: two servers seeded alike issue the
/// same `jti`s (ECDSA signatures differ, the claims do not), differently seeded ones others.
#[test]
fn jw_16_the_jti_comes_from_the_servers_random() {
    let jtis = |seed: u64| -> Vec<String> {
        let keys = bootstrapped();
        let h = Harness::builder(registry()).build(|builder| {
            builder
                .random(Arc::new(SeededRandom::new(seed)))
                .signing_keys(keys)
                .jwt_access_tokens(JwtAccessTokens::new(DEFAULT_AUD))
        });
        (0..3)
            .map(|_| {
                let token = h.cc_token(BACKEND, "read");
                decode(&token).1["jti"].as_str().expect("jti").to_owned()
            })
            .collect()
    };
    assert_eq!(jtis(7), jtis(7));
    assert_ne!(jtis(7), jtis(8));
}

/// CC-04: a client credentials JWT names the client in `sub` (RFC 9068 §2.2), and the
/// guard reports it without a user subject; a user's token reports the user. A user whose
/// subject is the client's id gets no JWT, which could not be told from the client's own,
/// and nothing is stored.
#[test]
fn cc_04_client_tokens_and_user_tokens_stay_apart() {
    let h = jwt_harness();
    let client_token = h.cc_token(BACKEND, "read");
    assert_eq!(
        judge(&h.server, &client_token, DEFAULT_AUD)["sub"],
        BACKEND.0
    );
    let (user_token, _) = h.user_tokens(BACKEND, "");
    for guard in [h.server.bearer_guard(), offline_guard(&h, DEFAULT_AUD)] {
        let client = check(&guard, &client_token, "read").expect("valid");
        assert_eq!(client.subject, None);
        assert_eq!(client.client_id.as_str(), BACKEND.0);
        let user = check(&guard, &user_token, "read").expect("valid");
        assert_eq!(
            user.subject.map(|s| s.as_str().to_owned()),
            Some("alice".into())
        );
    }
    let introspected = h.introspect_as_rs(&client_token);
    assert_eq!(introspected["active"], true);
    assert!(introspected.get("sub").is_none(), "{introspected}");
    // The grant, not the client, decided on that subject: the issuer refuses it as a
    // fault of the server's (500 for the client), not as the client's mistake.
    let stored = h.stored();
    let request =
        basic(BACKEND).with_body(format!("grant_type={}&sub={}", enc(USER_GRANT), BACKEND.0));
    let refused = block_on(h.server.token(&request));
    assert!(
        matches!(refused, Err(grantflow::Error::Issue(_))),
        "{refused:?}"
    );
    assert_eq!(h.stored(), stored);
}

/// Introspection and revocation work for JWT access tokens as for opaque ones: the record
/// is stored under the token's digest. Revoked, the token is inactive at introspection and
/// refused by the store-backed guard at once, while an offline guard, which asks nobody,
/// accepts it until it expires.
#[test]
fn jwt_access_tokens_introspect_and_revoke() {
    let h = jwt_harness();
    let token = h.cc_token(BACKEND, "read");
    assert!(h.is_live(&token));
    let active = h.introspect_as_rs(&token);
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], BACKEND.0);
    assert_eq!(active["scope"], "read");
    let offline = offline_guard(&h, DEFAULT_AUD);
    let store = h.server.bearer_guard();
    check(&offline, &token, "read").expect("valid offline");
    check(&store, &token, "read").expect("valid in the store");

    let response = h.revoke(&basic(BACKEND).with_body(format!("token={}", enc(&token))));
    assert_eq!(response.status, Status::OK);
    assert!(!h.is_active(&token));
    refused(&store, &token, "read", 401, "invalid_token");
    check(&offline, &token, "read").expect("offline: still valid until it expires");
    // Past `exp` and the verifier's 30 s leeway for clock skew.
    h.advance(TTL + Duration::from_secs(31));
    refused(&offline, &token, "read", 401, "invalid_token");
}

/// The format per client: the default for unregistered clients, the registration's
/// otherwise, in both directions.
#[test]
fn the_access_token_format_is_chosen_per_client() {
    let h = jwt_harness();
    assert!(is_jwt(&h.cc_token(BACKEND, "read")));
    assert!(is_jwt(&h.cc_token(JWT, "read")));
    assert!(!is_jwt(&h.cc_token(OPAQUE, "read")));

    let h = harness_with(
        bootstrapped(),
        JwtAccessTokens::new(DEFAULT_AUD).default_format(AccessTokenFormat::Opaque),
    );
    assert!(!is_jwt(&h.cc_token(BACKEND, "read")));
    assert!(is_jwt(&h.cc_token(JWT, "read")));
    assert!(!is_jwt(&h.cc_token(OPAQUE, "read")));

    // Without JWT access tokens on the server, a client registered for them gets opaque
    // ones: the format every server can issue.
    let plain = Harness::builder({
        let clients = registry();
        clients
            .insert(
                Client::builder(JWT.0, ClientType::Confidential)
                    .secret(&ClientSecret::from_presented(JWT.1.to_owned()))
                    .grant_type(GrantType::CLIENT_CREDENTIALS)
                    .allowed_scope("read")
                    .access_token_format(AccessTokenFormat::Jwt)
                    .build()
                    .expect("a valid client"),
            )
            .expect("a new client");
        clients
    })
    .build(|b| b);
    assert!(!is_jwt(&plain.cc_token(JWT, "read")));
}

// ---------------------------------------------------------------------------------------
// The JWK Set endpoint and the metadata
// ---------------------------------------------------------------------------------------

/// JW-17 at the server: `GET` the JWK Set → 200 JSON with `Cache-Control: max-age`, every
/// key with `kty kid use alg` and no private member, distinct `kid`s; `HEAD` the same
/// headers without a body; another method 405; a server without keys 404. The metadata
/// advertises `jwks_uri` exactly when there are keys.
#[test]
fn jw_17_the_jwks_endpoint_publishes_public_keys_with_max_age() {
    let h = jwt_harness();
    let get = jwks_response(&h.server, Method::Get);
    assert_eq!(get.status, Status::OK);
    assert_eq!(get.header("content-type"), Some("application/json"));
    assert_eq!(get.header("cache-control"), Some("public, max-age=300"));
    let body: Value = serde_json::from_slice(&get.body).expect("JSON");
    let keys = body["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    let mut kids = HashSet::new();
    for key in keys {
        for member in ["kty", "kid", "use", "alg"] {
            assert!(key.get(member).is_some(), "{member} in {key}");
        }
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
        assert!(kids.insert(key["kid"].as_str().expect("kid").to_owned()));
    }
    // HEAD as GET: the framework sends the headers (Content-Length included) only.
    let head = jwks_response(&h.server, Method::Head);
    assert_eq!(head.status, Status::OK);
    assert_eq!(head.body, get.body);
    assert_eq!(head.header("cache-control"), get.header("cache-control"));
    assert_eq!(
        get.header("access-control-allow-origin"),
        None,
        "no CORS by default"
    );
    let post = jwks_response(&h.server, Method::Post);
    assert_eq!(post.status.as_u16(), 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    let metadata: Value = serde_json::from_slice(&h.server.metadata().body).expect("metadata JSON");
    assert_eq!(metadata["jwks_uri"], format!("{ISSUER}/jwks"));

    // With CORS on, a public document like the metadata.
    let cors = Harness::builder(registry()).build(|b| b.cors(true).signing_keys(bootstrapped()));
    let get = jwks_response(&cors.server, Method::Get);
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    let preflight = jwks_response(&cors.server, Method::Options);
    assert_eq!(preflight.status.as_u16(), 204);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, HEAD")
    );

    let plain = Harness::new();
    let metadata: Value =
        serde_json::from_slice(&plain.server.metadata().body).expect("metadata JSON");
    assert!(metadata.get("jwks_uri").is_none());
    assert_eq!(
        jwks_response(&plain.server, Method::Get).status.as_u16(),
        404
    );
}

/// The configuration checks at `build()`.
#[test]
fn build_refuses_inconsistent_jwt_settings() {
    let make = || {
        Server::builder(
            ISSUER,
            Arc::new(MemoryClientRegistry::new()),
            Arc::new(MemoryTokenStore::new()),
        )
    };
    let fails = |builder: ServerBuilder, why: &str| {
        let error = builder.build().expect_err(why).to_string();
        assert!(!error.is_empty(), "{why}");
    };
    let other_issuer = KeySet::builder(
        "https://other.example.com",
        Arc::new(MemoryKeySetStore::new()),
    )
    .build()
    .expect("a key set");
    fails(
        make().signing_keys(other_issuer),
        "the keys' issuer differs",
    );
    fails(
        make().jwt_access_tokens(JwtAccessTokens::new(DEFAULT_AUD)),
        "JWT access tokens without keys",
    );
    fails(
        make()
            .access_token_ttl(Duration::from_secs(7200))
            .signing_keys(bootstrapped())
            .jwt_access_tokens(JwtAccessTokens::new(DEFAULT_AUD)),
        "a lifetime beyond the keys' maximum",
    );
    for audience in ["", "api", "https://api.example.com#x"] {
        fails(
            make()
                .signing_keys(bootstrapped())
                .jwt_access_tokens(JwtAccessTokens::new(audience)),
            "a default audience that is not an absolute URI",
        );
    }
    fails(
        make().jwks_uri("https://as.example.com/keys"),
        "a jwks_uri without keys",
    );
    fails(
        make()
            .signing_keys(bootstrapped())
            .jwks_uri("http://as.example.com/keys"),
        "a jwks_uri that is not https",
    );
    let server = make()
        .signing_keys(bootstrapped())
        .jwks_uri("https://keys.example.com/as.json")
        .build()
        .expect("a valid configuration");
    let metadata: Value = serde_json::from_slice(&server.metadata().body).expect("JSON");
    assert_eq!(metadata["jwks_uri"], "https://keys.example.com/as.json");
    assert!(block_on(make().build().expect("plain").jwt_bearer_guard(DEFAULT_AUD)).is_err());
}

// ---------------------------------------------------------------------------------------
// The guard on the offline verifier
// ---------------------------------------------------------------------------------------

/// A hand-made JWT: exactly these header and claims, signed by `key`.
fn forge(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = block_on(key.sign(input.as_bytes())).expect("signed");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// EX-08: the offline guard lets a valid token through with what it says, answers any
/// failure of the JWT with 401 `invalid_token` (another `typ` such as an ID token's, a
/// forged signature, another issuer, another audience, an expired token, `alg: none`, an
/// opaque token), and a missing scope with 403 `insufficient_scope`.
#[test]
fn ex_08_the_offline_guard_refuses_every_jwt_failure_with_invalid_token() {
    let signer = es256();
    let keys = key_set(Arc::new(MemoryKeySetStore::new()));
    block_on(keys.bootstrap(signer.clone(), t0())).expect("bootstrap");
    let h = harness_with(keys, JwtAccessTokens::new(DEFAULT_AUD));
    let guard = offline_guard(&h, DEFAULT_AUD);
    let token = h.cc_token(BACKEND, "read");
    let info = check(&guard, &token, "read").expect("valid");
    assert_eq!(info.client_id.as_str(), BACKEND.0);
    assert_eq!(info.scope.as_str(), "read");
    assert_eq!(info.expires_at, t0() + TTL);
    assert_eq!(info.grant_id, None);
    assert_eq!(info.audience.iter().collect::<Vec<_>>(), [DEFAULT_AUD]);
    assert!(info.jwt.is_some());
    refused(&guard, &token, "write", 403, "insufficient_scope");

    let (header, claims) = decode(&token);
    let with = |mut value: Value, member: &str, new: Value| {
        value[member] = new;
        value
    };
    let stranger = es256();
    let forged = [
        forge(&with(header.clone(), "typ", "JWT".into()), &claims, &signer),
        // The published key's `kid`, another key's signature.
        forge(&header, &claims, &stranger),
        forge(
            &header,
            &with(claims.clone(), "iss", "https://evil.example.com".into()),
            &signer,
        ),
        forge(&header, &with(claims.clone(), "aud", API.into()), &signer),
        forge(
            &header,
            &with(claims.clone(), "exp", (secs(t0()) - 60).into()),
            &signer,
        ),
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
            token.split('.').nth(1).expect("claims")
        ),
        h.cc_token(OPAQUE, "read"),
    ];
    for bad in &forged {
        let response = check(&guard, bad, "read").unwrap_err();
        assert_challenge(&response, 401, "invalid_token");
        assert!(
            response
                .header("www-authenticate")
                .is_some_and(|c| !c.contains(bad.as_str())),
            "the challenge does not echo the token"
        );
    }
}

/// A [`JwksSource`] over a key set that counts its fetches.
#[derive(Debug)]
struct Counting {
    keys: KeySet,
    fetches: AtomicUsize,
}

#[async_trait]
impl JwksSource for Counting {
    async fn fetch(&self, now: SystemTime) -> Result<JwksDocument, StorageError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        JwksSource::fetch(&self.keys, now).await
    }
}

/// JW-20 at the guard: the keys are fetched at the first check; a token naming an unknown
/// `kid` makes the guard fetch again, at most once a minute, and is refused; a key the
/// server rotated in is known once the guard's copy is older than the JWK Set's `max-age`,
/// before the key signs anything.
#[test]
fn jw_20_the_guard_refetches_for_an_unknown_kid_at_most_once_a_minute() {
    let keys = bootstrapped();
    let h = harness_with(keys.clone(), JwtAccessTokens::new(DEFAULT_AUD));
    let source = Arc::new(Counting {
        keys: keys.clone(),
        fetches: AtomicUsize::new(0),
    });
    let verifier = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, DEFAULT_AUD),
        JwkSet::default(),
    )
    .expect("a verifier");
    let guard = BearerGuard::jwt(verifier, Some(source.clone() as Arc<dyn JwksSource>))
        .clock(Arc::new(h.clock.clone()));
    let fetches = || source.fetches.load(Ordering::SeqCst);

    let token = h.cc_token(BACKEND, "read");
    check(&guard, &token, "read").expect("valid");
    assert_eq!(fetches(), 1, "the first check fetches");
    check(&guard, &token, "read").expect("valid");
    assert_eq!(fetches(), 1, "a repeated token fetches nothing");

    let (header, claims) = decode(&token);
    let stranger = es256();
    let mut unknown_header = header.clone();
    unknown_header["kid"] = stranger.kid().into();
    let unknown = forge(&unknown_header, &claims, &stranger);
    // The first fetch counts: the next for an unknown kid may come a minute later.
    refused(&guard, &unknown, "read", 401, "invalid_token");
    assert_eq!(fetches(), 1);
    h.advance(Duration::from_secs(61));
    refused(&guard, &unknown, "read", 401, "invalid_token");
    refused(&guard, &unknown, "read", 401, "invalid_token");
    assert_eq!(
        fetches(),
        2,
        "an unknown kid twice within a minute: one fetch"
    );
    h.advance(Duration::from_secs(61));
    refused(&guard, &unknown, "read", 401, "invalid_token");
    assert_eq!(fetches(), 3, "a minute later, one more");

    // A rotation: the new key is published now and signs after the JWK Set's max-age
    // plus the key set's refresh interval; the guard has it by then.
    let next = es256();
    block_on(keys.rotate(next.clone(), h.now())).expect("rotate");
    h.advance(keys.publish_lead() + Duration::from_secs(1));
    let rotated = h.cc_token(BACKEND, "read");
    assert_eq!(decode(&rotated).0["kid"], next.kid());
    let before = fetches();
    check(&guard, &rotated, "read").expect("the rotated key's token verifies");
    check(&guard, &token, "read").expect("the retired key's token verifies until it expires");
    assert!(fetches() <= before + 1);
}

/// A server of a deployment: the resource harness issuing JWT access tokens, over the
/// deployment's key-set `store` and token store `tokens`, with its own key set instance
/// holding the private keys `signers`.
fn instance(
    store: &Arc<MemoryKeySetStore>,
    tokens: &Arc<MemoryTokenStore>,
    signers: &[Arc<SigningKey>],
) -> (Harness, KeySet) {
    let keys = key_set(store.clone());
    for signer in signers {
        keys.add_signer(signer.clone());
    }
    let h = Harness::builder(registry())
        .token_store(tokens.clone(), tokens.clone())
        .build(|builder| {
            builder
                .access_token_ttl(TTL)
                .grant_handler(Arc::new(UserGrant))
                .signing_keys(keys.clone())
                .jwt_access_tokens(JwtAccessTokens::new(DEFAULT_AUD))
        });
    (h, keys)
}

/// JW-19 at the server, two instances sharing one key set and one token store: a token
/// signed before a rotation verifies at both instances' offline guards after it, until it
/// expires; after the rotation both sign with the new key; once the old key is removed,
/// its tokens fail at both (when their copy of the keys next ages) and at the judge.
#[test]
fn jw_19_two_servers_rotate_keys_while_issuing() {
    let store = Arc::new(MemoryKeySetStore::new());
    let tokens = Arc::new(MemoryTokenStore::new());
    let (k1, k2) = (es256(), es256());
    let (a, keys_a) = instance(&store, &tokens, &[k1.clone(), k2.clone()]);
    let (b, keys_b) = instance(&store, &tokens, &[k1.clone(), k2.clone()]);
    block_on(keys_a.bootstrap(k1.clone(), t0())).expect("bootstrap");
    let advance = |by: Duration| {
        a.advance(by);
        b.advance(by);
    };
    let guards = [
        offline_guard(&a, DEFAULT_AUD),
        offline_guard(&b, DEFAULT_AUD),
    ];
    let before = a.cc_token(BACKEND, "read");
    assert_eq!(decode(&before).0["kid"], k1.kid());
    assert_eq!(decode(&b.cc_token(BACKEND, "read")).0["kid"], k1.kid());

    // B rotates; both keep signing with K1 until K2 activates.
    block_on(keys_b.rotate(k2.clone(), b.now())).expect("rotate");
    advance(Duration::from_secs(60));
    assert_eq!(decode(&a.cc_token(BACKEND, "read")).0["kid"], k1.kid());
    advance(keys_b.publish_lead());
    let after = [a.cc_token(BACKEND, "read"), b.cc_token(BACKEND, "read")];
    for token in &after {
        assert_eq!(decode(token).0["kid"], k2.kid());
    }
    for guard in &guards {
        check(guard, &before, "read").expect("signed before the rotation, not expired");
        for token in &after {
            check(guard, token, "read").expect("signed after the rotation");
        }
    }
    assert!(b.is_active(&before), "introspection at the other instance");

    // K1 removed: its tokens fail once each guard's copy of the keys ages.
    block_on(keys_a.remove(k1.kid(), a.now())).expect("remove");
    advance(keys_a.jwks_max_age() + Duration::from_secs(1));
    assert!(a.now() < t0() + TTL, "the token has not expired");
    for guard in &guards {
        refused(guard, &before, "read", 401, "invalid_token");
        check(guard, &after[1], "read").expect("K2's tokens still verify");
    }
    assert!(
        judge_keys(&b.server)
            .iter()
            .all(|k| k.common.key_id.as_deref() != Some(k1.kid())),
        "K1 is no longer published"
    );
}

/// JW-19 across instances over PostgreSQL (features `postgres` and `testing`, and
/// `DATABASE_URL`): two servers, each over a pool of its own, share the key set and the
/// token store in one database.
#[cfg(all(feature = "postgres", feature = "testing"))]
mod pg {
    use std::sync::Arc;
    use std::time::Duration;

    use grantflow::clock::ManualClock;
    use grantflow::jose::{JwtAccessTokens, KeySet, SigningKey};
    use grantflow::postgres::PgStores;
    use grantflow::{HttpRequest, Server};

    use grantflow::Scope;
    use grantflow::clock::Clock as _;
    use grantflow::guard::{BearerGuard, GuardRejection};

    use super::{DEFAULT_AUD, assert_challenge, bearer, decode, es256};
    use crate::postgres::pg::{database_url, pool};
    use crate::support::resource::{BACKEND, ISSUER, TTL, basic, registry, t0};

    /// One instance: a server over its own pool, signing with `signers` when the shared
    /// schedule of the key set `name` says so.
    async fn instance(
        url: &str,
        name: &str,
        clock: &ManualClock,
        signers: &[Arc<SigningKey>],
    ) -> (Server, KeySet) {
        let stores = PgStores::new(pool(url).await);
        let keys = KeySet::builder(ISSUER, stores.key_sets())
            .name(name)
            .build()
            .expect("a key set");
        for signer in signers {
            keys.add_signer(signer.clone());
        }
        let server = Server::builder(ISSUER, registry(), stores.tokens())
            .clock(Arc::new(clock.clone()))
            .access_token_ttl(TTL)
            .signing_keys(keys.clone())
            .jwt_access_tokens(JwtAccessTokens::new(DEFAULT_AUD))
            .build()
            .expect("a valid server");
        (server, keys)
    }

    /// The guard's answer: `Ok` to let the request through, else the refusal.
    async fn check(guard: &BearerGuard, token: &str) -> Result<(), grantflow::HttpResponse> {
        let scope = Scope::parse("read").expect("a scope");
        match guard.check(&bearer(token), &scope).await {
            Ok(_) => Ok(()),
            Err(GuardRejection::Refused(response)) => Err(response),
            Err(other) => panic!("no storage fault expected: {other:?}"),
        }
    }

    async fn cc_token(server: &Server) -> String {
        let request: HttpRequest =
            basic(BACKEND).with_body("grant_type=client_credentials&scope=read");
        let response = server.token(&request).await.expect("no storage fault");
        assert_eq!(response.status.as_u16(), 200);
        let body: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    /// JW-19: A and B issue throughout a rotation B starts; A's token from before verifies
    /// at both offline guards after it, until K1 is removed; both sign with K2 once it is
    /// active.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jw_19_two_servers_over_one_database_rotate_while_issuing() {
        let Some(url) = database_url("jw_19_two_servers_over_one_database_rotate_while_issuing")
        else {
            return;
        };
        let name = format!("server-rotation-{}", es256().kid());
        let clock = ManualClock::new(t0());
        let (k1, k2) = (es256(), es256());
        let signers = [k1.clone(), k2.clone()];
        let (a, keys_a) = instance(&url, &name, &clock, &signers).await;
        let (b, keys_b) = instance(&url, &name, &clock, &signers).await;
        keys_a.bootstrap(k1.clone(), t0()).await.expect("bootstrap");
        keys_b.refresh(t0()).await.expect("B reads the schedule");
        let guards = [
            a.jwt_bearer_guard(DEFAULT_AUD).await.expect("A's guard"),
            b.jwt_bearer_guard(DEFAULT_AUD).await.expect("B's guard"),
        ];
        let before = cc_token(&a).await;
        assert_eq!(decode(&before).0["kid"], k1.kid());

        keys_b.rotate(k2.clone(), t0()).await.expect("rotate");
        clock.advance(keys_b.publish_lead() + Duration::from_secs(61));
        for server in [&a, &b] {
            let token = cc_token(server).await;
            assert_eq!(decode(&token).0["kid"], k2.kid());
            for guard in &guards {
                check(guard, &token).await.expect("K2's token");
                check(guard, &before)
                    .await
                    .expect("K1's token, not expired");
            }
        }

        keys_a.remove(k1.kid(), clock.now()).await.expect("remove");
        clock.advance(keys_a.jwks_max_age() + Duration::from_secs(61));
        assert!(clock.now() < t0() + TTL);
        for guard in &guards {
            assert_challenge(
                &check(guard, &before).await.unwrap_err(),
                401,
                "invalid_token",
            );
        }
    }
}
