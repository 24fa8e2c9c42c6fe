//! The OpenID Provider (feature `oidc`) through the public API: the checklist's OI rules
//! and the MUSTs of OpenID Connect Core §2, §3.1.2, §3.1.3, §5.3 and §8 that the server
//! controls. ID tokens are checked as a relying party would (Core §3.1.3.7) with an
//! independent JWT library, `jsonwebtoken`, against the published JWK Set.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::authorize::{Authentication, AuthorizeError, PendingAuthorization};
use grantflow::clock::ManualClock;
use grantflow::grant::{Exchange, ExchangeDecision, ExchangePolicy, Issuance, TokenExchange};
use grantflow::jose::{
    Algorithm, AlgorithmSet, JwtAccessTokens, KeySet, MemoryKeySetStore, SigningKey,
};
use grantflow::oidc::{
    ClaimsQuery, ClaimsSource, InteractionNeeded, LogoutError, PairwiseSecret, PendingLogout,
};
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryTokenStore, Method, Server, Status, StorageError, Subject, SubjectType,
};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::authz::{assert_location_error, location_param, location_params};
use crate::support::harness::{bearer, block_on, challenge_of, enc, post_form, secs};
use crate::support::token::basic_request;

const ISSUER: &str = "https://op.example.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const SECRET: &str = "rp-secret-0123456789abcdef0123456789";

/// The host's user directory: alice has profile and email claims (one of them in the
/// wrong type), bob has a name only.
#[derive(Debug)]
struct Directory;

#[async_trait]
impl ClaimsSource for Directory {
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StorageError> {
        let claims = match query.subject.as_str() {
            "alice" => json!({
                "name": "Alice Liddell",
                "given_name": "Alice",
                "email": "alice@example.com",
                "email_verified": "true",
                "locale": "en-GB",
                "phone_number": "",
                "updated_at": "yesterday",
                "sub": "forged",
            }),
            "bob" => json!({"name": "Bob"}),
            _ => json!({}),
        };
        Ok(claims.as_object().cloned().unwrap_or_default())
    }
}

struct Op {
    server: Server,
    clock: ManualClock,
    keys: KeySet,
}

fn client(id: &str, redirect: &str) -> grantflow::ClientBuilder {
    Client::builder(id, ClientType::Confidential)
        .secret(&ClientSecret::from_presented(SECRET.to_owned()))
        .redirect_uri(redirect)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .grant_type(GrantType::REFRESH_TOKEN)
        .allowed_scope("openid profile email phone offline_access read")
        .issue_refresh_tokens(true)
        .grant_type(GrantType::new(TokenExchange::GRANT_TYPE))
}

fn op() -> Op {
    op_with(|b| b)
}

fn op_with(configure: impl FnOnce(grantflow::ServerBuilder) -> grantflow::ServerBuilder) -> Op {
    op_with_keys(|b, _| configure(b))
}

/// [`op_with`], with the server's key set handed to `configure`.
fn op_with_keys(
    configure: impl FnOnce(grantflow::ServerBuilder, &KeySet) -> grantflow::ServerBuilder,
) -> Op {
    let clients = Arc::new(MemoryClientRegistry::new());
    let register = |c: grantflow::ClientBuilder| clients.insert(c.build().unwrap()).unwrap();
    register(
        client("rp", "https://rp.example/cb").post_logout_redirect_uri("https://rp.example/bye"),
    );
    register(client("rp2", "https://rp2.example/cb"));
    register(client("es", "https://es.example/cb").id_token_signing_alg("ES256"));
    register(client("signed-ui", "https://su.example/cb").userinfo_signing_alg("RS256"));
    register(client("offline", "https://off.example/cb").refresh_needs_offline_access(true));
    register(client("in-token", "https://it.example/cb").scope_claims_in_id_token(true));
    register(client("exempt", "https://ex.example/cb").dangerous(|d| d.allow_missing_pkce()));
    for (id, redirect) in [
        ("pw-a", "https://a.example/cb"),
        ("pw-a2", "https://a.example/other"),
        ("pw-b", "https://b.example/cb"),
    ] {
        register(client(id, redirect).subject_type(SubjectType::Pairwise));
    }
    let now = SystemTime::now();
    let clock = ManualClock::new(now);
    let keys = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .max_token_lifetime(Duration::from_secs(3600))
        .build()
        .unwrap();
    for alg in [Algorithm::Rs256, Algorithm::Es256] {
        block_on(keys.bootstrap(Arc::new(SigningKey::generate(alg).unwrap()), now)).unwrap();
    }
    let builder = Server::builder(ISSUER, clients, Arc::new(MemoryTokenStore::new()))
        .clock(Arc::new(clock.clone()))
        .signing_keys(keys.clone())
        .openid_provider(Arc::new(Directory))
        .id_token_signing_algorithms(AlgorithmSet::only(Algorithm::Rs256).with(Algorithm::Es256))
        .pairwise_secret(PairwiseSecret::new(&[42; 32]).unwrap())
        .end_session_endpoint("https://op.example.com/logout");
    let server = configure(builder, &keys).build().unwrap();
    Op {
        server,
        clock,
        keys,
    }
}

