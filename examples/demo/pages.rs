//! The server-rendered pages (sign-in, consent, device verification, messages) and the
//! forms they post back.
//!
//! Every page escapes everything it echoes, forbids framing (SEC-02), sends
//! `Referrer-Policy: no-referrer` and loads nothing from anywhere (SEC-05): its one
//! stylesheet is inline and allowed by its hash in the `Content-Security-Policy`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use grantflow::{HttpRequest, HttpResponse, Method, Scope, Status};
use sha2::{Digest as _, Sha256};

const STYLE: &str = "\
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.75rem;\
box-shadow:0 1px 4px #0002}\
h1{font-size:1.35rem;margin:0 0 1rem}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #b8bfcc;\
border-radius:.35rem;font:inherit}\
ul{padding-left:1.25rem}\
.buttons{display:flex;gap:.75rem;margin-top:1.5rem}\
button{flex:1;padding:.6rem;border:0;border-radius:.35rem;font:inherit;cursor:pointer}\
button[value=approve],button[value=continue]{background:#2456d3;color:#fff}\
button[value=deny]{background:#e4e7ec}\
.note{background:#fff4d6;padding:.5rem .75rem;border-radius:.35rem}\
.code{font:600 1.5rem monospace;letter-spacing:.15em}\
.muted{color:#5b6475;font-size:.9rem}";

/// The `Content-Security-Policy` of every page: nothing may load, frame the page or be a
/// base URI; only the inline stylesheet, by its hash, applies. `form-action` stays unset:
/// browsers apply it to the redirect that answers the consent form, which goes to the
/// client's (other) origin.
fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; \
             base-uri 'none'"
        )
    })
}

/// `text` with every character that means something in HTML escaped, for element content
/// and quoted attribute values alike.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `content` (already escaped HTML) in the shared layout, with the security headers.
pub(super) fn page(status: Status, title: &str, content: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{content}</main></body></html>\n",
        title = escape(title),
    );
    HttpResponse::new(status)
        .with_header("content-type", "text/html; charset=utf-8")
        .with_header("content-security-policy", content_security_policy())
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-content-type-options", "nosniff")
        // Pages carry CSRF tokens and account details.
        .with_header("cache-control", "no-store")
        .with_body(body.into_bytes())
}

/// A page with one paragraph of `text`.
pub(super) fn message(status: Status, title: &str, text: &str) -> HttpResponse {
    page(status, title, &format!("<p>{}</p>", escape(text)))
}

/// A redirect after a form POST: always 303, so the browser follows with a GET and never
/// re-posts the credentials (SEC-04).
pub(super) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::new(Status::SEE_OTHER)
        .with_header("location", location.to_owned())
        .with_header("cache-control", "no-store")
}

/// What a scope token lets the client do, in words.
fn describe(token: &str) -> String {
    match token {
        "profile" => "See your profile (your user name)".to_owned(),
        "read:data" => "Read your data".to_owned(),
        "write:data" => "Change your data".to_owned(),
        other => format!("Use the permission \u{201c}{}\u{201d}", escape(other)),
    }
}

/// The scope as a list of what it allows.
pub(super) fn scope_list(scope: &Scope) -> String {
    let mut out = String::from("<ul>");
    for token in scope.iter() {
        let _ = write!(out, "<li>{}</li>", describe(token));
    }
    out.push_str("</ul>");
    out
}

/// The submit buttons of a form.
#[derive(Clone, Copy, Debug)]
pub(super) enum Buttons {
    /// Approve and Deny (`decision=approve` / `decision=deny`).
    Decision,
    /// One button that only moves on (`decision=continue`), labelled `label`.
    Continue(&'static str),
}

/// A form posting to `action`, with the session's CSRF token, the sign-in fields when
/// nobody is signed in, `fields` (already escaped HTML) and `buttons`.
pub(super) fn form(
    action: &str,
    csrf: &str,
    sign_in: bool,
    fields: &str,
    buttons: Buttons,
) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        escape(action),
        escape(csrf),
    );
    if sign_in {
        out.push_str(
            "<label for=\"username\">User name</label>\
             <input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" \
             autocomplete=\"current-password\" required>",
        );
    }
    out.push_str(fields);
    out.push_str("<div class=\"buttons\">");
    match buttons {
        Buttons::Decision => out.push_str(
            "<button name=\"decision\" value=\"approve\">Approve</button>\
             <button name=\"decision\" value=\"deny\">Deny</button>",
        ),
        Buttons::Continue(label) => {
            let _ = write!(
                out,
                "<button name=\"decision\" value=\"continue\">{}</button>",
                escape(label)
            );
        }
    }
    out.push_str("</div></form>");
    out
}

/// A one-time notice above a form.
pub(super) fn notice(flash: Option<&str>) -> String {
    flash.map_or_else(String::new, |m| {
        format!("<p class=\"note\">{}</p>", escape(m))
    })
}

/// What the user chose on a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Approve,
    Deny,
    Continue,
}

/// A form the pages posted back. The password is a secret: no `Debug`.
pub(super) struct PostedForm {
    pub(super) csrf_token: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    pub(super) user_code: Option<String>,
    pub(super) decision: Option<Decision>,
}

impl PostedForm {
    /// Parses a page's POST.
    ///
    /// # Errors
    /// The page to answer with: 405 for another method, 400 for another content type,
    /// a repeated field or an unknown decision.
    pub(super) fn parse(request: &HttpRequest) -> Result<Self, HttpResponse> {
        if request.method() != Method::Post {
            return Err(
                HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, POST")
            );
        }
        let is_form = request.header("content-type").is_some_and(|value| {
            value.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
        let invalid = |text| Err(message(Status::BAD_REQUEST, "Bad request", text));
        if !is_form {
            return invalid("The form was not sent as a form.");
        }
        let mut form = Self {
            csrf_token: None,
            username: None,
            password: None,
            user_code: None,
            decision: None,
        };
        for (name, value) in url::form_urlencoded::parse(request.body()) {
            let slot = match name.as_ref() {
                "csrf_token" => &mut form.csrf_token,
                "username" => &mut form.username,
                "password" => &mut form.password,
                "user_code" => &mut form.user_code,
                "decision" => {
                    if form.decision.is_some() {
                        return invalid("A field was sent twice.");
                    }
                    form.decision = Some(match value.as_ref() {
                        "approve" => Decision::Approve,
                        "deny" => Decision::Deny,
                        "continue" => Decision::Continue,
                        _ => return invalid("Choose one of the buttons."),
                    });
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                return invalid("A field was sent twice.");
            }
            if !value.is_empty() {
                *slot = Some(value.into_owned());
            }
        }
        Ok(form)
    }
}
