//! Checks of the [`TokenStore`](crate::store::TokenStore) contract.

use std::time::{Duration, SystemTime};

use super::{
    Ctx, Outcome, call, ensure, exactly_one, fresh_client, fresh_hash, race, storage, two_resources,
};
use crate::secret::TokenHash;
use crate::store::TokenKind::{self, Access, Refresh};
use crate::store::{Insert, RefreshLookup, RotatedOut, Rotation, TokenRecord};
use crate::types::{ClientId, GrantId, Scope, Subject};

fn record(
    kind: TokenKind,
    grant: GrantId,
    client: &ClientId,
    issued: SystemTime,
    ttl: u64,
) -> TokenRecord {
    TokenRecord::new(
        kind,
        grant,
        client.clone(),
        Scope::parse("read write").unwrap_or_else(|_| Scope::empty()),
        issued,
        issued + Duration::from_secs(ttl),
    )
}

/// The RFC 9449 example key's thumbprint.
const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

async fn find(ctx: &Ctx<'_>, i: usize, hash: &TokenHash) -> Result<Option<TokenRecord>, String> {
    storage(ctx.tokens(i).find(hash).await, "find")
}

async fn insert(
    ctx: &Ctx<'_>,
    i: usize,
    tokens: Vec<(TokenHash, TokenRecord)>,
) -> Result<Insert, String> {
    storage(ctx.tokens(i).insert(tokens).await, "insert")
}

/// Records of every shape read back exactly, by any handle; unknown digests are `None`.
pub(super) async fn round_trip(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let grant = GrantId::generate();
    let issued = ctx.base + Duration::new(1, 123_456_000);
    // A DPoP-bound pair (RFC 9449 §6): the key's thumbprint reads back too.
    let access = record(Access, grant, &client, issued, 600).with_dpop_jkt(Some(JKT.to_owned()));
    let refresh = record(Refresh, grant, &client, issued, 86_400)
        .with_subject(Some(Subject::new("alice@example.com")))
        .with_audience(two_resources())
        .with_dpop_jkt(Some(JKT.to_owned()));
    let bare = TokenRecord::new(
        Access,
        GrantId::generate(),
        client.clone(),
        Scope::empty(),
        issued,
        issued + Duration::from_micros(1),
    );
    let (a, r, b) = (fresh_hash(), fresh_hash(), fresh_hash());
    let batch = vec![(a, access.clone()), (r, refresh.clone())];
    ensure!(
        insert(ctx, 0, batch).await? == Insert::Stored,
        "a batch of a grant without tombstone was not stored"
    );
    ensure!(
        insert(ctx, 1, vec![(b, bare.clone())]).await? == Insert::Stored,
        "a record with empty scope was not stored"
    );
    ensure!(
        insert(ctx, 0, Vec::new()).await? == Insert::Stored,
        "an empty batch is Stored"
    );
    for (i, (hash, want)) in [(a, &access), (r, &refresh), (b, &bare)].iter().enumerate() {
        let got = find(ctx, i + 1, hash).await?;
        ensure!(
            got.as_ref() == Some(*want),
            "find returned {got:?} instead of {want:?}"
        );
    }
    let lookup = call!(ctx.tokens(1), find_refresh(&r));
    ensure!(
        lookup == Some(RefreshLookup::Active(refresh.clone())),
        "find_refresh of an active refresh token returned {lookup:?}"
    );
    let unknown = fresh_hash();
    ensure!(
        find(ctx, 0, &unknown).await?.is_none(),
        "find of an unknown digest is not None"
    );
    let lookup = call!(ctx.tokens(0), find_refresh(&unknown));
    ensure!(
        lookup.is_none(),
        "find_refresh of an unknown digest returned {lookup:?}"
    );
    Ok(())
}

/// `revoke` removes and returns one record, once.
pub(super) async fn revoke(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let (hash, other) = (fresh_hash(), fresh_hash());
    let rec = record(Access, GrantId::generate(), &client, ctx.at(0), 600);
    let kept = record(Access, GrantId::generate(), &client, ctx.at(0), 600);
    insert(ctx, 0, vec![(hash, rec.clone()), (other, kept.clone())]).await?;
    let first = call!(ctx.tokens(1), revoke(&hash));
    ensure!(
        first == Some(rec),
        "revoke returned {first:?}, not the record"
    );
    let second = call!(ctx.tokens(0), revoke(&hash));
    ensure!(second.is_none(), "a second revoke returned {second:?}");
    ensure!(
        find(ctx, 1, &hash).await?.is_none(),
        "a revoked record is still found"
    );
    ensure!(
        find(ctx, 0, &other).await? == Some(kept),
        "revoking one record changed another"
    );
    Ok(())
}

