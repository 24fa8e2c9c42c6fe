-- grantflow schema, version 7: resource indicators (RFC 8707), what a client shows on
-- consent pages, and the actor chain of delegated tokens (RFC 8693). Applied by
-- `PgStores::migrate`; do not edit once released.
--
-- Resources are stored like scopes: identifiers separated by single spaces (a resource
-- identifier has none), the empty string for none. grantflow_tokens.audience already holds
-- them in that form (NULL for none).

-- The resources an authorization code's grant, and a device request's, is for.
ALTER TABLE grantflow_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE grantflow_devices ADD COLUMN resources TEXT NOT NULL DEFAULT '';

-- Per client: the resources it may ask tokens for (empty: every registered one), whether
-- one token may be for several, and what it says about itself for consent pages.
ALTER TABLE grantflow_clients
    ADD COLUMN allowed_resources  TEXT NOT NULL DEFAULT '',
    ADD COLUMN multiple_audiences BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN client_uri         TEXT,
    ADD COLUMN logo_uri           TEXT,
    ADD COLUMN tos_uri            TEXT,
    ADD COLUMN policy_uri         TEXT,
    ADD COLUMN contacts           TEXT[] NOT NULL DEFAULT '{}';

-- A delegated token's actor chain (the `act` claim of RFC 8693 §4.1, as
-- `Actor::to_json`); NULL for a token without an actor.
ALTER TABLE grantflow_tokens ADD COLUMN actor TEXT;
