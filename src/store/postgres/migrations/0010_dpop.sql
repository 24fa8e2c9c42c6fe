-- grantflow schema, version 10: DPoP (RFC 9449). Applied by `PgStores::migrate`; do not
-- edit once released.
--
-- Values are RFC 7638 JWK thumbprints (`jkt`, 43 base64url characters); NULL for none.

-- A client registered with `dpop_bound_access_tokens` (RFC 9449 §5.2).
ALTER TABLE grantflow_clients
    ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT false;

-- The key a token is bound to: an access token's `cnf.jkt`, a public client's refresh
-- token family's key (RFC 9449 §5, §6).
ALTER TABLE grantflow_tokens ADD COLUMN dpop_jkt TEXT;

-- The key an authorization code is bound to (`dpop_jkt`, RFC 9449 §10).
ALTER TABLE grantflow_codes ADD COLUMN dpop_jkt TEXT;
