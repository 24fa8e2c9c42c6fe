//! Clients that register themselves: client metadata
//! ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)) validated into a
//! [`ClientMetadata`], from which a [`Client`](crate::Client) is built, or refused with a
//! [`MetadataError`] carrying the error code of
//! [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2).

mod metadata;

pub use metadata::{ClientMetadata, MetadataError, MetadataLimits};
