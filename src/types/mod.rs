//! Protocol value types: clients, scopes, redirect URIs and identifiers.

mod actor;
mod client;
#[cfg(feature = "jwt")]
mod client_keys;
mod ids;
mod openid;
mod redirect_uri;
mod resource;
mod scope;

pub use actor::Actor;
pub use client::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, ClientSecret, ClientType,
    DangerousClient, GrantType,
};
pub(crate) use client::{is_display_text, is_display_uri};
pub use ids::{GrantId, Subject};
#[cfg(feature = "oidc")]
pub(crate) use openid::SIGNING_ALGORITHMS;
pub use openid::SubjectType;
pub use redirect_uri::{InvalidRedirectUri, LocalhostPort, RedirectUri};
pub(crate) use resource::MAX_RESOURCES;
pub use resource::{InvalidResource, ResourceUri, Resources};
pub use scope::{InvalidScope, Scope};
