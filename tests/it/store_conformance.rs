//! The store conformance suite (`grantflow::testing`, feature `testing`) against the
//! in-memory stores: AC-01, AC-02, AC-04, RT-05, RT-06, DG-10 and DG-11 at the store level,
//! and TE-10, PW-03 and DG-07 for the attempt limiter, including the races. The PostgreSQL
//! stores run the same suite in `tests/stores/postgres.rs`.

#[cfg(feature = "testing")]
mod suite {
    use std::sync::Arc;
    use std::time::Duration;

    use grantflow::limiter::MemoryAttemptLimiter;
    use grantflow::store::{MemoryPushedRequestStore, MemorySingleUseStore};
    use grantflow::testing::Conformance;
    use grantflow::{MemoryClientRegistry, MemoryCodeStore, MemoryDeviceStore, MemoryTokenStore};

    const WINDOW: Duration = Duration::from_secs(60);

    /// Every check passes, none is skipped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ac_04_rt_05_dg_11_te_10_ca_05_memory_stores_pass_the_conformance_suite() {
        let clients = Arc::new(MemoryClientRegistry::new());
        let suite = Conformance::new()
            .token_store(Arc::new(MemoryTokenStore::new()))
            .code_store(Arc::new(MemoryCodeStore::new()))
            .single_use_store(Arc::new(MemorySingleUseStore::new()))
            .pushed_request_store(Arc::new(MemoryPushedRequestStore::new()))
            .device_store(Arc::new(MemoryDeviceStore::new()))
            .client_registry(clients.clone())
            .registration_store(clients)
            .attempt_limiter(Arc::new(MemoryAttemptLimiter::new(10, WINDOW)), 10, WINDOW);
        #[cfg(feature = "jwt")]
        let suite = suite.key_set_store(Arc::new(grantflow::jose::MemoryKeySetStore::new()));
        let report = suite
            .run()
            .await
            .unwrap_or_else(|failures| panic!("{failures}"));
        assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
        assert_eq!(report.passed.len(), Conformance::checks().count());
    }

    /// Two handles on one memory store stand for two instances: the checks spread their
    /// calls over both, which must make no difference.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn calls_spread_over_two_handles_of_one_store() {
        let tokens = Arc::new(MemoryTokenStore::new());
        let codes = Arc::new(MemoryCodeStore::new());
        let single_use = Arc::new(MemorySingleUseStore::new());
        let pushed = Arc::new(MemoryPushedRequestStore::new());
        let devices = Arc::new(MemoryDeviceStore::new());
        let clients = Arc::new(MemoryClientRegistry::new());
        let limiter = Arc::new(MemoryAttemptLimiter::new(3, WINDOW));
        let report = Conformance::new()
            .token_store(tokens.clone())
            .token_store(tokens)
            .code_store(codes.clone())
            .code_store(codes)
            .single_use_store(single_use.clone())
            .single_use_store(single_use)
            .pushed_request_store(pushed.clone())
            .pushed_request_store(pushed)
            .device_store(devices.clone())
            .device_store(devices)
            .client_registry(clients.clone())
            .client_registry(clients.clone())
            .registration_store(clients.clone())
            .registration_store(clients)
            .attempt_limiter(limiter.clone(), 3, WINDOW)
            .attempt_limiter(limiter, 3, WINDOW)
            .concurrency(16);
        #[cfg(feature = "jwt")]
        let report = {
            let keys = Arc::new(grantflow::jose::MemoryKeySetStore::new());
            report.key_set_store(keys.clone()).key_set_store(keys)
        };
        let report = report
            .run()
            .await
            .unwrap_or_else(|failures| panic!("{failures}"));
        assert!(report.skipped.is_empty());
    }

    /// A store that breaks a contract is caught, by name, and the other checks still run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_without_rotation_fails_the_rotation_checks() {
        use crate::support::faults::NoRotation;
        let failures = Conformance::new()
            .token_store(Arc::new(NoRotation::default()))
            .concurrency(4)
            .run()
            .await
            .expect_err("rotation is not implemented");
        let failed: Vec<&str> = failures.failures.iter().map(|f| f.check).collect();
        assert!(failed.contains(&"tokens.rotate"), "{failed:?}");
        assert!(failed.contains(&"tokens.race.rotate"), "{failed:?}");
        assert!(failures.passed.contains(&"tokens.round_trip"));
        assert!(failures.to_string().contains("tokens.rotate: "));
    }

    /// A limiter that counts successes like failures (so a client's own traffic locks it
    /// out) fails the successes check, and only that one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn te_10_a_limiter_that_counts_successes_fails_the_successes_check() {
        #[derive(Debug)]
        struct CountsEverything(MemoryAttemptLimiter);

        #[async_trait::async_trait]
        impl grantflow::limiter::AttemptLimiter for CountsEverything {
            async fn check(
                &self,
                key: &grantflow::limiter::AttemptKey,
                now: std::time::SystemTime,
            ) -> Result<grantflow::limiter::Throttle, grantflow::StorageError> {
                self.0.check(key, now).await
            }
            async fn record(
                &self,
                key: &grantflow::limiter::AttemptKey,
                _outcome: grantflow::limiter::Outcome,
                now: std::time::SystemTime,
            ) -> Result<grantflow::limiter::Throttle, grantflow::StorageError> {
                self.0
                    .record(key, grantflow::limiter::Outcome::Failure, now)
                    .await
            }
        }

        let limiter = Arc::new(CountsEverything(MemoryAttemptLimiter::new(3, WINDOW)));
        let failures = Conformance::new()
            .attempt_limiter(limiter, 3, WINDOW)
            .concurrency(8)
            .run()
            .await
            .expect_err("successes are counted");
        let failed: Vec<&str> = failures.failures.iter().map(|f| f.check).collect();
        assert_eq!(failed, ["limiters.successes"]);
        assert!(failures.passed.contains(&"limiters.lockout"));
        assert!(failures.passed.contains(&"limiters.race.failures"));
    }
}

/// Without the `testing` feature the suite is not built; say so in the test output.
#[cfg(not(feature = "testing"))]
#[test]
#[ignore = "the store conformance suite needs `--features testing` (see the README)"]
fn store_conformance_suite_did_not_run() {}
