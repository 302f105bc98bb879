//! The web app: server-rendered pages for everything a person does on Sluice, and
//! the feeds. Every page works without JavaScript (each action is a form POST that
//! redirects back); one small module (`assets/app.js`) makes them live when it runs.
//! Pages call the engine directly, with the same reads and the same `submit` as the
//! Mastodon API.
//!
//! - [`session`]: who is looking (the session cookie), CSRF tokens;
//! - [`assets`]: the stylesheet and script, by content-hashed names;
//! - [`public`]: what visitors see (about, profiles, threads, hashtags);
//! - [`feeds`]: RSS and Atom;
//! - [`auth_pages`]: sign in, sign up, sign out; [`email_pages`]: confirmation and
//!   password-reset links;
//! - [`timelines`]: home, local and federated timelines;
//! - [`actions`]: posting and acting on posts and accounts;
//! - [`mine`]: bookmarks, favourites, direct messages, lists, follow requests, search;
//! - [`interact`]: remote posts and accounts (`/authorize_interaction`), following
//!   from another server;
//! - [`settings`]: the account's settings (profile, preferences, password, filters,
//!   blocks and mutes, authorized apps, sessions);
//! - [`admin`]: the moderators' pages (reports, the audit log);
//! - [`admin_accounts`]: the moderators' account and sign-up pages;
//! - [`i18n`]: the words of the pages, in the language the browser asks for.
//!
//! Templates are minijinja files compiled into the binary, named `*.html` so minijinja
//! escapes every value inserted (display names, app names, titles: plain text). Only
//! HTML we made is inserted with `|safe`: post and bio HTML (sanitized when stored) and
//! profile field values (rendered from escaped text when read, `Engine::profile_fields`).
//! Their words come from the message catalogs (`t("message-id")`, [`i18n`]), as do the
//! messages handlers put on pages.
//! Every page carries a strict Content-Security-Policy: scripts and styles only from
//! our own files, no inline script or style.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Environment, context};
use sluice_engine::oauth::CheckedAuthorize;

use crate::AppState;
use crate::error::ApiError;

mod actions;
mod admin;
mod admin_accounts;
mod admin_domains;
mod assets;
mod auth_pages;
mod email_pages;
mod emoji;
mod feeds;
pub mod i18n;
mod interact;
mod mine;
mod public;
pub mod session;
mod settings;
mod timelines;

pub use session::Visitor;

use i18n::{Catalogs, Lang};

/// Posts shown on a page of a timeline, a profile and a feed.
const PAGE_POSTS: i64 = 20;
/// The policy for every HTML page we render: our own script and stylesheet, images
/// and media from anywhere secure, the streaming API for live updates.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                   media-src 'self' https:; connect-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The web app's templates, compiled into the binary: `(name, source)`.
fn templates() -> impl Iterator<Item = (&'static str, &'static str)> {
    [
        ("layout.html", include_str!("../../templates/layout.html")),
        ("about.html", include_str!("../../templates/about.html")),
        ("sign_in.html", include_str!("../../templates/sign_in.html")),
        (
            "sign_in_code.html",
            include_str!("../../templates/sign_in_code.html"),
        ),
        ("sign_up.html", include_str!("../../templates/sign_up.html")),
        (
            "timeline.html",
            include_str!("../../templates/timeline.html"),
        ),
        ("compose.html", include_str!("../../templates/compose.html")),
        ("media.html", include_str!("../../templates/media.html")),
        ("poll.html", include_str!("../../templates/poll.html")),
        ("card.html", include_str!("../../templates/card.html")),
        (
            "reactions.html",
            include_str!("../../templates/reactions.html"),
        ),
        ("quote.html", include_str!("../../templates/quote.html")),
        ("item.html", include_str!("../../templates/item.html")),
        (
            "reply_form.html",
            include_str!("../../templates/reply_form.html"),
        ),
        ("tag.html", include_str!("../../templates/tag.html")),
        (
            "password_reset.html",
            include_str!("../../templates/password_reset.html"),
        ),
        (
            "compose_page.html",
            include_str!("../../templates/compose_page.html"),
        ),
        (
            "accounts.html",
            include_str!("../../templates/accounts.html"),
        ),
        (
            "account_item.html",
            include_str!("../../templates/account_item.html"),
        ),
        (
            "conversations.html",
            include_str!("../../templates/conversations.html"),
        ),
        ("lists.html", include_str!("../../templates/lists.html")),
        ("list.html", include_str!("../../templates/list.html")),
        ("search.html", include_str!("../../templates/search.html")),
        (
            "remote_follow.html",
            include_str!("../../templates/remote_follow.html"),
        ),
        (
            "notifications.html",
            include_str!("../../templates/notifications.html"),
        ),
        (
            "notification_item.html",
            include_str!("../../templates/notification_item.html"),
        ),
        (
            "media_grid.html",
            include_str!("../../templates/media_grid.html"),
        ),
        (
            "authorize.html",
            include_str!("../../templates/authorize.html"),
        ),
        ("code.html", include_str!("../../templates/code.html")),
        ("error.html", include_str!("../../templates/error.html")),
        ("profile.html", include_str!("../../templates/profile.html")),
        ("status.html", include_str!("../../templates/status.html")),
        (
            "status_item.html",
            include_str!("../../templates/status_item.html"),
        ),
    ]
    .into_iter()
    .chain(settings::TEMPLATES)
    .chain(admin::TEMPLATES)
    .chain(admin_accounts::TEMPLATES)
    .chain(admin_domains::TEMPLATES)
}

