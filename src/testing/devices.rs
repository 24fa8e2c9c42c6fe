//! Checks of the [`DeviceStore`](crate::store::DeviceStore) contract.

use std::time::{Duration, SystemTime};

use super::{
    Ctx, Outcome, call, ensure, exactly_one, fresh_client, fresh_hash, race, storage, two_resources,
};
use crate::grant::device::handler::record_poll;
use crate::secret::{TokenHash, random_secret};
use crate::store::{
    DeviceDecision, DeviceInsert, DevicePolling, DeviceRecord, DeviceRedemption, DeviceState,
};
use crate::types::{ClientId, GrantId, Scope, Subject};

/// The polling interval of the suite's requests.
const INTERVAL: Duration = Duration::from_secs(5);

/// A random user code in the default alphabet's shape (16 letters, so runs never collide).
fn fresh_user_code() -> String {
    random_secret(&crate::random::SystemRandom)
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .take(16)
        .map(|b| char::from(b.to_ascii_uppercase()))
        .collect()
}

fn request(client: &ClientId, code: &str, created: SystemTime, ttl: u64) -> DeviceRecord {
    DeviceRecord::new(
        GrantId::generate(),
        client.clone(),
        Scope::parse("profile videos").unwrap_or_else(|_| Scope::empty()),
        code.to_owned(),
        created,
        created + Duration::from_secs(ttl),
        INTERVAL,
    )
    .with_resources(two_resources())
}

fn approval() -> DeviceDecision {
    DeviceDecision::Approve {
        subject: Subject::new("alice@example.com"),
        scope: Scope::parse("profile").unwrap_or_else(|_| Scope::empty()),
    }
}

async fn insert(
    ctx: &Ctx<'_>,
    i: usize,
    hash: TokenHash,
    rec: DeviceRecord,
) -> Result<DeviceInsert, String> {
    storage(ctx.devices(i).insert(hash, rec).await, "insert")
}

/// Inserts a pending request of `client` under `hash`, with a fresh user code, made at
/// the check's start and living `ttl` seconds.
async fn insert_fresh(
    ctx: &Ctx<'_>,
    i: usize,
    hash: TokenHash,
    client: &ClientId,
    ttl: u64,
) -> Outcome {
    let rec = request(client, &fresh_user_code(), ctx.at(0), ttl);
    let outcome = insert(ctx, i, hash, rec).await?;
    ensure!(
        outcome == DeviceInsert::Inserted,
        "a request with a fresh user code was not inserted ({outcome:?})"
    );
    Ok(())
}

async fn find(ctx: &Ctx<'_>, i: usize, hash: &TokenHash) -> Result<Option<DeviceRecord>, String> {
    storage(ctx.devices(i).find(hash).await, "find")
}

/// A stored request reads back exactly by device code digest and by user code.
pub(super) async fn round_trip(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let (hash, code) = (fresh_hash(), fresh_user_code());
    let rec = request(&client, &code, ctx.base + Duration::new(1, 250_000), 600);
    ensure!(
        insert(ctx, 0, hash, rec.clone()).await? == DeviceInsert::Inserted,
        "a request with a fresh user code was not inserted"
    );
    let found = find(ctx, 1, &hash).await?;
    ensure!(
        found.as_ref() == Some(&rec),
        "find returned {found:?}, not {rec:?}"
    );
    let by_code = call!(ctx.devices(0), find_by_user_code(&code));
    ensure!(
        by_code == Some((hash, rec)),
        "find_by_user_code returned {by_code:?}"
    );
    ensure!(
        find(ctx, 0, &fresh_hash()).await?.is_none(),
        "an unknown device code was found"
    );
    let unknown = call!(ctx.devices(1), find_by_user_code(&fresh_user_code()));
    ensure!(unknown.is_none(), "an unknown user code was found");
    Ok(())
}

