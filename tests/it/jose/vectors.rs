//! RFC test vectors: RFC 7515 Appendix A.1, A.3, A.5 and E, RFC 8037 Appendix A, RFC 7638
//! §3.1, RFC 7520 §4.1 and the RFC 9449 key (checklist section 24.8, V-JOSE-1 to
//! V-JOSE-5).

use std::time::{Duration, UNIX_EPOCH};

use grantflow::jose::{
    Algorithm, HmacKey, JwkSet, JwtError, PublicJwk, Signer as _, SigningKey, Validation,
};

use super::support::{A3_D, a3_jwk, b64, block_on, cid, unb64};

/// RFC 7515 Appendix A.1 and A.2/A.3: `{"iss":"joe",\r\n "exp":1300819380,\r\n
/// "http://example.com/is_root":true}`.
const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

/// A moment when the RFC 7515 example JWT (exp 1300819380) is valid.
fn in_2011() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_300_819_000)
}

/// Flips one bit of the signature's first byte.
fn tampered(jws: &str) -> String {
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let mut bytes = unb64(signature);
    bytes[0] ^= 1;
    format!("{input}.{}", b64(&bytes))
}

/// V-JOSE-1 (RFC 7515 A.1): the HS256 example verifies with the symmetric key over the
/// received header segment (which holds a CR LF, so re-serializing would break it). The
/// claims then fail the client-assertion rules (no `sub`), which run only after the MAC
/// matched; one flipped bit fails the MAC.
#[test]
fn rfc7515_a1_hs256_verifies_over_the_received_segments() {
    let key = unb64(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    );
    let key = HmacKey::new(&key).unwrap();
    let jws = format!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{PAYLOAD}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
    let validation = Validation::client_assertion(&cid("joe"), "https://as.example.com");
    assert_eq!(
        validation.verify_hmac(&jws, &key, in_2011()).unwrap_err(),
        JwtError::MissingClaim("sub")
    );
    assert_eq!(
        validation
            .verify_hmac(&tampered(&jws), &key, in_2011())
            .unwrap_err(),
        JwtError::BadSignature
    );
    // The same JWS is refused by every asymmetric path: HS256 is on no allow-list.
    let keys = JwkSet::default();
    assert_eq!(
        Validation::access_token("joe", "x")
            .verify(&jws, &keys, in_2011())
            .unwrap_err(),
        JwtError::AlgorithmNotAllowed
    );
    assert_eq!(
        validation.verify(&jws, &keys, in_2011()).unwrap_err(),
        JwtError::AlgorithmNotAllowed
    );
}

