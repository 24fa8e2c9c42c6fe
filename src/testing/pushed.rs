//! Checks of the [`PushedRequestStore`](crate::store::PushedRequestStore) contract.

use super::{Ctx, Outcome, ensure, exactly_one, fresh_client, fresh_hash, race, storage};
use crate::secret::TokenHash;
use crate::store::PushedRequest;

/// Inserts a record for a fresh client under `key`, expiring at `base + until`.
async fn insert(
    ctx: &Ctx<'_>,
    i: usize,
    key: &TokenHash,
    until: u64,
) -> Result<PushedRequest, String> {
    let record = PushedRequest::new(
        fresh_client("conformance-par")?,
        "response_type=code&client_id=c&state=%C3%A9+x&scope=read".to_owned(),
        ctx.at(until),
    );
    storage(ctx.pushed(i).insert(key, record.clone()).await, "insert")?;
    Ok(record)
}

/// [RFC 9126 §2.2], [RFC 9126 §4]: a record reads back exactly from every handle until it
/// expires or is consumed; consumption succeeds once; other keys are unaffected.
///
/// [RFC 9126 §2.2]: https://www.rfc-editor.org/rfc/rfc9126#section-2.2
/// [RFC 9126 §4]: https://www.rfc-editor.org/rfc/rfc9126#section-4
pub(super) async fn consume_once(ctx: &Ctx<'_>) -> Outcome {
    let (key, other, unknown) = (fresh_hash(), fresh_hash(), fresh_hash());
    let record = insert(ctx, 0, &key, 90).await?;
    insert(ctx, 1, &other, 90).await?;
    for (i, now) in [(0, 0), (1, 45), (0, 89)] {
        let found = storage(ctx.pushed(i).find(&key, ctx.at(now)).await, "find")?;
        ensure!(
            found.as_ref() == Some(&record),
            "find at +{now} s gave {found:?}, not the record inserted"
        );
    }
    let found = storage(ctx.pushed(0).find(&unknown, ctx.at(89)).await, "find")?;
    ensure!(found.is_none(), "an unknown key was found: {found:?}");
    let missing = storage(ctx.pushed(1).consume(&unknown, ctx.at(89)).await, "consume")?;
    ensure!(!missing, "an unknown key was consumed");
    let first = storage(ctx.pushed(1).consume(&key, ctx.at(89)).await, "consume")?;
    ensure!(first, "the first consumption of a live record failed");
    let again = storage(ctx.pushed(0).consume(&key, ctx.at(89)).await, "consume")?;
    ensure!(!again, "a consumed record was consumed again");
    let found = storage(ctx.pushed(0).find(&key, ctx.at(89)).await, "find")?;
    ensure!(found.is_none(), "a consumed record was found: {found:?}");
    let found = storage(ctx.pushed(1).find(&other, ctx.at(90)).await, "find")?;
    ensure!(found.is_none(), "an expired record was found: {found:?}");
    let expired = storage(ctx.pushed(0).consume(&other, ctx.at(90)).await, "consume")?;
    ensure!(!expired, "an expired record was consumed");
    Ok(())
}

/// Purge removes expired records and keeps live ones.
pub(super) async fn purge(ctx: &Ctx<'_>) -> Outcome {
    let (live, expired) = (fresh_hash(), fresh_hash());
    insert(ctx, 0, &live, 600).await?;
    insert(ctx, 1, &expired, 60).await?;
    let purged = storage(
        ctx.pushed(1).purge_expired(ctx.at(100)).await,
        "purge_expired",
    )?;
    ensure!(
        purged >= 1,
        "purge_expired reported {purged} records; at least 1 expired"
    );
    let found = storage(ctx.pushed(0).find(&live, ctx.at(101)).await, "find")?;
    ensure!(found.is_some(), "the purge removed a live record");
    Ok(())
}

/// [RFC 9126 §4]: of N concurrent consumptions of one record, across every handle,
/// exactly one succeeds.
///
/// [RFC 9126 §4]: https://www.rfc-editor.org/rfc/rfc9126#section-4
pub(super) async fn race_consume(ctx: &Ctx<'_>) -> Outcome {
    let key = fresh_hash();
    insert(ctx, 0, &key, 90).await?;
    let now = ctx.at(1);
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.pushed(i);
        async move { store.consume(&key, now).await }
    })
    .await?;
    let mut winners = 0;
    for outcome in outcomes {
        if storage(outcome, "a racing consume")? {
            winners += 1;
        }
    }
    exactly_one(winners, ctx.tasks(), "consumptions succeeded")
}
