//! `/device`: the device verification page (RFC 8628 §3.3). The user signs in, enters the
//! code the device shows (or arrives with it from `verification_uri_complete`), sees which
//! client asks for what, checks the code against the device, and approves or denies.
//! Nothing is approved without that last step (DG-08).

use grantflow::{DeviceVerificationError, HttpRequest, HttpResponse, Method, Status, Subject};

use super::DemoApp;
use super::authorize::unavailable;
use super::pages::{self, Buttons, Decision};

pub(super) async fn handle(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    match request.method() {
        Method::Get => show(app, request).await,
        Method::Post => submit(app, request).await,
        _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, POST"),
    }
}

/// The user-code limiter's key: entries are counted per signed-in user (DG-07).
fn limiter_key(user: &Subject) -> String {
    format!("user:{}", user.as_str())
}

/// `/device` with the user code in the query, percent-encoded.
fn with_code(code: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
    format!("/device?user_code={encoded}")
}

/// `GET /device[?user_code=…|?done=…]`.
async fn show(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let session = app.inner.sessions.find_or_start(request);
    let mut user_code = None;
    let mut done = None;
    for (name, value) in url::form_urlencoded::parse(request.query().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "user_code" => user_code = Some(value.into_owned()),
            "done" => done = Some(value.into_owned()),
            _ => {}
        }
    }
    let response = match (done.as_deref(), &session.user, user_code) {
        (Some("approved"), ..) => pages::message(
            Status::OK,
            "Device connected",
            "You approved the request. You can return to your device now.",
        ),
        (Some("denied"), ..) => pages::message(
            Status::OK,
            "Request denied",
            "You denied the request. The device gets no access.",
        ),
        (_, Some(user), Some(code)) => confirm(app, &session, user, &code).await,
        (_, _, code) => entry(&session, code.as_deref().unwrap_or(""), session.flash),
    };
    session.attach_cookie(response)
}

/// The page asking for the code (and the sign-in, when nobody is signed in).
fn entry(session: &super::session::Session, code: &str, notice: Option<&str>) -> HttpResponse {
    let field = format!(
        "<label for=\"user_code\">Code shown on your device</label>\
         <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" required>",
        pages::escape(code)
    );
    let content = format!(
        "{}<p>Enter the code your device shows to connect it to your account.</p>{}",
        pages::notice(notice),
        pages::form(
            "/device",
            &session.csrf,
            session.user.is_none(),
            &field,
            Buttons::Continue("Continue")
        ),
    );
    pages::page(Status::OK, "Connect a device", &content)
}

/// The confirmation page for a signed-in user and a code: who asks, for what, and the
/// code to compare with the device's screen.
async fn confirm(
    app: &DemoApp,
    session: &super::session::Session,
    user: &Subject,
    code: &str,
) -> HttpResponse {
    let found = app
        .inner
        .server
        .device_verification(code, &limiter_key(user))
        .await;
    let pending = match found {
        Ok(pending) => pending,
        Err(error) => return refused(session, code, &error),
    };
    let client = pending
        .client_name()
        .unwrap_or(pending.client_id().as_str());
    let fields = format!(
        "<input type=\"hidden\" name=\"user_code\" value=\"{}\">",
        pages::escape(pending.user_code())
    );
    let content = format!(
        "<p><strong>{client}</strong> ({id}) would like to:</p>{scopes}\
         <p>Check that your device shows this code:</p><p class=\"code\">{code}</p>\
         <p class=\"muted\">Signed in as {user}. If the codes differ, deny.</p>{form}",
        client = pages::escape(client),
        id = pages::escape(pending.client_id().as_str()),
        scopes = pages::scope_list(pending.requested_scope()),
        code = pages::escape(pending.user_code()),
        user = pages::escape(user.as_str()),
        form = pages::form("/device", &session.csrf, false, &fields, Buttons::Decision),
    );
    pages::page(Status::OK, "Connect this device?", &content)
}

/// The page for a code that could not be looked up.
fn refused(
    session: &super::session::Session,
    code: &str,
    error: &DeviceVerificationError,
) -> HttpResponse {
    match error {
        DeviceVerificationError::Throttled { retry_after } => pages::message(
            Status::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many codes were entered. Wait a few minutes, then try again.",
        )
        .with_header("retry-after", retry_after.as_secs().max(1).to_string()),
        DeviceVerificationError::InvalidUserCode | DeviceVerificationError::NoLongerPending => {
            entry(
                session,
                code,
                Some("That code is not valid or has expired. Check your device."),
            )
        }
        other => {
            tracing::error!(error = %other, "device verification failed");
            unavailable()
        }
    }
}

/// `POST /device`: sign in and move on to the confirmation page, or carry out the
/// decision taken there. Every answer is a 303 (SEC-04) or an error page.
async fn submit(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let (form, session) = match app.posted_form(request) {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let sessions = &app.inner.sessions;
    let code = form.user_code.clone().unwrap_or_default();
    let (session, user) = match session.user.clone() {
        Some(user) => (session, user),
        None => {
            return match app.sign_in(&session, &form).await {
                // Signed in only now, so the user has not seen the request yet: show the
                // confirmation page, whatever button was pressed (DG-08).
                Ok((signed_in, _)) => signed_in.attach_cookie(pages::see_other(&with_code(&code))),
                Err(message) => {
                    sessions.flash(&session, message);
                    pages::see_other(&with_code(&code))
                }
            };
        }
    };
    let decision = match form.decision {
        Some(decision @ (Decision::Approve | Decision::Deny)) => decision,
        _ => return pages::see_other(&with_code(&code)),
    };
    let pending = match app
        .inner
        .server
        .device_verification(&code, &limiter_key(&user))
        .await
    {
        Ok(pending) => pending,
        Err(error @ DeviceVerificationError::Throttled { .. }) => {
            return refused(&session, &code, &error);
        }
        Err(
            DeviceVerificationError::InvalidUserCode | DeviceVerificationError::NoLongerPending,
        ) => {
            sessions.flash(
                &session,
                "That code is not valid or has expired. Check your device.",
            );
            return pages::see_other("/device");
        }
        Err(error) => return refused(&session, &code, &error),
    };
    let outcome = if decision == Decision::Approve {
        let scope = pending.requested_scope().clone();
        pending.approve(user, scope).await.map(|()| "approved")
    } else {
        pending.deny().await.map(|()| "denied")
    };
    match outcome {
        Ok(done) => pages::see_other(&format!("/device?done={done}")),
        Err(DeviceVerificationError::NoLongerPending) => {
            sessions.flash(&session, "The request expired or was already answered.");
            pages::see_other("/device")
        }
        Err(error) => refused(&session, &code, &error),
    }
}
