-- grantflow schema, version 7: values accepted at most once until they expire
-- (`PgSingleUseStore`): the `jti` of client assertions. Applied by `PgStores::migrate`;
-- do not edit once released.
--
-- One row per value, keyed by the SHA-256 of (kind, owner, value), so the values
-- themselves are not kept. `consume` is one INSERT ... ON CONFLICT statement; the purge
-- deletes rows whose time has passed.
CREATE TABLE grantflow_single_use (
    key_hash   BYTEA PRIMARY KEY CHECK (length(key_hash) = 32),
    expires_ns BIGINT NOT NULL
);
CREATE INDEX grantflow_single_use_purge ON grantflow_single_use (expires_ns);
