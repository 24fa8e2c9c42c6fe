//! The PostgreSQL key-set store: two instances over one database agreeing throughout a
//! rotation and a removal (JW-19). (The conformance suite runs on it in `postgres.rs`.)
//!
//! Needs the features `postgres` and `testing` and `DATABASE_URL` (an empty database, or
//! one migrated by grantflow); without `DATABASE_URL` each test says that it did not run.

#[cfg(all(feature = "postgres", feature = "testing"))]
mod pg {
    use std::sync::Arc;
    use std::time::SystemTime;

    use grantflow::jose::{
        AccessTokenVerifier, Algorithm, JwtError, KeySet, KeySetStore, SigningKey, Validation,
    };
    use grantflow::postgres::PgStores;

    use super::super::rotation::instance_named;
    use super::super::support::{ISSUER, RS, access_claims, at, decode};
    use crate::postgres::pg::{database_url, pool};

    /// One instance of the key set `name`, over a pool of its own.
    async fn instance_over(url: &str, name: &str) -> KeySet {
        let store: Arc<dyn KeySetStore> = PgStores::new(pool(url).await).key_sets();
        instance_named(store, name)
    }

    fn kid_of(jwt: &str) -> String {
        decode(jwt).0["kid"].as_str().unwrap().to_owned()
    }

    async fn verify(set: &KeySet, token: &str, now: SystemTime) -> Result<(), JwtError> {
        let keys = set.public_keys(now).await.unwrap();
        AccessTokenVerifier::new(Validation::access_token(ISSUER, RS), keys)
            .unwrap()
            .verify(token, now)
            .map(|_| ())
    }

    /// JW-19 across instances: A and B, each over its own pool, sign with the same key at
    /// every moment of a rotation, verify each other's tokens until they expire, and both
    /// refuse a removed key's tokens.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jw_19_two_instances_over_one_database_agree() {
        let Some(url) = database_url("jw_19_two_instances_over_one_database_agree") else {
            return;
        };
        let name = format!(
            "rotation-{}",
            SigningKey::generate(Algorithm::Es256).unwrap().kid()
        );
        let a = instance_over(&url, &name).await;
        let b = instance_over(&url, &name).await;
        let k1 = Arc::new(SigningKey::generate(Algorithm::Es256).unwrap());
        let k2 = Arc::new(SigningKey::generate(Algorithm::Es256).unwrap());
        for set in [&a, &b] {
            set.add_signer(k1.clone());
            set.add_signer(k2.clone());
        }
        // Both start at once; one bootstraps, the other finds the key there.
        let (ra, rb) = tokio::join!(
            a.bootstrap(k1.clone(), at(0)),
            b.bootstrap(k1.clone(), at(0))
        );
        assert_eq!(ra.unwrap().kid, rb.unwrap().kid);
        a.rotate(k2.clone(), at(30)).await.unwrap();
        let mut tokens: Vec<(String, u64)> = Vec::new();
        for second in (0..1500).step_by(11) {
            let now = at(second);
            let ta = a
                .sign_access_token(&access_claims(now, 600), now)
                .await
                .unwrap();
            let tb = b
                .sign_access_token(&access_claims(now, 600), now)
                .await
                .unwrap();
            assert_eq!(kid_of(&ta), kid_of(&tb), "different keys at {second} s");
            tokens.push((ta, second));
            tokens.push((tb, second));
            tokens.retain(|(_, signed)| second - signed <= 600);
            for (token, signed) in &tokens {
                let age = second - signed;
                if !(22..=578).contains(&age) {
                    assert_eq!(verify(&a, token, now).await, Ok(()), "{age} s old, on A");
                    assert_eq!(verify(&b, token, now).await, Ok(()), "{age} s old, on B");
                }
            }
        }
        // A withdraws K2; B follows at its next refresh, and K2's tokens fail on both.
        let now = at(1500);
        let token = b
            .sign_access_token(&access_claims(now, 600), now)
            .await
            .unwrap();
        assert_eq!(kid_of(&token), k2.kid());
        assert!(a.remove(k2.kid(), now).await.unwrap());
        assert_eq!(verify(&a, &token, now).await, Err(JwtError::UnknownKey));
        assert_eq!(
            verify(&b, &token, at(1561)).await,
            Err(JwtError::UnknownKey)
        );
        assert!(a.purge(at(3000)).await.unwrap() >= 1);
    }
}