/// [RFC 6749 §4.1.2]: `revoke_grant` removes every record of the grant, leaves a
/// tombstone that refuses whole batches until `until` (the later of two), and nothing else.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
pub(super) async fn revoke_grant(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let (grant, other) = (GrantId::generate(), GrantId::generate());
    let (g1, g2, o1, o2) = (fresh_hash(), fresh_hash(), fresh_hash(), fresh_hash());
    insert(
        ctx,
        0,
        vec![
            (g1, record(Access, grant, &client, ctx.at(0), 600)),
            (g2, record(Refresh, grant, &client, ctx.at(0), 6000)),
        ],
    )
    .await?;
    let kept = record(Access, other, &client, ctx.at(0), 600);
    insert(ctx, 1, vec![(o1, kept.clone())]).await?;
    let count = call!(ctx.tokens(1), revoke_grant(&grant, ctx.at(100)));
    ensure!(count == 2, "revoke_grant reported {count} records, not 2");
    for hash in [g1, g2] {
        ensure!(
            find(ctx, 0, &hash).await?.is_none(),
            "a record of a revoked grant is still found"
        );
    }
    ensure!(
        find(ctx, 0, &o1).await? == Some(kept),
        "revoke_grant removed a record of another grant"
    );
    // A shorter second revocation keeps the later end.
    call!(ctx.tokens(0), revoke_grant(&grant, ctx.at(50)));
    let late = insert(
        ctx,
        0,
        vec![
            (o2, record(Access, other, &client, ctx.at(99), 600)),
            (
                fresh_hash(),
                record(Access, grant, &client, ctx.at(99), 600),
            ),
        ],
    )
    .await?;
    ensure!(
        late == Insert::GrantRevoked,
        "a batch with a record of a revoked grant was not refused (got {late:?})"
    );
    ensure!(
        find(ctx, 1, &o2).await?.is_none(),
        "a refused batch stored its record of another grant (not all or nothing)"
    );
    // At `until` the tombstone no longer refuses.
    let after = fresh_hash();
    let outcome = insert(
        ctx,
        1,
        vec![(after, record(Access, grant, &client, ctx.at(100), 600))],
    )
    .await?;
    ensure!(
        outcome == Insert::Stored && find(ctx, 0, &after).await?.is_some(),
        "a record issued when the tombstone ended was refused ({outcome:?})"
    );
    // Revoked before any token exists: nothing removed, later tokens refused.
    let early = GrantId::generate();
    let count = call!(ctx.tokens(0), revoke_grant(&early, ctx.at(1000)));
    ensure!(
        count == 0,
        "revoke_grant of an unused grant reported {count}"
    );
    let outcome = insert(
        ctx,
        1,
        vec![(
            fresh_hash(),
            record(Access, early, &client, ctx.at(200), 600),
        )],
    )
    .await?;
    ensure!(
        outcome == Insert::GrantRevoked,
        "a grant revoked before its tokens were stored accepted them ({outcome:?})"
    );
    Ok(())
}

