//! `/device`: the device verification page (RFC 8628 §3.3). The user signs in, enters the
//! code the device shows (or arrives with it from `verification_uri_complete`), sees which
//! client asks for what, checks the code against the device, and approves or denies.
//! Nothing is approved without that last step (DG-08).

use std::net::IpAddr;

use grantflow::device::{DeviceVerificationError, EnteredUserCode};
use grantflow::{HttpRequest, HttpResponse, Method, Status, Subject};

use super::DemoApp;
use super::authorize::unavailable;
use super::pages::{self, Buttons, Decision};
use super::session::{Flash, Session};

/// What the entry page says about a code that is not (or no longer) pending.
const INVALID_CODE: &str = "That code is not valid or has expired. Check your device.";

pub(super) async fn handle(app: &DemoApp, peer: IpAddr, request: &HttpRequest) -> HttpResponse {
    match request.method() {
        // HEAD is answered as GET; the framework sends the headers without the body.
        Method::Get | Method::Head => show(app, request).await,
        Method::Post => submit(app, peer, request).await,
        _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD, POST"),
    }
}

/// The user-code limiter's key: entries are counted per signed-in user (DG-07).
fn limiter_key(user: &Subject) -> String {
    format!("user:{}", user.as_str())
}

/// `/device` with the user code, if any, in the query, percent-encoded.
fn with_code(code: &str) -> String {
    if code.is_empty() {
        return "/device".to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
    format!("/device?user_code={encoded}")
}

/// The user code as a hidden form field (none when there is no code).
fn hidden_code(code: &str) -> String {
    if code.is_empty() {
        return String::new();
    }
    format!(
        "<input type=\"hidden\" name=\"user_code\" value=\"{}\">",
        pages::escape(code)
    )
}

/// `GET /device[?user_code=…]`. The page after an answer says what was done only to the
/// session that answered (the outcome is its one-time flash): a link cannot make the page
/// claim that a device was connected.
async fn show(app: &DemoApp, request: &HttpRequest) -> HttpResponse {
    let session = app.inner.sessions.find_or_start(request);
    let user_code = url::form_urlencoded::parse(request.query().unwrap_or("").as_bytes())
        .find(|(name, _)| name == "user_code")
        .map(|(_, value)| value.into_owned());
    let response = match (&session.flash, &session.user, user_code) {
        (Some(Flash::DeviceAnswered { approved: true }), ..) => pages::message(
            Status::OK,
            "Device connected",
            "You approved the request. You can return to your device now.",
        ),
        (Some(Flash::DeviceAnswered { approved: false }), ..) => pages::message(
            Status::OK,
            "Request denied",
            "You denied the request. The device gets no access.",
        ),
        (_, Some(user), Some(code)) => confirm(app, &session, user, &code).await,
        (_, _, code) => entry(&session, code.as_deref().unwrap_or(""), None),
    };
    session.attach_cookie(response)
}

/// The page asking for the code (and the sign-in, when nobody is signed in), with the
/// session's notice and `notice`.
fn entry(session: &Session, code: &str, notice: Option<&str>) -> HttpResponse {
    let flash = session.flash.as_ref();
    let field = format!(
        "<label for=\"user_code\">Code shown on your device</label>\
         <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" required>",
        pages::escape(code)
    );
    let sign_in = match session.user {
        Some(_) => None,
        None => Some(flash.map_or("", |f| f.username())),
    };
    let who = match &session.user {
        Some(user) => {
            pages::signed_in_as("/device", &session.csrf, &hidden_code(code), user.as_str())
        }
        None => String::new(),
    };
    let content = format!(
        "{}{}<p>Enter the code your device shows to connect it to your account.</p>{}{who}",
        pages::notice(flash.and_then(|f| f.message())),
        pages::notice(notice),
        pages::form(
            "/device",
            &session.csrf,
            sign_in,
            &field,
            Buttons::Continue("Continue")
        ),
    );
    pages::page(Status::OK, "Connect a device", &content)
}

/// The confirmation page for a signed-in user and a code: who asks, for what, and the
/// code to compare with the device's screen.
async fn confirm(app: &DemoApp, session: &Session, user: &Subject, code: &str) -> HttpResponse {
    let found = app
        .inner
        .device
        .verify(EnteredUserCode::new(code), &limiter_key(user))
        .await;
    let pending = match found {
        Ok(pending) => pending,
        Err(error) => return refused(session, code, &error),
    };
    let client = pending
        .client_name()
        .unwrap_or(pending.client_id().as_str());
    let fields = hidden_code(pending.user_code());
    let content = format!(
        "{notice}<p><strong>{client}</strong> ({id}) would like to:</p>{scopes}{resources}\
         <p>Check that your device shows this code:</p><p class=\"code\">{code}</p>\
         <p class=\"muted\">If the codes differ, deny.</p>{form}{who}",
        notice = pages::notice(session.flash.as_ref().and_then(|f| f.message())),
        client = pages::escape(client),
        id = pages::escape(pending.client_id().as_str()),
        scopes = pages::scope_list(pending.requested_scope()),
        resources = pages::resource_list(pending.requested_resources()),
        code = pages::escape(pending.user_code()),
        form = pages::form("/device", &session.csrf, None, &fields, Buttons::Decision),
        who = pages::signed_in_as("/device", &session.csrf, &fields, user.as_str()),
    );
    pages::page(Status::OK, "Connect this device?", &content)
}

/// The page for a code that could not be looked up.
fn refused(session: &Session, code: &str, error: &DeviceVerificationError) -> HttpResponse {
    match error {
        DeviceVerificationError::Throttled { retry_after } => pages::message(
            Status::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many codes were entered. Wait a few minutes, then try again.",
        )
        .with_header("retry-after", retry_after.as_secs().max(1).to_string()),
        DeviceVerificationError::InvalidUserCode | DeviceVerificationError::NoLongerPending => {
            entry(session, code, Some(INVALID_CODE))
        }
        other => {
            tracing::error!(error = %other, "device verification failed");
            unavailable()
        }
    }
}

/// `POST /device`: sign in and move on to the confirmation page, sign out, or carry out
/// the decision taken there. Every answer is a 303 (SEC-04) or an error page.
async fn submit(app: &DemoApp, peer: IpAddr, request: &HttpRequest) -> HttpResponse {
    let posted = app.posted_form(request, |form| {
        with_code(form.user_code.as_deref().unwrap_or_default())
    });
    let (form, session) = match posted {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let sessions = &app.inner.sessions;
    let code = form.user_code.clone().unwrap_or_default();
    let this_page = with_code(&code);
    if form.decision == Some(Decision::SignOut) {
        let signed_out = sessions.sign_out(&session);
        return signed_out.attach_cookie(pages::see_other(&this_page));
    }
    let Some(user) = session.user.clone() else {
        return match app.sign_in(peer, &session, &form, &this_page).await {
            // Signed in only now, so the user has not seen the request yet: show the
            // confirmation page, whatever the form said (DG-08).
            Ok((signed_in, _)) => signed_in.attach_cookie(pages::see_other(&this_page)),
            Err(back) => back,
        };
    };
    let decision = match form.decision {
        Some(decision @ (Decision::Approve | Decision::Deny)) => decision,
        _ => return pages::see_other(&this_page),
    };
    let pending = match app
        .inner
        .device
        .verify(EnteredUserCode::new(&code), &limiter_key(&user))
        .await
    {
        Ok(pending) => pending,
        Err(error @ DeviceVerificationError::Throttled { .. }) => {
            return refused(&session, &code, &error);
        }
        Err(
            DeviceVerificationError::InvalidUserCode | DeviceVerificationError::NoLongerPending,
        ) => {
            sessions.flash(&session, Flash::Notice(INVALID_CODE));
            return pages::see_other("/device");
        }
        Err(error) => return refused(&session, &code, &error),
    };
    let approved = decision == Decision::Approve;
    let outcome = if approved {
        let scope = pending.requested_scope().clone();
        pending.approve(user, scope).await
    } else {
        pending.deny().await
    };
    match outcome {
        Ok(()) => {
            sessions.flash(&session, Flash::DeviceAnswered { approved });
            pages::see_other("/device")
        }
        Err(DeviceVerificationError::NoLongerPending) => {
            sessions.flash(
                &session,
                Flash::Notice("The request expired or was already answered."),
            );
            pages::see_other("/device")
        }
        Err(error) => refused(&session, &code, &error),
    }
}
