-- grantflow schema, version 8: pushed authorization requests (RFC 9126). Applied by
-- `PgStores::migrate`; do not edit once released.
--
-- A client registered to use pushed authorization requests only.
ALTER TABLE grantflow_clients
    ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT false;

-- Pushed authorization requests (`PgPushedRequestStore`), keyed by the SHA-256 of their
-- `request_uri`: the client that pushed one, its parameters (form-encoded, without the
-- client's credentials) and its expiry. `consume` deletes the row in one statement; the
-- purge deletes rows whose time has passed.
CREATE TABLE grantflow_pushed_requests (
    hash       BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    client_id  TEXT NOT NULL,
    parameters TEXT NOT NULL,
    expires_ns BIGINT NOT NULL
);
CREATE INDEX grantflow_pushed_requests_purge ON grantflow_pushed_requests (expires_ns);
