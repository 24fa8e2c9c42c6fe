//! The actor of a delegated token: the `act` claim of
//! [RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1).

use std::sync::Arc;

use serde_json::Value;

use crate::render::JsonObject;

/// Who acts on the subject's behalf in a delegated token, with the actors before it: the
/// `act` claim of [RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1).
///
/// The outermost `Actor` is the **current** actor, the party the token was delegated to
/// last; [`prior`](Self::prior) is the chain of earlier delegations, newest first. Only
/// the current actor may be used for access decisions: prior actors are history, kept for
/// auditing ([RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1)).
/// Only identity claims (`sub`, and `iss` where it is needed to make `sub` unique) are
/// kept: never `exp`, `nbf` or `aud`.
///
/// ```
/// use grantflow::grant::Actor;
///
/// let first = Actor::new("service-a");
/// let chain = Actor::new("service-b").acting_after(first);
/// assert_eq!(chain.subject(), "service-b");
/// assert_eq!(chain.prior().map(Actor::subject), Some("service-a"));
/// assert_eq!(chain.depth(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    subject: Arc<str>,
    issuer: Option<Arc<str>>,
    prior: Option<Box<Actor>>,
}

impl Actor {
    /// How deep a chain may nest: an exchange that would make a deeper one is refused, and
    /// a deeper `act` in a presented JWT is not accepted.
    pub const MAX_DEPTH: usize = 16;

    /// An actor identified by `subject` (its `sub`), with no prior actor.
    pub fn new(subject: &str) -> Self {
        Self {
            subject: Arc::from(subject),
            issuer: None,
            prior: None,
        }
    }

    /// Adds the issuer that makes `sub` unique (`iss`).
    #[must_use]
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(Arc::from(issuer));
        self
    }

    /// Makes `prior` (the chain of a token delegated before) the history of this actor:
    /// `self` becomes the current actor, outermost.
    #[must_use]
    pub fn acting_after(mut self, prior: Self) -> Self {
        self.prior = Some(Box::new(prior));
        self
    }

    /// The actor's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The actor's `iss`, when given.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The actor before this one, if any. Informational only: access decisions use the
    /// current actor alone.
    pub fn prior(&self) -> Option<&Self> {
        self.prior.as_deref()
    }

    /// This actor, then every prior one, newest first. Informational only.
    pub fn chain(&self) -> impl Iterator<Item = &Self> + '_ {
        std::iter::successors(Some(self), |a| a.prior())
    }

    /// How many actors the chain holds (1 without a prior actor).
    pub fn depth(&self) -> usize {
        self.chain().count()
    }

    /// Whether this actor has the identity that `allowed` (a `may_act` claim) names: the
    /// same `sub`, and the same `iss` when `allowed` gives one
    /// ([RFC 8693 §4.4](https://www.rfc-editor.org/rfc/rfc8693#section-4.4)). Prior actors
    /// play no part.
    pub fn matches(&self, allowed: &Self) -> bool {
        self.subject == allowed.subject
            && allowed
                .issuer
                .as_ref()
                .is_none_or(|iss| self.issuer.as_ref() == Some(iss))
    }

    /// The chain as a JSON object, `{"sub":…,"iss":…,"act":{…}}`.
    pub(crate) fn to_json_object(&self) -> JsonObject {
        let mut object = JsonObject::with_capacity(64);
        object
            .string("sub", &self.subject)
            .optional_string("iss", self.issuer.as_deref());
        if let Some(prior) = &self.prior {
            object.object("act", prior.to_json_object());
        }
        object
    }

    /// The chain as JSON text.
    pub fn to_json(&self) -> String {
        // JsonObject writes well-formed UTF-8 JSON: the conversion cannot fail.
        String::from_utf8(self.to_json_object().finish()).unwrap_or_default()
    }

    /// Reads an `act` (or `may_act`) claim value: an object with a string `sub`, an
    /// optional string `iss` and an optional nested `act`, at most
    /// [`MAX_DEPTH`](Self::MAX_DEPTH) deep. Other members are ignored (they are not
    /// identity claims). `None` when the value is not of that shape.
    pub fn from_claim(value: &Value) -> Option<Self> {
        Self::from_claim_at(value, 1)
    }

    fn from_claim_at(value: &Value, depth: usize) -> Option<Self> {
        if depth > Self::MAX_DEPTH {
            return None;
        }
        let object = value.as_object()?;
        let subject = object.get("sub")?.as_str()?;
        let issuer = match object.get("iss") {
            None => None,
            Some(iss) => Some(iss.as_str()?),
        };
        let prior = match object.get("act") {
            None => None,
            Some(act) => Some(Box::new(Self::from_claim_at(act, depth + 1)?)),
        };
        Some(Self {
            subject: Arc::from(subject),
            issuer: issuer.map(Arc::from),
            prior,
        })
    }

    /// Reads the JSON text written by [`to_json`](Self::to_json) (as a store keeps it).
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| Self::from_claim(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_11_chain_nests_newest_outermost_with_identity_claims_only() {
        let chain = Actor::new("c")
            .acting_after(Actor::new("b").acting_after(Actor::new("a").with_issuer("https://x")));
        assert_eq!(
            chain.to_json(),
            r#"{"sub":"c","act":{"sub":"b","act":{"sub":"a","iss":"https://x"}}}"#
        );
        assert_eq!(Actor::from_json(&chain.to_json()), Some(chain.clone()));
        let subjects: Vec<_> = chain.chain().map(Actor::subject).collect();
        assert_eq!(subjects, ["c", "b", "a"]);
    }

    #[test]
    fn tx_11_claims_beyond_the_depth_limit_or_malformed_are_refused() {
        let mut deep = Actor::new("0");
        for i in 1..Actor::MAX_DEPTH {
            deep = Actor::new(&i.to_string()).acting_after(deep);
        }
        assert!(Actor::from_json(&deep.to_json()).is_some());
        let deeper = Actor::new("x").acting_after(deep);
        assert_eq!(Actor::from_json(&deeper.to_json()), None);
        assert_eq!(Actor::from_json(r#"{"sub":1}"#), None);
        assert_eq!(Actor::from_json(r#"{"iss":"a"}"#), None);
        assert_eq!(Actor::from_json(r#"{"sub":"a","iss":null}"#), None);
        // Non-identity members are dropped.
        assert_eq!(
            Actor::from_json(r#"{"sub":"a","exp":1}"#),
            Some(Actor::new("a"))
        );
    }

    #[test]
    fn tx_13_may_act_matches_sub_and_iss_when_given() {
        let allowed = Actor::new("admin");
        assert!(Actor::new("admin").matches(&allowed));
        assert!(Actor::new("admin").with_issuer("i").matches(&allowed));
        assert!(!Actor::new("bob").matches(&allowed));
        let strict = Actor::new("admin").with_issuer("i");
        assert!(!Actor::new("admin").matches(&strict));
        assert!(!Actor::new("admin").with_issuer("j").matches(&strict));
    }
}
