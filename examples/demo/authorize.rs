//! `/authorize`: grantflow validates the request; the host signs the user in, asks for
//! consent, and approves or denies.
//!
//! The original request travels in the form's `action` URL and is validated again on
//! every POST (cheap and stateless), so nothing the browser could alter is trusted.

use std::net::IpAddr;
use std::time::SystemTime;

use grantflow::authorize::{Authentication, AuthorizeError, PendingAuthorization};
use grantflow::oidc::InteractionNeeded;
use grantflow::{HttpRequest, HttpResponse, Method, Status};

use super::DemoApp;
use super::pages::{self, Buttons, Decision};
use super::session::Session;

pub(super) async fn handle(app: &DemoApp, peer: IpAddr, request: &HttpRequest) -> HttpResponse {
    match request.method() {
        // HEAD is answered as GET; the framework sends the headers without the body.
        Method::Get | Method::Head => show(app, request).await,
        Method::Post => submit(app, peer, request).await,
        _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD, POST"),
    }
}

/// `GET /authorize?…`: the sign-in page when nobody is signed in or the request asks for
/// a fresh sign-in, else the consent page; the error page, or, for a signed-in user, the
/// error redirect.
async fn show(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let session = app.inner.sessions.find_or_start(request);
    let query = request.query().unwrap_or("");
    let response = match validate(app, query).await {
        // The user has authenticated, so the error may go back to the client (AZ-07).
        Err(AuthorizeError::Redirect(error)) if session.user.is_some() => error.into_response(),
        // OpenID Connect `prompt=none`: no page at all. The demo needs a sign-in without
        // a session (or one older than `max_age`), and asks for consent every time.
        Ok(pending) if pending.openid().is_some_and(|o| o.prompt().is_none()) => {
            let why = if must_sign_in(&pending, &session, query) {
                InteractionNeeded::Login
            } else {
                InteractionNeeded::Consent
            };
            pending.refuse(why)
        }
        outcome => render(outcome, &session, query),
    };
    session.attach_cookie(response)
}

