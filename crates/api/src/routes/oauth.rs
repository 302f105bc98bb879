//! OAuth 2 endpoints: app registration, the authorize page, the token and revoke
//! endpoints, and the authorization server metadata (RFC 8414).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use sluice_engine::oauth::{AuthorizeRequest, NewApp, OOB_REDIRECT, app_entity};
use sluice_engine::sign_in::SignInClient;

use crate::AppState;
use crate::auth::{Auth, ClientIp};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::ratelimit::Bucket;

pub async fn metadata(State(state): State<AppState>) -> impl IntoResponse {
    let base = state.base();
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": sluice_model::scope::ALL,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"]
    }))
}

pub async fn create_app(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    state.limits.check(Bucket::Apps, &ip)?;
    let redirect_uris = match p.get("redirect_uris") {
        Some(serde_json::Value::Array(_)) => p.list("redirect_uris")?,
        _ => p
            .string("redirect_uris")?
            .split(['\n', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string())
            .collect(),
    };
    let app = state
        .engine
        .create_app(NewApp {
            name: p.string("client_name")?,
            website: p.str("website")?,
            redirect_uris,
            scopes: p.string("scopes")?,
        })
        .await?;
    Ok(Json(app_entity(&app, true)))
}

pub async fn verify_app(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let session = auth.0.as_ref().ok_or_else(ApiError::unauthorized)?;
    let app_id = session.app_id.ok_or_else(ApiError::unauthorized)?;
    let app = state
        .engine
        .app(app_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Json(app_entity(&app, false)))
}

/// Client credentials from the body or from HTTP Basic authentication.
fn client_credentials(p: &Params, headers: &HeaderMap) -> ApiResult<(String, Option<String>)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(decoded)
        && let Some((id, secret)) = text.split_once(':')
    {
        let dec = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Ok((dec(id), Some(dec(secret))));
    }
    Ok((
        p.string("client_id")?,
        p.str("client_secret")?.filter(|s| !s.is_empty()),
    ))
}

fn oauth_error(code: &'static str, description: &str) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        body: json!({"error": code, "error_description": description}),
        headers: vec![],
    }
}

pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    p: Params,
) -> ApiResult<Response> {
    let (client_id, secret) = client_credentials(&p, &headers)?;
    let need_secret = || {
        secret
            .clone()
            .ok_or_else(|| oauth_error("invalid_client", "Client authentication failed."))
    };
    let scope = p.str("scope")?;
    let token = match p.string("grant_type")?.as_str() {
        "authorization_code" => {
            state
                .engine
                .exchange_code(
                    &client_id,
                    secret.as_deref(),
                    &p.string("code")?,
                    &p.string("redirect_uri")?,
                    p.str("code_verifier")?.as_deref(),
                )
                .await?
        }
        "password" => {
            state.limits.check(Bucket::SignIn, &ip)?;
            let login = p.str("username")?.or(p.str("email")?).unwrap_or_default();
            state
                .engine
                .password_grant(
                    &client_id,
                    &need_secret()?,
                    &login,
                    &p.string("password")?,
                    scope.as_deref(),
                    &SignInClient {
                        ip: ip.clone(),
                        device: None,
                    },
                )
                .await?
        }
        "client_credentials" => {
            state
                .engine
                .client_credentials(&client_id, &need_secret()?, scope.as_deref())
                .await?
        }
        "refresh_token" => {
            state
                .engine
                .refresh(
                    &client_id,
                    &need_secret()?,
                    &p.string("refresh_token")?,
                    scope.as_deref(),
                )
                .await?
        }
        "" => {
            return Err(oauth_error(
                "invalid_request",
                "The request is missing a required parameter: grant_type.",
            ));
        }
        _ => {
            return Err(oauth_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ));
        }
    };
    let mut r = Json(token).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let (client_id, secret) = client_credentials(&p, &headers)?;
    let secret = secret.ok_or_else(|| ApiError {
        status: StatusCode::FORBIDDEN,
        body: json!({"error": "unauthorized_client", "error_description": "You are not authorized to revoke this token"}),
        headers: vec![],
    })?;
    state
        .engine
        .revoke(&client_id, &secret, &p.string("token")?)
        .await?;
    Ok(Json(json!({})))
}

