//! ID tokens ([Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)):
//! their claims, and `at_hash`.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use sha2::{Digest as _, Sha256, Sha512};

use crate::jose::{Algorithm, Claims, b64};
use crate::store::OpenIdContext;
use crate::types::ClientId;

/// `at_hash` ([Core §3.1.3.6](https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken),
/// [OpenID Connect Core 1.0 §3.1.3.6]): the base64url encoding of the left half of the hash of the
/// ASCII access token,
/// with the hash of the ID token's algorithm: SHA-256 for RS256, PS256 and ES256, SHA-512
/// for EdDSA with Ed25519
/// ([Token Hash Algorithms §2](https://openid.net/specs/openid-connect-token-hash-algorithms-1_0.html)).
///
/// [OpenID Connect Core 1.0 §3.1.3.6]: https://openid.net/specs/openid-connect-core-1_0.html
pub(crate) fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let token = access_token.as_bytes();
    match alg {
        Algorithm::EdDsa => {
            let digest = Sha512::digest(token);
            b64::encode(&digest[..digest.len() / 2])
        }
        _ => {
            let digest = Sha256::digest(token);
            b64::encode(&digest[..digest.len() / 2])
        }
    }
}

/// What one ID token says.
pub(crate) struct IdToken<'a> {
    pub(crate) client_id: &'a ClientId,
    pub(crate) context: &'a OpenIdContext,
    /// The `at_hash` of the access token issued with it.
    pub(crate) at_hash: Option<String>,
    /// The claims released into it ([OpenID Connect Core 1.0 §5.4], [OpenID Connect Core 1.0
    /// §5.5]).
    ///
    /// [OpenID Connect Core 1.0 §5.4]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [OpenID Connect Core 1.0 §5.5]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) released: Vec<(String, Value)>,
    pub(crate) now: SystemTime,
    pub(crate) lifetime: Duration,
}

impl IdToken<'_> {
    /// The claims set ([OpenID Connect Core 1.0 §2]): `sub`, `aud` (the client, a plain string),
    /// `iat`, `exp`;
    /// `auth_time`, `nonce`, `acr`, `amr` and `at_hash` when known; then the released
    /// claims. `iss` is the key set's. Nothing is `null`. No `azp`: the only audience is
    /// the client ([Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)).
    ///
    /// [OpenID Connect Core 1.0 §2]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) fn claims(self) -> Claims {
        let context = self.context;
        let mut claims = Claims::new()
            .with_subject(&*context.subject_identifier)
            .with_audience([self.client_id.as_str()])
            .with_issued_at(self.now)
            .with_expires_at(self.now.checked_add(self.lifetime).unwrap_or(self.now));
        let mut other = |name: &str, value: Value| claims.insert_other(name.to_owned(), value);
        if let Some(at) = context.auth_time {
            other("auth_time", Value::from(crate::jose::seconds(at)));
        }
        if let Some(nonce) = &context.nonce {
            other("nonce", Value::from(&**nonce));
        }
        if let Some(acr) = &context.acr {
            other("acr", Value::from(&**acr));
        }
        if !context.amr.is_empty() {
            other("amr", Value::from(context.amr.to_vec()));
        }
        if let Some(at_hash) = self.at_hash {
            other("at_hash", Value::from(at_hash));
        }
        for (name, value) in self.released {
            other(&name, value);
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oi_11_v_oidc_1_at_hash_of_core_appendix_a() {
        assert_eq!(
            at_hash(
                Algorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        // c_hash is the same construction (Core Appendix A.4).
        assert_eq!(
            at_hash(
                Algorithm::Rs256,
                "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
            ),
            "LDktKdoQak3Pk0cnXxCltA"
        );
    }

    #[test]
    fn oi_11_v_oidc_2_at_hash_follows_the_algorithm() {
        let token = "YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL";
        for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::Ps256] {
            assert_eq!(at_hash(alg, token), "xsZZrUssMXjL3FBlzoSh2g");
        }
        let eddsa = at_hash(Algorithm::EdDsa, token);
        assert_eq!(eddsa, "p2LHG4H-8pYDc0hyVOo3iIHvZJUqe9tbj3jESOuXbkY");
        assert_eq!(eddsa.len(), 43);
    }
}
