//! A signed-in person's own collections as pages: bookmarks, favourites, direct
//! conversations, lists (their timelines and members), follow requests to answer, and
//! search.

use axum::extract::{Path, State};
use minijinja::context;
use serde::Deserialize;
use sluice_engine::Activity;
use sluice_engine::read::StatusPage;
use sluice_engine::rows::{Page, Relation, Saved, Side};
use sluice_model::Id;
use sluice_model::id::parse_id;

use super::i18n::Arg;
use super::{Visitor, WebError, WebResult, back, next_page, page, page_of, val};
use crate::AppState;
use crate::form::field;
use crate::params::Params;

async fn statuses(
    state: &AppState,
    visitor: &Visitor,
    title: &str,
    path: &str,
    out: StatusPage,
) -> WebResult {
    Ok(page(
        state,
        visitor,
        "timeline.html",
        context! {
            title => visitor.t(state, title),
            path,
            statuses => val(&out.statuses),
            next => next_page(path, &out.cursors),
            no_compose => true,
        },
    )
    .await)
}

/// `GET /bookmarks`.
pub(super) async fn bookmarks(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/bookmarks")?.account_id;
    let out = state
        .engine
        .saved_statuses(me, Saved::Bookmarks, page_of(&p))
        .await?;
    statuses(&state, &visitor, "timeline-bookmarks", "/bookmarks", out).await
}

/// `GET /favourites`.
pub(super) async fn favourites(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/favourites")?.account_id;
    let out = state
        .engine
        .saved_statuses(me, Saved::Favourites, page_of(&p))
        .await?;
    statuses(&state, &visitor, "timeline-favourites", "/favourites", out).await
}

/// `GET /conversations`: direct conversations, the newest first, each with its last
/// post.
pub(super) async fn conversations(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/conversations")?.account_id;
    let (list, cursors) = state.engine.conversations_page(me, page_of(&p)).await?;
    Ok(page(
        &state,
        &visitor,
        "conversations.html",
        context! {
            conversations => val(&list),
            next => next_page("/conversations", &cursors),
        },
    )
    .await)
}

