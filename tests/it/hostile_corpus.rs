//! The hostile-input corpus (issue 9; SEC-06, ER-02, ER-05, ST-02, AZ-02, AZ-03, TE-01..TE-04,
//! BT-08): tens of thousands of generated malformed requests against every endpoint
//! (token, authorize, device authorization, device verification, revocation,
//! introspection, the bearer guard, metadata), built from invalid UTF-8, overlong values,
//! repeated and empty parameters, wrong methods and content types, HTML and SQL
//! metacharacters in every field, huge bodies, deeply percent-encoded strings and every
//! combination of missing parameters, plus seeded random mixtures of them.
//!
//! Every response is held to the invariants of `tests/support/hostile.rs`, the same
//! ones the fuzz targets check: never a panic or a 5xx; a well-formed RFC error (JSON
//! with `error` at the token-style endpoints; a local `Rejected` or a redirect with a
//! well-formed query at the authorization endpoint); nothing stored by a refusal; no
//! ER-02-forbidden character in `error` or `error_description` and no reflected markup;
//! `state` echoed exactly and only percent-encoded. Deterministic: one fixed seed.

use std::sync::Arc;
use std::time::Duration;

use crate::support::harness::enc;
use crate::support::hostile::*;
use grantflow::limiter::MemoryAttemptLimiter;
use grantflow::{HttpRequest, Method};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// Hostile values in wire form (what goes between `=` and `&`).
fn hostile_values() -> Vec<Vec<u8>> {
    let deep = (0..6).fold("<script>".to_owned(), |s, _| enc(&s));
    let mut values: Vec<Vec<u8>> = [
        String::new(),
        // Invalid UTF-8, percent-encoded: a lone byte, a bad continuation, a surrogate, an
        // overlong encoding of '/'.
        "%FF".to_owned(),
        "%C3%28".to_owned(),
        "%ED%A0%80".to_owned(),
        "%C0%AF".to_owned(),
        // Malformed escapes.
        "%".to_owned(),
        "%4".to_owned(),
        "%zz".to_owned(),
        "%%41".to_owned(),
        // Deeply percent-encoded markup.
        deep,
        "%252525252541".to_owned(),
        // Markup and script.
        enc("<script>alert(1)</script>"),
        enc("\"><svg onload=alert(1)>"),
        enc("javascript:alert(document.cookie)"),
        enc("</title><img src=x onerror=alert(1)>"),
        // SQL.
        enc("' OR '1'='1"),
        enc("'; DROP TABLE tokens; --"),
        enc("1); SELECT pg_sleep(10); --"),
        // Header and response splitting, NUL and control characters.
        "%0D%0ALocation:%20https://evil.example".to_owned(),
        "%0D%0A%0D%0A<html>".to_owned(),
        "%00".to_owned(),
        "%01%1B%7F".to_owned(),
        // Non-ASCII, bidi override, astral plane.
        enc("caf\u{e9}"),
        enc("\u{202e}txt.exe"),
        enc("\u{1d54f}"),
        // JSON and quoting.
        enc("\",\"error\":\"injected\",\"x\":\""),
        enc("back\\slash \"quote\""),
        // Separators, encoded and not.
        "+++".to_owned(),
        "%26code%3Dx%3D".to_owned(),
        "a=b=c".to_owned(),
        // Overlong: above the 4 KiB value limit, above the 2 KiB state limit, and an
        // escape-heavy value near the limit.
        "a".repeat(5000),
        "s".repeat(2100),
        "%41".repeat(1300),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    // Raw invalid UTF-8 bytes, unencoded.
    values.push(b"\xff\xfe".to_vec());
    values.push(b"ok\xc3\x28".to_vec());
    values
}

/// Hostile parameter names in wire form.
fn hostile_names() -> Vec<Vec<u8>> {
    [
        enc("<script>"),
        enc("' OR 1=1 --"),
        "%FF".to_owned(),
        "%".to_owned(),
        "n".repeat(5000),
        enc("caf\u{e9}"),
        "gr%61nt_type".to_owned(),
        "%00".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
enum Auth {
    None,
    Basic(&'static str, &'static str),
}

/// A valid request to mutate: its parameters in wire form, where they go, and how it
/// authenticates.
#[derive(Clone, Debug)]
struct Template {
    params: Vec<(&'static str, String)>,
    auth: Auth,
    /// The parameters go into the query of a GET (the authorization endpoint).
    in_query: bool,
}

impl Template {
    fn new(params: &[(&'static str, &str)], auth: Auth) -> Self {
        Self {
            params: params.iter().map(|(n, v)| (*n, enc(v))).collect(),
            auth,
            in_query: false,
        }
    }

    fn in_query(mut self) -> Self {
        self.in_query = true;
        self
    }
}

/// One generated request, before it becomes an [`HttpRequest`].
#[derive(Clone, Debug)]
struct Shape {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    auth: Auth,
    in_query: bool,
    method: Option<Method>,
    content_type: Option<&'static str>,
    extra_headers: Vec<(&'static str, String)>,
    query: Option<String>,
    tail: Vec<u8>,
}

/// Content types: the right one, charset variants, and wrong ones.
const CONTENT_TYPES: [Option<&str>; 8] = [
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=UTF-8"),
    Some("application/x-www-form-urlencoded; charset=ISO-8859-1"),
    Some("application/json"),
    Some("multipart/form-data; boundary=x"),
    Some("text/plain"),
    Some("<script>/x"),
    None,
];

const METHODS: [Method; 5] = [
    Method::Post,
    Method::Get,
    Method::Head,
    Method::Options,
    Method::Other,
];

impl Shape {
    fn of(template: &Template) -> Self {
        Self {
            pairs: template
                .params
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.clone().into_bytes()))
                .collect(),
            auth: template.auth,
            in_query: template.in_query,
            method: None,
            content_type: CONTENT_TYPES[0],
            extra_headers: Vec::new(),
            query: None,
            tail: Vec::new(),
        }
    }

    fn request(&self) -> HttpRequest {
        let mut wire = Vec::new();
        for (name, value) in &self.pairs {
            if !wire.is_empty() {
                wire.push(b'&');
            }
            wire.extend_from_slice(name);
            wire.push(b'=');
            wire.extend_from_slice(value);
        }
        wire.extend_from_slice(&self.tail);
        let default_method = if self.in_query {
            Method::Get
        } else {
            Method::Post
        };
        let mut request = HttpRequest::new(self.method.unwrap_or(default_method));
        if self.in_query {
            request = request.with_query(String::from_utf8_lossy(&wire).into_owned());
        } else {
            if let Some(content_type) = self.content_type {
                request = request.with_header("content-type", content_type);
            }
            request = request.with_body(wire);
            if let Some(query) = &self.query {
                request = request.with_query(query.clone());
            }
        }
        if let Auth::Basic(id, secret) = self.auth {
            use base64::Engine as _;
            let credentials = format!("{}:{}", enc(id), enc(secret));
            let value = base64::engine::general_purpose::STANDARD.encode(credentials);
            request = request.with_header("authorization", format!("Basic {value}"));
        }
        for (name, value) in &self.extra_headers {
            request = request.with_header(name, value.clone());
        }
        request
    }
}

/// Every request the corpus sends for one template, systematic first, then `random` seeded
/// mixtures.
fn corpus(template: &Template, rng: &mut StdRng, random: usize) -> Vec<Shape> {
    let values = hostile_values();
    let names = hostile_names();
    let base = Shape::of(template);
    let n = base.pairs.len();
    let mut out = Vec::new();
    // Every combination of missing parameters, with and without the client's credentials.
    for mask in 0..(1u32 << n) {
        for auth in [base.auth, Auth::None] {
            let mut shape = base.clone();
            shape.auth = auth;
            shape.pairs = base
                .pairs
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, p)| p.clone())
                .collect();
            out.push(shape);
        }
    }
    // Each parameter given each hostile value; repeated (same, other, empty); and moved
    // into the query string.
    for i in 0..n {
        for value in &values {
            let mut shape = base.clone();
            shape.pairs[i].1 = value.clone();
            out.push(shape);
        }
        for second in [base.pairs[i].1.clone(), b"other".to_vec(), Vec::new()] {
            let mut shape = base.clone();
            shape.pairs.push((base.pairs[i].0.clone(), second));
            out.push(shape);
        }
        if !base.in_query {
            let mut shape = base.clone();
            let (name, value) = shape.pairs.remove(i);
            shape.query = Some(format!(
                "{}={}",
                String::from_utf8_lossy(&name),
                String::from_utf8_lossy(&value)
            ));
            out.push(shape);
        }
    }
    // Hostile names, alone and repeated.
    for name in &names {
        for times in [1, 2] {
            let mut shape = base.clone();
            for _ in 0..times {
                shape.pairs.push((name.clone(), b"<b>x</b>".to_vec()));
            }
            out.push(shape);
        }
    }
    // Wrong methods and content types.
    for method in METHODS {
        for content_type in CONTENT_TYPES {
            let mut shape = base.clone();
            shape.method = Some(method);
            shape.content_type = content_type;
            out.push(shape);
        }
    }
    // Huge bodies, too many parameters, raw bytes, stray separators, hostile headers.
    let mut huge = base.clone();
    huge.tail = b"&pad="
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 20_000))
        .collect();
    out.push(huge);
    let mut megabyte = base.clone();
    megabyte.tail = vec![b'&'; 1 << 20];
    out.push(megabyte);
    let mut many = base.clone();
    many.pairs
        .extend((0..40).map(|i| (format!("p{i}").into_bytes(), b"1".to_vec())));
    out.push(many);
    for tail in [&b"&&&&"[..], b"&=", b"=&=", b"\xff\xff", b"&%", b"\0"] {
        let mut shape = base.clone();
        shape.tail = tail.to_vec();
        out.push(shape);
    }
    for (name, value) in [
        ("authorization", "Basic"),
        ("authorization", "Basic !!!"),
        ("authorization", "Basic Og=="),
        ("authorization", "Bearer <script>"),
        ("authorization", "Digest x"),
        ("authorization", "Basic \u{e9}\u{e9}"),
        ("content-type", "application/x-www-form-urlencoded"),
    ] {
        let mut shape = base.clone();
        shape.extra_headers.push((name, value.to_owned()));
        out.push(shape);
    }
    // Seeded random mixtures: a random subset, one to three hostile values or names at
    // random positions, shuffled, sometimes a wrong method, content type or extra header.
    for _ in 0..random {
        let mut shape = base.clone();
        shape.pairs.retain(|_| rng.random_bool(0.8));
        for _ in 0..rng.random_range(1..=3) {
            let value = values[rng.random_range(0..values.len())].clone();
            if !shape.pairs.is_empty() && rng.random_bool(0.85) {
                let at = rng.random_range(0..shape.pairs.len());
                shape.pairs[at].1 = value;
            } else {
                let name = names[rng.random_range(0..names.len())].clone();
                shape.pairs.push((name, value));
            }
        }
        if rng.random_bool(0.15) && !shape.pairs.is_empty() {
            let at = rng.random_range(0..shape.pairs.len());
            let repeat = shape.pairs[at].clone();
            shape.pairs.push(repeat);
        }
        for i in (1..shape.pairs.len()).rev() {
            shape.pairs.swap(i, rng.random_range(0..=i));
        }
        if rng.random_bool(0.1) {
            shape.method = Some(METHODS[rng.random_range(0..METHODS.len())]);
        }
        if rng.random_bool(0.1) {
            shape.content_type = CONTENT_TYPES[rng.random_range(0..CONTENT_TYPES.len())];
        }
        if rng.random_bool(0.2) {
            shape.auth = Auth::None;
        }
        out.push(shape);
    }
    out
}

/// A world whose brute-force limiters never throttle, so hostile input reaches every
/// check behind client authentication (throttling has its own tests: TE-10, DG-07, PW-03).
fn open_world() -> World {
    let open = || Arc::new(MemoryAttemptLimiter::new(u32::MAX, Duration::from_secs(1)));
    World::with(|b| {
        b.attempt_limiter(open())
            .user_code_limiter(open())
            .password_limiter(open())
    })
}

/// How often each outcome came back, so a test can show it reached every kind of answer
/// (a corpus whose requests all stop at the first check would prove little).
type Outcomes = std::collections::BTreeMap<String, usize>;

/// Sends every shape through `check`, which returns the outcome, starting from a fresh
/// world again whenever a request changed what is stored (a success), so the live
/// artifacts stay live. `check` says whether the request changed state without changing
/// the store counts (a refresh rotation).
fn run(
    shapes: &[Shape],
    outcomes: &mut Outcomes,
    mut check: impl FnMut(&World, &HttpRequest) -> (String, bool),
) {
    let mut world = open_world();
    for shape in shapes {
        let before = world.counts();
        let (outcome, changed) = check(&world, &shape.request());
        *outcomes.entry(outcome).or_default() += 1;
        if changed || world.counts() != before {
            world = open_world();
        }
    }
}

/// Asserts that at least `total` requests were sent and every outcome in `expected` came
/// back at least once.
#[track_caller]
fn assert_outcomes(outcomes: &Outcomes, total: usize, expected: &[&str]) {
    let sent: usize = outcomes.values().sum();
    assert!(sent >= total, "only {sent} requests: {outcomes:?}");
    for outcome in expected {
        assert!(
            outcomes.contains_key(*outcome),
            "no {outcome} in {outcomes:?}"
        );
    }
}

fn status(response: &grantflow::HttpResponse) -> String {
    response.status.as_u16().to_string()
}

fn token_templates() -> Vec<Template> {
    let conf = Auth::Basic(CONF.0, CONF.1);
    vec![
        Template::new(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("client_id", POST.0),
                ("client_secret", POST.1),
            ],
            Auth::None,
        ),
        Template::new(
            &[
                ("grant_type", "authorization_code"),
                ("code", CODE),
                ("redirect_uri", LOOPBACK_REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", SPA),
            ],
            Auth::None,
        ),
        Template::new(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", REFRESH_TOKEN),
                ("scope", "read"),
            ],
            conf,
        ),
        Template::new(
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", DEVICE_CODE),
                ("client_id", SPA),
            ],
            Auth::None,
        ),
        Template::new(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "correct horse"),
                ("scope", "read"),
            ],
            conf,
        ),
    ]
}

