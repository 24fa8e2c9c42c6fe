//! `/authorize`: grantflow validates the request; the host signs the user in, asks for
//! consent, and approves or denies.
//!
//! The original request travels in the form's `action` URL and is validated again on
//! every POST (cheap and stateless), so nothing the browser could alter is trusted.

use grantflow::{AuthorizeError, HttpRequest, HttpResponse, Method, PendingAuthorization, Status};

use super::DemoApp;
use super::pages::{self, Buttons, Decision};
use super::session::Session;

pub(super) async fn handle(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    match request.method() {
        Method::Get => show(app, request).await,
        Method::Post => submit(app, request).await,
        _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, POST"),
    }
}

/// `GET /authorize?…`: the consent page (with the sign-in fields when nobody is signed in),
/// the error page, or, for a signed-in user, the error redirect.
async fn show(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let session = app.inner.sessions.find_or_start(request);
    let response = match app.inner.server.authorize(request).await {
        // The user has authenticated, so the error may go back to the client (AZ-07).
        Err(AuthorizeError::Redirect(error)) if session.user.is_some() => error.into_response(),
        outcome => render(outcome, &session, request.query().unwrap_or("")),
    };
    session.attach_cookie(response)
}

/// `POST /authorize?…` from the page: check the CSRF token (SEC-03), sign in if needed,
/// then send the decision back to the client with a 303 (SEC-04).
async fn submit(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let (form, session) = match app.posted_form(request) {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let sessions = &app.inner.sessions;
    let query = request.query().unwrap_or("");
    let outcome = app
        .inner
        .server
        .authorize(&HttpRequest::new(Method::Get).with_query(query))
        .await;
    let this_page = format!("/authorize?{query}");
    let outcome = match outcome {
        Ok(pending) => Ok(pending),
        Err(AuthorizeError::Redirect(error)) => Err(error),
        // Not a request that can be answered at all: the error page, no sign-in.
        other => return render(other, &session, query),
    };
    let (session, subject) = match session.user.clone() {
        Some(user) => (session, user),
        None => match app.sign_in(&session, &form).await {
            Ok(signed_in) => signed_in,
            Err(message) => {
                sessions.flash(&session, message);
                return pages::see_other(&this_page);
            }
        },
    };
    let response = match (outcome, form.decision) {
        // Now that the user is signed in, an invalid request goes back to the client.
        (Err(error), _) => error.see_other().into_response(),
        (Ok(pending), Some(Decision::Approve)) => approve(pending, subject).await,
        (Ok(pending), Some(Decision::Deny)) => pending.see_other().deny(),
        // Signed in from the plain sign-in form: show the consent page next.
        (Ok(_), _) => pages::see_other(&this_page),
    };
    session.attach_cookie(response)
}

async fn approve(pending: PendingAuthorization, subject: grantflow::Subject) -> HttpResponse {
    // The demo grants what was asked; a real consent page may let the user narrow it.
    let scope = pending.requested_scope().clone();
    match pending.see_other().approve(subject, scope).await {
        Ok(redirect) => redirect,
        Err(error) => {
            tracing::error!(error = %error.storage_error(), "could not store the code");
            // A `server_error` redirect to the client (AZ-09).
            error.into_response()
        }
    }
}

/// The page for an authorization request that has not been answered yet.
fn render(
    outcome: Result<PendingAuthorization, AuthorizeError>,
    session: &Session,
    query: &str,
) -> HttpResponse {
    let action = format!("/authorize?{query}");
    let signed_out = session.user.is_none();
    match outcome {
        Ok(pending) => {
            let client = pending
                .client_name()
                .unwrap_or(pending.client_id().as_str());
            let who = match &session.user {
                Some(user) => format!(
                    "<p class=\"muted\">Signed in as {}.</p>",
                    pages::escape(user.as_str())
                ),
                None => "<p class=\"muted\">Sign in to answer.</p>".to_owned(),
            };
            let content = format!(
                "{notice}<p><strong>{client}</strong> ({id}) would like to:</p>{scopes}{who}{form}",
                notice = pages::notice(session.flash),
                client = pages::escape(client),
                id = pages::escape(pending.client_id().as_str()),
                scopes = pages::scope_list(pending.requested_scope()),
                form = pages::form(&action, &session.csrf, signed_out, "", Buttons::Decision),
            );
            pages::page(Status::OK, "Allow access?", &content)
        }
        // A request the client will hear about once the user has signed in (AZ-07).
        Err(AuthorizeError::Redirect(_)) => {
            let content = format!(
                "{}{}",
                pages::notice(session.flash),
                pages::form(
                    &action,
                    &session.csrf,
                    true,
                    "",
                    Buttons::Continue("Sign in")
                ),
            );
            pages::page(Status::OK, "Sign in", &content)
        }
        // Unknown client or unregistered redirect URI: an error page, never a redirect
        // (AZ-02, AZ-03).
        Err(AuthorizeError::Rejected(error)) => pages::message(
            Status::BAD_REQUEST,
            "This sign-in link is not valid",
            error.description().unwrap_or(error.code().as_str()),
        ),
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