/// `POST /authorize?…` from the page: check the CSRF token (SEC-03), then either sign in
/// (and show the consent page next), sign out, or send the decision back to the client,
/// always with a 303 (SEC-04).
///
/// Signing in and deciding are two steps: a sign-in form carries no decision, and a
/// decision posted with a sign-in is ignored. So pressing Enter in the password field,
/// or a password manager submitting the form, can never approve a request the user has
/// not seen.
async fn submit(app: &DemoApp, peer: IpAddr, request: &HttpRequest) -> HttpResponse {
    let query = request.query().unwrap_or("");
    let this_page = format!("/authorize?{query}");
    let (form, session) = match app.posted_form(request, |_| this_page.clone()) {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let sessions = &app.inner.sessions;
    let outcome = match validate(app, query).await {
        Ok(pending) => Ok(pending),
        Err(AuthorizeError::Redirect(error)) => Err(error),
        // Not a request that can be answered at all: the error page, no sign-in.
        other => return render(other, &session, query),
    };
    if form.decision == Some(Decision::SignOut) {
        let signed_out = sessions.sign_out(&session);
        return signed_out.attach_cookie(pages::see_other(&this_page));
    }
    let subject = match (&session.user, &outcome) {
        (Some(subject), Ok(pending)) if !must_sign_in(pending, &session, query) => subject.clone(),
        (Some(subject), Err(_)) => subject.clone(),
        // Nobody signed in, or the request asks for a fresh sign-in: whatever the form
        // says, only its user name and password count.
        _ => {
            return match app.sign_in(peer, &session, &form, &this_page).await {
                Ok((signed_in, _)) => {
                    // This request's `prompt=login` or `max_age` is now satisfied.
                    sessions.signed_in_for(&signed_in, Some(query));
                    let response = match outcome {
                        // Now that the user is signed in, an invalid request goes back to the
                        // client (AZ-07).
                        Err(error) => error.see_other().into_response(),
                        // The consent page next, whatever the form said.
                        Ok(_) => pages::see_other(&this_page),
                    };
                    signed_in.attach_cookie(response)
                }
                Err(back) => back,
            };
        }
    };
    match (outcome, form.decision) {
        (Err(error), _) => error.see_other().into_response(),
        (Ok(pending), Some(Decision::Approve)) => {
            sessions.signed_in_for(&session, None);
            approve(pending, subject, session.signed_in_at).await
        }
        (Ok(pending), Some(Decision::Deny)) => {
            sessions.signed_in_for(&session, None);
            pending.see_other().deny()
        }
        (Ok(_), _) => pages::see_other(&this_page),
    }
}

/// Whether the user must sign in before `pending` (the request in `query`) can be
/// answered: nobody is signed in, or the OpenID Connect request asks for a fresh sign-in
/// (`prompt=login`, or a `max_age` the session's sign-in is older than) and the user has
/// not just signed in on this request's own sign-in page.
fn must_sign_in(pending: &PendingAuthorization, session: &Session, query: &str) -> bool {
    session.user.is_none()
        || pending.openid().is_some_and(|openid| {
            openid.requires_login(session.signed_in_at, SystemTime::now())
                && !session.signed_in_for(query)
        })
}

/// The authorization request in `query`, validated afresh: the page's GET, its HEAD and
/// its form POSTs all carry the original request in the query.
async fn validate(app: &DemoApp, query: &str) -> Result<PendingAuthorization, AuthorizeError> {
    let request = HttpRequest::new(Method::Get).with_query(query);
    app.inner.server.authorize(&request).await
}

async fn approve(
    pending: PendingAuthorization,
    subject: grantflow::Subject,
    signed_in_at: Option<SystemTime>,
) -> HttpResponse {
    // The demo grants what was asked; a real consent page may let the user narrow it.
    let scope = pending.requested_scope().clone();
    // How the user signed in, for the ID token of an OpenID Connect request: when, and
    // with a password (RFC 8176 `pwd`).
    let mut authentication = Authentication::new(subject).with_amr(["pwd"]);
    if let Some(at) = signed_in_at {
        authentication = authentication.with_auth_time(at);
    }
    match pending
        .see_other()
        .approve_authentication(authentication, scope)
        .await
    {
        Ok(redirect) => redirect,
        Err(error) => {
            tracing::error!(%error, cause = ?error.storage_error(), "no code issued");
            // A `server_error` redirect to the client (AZ-09).
            error.into_response()
        }
    }
}

/// The page for an authorization request that has not been answered yet: the sign-in
/// page (one button, "Sign in") or, for a signed-in user, the consent page.
fn render(
    outcome: Result<PendingAuthorization, AuthorizeError>,
    session: &Session,
    query: &str,
) -> HttpResponse {
    let action = format!("/authorize?{query}");
    let flash = session.flash.as_ref();
    let notice = pages::notice(flash.and_then(|f| f.message()));
    let sign_in_form = || {
        // Signing in again: the current user's name is filled in.
        let current = session.user.as_ref().map_or("", |user| user.as_str());
        let username = flash.map(|f| f.username()).filter(|name| !name.is_empty());
        let username = username.unwrap_or(current);
        pages::form(
            &action,
            &session.csrf,
            Some(username),
            "",
            Buttons::Continue("Sign in"),
        )
    };
    match outcome {
        Ok(pending) => {
            let client = pages::escape(
                pending
                    .client_name()
                    .unwrap_or(pending.client_id().as_str()),
            );
            let id = pages::escape(pending.client_id().as_str());
            let user = match &session.user {
                Some(user) if !must_sign_in(&pending, session, query) => user,
                Some(_) => {
                    let content = format!(
                        "{notice}<p><strong>{client}</strong> ({id}) asks you to sign in \
                         again before it gets access to your account.</p>{form}",
                        form = sign_in_form(),
                    );
                    return pages::page(Status::OK, "Sign in again", &content);
                }
                None => {
                    let content = format!(
                        "{notice}<p><strong>{client}</strong> ({id}) asks for access to your \
                         account. Sign in to see what it asks for.</p>{form}",
                        form = sign_in_form(),
                    );
                    return pages::page(Status::OK, "Sign in", &content);
                }
            };
            let content = format!(
                "{notice}<p><strong>{client}</strong> ({id}) would like to:</p>{scopes}\
                 {resources}{unregistered}{form}{who}",
                // RFC 7591 §5: a client that registered itself names itself; say so.
                unregistered = if pending.is_unregistered_client() {
                    "<p class=\"note\">This application registered itself: its name is \
                     its own claim, not checked by this service.</p>"
                } else {
                    ""
                },
                scopes = pages::scope_list(pending.requested_scope()),
                resources = pages::resource_list(pending.requested_resources()),
                form = pages::form(&action, &session.csrf, None, "", Buttons::Decision),
                who = pages::signed_in_as(&action, &session.csrf, "", user.as_str()),
            );
            pages::page(Status::OK, "Allow access?", &content)
        }
        // A request the client will hear about once the user has signed in (AZ-07).
        Err(AuthorizeError::Redirect(_)) => {
            let content = format!("{notice}{}", sign_in_form());
            pages::page(Status::OK, "Sign in", &content)
        }
        // Unknown client or unregistered redirect URI: an error page, never a redirect
        // (AZ-02, AZ-03). The description is for the client's developer, so it goes to the
        // log, and the user gets words.
        Err(AuthorizeError::Rejected(error)) => {
            tracing::info!(
                error = error.code().as_str(),
                description = error.description().unwrap_or(""),
                "authorization request rejected"
            );
            pages::message(
                Status::BAD_REQUEST,
                "This sign-in link is not valid",
                "The application that sent you here made a request this service cannot \
                 answer, so nothing was shared. Go back to the application and try again; if \
                 it happens again, its developers need to fix it.",
            )
        }
        Err(error) => {
            tracing::error!(%error, "authorization request failed");
            unavailable()
        }
    }
}

/// The page for a fault on our side: 503, never a 500 with details.
pub(super) fn unavailable() -> HttpResponse {
    pages::message(
        Status::SERVICE_UNAVAILABLE,
        "Try again later",
        "The server could not complete the request. Please try again in a moment.",
    )
}
