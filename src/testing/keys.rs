//! Checks of the [`KeySetStore`](crate::jose::KeySetStore) contract (feature `jwt`).

use std::time::{Duration, SystemTime};

use rand::seq::SliceRandom as _;

use super::{Ctx, Outcome, call, ensure, race, storage};
use crate::jose::{Algorithm, KeyRecord, SigningKey};
use crate::secret::random_secret;

/// A fresh key set name, so runs never collide with each other or with live sets.
fn fresh_set() -> String {
    format!(
        "conformance-{}",
        &random_secret(&crate::random::SystemRandom)[..16]
    )
}

/// A record of a freshly generated key of `algorithm`.
fn record(
    algorithm: Algorithm,
    published: SystemTime,
    activates: SystemTime,
) -> Result<KeyRecord, String> {
    let key = SigningKey::generate(algorithm).map_err(|e| e.to_string())?;
    Ok(KeyRecord::new(key.public_key(), published, activates))
}

async fn load(ctx: &Ctx<'_>, i: usize, set: &str) -> Result<Vec<KeyRecord>, String> {
    let mut records = call!(ctx.key_sets(i), load(set));
    records.sort_by(|a, b| (a.activates_at, &a.kid).cmp(&(b.activates_at, &b.kid)));
    Ok(records)
}

fn find<'r>(records: &'r [KeyRecord], kid: &str) -> Result<&'r KeyRecord, String> {
    records
        .iter()
        .find(|r| r.kid == kid)
        .ok_or_else(|| format!("the key {kid} is missing from the set"))
}

/// Records come back exactly, times to the microsecond; sets are separate.
pub(super) async fn round_trip(ctx: &Ctx<'_>) -> Outcome {
    let set = fresh_set();
    let mut written = record(
        Algorithm::EdDsa,
        ctx.base + Duration::new(1, 250_000),
        ctx.at(400),
    )?;
    let introduced = call!(
        ctx.key_sets(0),
        introduce(&set, written.clone(), Duration::from_secs(3600))
    );
    ensure!(
        introduced,
        "introducing a key into an empty set was refused"
    );
    let read = load(ctx, 1, &set).await?;
    ensure!(
        read == [written.clone()],
        "the set read back as {read:?}, not [{written:?}]"
    );
    ensure!(
        call!(
            ctx.key_sets(0),
            end(&set, &written.kid, ctx.at(500), ctx.at(900))
        ),
        "ending a stored key reported no such key"
    );
    written.retires_at = Some(ctx.at(500));
    written.removes_at = Some(ctx.at(900));
    let read = load(ctx, 0, &set).await?;
    ensure!(
        read == [written.clone()],
        "after end() the set read back as {read:?}"
    );
    let other = load(ctx, 1, &fresh_set()).await?;
    ensure!(
        other.is_empty(),
        "an unknown set holds {} records",
        other.len()
    );
    Ok(())
}

/// A new key ends every key of its algorithm that would still sign when it activates, and
/// only those; a duplicate `kid` or an earlier activation than a scheduled key is refused
/// without any change.
pub(super) async fn schedule(ctx: &Ctx<'_>) -> Outcome {
    let set = fresh_set();
    let retention = Duration::from_secs(7200);
    let k1 = record(Algorithm::Es256, ctx.at(0), ctx.at(0))?;
    let ed = record(Algorithm::EdDsa, ctx.at(0), ctx.at(0))?;
    let k2 = record(Algorithm::Es256, ctx.at(10), ctx.at(100))?;
    for (i, r) in [&k1, &ed, &k2].into_iter().enumerate() {
        let done = call!(ctx.key_sets(i), introduce(&set, r.clone(), retention));
        ensure!(done, "introducing key {i} was refused");
    }
    let read = load(ctx, 0, &set).await?;
    let got = find(&read, &k1.kid)?;
    ensure!(
        got.retires_at == Some(ctx.at(100)) && got.removes_at == Some(ctx.at(100) + retention),
        "the replaced key got retires_at {:?} and removes_at {:?}",
        got.retires_at,
        got.removes_at
    );
    ensure!(
        find(&read, &ed.kid)? == &ed,
        "a key of another algorithm was changed"
    );
    ensure!(find(&read, &k2.kid)? == &k2, "the new key was changed");

    // Refused: a kid already there (even for another algorithm), an activation before k2's.
    let mut again = k1.clone();
    again.activates_at = ctx.at(200);
    let mut renamed = ed.clone();
    renamed.algorithm = Algorithm::Es256;
    renamed.activates_at = ctx.at(200);
    let early = record(Algorithm::Es256, ctx.at(20), ctx.at(50))?;
    for (what, r) in [
        ("a duplicate kid", again),
        ("a reused kid", renamed),
        ("an earlier activation", early),
    ] {
        let done = call!(ctx.key_sets(1), introduce(&set, r, retention));
        ensure!(!done, "{what} was introduced");
    }
    ensure!(
        load(ctx, 0, &set).await? == read,
        "a refused introduction changed the set"
    );

    // A key that already retires earlier keeps its times; one retiring later is cut short.
    let k3 = record(Algorithm::Es256, ctx.at(30), ctx.at(300))?;
    let short = Duration::from_secs(60);
    let done = call!(ctx.key_sets(0), introduce(&set, k3.clone(), short));
    ensure!(done, "introducing a third key was refused");
    let read = load(ctx, 1, &set).await?;
    let got = find(&read, &k1.kid)?;
    ensure!(
        got.retires_at == Some(ctx.at(100)) && got.removes_at == Some(ctx.at(100) + retention),
        "a key that had already retired was changed to retires_at {:?} and removes_at {:?}",
        got.retires_at,
        got.removes_at
    );
    let got = find(&read, &k2.kid)?;
    ensure!(
        got.retires_at == Some(ctx.at(300)) && got.removes_at == Some(ctx.at(360)),
        "the replaced key got retires_at {:?} and removes_at {:?}",
        got.retires_at,
        got.removes_at
    );
    Ok(())
}

