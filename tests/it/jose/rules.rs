//! The checklist's JW rules and EX-07/EX-08, each test named by the rule it checks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use grantflow::jose::{
    AccessTokenVerifier, Algorithm, AlgorithmSet, Claims, HmacKey, JwkSet, JwtError, JwtUse,
    KeyError, KeySet, MemoryKeySetStore, PublicJwk, SigningKey, Validation,
};

use super::support::{
    A3_D, ISSUER, RS, a3_jwk, access_claims, at, at_claims, at_header, b64, before, block_on, cid,
    decode, forge, jwks, key, key_set_with, secs,
};

fn access(keys: &JwkSet, token: &str) -> Result<(), JwtError> {
    Validation::access_token(ISSUER, RS)
        .verify(token, keys, at(0))
        .map(|_| ())
}

/// A valid access token by `k`, and the key set that verifies it.
fn valid(k: &SigningKey) -> (String, JwkSet) {
    (
        forge(&at_header(k), &at_claims(before(10), at(600)), k),
        jwks(&[k]),
    )
}

#[test]
fn jw_01_only_the_compact_serialization() {
    let k = key(Algorithm::Es256);
    let (token, keys) = valid(&k);
    assert_eq!(access(&keys, &token), Ok(()));
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    for bad in [
        format!("{header}.{payload}"),
        format!("{token}.x.y"),
        format!("{header}=.{payload}.{signature}"),
        format!("{header} .{payload}.{signature}"),
        format!("{header}.{payload}.{signature}\n"),
        format!("{header}.{payload}."),
        format!(r#"{{"alg":"ES256"}}.{payload}.{signature}"#),
        format!(r#"{{"protected":"{header}","payload":"{payload}","signature":"{signature}"}}"#),
        format!("{}+{}.{payload}.{signature}", &header[..4], &header[5..]),
    ] {
        assert_eq!(access(&keys, &bad), Err(JwtError::Malformed), "{bad}");
    }
}

#[test]
fn jw_02_header_and_claims_are_strict_json_objects() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let duplicate = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt","alg":"none"}}"#,
        k.kid()
    );
    let claims = at_claims(before(10), at(600));
    assert_eq!(
        access(&keys, &forge(&duplicate, &claims, &k)),
        Err(JwtError::InvalidHeader)
    );
    let header = at_header(&k);
    for bad in [
        format!("{claims}ABCD"),
        claims.replacen(r#""sub":"alice""#, r#""sub":"alice","sub":"mallory""#, 1),
        "[1]".to_owned(),
        r#""sub""#.to_owned(),
    ] {
        assert_eq!(
            access(&keys, &forge(&header, &bad, &k)),
            Err(JwtError::InvalidClaims),
            "{bad}"
        );
    }
    // The claims in UTF-16.
    let utf16: Vec<u8> = claims.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let input = format!("{}.{}", b64(header.as_bytes()), b64(&utf16));
    let signature = block_on(grantflow::jose::Signer::sign(&*k, input.as_bytes())).unwrap();
    assert_eq!(
        access(&keys, &format!("{input}.{}", b64(&signature))),
        Err(JwtError::InvalidClaims)
    );
}

#[test]
fn jw_03_limits_apply_before_decoding() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    // A 1 MiB client assertion is refused on its length alone.
    let huge = "A".repeat(1 << 20);
    assert_eq!(
        Validation::client_assertion(&cid("c"), ISSUER)
            .verify(&huge, &keys, at(0))
            .unwrap_err(),
        JwtError::TooLarge
    );
    // 8 KiB for client assertions and DPoP proofs, 16 KiB for tokens.
    let padding = "x".repeat(9 * 1024);
    let claims =
        at_claims(before(10), at(600)).replacen('{', &format!(r#"{{"pad":"{padding}","#), 1);
    let big = forge(&at_header(&k), &claims, &k);
    assert!(big.len() > 8 * 1024 && big.len() < 16 * 1024);
    assert_eq!(access(&keys, &big), Ok(()));
    assert_eq!(
        Validation::client_assertion(&cid("c"), ISSUER)
            .verify(&big, &keys, at(0))
            .unwrap_err(),
        JwtError::TooLarge
    );
    assert_eq!(
        Validation::access_token(ISSUER, RS)
            .max_len(4096)
            .verify(&big, &keys, at(0))
            .unwrap_err(),
        JwtError::TooLarge
    );
    // A header nested 10,000 levels deep.
    let deep = format!(
        r#"{{"alg":"ES256","typ":"at+jwt","x":{}1{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let token = format!("{}.e30.c2ln", b64(deep.as_bytes()));
    assert_eq!(access(&keys, &token), Err(JwtError::TooLarge));
    let roomy = Validation::access_token(ISSUER, RS).max_len(64 * 1024);
    assert_eq!(
        roomy.verify(&token, &keys, at(0)).unwrap_err(),
        JwtError::InvalidHeader
    );
    // A JWK Set over 64 KiB, or with over 100 keys.
    assert_eq!(
        JwkSet::parse(&vec![b' '; 64 * 1024 + 1]).unwrap_err(),
        KeyError::TooLarge
    );
    let one = k.public_key().to_json();
    let many = format!(r#"{{"keys":[{}]}}"#, vec![one.as_str(); 101].join(","));
    assert_eq!(
        JwkSet::parse(many.as_bytes()).unwrap_err(),
        KeyError::TooManyKeys
    );
}

#[test]
fn jw_04_alg_must_be_on_the_use_allow_list_exactly() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let claims = at_claims(before(10), at(600));
    for alg in ["noNE", "none", "es256", "ES384", "RS512", "HS256", "ES256 "] {
        let header = format!(r#"{{"alg":"{alg}","kid":"{}","typ":"at+jwt"}}"#, k.kid());
        assert_eq!(
            access(&keys, &forge(&header, &claims, &k)),
            Err(JwtError::AlgorithmNotAllowed),
            "{alg}"
        );
    }
    let no_alg = format!(r#"{{"kid":"{}","typ":"at+jwt"}}"#, k.kid());
    assert_eq!(
        access(&keys, &forge(&no_alg, &claims, &k)),
        Err(JwtError::AlgorithmNotAllowed)
    );
    // An allow-list without the key's algorithm refuses a token that is otherwise valid.
    let (token, keys) = valid(&k);
    let only_ed =
        Validation::access_token(ISSUER, RS).algorithms(AlgorithmSet::only(Algorithm::EdDsa));
    assert_eq!(
        only_ed.verify(&token, &keys, at(0)).unwrap_err(),
        JwtError::AlgorithmNotAllowed
    );
    let none = Validation::access_token(ISSUER, RS).algorithms(AlgorithmSet::EMPTY);
    assert_eq!(
        none.verify(&token, &keys, at(0)).unwrap_err(),
        JwtError::AlgorithmNotAllowed
    );
}

#[test]
fn jw_05_no_unsecured_jwt_is_produced_or_accepted() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let claims = at_claims(before(10), at(600));
    let unsecured = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"at+jwt"}"#),
        b64(claims.as_bytes())
    );
    assert_eq!(access(&keys, &unsecured), Err(JwtError::Malformed));
    assert!(AlgorithmSet::ALL.iter().all(|alg| alg.name() != "none"));
    assert_eq!(Algorithm::from_name("none"), None);
}

#[test]
fn jw_06_a_public_key_is_never_an_hmac_secret() {
    let k = key(Algorithm::Rs256);
    let keys = jwks(&[&k]);
    let claims = at_claims(before(10), at(600));
    let jwk_json = k.public_key().to_json();
    let jwk: serde_json::Value = serde_json::from_str(&jwk_json).unwrap();
    let modulus = super::support::unb64(jwk["n"].as_str().unwrap());
    for secret in [jwk_json.as_bytes().to_vec(), modulus] {
        let header = format!(r#"{{"alg":"HS256","kid":"{}","typ":"at+jwt"}}"#, k.kid());
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let tag = hmac_sha256(&secret, input.as_bytes());
        let token = format!("{input}.{}", b64(&tag));
        assert_eq!(access(&keys, &token), Err(JwtError::AlgorithmNotAllowed));
        // Not even the HS256 path of client assertions takes a public key's bytes for
        // another client's secret: the MAC is checked with the client's own secret.
        let assertion_key = HmacKey::new(b"the client's own 32-byte secret!").unwrap();
        assert_eq!(
            Validation::client_assertion(&cid("c"), ISSUER)
                .verify_hmac(&token, &assertion_key, at(0))
                .unwrap_err(),
            JwtError::WrongType,
            "an at+jwt is no client assertion"
        );
    }
    // The HS256 path refuses every asymmetric algorithm.
    let (token, _) = valid(&k);
    let hmac = HmacKey::new(&[1; 32]).unwrap();
    assert_eq!(
        Validation::client_assertion(&cid("c"), ISSUER)
            .verify_hmac(&token, &hmac, at(0))
            .unwrap_err(),
        JwtError::AlgorithmNotAllowed
    );
    // An ES256 token whose kid names an RSA key.
    let ec = key(Algorithm::Es256);
    let header = format!(r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt"}}"#, k.kid());
    assert_eq!(
        access(&jwks(&[&k, &ec]), &forge(&header, &claims, &ec)),
        Err(JwtError::KeyMismatch)
    );
    // A key registered for ES256 only; a PS256 header for an RS256 key.
    let ps = format!(r#"{{"alg":"PS256","kid":"{}","typ":"at+jwt"}}"#, k.kid());
    assert_eq!(
        access(&keys, &forge(&ps, &claims, &k)),
        Err(JwtError::KeyMismatch)
    );
    let ec_jwk = ec.public_key().to_json();
    assert!(ec_jwk.contains(r#""alg":"ES256""#));
    assert_eq!(
        PublicJwk::parse(ec_jwk.replace("ES256", "RS256").as_bytes()).unwrap_err(),
        KeyError::WrongAlgorithm
    );
}

/// HMAC-SHA256 (RFC 2104) over `sha2`, to forge MACs with any secret.
fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest as _, Sha256};
    let mut key = [0u8; 64];
    if secret.len() > 64 {
        key[..32].copy_from_slice(&Sha256::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let inner: Vec<u8> = key
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = key
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

#[test]
fn jw_07_kid_selects_a_key_of_the_expected_set_only() {
    let a = key(Algorithm::Es256);
    let b = key(Algorithm::Es256);
    let claims = at_claims(before(10), at(600));
    let a_keys = jwks(&[&a]);
    // Hostile kids are ordinary unknown keys.
    for kid in [
        "../../k",
        "' OR '1'='1",
        "",
        "\u{0}",
        &a.kid().to_lowercase(),
    ] {
        let header = format!(
            r#"{{"alg":"ES256","kid":{},"typ":"at+jwt"}}"#,
            serde_json::json!(kid)
        );
        assert_eq!(
            access(&a_keys, &forge(&header, &claims, &a)),
            Err(JwtError::UnknownKey),
            "{kid:?}"
        );
    }
    // Client A's set does not hold client B's key, whatever the token says.
    assert_eq!(
        access(&a_keys, &forge(&at_header(&b), &claims, &b)),
        Err(JwtError::UnknownKey)
    );
    // Without a kid: only when exactly one key fits the algorithm.
    let no_kid = r#"{"alg":"ES256","typ":"at+jwt"}"#;
    assert_eq!(access(&a_keys, &forge(no_kid, &claims, &a)), Ok(()));
    assert_eq!(
        access(&jwks(&[&a, &b]), &forge(no_kid, &claims, &a)),
        Err(JwtError::AmbiguousKey)
    );
    // The kid picks the key; the key's algorithm must be the header's.
    let both = jwks(&[&a, &b]);
    assert_eq!(access(&both, &forge(&at_header(&b), &claims, &b)), Ok(()));
    assert_eq!(
        access(&both, &forge(&at_header(&a), &claims, &b)),
        Err(JwtError::BadSignature)
    );
}

#[test]
fn jw_08_a_token_never_supplies_its_own_key() {
    let attacker = key(Algorithm::Es256);
    let trusted = key(Algorithm::Es256);
    let keys = jwks(&[&trusted]);
    let now = at(0);
    let assertion = format!(
        r#"{{"iss":"c","sub":"c","aud":"{ISSUER}","exp":{},"jti":"1"}}"#,
        secs(at(60))
    );
    let jwk = attacker.public_key().to_json();
    for header in [
        format!(r#"{{"alg":"ES256","jwk":{jwk}}}"#),
        format!(
            r#"{{"alg":"ES256","kid":"{}","jku":"https://attacker.test/jwks"}}"#,
            trusted.kid()
        ),
        format!(
            r#"{{"alg":"ES256","kid":"{}","x5u":"https://attacker.test/cert"}}"#,
            trusted.kid()
        ),
        format!(
            r#"{{"alg":"ES256","kid":"{}","x5c":["MIIB"]}}"#,
            trusted.kid()
        ),
    ] {
        assert_eq!(
            Validation::client_assertion(&cid("c"), ISSUER)
                .verify(&forge(&header, &assertion, &attacker), &keys, now)
                .unwrap_err(),
            JwtError::KeyInHeader,
            "{header}"
        );
    }
    // A DPoP proof is verified with its own public `jwk`, of the header's algorithm; never
    // with a private one, and a proof without one is refused.
    let proof_key = key(Algorithm::Es256);
    let proof_jwk = proof_key.public_key().to_json();
    let proof_claims = format!(
        r#"{{"jti":"p-1","iat":{},"htm":"POST","htu":"{ISSUER}/token"}}"#,
        secs(now)
    );
    let dpop = Validation::dpop_proof();
    let proof = forge(
        &format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{proof_jwk}}}"#),
        &proof_claims,
        &proof_key,
    );
    let verified = dpop.verify_embedded_key(&proof, now).unwrap();
    assert_eq!(verified.key().unwrap().thumbprint(), proof_key.kid());
    let private_jwk = proof_jwk.replacen('{', r#"{"d":"AAAA","#, 1);
    let ed_jwk = key(Algorithm::EdDsa).public_key().to_json();
    for header in [
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{private_jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{ed_jwk}}}"#),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":"{}"}}"#,
            proof_key.kid()
        ),
        r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_owned(),
    ] {
        assert_eq!(
            dpop.verify_embedded_key(&forge(&header, &proof_claims, &proof_key), now)
                .unwrap_err(),
            JwtError::KeyInHeader,
            "{header}"
        );
    }
    // A proof whose key did not sign it; a proof checked against a trusted set.
    let other = forge(
        &format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{proof_jwk}}}"#),
        &proof_claims,
        &attacker,
    );
    assert_eq!(
        dpop.verify_embedded_key(&other, now).unwrap_err(),
        JwtError::BadSignature
    );
    assert_eq!(
        dpop.verify(&proof, &keys, now).unwrap_err(),
        JwtError::KeyInHeader
    );
    // What the crate signs carries none of them.
    let set = key_set_with(key(Algorithm::Es256), now);
    let token = block_on(set.sign_access_token(&access_claims(now, 300), now)).unwrap();
    let (header, _) = decode(&token);
    for member in ["jku", "x5u", "x5c", "jwk"] {
        assert!(header.get(member).is_none(), "{member} in {header}");
    }
}

#[test]
fn jw_09_crit_is_refused() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let claims = at_claims(before(10), at(600));
    for crit in [
        r#""crit":[]"#,
        r#""crit":["exp"],"exp":1"#,
        r#""crit":"b64","b64":false"#,
    ] {
        let header = format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt",{crit}}}"#,
            k.kid()
        );
        assert_eq!(
            access(&keys, &forge(&header, &claims, &k)),
            Err(JwtError::CriticalHeader),
            "{crit}"
        );
    }
}