impl Op {
    fn redirect_of(client: &str) -> &'static str {
        match client {
            "rp" => "https://rp.example/cb",
            "rp2" => "https://rp2.example/cb",
            "es" => "https://es.example/cb",
            "signed-ui" => "https://su.example/cb",
            "offline" => "https://off.example/cb",
            "in-token" => "https://it.example/cb",
            "exempt" => "https://ex.example/cb",
            "pw-a" => "https://a.example/cb",
            "pw-a2" => "https://a.example/other",
            _ => "https://b.example/cb",
        }
    }

    /// An authentication request of `client` with the PKCE challenge, `state=xyz`, and
    /// `extra` parameters.
    fn authorize(&self, client: &str, extra: &str) -> Result<PendingAuthorization, AuthorizeError> {
        self.authorize_query(&format!(
            "response_type=code&client_id={client}&redirect_uri={}&state=xyz\
             &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
            enc(Self::redirect_of(client))
        ))
    }

    /// An authentication request by GET with exactly `query`.
    fn authorize_query(&self, query: &str) -> Result<PendingAuthorization, AuthorizeError> {
        let request = HttpRequest::new(Method::Get).with_query(query);
        block_on(self.server.authorize(&request))
    }

    fn pending(&self, client: &str, extra: &str) -> PendingAuthorization {
        self.authorize(client, extra).unwrap()
    }

    /// The code of an approved request.
    fn code(&self, client: &str, extra: &str, authentication: Authentication) -> String {
        let response = approve(self.pending(client, extra), authentication);
        location_param(&response, "code")
            .unwrap_or_else(|| panic!("{:?}", location_params(&response)))
    }

    fn exchange(&self, client: &str, code: &str) -> HttpResponse {
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(Self::redirect_of(client))
        );
        block_on(self.server.token(&basic_request(client, SECRET, body))).unwrap()
    }

    fn tokens(
        &self,
        client: &str,
        extra: &str,
        authentication: Authentication,
    ) -> Map<String, Value> {
        let code = self.code(client, extra, authentication);
        ok_json(&self.exchange(client, &code))
    }

    fn refresh(&self, client: &str, refresh_token: &str) -> Map<String, Value> {
        let body = format!("grant_type=refresh_token&refresh_token={refresh_token}");
        ok_json(&block_on(self.server.token(&basic_request(client, SECRET, body))).unwrap())
    }

    /// Verifies an ID token as a relying party does (Core §3.1.3.7), with `jsonwebtoken`
    /// and the key published for its `kid`; returns its claims.
    fn verify(&self, id_token: &str, client: &str) -> Map<String, Value> {
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_slice(&block_on(self.keys.jwks(self.clock_now())).unwrap().body)
                .unwrap();
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        assert!(header.kid.is_some(), "an ID token names its key");
        assert!(header.jku.is_none() && header.x5u.is_none() && header.jwk.is_none());
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&[client]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
            .unwrap_or_else(|e| panic!("the relying party refuses the ID token: {e}"))
            .claims
    }

    /// The claims of the ID token in `tokens`, verified for `client`.
    fn id_claims(&self, tokens: &Map<String, Value>, client: &str) -> Map<String, Value> {
        self.verify(str_of(tokens, "id_token"), client)
    }

    /// Verifies a JWT access token as a resource server for `audience` does, with
    /// `jsonwebtoken` and the published key; returns its claims.
    fn access_claims(&self, token: &str, audience: &str) -> Map<String, Value> {
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_slice(&block_on(self.keys.jwks(self.clock_now())).unwrap().body)
                .unwrap();
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .unwrap_or_else(|e| panic!("a resource server refuses the access token: {e}"))
            .claims
    }

    /// UserInfo's JSON for the access token in `tokens`.
    fn userinfo_json(&self, tokens: &Map<String, Value>) -> Map<String, Value> {
        let response = self.userinfo(bearer(str_of(tokens, "access_token")));
        serde_json::from_slice(&response.body).unwrap()
    }

    fn clock_now(&self) -> SystemTime {
        grantflow::clock::Clock::now(&self.clock)
    }

    fn userinfo(&self, request: HttpRequest) -> HttpResponse {
        block_on(self.server.userinfo(&request)).unwrap()
    }
}

/// The JSON object of a 200 response.
#[track_caller]
fn ok_json(response: &HttpResponse) -> Map<String, Value> {
    assert_eq!(
        response.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    serde_json::from_slice(&response.body).unwrap()
}

/// `pending` approved with `authentication` for the scope it asked for.
fn approve(pending: PendingAuthorization, authentication: Authentication) -> HttpResponse {
    let scope = pending.requested_scope().clone();
    block_on(pending.approve_authentication(authentication, scope)).unwrap()
}

fn alice() -> Authentication {
    Authentication::new(Subject::new("alice"))
}

fn alice_at(at: SystemTime) -> Authentication {
    alice().with_auth_time(at)
}

fn header_alg(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt)
        .map(|h| format!("{:?}", h.alg))
        .unwrap()
}

fn str_of<'a>(map: &'a Map<String, Value>, name: &str) -> &'a str {
    map[name].as_str().unwrap()
}

#[track_caller]
fn redirect(result: Result<PendingAuthorization, AuthorizeError>) -> Vec<(String, String)> {
    match result {
        Err(AuthorizeError::Redirect(e)) => location_params(&e.into_response()),
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ------------------------------------------------------------------ ID tokens

/// OI-09, OI-10, OI-11, OI-12, Core §2 and §3.1.3.7: an ID token from the code flow
/// verifies with the published key (RS256 by default), carries `iss`, `sub`, `aud` (a
/// plain string), `exp` and `iat` as numbers, the exact `nonce`, `auth_time`, `acr`,
/// `amr` and an `at_hash` of the access token, no `null`, no `azp`.
#[test]
fn oi_09_oi_10_oi_11_oi_12_id_token_from_the_code_flow() {
    let op = op();
    let at = op.clock_now() - Duration::from_secs(30);
    let tokens = op.tokens(
        "rp",
        "&scope=openid&nonce=n-0S6_WzA2Mj",
        alice_at(at).with_acr("urn:acr:bronze").with_amr(["pwd"]),
    );
    assert_eq!(str_of(&tokens, "token_type"), "Bearer");
    let id_token = str_of(&tokens, "id_token");
    assert_eq!(header_alg(id_token), "RS256");
    let claims = op.verify(id_token, "rp");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], "rp", "one audience is a plain string");
    assert!(claims["exp"].is_u64() && claims["iat"].is_u64());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["auth_time"], secs(at));
    assert_eq!(claims["acr"], "urn:acr:bronze");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(!claims.contains_key("azp"));
    assert!(claims.values().all(|v| !v.is_null()));
    let access_token = str_of(&tokens, "access_token");
    let digest = Sha256::digest(access_token.as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    // Scope claims go to UserInfo, not into the ID token (OI-16).
    assert!(!claims.contains_key("name") && !claims.contains_key("email"));
}

