//! Checks of the [`AttemptLimiter`](crate::limiter::AttemptLimiter) contract, against the policy the
//! limiters under test were built with.

use std::time::Duration;

use super::{Ctx, Outcome, ensure, race, storage};
use crate::limiter::{AttemptKey, Outcome as Attempt, Throttle};
use crate::random::SystemRandom;
use crate::secret::random_secret;

/// A fresh key, so runs never share counts.
fn fresh_key() -> AttemptKey {
    AttemptKey::custom("conformance", &random_secret(&SystemRandom)[..16])
}

async fn check(
    ctx: &Ctx<'_>,
    i: usize,
    key: &AttemptKey,
    seconds: u64,
) -> Result<Throttle, String> {
    storage(ctx.limiter(i).check(key, ctx.at(seconds)).await, "check")
}

async fn record(
    ctx: &Ctx<'_>,
    i: usize,
    key: &AttemptKey,
    outcome: Attempt,
    seconds: u64,
) -> Result<Throttle, String> {
    storage(
        ctx.limiter(i).record(key, outcome, ctx.at(seconds)).await,
        "record",
    )
}

/// [RFC 6749 §2.3.1], [RFC 6749 §4.3.2], [RFC 8628 §5.1]: the limit of failures is answered,
/// spread over every handle; then
/// the key is locked out, for every outcome and with the right `retry_after`, until its
/// window ends, when a new count starts. Other keys are unaffected.
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
/// [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
/// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
pub(super) async fn lockout(ctx: &Ctx<'_>) -> Outcome {
    let (max, window) = ctx.policy();
    let key = fresh_key();
    for i in 0..max {
        let i = usize::try_from(i).unwrap_or(0);
        let before = check(ctx, i, &key, 0).await?;
        ensure!(
            before == Throttle::Allow,
            "check after {i} failures of {max} gave {before:?}"
        );
        let answered = record(ctx, i + 1, &key, Attempt::Failure, 0).await?;
        ensure!(
            answered == Throttle::Allow,
            "failure {} of {max} was not answered ({answered:?})",
            i + 1
        );
    }
    let locked = Throttle::Deny {
        retry_after: window - Duration::from_secs(1),
    };
    for i in 0..2 {
        let checked = check(ctx, i, &key, 1).await?;
        ensure!(
            checked == locked,
            "check after {max} failures gave {checked:?}, not {locked:?}"
        );
        for outcome in [Attempt::Failure, Attempt::Success] {
            let recorded = record(ctx, i, &key, outcome, 1).await?;
            ensure!(
                recorded == locked,
                "{outcome:?} during the lockout gave {recorded:?}, not {locked:?}"
            );
        }
    }
    let other = check(ctx, 1, &fresh_key(), 1).await?;
    ensure!(
        other == Throttle::Allow,
        "another key was locked out ({other:?})"
    );
    let end = window.as_secs();
    let after = check(ctx, 0, &key, end).await?;
    ensure!(
        after == Throttle::Allow,
        "check when the window ended gave {after:?}"
    );
    let counted = record(ctx, 1, &key, Attempt::Failure, end).await?;
    ensure!(
        counted == Throttle::Allow,
        "the first failure of a new window gave {counted:?}"
    );
    Ok(())
}

/// Successes count nothing and never clear failures: any number of them is answered, and
/// the key still locks out after exactly the limit of failures, successes in between.
pub(super) async fn successes(ctx: &Ctx<'_>) -> Outcome {
    let (max, _) = ctx.policy();
    let key = fresh_key();
    for i in 0..5 {
        let answered = record(ctx, i, &key, Attempt::Success, 0).await?;
        ensure!(
            answered == Throttle::Allow,
            "a success with no failure gave {answered:?}"
        );
    }
    for i in 0..max {
        let n = usize::try_from(i).unwrap_or(0);
        let failure = record(ctx, n, &key, Attempt::Failure, 0).await?;
        ensure!(
            failure == Throttle::Allow,
            "failure {} of {max}, between successes, gave {failure:?}",
            i + 1
        );
        if i + 1 < max {
            let success = record(ctx, n + 1, &key, Attempt::Success, 0).await?;
            ensure!(
                success == Throttle::Allow,
                "a success after {} of {max} failures gave {success:?}",
                i + 1
            );
        }
    }
    let locked = check(ctx, 0, &key, 0).await?;
    ensure!(
        matches!(locked, Throttle::Deny { .. }),
        "successes cleared failures: after {max} failures check gave {locked:?}"
    );
    Ok(())
}

/// [RFC 6749 §2.3.1]: N concurrent failures of one key, across every handle, get exactly the limit
/// of
/// answers (or N, if fewer); once the limit is reached, a success is refused.
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
pub(super) async fn race_failures(ctx: &Ctx<'_>) -> Outcome {
    let (max, _) = ctx.policy();
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let key = fresh_key();
    let now = ctx.at(0);
    let outcomes = race(ctx.tasks(), |i| {
        let (limiter, key) = (ctx.limiter(i), key.clone());
        async move { limiter.record(&key, Attempt::Failure, now).await }
    })
    .await?;
    let mut answered = 0;
    for outcome in outcomes {
        if storage(outcome, "a racing record")? == Throttle::Allow {
            answered += 1;
        }
    }
    ensure!(
        answered == ctx.tasks().min(max),
        "{answered} of {} concurrent failures were answered; the limit is {max}",
        ctx.tasks()
    );
    if answered == max {
        let late = record(ctx, 0, &key, Attempt::Success, 0).await?;
        ensure!(
            matches!(late, Throttle::Deny { .. }),
            "a success after the limit of failures was answered ({late:?})"
        );
    }
    Ok(())
}