/// [RFC 9700 §4.14.2]: rotation is a compare-and-swap that leaves a marker until the old token's
/// expiry (also after the grant is revoked), refuses successors of revoked grants and
/// changes nothing when it does not rotate.
///
/// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
pub(super) async fn rotate(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let grant = GrantId::generate();
    let (r1, a1) = (fresh_hash(), fresh_hash());
    let old = record(Refresh, grant, &client, ctx.at(0), 1000);
    insert(
        ctx,
        0,
        vec![
            (a1, record(Access, grant, &client, ctx.at(0), 100)),
            (r1, old.clone()),
        ],
    )
    .await?;
    let now = ctx.at(10);
    let (a2, r2) = (fresh_hash(), fresh_hash());
    // The successor keeps the family's DPoP key (RFC 9449 §5).
    let successor = record(Refresh, grant, &client, now, 1000).with_dpop_jkt(Some(JKT.to_owned()));
    let successors = vec![
        (a2, record(Access, grant, &client, now, 100)),
        (r2, successor.clone()),
    ];
    let outcome = call!(ctx.tokens(1), rotate(&r1, now, successors));
    ensure!(
        outcome == Rotation::Rotated,
        "rotating an active refresh token gave {outcome:?}"
    );
    let stored = find(ctx, 0, &r2).await?;
    ensure!(
        stored.as_ref() == Some(&successor),
        "the rotation's successor reads back as {stored:?}, not {successor:?}"
    );
    ensure!(
        find(ctx, 0, &r1).await?.is_none(),
        "a rotated-out token is still found as active"
    );
    ensure!(
        find(ctx, 0, &a2).await?.is_some() && find(ctx, 1, &r2).await?.is_some(),
        "the successors of a rotation were not stored"
    );
    let marker = RotatedOut::new(grant, client.clone(), now, old.expires_at);
    let lookup = call!(ctx.tokens(0), find_refresh(&r1));
    ensure!(
        lookup == Some(RefreshLookup::RotatedOut(marker.clone())),
        "find_refresh of a rotated-out token returned {lookup:?}, not {marker:?}"
    );
    let (a3, r3) = (fresh_hash(), fresh_hash());
    let again = call!(
        ctx.tokens(0),
        rotate(
            &r1,
            ctx.at(11),
            vec![
                (a3, record(Access, grant, &client, ctx.at(11), 100),),
                (r3, record(Refresh, grant, &client, ctx.at(11), 1000),),
            ]
        )
    );
    ensure!(
        again == Rotation::AlreadyRotated(marker.clone()),
        "a second rotation gave {again:?}, not the marker"
    );
    ensure!(
        find(ctx, 1, &a3).await?.is_none() && find(ctx, 0, &r3).await?.is_none(),
        "a losing rotation stored its successors"
    );
    for hash in [a1, fresh_hash()] {
        let outcome = call!(ctx.tokens(1), rotate(&hash, now, Vec::new()));
        ensure!(
            outcome == Rotation::NotFound,
            "rotating an access token or unknown digest gave {outcome:?}"
        );
    }
    // Reuse must still be recognised after the grant was revoked.
    call!(ctx.tokens(0), revoke_grant(&grant, ctx.at(5000)));
    let lookup = call!(ctx.tokens(1), find_refresh(&r1));
    ensure!(
        lookup == Some(RefreshLookup::RotatedOut(marker)),
        "revoke_grant removed the rotated-out marker ({lookup:?})"
    );
    let outcome = call!(
        ctx.tokens(0),
        rotate(
            &r2,
            ctx.at(12),
            vec![(
                fresh_hash(),
                record(Refresh, grant, &client, ctx.at(12), 10),
            )]
        )
    );
    ensure!(
        outcome == Rotation::GrantRevoked,
        "rotating a token of a revoked grant gave {outcome:?}"
    );
    // Successors of a revoked grant: refused, and the old token stays active.
    let (live, successor) = (fresh_hash(), fresh_hash());
    let live_record = record(Refresh, GrantId::generate(), &client, ctx.at(0), 1000);
    insert(ctx, 1, vec![(live, live_record.clone())]).await?;
    let revoked = GrantId::generate();
    call!(ctx.tokens(1), revoke_grant(&revoked, ctx.at(5000)));
    let outcome = call!(
        ctx.tokens(0),
        rotate(
            &live,
            ctx.at(13),
            vec![(successor, record(Refresh, revoked, &client, ctx.at(13), 10),)]
        )
    );
    ensure!(
        outcome == Rotation::GrantRevoked,
        "a successor of a revoked grant gave {outcome:?}"
    );
    ensure!(
        find(ctx, 1, &live).await? == Some(live_record)
            && find(ctx, 0, &successor).await?.is_none(),
        "a refused rotation changed something"
    );
    Ok(())
}

