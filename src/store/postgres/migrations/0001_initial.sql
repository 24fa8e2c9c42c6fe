-- grantflow schema, version 1. Applied by `PgStores::migrate`; do not edit once released:
-- later changes go in a new numbered file.
--
-- Times are BIGINT nanoseconds since the Unix epoch (exact round trips of the server's
-- clock), digests are the 32 bytes of a SHA-256 (never a code or token value), grant ids
-- their 16 random bytes. Every lookup has an index: primary keys for digests and client
-- ids, `*_grant` for revocation by grant, `*_purge` for the batched purges.

CREATE TABLE grantflow_clients (
    client_id            TEXT PRIMARY KEY,
    client_type          TEXT NOT NULL CHECK (client_type IN ('public', 'confidential')),
    auth_method          TEXT NOT NULL,
    secret_hashes        BYTEA[] NOT NULL,
    redirect_uris        TEXT[] NOT NULL,
    grant_types          TEXT[] NOT NULL,
    allowed_scope        TEXT NOT NULL,
    default_scope        TEXT,
    issue_refresh_tokens BOOLEAN NOT NULL,
    name                 TEXT,
    introspection        BOOLEAN NOT NULL,
    resource_audience    TEXT,
    pkce_exempt          BOOLEAN NOT NULL
);

-- Authorization codes. A redeemed code stays (redemptions > 0) until it expires, so a
-- replay is recognised and revokes its grant (AC-02).
CREATE TABLE grantflow_codes (
    hash             BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    grant_id         BYTEA NOT NULL,
    client_id        TEXT NOT NULL,
    redirect_uri     TEXT,
    challenge_method TEXT,
    challenge        TEXT,
    subject          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    issuer           TEXT NOT NULL,
    issued_ns        BIGINT NOT NULL,
    expires_ns       BIGINT NOT NULL,
    redemptions      SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX grantflow_codes_purge ON grantflow_codes (expires_ns);

-- One row per grant that has tokens or a revocation tombstone. Inserts and rotations
-- lock it with an upsert, and revocation updates it first, so the two serialize per grant
-- (the tombstone contract of TokenStore::insert).
CREATE TABLE grantflow_grants (
    grant_id         BYTEA PRIMARY KEY CHECK (length(grant_id) = 16),
    revoked_until_ns BIGINT,
    purge_ns         BIGINT NOT NULL
);
CREATE INDEX grantflow_grants_purge ON grantflow_grants (purge_ns);

-- Access and refresh tokens. A rotated-out refresh token keeps its row with rotated_ns set
-- (the marker of RT-05/RT-06) until its original expiry.
CREATE TABLE grantflow_tokens (
    hash       BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id   BYTEA NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT,
    scope      TEXT NOT NULL,
    audience   TEXT,
    issued_ns  BIGINT NOT NULL,
    expires_ns BIGINT NOT NULL,
    rotated_ns BIGINT
);
CREATE INDEX grantflow_tokens_grant ON grantflow_tokens (grant_id);
CREATE INDEX grantflow_tokens_purge ON grantflow_tokens (expires_ns);

-- Device authorization requests (RFC 8628), kept until purge_ns (expiry plus retention)
-- so late polls get expired_token.
CREATE TABLE grantflow_devices (
    device_hash   BYTEA PRIMARY KEY CHECK (length(device_hash) = 32),
    grant_id      BYTEA NOT NULL,
    client_id     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    user_code     TEXT NOT NULL,
    created_ns    BIGINT NOT NULL,
    expires_ns    BIGINT NOT NULL,
    interval_ns   BIGINT NOT NULL,
    last_poll_ns  BIGINT,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'redeemed')),
    subject       TEXT,
    granted_scope TEXT,
    purge_ns      BIGINT NOT NULL
);
CREATE INDEX grantflow_devices_purge ON grantflow_devices (purge_ns);

-- Which request holds a user code. An insert takes a code over only from a holder that
-- has expired, in one upsert, so a code belongs to at most one live request.
CREATE TABLE grantflow_device_user_codes (
    user_code   TEXT PRIMARY KEY,
    device_hash BYTEA NOT NULL,
    expires_ns  BIGINT NOT NULL,
    purge_ns    BIGINT NOT NULL
);
CREATE INDEX grantflow_device_user_codes_purge ON grantflow_device_user_codes (purge_ns);
