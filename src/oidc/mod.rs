//! OpenID Connect (feature `oidc`): the server as an OpenID Provider for the authorization
//! code flow ([OpenID Connect Core 1.0](https://openid.net/specs/openid-connect-core-1_0.html)).
//!
//! OpenID Connect is a layer on the code flow, not a second flow. Turn it on with
//! [`ServerBuilder::openid_provider`](crate::ServerBuilder::openid_provider) and a
//! [`signing_keys`](crate::ServerBuilder::signing_keys); then:
//!
//! - an authorization request whose scope holds `openid` is an authentication request:
//!   [`Server::authorize`](crate::Server::authorize) checks its OpenID parameters and hands
//!   them to the host as an [`OpenIdRequest`] on the pending authorization
//!   ([`PendingAuthorization::openid`](crate::authorize::PendingAuthorization::openid)); the
//!   host approves with an [`Authentication`] (who, when,
//!   how), or refuses a `prompt=none` request with an [`InteractionNeeded`];
//! - the code's token response carries an ID token
//!   ([Core §3.1.3.3](https://openid.net/specs/openid-connect-core-1_0.html#TokenResponse)),
//!   signed with the client's registered algorithm, and so does every refresh
//!   ([Core §12.2](https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse));
//! - [`Server::userinfo`](crate::Server::userinfo) answers the UserInfo endpoint
//!   ([Core §5.3](https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)), reading
//!   the user's claims from the host's [`ClaimsSource`];
//! - [`Server::openid_configuration`](crate::Server::openid_configuration) is the discovery
//!   document ([Discovery §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata)),
//!   [`Server::jwks`](crate::Server::jwks) the key set it points to;
//! - [`Server::end_session`](crate::Server::end_session) is RP-initiated logout
//!   ([RP-Initiated Logout 1.0](https://openid.net/specs/openid-connect-rpinitiated-1_0.html)),
//!   two-phase like the authorization endpoint: a [`PendingLogout`] the host confirms;
//! - clients may see pairwise subject identifiers ([`PairwiseSecret`],
//!   [`SubjectType`](crate::SubjectType)).

pub(crate) mod authorize;
mod claims;
pub(crate) mod discovery;
mod id_token;
mod logout;
mod request;
mod subject;
pub(crate) mod tokens;
mod userinfo;

pub use authorize::Authentication;
pub use claims::{ClaimsQuery, ClaimsSource};
pub use logout::{LogoutError, PendingLogout};
pub use request::{Display, IdTokenHint, OpenIdRequest, Prompt};
pub use subject::PairwiseSecret;

pub(crate) use claims::{ClaimsRequest, Target, release, wanted_names};
pub(crate) use id_token::{IdToken, at_hash};
pub(crate) use request::{RequestContext, parse as parse_request};
pub(crate) use subject::subject_identifier;

use crate::error::ErrorCode;

/// Why the host answers an authentication request without approving it, when the answer
/// needs the user and the request allows no page (`prompt=none`), or when a page cannot
/// help ([Core §3.1.2.6](https://openid.net/specs/openid-connect-core-1_0.html#AuthError)).
/// [`PendingAuthorization::refuse`](crate::authorize::PendingAuthorization::refuse) turns it
/// into the error redirect, with `state` and `iss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InteractionNeeded {
    /// The user is not signed in (or must sign in again): `login_required`.
    Login,
    /// The user has not consented to this client and scope: `consent_required`.
    Consent,
    /// Some other page is needed: `interaction_required`.
    Interaction,
    /// The user has several sessions and must choose: `account_selection_required`.
    AccountSelection,
    /// The authentication cannot achieve what the request made essential (an `acr`
    /// value): `unmet_authentication_requirements`. Not limited to `prompt=none`.
    UnmetAuthenticationRequirements,
}

impl InteractionNeeded {
    /// The error code sent to the client.
    pub fn error_code(self) -> ErrorCode {
        match self {
            Self::Login => ErrorCode::LOGIN_REQUIRED,
            Self::Consent => ErrorCode::CONSENT_REQUIRED,
            Self::Interaction => ErrorCode::INTERACTION_REQUIRED,
            Self::AccountSelection => ErrorCode::ACCOUNT_SELECTION_REQUIRED,
            Self::UnmetAuthenticationRequirements => ErrorCode::UNMET_AUTHENTICATION_REQUIREMENTS,
        }
    }
}
