//! Protocol value types: clients, scopes, redirect URIs and identifiers.

mod client;
mod ids;
mod redirect_uri;
mod scope;

pub use client::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, ClientSecret, ClientType, GrantType,
};
pub use ids::{GrantId, Subject};
pub use redirect_uri::{InvalidRedirectUri, RedirectUri};
pub use scope::{InvalidScope, Scope};
