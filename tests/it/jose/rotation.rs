//! Key rotation (JW-19) on the in-memory key-set store: the schedule, tokens signed before a
//! rotation verifying until they expire, removed keys failing, two instances agreeing. (The
//! store conformance suite runs on both key-set stores in `store_conformance.rs` and
//! `postgres.rs`.)

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use grantflow::jose::{
    AccessTokenVerifier, Algorithm, Claims, JwtError, JwtUse, KeySet, KeySetError, KeySetStore,
    KeyState, MemoryKeySetStore, SigningKey, Validation,
};

use super::support::{ISSUER, RS, access_claims, at, block_on, decode, key};

/// A key set over `store` with a 10-minute token lifetime, a 5-minute JWKS max-age and a
/// 60 s refresh interval: keys are published 360 s before they sign, and stay published
/// 900 s after they stop.
pub(crate) fn instance(store: Arc<dyn KeySetStore>) -> KeySet {
    instance_named(store, "default")
}

/// [`instance`], for the key set named `name`.
pub(crate) fn instance_named(store: Arc<dyn KeySetStore>, name: &str) -> KeySet {
    KeySet::builder(ISSUER, store)
        .name(name)
        .max_token_lifetime(Duration::from_secs(600))
        .jwks_max_age(Duration::from_secs(300))
        .refresh_interval(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn kid_of(jwt: &str) -> String {
    decode(jwt).0["kid"].as_str().unwrap().to_owned()
}

fn sign(set: &KeySet, now: SystemTime) -> Result<String, KeySetError> {
    block_on(set.sign_access_token(&access_claims(now, 600), now))
}

/// Verifies with the key set's published keys at `now`, as a resource server that fetched
/// the JWKS then would.
fn verify(set: &KeySet, token: &str, now: SystemTime) -> Result<(), JwtError> {
    let keys = block_on(set.public_keys(now)).unwrap();
    AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), keys)
        .unwrap()
        .verify(token, now)
        .map(|_| ())
}

fn published(set: &KeySet, now: SystemTime) -> Vec<String> {
    block_on(set.public_keys(now))
        .unwrap()
        .keys()
        .iter()
        .map(|k| k.thumbprint().to_owned())
        .collect()
}

#[test]
fn jw_19_a_token_signed_before_a_rotation_verifies_until_it_expires() {
    let set = instance(Arc::new(MemoryKeySetStore::new()));
    let k1 = key(Algorithm::Es256);
    let k2 = key(Algorithm::Es256);
    block_on(set.bootstrap(k1.clone(), at(0))).unwrap();
    let t1 = sign(&set, at(0)).unwrap();
    assert_eq!(kid_of(&t1), k1.kid());

    let record = block_on(set.rotate(k2.clone(), at(100))).unwrap();
    assert_eq!(set.publish_lead(), Duration::from_secs(360));
    assert_eq!(record.activates_at, at(460));
    // K2 is published at once, at least max-age before its first signature.
    assert!(published(&set, at(100)).contains(&k2.kid().to_owned()));
    assert_eq!(kid_of(&sign(&set, at(459)).unwrap()), k1.kid());
    let t2 = sign(&set, at(459)).unwrap();
    assert_eq!(kid_of(&sign(&set, at(460)).unwrap()), k2.kid());

    // T1 verifies until its exp (600 s, plus the 30 s leeway), after the rotation.
    assert_eq!(verify(&set, &t1, at(461)), Ok(()));
    assert_eq!(verify(&set, &t1, at(629)), Ok(()));
    assert_eq!(verify(&set, &t1, at(630)), Err(JwtError::Expired));
    // T2, signed by K1 just before K2 took over, verifies until its own expiry.
    assert_eq!(verify(&set, &t2, at(1088)), Ok(()));

    // K1 is published until 460 + 600 + 300 s, then removed; its tokens fail.
    let states = |now| {
        block_on(set.keys(now))
            .unwrap()
            .into_iter()
            .map(|k| (k.record.kid, k.state))
            .collect::<Vec<_>>()
    };
    assert!(states(at(1359)).contains(&(k1.kid().to_owned(), KeyState::Retired)));
    assert!(states(at(1360)).contains(&(k1.kid().to_owned(), KeyState::Removed)));
    assert_eq!(published(&set, at(1360)), [k2.kid().to_owned()]);
    let verifier = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, RS).leeway(Duration::from_secs(300)),
        block_on(set.public_keys(at(1360))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&t2, at(1360)).unwrap_err(),
        JwtError::UnknownKey
    );
    assert_eq!(block_on(set.purge(at(1360))).unwrap(), 1);
}