#[test]
fn jw_10_each_use_checks_its_own_typ() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let now = at(0);
    let claims = format!(
        r#"{{"iss":"c","sub":"c","aud":"{ISSUER}","exp":{},"iat":{},"jti":"1"}}"#,
        secs(at(60)),
        secs(now)
    );
    let typed = |typ: &str| {
        forge(
            &format!(r#"{{"alg":"ES256","kid":"{}","typ":"{typ}"}}"#, k.kid()),
            &claims,
            &k,
        )
    };
    let untyped = forge(
        &format!(r#"{{"alg":"ES256","kid":"{}"}}"#, k.kid()),
        &claims,
        &k,
    );
    let assertion = Validation::client_assertion(&cid("c"), ISSUER);
    for ok in [
        untyped.clone(),
        typed("JWT"),
        typed("client-authentication+jwt"),
        typed("application/Client-Authentication+JWT"),
    ] {
        assert!(assertion.verify(&ok, &keys, now).is_ok());
    }
    for other in [
        "dpop+jwt",
        "at+jwt",
        "oauth-authz-req+jwt",
        "logout+jwt",
        "secevent+jwt",
    ] {
        assert_eq!(
            assertion.verify(&typed(other), &keys, now).unwrap_err(),
            JwtError::WrongType,
            "{other} as a client assertion"
        );
    }
    let hint = Validation::id_token("c", &cid(ISSUER));
    assert_eq!(
        hint.verify(&typed("at+jwt"), &keys, now).unwrap_err(),
        JwtError::WrongType
    );
    assert!(hint.verify(&typed("JWT"), &keys, now).is_ok());
    let request = Validation::request_object(&cid("c"), ISSUER);
    assert!(
        request
            .verify(&typed("oauth-authz-req+jwt"), &keys, now)
            .is_ok()
    );
    assert!(request.verify(&untyped, &keys, now).is_ok());
    assert_eq!(
        request.verify(&typed("dpop+jwt"), &keys, now).unwrap_err(),
        JwtError::WrongType
    );
    // Access tokens: at+jwt in any case, with or without application/; nothing else.
    let at_claims = at_claims(before(10), at(600));
    for (typ, ok) in [
        ("at+jwt", true),
        ("application/AT+JWT", true),
        ("AT+jwt", true),
        ("JWT", false),
        ("jwt", false),
        ("text/at+jwt", false),
    ] {
        let header = format!(r#"{{"alg":"ES256","kid":"{}","typ":"{typ}"}}"#, k.kid());
        assert_eq!(
            access(&keys, &forge(&header, &at_claims, &k)).is_ok(),
            ok,
            "{typ}"
        );
    }
    // Every JWT the crate signs carries its use's typ.
    let set = key_set_with(key(Algorithm::Es256), now);
    for jwt_use in [JwtUse::AccessToken, JwtUse::IdToken, JwtUse::UserInfo] {
        let claims = Claims::new().with_subject("a").with_expires_at(at(60));
        let jwt = block_on(set.sign(jwt_use, &claims, now)).unwrap();
        assert_eq!(decode(&jwt).0["typ"], jwt_use.typ());
    }
}

#[test]
fn jw_11_nested_and_encrypted_jwts_are_refused() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let claims = at_claims(before(10), at(600));
    for extra in [
        r#""cty":"JWT""#,
        r#""cty":"application/jwt""#,
        r#""enc":"A256GCM""#,
        r#""zip":"DEF""#,
    ] {
        let header = format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt",{extra}}}"#,
            k.kid()
        );
        assert_eq!(
            access(&keys, &forge(&header, &claims, &k)),
            Err(JwtError::Unsupported),
            "{extra}"
        );
    }
    assert_eq!(access(&keys, "a.b.c.d.e"), Err(JwtError::Malformed));
}