/// OI-09, OI-11, JW-11: one authentication, one key set. With JWT access tokens, the
/// access token of an OpenID grant is signed by the key set that signs its ID token
/// (both verify against the one JWK Set) and carries the `auth_time` and `acr` of the
/// host's `Authentication`, as the ID token does, after the code exchange and after a
/// refresh; `at_hash` covers the JWT; UserInfo accepts it.
#[test]
fn oi_09_oi_11_jw_11_jwt_access_tokens_share_the_authentication_and_the_keys() {
    let api = "https://api.example.com";
    let op = op_with(|b| b.jwt_access_tokens(JwtAccessTokens::new(api)));
    let at = op.clock_now() - Duration::from_secs(30);
    let tokens = op.tokens(
        "rp",
        "&scope=openid%20email&nonce=n-1",
        alice_at(at).with_acr("urn:acr:silver"),
    );
    let access_token = str_of(&tokens, "access_token");
    let id_claims = op.id_claims(&tokens, "rp");
    let claims = op.access_claims(access_token, api);
    assert_eq!(claims["auth_time"], secs(at));
    assert_eq!(claims["auth_time"], id_claims["auth_time"]);
    assert_eq!(claims["acr"], "urn:acr:silver");
    assert_eq!(claims["acr"], id_claims["acr"]);
    assert_eq!(claims["sub"], id_claims["sub"]);
    let digest = Sha256::digest(access_token.as_bytes());
    assert_eq!(id_claims["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    let info = ok_json(&op.userinfo(bearer(access_token)));
    assert_eq!(info["sub"], "alice");
    assert_eq!(info["email"], "alice@example.com");
    // A refresh keeps the original authentication in both tokens.
    op.clock.advance(Duration::from_secs(120));
    let refreshed = op.refresh("rp", str_of(&tokens, "refresh_token"));
    let id_claims = op.id_claims(&refreshed, "rp");
    let claims = op.access_claims(str_of(&refreshed, "access_token"), api);
    assert_eq!(claims["auth_time"], secs(at));
    assert_eq!(id_claims["auth_time"], secs(at));
    assert_eq!(claims["acr"], "urn:acr:silver");
    assert_eq!(id_claims["acr"], "urn:acr:silver");
}

/// OI-01, OI-12: a code from a request without `openid` yields no ID token.
#[test]
fn oi_01_oi_12_no_openid_no_id_token() {
    let op = op();
    let tokens = op.tokens("rp", "&scope=read&nonce=abc", alice());
    assert!(!tokens.contains_key("id_token"));
    // And UserInfo refuses its access token: it lacks `openid` (OI-13).
    let response = op.userinfo(bearer(str_of(&tokens, "access_token")));
    assert_eq!(response.status, Status::FORBIDDEN);
    assert!(challenge_of(&response).contains("insufficient_scope"));
}

/// OI-10: a client registered for ES256 gets ES256 ID tokens, which the relying party
/// verifies with the ES256 key of the JWKS.
#[test]
fn oi_10_a_client_registered_for_es256_gets_es256() {
    let op = op();
    let tokens = op.tokens("es", "&scope=openid", alice());
    let id_token = str_of(&tokens, "id_token");
    assert_eq!(header_alg(id_token), "ES256");
    assert_eq!(op.verify(id_token, "es")["sub"], "alice");
}

/// OI-04: the nonce is echoed exactly, 64 characters are accepted, and a nonce does not
/// carry over from one code to another (a replayed nonce is the RP's to detect: each
/// code's ID token has its own request's nonce).
#[test]
fn oi_04_nonce_is_echoed_exactly_per_code() {
    let op = op();
    let long = "N".repeat(64);
    let first = op.tokens("rp", &format!("&scope=openid&nonce={long}"), alice());
    assert_eq!(op.id_claims(&first, "rp")["nonce"], long.as_str());
    let second = op.tokens("rp", "&scope=openid&nonce=Case-Sensitive", alice());
    assert_eq!(op.id_claims(&second, "rp")["nonce"], "Case-Sensitive");
    let none = op.tokens("rp", "&scope=openid", alice());
    assert!(!op.id_claims(&none, "rp").contains_key("nonce"));
    let params = redirect(op.authorize("rp", &format!("&scope=openid&nonce={}", "n".repeat(513))));
    assert_eq!(param(&params, "error"), Some("invalid_request"));
}

/// OI-04, PK-03: a client exempt from PKCE must send a nonce in an OpenID request.
#[test]
fn oi_04_a_pkce_exempt_client_needs_a_nonce() {
    let op = op();
    let query = |extra: &str| {
        format!(
            "response_type=code&client_id=exempt&redirect_uri={}&scope=openid&state=s{extra}",
            enc("https://ex.example/cb")
        )
    };
    let without = op.authorize_query(&query(""));
    assert_eq!(param(&redirect(without), "error"), Some("invalid_request"));
    assert!(op.authorize_query(&query("&nonce=abc")).is_ok());
}

/// OI-20, Core §12.2: a refresh of an OpenID grant comes with a new ID token: same
/// `iss`, `sub`, `aud`, `auth_time`, `acr`; a new `iat`; no `nonce`.
#[test]
fn oi_20_refresh_brings_a_new_id_token_without_nonce() {
    let op = op();
    let at = op.clock_now();
    let tokens = op.tokens(
        "rp",
        "&scope=openid&nonce=first",
        alice_at(at).with_acr("urn:acr:silver"),
    );
    let first = op.id_claims(&tokens, "rp");
    op.clock.advance(Duration::from_secs(5));
    let refreshed = op.refresh("rp", str_of(&tokens, "refresh_token"));
    let second = op.id_claims(&refreshed, "rp");
    for same in ["iss", "sub", "aud", "auth_time", "acr"] {
        assert_eq!(first[same], second[same], "{same}");
    }
    assert!(second["iat"].as_u64() > first["iat"].as_u64());
    assert!(!second.contains_key("nonce"));
    assert_ne!(first["at_hash"], second["at_hash"]);
}

// ------------------------------------------------------------------ the request

/// OI-01: an OpenID request must name its redirect URI even when the client registered
/// one: `invalid_request`, redirected there with `state` and `iss`; by POST alike.
#[test]
fn oi_01_redirect_uri_is_required() {
    let op = op();
    let query = format!(
        "response_type=code&client_id=rp&scope=openid&state=xyz&code_challenge={CHALLENGE}\
         &code_challenge_method=S256"
    );
    let get = redirect(op.authorize_query(&query));
    assert_eq!(param(&get, "error"), Some("invalid_request"));
    assert_eq!(param(&get, "state"), Some("xyz"));
    assert_eq!(param(&get, "iss"), Some(ISSUER));
    let post = post_form(query);
    assert_eq!(redirect(block_on(op.server.authorize(&post))), get);
    // The same request without `openid` is plain OAuth, where it is fine.
    assert!(op.authorize("rp", "&scope=read").is_ok());
}

/// OI-02: `prompt=none` with no session → `login_required` with `state` and `iss`; the
/// other refusals map to their codes; `none` with another value → `invalid_request`.
#[test]
fn oi_02_prompt_none_refusals() {
    let op = op();
    for (why, code) in [
        (InteractionNeeded::Login, "login_required"),
        (InteractionNeeded::Consent, "consent_required"),
        (InteractionNeeded::Interaction, "interaction_required"),
        (
            InteractionNeeded::AccountSelection,
            "account_selection_required",
        ),
    ] {
        let pending = op.pending("rp", "&scope=openid&prompt=none");
        assert!(pending.openid().unwrap().prompt().is_none());
        let params = location_params(&pending.refuse(why));
        assert_eq!(param(&params, "error"), Some(code));
        assert_eq!(param(&params, "state"), Some("xyz"));
        assert_eq!(param(&params, "iss"), Some(ISSUER));
        assert!(param(&params, "code").is_none());
    }
    let params = redirect(op.authorize("rp", "&scope=openid&prompt=none%20login"));
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    // prompt=login with a live session: the host must sign the user in again.
    let pending = op.pending("rp", "&scope=openid&prompt=login");
    assert!(
        pending
            .openid()
            .unwrap()
            .requires_login(Some(op.clock_now()), op.clock_now())
    );
}

/// OI-03: `max_age` malformed → `invalid_request`; an hour-old session with
/// `max_age=600` needs a new sign-in, and approving with it anyway is refused with
/// `login_required`; after a new sign-in the ID token's `auth_time` is its time;
/// approving a `max_age` request without an `auth_time` is the host's error.
#[test]
fn oi_03_max_age_and_auth_time() {
    let op = op();
    let params = redirect(op.authorize("rp", "&scope=openid&max_age=abc"));
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    let now = op.clock_now();
    let hour_ago = now - Duration::from_secs(3600);
    let pending = op.pending("rp", "&scope=openid&max_age=600");
    assert!(
        pending
            .openid()
            .unwrap()
            .requires_login(Some(hour_ago), now)
    );
    let stale = approve(pending, alice_at(hour_ago));
    assert_location_error(&stale, "login_required");
    let tokens = op.tokens("rp", "&scope=openid&max_age=0", alice_at(now));
    assert_eq!(op.id_claims(&tokens, "rp")["auth_time"], secs(now));
    let pending = op.pending("rp", "&scope=openid&max_age=600");
    let scope = pending.requested_scope().clone();
    let error = block_on(pending.approve_authentication(alice(), scope)).unwrap_err();
    assert_eq!(
        location_param(&error.into_response(), "error").as_deref(),
        Some("server_error")
    );
}

/// OI-05: `display`, `ui_locales`, `claims_locales`, `login_hint` and `acr_values` never
/// cause an error: they are data for the host.
#[test]
fn oi_05_other_parameters_are_data() {
    let op = op();
    let pending = op.pending(
        "rp",
        "&scope=openid&display=unknown&ui_locales=fr-CA%20fr&claims_locales=fr\
         &login_hint=alice%40example.com&acr_values=urn%3Aacr%3Asilver",
    );
    let openid = pending.openid().unwrap();
    assert_eq!(openid.display(), None);
    assert_eq!(openid.ui_locales(), Some("fr-CA fr"));
    assert_eq!(openid.login_hint(), Some("alice@example.com"));
    assert_eq!(openid.acr_values().collect::<Vec<_>>(), ["urn:acr:silver"]);
    // An unsigned request object is refused before anything in it is trusted (JR-04).
    match op.authorize("rp", "&scope=openid&request=eyJhbGciOiJub25lIn0.e30.") {
        Err(AuthorizeError::Rejected(error)) => {
            assert_eq!(error.code().as_str(), "invalid_request_object");
        }
        other => panic!("expected a local rejection, got {other:?}"),
    }
}

/// OI-06: an expired ID token of ours is a valid hint; a forged one, one of another
/// issuer, one issued to another client or a malformed one → `invalid_request`.
#[test]
fn oi_06_id_token_hints() {
    let op = op();
    let tokens = op.tokens("rp", "&scope=openid", alice());
    let hint = str_of(&tokens, "id_token").to_owned();
    op.clock.advance(Duration::from_secs(86_400));
    let pending = op.pending("rp", &format!("&scope=openid&id_token_hint={hint}"));
    let verified = pending.openid().unwrap().id_token_hint().unwrap();
    assert_eq!(verified.subject_identifier(), "alice");
    assert!(pending.is_for(&Subject::new("alice")));
    assert!(!pending.is_for(&Subject::new("bob")));
    // A forged signature.
    let mut forged = hint.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    // Another issuer's ID token, signed by a key of its own.
    let other_keys = KeySet::builder("https://evil.example", Arc::new(MemoryKeySetStore::new()))
        .default_algorithm(Algorithm::Rs256)
        .build()
        .unwrap();
    let now = op.clock_now();
    block_on(other_keys.bootstrap(
        Arc::new(SigningKey::generate(Algorithm::Rs256).unwrap()),
        now,
    ))
    .unwrap();
    let foreign = block_on(
        other_keys.sign(
            grantflow::jose::JwtUse::IdToken,
            &grantflow::jose::Claims::new()
                .with_subject("alice")
                .with_audience(["rp"])
                .with_issued_at(now)
                .with_expires_at(now + Duration::from_secs(60)),
            now,
        ),
    )
    .unwrap();
    for bad in [forged.as_str(), foreign.as_str(), "not.a.jwt", "x"] {
        let params = redirect(op.authorize("rp", &format!("&scope=openid&id_token_hint={bad}")));
        assert_eq!(param(&params, "error"), Some("invalid_request"), "{bad}");
    }
    // Our ID token, issued to another client.
    let params = redirect(op.authorize("rp2", &format!("&scope=openid&id_token_hint={hint}")));
    assert_eq!(param(&params, "error"), Some("invalid_request"));
}

/// OI-06, OI-07: a hint for alice while bob is signed in, under `prompt=none` →
/// `login_required`; a `claims` request pinning another `sub` → no code for alice.
#[test]
fn oi_07_a_pinned_subject_gets_no_code_for_another_user() {
    let op = op();
    let tokens = op.tokens("rp", "&scope=openid", alice());
    let hint = str_of(&tokens, "id_token");
    let pending = op.pending(
        "rp",
        &format!("&scope=openid&prompt=none&id_token_hint={hint}"),
    );
    let response = approve(pending, Authentication::new(Subject::new("bob")));
    assert_location_error(&response, "login_required");
    assert!(location_param(&response, "code").is_none());
    let claims = enc(r#"{"id_token":{"sub":{"value":"248289761001"}}}"#);
    let pending = op.pending("rp", &format!("&scope=openid&claims={claims}"));
    assert!(!pending.is_for(&Subject::new("alice")));
    assert!(location_param(&approve(pending, alice()), "code").is_none());
}

/// OI-08: an essential `acr` the authentication did not achieve →
/// `unmet_authentication_requirements`; voluntary `acr_values` report what was achieved.
#[test]
fn oi_08_essential_acr() {
    let op = op();
    let claims =
        enc(r#"{"id_token":{"acr":{"essential":true,"values":["urn:mace:incommon:iap:silver"]}}}"#);
    let pending = op.pending("rp", &format!("&scope=openid&claims={claims}"));
    let bronze = alice().with_acr("urn:mace:incommon:iap:bronze");
    let response = approve(pending, bronze.clone());
    assert_location_error(&response, "unmet_authentication_requirements");
    let tokens = op.tokens(
        "rp",
        "&scope=openid&acr_values=urn%3Amace%3Aincommon%3Aiap%3Asilver",
        bronze,
    );
    assert_eq!(
        op.id_claims(&tokens, "rp")["acr"],
        "urn:mace:incommon:iap:bronze"
    );
}

/// OI-17: the `claims` parameter puts named claims in the ID token and UserInfo; a
/// malformed one → `invalid_request`; unknown members are ignored.
#[test]
fn oi_17_claims_parameter() {
    let op = op();
    let claims =
        enc(r#"{"id_token":{"email":{"essential":true}},"userinfo":{"locale":null},"foo":1}"#);
    let tokens = op.tokens("rp", &format!("&scope=openid&claims={claims}"), alice());
    let id = op.id_claims(&tokens, "rp");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(op.userinfo_json(&tokens)["locale"], "en-GB");
    for bad in ["{bad", "[]", r#"{"id_token":{"email":true}}"#] {
        let params = redirect(op.authorize("rp", &format!("&scope=openid&claims={}", enc(bad))));
        assert_eq!(param(&params, "error"), Some("invalid_request"), "{bad}");
    }
}

/// OI-18: `offline_access` without `prompt=consent` is dropped from the granted scope,
/// and a client registered to get refresh tokens only for it gets none; with
/// `prompt=consent` it keeps both.
#[test]
fn oi_18_offline_access() {
    let op = op();
    let without = op.tokens("offline", "&scope=openid%20offline_access", alice());
    assert_eq!(str_of(&without, "scope"), "openid");
    assert!(!without.contains_key("refresh_token"));
    let with = op.tokens(
        "offline",
        "&scope=openid%20offline_access&prompt=consent",
        alice(),
    );
    let granted: Vec<&str> = str_of(&with, "scope").split(' ').collect();
    assert!(granted.contains(&"openid") && granted.contains(&"offline_access"));
    assert!(with.contains_key("refresh_token"));
}

// ------------------------------------------------------------------ UserInfo

/// OI-13, OI-14, OI-15, OI-16: UserInfo by GET and POST with a bearer token: `sub`
/// equal to the ID token's, exactly the scope's claims the user has, in their standard
/// types, no empty values; CORS allowed; RFC 6750 challenges on failure.
#[test]
fn oi_13_oi_14_oi_15_oi_16_userinfo() {
    let op = op();
    let tokens = op.tokens("rp", "&scope=openid%20email%20phone", alice());
    let access_token = str_of(&tokens, "access_token");
    let id = op.id_claims(&tokens, "rp");
    let get = op.userinfo(bearer(access_token).with_header("origin", "https://spa.example"));
    assert_eq!(get.status, Status::OK);
    assert_eq!(get.header("content-type"), Some("application/json"));
    assert_eq!(
        get.header("access-control-allow-origin"),
        None,
        "CORS is opt-in"
    );
    let info: Map<String, Value> = serde_json::from_slice(&get.body).unwrap();
    assert_eq!(info["sub"], id["sub"]);
    // `"true"` is released as a boolean; the empty phone number is left out (OI-15).
    assert_eq!(
        info,
        json!({"sub": "alice", "email": "alice@example.com", "email_verified": true})
            .as_object()
            .unwrap()
            .clone()
    );
    let post = HttpRequest::new(Method::Post)
        .with_header("authorization", format!("Bearer {access_token}"))
        .with_header("content-type", "application/x-www-form-urlencoded");
    assert_eq!(op.userinfo(post).body, get.body);
    // Profile: `updated_at` of the wrong type is withheld.
    let profile = op.tokens("rp", "&scope=openid%20profile", alice());
    let info = op.userinfo_json(&profile);
    assert_eq!(info["name"], "Alice Liddell");
    assert!(!info.contains_key("updated_at") && !info.contains_key("email"));
    // Failures.
    let none = op.userinfo(HttpRequest::new(Method::Get));
    assert_eq!(none.status, Status::UNAUTHORIZED);
    let unknown = op.userinfo(bearer("unknown-token"));
    assert_eq!(unknown.status, Status::UNAUTHORIZED);
    assert!(challenge_of(&unknown).contains("invalid_token"));
    op.clock.advance(Duration::from_secs(7200));
    let expired = op.userinfo(bearer(access_token));
    assert_eq!(expired.status, Status::UNAUTHORIZED);
    let query_only = op
        .userinfo(HttpRequest::new(Method::Get).with_query(format!("access_token={access_token}")));
    assert_eq!(query_only.status, Status::UNAUTHORIZED);
    let delete = op.userinfo(HttpRequest::new(Method::Other));
    assert_eq!(delete.status, Status::METHOD_NOT_ALLOWED);
}

/// OI-13: with CORS on, UserInfo answers the preflight, allows the token's client's
/// origin, and refuses another origin.
#[test]
fn oi_13_userinfo_cors() {
    let op = op_with(|b| b.cors(true));
    let tokens = op.tokens("rp", "&scope=openid", alice());
    let access_token = str_of(&tokens, "access_token");
    let preflight =
        op.userinfo(HttpRequest::new(Method::Options).with_header("origin", "https://rp.example"));
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://rp.example")
    );
    let mine = op.userinfo(bearer(access_token).with_header("origin", "https://rp.example"));
    assert_eq!(mine.status, Status::OK);
    assert_eq!(
        mine.header("access-control-allow-origin"),
        Some("https://rp.example")
    );
    let other = op.userinfo(bearer(access_token).with_header("origin", "https://evil.example"));
    assert_eq!(other.status, Status::BAD_REQUEST);
    assert_eq!(other.header("access-control-allow-origin"), None);
}

/// OI-14: a client registered for signed UserInfo responses gets `application/jwt` with
/// `iss`, `aud` and the same `sub`, which the relying party verifies.
#[test]
fn oi_14_signed_userinfo() {
    let op = op();
    let tokens = op.tokens("signed-ui", "&scope=openid%20email", alice());
    let response = op.userinfo(bearer(str_of(&tokens, "access_token")));
    assert_eq!(response.status, Status::OK);
    assert_eq!(response.header("content-type"), Some("application/jwt"));
    let jwt = String::from_utf8(response.body).unwrap();
    let claims = op.verify(&jwt, "signed-ui");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "signed-ui");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
}

/// OI-16: a client registered for it gets the scope's claims in the ID token too.
#[test]
fn oi_16_scope_claims_in_the_id_token_on_request() {
    let op = op();
    let tokens = op.tokens("in-token", "&scope=openid%20email", alice());
    let id = op.id_claims(&tokens, "in-token");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], true);
}

// ------------------------------------------------------------------ subjects

/// OI-19, Core §8.1: pairwise clients of one sector see the same `sub`, stable across
/// sign-ins; another sector sees another; never the local identifier; UserInfo says the
/// same as the ID token.
#[test]
fn oi_19_pairwise_subjects() {
    let op = op();
    let sub_of = |client: &str| {
        let tokens = op.tokens(client, "&scope=openid", alice());
        let id = op.id_claims(&tokens, client);
        assert_eq!(op.userinfo_json(&tokens)["sub"], id["sub"], "{client}");
        id["sub"].as_str().unwrap().to_owned()
    };
    let a = sub_of("pw-a");
    assert_eq!(a, sub_of("pw-a"), "stable across sign-ins");
    assert_eq!(a, sub_of("pw-a2"), "one sector, one sub");
    assert_ne!(a, sub_of("pw-b"), "two sectors, two subs");
    assert_ne!(a, "alice");
    assert_eq!(sub_of("rp"), "alice", "public is the default");
}

/// OI-19: a pairwise client on a server without a pairwise secret is refused; a
/// pairwise client with redirect URIs on two hosts and no sector identifier does not
/// register.
#[test]
fn oi_19_pairwise_needs_a_secret_and_one_sector() {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .insert(
            client("pw", "https://a.example/cb")
                .subject_type(SubjectType::Pairwise)
                .build()
                .unwrap(),
        )
        .unwrap();
    let now = SystemTime::now();
    let keys = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .build()
        .unwrap();
    block_on(keys.bootstrap(
        Arc::new(SigningKey::generate(Algorithm::Rs256).unwrap()),
        now,
    ))
    .unwrap();
    let server = Server::builder(ISSUER, clients, Arc::new(MemoryTokenStore::new()))
        .signing_keys(keys)
        .openid_provider(Arc::new(Directory))
        .build()
        .unwrap();
    let query = format!(
        "response_type=code&client_id=pw&redirect_uri={}&scope=openid&state=s\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc("https://a.example/cb")
    );
    let params = redirect(block_on(
        server.authorize(&HttpRequest::new(Method::Get).with_query(&query)),
    ));
    assert_eq!(param(&params, "error"), Some("unauthorized_client"));
    let two_hosts = client("pw2", "https://a.example/cb")
        .redirect_uri("https://b.example/cb")
        .subject_type(SubjectType::Pairwise)
        .build();
    assert!(two_hosts.is_err());
}

// ------------------------------------------------------------------ discovery

/// OI-21, Disc §3 and §4: the document is served at the issuer + the well-known suffix,
/// has every required member, RS256 among the algorithms, the explicit defaults, and the
/// same values as the RFC 8414 document for the members both have.
#[test]
fn oi_21_discovery_document() {
    let op = op();
    assert_eq!(
        op.server.openid_configuration_path(),
        Some("/.well-known/openid-configuration")
    );
    let request = HttpRequest::new(Method::Get);
    let response = op
        .server
        .serve_openid_configuration(&request, "/.well-known/openid-configuration")
        .unwrap();
    assert_eq!(response.status, Status::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let doc: Map<String, Value> = serde_json::from_slice(&response.body).unwrap();
    for required in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
        "scopes_supported",
        "claims_supported",
    ] {
        assert!(doc.contains_key(required), "{required}");
    }
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["response_modes_supported"], json!(["query"]));
    assert_eq!(
        doc["subject_types_supported"],
        json!(["public", "pairwise"])
    );
    assert!(
        doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("RS256"))
    );
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
    assert_eq!(doc["claims_parameter_supported"], true);
    assert_eq!(doc["request_parameter_supported"], true);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    assert_eq!(doc["end_session_endpoint"], "https://op.example.com/logout");
    assert!(doc.values().all(|v| !v.is_null()));
    let oauth: Map<String, Value> = serde_json::from_slice(&op.server.metadata().body).unwrap();
    for (name, value) in &oauth {
        assert_eq!(doc.get(name), Some(value), "{name} differs from RFC 8414's");
    }
    // The JWKS it points to has the signing keys.
    let jwks = block_on(op.server.jwks(&HttpRequest::new(Method::Get))).unwrap();
    assert_eq!(jwks.status, Status::OK);
    let set: Value = serde_json::from_slice(&jwks.body).unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    // A server that is no OpenID Provider has no such document.
    let plain = Server::builder(
        ISSUER,
        Arc::new(MemoryClientRegistry::new()),
        Arc::new(MemoryTokenStore::new()),
    )
    .build()
    .unwrap();
    assert!(plain.openid_configuration().is_none());
}

