//! `/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). grantflow
//! checks the request ([`Server::end_session`](grantflow::Server::end_session)); the demo
//! asks the signed-in user to confirm, ends the session, and sends the browser back to the
//! client's registered `post_logout_redirect_uri` with `state`, or shows a "signed out"
//! page when the request named none.
//!
//! Like `/authorize`, the confirmation form carries the original request in its `action`
//! URL, and the POST checks it again: nothing the browser could alter is trusted.

use grantflow::oidc::{LogoutError, PendingLogout};
use grantflow::{HttpRequest, HttpResponse, Method, Status};

use super::DemoApp;
use super::authorize::unavailable;
use super::pages::{self, Buttons, Decision};
use super::session::Session;

pub(super) async fn handle(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    match request.method() {
        // HEAD is answered as GET; the framework sends the headers without the body.
        Method::Get | Method::Head => show(app, request, request.query().unwrap_or("")).await,
        // A client may send its logout request as a form POST (RP-Initiated Logout §2):
        // that one carries no CSRF token, the confirmation form always does.
        Method::Post if !carries_csrf_token(request) => {
            let body = String::from_utf8_lossy(request.body()).into_owned();
            show(app, request, &body).await
        }
        Method::Post => confirm(app, request).await,
        _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD, POST"),
    }
}

/// The logout request in `parameters` (a query string): the confirmation page for a
/// signed-in user; without a session there is nobody to sign out, so straight back to
/// the client (or the "signed out" page).
async fn show(app: &DemoApp, request: &HttpRequest, parameters: &str) -> HttpResponse {
    let session = app.inner.sessions.find_or_start(request);
    let response = match validate(app, parameters).await {
        Err(error) => refused(&error),
        Ok(pending) => match &session.user {
            None => signed_out(pending),
            Some(user) => confirmation_page(&pending, &session, parameters, user),
        },
    };
    session.attach_cookie(response)
}

/// `POST /logout?…` from the confirmation page: check the CSRF token (SEC-03) and the
/// request again, end the session, and answer with a 303 (SEC-04).
async fn confirm(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let query = request.query().unwrap_or("");
    let this_page = format!("/logout?{query}");
    let (form, session) = match app.posted_form(request, |_| this_page.clone()) {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let pending = match validate(app, query).await {
        Ok(pending) => pending,
        Err(error) => return refused(&error),
    };
    match form.decision {
        Some(Decision::Continue | Decision::SignOut) => {
            let ended = app.inner.sessions.sign_out(&session);
            tracing::info!("signed out at the client's request");
            ended.attach_cookie(signed_out(pending.see_other()))
        }
        _ => pages::see_other(&this_page),
    }
}

/// Whether a POST is a form of ours: it has a `csrf_token` field.
fn carries_csrf_token(request: &HttpRequest) -> bool {
    url::form_urlencoded::parse(request.body()).any(|(name, _)| name == "csrf_token")
}

/// The logout request in `parameters`, checked afresh.
async fn validate(app: &DemoApp, parameters: &str) -> Result<PendingLogout, LogoutError> {
    let request = HttpRequest::new(Method::Get).with_query(parameters);
    app.inner.server.end_session(&request).await
}

/// The user is signed out: back to the client's registered URI with `state`, or a page.
fn signed_out(pending: PendingLogout) -> HttpResponse {
    pending.confirm().unwrap_or_else(|| {
        pages::message(
            Status::OK,
            "Signed out",
            "You are signed out. You can close this page.",
        )
    })
}

/// Asks the signed-in user to confirm: a logout link can come from anywhere, so nobody is
/// signed out by merely following one.
fn confirmation_page(
    pending: &PendingLogout,
    session: &Session,
    parameters: &str,
    user: &grantflow::Subject,
) -> HttpResponse {
    let action = format!("/logout?{parameters}");
    let asked_by = pending.client().map_or_else(String::new, |client| {
        let name = client.name().unwrap_or(client.id().as_str());
        format!(
            " <strong>{}</strong> asks you to sign out.",
            pages::escape(name)
        )
    });
    // The hint names someone else than the user signed in here: say so.
    let other = if pending.has_valid_hint() && !pending.is_for(user) {
        pages::notice(Some(
            "The application asked to sign out another account than the one signed in here.",
        ))
    } else {
        String::new()
    };
    let content = format!(
        "{other}<p>You are signed in to {service} as <strong>{who}</strong>.{asked_by}</p>\
         {form}<p class=\"muted\">To stay signed in, close this page.</p>",
        service = pages::SERVICE,
        who = pages::escape(user.as_str()),
        form = pages::form(
            &action,
            &session.csrf,
            None,
            "",
            Buttons::Continue("Sign out")
        ),
    );
    pages::page(Status::OK, "Sign out?", &content)
}

/// An invalid logout request: a page, never a redirect (RP-Initiated Logout §4), and
/// nobody signed out. The reason is for the client's developer, so it goes to the log.
fn refused(error: &LogoutError) -> HttpResponse {
    match error {
        LogoutError::Rejected(reason) => {
            tracing::info!(reason, "logout request rejected");
            pages::message(
                Status::BAD_REQUEST,
                "This sign-out link is not valid",
                "The application that sent you here made a sign-out request this service \
                 cannot answer, so nothing was changed.",
            )
        }
        error => {
            tracing::error!(%error, "logout request failed");
            unavailable()
        }
    }
}