#[test]
fn jw_12_signature_format_and_key_strength() {
    let k = key(Algorithm::Es256);
    let (token, keys) = valid(&k);
    // The same signature, DER-encoded.
    let (input, signature) = token.rsplit_once('.').unwrap();
    let raw = super::support::unb64(signature);
    let der_int = |half: &[u8]| {
        let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
        let mut int = if trimmed[0] & 0x80 != 0 {
            vec![0]
        } else {
            vec![]
        };
        int.extend(trimmed);
        let mut out = vec![0x02, int.len() as u8];
        out.extend(int);
        out
    };
    let body: Vec<u8> = [der_int(&raw[..32]), der_int(&raw[32..])].concat();
    let der: Vec<u8> = [vec![0x30, body.len() as u8], body].concat();
    assert!(der.len() > 64);
    assert_eq!(
        access(&keys, &format!("{input}.{}", b64(&der))),
        Err(JwtError::BadSignature)
    );
    // RSA under 2048 bits: refused as a key, skipped in a set.
    let n1024 = b64(&[0xc5; 128]);
    let short = format!(r#"{{"kty":"RSA","n":"{n1024}","e":"AQAB"}}"#);
    assert_eq!(
        PublicJwk::parse(short.as_bytes()).unwrap_err(),
        KeyError::WeakKey
    );
    let set = JwkSet::parse(format!(r#"{{"keys":[{short}]}}"#).as_bytes()).unwrap();
    assert!(set.is_empty() && set.skipped() == 1);
    assert!(SigningKey::generate_rsa(Algorithm::Rs256, 1024).is_err());
    // HMAC keys of at least 32 bytes.
    assert_eq!(HmacKey::new(&[7; 20]).unwrap_err(), KeyError::WeakKey);
    // EC points must be on the curve.
    let jwk: serde_json::Value = serde_json::from_str(&k.public_key().to_json()).unwrap();
    let off_curve = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["x"].as_str().unwrap()
    );
    assert_eq!(
        PublicJwk::parse(off_curve.as_bytes()).unwrap_err(),
        KeyError::InvalidKey
    );
}

#[test]
fn jw_13_issued_jwts_name_their_key_and_type() {
    let now = at(0);
    for algorithm in Algorithm::ALL {
        let set = key_set_with(key(algorithm), now);
        let token = block_on(set.sign_access_token(&access_claims(now, 300), now)).unwrap();
        let (header, _) = decode(&token);
        let published = block_on(set.public_keys(now)).unwrap();
        let kid = header["kid"].as_str().unwrap();
        assert_eq!(header["alg"], algorithm.name());
        assert_eq!(header["typ"], "at+jwt");
        assert!(
            published
                .keys()
                .iter()
                .any(|k| k.kid() == Some(kid) && k.thumbprint() == kid)
        );
        assert_eq!(header.as_object().unwrap().len(), 3, "{header}");
    }
}

#[test]
fn jw_14_time_claims_with_leeway() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let now = at(0);
    let header = at_header(&k);
    let check = |iat: u64, exp: u64, nbf: Option<u64>| {
        let mut claims = at_claims(before(600), at(0))
            .replace(
                &format!(r#""iat":{}"#, secs(before(600))),
                &format!(r#""iat":{iat}"#),
            )
            .replace(
                &format!(r#""exp":{}"#, secs(at(0))),
                &format!(r#""exp":{exp}"#),
            );
        if let Some(nbf) = nbf {
            claims = claims.replacen('{', &format!(r#"{{"nbf":{nbf},"#), 1);
        }
        access(&keys, &forge(&header, &claims, &k))
    };
    let t = secs(now);
    assert_eq!(check(t - 600, t - 31, None), Err(JwtError::Expired));
    assert_eq!(check(t - 600, t - 30, None), Err(JwtError::Expired));
    assert_eq!(check(t - 600, t - 29, None), Ok(()));
    assert_eq!(
        check(t - 600, t + 600, Some(t + 31)),
        Err(JwtError::NotYetValid)
    );
    assert_eq!(check(t - 600, t + 600, Some(t + 29)), Ok(()));
    assert_eq!(check(t + 31, t + 600, None), Err(JwtError::IssuedInFuture));
    assert_eq!(check(t + 29, t + 600, None), Ok(()));
    // Strings and other types.
    let claims = at_claims(before(10), at(600)).replace(
        &format!(r#""exp":{}"#, secs(at(600))),
        &format!(r#""exp":"{}""#, secs(at(600))),
    );
    assert_eq!(
        access(&keys, &forge(&header, &claims, &k)),
        Err(JwtError::InvalidClaim("exp"))
    );
    // The leeway is configurable up to 300 s.
    let token = forge(&header, &at_claims(before(1000), before(200)), &k);
    let lenient = Validation::access_token(ISSUER, RS).leeway(Duration::from_secs(3600));
    assert_eq!(lenient.verify(&token, &keys, now).map(|_| ()), Ok(()));
    let token = forge(&header, &at_claims(before(1000), before(400)), &k);
    assert_eq!(
        lenient.verify(&token, &keys, now).unwrap_err(),
        JwtError::Expired
    );
    let strict = Validation::access_token(ISSUER, RS).leeway(Duration::ZERO);
    let token = forge(&header, &at_claims(before(10), at(1)), &k);
    assert_eq!(strict.verify(&token, &keys, now).map(|_| ()), Ok(()));
    assert_eq!(
        strict.verify(&token, &keys, at(1)).unwrap_err(),
        JwtError::Expired
    );
    // A maximum age (DPoP proofs: 60 s by default; others when configured).
    let aged = Validation::access_token(ISSUER, RS).max_age(Duration::from_secs(60));
    let token = forge(&header, &at_claims(before(61), at(600)), &k);
    assert_eq!(
        aged.verify(&token, &keys, now).unwrap_err(),
        JwtError::TooOld
    );
    let token = forge(&header, &at_claims(before(59), at(600)), &k);
    assert!(aged.verify(&token, &keys, now).is_ok());
}

#[test]
fn jw_15_issuer_and_audience_are_compared_exactly() {
    let k = key(Algorithm::Es256);
    let keys = jwks(&[&k]);
    let header = at_header(&k);
    let base = at_claims(before(10), at(600));
    let with = |from: &str, to: &str| access(&keys, &forge(&header, &base.replace(from, to), &k));
    assert_eq!(
        with(RS, "https://rs.example.com/"),
        Err(JwtError::WrongAudience)
    );
    assert_eq!(
        with(RS, "https://RS.example.com"),
        Err(JwtError::WrongAudience)
    );
    assert_eq!(
        with(RS, "https://rs.example.com:443"),
        Err(JwtError::WrongAudience)
    );
    assert_eq!(
        with(
            &format!(r#""{RS}""#),
            &format!(r#"["https://other.example.com","{RS}"]"#)
        ),
        Ok(())
    );
    assert_eq!(
        with(ISSUER, "https://AS.example.com"),
        Err(JwtError::WrongIssuer)
    );
    assert_eq!(
        with(ISSUER, "https://as.example.com/"),
        Err(JwtError::WrongIssuer)
    );
    assert_eq!(
        with(&format!(r#""iss":"{ISSUER}","#), ""),
        Err(JwtError::MissingClaim("iss"))
    );
    assert_eq!(
        with(&format!(r#""aud":"{RS}","#), ""),
        Err(JwtError::MissingClaim("aud"))
    );
    // A use demanding a sole audience refuses any other member.
    let sole = Validation::access_token(ISSUER, RS).sole_audience();
    let two = forge(
        &header,
        &base.replace(
            &format!(r#""{RS}""#),
            &format!(r#"["{RS}","https://other.example.com"]"#),
        ),
        &k,
    );
    assert_eq!(
        sole.verify(&two, &keys, at(0)).unwrap_err(),
        JwtError::WrongAudience
    );
    assert!(
        sole.verify(&forge(&header, &base, &k), &keys, at(0))
            .is_ok()
    );
}

#[test]
fn jw_16_unique_jtis_and_unknown_claims_grant_nothing() {
    let now = at(0);
    let set = key_set_with(key(Algorithm::Es256), now);
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let claims = access_claims(now, 300);
        assert!(seen.insert(claims.jwt_id().to_owned()));
        assert!(claims.jwt_id().len() >= 22, "at least 128 bits");
    }
    let claims = access_claims(now, 300).with_claim("admin", true).unwrap();
    let token = block_on(set.sign_access_token(&claims, now)).unwrap();
    let verifier = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, RS),
        block_on(set.public_keys(now)).unwrap(),
    )
    .unwrap();
    let verified = verifier.verify(&token, now).unwrap();
    assert_eq!(verified.scope.to_string(), "read write");
    assert_eq!(
        verified.claims.get("admin"),
        Some(&serde_json::Value::Bool(true))
    );
}

#[test]
fn jw_17_the_jwks_publishes_public_members_only() {
    let now = at(0);
    let private = SigningKey::from_jwk(a3_jwk(Some(A3_D)).as_bytes()).unwrap();
    let set = key_set_with(Arc::new(private), now);
    block_on(set.rotate(key(Algorithm::Es256), now)).unwrap();
    block_on(set.bootstrap(key(Algorithm::EdDsa), now)).unwrap();
    let document = block_on(set.jwks(now)).unwrap();
    let response = document.to_response();
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=300")
    );
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let mut kids = HashSet::new();
    for key in keys {
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(key.get(member).is_none(), "{member} in {key}");
        }
        for member in ["kty", "kid", "use", "alg"] {
            assert!(key.get(member).is_some(), "no {member} in {key}");
        }
        assert_eq!(key["use"], "sig");
        assert!(kids.insert(key["kid"].as_str().unwrap().to_owned()));
    }
    // A set offering a private member is refused outright.
    let leaked = format!(r#"{{"keys":[{}]}}"#, a3_jwk(Some(A3_D)));
    assert_eq!(
        JwkSet::parse(leaked.as_bytes()).unwrap_err(),
        KeyError::PrivateKey
    );
}

#[test]
fn jw_20_remote_key_sets_are_parsed_leniently_and_refetched_sparingly() {
    let k = key(Algorithm::Es256);
    let jwk = k.public_key().to_json();
    let set = JwkSet::parse(
        format!(
            r#"{{"keys":[{jwk},{{"kty":"EC","crv":"P-521","x":"A","y":"B"}},{{"kty":"OKP","crv":"X448","x":"A"}},{{"kty":"RSA","e":"AQAB"}}],"next":"x"}}"#
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!((set.keys().len(), set.skipped()), (1, 3));
    let other = key(Algorithm::Es256);
    let verifier = AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), set).unwrap();
    let token = forge(&at_header(&other), &at_claims(before(10), at(600)), &other);
    let err = verifier.verify(&token, at(0)).unwrap_err();
    assert!(err.is_unknown_key());
    // One fetch, then none for 60 s.
    assert!(verifier.refetch_due(at(0)));
    assert!(!verifier.refetch_due(at(1)));
    assert!(!verifier.refetch_due(at(59)));
    verifier.replace_keys(jwks(&[&k, &other]), at(59));
    assert!(verifier.verify(&token, at(60)).is_ok());
    assert!(!verifier.refetch_due(at(100)));
    assert!(verifier.refetch_due(at(119)));
}

#[test]
fn jw_21_no_key_or_token_in_debug_or_errors() {
    let k = SigningKey::generate(Algorithm::Es256).unwrap();
    let der = k.to_pkcs8_der().unwrap();
    let shown = format!("{k:?} {der:?}");
    assert!(!shown.contains(&b64(der.expose_secret())));
    let secret_hex: String = der
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!shown.contains(&secret_hex[secret_hex.len() - 64..]));
    let hmac = HmacKey::new(b"a client secret of 32 bytes or more").unwrap();
    assert!(!format!("{hmac:?}").contains("client secret"));
    // Errors name the check, never the token.
    let keys = jwks(&[&k]);
    let token = forge(&at_header(&k), &at_claims(before(1000), before(100)), &k);
    let err = Validation::access_token(ISSUER, RS)
        .verify(&token, &keys, at(0))
        .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(token.split('.').nth(1).unwrap()));
        assert!(!text.contains(k.kid()));
    }
    let store_error = block_on(
        KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
            .build()
            .unwrap()
            .sign(
                JwtUse::AccessToken,
                &Claims::new().with_expires_at(at(60)),
                at(0),
            ),
    )
    .unwrap_err();
    assert_eq!(store_error.to_string(), "no active signing key for ES256");
}

/// EX-07: an issued access token has `typ: at+jwt` and the seven claims, `scope` when
/// requested, and RS256 is supported.
#[test]
fn ex_07_issued_access_tokens_have_the_rfc_9068_shape() {
    let now = at(0);
    for algorithm in [Algorithm::Rs256, Algorithm::Es256] {
        let set = key_set_with(key(algorithm), now);
        let claims = access_claims(now, 300)
            .with_auth_time(before(60))
            .with_acr("urn:mace:incommon:iap:silver");
        let token = block_on(set.sign_access_token(&claims, now)).unwrap();
        let (header, body) = decode(&token);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], algorithm.name());
        for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
            assert!(body.get(claim).is_some(), "no {claim} in {body}");
        }
        assert_eq!(body["iss"], ISSUER);
        assert_eq!(body["aud"], RS);
        assert_eq!(body["scope"], "read write");
        assert_eq!(body["exp"], secs(now) + 300);
        assert_eq!(body["auth_time"], secs(before(60)));
        assert_eq!(body["acr"], "urn:mace:incommon:iap:silver");
    }
    // No scope requested: no scope claim. No resource owner: sub is the client.
    let set = key_set_with(key(Algorithm::Es256), now);
    let claims = grantflow::jose::AccessTokenClaims::new(
        RS,
        &grantflow::ClientId::new("reporting").unwrap(),
        None,
        now,
        Duration::from_secs(300),
    )
    .with_scope(&grantflow::Scope::empty());
    let (_, body) = decode(&block_on(set.sign_access_token(&claims, now)).unwrap());
    assert!(body.get("scope").is_none());
    assert_eq!(body["sub"], "reporting");
    // Two resources: two audiences.
    let claims = access_claims(now, 300).with_audience("https://rs2.example.com");
    let (_, body) = decode(&block_on(set.sign_access_token(&claims, now)).unwrap());
    assert_eq!(
        body["aud"],
        serde_json::json!([RS, "https://rs2.example.com"])
    );
}

/// EX-08: the resource server's checks: `typ`, `iss`, `aud`, signature, `none`, `exp` with
/// skew; an ID token presented as an access token is refused.
#[test]
fn ex_08_access_token_validation_at_the_resource_server() {
    let now = at(0);
    let set = key_set_with(key(Algorithm::Es256), now);
    let keys = block_on(set.public_keys(now)).unwrap();
    let verifier =
        AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), keys.clone()).unwrap();
    let token = block_on(set.sign_access_token(&access_claims(now, 300), now)).unwrap();
    let verified = verifier.verify(&token, now).unwrap();
    assert_eq!(verified.issuer, ISSUER);
    assert_eq!(verified.subject.as_str(), "alice");
    assert_eq!(verified.client_id.as_str(), "reporting");
    assert_eq!(verified.expires_at, at(300));
    // An OIDC ID token (typ JWT) with the same claims.
    let id_token =
        block_on(set.sign(JwtUse::IdToken, &access_claims(now, 300).to_claims(), now)).unwrap();
    assert_eq!(
        verifier.verify(&id_token, now).unwrap_err(),
        JwtError::WrongType
    );
    // Another resource server, another issuer.
    let elsewhere = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, "https://other.example.com"),
        keys.clone(),
    )
    .unwrap();
    assert_eq!(
        elsewhere.verify(&token, now).unwrap_err(),
        JwtError::WrongAudience
    );
    let impostor = AccessTokenVerifier::new(
        Validation::access_token("https://evil.example.com", RS),
        keys,
    )
    .unwrap();
    assert_eq!(
        impostor.verify(&token, now).unwrap_err(),
        JwtError::WrongIssuer
    );
    // Expiry with the default 30 s of skew.
    assert!(verifier.verify(&token, at(329)).is_ok());
    assert_eq!(
        verifier.verify(&token, at(330)).unwrap_err(),
        JwtError::Expired
    );
    // `none`, with the signature stripped.
    let (_, body) = token.split_once('.').unwrap();
    let (payload, _) = body.split_once('.').unwrap();
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"at+jwt"}"#));
    assert_eq!(
        verifier.verify(&none, now).unwrap_err(),
        JwtError::Malformed
    );
    // A missing client_id.
    let k = key(Algorithm::Es256);
    let claims = at_claims(before(10), at(600)).replace(r#""client_id":"reporting","#, "");
    let no_client =
        AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), jwks(&[&k])).unwrap();
    assert_eq!(
        no_client
            .verify(&forge(&at_header(&k), &claims, &k), now)
            .unwrap_err(),
        JwtError::MissingClaim("client_id")
    );
    let claims =
        at_claims(before(10), at(600)).replace(r#""scope":"read write""#, r#""scope":["read"]"#);
    assert_eq!(
        no_client
            .verify(&forge(&at_header(&k), &claims, &k), now)
            .unwrap_err(),
        JwtError::InvalidClaim("scope")
    );
}