/// OI-21: the URL is the issuer's path + the suffix, after a trailing `/` is dropped
/// (V-META-3).
#[test]
fn oi_21_v_meta_3_configuration_urls() {
    use grantflow::metadata::openid_configuration_url;
    for (issuer, url) in [
        (
            "https://example.com",
            "https://example.com/.well-known/openid-configuration",
        ),
        (
            "https://example.com/issuer1",
            "https://example.com/issuer1/.well-known/openid-configuration",
        ),
        (
            "https://example.com/issuer1/",
            "https://example.com/issuer1/.well-known/openid-configuration",
        ),
    ] {
        assert_eq!(openid_configuration_url(issuer).unwrap(), url);
    }
}

/// The configuration is checked: an OpenID Provider needs a key set; settings of a
/// provider that is not enabled are refused.
#[test]
fn an_openid_provider_needs_keys() {
    let builder = || {
        Server::builder(
            ISSUER,
            Arc::new(MemoryClientRegistry::new()),
            Arc::new(MemoryTokenStore::new()),
        )
    };
    assert!(
        builder()
            .openid_provider(Arc::new(Directory))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .id_token_ttl(Duration::from_secs(60))
            .build()
            .is_err()
    );
}

// ------------------------------------------------------------------ logout

impl Op {
    fn logout(&self, query: &str) -> Result<PendingLogout, LogoutError> {
        block_on(
            self.server
                .end_session(&HttpRequest::new(Method::Get).with_query(query)),
        )
    }
}