/// Purge removes expired records, markers past their expiry and ended tombstones, and
/// keeps everything else.
pub(super) async fn purge(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let (live, expired, rotated) = (fresh_hash(), fresh_hash(), fresh_hash());
    let live_record = record(Access, GrantId::generate(), &client, ctx.at(0), 1000);
    insert(
        ctx,
        0,
        vec![
            (live, live_record.clone()),
            (
                expired,
                record(Access, GrantId::generate(), &client, ctx.at(0), 10),
            ),
            (
                rotated,
                record(Refresh, GrantId::generate(), &client, ctx.at(0), 20),
            ),
        ],
    )
    .await?;
    call!(ctx.tokens(1), rotate(&rotated, ctx.at(5), Vec::new()));
    let (ended, lasting) = (GrantId::generate(), GrantId::generate());
    call!(ctx.tokens(0), revoke_grant(&ended, ctx.at(30)));
    call!(ctx.tokens(0), revoke_grant(&lasting, ctx.at(1000)));
    let purged = call!(ctx.tokens(1), purge_expired(ctx.at(100)));
    ensure!(
        purged >= 3,
        "purge_expired reported {purged} records; at least an expired token, a marker and a tombstone expired"
    );
    ensure!(
        find(ctx, 0, &expired).await?.is_none(),
        "an expired record survived the purge"
    );
    let lookup = call!(ctx.tokens(0), find_refresh(&rotated));
    ensure!(
        lookup.is_none(),
        "an expired rotated-out marker survived the purge ({lookup:?})"
    );
    ensure!(
        find(ctx, 1, &live).await? == Some(live_record),
        "the purge removed a live record"
    );
    let outcome = insert(
        ctx,
        0,
        vec![(
            fresh_hash(),
            record(Access, lasting, &client, ctx.at(100), 10),
        )],
    )
    .await?;
    ensure!(
        outcome == Insert::GrantRevoked,
        "the purge removed a tombstone still in force"
    );
    Ok(())
}

/// [RFC 9700 §4.14.2]: of N concurrent rotations of one token, across every handle,
/// exactly one rotates and stores its successor; every other learns the grant.
///
/// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
pub(super) async fn race_rotate(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let grant = GrantId::generate();
    let old = fresh_hash();
    insert(
        ctx,
        0,
        vec![(old, record(Refresh, grant, &client, ctx.at(0), 1000))],
    )
    .await?;
    let now = ctx.at(10);
    let successors: Vec<TokenHash> = (0..ctx.tasks()).map(|_| fresh_hash()).collect();
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.tokens(i);
        let successor = (successors[i], record(Refresh, grant, &client, now, 1000));
        async move { store.rotate(&old, now, vec![successor]).await }
    })
    .await?;
    let mut winners = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match storage(outcome, "a racing rotate")? {
            Rotation::Rotated => winners.push(i),
            Rotation::AlreadyRotated(marker) if marker.grant_id == grant => {}
            other => return Err(format!("a losing rotation gave {other:?}")),
        }
    }
    exactly_one(winners.len(), ctx.tasks(), "rotations won")?;
    for (i, hash) in successors.iter().enumerate() {
        let stored = find(ctx, i, hash).await?.is_some();
        ensure!(
            stored == winners.contains(&i),
            "successor {i} stored: {stored}, but it {} the rotation",
            if stored { "lost" } else { "won" }
        );
    }
    Ok(())
}

/// [RFC 6749 §4.1.2]: an insert racing a revocation of its grant either is refused or has its
/// records
/// removed; never a stored, live record after both returned.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
pub(super) async fn race_insert_vs_revoke_grant(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let pairs = ctx.tasks() / 2;
    let grants: Vec<GrantId> = (0..pairs).map(|_| GrantId::generate()).collect();
    let hashes: Vec<TokenHash> = (0..pairs).map(|_| fresh_hash()).collect();
    let until = ctx.at(5000);
    let outcomes = race(pairs * 2, |i| {
        let store = ctx.tokens(i);
        let (grant, hash) = (grants[i / 2], hashes[i / 2]);
        let rec = record(Access, grant, &client, ctx.at(0), 1000);
        async move {
            if i % 2 == 0 {
                store.insert(vec![(hash, rec)]).await.map(Some)
            } else {
                store.revoke_grant(&grant, until).await.map(|_| None)
            }
        }
    })
    .await?;
    for (i, outcome) in outcomes.into_iter().enumerate() {
        if storage(outcome, "a racing insert or revoke_grant")? == Some(Insert::Stored) {
            ensure!(
                find(ctx, i + 1, &hashes[i / 2]).await?.is_none(),
                "an insert racing revoke_grant of its grant left a live record"
            );
        }
    }
    Ok(())
}

