-- grantflow schema, version 3: the signing-key sets of the JOSE layer (feature `jwt`,
-- `PgKeySetStore`). Applied by `PgStores::migrate` whatever the features, so that
-- instances built with and without `jwt` share one schema; do not edit once released.
--
-- One row per key: the public JWK and its schedule (nanoseconds since the epoch). No
-- private key material. `key_set` names the set (one per issuer). Introductions of keys
-- into one set are serialized by a transaction-level advisory lock on the set's name.
CREATE TABLE grantflow_signing_keys (
    key_set      TEXT NOT NULL,
    kid          TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    published_ns BIGINT NOT NULL,
    activates_ns BIGINT NOT NULL,
    retires_ns   BIGINT,
    removes_ns   BIGINT,
    PRIMARY KEY (key_set, kid)
);
CREATE INDEX grantflow_signing_keys_purge ON grantflow_signing_keys (removes_ns);
