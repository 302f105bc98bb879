//! The timelines as pages: home (signed in), this server's posts and everything this
//! server knows. Each page shows [`PAGE_POSTS`] posts and a link to the next page
//! (`?max_id=`), which the script turns into "load more" in place; while the page is
//! open the script adds new posts from the streaming API.

use axum::extract::{Path, State};
use minijinja::context;
use sluice_engine::read::StatusPage;
use sluice_engine::rows::Locality;
use sluice_model::id::parse_id;

use super::{Visitor, WebError, WebResult, next_page, page, page_of, stream_head};
use crate::AppState;
use crate::params::Params;

/// Which timeline a page shows: its title (a message id), its path, and the stream
/// that feeds it.
struct Which {
    title: &'static str,
    path: &'static str,
    stream: &'static str,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    which: Which,
    resume: Option<i64>,
    out: StatusPage,
) -> WebResult {
    let next = next_page(which.path, &out.cursors);
    Ok(page(
        state,
        visitor,
        "timeline.html",
        context! {
            title => visitor.t(state, which.title),
            path => which.path,
            stream => which.stream,
            resume,
            statuses => super::val(&out.statuses),
            next,
        },
    )
    .await)
}

/// `GET /home`.
pub(super) async fn home(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = visitor.signed_in("/home")?.account_id;
    let resume = stream_head(&state);
    let out = state.engine.home_timeline(me, page_of(&p)).await?;
    let which = Which {
        title: "timeline-home",
        path: "/home",
        stream: "user",
    };
    render(&state, &visitor, which, resume, out).await
}

/// `GET /public/local`.
pub(super) async fn local(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    if !state.engine.timeline_open_to_visitors(Locality::Local) {
        visitor.signed_in("/public/local")?;
    }
    let resume = stream_head(&state);
    let out = state
        .engine
        .public_timeline(visitor.account_id(), Locality::Local, false, page_of(&p))
        .await?;
    let which = Which {
        title: "timeline-local",
        path: "/public/local",
        stream: "public:local",
    };
    render(&state, &visitor, which, resume, out).await
}

/// `GET /public`.
pub(super) async fn federated(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    if !state.engine.timeline_open_to_visitors(Locality::All) {
        visitor.signed_in("/public")?;
    }
    let resume = stream_head(&state);
    let out = state
        .engine
        .public_timeline(visitor.account_id(), Locality::All, false, page_of(&p))
        .await?;
    let which = Which {
        title: "timeline-federated",
        path: "/public",
        stream: "public",
    };
    render(&state, &visitor, which, resume, out).await
}

/// `GET /notifications`: mentions, follows, favourites and boosts of one's posts,
/// newest first; the page takes new ones from the `user:notification` stream.
pub(super) async fn notifications(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/notifications")?.account_id;
    let resume = stream_head(&state);
    let filter = sluice_engine::rows::NotificationFilter {
        types: Vec::new(),
        exclude_types: Vec::new(),
        account_id: None,
    };
    let out = state
        .engine
        .notifications_page(me, &filter, page_of(&p))
        .await?;
    let next = next_page("/notifications", &out.cursors);
    Ok(page(
        &state,
        &visitor,
        "notifications.html",
        context! {
            notifications => super::val(&out.notifications),
            resume,
            next,
        },
    )
    .await)
}

/// `GET /notifications/{id}/item`: one of the signed-in person's notifications as the
/// notifications page shows it (a fragment, no layout), for the page's script to add
/// when the stream announces it.
pub(super) async fn notification_item(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> WebResult {
    let me = visitor.signed_in(&visitor.here)?.account_id;
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    let n = state
        .engine
        .notification(me, id)
        .await?
        .ok_or_else(WebError::not_found)?;
    Ok(page(
        &state,
        &visitor,
        "notification_item.html",
        context! { n => super::val(&n) },
    )
    .await)
}
