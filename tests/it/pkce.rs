//! PKCE (RFC 7636) end to end: the authorization request's challenge, the token request's
//! verifier, and the V-PKCE vectors of CHECKLIST.md §24.1.

use crate::support::authz::*;
use grantflow::pkce::{CodeChallenge, PkceMethod, s256_challenge};
use grantflow::*;

/// Authorizes public `app` with `challenge` (S256) and exchanges with `verifier`.
fn flow(challenge: &str, verifier: &str) -> HttpResponse {
    let h = harness();
    let code = h.code_with(&format!(
        "response_type=code&client_id=app&code_challenge={challenge}&code_challenge_method=S256"
    ));
    h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app&code_verifier={verifier}"
    ))
}

fn authorize_error(h: &Harness, pkce: &str) -> (String, Option<String>) {
    let response =
        redirect_error(h.authorize(&format!("response_type=code&client_id=app&state=s&{pkce}")));
    (
        location_param(&response, "error").unwrap(),
        location_param(&response, "error_description"),
    )
}

#[test]
fn pk_01_v_pkce_1_rfc7636_appendix_b_flow_issues_tokens() {
    assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
    let response = flow(CHALLENGE, VERIFIER);
    assert_eq!(response.status, Status::OK);
    assert_eq!(json(&response)["token_type"], "Bearer");
}

#[test]
fn pk_01_v_pkce_1_wrong_encodings_are_never_accepted() {
    // Standard base64 with padding, and the hex digest, are not valid S256 challenges.
    let h = harness();
    for bad in [
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw%2BcM%3D",
        "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3",
    ] {
        let (error, _) = authorize_error(
            &h,
            &format!("code_challenge={bad}&code_challenge_method=S256"),
        );
        assert_eq!(error, "invalid_request");
    }
}

#[test]
fn pk_08_v_pkce_2_oauth21_example_pair() {
    let verifier = "3641a2d12d66101249cdf7a79c000c1f8c05d2aafcf14bf146497bed";
    let challenge = "6fdkQaPm51l13DSukcAH3Mdx7_ntecHYd1vi3n0hMZY";
    assert_eq!(s256_challenge(verifier), challenge);
    assert_eq!(flow(challenge, verifier).status, Status::OK);
}

#[test]
fn pk_08_v_pkce_3_base64url_without_padding() {
    // RFC 7636 Appendix A: octets [3, 236, 255, 224, 193] -> "A-z_4ME".
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([3u8, 236, 255, 224, 193]);
    assert_eq!(encoded, "A-z_4ME");
}

#[test]
fn pk_07_v_pkce_4_boundary_verifiers() {
    let valid = [
        (
            "a".repeat(43),
            "ZtNPunH49FD35FWYhT5Tv8I7vRKQJ8uxMaL0_9eHjNA",
        ),
        (
            "a".repeat(128),
            "aDbPE7rEAOkQUHHNavRwhN-srU5eMCyUv-0k4BOvtz4",
        ),
        (
            format!("{}abc", "A-._~".repeat(9)),
            "6-bMU3Z-6F2eATMLq62OZ_l71N5NNC7bsyUBMgENxsw",
        ),
    ];
    for (verifier, challenge) in &valid {
        assert_eq!(s256_challenge(verifier), *challenge);
        assert_eq!(flow(challenge, verifier).status, Status::OK, "{verifier}");
    }
    for verifier in [
        "a".repeat(42),
        "a".repeat(129),
        "dBjftJeZ4CVP%2BmB92K27uhbUJU1p1r%2FwW1gFWFOEjXk".to_owned(),
        "dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(), // '+' decodes to a space
    ] {
        assert_token_error(&flow(CHALLENGE, &verifier), 400, "invalid_request");
    }
}

#[test]
fn pk_07_a_malformed_verifier_burns_the_code_like_a_wrong_one() {
    let h = harness();
    let code = h.code_for("app");
    let response = h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app&code_verifier={}",
        "a".repeat(42)
    ));
    assert_token_error(&response, 400, "invalid_request");
    assert_token_error(&h.exchange("app", &code), 400, "invalid_grant");
}

#[test]
fn pk_02_public_client_without_challenge_is_invalid_request() {
    let h = harness();
    let response = redirect_error(h.authorize("response_type=code&client_id=app&state=xyz"));
    assert_eq!(
        response.header("location"),
        Some(
            "https://client.example.com/cb?error=invalid_request&error_description=code+challenge+required&state=xyz&iss=https%3A%2F%2Fas.example.com"
        )
    );
}