/// `GET /follow_requests`: who asks to follow a locked account.
pub(super) async fn follow_requests(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/follow_requests")?.account_id;
    let out = state
        .engine
        .relation_accounts(Relation::FollowRequest, Side::Sources, me, page_of(&p))
        .await?;
    Ok(page(
        &state,
        &visitor,
        "accounts.html",
        context! {
            title => visitor.t(&state, "follow-requests-title"),
            accounts => val(&out.accounts),
            answer => true,
            empty => visitor.t(&state, "follow-requests-empty"),
            next => next_page("/follow_requests", &out.cursors),
        },
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct ReturnTo {
    #[serde(default)]
    return_to: Option<String>,
}

/// `POST /follow_requests/{id}/{authorize|reject}`.
pub(super) async fn answer_follow_request(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, answer)): Path<(String, String)>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/follow_requests", &p)?.clone();
    let follower = parse_id(&id).ok_or_else(WebError::not_found)?;
    let activity = match answer.as_str() {
        "authorize" => Activity::AcceptFollow { follower },
        "reject" => Activity::RejectFollow { follower },
        _ => return Err(WebError::not_found()),
    };
    state.engine.submit(me.account_id, activity).await?;
    let form: ReturnTo = p.parse().unwrap_or_default();
    Ok(back(form.return_to.as_deref(), "/follow_requests"))
}

/// A list as its pages show it.
#[derive(serde::Serialize)]
struct ListItem {
    id: String,
    title: String,
}

/// `GET /lists`: one's lists, and a form for a new one.
pub(super) async fn lists(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    let me = visitor.signed_in("/lists")?.account_id;
    let lists: Vec<ListItem> = state
        .engine
        .lists(me)
        .await?
        .into_iter()
        .map(|l| ListItem {
            id: l.id.to_string(),
            title: l.title,
        })
        .collect();
    Ok(page(
        &state,
        &visitor,
        "lists.html",
        context! { lists => val(&lists) },
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct ListForm {
    #[serde(default)]
    title: String,
}

/// `POST /lists`: a new list.
pub(super) async fn create_list(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/lists", &p)?.account_id;
    let form: ListForm = p.parse()?;
    let list = state
        .engine
        .create_list(me, form.title.trim(), None, false)
        .await?;
    Err(WebError::Redirect(format!("/lists/{}", list.id)))
}

/// `GET /lists/{id}`: the list's timeline and its members.
pub(super) async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in(&visitor.here)?.account_id;
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    let list = state
        .engine
        .list(me, id)
        .await?
        .ok_or_else(WebError::not_found)?;
    // Where the page's stream resumes: read before the posts, so none is missed.
    let resume = super::stream_head(&state);
    let out = state.engine.list_timeline(me, &list, page_of(&p)).await?;
    let members = state
        .engine
        .list_members(
            list.id,
            Page {
                limit: 80,
                ..Default::default()
            },
        )
        .await?;
    let path = format!("/lists/{}", list.id);
    Ok(page(
        &state,
        &visitor,
        "list.html",
        context! {
            list => val(&ListItem { id: list.id.to_string(), title: list.title.clone() }),
            statuses => val(&out.statuses),
            members => val(&members.accounts),
            next => next_page(&path, &out.cursors),
            stream => "list",
            resume,
            path,
        },
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct MemberForm {
    /// `user` or `user@domain`, someone one follows.
    #[serde(default)]
    acct: String,
    #[serde(default, deserialize_with = "field::id")]
    account_id: Option<Id>,
}

/// `POST /lists/{id}/{add|remove|delete}`.
pub(super) async fn change_list(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, what)): Path<(String, String)>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/lists", &p)?.account_id;
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    let form: MemberForm = p.parse()?;
    let path = format!("/lists/{id}");
    match what.as_str() {
        "add" => {
            let account = state
                .engine
                .account_by_acct(form.acct.trim().trim_start_matches('@'))
                .await?
                .ok_or_else(|| {
                    WebError::Status(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        visitor.tf(
                            &state,
                            "list-unknown-account",
                            &[("acct", Arg::Str(form.acct.trim()))],
                        ),
                    )
                })?;
            state.engine.add_to_list(me, id, &[account.id]).await?;
        }
        "remove" => {
            let account = form.account_id.ok_or_else(WebError::not_found)?;
            state.engine.remove_from_list(me, id, &[account]).await?;
        }
        "delete" => {
            state.engine.delete_list(me, id).await?;
            return Err(WebError::Redirect("/lists".into()));
        }
        _ => return Err(WebError::not_found()),
    }
    Err(WebError::Redirect(path))
}

/// Posts shown by the search page (the newest that match).
const SEARCH_PAGE_POSTS: i64 = 20;

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /search?q=`: people by name or handle (a full `user@domain` is looked up on its
/// server) and posts by their words (the API's search: scope rules, operators); a URL
/// or handle of a post or account elsewhere opens it (`/authorize_interaction`).
pub(super) async fn search(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in(&visitor.here)?.account_id;
    let q: SearchQuery = p.parse().unwrap_or_default();
    let query = q.q.trim().to_string();
    if query.starts_with("https://") || query.starts_with("http://") {
        return Err(WebError::Redirect(format!(
            "/authorize_interaction?uri={}",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        )));
    }
    let mut rows = if query.is_empty() {
        Vec::new()
    } else {
        state.engine.search_accounts(&query, None, 40, 0).await?
    };
    if rows.is_empty()
        && query.trim_start_matches('@').contains('@')
        && let Some(a) = crate::routes::activitypub::resolve_remote(&state, &query).await
    {
        rows.push(a);
    }
    let accounts: Vec<_> = rows
        .iter()
        .map(|a| state.engine.account_entity(a))
        .collect();
    // A query the API would refuse (an operator's bad value) finds no posts here.
    let statuses = match sluice_model::search::parse(&query) {
        Ok(parsed) if !query.is_empty() => {
            let ask = sluice_engine::read::search::SearchAsk {
                query: parsed,
                limit: SEARCH_PAGE_POSTS,
                ..Default::default()
            };
            state.engine.search_statuses(me, &ask).await?
        }
        _ => vec![],
    };
    Ok(page(
        &state,
        &visitor,
        "search.html",
        context! { q => query, accounts => val(&accounts), statuses => val(&statuses) },
    )
    .await)
}
