//! Checks of the [`SingleUseStore`](crate::store::SingleUseStore) contract.

use super::{Ctx, Outcome, call, ensure, exactly_one, fresh_hash, race, storage};
use crate::secret::TokenHash;
use crate::store::Consumption;

async fn consume(
    ctx: &Ctx<'_>,
    i: usize,
    key: &TokenHash,
    until: u64,
    now: u64,
) -> Result<Consumption, String> {
    storage(
        ctx.single_use(i)
            .consume(key, ctx.at(until), ctx.at(now))
            .await,
        "consume",
    )
}

/// [OpenID Connect Core 1.0 §9]: a key is `First` once, then `Replayed` by every handle until its
/// record
/// expires; after that it counts as absent and is `First` again; other keys are unaffected.
///
/// [OpenID Connect Core 1.0 §9]: https://openid.net/specs/openid-connect-core-1_0.html
pub(super) async fn consume_once(ctx: &Ctx<'_>) -> Outcome {
    let (key, other) = (fresh_hash(), fresh_hash());
    let first = consume(ctx, 0, &key, 60, 0).await?;
    ensure!(first == Consumption::First, "a new key gave {first:?}");
    for (i, now) in [(1, 0), (0, 30), (1, 59)] {
        let again = consume(ctx, i, &key, 60, now).await?;
        ensure!(
            again == Consumption::Replayed,
            "a recorded key gave {again:?} at +{now} s, before its expiry at +60 s"
        );
    }
    let unrelated = consume(ctx, 1, &other, 60, 1).await?;
    ensure!(
        unrelated == Consumption::First,
        "an unrelated key gave {unrelated:?}"
    );
    let after = consume(ctx, 0, &key, 200, 60).await?;
    ensure!(
        after == Consumption::First,
        "a key whose record expired gave {after:?}, not First"
    );
    let renewed = consume(ctx, 1, &key, 200, 100).await?;
    ensure!(
        renewed == Consumption::Replayed,
        "a key recorded again after its expiry gave {renewed:?}"
    );
    Ok(())
}

/// Purge removes expired records and keeps live ones.
pub(super) async fn purge(ctx: &Ctx<'_>) -> Outcome {
    let (live, expired) = (fresh_hash(), fresh_hash());
    consume(ctx, 0, &live, 600, 0).await?;
    consume(ctx, 1, &expired, 60, 0).await?;
    let purged = call!(ctx.single_use(1), purge_expired(ctx.at(100)));
    ensure!(
        purged >= 1,
        "purge_expired reported {purged} records; at least 1 expired"
    );
    let outcome = consume(ctx, 0, &live, 600, 101).await?;
    ensure!(
        outcome == Consumption::Replayed,
        "the purge touched a live record ({outcome:?})"
    );
    Ok(())
}

/// [OpenID Connect Core 1.0 §9], [RFC 9449 §4.2]: of N concurrent consumptions of one key, across
/// every handle, exactly one
/// is `First`.
///
/// [OpenID Connect Core 1.0 §9]: https://openid.net/specs/openid-connect-core-1_0.html
/// [RFC 9449 §4.2]: https://www.rfc-editor.org/rfc/rfc9449#section-4.2
pub(super) async fn race_consume(ctx: &Ctx<'_>) -> Outcome {
    let key = fresh_hash();
    let (until, now) = (ctx.at(60), ctx.at(0));
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.single_use(i);
        async move { store.consume(&key, until, now).await }
    })
    .await?;
    let mut winners = 0;
    for outcome in outcomes {
        if storage(outcome, "a racing consume")? == Consumption::First {
            winners += 1;
        }
    }
    exactly_one(winners, ctx.tasks(), "consumptions were First")
}
