//! Clients that register themselves: client metadata
//! ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)) validated into a
//! [`ClientMetadata`], from which a [`Client`](crate::Client) is built, or refused with a
//! [`MetadataError`] carrying the error code of
//! [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2).
//!
//! The same validation serves client ID metadata documents
//! ([draft-ietf-oauth-client-id-metadata-document](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)),
//! turned on with
//! [`ServerBuilder::client_id_metadata_documents`](crate::ServerBuilder::client_id_metadata_documents):
//! a client resolved from one carries its [`MetadataDocument`].
//!
//! Dynamic client registration ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)) and
//! its management ([RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)) are served by
//! [`Server::register`](crate::Server::register) and
//! [`Server::client_configuration`](crate::Server::client_configuration), turned on with
//! [`ServerBuilder::client_registration`](crate::ServerBuilder::client_registration) and a
//! [`RegistrationPolicy`] that decides who may register: [`OpenRegistration`] (rate
//! limited), [`InitialAccessTokens`], or the host's own.

mod document;
mod metadata;
mod policy;

pub(crate) use document::DocumentRegistry;
pub use document::MetadataDocument;
#[cfg(feature = "fuzzing")]
pub(crate) use document::{check_client_id_url, client_from_document};
pub(crate) use metadata::parse_object;
pub use metadata::{ClientMetadata, MetadataError, MetadataLimits};
pub use policy::{
    Admission, AdmissionRequest, InitialAccessTokens, OpenRegistration, RegistrationPolicy,
};