/// A user code belongs to at most one live request; an expired holder gives it up but
/// stays findable by device code (late polls get `expired_token`).
pub(super) async fn user_code(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let code = fresh_user_code();
    let (first, second, third) = (fresh_hash(), fresh_hash(), fresh_hash());
    insert(ctx, 0, first, request(&client, &code, ctx.at(0), 600)).await?;
    let taken = insert(ctx, 1, second, request(&client, &code, ctx.at(599), 600)).await?;
    ensure!(
        taken == DeviceInsert::UserCodeTaken,
        "a live request's user code was given again ({taken:?})"
    );
    ensure!(
        find(ctx, 0, &second).await?.is_none(),
        "a refused request was stored"
    );
    let free = insert(ctx, 1, third, request(&client, &code, ctx.at(600), 600)).await?;
    ensure!(
        free == DeviceInsert::Inserted,
        "the user code of an expired request was not free ({free:?})"
    );
    let holder = call!(ctx.devices(0), find_by_user_code(&code));
    ensure!(
        holder.map(|(hash, _)| hash) == Some(third),
        "the user code does not lead to its new holder"
    );
    ensure!(
        find(ctx, 1, &first).await?.is_some(),
        "an expired request was dropped before its retention (late polls need it)"
    );
    Ok(())
}

/// `decide` is a compare-and-set from `Pending`, refused once expired.
pub(super) async fn decide(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let (approved, denied, expired) = (fresh_hash(), fresh_hash(), fresh_hash());
    for hash in [approved, denied, expired] {
        insert_fresh(ctx, 0, hash, &client, 600).await?;
    }
    let store = |i| ctx.devices(i);
    ensure!(
        call!(store(1), decide(&approved, approval(), ctx.at(10))),
        "approving a pending request failed"
    );
    ensure!(
        !call!(
            store(0),
            decide(&approved, DeviceDecision::Deny, ctx.at(11))
        ),
        "a decided request was decided again"
    );
    let state = find(ctx, 1, &approved).await?.map(|r| r.state);
    let DeviceDecision::Approve { subject, scope } = approval() else {
        return Err("unreachable".to_owned());
    };
    ensure!(
        state == Some(DeviceState::Approved { subject, scope }),
        "an approved request reads back as {state:?}"
    );
    ensure!(
        call!(store(0), decide(&denied, DeviceDecision::Deny, ctx.at(10))),
        "denying a pending request failed"
    );
    let state = find(ctx, 0, &denied).await?.map(|r| r.state);
    ensure!(
        state == Some(DeviceState::Denied),
        "a denied request reads back as {state:?}"
    );
    ensure!(
        !call!(store(1), decide(&expired, approval(), ctx.at(600))),
        "an expired request was approved"
    );
    ensure!(
        !call!(store(1), decide(&fresh_hash(), approval(), ctx.at(10))),
        "an unknown request was approved"
    );
    Ok(())
}

/// [RFC 8628 §3.5] (V-DEV-4), with the server's `slow_down` rule over the store: polls record their
/// time; a poll sooner than the interval is too fast and adds the step; another client's
/// poll finds nothing and changes nothing; `record_poll` with a stale polling state
/// changes nothing.
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(super) async fn poll(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let other = fresh_client("conformance-other")?;
    let hash = fresh_hash();
    insert_fresh(ctx, 0, hash, &client, 600).await?;
    for (i, (at, too_fast, interval)) in
        [(0, false, 5), (2, true, 10), (8, true, 15), (23, false, 15)]
            .into_iter()
            .enumerate()
    {
        let now = ctx.at(100 + at);
        let polled = storage(
            record_poll(&*ctx.devices(i), &hash, &client, now).await,
            "record_poll",
        )?
        .ok_or("a poll of the owning client found nothing")?;
        ensure!(
            polled.too_fast == too_fast
                && polled.record.interval == Duration::from_secs(interval)
                && polled.record.last_poll == Some(now),
            "the poll at +{at}s gave too_fast {} interval {:?} last_poll {:?}; want {too_fast}, {interval}s, the poll time",
            polled.too_fast,
            polled.record.interval,
            polled.record.last_poll
        );
    }
    let foreign = storage(
        record_poll(&*ctx.devices(1), &hash, &other, ctx.at(124)).await,
        "record_poll",
    )?;
    ensure!(
        foreign.is_none(),
        "another client's poll returned the request"
    );
    let unknown = storage(
        record_poll(&*ctx.devices(0), &fresh_hash(), &client, ctx.at(124)).await,
        "record_poll",
    )?;
    ensure!(
        unknown.is_none(),
        "a poll of an unknown device code returned something"
    );
    let current = DevicePolling::new(Some(ctx.at(123)), Duration::from_secs(15));
    let next = DevicePolling::new(Some(ctx.at(130)), Duration::from_secs(15));
    let stale = DevicePolling::new(Some(ctx.at(108)), Duration::from_secs(15));
    for (seen, who, what) in [
        (stale, &client, "a stale polling state"),
        (current, &other, "another client"),
    ] {
        let recorded = call!(ctx.devices(1), record_poll(&hash, who, seen, next));
        ensure!(!recorded, "record_poll with {what} changed the request");
    }
    let after = find(ctx, 0, &hash).await?.ok_or("the request vanished")?;
    ensure!(
        DevicePolling::of(&after) == current,
        "a refused poll changed the request"
    );
    Ok(())
}

