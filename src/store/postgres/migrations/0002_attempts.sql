-- grantflow schema, version 2: brute-force counts shared by every instance
-- (`PgAttemptLimiter`). Applied by `PgStores::migrate`; do not edit once released.
--
-- One row per limiter key (`client:<id>`, `password:<user name>`, `user_code:<who>`),
-- stored as the SHA-256 of the key, so user names are not kept in clear. A row holds the
-- attempts counted in its current window and when that window ends; the purge deletes
-- rows whose window has ended.
CREATE TABLE grantflow_attempts (
    key_hash       BYTEA PRIMARY KEY CHECK (length(key_hash) = 32),
    window_ends_ns BIGINT NOT NULL,
    attempts       INTEGER NOT NULL CHECK (attempts >= 0)
);
CREATE INDEX grantflow_attempts_purge ON grantflow_attempts (window_ends_ns);
