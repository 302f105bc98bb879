//! OAuth 2 endpoints: app registration, the authorize page, the token and revoke
//! endpoints, and the authorization server metadata (RFC 8414).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use sluice_engine::oauth::{AuthorizeRequest, CheckedAuthorize, NewApp, OOB_REDIRECT, app_entity};
use sluice_engine::sign_in::{SignIn, SignInClient};

use crate::AppState;
use crate::auth::{Auth, ClientIp};
use crate::error::{ApiError, ApiResult};
use crate::form::{field, leaf};
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

/// `POST /api/v1/apps`.
#[derive(Debug, Deserialize)]
struct AppForm {
    #[serde(default, deserialize_with = "field::string")]
    client_name: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    website: Option<String>,
    #[serde(default, deserialize_with = "redirect_uris")]
    redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "field::string")]
    scopes: Option<String>,
}

/// `redirect_uris`: a JSON array, or one string of URIs separated by spaces or
/// newlines.
fn redirect_uris<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    let uris = match v {
        Value::Array(_) => leaf::list(&v),
        _ => leaf::string(&v).map(|s| {
            s.unwrap_or_default()
                .split(['\n', ' '])
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().to_string())
                .collect()
        }),
    };
    uris.map_err(D::Error::custom)
}

pub async fn create_app(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    state.limits.check(Bucket::Apps, &ip)?;
    let form: AppForm = p.parse()?;
    let app = state
        .engine
        .create_app(NewApp {
            name: form.client_name.unwrap_or_default(),
            website: form.website,
            redirect_uris: form.redirect_uris,
            scopes: form.scopes.unwrap_or_default(),
        })
        .await?;
    let mut entity = app_entity(&app, true);
    entity.vapid_key = state.engine.vapid_public_key().to_string();
    Ok(Json(entity))
}

pub async fn verify_app(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let session = auth.0.as_ref().ok_or_else(ApiError::unauthorized)?;
    let app_id = session.app_id.ok_or_else(ApiError::unauthorized)?;
    let app = state
        .engine
        .app(app_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let mut entity = app_entity(&app, false);
    entity.vapid_key = state.engine.vapid_public_key().to_string();
    Ok(Json(entity))
}

/// `POST /oauth/token`: the client, the grant and what the grant needs.
#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default, deserialize_with = "field::string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    grant_type: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    scope: Option<String>,
    /// `authorization_code`: the code, where it was sent, and the PKCE verifier.
    #[serde(default, deserialize_with = "field::string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    code_verifier: Option<String>,
    /// `password`: the user signs in by user name or e-mail address.
    #[serde(default, deserialize_with = "field::string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    refresh_token: Option<String>,
}

/// `POST /oauth/revoke`.
#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default, deserialize_with = "field::string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    token: Option<String>,
}

/// The client asking for a token: its id, and its secret unless it is a public one.
struct Client {
    id: String,
    secret: Option<String>,
}

impl Client {
    /// The client of HTTP Basic authentication, else the one of the form.
    fn of(headers: &HeaderMap, id: Option<String>, secret: Option<String>) -> Client {
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
            return Client {
                id: dec(id),
                secret: Some(dec(secret)),
            };
        }
        Client {
            id: id.unwrap_or_default(),
            secret: secret.filter(|s| !s.is_empty()),
        }
    }

    /// The secret, for the grants only a confidential client may use.
    fn secret(&self) -> ApiResult<String> {
        self.secret
            .clone()
            .ok_or_else(|| oauth_error("invalid_client", "Client authentication failed."))
    }
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
    let mut form: TokenForm = p.parse()?;
    let client = Client::of(&headers, form.client_id.take(), form.client_secret.take());
    let token = grant(&state, ip, &client, form).await?;
    let mut r = Json(token).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// The token the form's `grant_type` gives the client.