/// OI-22: without a hint the host must ask; a hint of another issuer, or a `client_id`
/// that is not the hint's audience, is an error page; an expired hint of ours is fine,
/// and says which user it is for.
#[test]
fn oi_22_end_session_checks_the_hint() {
    let op = op();
    let bare = op.logout("").unwrap();
    assert!(bare.needs_confirmation(Some(&Subject::new("alice"))));
    assert!(bare.confirm().is_none(), "nowhere to redirect");
    let tokens = op.tokens("rp", "&scope=openid", alice());
    let hint = str_of(&tokens, "id_token").to_owned();
    op.clock.advance(Duration::from_secs(86_400));
    let pending = op.logout(&format!("id_token_hint={hint}")).unwrap();
    assert!(pending.has_valid_hint());
    assert_eq!(pending.client().unwrap().id().as_str(), "rp");
    assert!(!pending.needs_confirmation(Some(&Subject::new("alice"))));
    assert!(pending.needs_confirmation(Some(&Subject::new("bob"))));
    for bad in [
        format!("id_token_hint={hint}x"),
        "id_token_hint=a.b.c".to_owned(),
        format!("id_token_hint={hint}&client_id=rp2"),
    ] {
        assert!(
            matches!(op.logout(&bad), Err(LogoutError::Rejected(_))),
            "{bad}"
        );
    }
}