/// The pages' renderer: templates and message catalogs.
pub struct Pages {
    /// Compiled at the first page rendered: a server that only apps talk to never
    /// compiles a template (docs/benchmarks.md, "Memory of the whole server").
    env: std::sync::OnceLock<Environment<'static>>,
    /// The languages the pages speak, loaded at start.
    catalogs: std::sync::Arc<Catalogs>,
}

impl Pages {
    /// A renderer speaking the languages of `catalogs`.
    pub fn new(catalogs: std::sync::Arc<Catalogs>) -> Self {
        Pages {
            env: std::sync::OnceLock::new(),
            catalogs,
        }
    }

    fn env(&self) -> &Environment<'static> {
        self.env.get_or_init(|| {
            let mut env = Environment::new();
            for (name, src) in templates() {
                env.add_template(name, src)
                    .expect("built-in templates parse");
            }
            env.add_function("t", i18n::template_function(self.catalogs.clone()));
            env.add_filter("emojify_html", emoji::emojify_html);
            env.add_filter("emojify_text", emoji::emojify_text);
            env
        })
    }

    /// The catalogs.
    pub(crate) fn catalogs(&self) -> &Catalogs {
        &self.catalogs
    }

    /// The language of a request's pages (its `Accept-Language`).
    pub(crate) fn lang(&self, headers: &header::HeaderMap) -> Lang {
        self.catalogs.negotiate(
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    }

    fn render(
        &self,
        state: &AppState,
        status: StatusCode,
        name: &str,
        ctx: minijinja::Value,
        csp: &str,
        lang: Lang,
    ) -> Response {
        let ctx = context! {
            lang => self.catalogs.tag(lang),
            base => state.base(),
            instance_title => &state.config.title,
            domain => state.engine.urls.domain(),
            style_url => minijinja::Value::from_safe_string(assets::url("style.css")),
            ..ctx
        };
        match self.env().get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => {
                let mut r = (
                    status,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    html,
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(csp) {
                    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
                }
                // The words depend on the request's Accept-Language.
                r.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
                r
            }
            Err(e) => {
                tracing::error!(error = %e, template = name, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
            }
        }
    }

    pub fn authorize(
        &self,
        state: &AppState,
        lang: Lang,
        c: &CheckedAuthorize,
        hidden: &[(String, String)],
        error: Option<&str>,
    ) -> Response {
        // The form's answer redirects to the client; browsers check that against
        // form-action, so the client's origin (or custom scheme) is allowed there.
        let target = url::Url::parse(&c.redirect_uri)
            .ok()
            .map(|u| match u.scheme() {
                "http" | "https" => u.origin().ascii_serialization(),
                s => format!("{s}:"),
            })
            .filter(|t| {
                t.chars()
                    .all(|ch| ch.is_ascii_graphic() && ch != ';' && ch != ',')
            })
            .unwrap_or_default();
        let csp = CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {target}"),
        );
        let scopes: Vec<String> = c.scopes.iter().map(str::to_string).collect();
        let login = hidden
            .iter()
            .find(|(k, _)| k == "login")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        // A right password for an account with two-factor sign-in: the code next.
        let two_factor = hidden.iter().any(|(k, _)| k == "challenge");
        let status = if error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        self.render(
            state,
            status,
            "authorize.html",
            context! { app_name => &c.app.name, app_website => &c.app.website, scopes, hidden => minijinja::Value::from(minijinja::value::Serde(hidden)), error, login, two_factor },
            &csp,
            lang,
        )
    }

    pub fn show_code(&self, state: &AppState, lang: Lang, code: &str) -> Response {
        self.render(
            state,
            StatusCode::OK,
            "code.html",
            context! { code },
            CSP,
            lang,
        )
    }

    pub fn oauth_error(
        &self,
        state: &AppState,
        lang: Lang,
        status: StatusCode,
        message: &str,
    ) -> Response {
        let status = if status.is_success() {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        self.render(
            state,
            status,
            "error.html",
            context! { status => status.as_u16(), message },
            CSP,
            lang,
        )
    }
}

/// A page of the web app for `visitor`: the template's own context, plus what the
/// layout shows (the signed-in account, the CSRF token of its forms, the stream token
/// of its live updates). Sets the anonymous cookie when the page gave its first form
/// to a browser that had none.
pub(crate) async fn page(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    ctx: minijinja::Value,
) -> Response {
    let me = match visitor.account_id() {
        Some(id) => match state.engine.cached_accounts(&[id]).await {
            Ok(a) => a.first().map(|a| state.engine.account_entity(a)),
            Err(_) => None,
        },
        None => None,
    };
    let ctx = context! {
        me => me.as_ref().map(val),
        // The OAuth pages, where a password is typed for another app, carry no script.
        script_url => minijinja::Value::from_safe_string(assets::url("app.js")),
        csrf => visitor.csrf(),
        here => &visitor.here,
        stream_token => visitor.session.as_ref().map(|s| s.stream_token.clone()),
        registrations => registrations(state),
        local_timeline_open => state
            .engine
            .timeline_open_to_visitors(sluice_engine::rows::Locality::Local),
        max_chars => state.engine.config.max_status_chars,
        poll_max_options => state.engine.config.polls.max_options,
        poll_max_chars => state.engine.config.polls.max_option_chars,
        script_strings => minijinja::Value::from_safe_string(
            state.pages.catalogs().script(visitor.lang).to_string()
        ),
        ..ctx
    };
    let mut r = state
        .pages
        .render(state, StatusCode::OK, name, ctx, CSP, visitor.lang);
    visitor.remember(state, &mut r);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// Where a page's live stream starts: the newest event the streaming hub has sent,
/// read *before* the page's posts are. The script connects with `last_event_id` set to
/// it, so a post made between the page's read and the stream's connection (or during
/// a reconnection before the page saw any event) is replayed, not missed; one the page
/// already shows is skipped by the script. None when streaming is off.
pub(crate) fn stream_head(state: &AppState) -> Option<i64> {
    state.streaming.as_ref().map(|hub| hub.head())
}

#[derive(Debug, Default, serde::Deserialize)]
struct PageQuery {
    #[serde(default, deserialize_with = "crate::form::field::id")]
    max_id: Option<sluice_model::Id>,
}

/// The page of a list a request asks for (`?max_id=`), [`PAGE_POSTS`] long.
fn page_of(p: &crate::params::Params) -> sluice_engine::rows::Page {
    let q: PageQuery = p.parse().unwrap_or_default();
    sluice_engine::rows::Page {
        max_id: q.max_id,
        limit: PAGE_POSTS,
        ..Default::default()
    }
}

/// The link to the page after `cursors` (the last row's id), when the page was full.
fn next_page(path: &str, cursors: &[sluice_model::Id]) -> Option<String> {
    (cursors.len() as i64 >= PAGE_POSTS)
        .then(|| cursors.last().map(|id| format!("{path}?max_id={id}")))
        .flatten()
}

/// Any serializable value as a template value.
pub(crate) fn val<T: serde::Serialize>(x: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

/// How people join: "open", "approval" or "closed".
fn registrations(state: &AppState) -> &'static str {
    match state.engine.config.registrations {
        sluice_engine::Registrations::Open => "open",
        sluice_engine::Registrations::Approval => "approval",
        sluice_engine::Registrations::Closed => "closed",
    }
}

/// Why a page could not be shown, or where to go instead.
#[derive(Debug)]
pub enum WebError {
    /// 303 to a local path.
    Redirect(String),
    /// An error page with this status and message (already in the page's language,
    /// or from the engine).
    Status(StatusCode, String),
    /// An error page with this status and the message of this catalog id, in the
    /// language of the request.
    Message(StatusCode, &'static str),
}

impl WebError {
    fn not_found() -> Self {
        WebError::Message(StatusCode::NOT_FOUND, "error-not-found")
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Status(e.status, e.message().to_string())
    }
}

impl From<sluice_engine::EngineError> for WebError {
    fn from(e: sluice_engine::EngineError) -> Self {
        ApiError::from(e).into()
    }
}

/// The error page a [`WebError`] asks for; rendered by [`render_errors`], which has
/// the state the layout needs.
#[derive(Debug, Clone)]
struct ErrorPage {
    status: StatusCode,
    message: ErrorMessage,
}

/// An error page's message: text, or a catalog id.
#[derive(Debug, Clone)]
enum ErrorMessage {
    Text(String),
    Id(&'static str),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message, body) = match self {
            WebError::Redirect(to) => return crate::routes::see_other(&to),
            WebError::Status(status, message) => {
                (status, ErrorMessage::Text(message.clone()), message)
            }
            WebError::Message(status, id) => (status, ErrorMessage::Id(id), id.to_string()),
        };
        let mut r = (status, body).into_response();
        r.extensions_mut().insert(ErrorPage { status, message });
        r
    }
}

/// A web handler's result.
pub type WebResult = Result<Response, WebError>;

/// Renders the error pages handlers ask for ([`WebError::Status`]) in the layout, in
/// the request's language.
async fn render_errors(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let lang = state.pages.lang(req.headers());
    let r = next.run(req).await;
    match r.extensions().get::<ErrorPage>() {
        Some(e) => {
            let message = match &e.message {
                ErrorMessage::Text(t) => t.clone(),
                ErrorMessage::Id(id) => state.pages.catalogs().text(lang, id),
            };
            let mut page = state.pages.oauth_error(&state, lang, e.status, &message);
            for (k, v) in r.headers() {
                if k == header::RETRY_AFTER {
                    page.headers_mut().insert(k, v.clone());
                }
            }
            page
        }
        None => r,
    }
}

/// A redirect back to where a form was (its `return_to`, when local), else to `fallback`.
fn back(return_to: Option<&str>, fallback: &str) -> Response {
    match return_to.filter(|p| session::is_local_path(p)) {
        Some(p) => crate::routes::see_other(p),
        None => crate::routes::see_other(fallback),
    }
}

async fn missing_png() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        MISSING_PNG,
    )
}

