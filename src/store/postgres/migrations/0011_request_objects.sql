-- grantflow schema, version 11: signed request objects (RFC 9101). Applied by
-- `PgStores::migrate`; do not edit once released.
--
-- Per client: the one algorithm its request objects may use (NULL: any the server
-- accepts), and whether its authorization requests must be signed request objects.
ALTER TABLE grantflow_clients
    ADD COLUMN request_object_signing_alg    TEXT,
    ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT false;
