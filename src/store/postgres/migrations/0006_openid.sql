-- grantflow schema, version 6: OpenID Connect (feature `oidc`). Applied by
-- `PgStores::migrate` whatever the features, so that instances built with and without
-- `oidc` share one schema; do not edit once released.
--
-- A client's OpenID registration: the algorithms of its ID tokens and UserInfo responses
-- (NULL: RS256 ID tokens, plain JSON UserInfo), its subject type, the
-- `sector_identifier_uri` of a pairwise client with the document fetched from it at
-- registration, its post-logout redirect URIs, and two release settings.
ALTER TABLE grantflow_clients
    ADD COLUMN id_token_signed_response_alg TEXT,
    ADD COLUMN userinfo_signed_response_alg TEXT,
    ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'public'
        CHECK (subject_type IN ('public', 'pairwise')),
    ADD COLUMN sector_identifier_uri TEXT,
    ADD COLUMN sector_identifier_document TEXT,
    ADD COLUMN post_logout_redirect_uris TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN refresh_needs_offline_access BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN scope_claims_in_id_token BOOLEAN NOT NULL DEFAULT false;

-- The OpenID context of a code or token of an OpenID grant (`OpenIdContext::to_json`:
-- the client's `sub`, `nonce` on codes only, `auth_time`, `acr`, `amr`, the `claims`
-- request); NULL for plain OAuth.
ALTER TABLE grantflow_codes ADD COLUMN openid TEXT;
ALTER TABLE grantflow_tokens ADD COLUMN openid TEXT;
