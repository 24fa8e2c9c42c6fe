-- grantflow schema, version 9: dynamic client registration and management (RFC 7591,
-- RFC 7592). Applied by `PgStores::migrate`; do not edit once released.

-- Per client: where it publishes its keys (RFC 7591 §2), and for a client that registered
-- itself the SHA-256 digest of its registration access token (unique: a token names one
-- client), the metadata returned on reads (a JSON object) and when it registered. The
-- three registration columns are NULL for clients the host inserted.
ALTER TABLE grantflow_clients
    ADD COLUMN jwks_uri                 TEXT,
    ADD COLUMN registration_token_hash  BYTEA UNIQUE
        CHECK (length(registration_token_hash) = 32),
    ADD COLUMN registration_metadata    TEXT,
    ADD COLUMN registered_ns            BIGINT;

-- Revoking every token of a deleted client is one indexed statement.
CREATE INDEX grantflow_tokens_client ON grantflow_tokens (client_id);
