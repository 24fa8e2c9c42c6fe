//! Checks of the [`RegistrationStore`](crate::store::RegistrationStore) contract, together
//! with the [`ClientRegistry`](crate::ClientRegistry) that reads the same clients.

use std::sync::Arc;

use super::{Ctx, Outcome, call, ensure, exactly_one, fresh_client, fresh_hash, race, storage};
use crate::store::{Creation, Registration};
use crate::types::{Client, ClientSecret, ClientType, GrantType};

/// A confidential client registered by itself, named `name`.
fn client(id: &str, name: &str) -> Result<Arc<Client>, String> {
    Client::builder(id, ClientType::Confidential)
        .secret(&ClientSecret::from_presented(
            "conformance-registered-secret".to_owned(),
        ))
        .redirect_uri("https://app.example.com/cb")
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .name(name)
        .logo_uri("https://app.example.com/logo.png")
        .self_registered(true)
        .build()
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Metadata text with characters that must come back exactly.
const METADATA: &str =
    r#"{"client_name":"Jos\u00e9's \"app\"","redirect_uris":["https://app.example.com/cb"]}"#;

/// [RFC 7591 §3.2.1], [RFC 7592 §2]: a registration is found by its token digest and by
/// its `client_id` (through the registry), from every handle; a second registration of
/// the `client_id` is a duplicate; an update rotates the token (the old one stops working)
/// and replaces the client; a delete removes client and token at once.
///
/// [RFC 7591 §3.2.1]: https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1
/// [RFC 7592 §2]: https://www.rfc-editor.org/rfc/rfc7592#section-2
pub(super) async fn lifecycle(ctx: &Ctx<'_>) -> Outcome {
    let id = fresh_client("conformance-dcr")?;
    let (token, rotated, replaced, unknown) =
        (fresh_hash(), fresh_hash(), fresh_hash(), fresh_hash());
    let registered = client(id.as_str(), "Before")?;
    let issued_at = ctx.at(7);
    let record = Registration::new(Arc::clone(&registered), METADATA.to_owned(), issued_at);
    let created = call!(ctx.registrations(0), create(record.clone(), token));
    ensure!(created == Creation::Created, "create gave {created:?}");
    let found = call!(ctx.clients(1), find(&id));
    ensure!(
        found.as_deref().is_some_and(
            |c| c.name() == Some("Before") && c.secret_hashes() == registered.secret_hashes()
        ),
        "the registry did not find the registered client: {found:?}"
    );
    let by_token = call!(ctx.registrations(1), find_by_token(&token));
    ensure!(
        by_token.as_ref().is_some_and(|r| r.client.id() == &id
            && r.metadata == METADATA
            && r.issued_at == issued_at),
        "find_by_token gave {by_token:?}"
    );
    let nothing = call!(ctx.registrations(0), find_by_token(&unknown));
    ensure!(nothing.is_none(), "an unknown token found {nothing:?}");
    let again = Registration::new(client(id.as_str(), "Again")?, "{}".to_owned(), issued_at);
    let duplicate = call!(ctx.registrations(1), create(again, unknown));
    ensure!(
        duplicate == Creation::Duplicate,
        "a second create of one client_id gave {duplicate:?}"
    );
    let nothing = call!(ctx.registrations(0), find_by_token(&unknown));
    ensure!(
        nothing.is_none(),
        "a refused create left its token: {nothing:?}"
    );

    let rotation = call!(ctx.registrations(0), update(&token, rotated, None));
    ensure!(
        rotation
            .as_ref()
            .is_some_and(|r| r.client.id() == &id && r.metadata == METADATA),
        "a rotation gave {rotation:?}"
    );
    let old = call!(ctx.registrations(1), find_by_token(&token));
    ensure!(old.is_none(), "the token rotated out still finds {old:?}");
    let stale = call!(ctx.registrations(1), update(&token, unknown, None));
    ensure!(
        stale.is_none(),
        "an update with the rotated-out token succeeded"
    );

    let replacement = Registration::new(
        client(id.as_str(), "After")?,
        "{\"a\":1}".to_owned(),
        ctx.at(9),
    );
    let updated = call!(
        ctx.registrations(1),
        update(&rotated, replaced, Some(replacement))
    );
    ensure!(
        updated
            .as_ref()
            .is_some_and(|r| r.metadata == "{\"a\":1}" && r.issued_at == issued_at),
        "an update gave {updated:?} (the metadata must be replaced and issued_at kept)"
    );
    let found = call!(ctx.clients(0), find(&id));
    ensure!(
        found.as_deref().is_some_and(|c| c.name() == Some("After")),
        "the registry still has the client before the update: {found:?}"
    );

    let missing = call!(ctx.registrations(0), delete(&rotated));
    ensure!(
        missing.is_none(),
        "a delete with a rotated-out token deleted {missing:?}"
    );
    let deleted = call!(ctx.registrations(0), delete(&replaced));
    ensure!(deleted.as_ref() == Some(&id), "delete gave {deleted:?}");
    let found = call!(ctx.clients(1), find(&id));
    ensure!(found.is_none(), "a deleted client is still found");
    let by_token = call!(ctx.registrations(1), find_by_token(&replaced));
    ensure!(
        by_token.is_none(),
        "a deleted client's token still finds {by_token:?}"
    );
    let twice = call!(ctx.registrations(1), delete(&replaced));
    ensure!(twice.is_none(), "a second delete deleted {twice:?}");
    Ok(())
}

/// [RFC 7592 App. B]: of N concurrent rotations of one registration access token, across
/// every handle, exactly one succeeds, and only its new token works afterwards.
///
/// [RFC 7592 App. B]: https://www.rfc-editor.org/rfc/rfc7592#appendix-B
pub(super) async fn race_update(ctx: &Ctx<'_>) -> Outcome {
    let id = fresh_client("conformance-dcr-race")?;
    let token = fresh_hash();
    let record = Registration::new(client(id.as_str(), "Race")?, "{}".to_owned(), ctx.at(1));
    let created = call!(ctx.registrations(0), create(record, token));
    ensure!(created == Creation::Created, "create gave {created:?}");
    let new_tokens: Vec<_> = (0..ctx.tasks()).map(|_| fresh_hash()).collect();
    let outcomes = race(ctx.tasks(), |i| {
        let store = ctx.registrations(i);
        let new_token = new_tokens[i];
        async move { store.update(&token, new_token, None).await }
    })
    .await?;
    let mut winners = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        if storage(outcome, "a racing update")?.is_some() {
            winners.push(i);
        }
    }
    exactly_one(winners.len(), ctx.tasks(), "rotations succeeded")?;
    for (i, new_token) in new_tokens.iter().enumerate() {
        let found = call!(ctx.registrations(i), find_by_token(new_token));
        ensure!(
            found.is_some() == winners.contains(&i),
            "after the race, token {i} {} a registration",
            if found.is_some() {
                "finds"
            } else {
                "does not find"
            }
        );
    }
    if let Some(&winner) = winners.first() {
        call!(ctx.registrations(0), delete(&new_tokens[winner]));
    }
    Ok(())
}
