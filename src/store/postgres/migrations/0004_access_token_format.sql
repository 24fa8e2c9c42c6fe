-- grantflow schema, version 4: a client's access token format (`ClientBuilder::
-- access_token_format`), NULL for the server's default. Applied by `PgStores::migrate`; do
-- not edit once released.
ALTER TABLE grantflow_clients
    ADD COLUMN access_token_format TEXT CHECK (access_token_format IN ('opaque', 'jwt'));
