//! Signing in, signing up and signing out from a browser. Sign-in attempts count
//! against the same limits as OAuth's sign-in form (per address, and per account in
//! the engine), and a browser that signed in before is known to the account
//! (`sluice_device`, shared with the OAuth form).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use sluice_engine::accounts::Registration;
use sluice_engine::sign_in::{SignIn, SignInClient};

use super::session::{clear_session_cookie, is_local_path, set_session_cookie};
use super::{Visitor, WebError, WebResult, back, page};
use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;
use crate::ratelimit::Bucket;
use crate::routes::oauth::{device_cookie, remember_device};

#[derive(Debug, Default, Deserialize)]
pub(super) struct ReturnTo {
    #[serde(default)]
    return_to: Option<String>,
    /// `confirmed` or `password`: what the page says happened.
    #[serde(default)]
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: Option<String>,
    /// The second step: the challenge the code form carries, and the code.
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    code: String,
}

/// `GET /auth/sign_in`.
pub(super) async fn sign_in_page(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let q: ReturnTo = p.parse().unwrap_or_default();
    if visitor.session.is_some() {
        return Ok(back(q.return_to.as_deref(), "/home"));
    }
    let mut r = sign_in_form(
        &state,
        &visitor,
        q.return_to.as_deref(),
        "",
        None,
        StatusCode::OK,
    )
    .await;
    // What happened before: a confirmed address or a new password (fixed words the
    // template knows).
    if let Some(n) = q
        .notice
        .as_deref()
        .filter(|n| matches!(*n, "confirmed" | "password"))
    {
        r = page(
            &state,
            &visitor,
            "sign_in.html",
            context! {
                return_to => q.return_to.as_deref().filter(|p| is_local_path(p)),
                login => "",
                notice => n,
            },
        )
        .await;
    }
    Ok(r)
}

async fn sign_in_form(
    state: &AppState,
    visitor: &Visitor,
    return_to: Option<&str>,
    login: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let return_to = return_to.filter(|p| is_local_path(p));
    let unconfirmed = error == Some(sluice_engine::email::UNCONFIRMED);
    let mut r = page(
        state,
        visitor,
        "sign_in.html",
        context! { return_to, login, error, unconfirmed },
    )
    .await;
    *r.status_mut() = status;
    r
}

/// `POST /auth/sign_in`: on success a new session (its cookie set) and a redirect to
/// where the person was going; else the form again, saying why.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: axum::http::HeaderMap,
    p: Params,
) -> WebResult {
    visitor.check_csrf(&p)?;
    let form: SignInForm = p.parse()?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let sent_device = device_cookie(&headers);
    let device = sent_device
        .clone()
        .unwrap_or_else(sluice_engine::oauth::random_secret);
    let client = SignInClient {
        ip: visitor.ip.clone(),
        device: Some(device.clone()),
    };
    // The second step of a two-factor sign-in: the challenge is bound to this
    // browser's anonymous cookie, so only the browser that entered the password can
    // finish it.
    if let Some(challenge) = form.challenge.as_deref() {
        let bound = visitor.anon_binding();
        let user = match state
            .engine
            .finish_sign_in(challenge, &bound, &form.code, &client)
            .await
        {
            Ok(u) => u,
            Err(e) => {
                let e = ApiError::from(e);
                if e.message() == sluice_engine::two_factor::CHALLENGE_EXPIRED {
                    return Ok(sign_in_form(
                        &state,
                        &visitor,
                        form.return_to.as_deref(),
                        "",
                        Some(e.message()),
                        StatusCode::UNAUTHORIZED,
                    )
                    .await);
                }
                let status = match e.status {
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::FORBIDDEN => e.status,
                    _ => StatusCode::UNAUTHORIZED,
                };
                return Ok(code_form(
                    &state,
                    &visitor,
                    form.return_to.as_deref(),
                    challenge,
                    Some(e.message()),
                    status,
                )
                .await);
            }
        };
        return signed_in(&state, &visitor, &form, user, sent_device, &device).await;
    }
    let user = match state
        .engine
        .sign_in(&form.login, &form.password, &client)
        .await
    {
        Ok(SignIn::Done(u)) => u,
        Ok(SignIn::NeedsCode(u)) => {
            let challenge = state
                .engine
                .start_second_factor(u.account_id, &visitor.anon_binding())
                .await?;
            return Ok(code_form(
                &state,
                &visitor,
                form.return_to.as_deref(),
                &challenge,
                None,
                StatusCode::OK,
            )
            .await);
        }
        Err(e) => {
            let e = ApiError::from(e);
            // 429 after too many failures, 403 for a login that may not sign in
            // (pending approval, disabled), else 401.
            let status = match e.status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::FORBIDDEN => e.status,
                _ => StatusCode::UNAUTHORIZED,
            };
            return Ok(sign_in_form(
                &state,
                &visitor,
                form.return_to.as_deref(),
                &form.login,
                Some(e.message()),
                status,
            )
            .await);
        }
    };
    signed_in(&state, &visitor, &form, user, sent_device, &device).await
}