#[test]
fn pk_03_confidential_clients_need_pkce_unless_exempt() {
    let h = harness();
    let response = redirect_error(h.authorize("response_type=code&client_id=conf"));
    assert_location_error(&response, "invalid_request");
    assert!(h.authorize("response_type=code&client_id=exempt").is_ok());
    // Only confidential clients can be exempt.
    assert_eq!(
        Client::builder("p", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .dangerous(|d| d.allow_missing_pkce())
            .build()
            .err(),
        Some(ClientError::PkceExemptPublicClient)
    );
}

#[test]
fn pk_03_an_exempt_client_sending_a_challenge_is_held_to_it() {
    let h = harness();
    let code = h.code_with(&format!("response_type=code&client_id=exempt&{PKCE}"));
    let response = h.token_basic(
        "exempt",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code={code}"),
    );
    assert_token_error(&response, 400, "invalid_request");
}

#[test]
fn pk_04_absent_method_means_plain_which_is_refused_by_default() {
    let h = harness();
    let (error, description) = authorize_error(&h, &format!("code_challenge={CHALLENGE}"));
    assert_eq!(error, "invalid_request");
    assert_eq!(
        description.as_deref(),
        Some("code_challenge_method required: plain is not supported")
    );
    let (error, _) = authorize_error(
        &h,
        &format!("code_challenge={CHALLENGE}&code_challenge_method=plain"),
    );
    assert_eq!(error, "invalid_request");
}

#[test]
fn pk_04_with_plain_enabled_an_absent_method_binds_plain() {
    let h = harness_with(|b| b.dangerous(|d| d.allow_plain_pkce()));
    let plain = "a".repeat(50);
    let code = h.code_with(&format!(
        "response_type=code&client_id=app&code_challenge={plain}"
    ));
    // Verified as plain: the verifier is the challenge itself, not its S256 hash.
    let response = h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app&code_verifier={plain}"
    ));
    assert_eq!(response.status, Status::OK);
    assert_eq!(h.server.code_challenge_methods(), ["S256", "plain"]);
}

#[test]
fn pk_05_method_names_are_exact() {
    let h = harness();
    for method in ["s256", "S512", "SHA256", "S256%20"] {
        let (error, description) = authorize_error(
            &h,
            &format!("code_challenge={CHALLENGE}&code_challenge_method={method}"),
        );
        assert_eq!(error, "invalid_request", "{method}");
        assert_eq!(
            description.as_deref(),
            Some("transform algorithm not supported")
        );
    }
}

#[test]
fn pk_06_malformed_challenges_are_invalid_request() {
    let h = harness();
    for challenge in [
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM%3D",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw%2BcM",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw%2FcM",
        "short",
    ] {
        let (error, _) = authorize_error(
            &h,
            &format!("code_challenge={challenge}&code_challenge_method=S256"),
        );
        assert_eq!(error, "invalid_request", "{challenge}");
    }
    // A method without a challenge is malformed too.
    let (error, _) = authorize_error(&h, "code_challenge_method=S256");
    assert_eq!(error, "invalid_request");
}

#[test]
fn pk_08_one_changed_character_is_invalid_grant() {
    let response = flow(CHALLENGE, "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    assert_token_error(&response, 400, "invalid_grant");
}

#[test]
fn pk_09_the_method_bound_at_authorization_is_used() {
    // Redeeming with the challenge itself as the verifier (a `plain` reading) fails.
    assert_token_error(&flow(CHALLENGE, CHALLENGE), 400, "invalid_grant");
    // A code_challenge_method sent to /token is ignored.
    let h = harness();
    let code = h.code_for("app");
    let response = h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}&code_challenge_method=plain"
    ));
    assert_eq!(response.status, Status::OK);
}

#[test]
fn pk_10_missing_verifier_is_invalid_request() {
    let h = harness();
    let code = h.code_for("app");
    let response = h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app"
    ));
    assert_token_error(&response, 400, "invalid_request");
    assert!(json(&response).get("access_token").is_none());
}

#[test]
fn pk_11_downgrade_verifier_for_a_code_without_challenge_is_refused() {
    let h = harness();
    let code = h.code_with("response_type=code&client_id=exempt");
    let response = h.token_basic(
        "exempt",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
    );
    assert_token_error(&response, 400, "invalid_request");
    assert!(json(&response).get("access_token").is_none());
}

#[test]
fn pk_11_exempt_client_without_challenge_or_verifier_gets_tokens() {
    let h = harness();
    let code = h.code_with("response_type=code&client_id=exempt");
    let response = h.token_basic(
        "exempt",
        CONF_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc("https://exempt.example.com/cb")
        ),
    );
    // The authorization request sent no redirect_uri, so none is required here.
    assert_eq!(response.status, Status::OK, "{:?}", json(&response));
}

#[test]
fn pk_12_the_challenge_never_appears_in_a_response() {
    let h = harness();
    let pending = h
        .authorize(&format!("response_type=code&client_id=app&state=s&{PKCE}"))
        .unwrap();
    assert!(!format!("{pending:?}").contains(CHALLENGE));
    let response = h.approve(pending, "alice", "read");
    let location = response.header("location").unwrap().to_owned();
    assert!(!location.contains(CHALLENGE));
    let code = location_param(&response, "code").unwrap();
    assert!(!code.contains(CHALLENGE));
    let tokens = h.exchange("app", &code);
    assert!(!String::from_utf8_lossy(&tokens.body).contains(CHALLENGE));
    let grant_debug = format!(
        "{:?}",
        CodeChallenge::new(PkceMethod::S256, CHALLENGE).unwrap()
    );
    assert!(!grant_debug.contains(CHALLENGE));
}

#[test]
fn pk_13_s256_is_the_only_advertised_method_by_default() {
    let h = harness();
    assert_eq!(h.server.code_challenge_methods(), ["S256"]);
}
