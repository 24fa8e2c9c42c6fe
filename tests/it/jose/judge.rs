//! An independent JWT library as judge: `jsonwebtoken` on RustCrypto (p256, ed25519-dalek,
//! rsa), so neither side shares grantflow's backend (aws-lc-rs) or its JOSE code. Tokens the
//! crate signs verify with it; tokens it signs, right and wrong, are accepted or refused by
//! the crate as the RFCs say.

use std::time::SystemTime;

use base64::Engine as _;
use grantflow::jose::{AccessTokenVerifier, Algorithm, JwkSet, JwtError, SigningKey, Validation};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, jwk::Jwk};
use serde::{Deserialize, Serialize};

use super::support::{ISSUER, RS, access_claims, block_on, jwks, key, key_set_with, secs};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct AtClaims {
    iss: String,
    sub: String,
    aud: String,
    client_id: String,
    iat: u64,
    exp: u64,
    jti: String,
    scope: String,
}

fn now() -> SystemTime {
    // jsonwebtoken checks `exp` against the system clock.
    SystemTime::now()
}

fn claims(now: SystemTime) -> AtClaims {
    AtClaims {
        iss: ISSUER.to_owned(),
        sub: "alice".to_owned(),
        aud: RS.to_owned(),
        client_id: "reporting".to_owned(),
        iat: secs(now),
        exp: secs(now) + 300,
        jti: "jti-1".to_owned(),
        scope: "read write".to_owned(),
    }
}

fn judge_alg(algorithm: Algorithm) -> jsonwebtoken::Algorithm {
    match algorithm {
        Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::Ps256 => jsonwebtoken::Algorithm::PS256,
        _ => unreachable!("every algorithm is listed"),
    }
}

/// The judge's signing key for one of our private keys (exported as PKCS#8).
fn judge_key(key: &SigningKey) -> EncodingKey {
    let der = key.to_pkcs8_der().unwrap();
    match key.algorithm() {
        Algorithm::Es256 => EncodingKey::from_ec_der(der.expose_secret()),
        Algorithm::EdDsa => EncodingKey::from_ed_der(der.expose_secret()),
        _ => {
            let body = base64::engine::general_purpose::STANDARD.encode(der.expose_secret());
            let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
        }
    }
}

fn judge_validation(algorithm: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.set_audience(&[RS]);
    validation.set_issuer(&[ISSUER]);
    validation
}

/// EX-07: for every algorithm, an access token the crate signs verifies with the judge,
/// using the key as published in the JWKS, and its claims are the RFC 9068 ones.
#[test]
fn ex_07_our_access_tokens_verify_with_the_judge() {
    let now = now();
    for algorithm in Algorithm::ALL {
        let set = key_set_with(key(algorithm), now);
        let token =
            block_on(set.sign_access_token(&access_claims(now, 300).with_jwt_id("jti-1"), now))
                .unwrap();
        let jwks: serde_json::Value =
            serde_json::from_slice(&block_on(set.jwks(now)).unwrap().body).unwrap();
        let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), jwk.common.key_id.as_deref());
        let data = jsonwebtoken::decode::<AtClaims>(
            &token,
            &decoding,
            &judge_validation(judge_alg(algorithm)),
        )
        .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(data.claims, claims(now), "{algorithm}");
        // A token changed in transit does not verify with the judge either.
        let mut tampered = token.clone();
        tampered.insert(tampered.find('.').unwrap() + 5, 'A');
        assert!(
            jsonwebtoken::decode::<AtClaims>(
                &tampered,
                &decoding,
                &judge_validation(judge_alg(algorithm))
            )
            .is_err()
        );
    }
}

/// The judge's well-formed access tokens are accepted, for every algorithm.
#[test]
fn ex_08_judge_tokens_are_accepted() {
    let now = now();
    for algorithm in Algorithm::ALL {
        let k = key(algorithm);
        let mut header = Header::new(judge_alg(algorithm));
        header.kid = Some(k.kid().to_owned());
        header.typ = Some("at+jwt".to_owned());
        let token = jsonwebtoken::encode(&header, &claims(now), &judge_key(&k)).unwrap();
        let verifier =
            AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), jwks(&[&k])).unwrap();
        let verified = verifier
            .verify(&token, now)
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(verified.subject.as_str(), "alice");
        assert_eq!(verified.scope.to_string(), "read write");
    }
}

