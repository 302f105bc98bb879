//! Server-rendered pages and feeds: profiles (`/@name`), single posts (`/@name/:id`),
//! RSS (`/@name.rss`, `/tags/:tag.rss`), the OAuth sign-in and consent page, and the
//! default avatar. Every page carries a strict Content-Security-Policy: no script at
//! all, styles only from our own stylesheet.
//!
//! Templates are minijinja files compiled into the binary, named `*.html` so minijinja
//! escapes every value inserted (display names, app names, titles: plain text). Only
//! HTML we made is inserted with `|safe`: post and bio HTML (sanitized when stored) and
//! profile field values (rendered from escaped text when read, `Engine::profile_fields`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::{Environment, context};
use sluice_engine::oauth::CheckedAuthorize;
use sluice_engine::rows::Page;
use sluice_model::{Timestamp, content::escape_html};

use crate::AppState;
use crate::routes::activitypub;

/// Posts shown on a profile page and in a feed.
const PAGE_POSTS: i64 = 20;
/// The policy for every HTML page we render.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";
const MISSING_PNG: &[u8] = include_bytes!("../assets/missing.png");
const STYLE_CSS: &str = include_str!("../assets/style.css");

pub struct Pages {
    /// Compiled at the first page rendered: a server that only apps talk to never
    /// compiles a template (docs/benchmarks.md, "Memory of the whole server").
    env: std::sync::OnceLock<Environment<'static>>,
}

impl Pages {
    pub fn new() -> Self {
        Pages {
            env: std::sync::OnceLock::new(),
        }
    }

    fn env(&self) -> &Environment<'static> {
        self.env.get_or_init(|| {
            let mut env = Environment::new();
            for (name, src) in [
                ("layout.html", include_str!("../templates/layout.html")),
                (
                    "authorize.html",
                    include_str!("../templates/authorize.html"),
                ),
                ("code.html", include_str!("../templates/code.html")),
                ("error.html", include_str!("../templates/error.html")),
                ("profile.html", include_str!("../templates/profile.html")),
                ("status.html", include_str!("../templates/status.html")),
                (
                    "status_item.html",
                    include_str!("../templates/status_item.html"),
                ),
            ] {
                env.add_template(name, src)
                    .expect("built-in templates parse");
            }
            env
        })
    }

    fn render(
        &self,
        state: &AppState,
        status: StatusCode,
        name: &str,
        ctx: minijinja::Value,
        csp: &str,
    ) -> Response {
        let ctx = context! { base => state.base(), instance_title => &state.config.title, domain => state.engine.urls.domain(), ..ctx };
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
        let status = if error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        self.render(
            state,
            status,
            "authorize.html",
            context! { app_name => &c.app.name, app_website => &c.app.website, scopes, hidden => minijinja::Value::from(minijinja::value::Serde(hidden)), error, login },
            &csp,
        )
    }

    pub fn show_code(&self, state: &AppState, code: &str) -> Response {
        self.render(state, StatusCode::OK, "code.html", context! { code }, CSP)
    }

    pub fn oauth_error(&self, state: &AppState, status: StatusCode, message: &str) -> Response {
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
        )
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{handle}", get(profile_or_feed))
        .route("/{handle}/{id}", get(status_page))
        .route("/tags/{tag}", get(tag_feed))
        .route("/avatars/original/missing.png", get(missing_png))
        .route("/headers/original/missing.png", get(missing_png))
        .route("/static/style.css", get(style))
        .route("/", get(home))
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

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE_CSS,
    )
}

async fn home(State(state): State<AppState>) -> Response {
    state.pages.render(
        &state,
        StatusCode::OK,
        "error.html",
        context! { status => &state.config.title, message => &state.config.description },
        CSP,
    )
}

fn not_found(state: &AppState) -> Response {
    state.pages.oauth_error(
        state,
        StatusCode::NOT_FOUND,
        "The page you are looking for isn't here.",
    )
}

async fn profile_or_feed(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(name) = handle.strip_prefix('@') else {
        return not_found(&state);
    };
    if activitypub::wants_activity_json(&headers) && !name.ends_with(".rss") {
        return activitypub::actor_json(&state, name)
            .await
            .unwrap_or_else(IntoResponse::into_response);
    }
    let (name, rss) = match name.strip_suffix(".rss") {
        Some(n) => (n, true),
        None => (name, false),
    };
    let Ok(Some(account)) = state.engine.account_by_acct(name).await else {
        return not_found(&state);
    };
    if !account.is_local() {
        return not_found(&state);
    }
    // Pages show public posts only (the statuses they reblog come along).
    let statuses = match state.engine.public_posts(account.id, PAGE_POSTS).await {
        Ok(s) => s,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let entity = state.engine.account_entity(&account);
    if rss {
        let title = format!(
            "{} (@{}@{})",
            if entity.display_name.is_empty() {
                &entity.username
            } else {
                &entity.display_name
            },
            entity.username,
            state.engine.urls.domain()
        );
        return rss_response(&title, &entity.url, &account.note, &statuses);
    }
    state.pages.render(&state, StatusCode::OK, "profile.html", context! { account => minijinja::Value::from(minijinja::value::Serde(&entity)), statuses => minijinja::Value::from(minijinja::value::Serde(&statuses)) }, CSP)
}

async fn status_page(
    State(state): State<AppState>,
    Path((handle, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(name) = handle.strip_prefix('@') else {
        return not_found(&state);
    };
    if activitypub::wants_activity_json(&headers) {
        return activitypub::status_json(&state, name, &id)
            .await
            .unwrap_or_else(IntoResponse::into_response);
    }
    let Some(id) = sluice_model::id::parse_id(&id) else {
        return not_found(&state);
    };
    let Ok(Some((entity, account))) = state.engine.public_status(id).await else {
        return not_found(&state);
    };
    if !account.username.eq_ignore_ascii_case(name) {
        return not_found(&state);
    }
    let summary: String = sluice_model::content::html_to_plain(&entity.content)
        .chars()
        .take(80)
        .collect();
    state.pages.render(&state, StatusCode::OK, "status.html", context! { s => minijinja::Value::from(minijinja::value::Serde(&entity)), account => minijinja::Value::from(minijinja::value::Serde(&account)), summary }, CSP)
}

async fn tag_feed(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    let Some(tag) = tag.strip_suffix(".rss") else {
        return not_found(&state);
    };
    let tag = tag.to_lowercase();
    let page = Page {
        limit: PAGE_POSTS,
        ..Default::default()
    };
    match state
        .engine
        .tag_timeline(&tag, None, true, false, page)
        .await
    {
        Ok(out) => rss_response(
            &format!("#{tag}"),
            &state.engine.urls.tag(&tag),
            "",
            &out.statuses,
        ),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// An RSS 2.0 document for a list of posts.
fn rss_response(
    title: &str,
    link: &str,
    description: &str,
    statuses: &[sluice_model::api::Status],
) -> Response {
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>");
    xml.push_str(&format!(
        "<title>{}</title><link>{}</link><description>{}</description><generator>Sluice</generator>",
        escape_html(title),
        escape_html(link),
        escape_html(&sluice_model::content::html_to_plain(description))
    ));
    for s in statuses {
        let when = Timestamp::parse_rfc3339(&s.created_at).unwrap_or(Timestamp(0));
        let url = s.url.clone().unwrap_or_else(|| s.uri.clone());
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"true\">{}</guid><link>{}</link><pubDate>{}</pubDate><description>{}</description></item>",
            escape_html(&url),
            escape_html(&url),
            when.to_rfc2822(),
            escape_html(&s.content)
        ));
    }
    xml.push_str("</channel></rss>\n");
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}