#[test]
fn jw_19_a_removed_key_fails_at_once() {
    let set = instance(Arc::new(MemoryKeySetStore::new()));
    let k1 = key(Algorithm::EdDsa);
    block_on(set.bootstrap(k1.clone(), at(0))).unwrap();
    let token = block_on(set.sign_with(
        Algorithm::EdDsa,
        JwtUse::AccessToken,
        &access_claims(at(0), 600).to_claims(),
        at(0),
    ))
    .unwrap();
    let verifier = AccessTokenVerifier::new(
        Validation::access_token(ISSUER, RS),
        block_on(set.public_keys(at(1))).unwrap(),
    )
    .unwrap();
    assert!(verifier.verify(&token, at(1)).is_ok());
    assert!(block_on(set.remove(k1.kid(), at(2))).unwrap());
    assert!(published(&set, at(2)).is_empty());
    assert!(matches!(
        block_on(set.sign_with(
            Algorithm::EdDsa,
            JwtUse::AccessToken,
            &access_claims(at(2), 60).to_claims(),
            at(2)
        )),
        Err(KeySetError::NoActiveKey(Algorithm::EdDsa))
    ));
    // A resource server that fetches the JWKS again refuses the token, cached or not.
    verifier.replace_keys(block_on(set.public_keys(at(3))).unwrap(), at(3));
    assert_eq!(
        verifier.verify(&token, at(3)).unwrap_err(),
        JwtError::UnknownKey
    );
    assert!(!block_on(set.remove("no-such-kid", at(3))).unwrap());
}

#[test]
fn jw_19_two_instances_agree_throughout_a_rotation() {
    let store: Arc<dyn KeySetStore> = Arc::new(MemoryKeySetStore::new());
    let a = instance(store.clone());
    let b = instance(store);
    let k1 = key(Algorithm::Es256);
    let k2 = key(Algorithm::Es256);
    // Both instances hold both private keys (loaded from the same PKCS#8 documents).
    for set in [&a, &b] {
        set.add_signer(k1.clone());
        set.add_signer(k2.clone());
    }
    block_on(a.bootstrap(k1.clone(), at(0))).unwrap();
    // B reads the schedule at its own times, up to a refresh interval late.
    assert_eq!(kid_of(&sign(&b, at(0)).unwrap()), k1.kid());
    block_on(a.rotate(k2.clone(), at(30))).unwrap();
    let mut tokens = Vec::new();
    for second in (0..2000).step_by(7) {
        let now = at(second);
        let (ta, tb) = (sign(&a, now).unwrap(), sign(&b, now).unwrap());
        assert_eq!(
            kid_of(&ta),
            kid_of(&tb),
            "the instances sign with different keys at {second} s"
        );
        tokens.push((tb, second));
        tokens.push((ta, second));
        tokens.retain(|(_, signed)| second - signed <= 600);
        // Each instance verifies what either signed, when it is new and when it is about to
        // expire: the moments a rotation could break.
        for (token, signed) in &tokens {
            let age = second - signed;
            if !(14..=586).contains(&age) {
                assert_eq!(
                    verify(&a, token, now),
                    Ok(()),
                    "a token {age} s old failed on A"
                );
                assert_eq!(
                    verify(&b, token, now),
                    Ok(()),
                    "a token {age} s old failed on B"
                );
            }
        }
    }
}

