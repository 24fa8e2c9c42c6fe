-- grantflow schema, version 5: client authentication with signed JWTs. Applied by
-- `PgStores::migrate`; do not edit once released.
--
-- A `private_key_jwt` client's public keys (its JWK Set as JSON) and its registered
-- `token_endpoint_auth_signing_alg`, NULL when not registered.
ALTER TABLE grantflow_clients
    ADD COLUMN jwks TEXT,
    ADD COLUMN token_endpoint_auth_signing_alg TEXT
        CHECK (token_endpoint_auth_signing_alg IN ('ES256', 'EdDSA', 'RS256', 'PS256'));

-- Values accepted at most once until they expire (`PgSingleUseStore`): the `jti` of client
-- assertions.
--
-- One row per value, keyed by the SHA-256 of (kind, owner, value), so the values
-- themselves are not kept. `consume` is one INSERT ... ON CONFLICT statement; the purge
-- deletes rows whose time has passed.
CREATE TABLE grantflow_single_use (
    key_hash   BYTEA PRIMARY KEY CHECK (length(key_hash) = 32),
    expires_ns BIGINT NOT NULL
);
CREATE INDEX grantflow_single_use_purge ON grantflow_single_use (expires_ns);
