//! What visitors see: the about page, profiles and threads.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use minijinja::context;
use serde::Deserialize;
use sluice_engine::read::timelines::AccountPosts;
use sluice_engine::rows::Page;
use sluice_model::Id;

use super::{PAGE_POSTS, Visitor, WebError, WebResult, feeds, page as page_with};
use crate::AppState;
use crate::form::field;
use crate::params::Params;
use crate::routes::activitypub;

/// `GET /`: a signed-in person's home timeline; the about page for everyone else.
pub(super) async fn root(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    if visitor.session.is_some() {
        return Err(WebError::Redirect("/home".into()));
    }
    about(State(state), visitor).await
}

/// `GET /about`: what this server is, its rules, who runs it, how to join.
pub(super) async fn about(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    let (users, statuses) = state.engine.instance_stats().await?;
    let contact = state.engine.contact_account().await?;
    // The rules the admin wrote (`/admin/rules`), which signing up accepts.
    let rules: Vec<_> = state
        .engine
        .instance_rules()
        .await?
        .into_iter()
        .map(|r| context! { text => r.text, hint => r.hint })
        .collect();
    Ok(page_with(
        &state,
        &visitor,
        "about.html",
        context! {
            rules,
            description => &state.config.description,
            contact_email => &state.config.contact_email,
            contact => contact.map(|c| super::val(&c)),
            users,
            statuses,
        },
    )
    .await)
}

/// `GET /@name` (and `/@name.rss`, `/@name.atom`, and the actor document for
/// ActivityPub clients).
pub(super) async fn profile_or_feed(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(handle): Path<String>,
    headers: HeaderMap,
    p: Params,
) -> WebResult {
    let Some(name) = handle.strip_prefix('@') else {
        return Err(WebError::not_found());
    };
    for (suffix, kind) in [(".rss", feeds::Kind::Rss), (".atom", feeds::Kind::Atom)] {
        if let Some(n) = name.strip_suffix(suffix) {
            return feeds::account_feed(&state, n, kind).await;
        }
    }
    if activitypub::wants_activity_json(&headers) {
        return Ok(activitypub::actor_json(&state, name)
            .await
            .unwrap_or_else(IntoResponse::into_response));
    }
    profile(&state, &visitor, name, &p).await
}

/// The error page of a local username that is not served, as Mastodon answers: 410
/// once the account is gone for good (deleted), 403 while it is suspended
/// (restorable); None when it is served or there is no such account.
pub(super) async fn unavailable_account(
    state: &AppState,
    name: &str,
) -> Result<Option<WebError>, WebError> {
    Ok(match activitypub::find_local_account(state, name).await? {
        Some(activitypub::LocalAccount::Suspended(_)) => Some(WebError::Message(
            StatusCode::FORBIDDEN,
            "error-account-suspended",
        )),
        Some(activitypub::LocalAccount::Gone(_)) => {
            Some(WebError::Message(StatusCode::GONE, "error-account-gone"))
        }
        _ => None,
    })
}