/// The judge's tokens that the RFCs say to refuse: a wrong key, algorithm, `typ`, audience,
/// issuer, lifetime; an HS256 token keyed with the public key; an embedded `jwk`; `crit`;
/// an oversized or malformed token; `alg: none`.
#[test]
fn jw_06_jw_08_jw_09_ex_08_wrong_judge_tokens_are_refused() {
    let now = now();
    let k = key(Algorithm::Es256);
    let stranger = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let verifier =
        AccessTokenVerifier::with_cache_capacity(Validation::access_token(ISSUER, RS), keys, 0)
            .unwrap();
    let header = |alg: jsonwebtoken::Algorithm| {
        let mut h = Header::new(alg);
        h.kid = Some(k.kid().to_owned());
        h.typ = Some("at+jwt".to_owned());
        h
    };
    let es256 = header(jsonwebtoken::Algorithm::ES256);
    let sign =
        |h: &Header, c: &AtClaims, key: &EncodingKey| jsonwebtoken::encode(h, c, key).unwrap();
    let right = judge_key(&k);
    let at = |delta: i64| (secs(now) as i64 + delta) as u64;

    let mut cases: Vec<(&str, String, JwtError)> = Vec::new();
    cases.push((
        "another key under our kid",
        sign(&es256, &claims(now), &judge_key(&stranger)),
        JwtError::BadSignature,
    ));
    // RS384 and RS512 with an RSA key that is published for RS256.
    let rsa = key(Algorithm::Rs256);
    for alg in [
        jsonwebtoken::Algorithm::RS384,
        jsonwebtoken::Algorithm::RS512,
    ] {
        let mut h = header(alg);
        h.kid = Some(rsa.kid().to_owned());
        cases.push((
            "RS384/RS512",
            sign(&h, &claims(now), &judge_key(&rsa)),
            JwtError::AlgorithmNotAllowed,
        ));
    }
    let mut typ = es256.clone();
    typ.typ = Some("JWT".to_owned());
    cases.push((
        "typ JWT",
        sign(&typ, &claims(now), &right),
        JwtError::WrongType,
    ));
    typ.typ = None;
    cases.push((
        "no typ",
        sign(&typ, &claims(now), &right),
        JwtError::WrongType,
    ));
    let mut c = claims(now);
    c.aud = "https://other.example.com".to_owned();
    cases.push((
        "another audience",
        sign(&es256, &c, &right),
        JwtError::WrongAudience,
    ));
    let mut c = claims(now);
    c.iss = "https://as.example.com/".to_owned();
    cases.push((
        "another issuer",
        sign(&es256, &c, &right),
        JwtError::WrongIssuer,
    ));
    let mut c = claims(now);
    c.exp = at(-31);
    cases.push(("expired", sign(&es256, &c, &right), JwtError::Expired));
    let mut c = claims(now);
    c.iat = at(120);
    cases.push((
        "issued in the future",
        sign(&es256, &c, &right),
        JwtError::IssuedInFuture,
    ));
    // HS256 keyed with the public key, in every encoding at hand.
    let public_jwk = k.public_key().to_json();
    let jwk: serde_json::Value = serde_json::from_str(&public_jwk).unwrap();
    let x = super::support::unb64(jwk["x"].as_str().unwrap());
    let y = super::support::unb64(jwk["y"].as_str().unwrap());
    let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
    for secret in [public_jwk.as_bytes().to_vec(), point] {
        let token = sign(
            &header(jsonwebtoken::Algorithm::HS256),
            &claims(now),
            &EncodingKey::from_secret(&secret).unwrap(),
        );
        cases.push((
            "HS256 with the public key",
            token,
            JwtError::AlgorithmNotAllowed,
        ));
    }
    // An embedded jwk (the attacker's), and crit.
    let mut embedded = es256.clone();
    embedded.kid = Some(stranger.kid().to_owned());
    embedded.jwk = Some(serde_json::from_str(&stranger.public_key().to_json()).unwrap());
    cases.push((
        "embedded jwk",
        sign(&embedded, &claims(now), &judge_key(&stranger)),
        JwtError::KeyInHeader,
    ));
    let mut crit = es256.clone();
    crit.crit = Some(vec!["exp".to_owned()]);
    cases.push((
        "crit",
        sign(&crit, &claims(now), &right),
        JwtError::CriticalHeader,
    ));
    let mut jku = es256.clone();
    jku.jku = Some("https://attacker.test/jwks".to_owned());
    cases.push((
        "jku",
        sign(&jku, &claims(now), &right),
        JwtError::KeyInHeader,
    ));
    // Oversized: a 17 KiB claim.
    let mut c = claims(now);
    c.scope = "read ".repeat(17 * 1024 / 5);
    cases.push(("oversized", sign(&es256, &c, &right), JwtError::TooLarge));
    // Malformed segments of a good token.
    let good = sign(&es256, &claims(now), &right);
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    cases.push((
        "padded header",
        format!("{h}=.{p}.{s}"),
        JwtError::Malformed,
    ));
    cases.push((
        "standard base64",
        format!("{h}.{p}.+{}", &s[1..]),
        JwtError::Malformed,
    ));
    cases.push((
        "four segments",
        format!("{h}.{p}.{s}.{s}"),
        JwtError::Malformed,
    ));
    cases.push(("no signature", format!("{h}.{p}."), JwtError::Malformed));
    cases.push((
        "alg none",
        format!(
            "{}.{p}.",
            super::support::b64(br#"{"alg":"none","typ":"at+jwt"}"#)
        ),
        JwtError::Malformed,
    ));
    cases.push((
        "alg none with a signature",
        format!(
            "{}.{p}.{s}",
            super::support::b64(br#"{"alg":"none","typ":"at+jwt"}"#)
        ),
        JwtError::AlgorithmNotAllowed,
    ));
    for (what, token, expected) in cases {
        assert_eq!(
            verifier.verify(&token, now).unwrap_err(),
            expected,
            "{what}"
        );
    }
    // The unaltered token passes, so each refusal above is the alteration's.
    assert!(verifier.verify(&good, now).is_ok());
}

/// The judge's JWK Set reading agrees with ours on a set the crate publishes, and a
/// judge-made JWK Set (from its `Jwk` type) parses here.
#[test]
fn jwk_sets_round_trip_through_the_judge() {
    let now = now();
    let set = key_set_with(key(Algorithm::Rs256), now);
    block_on(set.bootstrap(key(Algorithm::EdDsa), now)).unwrap();
    block_on(set.bootstrap(key(Algorithm::Es256), now)).unwrap();
    let body = block_on(set.jwks(now)).unwrap().body;
    let theirs: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&body).unwrap();
    assert_eq!(theirs.keys.len(), 3);
    let again = serde_json::to_vec(&theirs).unwrap();
    let ours = JwkSet::parse(&again).unwrap();
    assert_eq!(ours, JwkSet::parse(&body).unwrap());
}