async fn grant(
    state: &AppState,
    ip: String,
    client: &Client,
    form: TokenForm,
) -> ApiResult<sluice_model::api::Token> {
    let engine = &state.engine;
    let scope = form.scope.as_deref();
    let token = match form.grant_type.as_deref().unwrap_or_default() {
        "authorization_code" => {
            engine
                .exchange_code(
                    &client.id,
                    client.secret.as_deref(),
                    &form.code.unwrap_or_default(),
                    &form.redirect_uri.unwrap_or_default(),
                    form.code_verifier.as_deref(),
                )
                .await?
        }
        "password" => {
            state.limits.check(Bucket::SignIn, &ip)?;
            let login = form.username.or(form.email).unwrap_or_default();
            let device = SignInClient { ip, device: None };
            engine
                .password_grant(
                    &client.id,
                    &client.secret()?,
                    &login,
                    &form.password.unwrap_or_default(),
                    scope,
                    &device,
                )
                .await?
        }
        "client_credentials" => {
            engine
                .client_credentials(&client.id, &client.secret()?, scope)
                .await?
        }
        "refresh_token" => {
            let refresh = form.refresh_token.unwrap_or_default();
            engine
                .refresh(&client.id, &client.secret()?, &refresh, scope)
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
    Ok(token)
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let form: RevokeForm = p.parse()?;
    let client = Client::of(&headers, form.client_id, form.client_secret);
    let secret = client.secret.ok_or_else(|| ApiError {
        status: StatusCode::FORBIDDEN,
        body: json!({"error": "unauthorized_client", "error_description": "You are not authorized to revoke this token"}),
        headers: vec![],
    })?;
    state
        .engine
        .revoke(&client.id, &secret, &form.token.unwrap_or_default())
        .await?;
    Ok(Json(json!({})))
}

/// `GET /oauth/authorize` and the sign-in form it shows (`POST /oauth/authorize`):
/// the client's request, carried through the form, and the user's answer.
#[derive(Debug, Deserialize)]
struct AuthorizeForm {
    #[serde(default, deserialize_with = "field::string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    response_type: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    code_challenge: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    code_challenge_method: Option<String>,
    /// The form's answer: `deny`, or the user's sign-in.
    #[serde(default, deserialize_with = "field::string")]
    decision: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    login: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    password: Option<String>,
    /// The second step for an account with two-factor sign-in: the challenge the
    /// form carries, and the code.
    #[serde(default, deserialize_with = "field::string")]
    challenge: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    code: Option<String>,
}

impl AuthorizeForm {
    /// What a waiting two-factor sign-in is bound to: this request (app, redirect,
    /// scopes, PKCE challenge), so its challenge cannot finish another app's.
    fn binding(&self) -> String {
        let f = |v: &Option<String>| v.clone().unwrap_or_default();
        format!(
            "oauth:{}\n{}\n{}\n{}",
            f(&self.client_id),
            f(&self.redirect_uri),
            f(&self.scope),
            f(&self.code_challenge)
        )
    }

    fn request(&self) -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: self.client_id.clone().unwrap_or_default(),
            redirect_uri: self.redirect_uri.clone().unwrap_or_default(),
            scope: self.scope.clone(),
            code_challenge: self.code_challenge.clone(),
            code_challenge_method: self.code_challenge_method.clone(),
        }
    }

    /// Hidden fields that carry the request through the sign-in form.
    fn carried(&self) -> Vec<(String, String)> {
        [
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("response_type", &self.response_type),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.clone()?)))
        .collect()
    }
}

pub async fn authorize_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    let lang = state.pages.lang(&headers);
    let checked = match p.parse::<AuthorizeForm>() {
        Ok(form) => state
            .engine
            .check_authorize(&form.request())
            .await
            .map(|c| (c, form))
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match checked {
        Ok((c, form)) => state
            .pages
            .authorize(&state, lang, &c, &form.carried(), None),
        Err(e) => state.pages.oauth_error(&state, lang, e.status, e.message()),
    }
}

/// The cookie that makes a browser known to the accounts that signed in with it
/// (`sluice_engine::sign_in`: known clients are never slowed by others' failures).
const DEVICE_COOKIE: &str = "sluice_device";
/// How long a browser stays known without signing in again.
const DEVICE_COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// The device cookie the browser sent, if it looks like one we set.
pub(crate) fn device_cookie(headers: &HeaderMap) -> Option<String> {
    crate::web::session::cookie(headers, DEVICE_COOKIE)
        .filter(|v| sluice_engine::web_sessions::is_secret(v))
        .map(str::to_string)
}