#[test]
fn sec_06_token_endpoint_survives_the_hostile_corpus() {
    let mut rng = StdRng::seed_from_u64(0x5ec0_6000);
    let mut outcomes = Outcomes::new();
    for template in token_templates() {
        let shapes = corpus(&template, &mut rng, 1500);
        run(&shapes, &mut outcomes, |world, request| {
            let response = check_token(world, request);
            (status(&response), response.status.as_u16() == 200)
        });
    }
    assert_outcomes(&outcomes, 8_500, &["200", "400", "401", "405"]);
}

#[test]
fn sec_06_st_02_authorization_endpoint_survives_the_hostile_corpus() {
    let mut rng = StdRng::seed_from_u64(0x5ec0_6001);
    let template = Template::new(
        &[
            ("response_type", "code"),
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("scope", "read"),
            ("state", "<script>alert(\"st\")</script>' OR 1=1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        Auth::None,
    )
    .in_query();
    let confidential = Template::new(
        &[
            ("response_type", "code"),
            ("client_id", CONF.0),
            ("state", "a+b c/d?e=f&g%20h~*"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        Auth::None,
    )
    .in_query();
    let mut shapes = corpus(&template, &mut rng, 4000);
    shapes.extend(corpus(&confidential, &mut rng, 1000));
    // The same requests as form POSTs (AZ-01).
    let posted: Vec<Shape> = shapes
        .iter()
        .step_by(3)
        .map(|shape| Shape {
            in_query: false,
            ..shape.clone()
        })
        .collect();
    shapes.extend(posted);
    let mut decision = 0u8;
    let mut outcomes = Outcomes::new();
    run(&shapes, &mut outcomes, |world, request| {
        decision = decision.wrapping_add(1);
        (check_authorize(world, request, decision).to_owned(), false)
    });
    assert_outcomes(&outcomes, 7_500, &["pending", "rejected", "redirect"]);
}

#[test]
fn sec_06_device_endpoints_survive_the_hostile_corpus() {
    let mut rng = StdRng::seed_from_u64(0x5ec0_6002);
    let public = Template::new(&[("client_id", SPA), ("scope", "read")], Auth::None);
    let post = Template::new(
        &[
            ("client_id", POST.0),
            ("client_secret", POST.1),
            ("scope", "read"),
        ],
        Auth::None,
    );
    let mut shapes = corpus(&public, &mut rng, 1500);
    shapes.extend(corpus(&post, &mut rng, 1500));
    let mut outcomes = Outcomes::new();
    run(&shapes, &mut outcomes, |world, request| {
        let response = check_device_authorization(world, request);
        (status(&response), false)
    });
    assert_outcomes(&outcomes, 3_300, &["200", "400", "401", "405"]);
    // The verification page's inputs: what the user typed, and the limiter key the host
    // passes, each hostile.
    let mut world = open_world();
    let mut verifications = std::collections::BTreeMap::<bool, usize>::new();
    let typed: Vec<String> = hostile_values()
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .chain(
            [
                "WDJB-MJHT",
                "wdjb mjht",
                "WDJB\u{2013}MJHT",
                " WDJBMJHT ",
                "WDJBMJHTX",
                "W\u{0}DJBMJHT",
                "\u{1d54e}DJBMJHT",
            ]
            .map(str::to_owned),
        )
        .collect();
    for (i, user_code) in typed.iter().enumerate() {
        for key in &typed {
            let key = format!("{i}:{key}");
            let found = check_device_verification(&world, user_code, &key, None);
            *verifications.entry(found).or_default() += 1;
            if found {
                // The check denied the request it found: start again with a live one.
                world = open_world();
            }
        }
    }
    // Every spelling of the live code finds it (the first entry per key), nothing else does.
    assert!(verifications[&true] >= 4 * typed.len(), "{verifications:?}");
    assert!(verifications[&false] > 1_000, "{verifications:?}");
}

#[test]
fn sec_06_revocation_and_introspection_survive_the_hostile_corpus() {
    let mut rng = StdRng::seed_from_u64(0x5ec0_6003);
    let conf = Auth::Basic(CONF.0, CONF.1);
    let revocations = [
        Template::new(
            &[("token", ACCESS_TOKEN), ("token_type_hint", "access_token")],
            conf,
        ),
        Template::new(
            &[
                ("token", SPA_REFRESH_TOKEN),
                ("token_type_hint", "refresh_token"),
                ("client_id", SPA),
            ],
            Auth::None,
        ),
    ];
    let mut outcomes = Outcomes::new();
    for template in &revocations {
        let shapes = corpus(template, &mut rng, 1200);
        run(&shapes, &mut outcomes, |world, request| {
            (
                format!("revoke {}", status(&check_revoke(world, request))),
                false,
            )
        });
    }
    let introspections = [
        Template::new(
            &[("token", ACCESS_TOKEN), ("token_type_hint", "access_token")],
            Auth::Basic(RS.0, RS.1),
        ),
        Template::new(&[("token", AUDIENCE_TOKEN)], conf),
    ];
    for template in &introspections {
        let shapes = corpus(template, &mut rng, 1200);
        run(&shapes, &mut outcomes, |world, request| {
            let response = check_introspect(world, request);
            let active = if response.body.starts_with(br#"{"active":true"#) {
                " active"
            } else {
                ""
            };
            (format!("introspect {}{active}", status(&response)), false)
        });
    }
    assert_outcomes(
        &outcomes,
        5_000,
        &[
            "revoke 200",
            "revoke 400",
            "revoke 401",
            "introspect 200",
            "introspect 200 active",
            "introspect 401",
        ],
    );
}

#[test]
fn sec_06_bt_08_bearer_guard_survives_the_hostile_corpus() {
    let mut rng = StdRng::seed_from_u64(0x5ec0_6004);
    let values = hostile_values();
    let world = open_world();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut headers: Vec<String> = values
        .iter()
        .map(|v| format!("Bearer {}", String::from_utf8_lossy(v)))
        .collect();
    headers.extend([
        format!("Bearer {ACCESS_TOKEN}"),
        format!("bEaReR {ACCESS_TOKEN}"),
        format!("Bearer  {ACCESS_TOKEN} "),
        format!("Bearer {AUDIENCE_TOKEN}"),
        format!("Bearer {REFRESH_TOKEN}"),
        format!("Bearer {ACCESS_TOKEN}=="),
        format!("Bearer {ACCESS_TOKEN}\"x"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Basic Og==".to_owned(),
        "Bearer a b".to_owned(),
        format!("Bearer {}", "t".repeat(10_000)),
    ]);
    for header in &headers {
        for options in 0..16u8 {
            for body in [
                None,
                Some(format!("access_token={ACCESS_TOKEN}")),
                Some("access_token=%FF".to_owned()),
                Some("access_token=a&access_token=b".to_owned()),
            ] {
                let mut request = HttpRequest::new(if options & 1 == 0 {
                    Method::Get
                } else {
                    Method::Post
                })
                .with_header("authorization", header.clone());
                if let Some(body) = body {
                    request = request
                        .with_header("content-type", "application/x-www-form-urlencoded")
                        .with_body(body);
                }
                *statuses
                    .entry(check_bearer(&world, &request, options))
                    .or_default() += 1;
            }
        }
    }
    // Random: header and body tokens, repeated headers, query tokens (ignored, BT-03).
    for _ in 0..4000 {
        let mut request = HttpRequest::new(METHODS[rng.random_range(0..METHODS.len())]);
        for _ in 0..rng.random_range(0..=2) {
            request = request.with_header(
                "authorization",
                headers[rng.random_range(0..headers.len())].clone(),
            );
        }
        if rng.random_bool(0.5) {
            let value = &values[rng.random_range(0..values.len())];
            let mut body = b"access_token=".to_vec();
            body.extend_from_slice(if rng.random_bool(0.3) {
                ACCESS_TOKEN.as_bytes()
            } else {
                value
            });
            request = request.with_body(body).with_header(
                "content-type",
                CONTENT_TYPES[rng.random_range(0..CONTENT_TYPES.len())].unwrap_or(""),
            );
        }
        if rng.random_bool(0.3) {
            request = request.with_query(format!("access_token={ACCESS_TOKEN}"));
        }
        *statuses
            .entry(check_bearer(&world, &request, rng.random_range(0..16)))
            .or_default() += 1;
    }
    let sent: usize = statuses.values().sum();
    assert!(sent > 6_000, "{statuses:?}");
    for status in [200, 400, 401, 403] {
        assert!(statuses.contains_key(&status), "{statuses:?}");
    }
}

#[test]
fn sec_06_metadata_survives_the_hostile_corpus() {
    let world = open_world();
    let document = world.server.metadata();
    let mut sent = 0;
    let mut paths: Vec<String> = hostile_values()
        .iter()
        .map(|v| {
            format!(
                "/.well-known/oauth-authorization-server{}",
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    paths.extend(
        [
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-authorization-server/",
            "/.well-known/OAUTH-authorization-server",
            "/.well-known/oauth-authorization-server/../x",
            "",
            "/",
        ]
        .map(str::to_owned),
    );
    for path in &paths {
        for method in METHODS {
            for query in [None, Some("<script>"), Some("%FF")] {
                let mut request = HttpRequest::new(method);
                if let Some(query) = query {
                    request = request.with_query(query);
                }
                let response = world.server.serve_metadata(&request, path);
                let status = response.status.as_u16();
                if path == world.server.metadata_path() && matches!(method, Method::Get) {
                    assert_eq!(response, document);
                } else {
                    assert!(matches!(status, 200 | 404 | 405), "{status} for {path:?}");
                    assert!(!String::from_utf8_lossy(&response.body).contains("script"));
                }
                sent += 1;
            }
        }
    }
    assert!(sent > 500, "{sent}");
}
