//! Two-factor sign-in (`sluice_engine::two_factor`): start enabling (a new secret,
//! shown as text, as an `otpauth://` URI and as a QR code), confirm it with a code
//! (the recovery codes are shown this once), new recovery codes or turn it off, each
//! with the password.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use minijinja::context;
use serde::Deserialize;
use sluice_engine::sign_in::SignInClient;
use sluice_model::Id;

use super::{refusal, saved, saved_to, settings_page};
use crate::AppState;
use crate::params::Params;
use crate::ratelimit::Bucket;
use crate::routes::oauth::device_cookie;
use crate::web::{Visitor, WebError, WebResult};

const PATH: &str = "/settings/two_factor";

/// The `otpauth://` URI as a QR code: an SVG image in a `data:` URL (the CSP allows
/// `data:` images; no script, no inline style).
fn qr_data_url(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// The page, with `error` on the form that was sent, or the new recovery codes.
async fn two_factor_page(
    state: &AppState,
    visitor: &Visitor,
    error: Option<&str>,
    recovery_codes: Option<Vec<String>>,
    status: StatusCode,
    saved: bool,
) -> WebResult {
    let me = visitor.signed_in(PATH)?;
    let account =
        state
            .engine
            .account(me.account_id)
            .await?
            .ok_or(crate::web::WebError::Message(
                StatusCode::NOT_FOUND,
                "error-no-such-account",
            ))?;
    let domain = state.engine.urls.domain();
    let label = format!("{}@{}", account.username, domain);
    let st = state
        .engine
        .two_factor_status(me.account_id, domain, &label)
        .await?;
    let pending = st.pending.as_ref().map(|p| {
        context! {
            secret => &p.secret,
            uri => &p.uri,
            // Base64 and a fixed prefix: nothing to escape (escaping `/` would only
            // make the attribute longer).
            qr => qr_data_url(&p.uri).map(minijinja::Value::from_safe_string),
        }
    });
    Ok(settings_page(
        state,
        visitor,
        "settings_two_factor.html",
        context! {
            title => visitor.t(state, "settings-section-two-factor"),
            enabled => st.enabled,
            pending,
            recovery_codes_left => st.recovery_codes_left,
            recovery_codes,
            error,
            saved,
        },
        status,
    )
    .await)
}

/// `GET /settings/two_factor`.
pub(super) async fn show(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    two_factor_page(&state, &visitor, None, None, StatusCode::OK, saved(&p)).await
}

/// `POST /settings/two_factor`: a new secret to enable with (any earlier pending one
/// is replaced; nothing changes for signing in until it is confirmed).
pub(super) async fn start(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = visitor.posting(&state, PATH, &p)?.clone();
    state.engine.start_two_factor(me.account_id).await?;
    Ok(crate::routes::see_other(PATH))
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /settings/two_factor/confirm`: a code from the pending secret turns
/// two-factor sign-in on; the answer shows the recovery codes, once.
pub(super) async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, PATH, &p)?.clone();
    let form: CodeForm = p.parse()?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    match state
        .engine
        .confirm_two_factor(me.account_id, &form.code)
        .await
    {
        Ok(codes) => {
            two_factor_page(&state, &visitor, None, Some(codes), StatusCode::OK, false).await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            two_factor_page(&state, &visitor, Some(&message), None, status, false).await
        }
    }
}

/// The password, which turning two-factor sign-in off and new recovery codes ask for.
#[derive(Debug, Deserialize)]
struct DisableForm {
    #[serde(default)]
    password: String,
}

/// What the password-confirmed forms share: a signed-in person's form with its token,
/// within the sign-in rate limit (the password is checked as a sign-in's is), and the
/// client the check counts failures against.
fn password_form(
    state: &AppState,
    visitor: &Visitor,
    headers: &HeaderMap,
    p: &Params,
) -> Result<(Id, DisableForm, SignInClient), WebError> {
    let me = visitor.posting(state, PATH, p)?.account_id;
    let form: DisableForm = p.parse()?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let client = SignInClient {
        ip: visitor.ip.clone(),
        device: device_cookie(headers),
    };
    Ok((me, form, client))
}

/// `POST /settings/two_factor/recovery_codes`: with the password (checked as a
/// sign-in's is), new recovery codes replace the old ones; the answer shows them, once.
pub(super) async fn regenerate(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    p: Params,
) -> WebResult {
    let (me, form, client) = password_form(&state, &visitor, &headers, &p)?;
    match state
        .engine
        .regenerate_recovery_codes(me, &form.password, &client)
        .await
    {
        Ok(codes) => {
            two_factor_page(&state, &visitor, None, Some(codes), StatusCode::OK, false).await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            two_factor_page(&state, &visitor, Some(&message), None, status, false).await
        }
    }
}

/// `POST /settings/two_factor/disable`: with the password (checked as a sign-in's
/// is), two-factor sign-in is turned off and the recovery codes forgotten.
pub(super) async fn disable(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    p: Params,
) -> WebResult {
    let (me, form, client) = password_form(&state, &visitor, &headers, &p)?;
    if let Err(e) = state
        .engine
        .disable_two_factor(me, &form.password, &client)
        .await
    {
        let (status, message) = refusal(e)?;
        return two_factor_page(&state, &visitor, Some(&message), None, status, false).await;
    }
    Ok(saved_to(PATH))
}
