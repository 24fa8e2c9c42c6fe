//! Checks of the [`CodeStore`](crate::CodeStore) contract.

use std::time::{Duration, SystemTime};

use super::{
    Ctx, Outcome, call, ensure, exactly_one, fresh_client, fresh_hash, race, storage, two_resources,
};
use crate::pkce::{CodeChallenge, PkceMethod};
use crate::secret::TokenHash;
use crate::store::{AuthorizationGrant, Redemption};
use crate::types::{GrantId, Scope, Subject};

fn grant(issued: SystemTime, ttl: u64) -> Result<AuthorizationGrant, String> {
    Ok(AuthorizationGrant::new(
        GrantId::generate(),
        fresh_client("conformance")?,
        Subject::new("alice@example.com"),
        Scope::parse("openid profile").map_err(|e| e.to_string())?,
        "https://as.example.com",
        issued,
        issued + Duration::from_secs(ttl),
    )
    .with_redirect_uri(Some("http://127.0.0.1:51004/callback?app=1"))
    .with_challenge(CodeChallenge::new(
        PkceMethod::S256,
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ))
    .with_resources(two_resources())
    .with_dpop_jkt(Some(
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".to_owned(),
    )))
}

async fn redeem(ctx: &Ctx<'_>, i: usize, code: &TokenHash) -> Result<Redemption, String> {
    storage(ctx.codes(i).redeem(code).await, "redeem")
}

/// [RFC 6749 §4.1.2], [RFC 6749 §10.10]: a code's grant comes back exactly, once as `Redeemed` and
/// then as
/// `AlreadyUsed`, by any handle; unknown codes are `NotFound`.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
/// [RFC 6749 §10.10]: https://www.rfc-editor.org/rfc/rfc6749#section-10.10
pub(super) async fn redeem_once(ctx: &Ctx<'_>) -> Outcome {
    let full = grant(ctx.base + Duration::new(1, 500_000), 60)?;
    let mut bare = grant(ctx.at(0), 60)?;
    bare.redirect_uri = None;
    bare.challenge = None;
    bare.dpop_jkt = None;
    bare.scope = Scope::empty();
    for (i, g) in [full, bare].into_iter().enumerate() {
        let code = fresh_hash();
        call!(ctx.codes(i), insert(code, g.clone()));
        let first = redeem(ctx, i + 1, &code).await?;
        ensure!(
            first == Redemption::Redeemed(g.clone()),
            "the first redemption gave {first:?}, not Redeemed({g:?})"
        );
        let second = redeem(ctx, i, &code).await?;
        ensure!(
            second == Redemption::AlreadyUsed(g.clone()),
            "the second redemption gave {second:?}, not AlreadyUsed with the grant"
        );
    }
    let unknown = redeem(ctx, 0, &fresh_hash()).await?;
    ensure!(
        unknown == Redemption::NotFound,
        "an unknown code gave {unknown:?}"
    );
    Ok(())
}

/// Purge removes expired codes, used or not, and keeps live ones redeemable.
pub(super) async fn purge(ctx: &Ctx<'_>) -> Outcome {
    let (live, expired, used) = (fresh_hash(), fresh_hash(), fresh_hash());
    call!(ctx.codes(0), insert(live, grant(ctx.at(0), 600)?));
    call!(ctx.codes(1), insert(expired, grant(ctx.at(0), 60)?));
    call!(ctx.codes(0), insert(used, grant(ctx.at(0), 60)?));
    redeem(ctx, 1, &used).await?;
    let purged = call!(ctx.codes(1), purge_expired(ctx.at(100)));
    ensure!(
        purged >= 2,
        "purge_expired reported {purged} codes; at least 2 expired"
    );
    for code in [expired, used] {
        let outcome = redeem(ctx, 0, &code).await?;
        ensure!(
            outcome == Redemption::NotFound,
            "an expired code survived the purge ({outcome:?})"
        );
    }
    let outcome = redeem(ctx, 1, &live).await?;
    ensure!(
        matches!(outcome, Redemption::Redeemed(_)),
        "the purge touched a live code ({outcome:?})"
    );
    Ok(())
}

/// [RFC 6749 §4.1.2]: of N concurrent redemptions of one code, across every handle, exactly one is
/// `Redeemed`; every other is `AlreadyUsed` with the same grant.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
pub(super) async fn race_redeem(ctx: &Ctx<'_>) -> Outcome {
    let g = grant(ctx.at(0), 60)?;
    let code = fresh_hash();
    call!(ctx.codes(0), insert(code, g.clone()));
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.codes(i);
        async move { store.redeem(&code).await }
    })
    .await?;
    let mut winners = 0;
    for outcome in outcomes {
        match storage(outcome, "a racing redeem")? {
            Redemption::Redeemed(got) if got.grant_id == g.grant_id => winners += 1,
            Redemption::AlreadyUsed(got) if got.grant_id == g.grant_id => {}
            other => return Err(format!("a racing redemption gave {other:?}")),
        }
    }
    exactly_one(winners, ctx.tasks(), "redemptions won")
}