/// OI-23: the redirect goes only to a registered `post_logout_redirect_uri` of the
/// hint's client, with `state` unchanged; an unregistered URI, or a URI without a hint,
/// is an error page with no `Location`.
#[test]
fn oi_23_end_session_redirects_only_where_registered() {
    let op = op();
    let tokens = op.tokens("rp", "&scope=openid", alice());
    let hint = str_of(&tokens, "id_token");
    let bye = enc("https://rp.example/bye");
    let pending = op
        .logout(&format!(
            "id_token_hint={hint}&post_logout_redirect_uri={bye}&state=xyz"
        ))
        .unwrap();
    let response = pending.confirm().unwrap();
    assert_eq!(response.status, Status::FOUND);
    assert_eq!(
        response.header("location"),
        Some("https://rp.example/bye?state=xyz")
    );
    for bad in [
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc("https://evil.example/bye")
        ),
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc("https://rp.example/bye/")
        ),
        format!("client_id=rp&post_logout_redirect_uri={bye}"),
        format!("post_logout_redirect_uri={bye}"),
    ] {
        assert!(
            matches!(op.logout(&bad), Err(LogoutError::Rejected(_))),
            "{bad}"
        );
    }
    // POST, answered with 303.
    let post = post_form(format!(
        "id_token_hint={hint}&post_logout_redirect_uri={bye}"
    ));
    let response = block_on(op.server.end_session(&post))
        .unwrap()
        .confirm()
        .unwrap();
    assert_eq!(response.status, Status::SEE_OTHER);
    assert_eq!(response.header("location"), Some("https://rp.example/bye"));
}