/// RFC 7515 A.3: the ES256 example verifies with the example's public key (the claims then
/// fail the ID-token rules, which run only after the signature verified), and a flipped bit
/// does not.
#[test]
fn rfc7515_a3_es256_verifies() {
    let keys = JwkSet::parse(format!(r#"{{"keys":[{}]}}"#, a3_jwk(None)).as_bytes()).unwrap();
    let jws = format!(
        "eyJhbGciOiJFUzI1NiJ9.{PAYLOAD}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    );
    let validation = Validation::id_token("joe", &cid("client"));
    assert_eq!(
        validation.verify(&jws, &keys, in_2011()).unwrap_err(),
        JwtError::MissingClaim("sub")
    );
    assert_eq!(
        validation
            .verify(&tampered(&jws), &keys, in_2011())
            .unwrap_err(),
        JwtError::BadSignature
    );
}

/// RFC 7515 A.3's private key loads as a JWK, and what it signs verifies with A.3's
/// public key (ECDSA is randomized: the RFC's own signature cannot be reproduced).
#[test]
fn rfc7515_a3_private_jwk_signs() {
    let key = SigningKey::from_jwk(a3_jwk(Some(A3_D)).as_bytes()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Es256);
    let public = PublicJwk::parse(a3_jwk(None).as_bytes()).unwrap();
    assert_eq!(key.public_key().thumbprint(), public.thumbprint());
    let input = format!("eyJhbGciOiJFUzI1NiJ9.{PAYLOAD}");
    let signature = block_on(key.sign(input.as_bytes())).unwrap();
    assert_eq!(signature.len(), 64, "R ‖ S");
    let jws = format!("{input}.{}", b64(&signature));
    let keys = JwkSet::from_keys([public]).unwrap();
    assert_eq!(
        Validation::id_token("joe", &cid("client"))
            .verify(&jws, &keys, in_2011())
            .unwrap_err(),
        JwtError::MissingClaim("sub")
    );
    // A mismatched public half is refused.
    assert!(
        SigningKey::from_jwk(
            a3_jwk(Some("AAAAnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")).as_bytes()
        )
        .is_err()
    );
}

/// RFC 8037 A.1 to A.5: the Ed25519 key's thumbprint (V-JOSE-3), and the deterministic
/// signature of "Example of Ed25519 signing", reproduced byte for byte and verified.
#[test]
fn rfc8037_ed25519_sign_and_verify() {
    let key = SigningKey::from_jwk(
        br#"{"kty":"OKP","crv":"Ed25519",
            "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    assert_eq!(key.algorithm(), Algorithm::EdDsa);
    assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let signature = block_on(key.sign(input.as_bytes())).unwrap();
    assert_eq!(
        b64(&signature),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    // A.5: verification. The payload is not a claims set, which is checked only after the
    // signature verified.
    let jws = format!("{input}.{}", b64(&signature));
    let keys = JwkSet::parse(
        br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
    )
    .unwrap();
    let validation = Validation::id_token("joe", &cid("client"));
    let now = std::time::SystemTime::now();
    assert_eq!(
        validation.verify(&jws, &keys, now).unwrap_err(),
        JwtError::InvalidClaims
    );
    assert_eq!(
        validation.verify(&tampered(&jws), &keys, now).unwrap_err(),
        JwtError::BadSignature
    );
}

/// RFC 7520 §4.1 (with the §3.4 RSA key, loaded as a private JWK): RS256 is deterministic,
/// so the signature is reproduced byte for byte.
#[test]
fn rfc7520_4_1_rs256_signature_is_reproduced() {
    let jwk = concat!(
        r#"{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig","#,
        r#""n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw","#,
        r#""e":"AQAB","#,
        r#""d":"bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ","#,
        r#""p":"3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k","#,
        r#""q":"uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc","#,
        r#""dp":"B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik","#,
        r#""dq":"CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8","#,
        r#""qi":"3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4"}"#
    );
    let key = SigningKey::from_jwk(jwk.as_bytes()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Rs256);
    let input = concat!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.",
        "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
    );
    let signature = block_on(key.sign(input.as_bytes())).unwrap();
    assert_eq!(
        b64(&signature),
        "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
    );
    // The private JWK's public half is what the set publishes: no private member.
    let public: serde_json::Value = serde_json::from_str(&key.public_key().to_json()).unwrap();
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        assert!(public.get(member).is_none(), "{member} published");
    }
}

/// V-JOSE-2 (RFC 7638 §3.1), V-JOSE-3 (RFC 8037 A.3) and V-JOSE-4 (RFC 9449): thumbprints,
/// unchanged by `alg`, `use` and `kid` (JW-18).
#[test]
fn jw_18_thumbprints_are_the_rfc_values() {
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    for (jwk, thumbprint) in [
        (
            format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        ),
        (
            format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        ),
        (
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"sig"}"#.to_owned(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        ),
        (
            r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#.to_owned(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        ),
        (
            r#"{"kty":"EC","crv":"P-256","kid":"k","alg":"ES256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#.to_owned(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        ),
    ] {
        assert_eq!(PublicJwk::parse(jwk.as_bytes()).unwrap().thumbprint(), thumbprint, "{jwk}");
    }
}

/// V-JOSE-5 (JW-04, JW-05, JW-09): the RFC 7515 A.5 unsecured JWS, its `noNE` variant and
/// the RFC 7515 Appendix E `crit` JWS are refused by every validator.
#[test]
fn jw_05_v_jose_5_inputs_are_refused_everywhere() {
    let hmac = HmacKey::new(&[0x42; 32]).unwrap();
    let keys = JwkSet::parse(
        br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
    )
    .unwrap();
    let now = in_2011();
    for (jws, expected) in [
        (format!("eyJhbGciOiJub25lIn0.{PAYLOAD}."), JwtError::Malformed),
        (format!("eyJhbGciOiJub05FIn0.{PAYLOAD}."), JwtError::Malformed),
        (
            "eyJhbGciOiJub25lIiwNCiAiY3JpdCI6WyJodHRwOi8vZXhhbXBsZS5jb20vVU5ERUZJTkVEIl0sDQogImh0dHA6Ly9leGFtcGxlLmNvbS9VTkRFRklORUQiOnRydWUNCn0.RkFJTA.".to_owned(),
            JwtError::Malformed,
        ),
        // With a signature segment, each is still refused for its header.
        (format!("eyJhbGciOiJub25lIn0.{PAYLOAD}.c2ln"), JwtError::AlgorithmNotAllowed),
        (format!("eyJhbGciOiJub05FIn0.{PAYLOAD}.c2ln"), JwtError::AlgorithmNotAllowed),
        (
            "eyJhbGciOiJub25lIiwNCiAiY3JpdCI6WyJodHRwOi8vZXhhbXBsZS5jb20vVU5ERUZJTkVEIl0sDQogImh0dHA6Ly9leGFtcGxlLmNvbS9VTkRFRklORUQiOnRydWUNCn0.RkFJTA.c2ln".to_owned(),
            JwtError::AlgorithmNotAllowed,
        ),
    ] {
        let validations = [
            Validation::access_token("joe", "x"),
            Validation::id_token("joe", &cid("x")),
            Validation::client_assertion(&cid("joe"), "x"),
            Validation::request_object(&cid("joe"), "x"),
            Validation::userinfo("joe", &cid("x")),
        ];
        for validation in validations {
            let got = validation.verify(&jws, &keys, now).unwrap_err();
            assert_eq!(got, expected, "{jws} as {:?}", validation.jwt_use());
        }
        assert_eq!(
            Validation::client_assertion(&cid("joe"), "x").verify_hmac(&jws, &hmac, now).unwrap_err(),
            expected,
            "{jws} as HS256"
        );
        assert_eq!(
            Validation::dpop_proof().verify_embedded_key(&jws, now).unwrap_err(),
            expected,
            "{jws} as a DPoP proof"
        );
    }
    // Appendix E's header, with an allowed algorithm: `crit` alone refuses it.
    let crit = format!(
        "{}.{PAYLOAD}.c2ln",
        b64(br#"{"alg":"ES256","crit":["http://example.com/UNDEFINED"],"http://example.com/UNDEFINED":true}"#)
    );
    assert_eq!(
        Validation::id_token("joe", &cid("x"))
            .verify(&crit, &keys, now)
            .unwrap_err(),
        JwtError::CriticalHeader
    );
}