const MISSING_PNG: &[u8] = include_bytes!("../../assets/missing.png");

/// `GET /favicon.ico`: the site's icon (32×32, a PNG in an ICO), which browsers ask for
/// on every site whatever the page says. Cached for 30 days: it keeps its name, so no
/// longer, and it changes with a release at most.
async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=2592000"),
        ],
        FAVICON,
    )
}

const FAVICON: &[u8] = include_bytes!("../../assets/favicon.ico");

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(public::root))
        .route("/about", get(public::about))
        .route(
            "/auth/sign_in",
            get(auth_pages::sign_in_page).post(auth_pages::sign_in),
        )
        .route(
            "/auth/sign_up",
            get(auth_pages::sign_up_page).post(auth_pages::sign_up),
        )
        .route("/auth/sign_out", post(auth_pages::sign_out))
        .route("/auth/confirm", get(email_pages::confirm))
        .route("/auth/confirmation", post(email_pages::resend))
        .route(
            "/auth/password/new",
            get(email_pages::forgot_page).post(email_pages::forgot),
        )
        .route(
            "/auth/password/edit",
            get(email_pages::reset_page).post(email_pages::reset),
        )
        .route("/home", get(timelines::home))
        .route("/public", get(timelines::federated))
        .route("/public/local", get(timelines::local))
        .route("/notifications", get(timelines::notifications))
        .route(
            "/notifications/{id}/item",
            get(timelines::notification_item),
        )
        .route("/bookmarks", get(mine::bookmarks))
        .route("/favourites", get(mine::favourites))
        .route("/conversations", get(mine::conversations))
        .route("/follow_requests", get(mine::follow_requests))
        .route(
            "/follow_requests/{id}/{answer}",
            post(mine::answer_follow_request),
        )
        .route("/lists", get(mine::lists).post(mine::create_list))
        .route("/lists/{id}", get(mine::list))
        .route("/lists/{id}/{what}", post(mine::change_list))
        .route("/search", get(mine::search))
        .route("/statuses", post(actions::create))
        .route(
            "/statuses/{id}/edit",
            get(actions::edit_page).post(actions::edit),
        )
        .route(
            "/statuses/{id}/{action}",
            get(actions::item).post(actions::act),
        )
        .route("/statuses/{id}/{action}/{emoji}", post(actions::react))
        .route("/accounts/{id}/{action}", post(actions::account_act))
        .route(
            "/authorize_interaction",
            get(interact::authorize_interaction),
        )
        .route("/remote_follow", post(interact::remote_follow))
        .merge(settings::routes())
        .merge(admin::routes())
        .merge(admin_accounts::routes())
        .merge(admin_domains::routes())
        .route("/{handle}", get(public::profile_or_feed))
        .route("/{handle}/{id}", get(public::status_page))
        .route("/tags/{tag}", get(public::tag))
        .route("/favicon.ico", get(favicon))
        .route("/avatars/original/missing.png", get(missing_png))
        .route("/headers/original/missing.png", get(missing_png))
        .route("/static/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(state, render_errors))
}