/// RI-05, RI-06, RI-11 with OpenID Connect: an authentication request may name a
/// `resource` too. The ID token stays for the client (`aud` = `client_id`, Core §2); the
/// access token is for the resource (its JWT `aud`, judged by `jsonwebtoken`), not for
/// UserInfo; a resource the server does not know is `invalid_target` at the redirect;
/// discovery and the RFC 8414 document both list the protected resources.
#[test]
fn ri_05_ri_11_openid_and_resource_together() {
    let api = "https://api.example.com/v1";
    let op = op_with(|b| {
        b.resource(api)
            .jwt_access_tokens(JwtAccessTokens::new("https://default.example.com"))
    });
    let tokens = op.tokens(
        "rp",
        &format!("&scope=openid%20read&nonce=n-r&resource={}", enc(api)),
        alice(),
    );
    let id_claims = op.id_claims(&tokens, "rp");
    assert_eq!(id_claims["aud"], "rp");
    assert_eq!(id_claims["nonce"], "n-r");
    let access_token = str_of(&tokens, "access_token");
    let claims = op.access_claims(access_token, api);
    assert_eq!(claims["aud"], api);
    assert_eq!(claims["sub"], id_claims["sub"]);
    // Restricted to the resource: UserInfo is not its audience.
    assert_eq!(op.userinfo(bearer(access_token)).status.as_u16(), 401);
    // An unknown resource is refused at the redirect, as without `openid`.
    let refused = redirect(op.authorize(
        "rp",
        "&scope=openid&nonce=n&resource=https%3A%2F%2Fother.example.com",
    ));
    assert_eq!(param(&refused, "error"), Some("invalid_target"));
    // Both discovery documents advertise the resource.
    let request = HttpRequest::new(Method::Get);
    for (path, response) in [
        (
            "openid",
            op.server
                .serve_openid_configuration(&request, "/.well-known/openid-configuration")
                .unwrap(),
        ),
        ("rfc8414", op.server.metadata()),
    ] {
        let doc: Map<String, Value> = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(doc["protected_resources"], json!([api]), "{path}");
    }
}

// ------------------------------------------------------------------ observability

/// OB-01, OB-04, OB-06, OB-11: the OpenID flow under a capturing subscriber. Every
/// endpoint call of it (authentication request, approval, token, UserInfo, refresh,
/// end-session, JWK Set, discovery) is one span with its client and outcome; the capture
/// holds alice's local `sub` and none of the secrets of the run: codes, the verifier,
/// the client secret, access, refresh and ID tokens, the `id_token_hint`, the nonce, the
/// `state` values and alice's claim values.
#[test]
fn ob_01_ob_06_ob_11_the_openid_flow_logs_one_span_per_call_and_no_secret() {
    use crate::observability::{Secrets, capture_logs};

    let op = op();
    let nonce = "nonce-Vq83LmZ0pX";
    let state = "state-Hk27cWq9Tn";
    let logout_state = "bye-state-R5u1Zb";
    let (secrets, logs) = capture_logs(|| {
        let query = format!(
            "response_type=code&client_id=rp&redirect_uri={}&state={state}&nonce={nonce}\
             &scope=openid%20email%20profile%20offline_access\
             &prompt=consent&code_challenge={CHALLENGE}&code_challenge_method=S256",
            enc(Op::redirect_of("rp"))
        );
        let approved = approve(op.authorize_query(&query).unwrap(), alice());
        let code = location_param(&approved, "code").unwrap();
        let tokens = ok_json(&op.exchange("rp", &code));
        let (access, refresh, id_token) = (
            str_of(&tokens, "access_token").to_owned(),
            str_of(&tokens, "refresh_token").to_owned(),
            str_of(&tokens, "id_token").to_owned(),
        );
        assert_eq!(op.userinfo(bearer(&access)).status, Status::OK);
        assert_eq!(op.userinfo(bearer("not-a-token-Jw4")).status.as_u16(), 401);
        let refreshed = op.refresh("rp", &refresh);
        let logout = op
            .logout(&format!(
                "id_token_hint={id_token}&post_logout_redirect_uri={}&state={logout_state}",
                enc("https://rp.example/bye")
            ))
            .unwrap();
        assert!(logout.has_valid_hint());
        let get = HttpRequest::new(Method::Get);
        assert_eq!(block_on(op.server.jwks(&get)).unwrap().status, Status::OK);
        let path = op.server.openid_configuration_path().unwrap().to_owned();
        let discovery = op.server.serve_openid_configuration(&get, &path).unwrap();
        assert_eq!(discovery.status, Status::OK);
        assert_eq!(
            op.server.serve_metadata(&get, "/elsewhere").status.as_u16(),
            404
        );
        // A request for another user than the hint names: refused at the approval.
        let pinned = op.pending("rp", &format!("&scope=openid&id_token_hint={id_token}"));
        let bob = Authentication::new(Subject::new("bob"));
        let refused = block_on(
            pinned.approve_authentication(bob, grantflow::Scope::parse("openid").unwrap()),
        );
        assert_eq!(
            param(&location_params(&refused.unwrap()), "error"),
            Some("login_required")
        );
        Secrets(vec![
            code,
            VERIFIER.to_owned(),
            SECRET.to_owned(),
            access,
            refresh,
            id_token,
            str_of(&refreshed, "access_token").to_owned(),
            str_of(&refreshed, "refresh_token").to_owned(),
            str_of(&refreshed, "id_token").to_owned(),
            "not-a-token-Jw4".to_owned(),
            nonce.to_owned(),
            state.to_owned(),
            logout_state.to_owned(),
            "alice@example.com".to_owned(),
            "Alice Liddell".to_owned(),
        ])
    });
    secrets.assert_absent_from("the logs", &logs);

    let span = |endpoint: &str, n: usize| -> Vec<&str> {
        let closes: Vec<&str> = logs
            .lines()
            .filter(|l| {
                l.contains(": close ") && l.contains(&format!("endpoint{{endpoint=\"{endpoint}\""))
            })
            .collect();
        assert_eq!(closes.len(), n, "{endpoint} spans in {logs}");
        closes
    };
    let authorization = span("authorization", 2);
    assert!(
        authorization[0].contains("client_id_claimed=\"rp\""),
        "{logs}"
    );
    assert!(authorization[0].contains("client_id=\"rp\""), "{logs}");
    assert!(authorization[0].contains("outcome=\"success\""), "{logs}");
    let decisions = span("authorization_decision", 2);
    assert!(decisions[0].contains("outcome=\"success\"") && decisions[0].contains("grant_id="));
    assert!(decisions[1].contains("error=\"login_required\""), "{logs}");
    assert_eq!(span("token", 2).len(), 2);
    let userinfo = span("userinfo", 2);
    assert!(userinfo[0].contains("client_id=\"rp\"") && userinfo[0].contains("token_fp="));
    assert!(userinfo[0].contains("outcome=\"success\""), "{logs}");
    assert!(userinfo[1].contains("error=\"invalid_token\""), "{logs}");
    let logout = span("end_session", 1);
    assert!(logout[0].contains("client_id=\"rp\"") && logout[0].contains("outcome=\"success\""));
    assert!(span("jwks", 1)[0].contains("outcome=\"success\""));
    assert!(span("openid_configuration", 1)[0].contains("outcome=\"success\""));
    assert!(span("metadata", 1)[0].contains("outcome=\"refused\""));
    // The ID token's issue is in the token event; the user is only the local subject.
    assert!(logs.contains("id_token=true"), "{logs}");
    assert!(logs.contains("sub=\"alice\""), "{logs}");
    assert!(
        !logs.contains("nonce") && !logs.contains("id_token_hint"),
        "{logs}"
    );
}

