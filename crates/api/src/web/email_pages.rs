//! The pages mailed links lead to: confirming a new account's address, asking for and
//! using a password-reset link. Without mail (no `SLUICE_SMTP_URL`) there is nothing
//! to confirm, and the reset page says to ask the administrator
//! (`sluice admin accounts reset-password`).

use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;

use super::{Visitor, WebError, WebResult, page};
use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;
use crate::ratelimit::Bucket;

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /auth/confirm?token=`: the link of the confirmation mail.
pub(super) async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let q: TokenQuery = p.parse().unwrap_or_default();
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    match state.engine.confirm_email(q.token.trim()).await {
        Ok(_) => Err(WebError::Redirect("/auth/sign_in?notice=confirmed".into())),
        Err(e) => Ok(message(
            &state,
            &visitor,
            &visitor.t(&state, "confirmation-title"),
            &ApiError::from(e),
        )
        .await),
    }
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
}

/// `POST /auth/confirmation`: the confirmation link again, for an address not yet
/// confirmed (the answer is the same whatever the address).
pub(super) async fn resend(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    visitor.check_csrf(&p)?;
    state.limits.check(Bucket::Registration, &visitor.ip)?;
    let form: LoginForm = p.parse()?;
    if let Err(e) = state.engine.resend_confirmation(&form.login).await {
        tracing::warn!(error = %e, "confirmation not sent again");
    }
    Ok(done(
        &state,
        &visitor,
        &visitor.t(&state, "confirmation-link-sent"),
    )
    .await)
}

/// `GET /auth/password/new`: the form that asks for a reset link.
pub(super) async fn forgot_page(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    Ok(page(
        &state,
        &visitor,
        "password_reset.html",
        context! { step => "ask", mails => state.engine.sends_mail() },
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /auth/password/new`: mails a reset link to the address, if it is a user's.
pub(super) async fn forgot(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    visitor.check_csrf(&p)?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let form: EmailForm = p.parse()?;
    if !state.engine.sends_mail() {
        return Err(WebError::Message(StatusCode::NOT_FOUND, "password-no-mail"));
    }
    if let Err(e) = state.engine.request_password_reset(&form.email).await {
        tracing::warn!(error = %e, "password reset link not sent");
    }
    Ok(done(&state, &visitor, &visitor.t(&state, "password-link-sent")).await)
}

/// `GET /auth/password/edit?token=`: the form of the reset link.
pub(super) async fn reset_page(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let q: TokenQuery = p.parse().unwrap_or_default();
    Ok(page(
        &state,
        &visitor,
        "password_reset.html",
        context! { step => "choose", token => q.token.trim() },
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// `POST /auth/password/edit`: the new password; the account is signed out everywhere
/// and goes to sign in.
pub(super) async fn reset(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    visitor.check_csrf(&p)?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let form: ResetForm = p.parse()?;
    let message = if form.password != form.password_confirmation {
        visitor.t(&state, "password-passwords-differ")
    } else {
        match state
            .engine
            .reset_password_by_link(form.token.trim(), &form.password)
            .await
        {
            Ok(_) => return Err(WebError::Redirect("/auth/sign_in?notice=password".into())),
            Err(e) => ApiError::from(e).message().to_string(),
        }
    };
    let mut r = page(
        &state,
        &visitor,
        "password_reset.html",
        context! { step => "choose", token => form.token.trim(), error => message },
    )
    .await;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

async fn done(state: &AppState, visitor: &Visitor, text: &str) -> axum::response::Response {
    page(
        state,
        visitor,
        "password_reset.html",
        context! { step => "done", text },
    )
    .await
}

async fn message(
    state: &AppState,
    visitor: &Visitor,
    title: &str,
    e: &ApiError,
) -> axum::response::Response {
    let mut r = page(
        state,
        visitor,
        "password_reset.html",
        context! { step => "done", title, text => e.message() },
    )
    .await;
    *r.status_mut() = e.status;
    r
}