/// [RFC 8628 §3.5]: `redeem` moves an approved request of its client to `Redeemed` once, returning
/// the approval; then "already redeemed, by grant X"; anything else is `NotApproved`.
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(super) async fn redeem(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let other = fresh_client("conformance-other")?;
    let (hash, denied) = (fresh_hash(), fresh_hash());
    let rec = request(&client, &fresh_user_code(), ctx.at(0), 600);
    insert(ctx, 0, hash, rec.clone()).await?;
    insert_fresh(ctx, 1, denied, &client, 600).await?;
    let store = |i| ctx.devices(i);
    let early = call!(store(1), redeem(&hash, &client));
    ensure!(
        early == DeviceRedemption::NotApproved,
        "a pending request was redeemed ({early:?})"
    );
    call!(store(0), decide(&hash, approval(), ctx.at(10)));
    let foreign = call!(store(1), redeem(&hash, &other));
    ensure!(
        foreign == DeviceRedemption::NotApproved,
        "another client redeemed the request ({foreign:?})"
    );
    let first = call!(store(0), redeem(&hash, &client));
    let DeviceDecision::Approve { subject, scope } = approval() else {
        return Err("unreachable".to_owned());
    };
    let ok = matches!(&first, DeviceRedemption::Redeemed(before)
        if before.grant_id == rec.grant_id
            && before.state == DeviceState::Approved { subject: subject.clone(), scope: scope.clone() });
    ensure!(ok, "the redemption gave {first:?}, not the approved record");
    let again = call!(store(1), redeem(&hash, &client));
    ensure!(
        again
            == DeviceRedemption::AlreadyRedeemed {
                grant_id: rec.grant_id
            },
        "a second redemption gave {again:?}"
    );
    let state = find(ctx, 0, &hash).await?.map(|r| r.state);
    ensure!(
        state == Some(DeviceState::Redeemed),
        "a redeemed request reads back as {state:?}"
    );
    call!(store(0), decide(&denied, DeviceDecision::Deny, ctx.at(10)));
    let refused = call!(store(1), redeem(&denied, &client));
    ensure!(
        refused == DeviceRedemption::NotApproved,
        "a denied request was redeemed ({refused:?})"
    );
    Ok(())
}

/// Purge removes requests past expiry and retention (the suite assumes less than a day),
/// with their user codes, and keeps live ones.
pub(super) async fn purge(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let (expired, live) = (fresh_hash(), fresh_hash());
    let code = fresh_user_code();
    insert(ctx, 0, expired, request(&client, &code, ctx.at(0), 600)).await?;
    insert_fresh(ctx, 1, live, &client, 5 * 86_400).await?;
    let purged = call!(ctx.devices(1), purge_expired(ctx.at(600 + 86_400)));
    ensure!(
        purged >= 1,
        "purge_expired reported {purged} requests; at least 1 expired"
    );
    ensure!(
        find(ctx, 0, &expired).await?.is_none(),
        "an expired request survived the purge"
    );
    let by_code = call!(ctx.devices(0), find_by_user_code(&code));
    ensure!(
        by_code.is_none(),
        "a purged request is still found by its user code"
    );
    ensure!(
        find(ctx, 1, &live).await?.is_some(),
        "the purge removed a live request"
    );
    Ok(())
}

