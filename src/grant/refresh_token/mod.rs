//! Pure checks of the refresh token grant
//! ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)) and the reuse policy
//! of rotation ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)).

pub(crate) mod handler;

use std::time::{Duration, SystemTime};

use crate::error::{ErrorCode, OAuthError};
use crate::store::{RotatedOut, TokenKind, TokenRecord};
use crate::types::{ClientId, Scope};

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_GRANT).with_description(description)
}

/// Checks an active refresh token record for a refresh by `client` at `now`, and resolves
/// the access token's scope: equal to or narrower than the granted scope ([RFC 6749 §6]), the
/// granted scope when absent. [RFC 6749 §6]: another client's token is `invalid_grant`.
///
/// [RFC 6749 §6]: https://www.rfc-editor.org/rfc/rfc6749#section-6
pub(crate) fn check_refresh(
    record: &TokenRecord,
    client: &ClientId,
    requested_scope: Option<&str>,
    now: SystemTime,
) -> Result<Scope, OAuthError> {
    if record.kind != TokenKind::Refresh {
        return Err(invalid_grant("not a refresh token"));
    }
    if record.client_id != *client {
        return Err(invalid_grant("refresh token was issued to another client"));
    }
    if record.is_expired(now) {
        return Err(invalid_grant("refresh token expired"));
    }
    let Some(text) = requested_scope else {
        return Ok(record.scope.clone());
    };
    let scope = Scope::parse(text).map_err(|_| {
        OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("malformed scope")
    })?;
    // > The requested scope MUST NOT include any scope not originally granted by the
    // > resource owner, and if omitted is treated as equal to the scope originally granted.
    if scope.is_empty() || !scope.is_subset_of(&record.scope) {
        return Err(OAuthError::new(ErrorCode::INVALID_SCOPE)
            .with_description("scope exceeds the scope originally granted"));
    }
    Ok(scope)
}

/// What to do when a rotated-out refresh token comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// Refuse and revoke the whole grant ([RFC 9700 §4.14.2]).
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    Revoke,
    /// Refuse only: presented by another client (who cannot be allowed to revoke a grant
    /// that is not theirs), or by the same client within the grace period.
    RefuseOnly,
}

/// The reuse policy: revoke, unless the presenter is not the token's client or the reuse
/// falls within `grace` after the rotation.
pub(crate) fn on_reuse(
    marker: &RotatedOut,
    client: &ClientId,
    now: SystemTime,
    grace: Duration,
) -> Reuse {
    if marker.client_id != *client {
        return Reuse::RefuseOnly;
    }
    let within_grace = !grace.is_zero()
        && now
            .duration_since(marker.rotated_at)
            .is_ok_and(|elapsed| elapsed < grace);
    if within_grace {
        Reuse::RefuseOnly
    } else {
        Reuse::Revoke
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::types::GrantId;

    fn record(kind: TokenKind) -> TokenRecord {
        TokenRecord::new(
            kind,
            GrantId::generate(),
            ClientId::new("app").unwrap(),
            Scope::parse("a b").unwrap(),
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::from_secs(100),
        )
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rt_02_scope_only_narrows() {
        let r = record(TokenKind::Refresh);
        let app = ClientId::new("app").unwrap();
        assert_eq!(
            check_refresh(&r, &app, None, at(1)).unwrap().as_str(),
            "a b"
        );
        assert_eq!(
            check_refresh(&r, &app, Some("a"), at(1)).unwrap().as_str(),
            "a"
        );
        let err = check_refresh(&r, &app, Some("a c"), at(1)).unwrap_err();
        assert_eq!(err.code(), &ErrorCode::INVALID_SCOPE);
    }

    #[test]
    fn rt_01_binding_kind_and_expiry() {
        let app = ClientId::new("app").unwrap();
        let other = ClientId::new("other").unwrap();
        let r = record(TokenKind::Refresh);
        assert!(check_refresh(&r, &other, None, at(1)).is_err());
        assert!(check_refresh(&r, &app, None, at(100)).is_err());
        assert!(check_refresh(&record(TokenKind::Access), &app, None, at(1)).is_err());
    }

    #[test]
    fn rt_06_reuse_policy() {
        let app = ClientId::new("app").unwrap();
        let marker = RotatedOut::new(GrantId::generate(), app.clone(), at(10), at(100));
        assert_eq!(
            on_reuse(&marker, &app, at(11), Duration::ZERO),
            Reuse::Revoke
        );
        assert_eq!(
            on_reuse(&marker, &app, at(11), Duration::from_secs(5)),
            Reuse::RefuseOnly
        );
        assert_eq!(
            on_reuse(&marker, &app, at(15), Duration::from_secs(5)),
            Reuse::Revoke
        );
        let other = ClientId::new("other").unwrap();
        assert_eq!(
            on_reuse(&marker, &other, at(11), Duration::ZERO),
            Reuse::RefuseOnly
        );
    }
}