/// `POST /oauth/authorize`: the sign-in form's answer. Denied: back to the client with
/// `access_denied`; signed in: a code for the client; else the form again, saying why.
pub async fn authorize_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    p: Params,
) -> Response {
    let lang = state.pages.lang(&headers);
    let sent_device = device_cookie(&headers);
    let device = sent_device
        .clone()
        .unwrap_or_else(sluice_engine::oauth::random_secret);
    let result: ApiResult<Response> = async {
        let form: AuthorizeForm = p.parse()?;
        let checked = state.engine.check_authorize(&form.request()).await?;
        if form.decision.as_deref() == Some("deny") {
            return Ok(denied(&state, lang, &checked, &form));
        }
        state.limits.check(Bucket::SignIn, &ip)?;
        let client = SignInClient {
            ip: ip.clone(),
            device: Some(device.clone()),
        };
        let user = if let Some(challenge) = form.challenge.as_deref() {
            let code = form.code.as_deref().unwrap_or_default();
            match state
                .engine
                .finish_sign_in(challenge, &form.binding(), code, &client)
                .await
            {
                Ok(u) => u,
                // Expired or used: the password again.
                Err(sluice_engine::EngineError::Unauthorized(m))
                    if m == sluice_engine::two_factor::CHALLENGE_EXPIRED =>
                {
                    let e = sluice_engine::EngineError::Unauthorized(m);
                    return Ok(sign_in_refused(&state, lang, &checked, &form, None, e));
                }
                Err(e) => {
                    return Ok(sign_in_refused(
                        &state,
                        lang,
                        &checked,
                        &form,
                        Some(challenge),
                        e,
                    ));
                }
            }
        } else {
            let login = form.login.as_deref().unwrap_or_default();
            let password = form.password.as_deref().unwrap_or_default();
            match state.engine.sign_in(login, password, &client).await {
                Ok(SignIn::Done(u)) => u,
                // A right password for an account with two-factor sign-in: the code
                // next, before the app gets anything.
                Ok(SignIn::NeedsCode(u)) => {
                    let challenge = state
                        .engine
                        .start_second_factor(u.account_id, &form.binding())
                        .await?;
                    let mut carried = form.carried();
                    carried.push(("challenge".into(), challenge));
                    return Ok(state
                        .pages
                        .authorize(&state, lang, &checked, &carried, None));
                }
                Err(e) => return Ok(sign_in_refused(&state, lang, &checked, &form, None, e)),
            }
        };
        let code = state
            .engine
            .issue_code(&checked, &user, form.code_challenge.clone())
            .await?;
        let mut r = if checked.redirect_uri == OOB_REDIRECT {
            state.pages.show_code(&state, lang, &code)
        } else {
            redirect_to_client(&checked, &form, &[("code", &code)])
        };
        if sent_device.is_none() {
            remember_device(&state, &mut r, &device);
        }
        Ok(r)
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => e.into_response(),
        Err(e) => state.pages.oauth_error(&state, lang, e.status, e.message()),
    }
}

/// A redirect to the client's checked redirect URI with `pairs`, and the request's
/// `state`, in the query.
fn redirect_to_client(
    checked: &CheckedAuthorize,
    form: &AuthorizeForm,
    pairs: &[(&str, &str)],
) -> Response {
    let mut url = url::Url::parse(&checked.redirect_uri).expect("checked redirect uri");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(st) = &form.state {
            q.append_pair("state", st);
        }
    }
    super::see_other(url.as_str())
}

/// The user said no: the client is told so (a page, when it has no redirect URI).
fn denied(
    state: &AppState,
    lang: crate::web::i18n::Lang,
    checked: &CheckedAuthorize,
    form: &AuthorizeForm,
) -> Response {
    if checked.redirect_uri == OOB_REDIRECT {
        let message = state.pages.catalogs().text(lang, "authorize-denied");
        return state
            .pages
            .oauth_error(state, lang, StatusCode::FORBIDDEN, &message);
    }
    redirect_to_client(
        checked,
        form,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The resource owner denied the request.",
            ),
        ],
    )
}

/// The sign-in form again after a refused sign-in, saying why; after too many
/// attempts, how long to wait, with 429 and `Retry-After`.
/// With `challenge`, the code form again (a wrong code).
fn sign_in_refused(
    state: &AppState,
    lang: crate::web::i18n::Lang,
    checked: &CheckedAuthorize,
    form: &AuthorizeForm,
    challenge: Option<&str>,
    e: sluice_engine::EngineError,
) -> Response {
    let mut carried = form.carried();
    if let Some(c) = challenge {
        carried.push(("challenge".into(), c.to_string()));
    }
    if let e @ sluice_engine::EngineError::TooManyAttempts { .. } = e {
        let e = ApiError::from(e);
        let mut page = state
            .pages
            .authorize(state, lang, checked, &carried, Some(e.message()));
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        for (k, v) in &e.headers {
            if let Ok(v) = header::HeaderValue::from_str(v) {
                page.headers_mut().insert(*k, v);
            }
        }
        return page;
    }
    let msg = ApiError::from(e).body["error"]
        .as_str()
        .unwrap_or("Invalid login or password")
        .to_string();
    state
        .pages
        .authorize(state, lang, checked, &carried, Some(&msg))
}

/// Sets the device cookie: the browser is known to the account that signed in from
/// now on.
pub(crate) fn remember_device(state: &AppState, r: &mut Response, device: &str) {
    let secure = if state.base().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{DEVICE_COOKIE}={device}; Path=/; Max-Age={DEVICE_COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
    );
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}