/// [RFC 6749 §4.1.2], [OAuth 2.1 §4.3.1]: a rotation racing a revocation of its grant leaves no
/// live token of the
/// grant.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
/// [OAuth 2.1 §4.3.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-4.3.1
pub(super) async fn race_rotate_vs_revoke_grant(ctx: &Ctx<'_>) -> Outcome {
    let client = fresh_client("conformance")?;
    let pairs = ctx.tasks() / 2;
    let grants: Vec<GrantId> = (0..pairs).map(|_| GrantId::generate()).collect();
    let olds: Vec<TokenHash> = (0..pairs).map(|_| fresh_hash()).collect();
    let news: Vec<TokenHash> = (0..pairs).map(|_| fresh_hash()).collect();
    for (grant, old) in grants.iter().zip(&olds) {
        insert(
            ctx,
            0,
            vec![(*old, record(Refresh, *grant, &client, ctx.at(0), 1000))],
        )
        .await?;
    }
    let (now, until) = (ctx.at(10), ctx.at(5000));
    let outcomes = race(pairs * 2, |i| {
        let store = ctx.tokens(i);
        let (grant, old, new) = (grants[i / 2], olds[i / 2], news[i / 2]);
        let successor = record(Refresh, grant, &client, now, 1000);
        async move {
            if i % 2 == 0 {
                store
                    .rotate(&old, now, vec![(new, successor)])
                    .await
                    .map(|_| ())
            } else {
                store.revoke_grant(&grant, until).await.map(|_| ())
            }
        }
    })
    .await?;
    for outcome in outcomes {
        storage(outcome, "a racing rotate or revoke_grant")?;
    }
    for (i, (old, new)) in olds.iter().zip(&news).enumerate() {
        ensure!(
            find(ctx, i, old).await?.is_none() && find(ctx, i + 1, new).await?.is_none(),
            "a rotation racing revoke_grant of its grant left a live token"
        );
    }
    Ok(())
}

/// [RFC 7592 §2.3]: `revoke_client` removes every record of one client, whatever its
/// grant, and no other client's. A store that keeps the trait's default (which revokes
/// nothing) fails it; skip `tokens.revoke_client` for such a store.
///
/// [RFC 7592 §2.3]: https://www.rfc-editor.org/rfc/rfc7592#section-2.3
pub(super) async fn revoke_client(ctx: &Ctx<'_>) -> Outcome {
    let (gone, kept) = (
        fresh_client("conformance-gone")?,
        fresh_client("conformance-kept")?,
    );
    let issued = ctx.at(1);
    let hashes: Vec<TokenHash> = (0..5).map(|_| fresh_hash()).collect();
    let (first, second) = (GrantId::generate(), GrantId::generate());
    insert(
        ctx,
        0,
        vec![
            (hashes[0], record(Access, first, &gone, issued, 600)),
            (hashes[1], record(Refresh, first, &gone, issued, 86_400)),
        ],
    )
    .await?;
    insert(
        ctx,
        1,
        vec![(hashes[2], record(Access, second, &gone, issued, 600))],
    )
    .await?;
    insert(
        ctx,
        0,
        vec![
            (
                hashes[3],
                record(Access, GrantId::generate(), &kept, issued, 600),
            ),
            (
                hashes[4],
                record(Refresh, GrantId::generate(), &kept, issued, 86_400),
            ),
        ],
    )
    .await?;
    let revoked = call!(ctx.tokens(1), revoke_client(&gone));
    ensure!(
        revoked == 3,
        "revoke_client reported {revoked} records; the client had 3"
    );
    for (i, hash) in hashes.iter().enumerate() {
        let found = find(ctx, i, hash).await?;
        ensure!(
            found.is_some() == (i >= 3),
            "after revoke_client, record {i} is {}",
            if found.is_some() {
                "still there"
            } else {
                "gone"
            }
        );
    }
    let again = call!(ctx.tokens(0), revoke_client(&gone));
    ensure!(
        again == 0,
        "a second revoke_client reported {again} records"
    );
    Ok(())
}