/// The second form of a two-factor sign-in: a code or a recovery code.
async fn code_form(
    state: &AppState,
    visitor: &Visitor,
    return_to: Option<&str>,
    challenge: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let return_to = return_to.filter(|p| is_local_path(p));
    let mut r = page(
        state,
        visitor,
        "sign_in_code.html",
        context! { return_to, challenge, error },
    )
    .await;
    *r.status_mut() = status;
    r
}

/// A new session for `user`, its cookie set, and a redirect to where the person was
/// going.
async fn signed_in(
    state: &AppState,
    visitor: &Visitor,
    form: &SignInForm,
    user: sluice_engine::rows::UserRow,
    sent_device: Option<String>,
    device: &str,
) -> WebResult {
    let (secret, _) = state
        .engine
        .start_web_session(user.account_id, &visitor.ip, &visitor.user_agent)
        .await?;
    let mut r = back(form.return_to.as_deref(), "/home");
    set_session_cookie(state, &mut r, &secret);
    if sent_device.is_none() {
        remember_device(state, &mut r, device);
    }
    Ok(r)
}

/// `POST /auth/sign_out`: ends this browser's session.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    visitor.check_csrf(&p)?;
    if let Some(s) = &visitor.session {
        state.engine.end_web_session(s.account_id, s.id).await?;
    }
    let mut r = crate::routes::see_other("/");
    clear_session_cookie(&state, &mut r);
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
struct SignUpForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
    /// The rules accepted (a checkbox: present when ticked).
    #[serde(default)]
    agreement: Option<String>,
    /// Why the person wants to join, when sign-ups need approval.
    #[serde(default)]
    reason: String,
}

/// `GET /auth/sign_up`.
pub(super) async fn sign_up_page(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    if visitor.session.is_some() {
        return Err(WebError::Redirect("/home".into()));
    }
    Ok(sign_up_form(
        &state,
        &visitor,
        &SignUpForm::default(),
        &[],
        StatusCode::OK,
    )
    .await)
}

async fn sign_up_form(
    state: &AppState,
    visitor: &Visitor,
    form: &SignUpForm,
    errors: &[String],
    status: StatusCode,
) -> Response {
    let mut r = page(
        state,
        visitor,
        "sign_up.html",
        context! {
            username => &form.username,
            email => &form.email,
            reason => &form.reason,
            errors => super::val(&errors),
        },
    )
    .await;
    *r.status_mut() = status;
    r
}

/// `POST /auth/sign_up`: an open server signs the new person in; one that approves
/// sign-ups says the request is waiting.
pub(super) async fn sign_up(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    visitor.check_csrf(&p)?;
    let form: SignUpForm = p.parse()?;
    state.limits.check(Bucket::Registration, &visitor.ip)?;
    if form.password != form.password_confirmation {
        let errors = vec![visitor.t(&state, "sign-up-passwords-differ")];
        return Ok(sign_up_form(
            &state,
            &visitor,
            &form,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await);
    }
    let registered = state
        .engine
        .register(
            Registration {
                username: form.username.trim().to_string(),
                email: form.email.trim().to_string(),
                password: form.password.clone(),
                agreement: form.agreement.is_some(),
                locale: "en".into(),
                reason: form.reason.trim().to_string(),
                admin: false,
                ip: Some(visitor.ip.clone()),
            },
            false,
        )
        .await;
    let (_, user) = match registered {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::from(e);
            let errors = registration_errors(&e);
            return Ok(sign_up_form(&state, &visitor, &form, &errors, e.status).await);
        }
    };
    if !user.confirmed || !user.approved {
        return Ok(page(
            &state,
            &visitor,
            "sign_up.html",
            context! { pending => !user.approved, confirm => !user.confirmed, email => &user.email },
        )
        .await);
    }
    let (secret, _) = state
        .engine
        .start_web_session(user.account_id, &visitor.ip, &visitor.user_agent)
        .await?;
    let mut r = crate::routes::see_other("/home");
    set_session_cookie(&state, &mut r, &secret);
    Ok(r)
}

/// The refusals of a registration, one line each (Mastodon's `details`: a field and
/// its errors), else the error's message.
fn registration_errors(e: &ApiError) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(details) = e.body.get("details").and_then(|d| d.as_object()) {
        for (field, errors) in details {
            for err in errors.as_array().into_iter().flatten() {
                if let Some(d) = err.get("description").and_then(|d| d.as_str()) {
                    out.push(format!("{}: {d}", field.replace('_', " ")));
                }
            }
        }
    }
    if out.is_empty() {
        out.push(e.message().to_string());
    }
    out
}