/// Impersonation with `read` for every exchange whose subject token is an ID token.
#[derive(Debug)]
struct ReadForIdTokens;

#[async_trait]
impl ExchangePolicy for ReadForIdTokens {
    async fn decide(&self, exchange: &Exchange<'_>) -> Result<ExchangeDecision, StorageError> {
        assert!(
            exchange.subject.is_local(),
            "our own ID token's sub is our own subject"
        );
        Ok(Issuance::impersonation()
            .scope("read".parse().unwrap())
            .into())
    }
}

/// The OpenID Provider with token exchange accepting its own ID tokens.
fn op_exchanging_id_tokens() -> Op {
    op_with_keys(|b, keys| {
        // Only ID tokens are exchanged here: the exchange's token store stays empty.
        let exchange = TokenExchange::new(Arc::new(MemoryTokenStore::new()))
            .policy(Arc::new(ReadForIdTokens))
            .accept_own_id_tokens(keys.clone());
        b.grant_handler(Arc::new(exchange))
    })
}

const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

impl Op {
    /// `client` exchanges `id_token` as its subject token.
    fn exchange_id_token(&self, client: &str, id_token: &str) -> HttpResponse {
        let body = format!(
            "grant_type={}&subject_token={id_token}&subject_token_type={}",
            enc(TokenExchange::GRANT_TYPE),
            enc(ID_TOKEN_TYPE)
        );
        block_on(self.server.token(&basic_request(client, SECRET, body))).unwrap()
    }

    fn id_token_of(&self, client: &str) -> String {
        let tokens = self.tokens(client, "&scope=openid&nonce=n", alice());
        str_of(&tokens, "id_token").to_owned()
    }
}

#[test]
fn tx_05_own_id_tokens_are_accepted_from_the_client_they_were_issued_to() {
    let op = op_exchanging_id_tokens();
    let id_token = op.id_token_of("rp");
    let issued = ok_json(&op.exchange_id_token("rp", &id_token));
    assert_eq!(
        str_of(&issued, "issued_token_type"),
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(str_of(&issued, "scope"), "read");
    // The exchanged token is alice's, for rp, and expires no later than the ID token.
    let id_claims = op.verify(&id_token, "rp");
    let expires_in = issued["expires_in"].as_u64().unwrap();
    assert!(secs(op.clock_now()) + expires_in <= id_claims["exp"].as_u64().unwrap());
    let info = block_on(op.server.bearer_guard().check(
        &bearer(str_of(&issued, "access_token")),
        &"read".parse().unwrap(),
    ))
    .unwrap();
    assert_eq!(info.subject.as_ref().map(|s| s.as_str()), Some("alice"));
    assert_eq!(info.client_id.as_str(), "rp");
}

#[test]
fn tx_05_own_id_tokens_of_another_client_expired_forged_or_pairwise_are_invalid_request() {
    let op = op_exchanging_id_tokens();
    let refused = |client: &str, token: &str| {
        let response = op.exchange_id_token(client, token);
        assert_eq!(response.status, Status::BAD_REQUEST, "{client}");
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["error"], "invalid_request", "{client}: {body}");
    };
    let rp_token = op.id_token_of("rp");
    // Another client's ID token: rp2 is not its audience.
    refused("rp2", &rp_token);
    // Forged: the payload changed under the signature.
    let mut parts: Vec<String> = rp_token.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("mallory");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    refused("rp", &parts.join("."));
    // A pairwise client's ID token carries a sub that is not one of ours.
    let pairwise = op.id_token_of("pw-a");
    refused("pw-a", &pairwise);
    // Expired: an ID token is not a hint here, its lifetime counts.
    op.clock.advance(Duration::from_secs(24 * 3600));
    refused("rp", &rp_token);
}

#[test]
fn tx_04_without_accepting_own_id_tokens_they_are_invalid_request() {
    let op = op_with(|b| {
        let exchange =
            TokenExchange::new(Arc::new(MemoryTokenStore::new())).policy(Arc::new(ReadForIdTokens));
        b.grant_handler(Arc::new(exchange))
    });
    let id_token = op.id_token_of("rp");
    let response = op.exchange_id_token("rp", &id_token);
    assert_eq!(response.status, Status::BAD_REQUEST);
}
