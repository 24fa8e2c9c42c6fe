//! The server-rendered pages (sign-in, consent, device verification, messages) and the
//! forms they post back.
//!
//! Every page names the service, escapes everything it echoes, forbids framing (SEC-02),
//! sends `Referrer-Policy: no-referrer` and loads nothing from anywhere (SEC-05): its one
//! stylesheet is inline and allowed by its hash in the `Content-Security-Policy`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use grantflow::resource::Resources;
use grantflow::{HttpRequest, HttpResponse, Method, Scope, Status};
use sha2::{Digest as _, Sha256};

/// The service's name, on every page: users should know where they are signing in.
pub(super) const SERVICE: &str = "Grantflow Demo";

// Input borders are #6b7280, 4.8:1 against the white form (WCAG 1.4.11 asks 3:1 for the
// boundary of a control).
const STYLE: &str = "\
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.75rem;\
box-shadow:0 1px 4px #0002}\
h1{font-size:1.35rem;margin:0 0 1rem}\
.service{margin:0 0 .5rem;color:#5b6475;font-weight:600;letter-spacing:.02em}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #6b7280;\
border-radius:.35rem;font:inherit}\
ul{padding-left:1.25rem}\
.buttons{display:flex;gap:.75rem;margin-top:1.5rem}\
button{flex:1;padding:.6rem;border:0;border-radius:.35rem;font:inherit;cursor:pointer}\
button[value=approve],button[value=continue]{background:#2456d3;color:#fff}\
button[value=deny]{background:#e4e7ec}\
.note{background:#fff4d6;padding:.5rem .75rem;border-radius:.35rem}\
.code{font:600 1.5rem monospace;letter-spacing:.15em}\
.muted{color:#5b6475;font-size:.9rem}\
.sign-out{margin:1rem 0 0}\
.sign-out button{padding:0;background:none;color:#2456d3;text-decoration:underline;flex:none}";

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
         <title>{title} \u{2013} {SERVICE}</title><style>{STYLE}</style></head>\
         <body><main><p class=\"service\">{SERVICE}</p><h1>{title}</h1>{content}</main>\
         </body></html>\n",
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

/// The resources a request is for (RFC 8707), for the consent page: every token of the
/// grant is good there and nowhere else. Empty when the request names none.
pub(super) fn resource_list(resources: &Resources) -> String {
    if resources.is_empty() {
        return String::new();
    }
    let mut out = String::from("<p>at:</p><ul>");
    for resource in resources.iter() {
        let _ = write!(out, "<li><code>{}</code></li>", escape(resource));
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
/// `sign_in` is given (with the user name to fill in again after a failed attempt),
/// `fields` (already escaped HTML) and `buttons`.
///
/// The user name field neither capitalises nor corrects what a phone keyboard types: a
/// user name is not a sentence. After a failed attempt the name stays and the focus goes
/// to the password.
pub(super) fn form(
    action: &str,
    csrf: &str,
    sign_in: Option<&str>,
    fields: &str,
    buttons: Buttons,
) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        escape(action),
        escape(csrf),
    );
    if let Some(username) = sign_in {
        let _ = write!(
            out,
            "<label for=\"username\">User name</label>\
             <input id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" \
             autocapitalize=\"none\" autocorrect=\"off\" spellcheck=\"false\" required>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" \
             autocomplete=\"current-password\" required{}>",
            escape(username),
            if username.is_empty() {
                ""
            } else {
                " autofocus"
            },
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

/// Who is signed in, with a form of its own (posting to `action`, with `fields`, already
/// escaped HTML) to sign out: the way out for someone who finds another person's account
/// on the page.
pub(super) fn signed_in_as(action: &str, csrf: &str, fields: &str, user: &str) -> String {
    format!(
        "<form class=\"sign-out\" method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">{fields}\
         <p class=\"muted\">Signed in as <strong>{}</strong>. \
         <button name=\"decision\" value=\"sign_out\">Not you? Sign out</button></p></form>",
        escape(action),
        escape(csrf),
        escape(user),
    )
}

/// A one-time notice above a form, announced to screen readers as it appears.
pub(super) fn notice(message: Option<&str>) -> String {
    message.map_or_else(String::new, |m| {
        format!("<p class=\"note\" role=\"alert\">{}</p>", escape(m))
    })
}

/// What the user chose on a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Approve,
    Deny,
    Continue,
    /// "Not you? Sign out".
    SignOut,
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
                        "sign_out" => Decision::SignOut,
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