fn authorize_request(p: &Params) -> ApiResult<AuthorizeRequest> {
    Ok(AuthorizeRequest {
        client_id: p.string("client_id")?,
        redirect_uri: p.string("redirect_uri")?,
        scope: p.str("scope")?,
        code_challenge: p.str("code_challenge")?,
        code_challenge_method: p.str("code_challenge_method")?,
    })
}

/// Hidden fields that carry the request through the sign-in form.
fn carried(p: &Params) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for k in [
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "response_type",
        "code_challenge",
        "code_challenge_method",
    ] {
        if let Some(v) = p.str(k)? {
            out.push((k.to_string(), v));
        }
    }
    Ok(out)
}

pub async fn authorize_page(State(state): State<AppState>, p: Params) -> Response {
    let checked = match authorize_request(&p) {
        Ok(r) => state
            .engine
            .check_authorize(&r)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match checked {
        Ok(c) => state
            .pages
            .authorize(&state, &c, &carried(&p).unwrap_or_default(), None),
        Err(e) => state.pages.oauth_error(&state, e.status, e.message()),
    }
}

/// The cookie that makes a browser known to the accounts that signed in with it
/// (`sluice_engine::sign_in`: known clients are never slowed by others' failures).
const DEVICE_COOKIE: &str = "sluice_device";
/// How long a browser stays known without signing in again.
const DEVICE_COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// The device cookie the browser sent, if it looks like one we set.
fn device_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == DEVICE_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

pub async fn authorize_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    p: Params,
) -> Response {
    let sent_device = device_cookie(&headers);
    let device = sent_device
        .clone()
        .unwrap_or_else(sluice_engine::oauth::random_secret);
    let result: ApiResult<Response> = async {
        let req = authorize_request(&p)?;
        let checked = state.engine.check_authorize(&req).await?;
        let redirect_with = |pairs: &[(&str, &str)]| -> Response {
            let mut url = url::Url::parse(&checked.redirect_uri).expect("checked redirect uri");
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
                if let Ok(Some(st)) = p.str("state") {
                    q.append_pair("state", &st);
                }
            }
            super::see_other(url.as_str())
        };
        if p.string("decision")? == "deny" {
            if checked.redirect_uri == OOB_REDIRECT {
                return Ok(state.pages.oauth_error(
                    &state,
                    StatusCode::FORBIDDEN,
                    "Authorization was denied.",
                ));
            }
            return Ok(redirect_with(&[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The resource owner denied the request.",
                ),
            ]));
        }
        state.limits.check(Bucket::SignIn, &ip)?;
        let client = SignInClient {
            ip: ip.clone(),
            device: Some(device.clone()),
        };
        let user = match state
            .engine
            .sign_in(&p.string("login")?, &p.string("password")?, &client)
            .await
        {
            Ok(u) => u,
            // The form again, saying how long to wait, with 429 and `Retry-After`.
            Err(e @ sluice_engine::EngineError::TooManyAttempts { .. }) => {
                let e = ApiError::from(e);
                let mut page =
                    state
                        .pages
                        .authorize(&state, &checked, &carried(&p)?, Some(e.message()));
                *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                for (k, v) in &e.headers {
                    if let Ok(v) = header::HeaderValue::from_str(v) {
                        page.headers_mut().insert(*k, v);
                    }
                }
                return Ok(page);
            }
            Err(e) => {
                let msg = ApiError::from(e).body["error"]
                    .as_str()
                    .unwrap_or("Invalid login or password")
                    .to_string();
                return Ok(state
                    .pages
                    .authorize(&state, &checked, &carried(&p)?, Some(&msg)));
            }
        };
        let code = state
            .engine
            .issue_code(&checked, &user, p.str("code_challenge")?)
            .await?;
        let mut r = if checked.redirect_uri == OOB_REDIRECT {
            state.pages.show_code(&state, &code)
        } else {
            redirect_with(&[("code", &code)])
        };
        // The browser is known to this account from now on.
        if sent_device.is_none() {
            let secure = if state.base().starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{DEVICE_COOKIE}={device}; Path=/oauth; Max-Age={DEVICE_COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
            );
            if let Ok(v) = header::HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
        Ok(r)
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => e.into_response(),
        Err(e) => state.pages.oauth_error(&state, e.status, e.message()),
    }
}