/// [RFC 8628 §3.5]: of N concurrent redemptions of one approved request, exactly
/// one wins; every other learns the grant.
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(super) async fn race_redeem(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let hash = fresh_hash();
    let rec = request(&client, &fresh_user_code(), ctx.at(0), 600);
    insert(ctx, 0, hash, rec.clone()).await?;
    call!(ctx.devices(0), decide(&hash, approval(), ctx.at(1)));
    let outcomes = race(ctx.tasks(), |i| {
        let (store, client) = (ctx.devices(i), client.clone());
        async move { store.redeem(&hash, &client).await }
    })
    .await?;
    let mut winners = 0;
    for outcome in outcomes {
        match storage(outcome, "a racing redeem")? {
            DeviceRedemption::Redeemed(_) => winners += 1,
            DeviceRedemption::AlreadyRedeemed { grant_id } if grant_id == rec.grant_id => {}
            other => return Err(format!("a losing redemption gave {other:?}")),
        }
    }
    exactly_one(winners, ctx.tasks(), "redemptions won")
}

/// Concurrent decisions (half approve, half deny): exactly one applies, and the record
/// shows that one.
pub(super) async fn race_decide(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let hash = fresh_hash();
    insert_fresh(ctx, 0, hash, &client, 600).await?;
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.devices(i);
        let decision = if i % 2 == 0 {
            approval()
        } else {
            DeviceDecision::Deny
        };
        let now = ctx.at(1);
        async move { store.decide(&hash, decision, now).await }
    })
    .await?;
    let mut winners = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        if storage(outcome, "a racing decide")? {
            winners.push(i);
        }
    }
    exactly_one(winners.len(), ctx.tasks(), "decisions applied")?;
    let state = find(ctx, 1, &hash).await?.map(|r| r.state);
    let approved = matches!(state, Some(DeviceState::Approved { .. }));
    ensure!(
        approved == (winners.first().copied().unwrap_or(1) % 2 == 0),
        "the record shows {state:?}, not the winning decision"
    );
    Ok(())
}

/// [RFC 8628 §3.5]: N concurrent `record_poll`s of one request, all from the same polling state and
/// each with its own next state: exactly one applies, and the record shows that one.
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(super) async fn race_poll(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let hash = fresh_hash();
    insert_fresh(ctx, 0, hash, &client, 86_400).await?;
    let seen = DevicePolling::new(None, INTERVAL);
    let next = |i: usize| {
        let grown = Duration::from_secs(u64::try_from(i).unwrap_or(u64::MAX));
        DevicePolling::new(Some(ctx.at(1)), INTERVAL + grown)
    };
    let outcomes = race(ctx.tasks(), |i| {
        let (store, client, next) = (ctx.devices(i), client.clone(), next(i));
        async move { store.record_poll(&hash, &client, seen, next).await }
    })
    .await?;
    let mut winners = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        if storage(outcome, "a racing record_poll")? {
            winners.push(i);
        }
    }
    exactly_one(winners.len(), ctx.tasks(), "polls recorded")?;
    let stored = find(ctx, 1, &hash).await?.map(|r| DevicePolling::of(&r));
    let want = winners.first().map(|&i| next(i));
    ensure!(
        stored == want,
        "after the simultaneous polls the request shows {stored:?}, not the winner's {want:?}"
    );
    Ok(())
}

/// N concurrent requests with one user code: exactly one is inserted.
pub(super) async fn race_user_code(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance-tv")?;
    let code = fresh_user_code();
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.devices(i);
        let rec = request(&client, &code, ctx.at(0), 600);
        async move { store.insert(fresh_hash(), rec).await }
    })
    .await?;
    let mut inserted = 0;
    for outcome in outcomes {
        if storage(outcome, "a racing insert")? == DeviceInsert::Inserted {
            inserted += 1;
        }
    }
    exactly_one(inserted, ctx.tasks(), "requests got the same user code")
}
