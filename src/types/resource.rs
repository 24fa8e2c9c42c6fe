//! Resource identifiers ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2),
//! [RFC 9728 §1.2](https://www.rfc-editor.org/rfc/rfc9728#section-1.2)): which protected
//! resource a token is for.

use std::fmt;
use std::sync::Arc;

/// The longest resource identifier accepted.
pub(crate) const MAX_RESOURCE_LEN: usize = 2048;

/// The most resources one request, grant or token may name.
pub(crate) const MAX_RESOURCES: usize = 16;

/// A resource identifier: the absolute URI of a protected resource, as the `resource`
/// parameter names it ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2))
/// and as the resource's metadata publishes it
/// ([RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)).
///
/// It must be an absolute URI without a fragment, of at most 2,048 visible ASCII
/// characters. It is compared character for character, never normalised: a trailing
/// `/`, a default port or letter case makes another identifier. Cheap to clone.
///
/// ```
/// use grantflow::resource::ResourceUri;
///
/// let api = ResourceUri::parse("https://api.example.com/v1")?;
/// assert_eq!(api.as_str(), "https://api.example.com/v1");
/// assert!(ResourceUri::parse("/v1").is_err());
/// assert!(ResourceUri::parse("https://api.example.com/v1#top").is_err());
/// # Ok::<(), grantflow::resource::InvalidResource>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceUri(Arc<str>);

/// A value is not a resource identifier: not an absolute URI, with a fragment, too long,
/// or with characters outside visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a resource identifier is an absolute URI without fragment, at most 2048 visible ASCII characters"
)]
pub struct InvalidResource(());

impl ResourceUri {
    /// Validates a resource identifier ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    ///
    /// # Errors
    /// [`InvalidResource`] when `value` is not an absolute URI, has a fragment, is longer
    /// than 2,048 characters or has a character outside visible ASCII.
    pub fn parse(value: &str) -> Result<Self, InvalidResource> {
        if value.is_empty()
            || value.len() > MAX_RESOURCE_LEN
            || !value.bytes().all(|b| b.is_ascii_graphic())
            || value.contains('#')
        {
            return Err(InvalidResource(()));
        }
        let url = url::Url::parse(value).map_err(|_| InvalidResource(()))?;
        // `Url::parse` takes `https:x` as a URL with a host `x`; an http(s) URI needs its
        // `//` authority.
        if matches!(url.scheme(), "http" | "https")
            && (url.host().is_none() || !value[url.scheme().len()..].starts_with("://"))
        {
            return Err(InvalidResource(()));
        }
        Ok(Self(Arc::from(value)))
    }

    /// The identifier, exactly as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceUri({:?})", &*self.0)
    }
}

impl fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of resource identifiers: the resources a grant was approved for
/// ([RFC 8707 §2.1](https://www.rfc-editor.org/rfc/rfc8707#section-2.1)), or the audience
/// of a token, the resources it may be used at
/// ([RFC 8707 §2.2](https://www.rfc-editor.org/rfc/rfc8707#section-2.2)).
///
/// Each identifier appears once, in the order first given. The empty set means "not
/// restricted to any resource": tokens issued without resource indicators. Cloning costs a
/// reference count.
///
/// ```
/// use grantflow::resource::{ResourceUri, Resources};
///
/// let cal = ResourceUri::parse("https://cal.example.com/")?;
/// let contacts = ResourceUri::parse("https://contacts.example.com/")?;
/// let granted = Resources::new([cal.clone(), contacts, cal.clone()]);
/// assert_eq!(granted.len(), 2);
/// assert!(Resources::one(cal).is_subset_of(&granted));
/// assert!(Resources::empty().is_empty());
/// # Ok::<(), grantflow::resource::InvalidResource>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Resources(Option<Arc<[ResourceUri]>>);

impl Resources {
    /// The empty set: not restricted to a resource.
    pub const fn empty() -> Self {
        Self(None)
    }

    /// The set of one resource.
    pub fn one(resource: ResourceUri) -> Self {
        Self(Some(Arc::from([resource])))
    }

    /// The set of `resources`, duplicates removed, in the order first given.
    pub fn new(resources: impl IntoIterator<Item = ResourceUri>) -> Self {
        let mut unique: Vec<ResourceUri> = Vec::new();
        for resource in resources {
            if !unique.contains(&resource) {
                unique.push(resource);
            }
        }
        if unique.is_empty() {
            Self(None)
        } else {
            Self(Some(Arc::from(unique)))
        }
    }

    /// The identifiers, in order.
    pub fn as_slice(&self) -> &[ResourceUri] {
        self.0.as_deref().unwrap_or(&[])
    }

    /// The identifiers as strings, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        self.as_slice().iter().map(ResourceUri::as_str)
    }

    /// How many resources the set holds.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the set is empty (no restriction).
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `resource` is in the set, compared character for character.
    pub fn contains(&self, resource: &str) -> bool {
        self.iter().any(|r| r == resource)
    }

    /// Whether every resource of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.iter().all(|r| other.contains(r))
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<ResourceUri> for Resources {
    fn from_iter<I: IntoIterator<Item = ResourceUri>>(iter: I) -> Self {
        Self::new(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ri_01_resource_syntax() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com/",
            "https://api.example.com:8443/t1/?tenant=a",
            "urn:example:resource",
        ] {
            assert!(ResourceUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/api",
            "api.example.com",
            "https://api.example.com/#x",
            "https://api.example.com/ x",
            "https:api.example.com",
            "https://",
            "https://api.example.com/caf\u{e9}",
        ] {
            assert!(ResourceUri::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://api.example.com/{}", "a".repeat(MAX_RESOURCE_LEN));
        assert!(ResourceUri::parse(&long).is_err());
    }

    #[test]
    fn ri_02_identical_values_collapse_in_order() {
        let a = ResourceUri::parse("https://a.example/").unwrap();
        let b = ResourceUri::parse("https://b.example/").unwrap();
        let set = Resources::new([b.clone(), a.clone(), b.clone()]);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            ["https://b.example/", "https://a.example/"]
        );
        assert!(Resources::one(a.clone()).is_subset_of(&set));
        assert!(!set.is_subset_of(&Resources::one(a)));
        assert!(Resources::empty().is_subset_of(&set));
        assert_eq!(Resources::new([]), Resources::empty());
        // No normalisation: a trailing slash is another resource.
        assert!(!set.contains("https://b.example"));
    }
}