/// `end` only ever brings times forward, and reports unknown keys.
pub(super) async fn end(ctx: &Ctx<'_>) -> Outcome {
    let set = fresh_set();
    let k = record(Algorithm::Es256, ctx.at(0), ctx.at(0))?;
    call!(
        ctx.key_sets(0),
        introduce(&set, k.clone(), Duration::from_secs(60))
    );
    ensure!(
        call!(ctx.key_sets(1), end(&set, &k.kid, ctx.at(100), ctx.at(200))),
        "end() did not find the key"
    );
    call!(ctx.key_sets(0), end(&set, &k.kid, ctx.at(150), ctx.at(500)));
    let read = load(ctx, 1, &set).await?;
    let got = find(&read, &k.kid)?;
    ensure!(
        got.retires_at == Some(ctx.at(100)) && got.removes_at == Some(ctx.at(200)),
        "a later end() pushed the times back to {:?} / {:?}",
        got.retires_at,
        got.removes_at
    );
    call!(ctx.key_sets(1), end(&set, &k.kid, ctx.at(50), ctx.at(60)));
    let got = load(ctx, 0, &set).await?;
    ensure!(
        got.first()
            .is_some_and(|r| r.retires_at == Some(ctx.at(50)) && r.removes_at == Some(ctx.at(60))),
        "an earlier end() was not applied: {got:?}"
    );
    let unknown = call!(
        ctx.key_sets(0),
        end(&set, "no-such-kid", ctx.at(1), ctx.at(1))
    );
    ensure!(!unknown, "end() reported an unknown key as found");
    Ok(())
}

/// Purge deletes the records removed at or before its time, and nothing else.
pub(super) async fn purge(ctx: &Ctx<'_>) -> Outcome {
    let set = fresh_set();
    let gone = record(Algorithm::Es256, ctx.at(0), ctx.at(0))?;
    let kept = record(Algorithm::Es256, ctx.at(0), ctx.at(100))?;
    let open = record(Algorithm::EdDsa, ctx.at(0), ctx.at(0))?;
    for r in [&gone, &kept, &open] {
        call!(
            ctx.key_sets(0),
            introduce(&set, r.clone(), Duration::from_secs(50))
        );
    }
    call!(
        ctx.key_sets(1),
        end(&set, &kept.kid, ctx.at(400), ctx.at(400))
    );
    // `gone` was removed at 150 s (retired at 100 s, plus 50 s).
    let purged = call!(ctx.key_sets(1), purge(ctx.at(150)));
    ensure!(
        purged >= 1,
        "purge reported {purged} records; at least 1 was removed"
    );
    let read = load(ctx, 0, &set).await?;
    let kids: Vec<&str> = read.iter().map(|r| r.kid.as_str()).collect();
    ensure!(
        read.len() == 2 && kids.contains(&kept.kid.as_str()) && kids.contains(&open.kid.as_str()),
        "after the purge the set holds {kids:?}"
    );
    Ok(())
}

/// Concurrent introductions of keys of one algorithm, activating at different times and
/// arriving in any order, leave a schedule with one signing key at a time: sorted by
/// activation, each key retires when the next activates, and only the last has no end.
pub(super) async fn race_introduce(ctx: &Ctx<'_>) -> Outcome {
    let set = fresh_set();
    // Distinct activations, in an order unrelated to the task order.
    let mut offsets: Vec<u64> = (0..ctx.tasks() as u64).collect();
    offsets.shuffle(&mut rand::rng());
    let mut records = Vec::with_capacity(ctx.tasks());
    for offset in offsets {
        records.push(record(Algorithm::Es256, ctx.at(0), ctx.at(10 + offset))?);
    }
    let inputs = records.clone();
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.key_sets(i);
        let set = set.clone();
        let r = inputs[i].clone();
        async move { store.introduce(&set, r, Duration::from_secs(600)).await }
    })
    .await?;
    let read = load(ctx, 0, &set).await?;
    for (r, outcome) in records.iter().zip(outcomes) {
        let introduced = storage(outcome, "a racing introduce")?;
        let stored = read.iter().any(|s| s.kid == r.kid);
        ensure!(
            introduced == stored,
            "introduce said {introduced} but the key is {} the set",
            if stored { "in" } else { "not in" }
        );
    }
    ensure!(!read.is_empty(), "no racing introduction succeeded");
    for pair in read.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        ensure!(
            a.retires_at.is_some_and(|at| at <= b.activates_at),
            "a key activating at {:?} retires at {:?}, after the next key activates at {:?}",
            a.activates_at,
            a.retires_at,
            b.activates_at
        );
    }
    let open = read.iter().filter(|r| r.retires_at.is_none()).count();
    ensure!(open == 1, "{open} keys have no end scheduled");
    Ok(())
}