#[test]
fn bootstrap_rotate_and_sign_refuse_what_would_break_the_schedule() {
    let store: Arc<dyn KeySetStore> = Arc::new(MemoryKeySetStore::new());
    let a = instance(store.clone());
    let b = instance(store);
    let k1 = key(Algorithm::Es256);
    block_on(a.bootstrap(k1.clone(), at(0))).unwrap();
    // Bootstrapping the same key again (another instance starting) changes nothing.
    let again = block_on(b.bootstrap(k1.clone(), at(10))).unwrap();
    assert_eq!(again.activates_at, at(0));
    // Another key of the algorithm must be rotated in.
    assert!(matches!(
        block_on(a.bootstrap(key(Algorithm::Es256), at(20))),
        Err(KeySetError::Refused(_))
    ));
    assert!(matches!(
        block_on(a.rotate(k1.clone(), at(20))),
        Err(KeySetError::Refused(_))
    ));
    // An instance without the active key's private half cannot sign.
    let c = instance(Arc::new(MemoryKeySetStore::new()));
    let k = key(Algorithm::Es256);
    block_on(c.bootstrap(k.clone(), at(0))).unwrap();
    let stranger = KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
        .build()
        .unwrap();
    assert!(matches!(
        sign(&stranger, at(0)),
        Err(KeySetError::NoActiveKey(_))
    ));
    let store: Arc<dyn KeySetStore> = Arc::new(MemoryKeySetStore::new());
    let holder = instance(store.clone());
    block_on(holder.bootstrap(key(Algorithm::Es256), at(0))).unwrap();
    assert!(matches!(
        sign(&instance(store), at(0)),
        Err(KeySetError::NoSigner)
    ));
    // Tokens outliving the retention policy, or naming another issuer.
    let too_long = Claims::new().with_expires_at(at(601));
    assert!(matches!(
        block_on(a.sign(JwtUse::AccessToken, &too_long, at(0))),
        Err(KeySetError::Claims(_))
    ));
    assert!(matches!(
        block_on(a.sign(JwtUse::AccessToken, &Claims::new(), at(0))),
        Err(KeySetError::Claims(_))
    ));
    let other_issuer = Claims::new()
        .with_issuer("https://evil.example.com")
        .with_expires_at(at(60));
    assert!(matches!(
        block_on(a.sign(JwtUse::AccessToken, &other_issuer, at(0))),
        Err(KeySetError::Claims(_))
    ));
    // Out-of-range settings.
    for builder in [
        KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new())).name(""),
        KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
            .refresh_interval(Duration::ZERO),
        KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
            .max_token_lifetime(Duration::ZERO),
        KeySet::builder(ISSUER, Arc::new(MemoryKeySetStore::new()))
            .jwks_max_age(Duration::from_secs(86_401)),
    ] {
        assert!(builder.build().is_err());
    }
}

/// A signer whose signatures have the wrong shape (a KMS answering ES256 in DER, say) is
/// caught before its JWT goes out.
#[test]
fn a_signature_of_the_wrong_length_is_refused() {
    #[derive(Debug)]
    struct DerSigner(SigningKey);

    #[async_trait::async_trait]
    impl grantflow::jose::Signer for DerSigner {
        fn public_key(&self) -> &grantflow::jose::PublicJwk {
            self.0.public_key()
        }
        async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, grantflow::jose::SignError> {
            let mut signature = self.0.sign(message).await?;
            signature.insert(0, 0x30);
            Ok(signature)
        }
    }
    let set = instance(Arc::new(MemoryKeySetStore::new()));
    let signer = Arc::new(DerSigner(SigningKey::generate(Algorithm::Es256).unwrap()));
    block_on(set.bootstrap(signer, at(0))).unwrap();
    assert!(matches!(sign(&set, at(0)), Err(KeySetError::Sign(_))));
}

/// The plug-in traits are object-safe, the key set's futures are `Send` (an axum or hyper
/// handler awaits them on a multi-threaded runtime), and the shared types are `Send + Sync`.
#[test]
fn futures_are_send_and_types_are_shareable() {
    fn send<T: Send>(_: &T) {}
    fn shareable<T: Send + Sync + 'static>() {}
    let _: Option<&dyn grantflow::jose::Signer> = None;
    let _: Option<&dyn KeySetStore> = None;
    shareable::<KeySet>();
    shareable::<AccessTokenVerifier>();
    shareable::<grantflow::jose::JwkSet>();
    shareable::<grantflow::jose::PublicJwk>();
    shareable::<SigningKey>();
    shareable::<grantflow::jose::HmacKey>();
    shareable::<Validation>();
    let set = instance(Arc::new(MemoryKeySetStore::new()));
    let claims = access_claims(at(0), 60);
    send(&set.sign_access_token(&claims, at(0)));
    send(&set.rotate(key(Algorithm::Es256), at(0)));
    send(&set.jwks(at(0)));
    send(&set.refresh(at(0)));
}