/// [`unavailable_account`]'s page, or 404.
async fn unavailable_or_not_found(state: &AppState, name: &str) -> WebError {
    match unavailable_account(state, name).await {
        Ok(Some(e)) | Err(e) => e,
        Ok(None) => WebError::not_found(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ProfileQuery {
    /// `replies` (posts and replies) or `media` (a grid); else posts without replies.
    #[serde(default)]
    tab: String,
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
}

/// A profile: the account, its pinned posts, then its posts (or posts and replies, or
/// its media as a grid), with follow, mute and block for a signed-in person.
async fn profile(state: &AppState, visitor: &Visitor, name: &str, p: &Params) -> WebResult {
    let q: ProfileQuery = p.parse().unwrap_or_default();
    let viewer = visitor.account_id();
    let Some(account) = state.engine.account_by_acct(name).await? else {
        return Err(unavailable_or_not_found(state, name).await);
    };
    // Visitors see this server's people; a signed-in person anyone it knows.
    if !account.is_local() && viewer.is_none() {
        return Err(WebError::not_found());
    }
    let entity = state.engine.account_entity(&account);
    let tab = match q.tab.as_str() {
        "replies" | "media" => q.tab.as_str(),
        _ => "posts",
    };
    let ask = AccountPosts {
        exclude_replies: tab == "posts",
        only_media: tab == "media",
        ..Default::default()
    };
    let page = Page {
        max_id: q.max_id,
        limit: PAGE_POSTS,
        ..Default::default()
    };
    let out = state
        .engine
        .account_timeline(viewer, account.id, ask, page)
        .await?;
    let pinned = if tab == "posts" && q.max_id.is_none() {
        let ask = AccountPosts {
            pinned: true,
            ..Default::default()
        };
        let page = Page {
            limit: PAGE_POSTS,
            ..Default::default()
        };
        state
            .engine
            .account_timeline(viewer, account.id, ask, page)
            .await?
            .statuses
    } else {
        Vec::new()
    };
    let relationship = match viewer {
        Some(me) if me != account.id => Some(state.engine.relationship(me, account.id).await?),
        _ => None,
    };
    let path = format!("/@{}", entity.acct);
    let next = (out.cursors.len() as i64 >= PAGE_POSTS)
        .then(|| {
            out.cursors
                .last()
                .map(|id| format!("{path}?tab={tab}&max_id={id}"))
        })
        .flatten();
    Ok(page_with(
        state,
        visitor,
        "profile.html",
        context! {
            account => super::val(&entity),
            statuses => super::val(&out.statuses),
            pinned => super::val(&pinned),
            relationship => relationship.map(|r| super::val(&r)),
            local => account.is_local(),
            note_text => sluice_model::content::html_to_plain(&account.note).chars().take(160).collect::<String>(),
            tab,
            path,
            next,
        },
    )
    .await)
}

/// `GET /@name/{id}`: a post with its whole thread, as a tree (Feather's): the posts
/// it replies to above it, every reply below, each nested under the post it answers,
/// in branches that fold. Visitors see public and unlisted posts of this server;
/// a signed-in person sees what the API would show them, remote posts included (at
/// `/@name@domain/{id}`).
pub(super) async fn status_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((handle, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let Some(name) = handle.strip_prefix('@') else {
        return Err(WebError::not_found());
    };
    if activitypub::wants_activity_json(&headers) {
        return Ok(activitypub::status_json(&state, name, &id)
            .await
            .unwrap_or_else(IntoResponse::into_response));
    }
    // The posts of a local account not served answer as its profile does.
    if let Some(e) = unavailable_account(&state, name).await? {
        return Err(e);
    }
    let id = sluice_model::id::parse_id(&id).ok_or_else(WebError::not_found)?;
    let viewer = visitor.account_id();
    let row = state
        .engine
        .visible_status(viewer, id)
        .await
        .map_err(|_| WebError::not_found())?;
    if row.reblog_of_id.is_some() {
        return Err(WebError::not_found());
    }
    let entity = state.engine.status_entity(viewer, row).await?;
    let local = !entity.account.acct.contains('@');
    if !entity.account.acct.eq_ignore_ascii_case(name) || (viewer.is_none() && !local) {
        return Err(WebError::not_found());
    }
    let context = state.engine.thread_context(viewer, id).await?;
    let summary: String = sluice_model::content::html_to_plain(&entity.content)
        .chars()
        .take(80)
        .collect();
    let replies = thread_tree(&entity.id, context.descendants);
    Ok(page_with(
        &state,
        &visitor,
        "status.html",
        context! {
            s => super::val(&entity),
            account => super::val(&entity.account),
            ancestors => super::val(&context.ancestors),
            replies => super::val(&replies),
            summary,
        },
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct TagQuery {
    /// `media`: a grid of the posts' media; else the posts.
    #[serde(default)]
    view: String,
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
}

/// `GET /tags/{name}`: posts with a hashtag, as a list or as a grid of their media
/// (and `/tags/{name}.rss`, `.atom`). Visitors see this server's public posts; a
/// signed-in person every public post the server knows.
pub(super) async fn tag(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(tag): Path<String>,
    p: Params,
) -> WebResult {
    for (suffix, kind) in [(".rss", feeds::Kind::Rss), (".atom", feeds::Kind::Atom)] {
        if let Some(t) = tag.strip_suffix(suffix) {
            return feeds::tag_feed(&state, t, kind).await;
        }
    }
    let q: TagQuery = p.parse().unwrap_or_default();
    let name = tag.trim_start_matches('#').to_lowercase();
    if name.is_empty() || name.chars().any(|c| !(c.is_alphanumeric() || c == '_')) {
        return Err(WebError::not_found());
    }
    let media = q.view == "media";
    let viewer = visitor.account_id();
    let page = Page {
        max_id: q.max_id,
        limit: PAGE_POSTS,
        ..Default::default()
    };
    let resume = super::stream_head(&state);
    let out = state
        .engine
        .tag_timeline(&name, viewer, viewer.is_none(), media, page)
        .await?;
    let path = format!("/tags/{name}");
    let view = if media { "media" } else { "list" };
    let next = (out.cursors.len() as i64 >= PAGE_POSTS)
        .then(|| {
            out.cursors
                .last()
                .map(|id| format!("{path}?view={view}&max_id={id}"))
        })
        .flatten();
    Ok(page_with(
        &state,
        &visitor,
        "tag.html",
        context! {
            tag => name,
            view,
            resume,
            statuses => super::val(&out.statuses),
            path,
            next,
        },
    )
    .await)
}

/// Replies nested deeper than this are shown at this depth (under the reply that
/// reached it): a long back-and-forth stays readable on a phone.
const MAX_TREE_DEPTH: usize = 10;

/// A reply and the replies to it.
#[derive(Debug, serde::Serialize)]
struct Node<T> {
    s: T,
    children: Vec<Node<T>>,
    /// Replies under this one, at every depth (said on a folded branch).
    total: usize,
}

/// What the tree needs of a post.
trait Reply {
    fn id(&self) -> &str;
    fn parent(&self) -> Option<&str>;
}

impl Reply for sluice_model::api::Status {
    fn id(&self) -> &str {
        &self.id
    }
    fn parent(&self) -> Option<&str> {
        self.in_reply_to_id.as_deref()
    }
}

/// Nests `descendants` (depth first, as the engine lists them) under the post `root`
/// by the post each replies to. A reply whose parent is hidden from the viewer is
/// shown under the root.
fn thread_tree<T: Reply>(root: &str, descendants: Vec<T>) -> Vec<Node<T>> {
    use std::collections::{HashMap, HashSet};
    let ids: HashSet<String> = descendants.iter().map(|s| s.id().to_string()).collect();
    let mut children: HashMap<String, Vec<T>> = HashMap::new();
    for s in descendants {
        let parent = s
            .parent()
            .filter(|p| ids.contains(*p))
            .unwrap_or(root)
            .to_string();
        children.entry(parent).or_default().push(s);
    }
    build(root, 0, &mut children)
}

fn build<T: Reply>(
    id: &str,
    depth: usize,
    children: &mut std::collections::HashMap<String, Vec<T>>,
) -> Vec<Node<T>> {
    let Some(kids) = children.remove(id) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(kids.len());
    for s in kids {
        let nested = build(s.id(), depth + 1, children);
        if depth + 1 >= MAX_TREE_DEPTH {
            // The deeper replies follow this one at its own depth.
            out.push(leaf(s));
            out.extend(nested.into_iter().flat_map(flatten));
            continue;
        }
        let total = nested.iter().map(|n| n.total + 1).sum();
        out.push(Node {
            s,
            children: nested,
            total,
        });
    }
    out
}

fn leaf<T>(s: T) -> Node<T> {
    Node {
        s,
        children: Vec::new(),
        total: 0,
    }
}

fn flatten<T>(n: Node<T>) -> Vec<Node<T>> {
    let mut out = vec![leaf(n.s)];
    for c in n.children {
        out.extend(flatten(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(String, Option<String>);
    impl Reply for R {
        fn id(&self) -> &str {
            &self.0
        }
        fn parent(&self) -> Option<&str> {
            self.1.as_deref()
        }
    }
    fn status(id: &str, parent: Option<&str>) -> R {
        R(id.into(), parent.map(str::to_string))
    }

    #[test]
    fn replies_nest_under_what_they_answer() {
        // 1 <- 2 <- 3, 1 <- 4; 6 answers 5, which the viewer cannot see.
        let list = vec![
            status("2", Some("1")),
            status("3", Some("2")),
            status("4", Some("1")),
            status("6", Some("5")),
        ];
        let t = thread_tree("1", list);
        let top: Vec<&str> = t.iter().map(|n| n.s.0.as_str()).collect();
        assert_eq!(top, ["2", "4", "6"]);
        assert_eq!(t[0].children[0].s.0, "3");
        assert_eq!(t[0].total, 1);
        assert!(t[1].children.is_empty());
    }

    #[test]
    fn deep_chains_stop_nesting() {
        let mut list = Vec::new();
        for i in 2..40 {
            list.push(status(&i.to_string(), Some(&(i - 1).to_string())));
        }
        let t = thread_tree("1", list);
        let mut depth = 0;
        let mut level = &t;
        while let Some(n) = level.first() {
            depth += 1;
            level = &n.children;
        }
        assert_eq!(depth, MAX_TREE_DEPTH);
        // Every reply is still shown once.
        fn count(n: &[Node<R>]) -> usize {
            n.iter().map(|n| 1 + count(&n.children)).sum()
        }
        assert_eq!(count(&t), 38);
    }
}
