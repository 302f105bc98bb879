//! Quote posts as Mastodon 4.5 makes them: who may quote a post (its policy), the
//! check when a post quotes another, the `quote` and `quote_approval` of the Status
//! entity, the quotes of a post, revoking one, and the `quote`/`quoted_update`
//! notifications. Rows: `status_quotes` (store `quotes.rs`, migration 0024).
//!
//! As Mastodon: a quote of a local post is accepted at once when the policy allows it
//! (there is no approval by hand) and refused (404) when it does not; a quote of a
//! remote post is `pending` until that post's server answers.

use std::collections::{HashMap, HashSet};

use sluice_model::{Id, Visibility, api};
use sluice_store::{AccountRow, NewQuote, StatusRow, StatusView, WriteTx};

use crate::effects::Changes;
use crate::{Engine, EngineError, Result};

/// Who may quote a post (`quote_approval_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotePolicy {
    /// Anyone (but those the author blocks).
    Public,
    /// The author's followers.
    Followers,
    /// Only the author.
    Nobody,
}

impl QuotePolicy {
    pub fn parse(s: &str) -> Option<QuotePolicy> {
        match s {
            "public" => Some(QuotePolicy::Public),
            "followers" => Some(QuotePolicy::Followers),
            "nobody" => Some(QuotePolicy::Nobody),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuotePolicy::Public => "public",
            QuotePolicy::Followers => "followers",
            QuotePolicy::Nobody => "nobody",
        }
    }

    /// The policy a post of `visibility` gets: followers-only posts and private
    /// mentions are quotable by their author alone, as on Mastodon.
    pub fn for_visibility(self, visibility: Visibility) -> QuotePolicy {
        if visibility.is_public_or_unlisted() {
            self
        } else {
            QuotePolicy::Nobody
        }
    }
}

/// A quote checked for a new post: what it quotes and in which state it starts.
#[derive(Debug, Clone)]
pub struct QuoteDraft {
    pub quoted: StatusRow,
    pub quoted_author: AccountRow,
    /// `accepted` (a local post whose policy allows it) or `pending` (a remote one).
    pub state: &'static str,
}

/// The most quotes of one post told of its edit (`quoted_update`), per edit.
pub const MAX_QUOTED_UPDATE_NOTIFICATIONS: i64 = 200;

/// What rendering a page needs for its quotes (see [`Engine::quote_context`]).
#[derive(Default)]
pub(crate) struct QuoteContext {
    /// Quoted statuses the viewer may see, rendered (one level deep).
    shown: HashMap<Id, api::Status>,
    /// Quoted statuses that still exist.
    existing: HashSet<Id>,
    /// Authors of the page the viewer follows (for `followers` policies).
    followed: HashSet<Id>,
    /// Rendering the quoted statuses themselves: their quotes are shallow.
    nested: bool,
    /// Quoted statuses whose author the viewer blocks, mutes or whose domain they
    /// block: the state Mastodon shows instead of `accepted`.
    filtered: HashMap<Id, &'static str>,
}

impl Engine {
    /// Checks that `actor` may quote status `id` in a post of `visibility`: the post
    /// must be one they may see, not a private mention nor a reblog, and its policy
    /// must let them (404 otherwise, as Mastodon, which does not tell the two apart).
    /// Returns the quote and the visibility the new post gets (a quote of a
    /// followers-only post is at most followers-only).
    pub(crate) async fn draft_quote(
        &self,
        actor: &AccountRow,
        id: Id,
        visibility: Visibility,
    ) -> Result<(QuoteDraft, Visibility)> {
        let quoted = self.visible_status(Some(actor.id), id).await?;
        let quoted_vis = Visibility::parse(&quoted.visibility).unwrap_or(Visibility::Direct);
        if quoted.reblog_of_id.is_some() || quoted_vis == Visibility::Direct {
            return Err(EngineError::NotFound);
        }
        let quoted_author = self
            .store
            .account(quoted.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let own = quoted.account_id == actor.id;
        let policy = self
            .store
            .quote_row(quoted.id)
            .await?
            .and_then(|r| r.policy)
            .and_then(|p| QuotePolicy::parse(&p));
        let allowed = own
            || match policy {
                Some(QuotePolicy::Public) => true,
                Some(QuotePolicy::Followers) => self.follows(actor.id, quoted.account_id).await?,
                Some(QuotePolicy::Nobody) => false,
                // A remote post that says nothing: its server decides (pending).
                None => !quoted.local,
            };
        if !allowed || (quoted_vis == Visibility::Private && !own) {
            return Err(EngineError::NotFound);
        }
        let visibility = if quoted_vis == Visibility::Private && visibility.is_public_or_unlisted()
        {
            Visibility::Private
        } else {
            visibility
        };
        let state = if quoted.local { "accepted" } else { "pending" };
        Ok((
            QuoteDraft {
                quoted,
                quoted_author,
                state,
            },
            visibility,
        ))
    }

    /// The id of the authorization stamp a local author's post gives a quote of it.
    pub fn quote_authorization_uri(&self, quoted_author: &AccountRow, quoting: Id) -> String {
        format!(
            "{}/quote_authorizations/{quoting}",
            self.urls.actor(&quoted_author.username)
        )
    }

    /// Stores a new local post's quote policy and quote, and tells the quoted author.
    pub(crate) async fn store_quote(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        status: &StatusRow,
        policy: QuotePolicy,
        quote: Option<&QuoteDraft>,
        now: i64,
    ) -> Result<()> {
        let new = quote.map(|q| NewQuote {
            quoted_status_id: Some(q.quoted.id),
            quoted_uri: q.quoted.uri.clone(),
            state: q.state.into(),
            authorization_uri: (q.state == "accepted" && q.quoted_author.is_local())
                .then(|| self.quote_authorization_uri(&q.quoted_author, status.id)),
            request_uri: (!q.quoted_author.is_local())
                .then(|| crate::quote_requests::request_uri(&status.uri)),
        });
        tx.insert_quote_row(status.id, Some(policy.as_str()), new.as_ref(), now)
            .await?;
        if let Some(q) = quote
            && q.state == "accepted"
        {
            changes.events(
                self.notify_author(
                    tx,
                    &q.quoted_author,
                    status.account_id,
                    "quote",
                    status.id,
                    now,
                )
                .await?,
            );
        }
        Ok(())
    }

    /// `quoted_update`: the local authors of accepted quotes of an edited post.
    pub(crate) async fn notify_quoted_update(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        editor: Id,
        status: Id,
        now: i64,
    ) -> Result<()> {
        let quoting = self
            .store
            .local_quoting(status, MAX_QUOTED_UPDATE_NOTIFICATIONS)
            .await?;
        let ids: Vec<Id> = quoting.iter().map(|q| q.account_id).collect();
        let local: HashSet<Id> = self
            .cached_accounts(&ids)
            .await?
            .into_iter()
            .filter(|a| a.is_local())
            .map(|a| a.id)
            .collect();
        for q in quoting {
            if q.account_id != editor && local.contains(&q.account_id) {
                changes.events(
                    self.notify(
                        tx,
                        q.account_id,
                        editor,
                        "quoted_update",
                        Some(q.status_id),
                        now,
                    )
                    .await?,
                );
            }
        }
        Ok(())
    }

    /// Changes who may quote one of `actor`'s posts
    /// (`PUT /api/v1/statuses/:id/interaction_policy`), and sends its Note again
    /// (`Update`) with the new `interactionPolicy` to its audience.
    pub async fn set_quote_policy(
        &self,
        actor: Id,
        status: Id,
        policy: QuotePolicy,
    ) -> Result<StatusRow> {
        let s = self.status_row(status).await?;
        if s.account_id != actor || s.reblog_of_id.is_some() {
            return Err(EngineError::NotFound);
        }
        let author = self.account_row(actor).await?;
        let vis = Visibility::parse(&s.visibility).unwrap_or(Visibility::Direct);
        let policy = policy.for_visibility(vis);
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.set_quote_policy(s.id, policy.as_str(), now).await?;
        if s.local {
            self.send_note_update(&mut tx, &author, &s, now, |note| {
                crate::as2::apply_quote(note, &author, policy, None);
            })
            .await?;
        }
        let mut changes = Changes::at(now);
        changes.events([self.poll_changed(&s, &author).await?]);
        self.commit(tx, changes).await?;
        Ok(s)
    }

    /// Revokes the quote `quoting` makes of `actor`'s post `quoted`
    /// (`POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`): 404 when there
    /// is no such quote, 403 when the post is not theirs. Returns the quoting post.
    pub async fn revoke_quote(&self, actor: Id, quoted: Id, quoting: Id) -> Result<StatusRow> {
        let q = self.visible_status(Some(actor), quoted).await?;
        if q.account_id != actor {
            return Err(EngineError::forbidden("This action is not allowed"));
        }
        let row = self
            .store
            .quote_row(quoting)
            .await?
            .filter(|r| r.quoted_status_id == Some(quoted))
            .ok_or(EngineError::NotFound)?;
        let s = self.status_row(row.status_id).await?;
        let author = self.account_row(actor).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let was = tx
            .change_quote_state(quoting, &["accepted", "pending"], "revoked", None, now)
            .await?;
        // Our stamp is withdrawn: its Delete goes to the quoting post's server and to
        // the quoted author's followers (as Mastodon sends it).
        if let Some(stamp) = was
            .and_then(|r| r.authorization_uri)
            .filter(|a| *a == self.quote_authorization_uri(&author, quoting))
        {
            self.queue_stamp_delete(&mut tx, &author, &s, &stamp, now)
                .await?;
        }
        let mut changes = Changes::at(now);
        if let Some(quoting_author) = self.store.account(s.account_id).await? {
            changes.events([self.poll_changed(&s, &quoting_author).await?]);
        }
        self.commit(tx, changes).await?;
        Ok(s)
    }

    /// The quotes of `actor`'s post `status`, accepted ones, paged by the quoting
    /// post's id (`GET /api/v1/statuses/:id/quotes`: its author only, 403 for others).
    pub async fn quotes_of(
        &self,
        actor: Id,
        status: Id,
        page: sluice_store::Page,
    ) -> Result<crate::read::StatusPage> {
        let s = self.visible_status(Some(actor), status).await?;
        if s.account_id != actor {
            return Err(EngineError::forbidden("This action is not allowed"));
        }
        let listed = self.store.quotes_of(s.id, &["accepted"], page).await?;
        let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
        let views = self.store.status_views(Some(actor), &ids).await?;
        let rows: Vec<&StatusRow> = views.iter().map(|v| &v.status).collect();
        let visible = self.visible_ids(Some(actor), &rows).await?;
        let order: Vec<Id> = ids.into_iter().filter(|i| visible.contains(i)).collect();
        let statuses = self.render_views(Some(actor), &order, views).await?;
        Ok(crate::read::StatusPage {
            statuses,
            cursors: listed.iter().map(|l| l.rel_id).collect(),
        })
    }

    /// What rendering `views` needs for their quotes: the quoted statuses the viewer
    /// may see (one more round trip, only when the page has quotes), and whom among
    /// the authors the viewer follows (only when a post is quotable by followers).
    pub(crate) async fn quote_context(
        &self,
        viewer: Option<Id>,
        views: &[StatusView],
        nested: bool,
    ) -> Result<QuoteContext> {
        let mut ctx = QuoteContext {
            nested,
            ..Default::default()
        };
        if let Some(me) = viewer {
            let mut authors: Vec<Id> = views
                .iter()
                .filter(|v| v.quote_policy.as_deref() == Some("followers"))
                .map(|v| v.status.account_id)
                .filter(|a| *a != me)
                .collect();
            authors.sort_unstable();
            authors.dedup();
            if !authors.is_empty() {
                ctx.followed = self
                    .store
                    .relationships(me, &authors)
                    .await?
                    .into_iter()
                    .filter(|r| r.following)
                    .map(|r| r.target)
                    .collect();
            }
        }
        if nested {
            return Ok(ctx);
        }
        let mut ids: Vec<Id> = views
            .iter()
            .filter(|v| v.quote_state.as_deref() == Some("accepted"))
            .filter_map(|v| v.quoted_status_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(ctx);
        }
        let quoted = self.store.status_views(viewer, &ids).await?;
        ctx.existing = quoted.iter().map(|v| v.status.id).collect();
        if let Some(me) = viewer {
            ctx.filtered = self.quote_filter_states(me, &quoted).await?;
        }
        let rows: Vec<&StatusRow> = quoted.iter().map(|v| &v.status).collect();
        let visible = self.visible_ids(viewer, &rows).await?;
        let order: Vec<Id> = ids.into_iter().filter(|i| visible.contains(i)).collect();
        let rendered = Box::pin(self.render_views_at(viewer, &order, quoted, true)).await?;
        ctx.shown = rendered
            .into_iter()
            .filter_map(|s| s.id.parse().ok().map(|id: Id| (id, s)))
            .collect();
        Ok(ctx)
    }

    /// The state an accepted quote of each of `quoted` shows `me` when they block its
    /// author's domain (`blocked_domain`), block its author (`blocked_account`) or mute
    /// them (`muted_account`), in that order, as Mastodon's `StatusFilter`: one batched
    /// relationship query for the authors.
    async fn quote_filter_states(
        &self,
        me: Id,
        quoted: &[StatusView],
    ) -> Result<HashMap<Id, &'static str>> {
        let mut authors: Vec<Id> = quoted
            .iter()
            .map(|v| v.status.account_id)
            .filter(|a| *a != me)
            .collect();
        authors.sort_unstable();
        authors.dedup();
        if authors.is_empty() {
            return Ok(HashMap::new());
        }
        let states: HashMap<Id, &'static str> = self
            .store
            .relationships(me, &authors)
            .await?
            .into_iter()
            .filter_map(|r| {
                let state = if r.domain_blocking {
                    "blocked_domain"
                } else if r.blocking {
                    "blocked_account"
                } else if r.muting {
                    "muted_account"
                } else {
                    return None;
                };
                Some((r.target, state))
            })
            .collect();
        Ok(quoted
            .iter()
            .filter_map(|v| states.get(&v.status.account_id).map(|s| (v.status.id, *s)))
            .collect())
    }

    /// The `quote` of a status: None when it quotes nothing.
    pub(crate) fn quote_entity(&self, ctx: &QuoteContext, v: &StatusView) -> Option<api::Quote> {
        let stored = v.quote_state.as_deref()?;
        let gone = |id: Id| ctx.nested || !ctx.existing.contains(&id);
        if ctx.nested {
            let accepted = stored == "accepted";
            return Some(api::Quote::Shallow {
                state: stored.to_string(),
                quoted_status_id: v
                    .quoted_status_id
                    .filter(|_| accepted)
                    .map(|i| i.to_string()),
            });
        }
        let (state, shown) = match (stored, v.quoted_status_id) {
            ("accepted", None) => ("deleted", None),
            ("accepted", Some(id)) if ctx.filtered.contains_key(&id) => (
                ctx.filtered[&id],
                ctx.shown.get(&id).map(|s| Box::new(s.clone())),
            ),
            ("accepted", Some(id)) => match ctx.shown.get(&id) {
                Some(s) => ("accepted", Some(Box::new(s.clone()))),
                None if gone(id) => ("deleted", None),
                None => ("unauthorized", None),
            },
            (other, _) => (other, None),
        };
        Some(api::Quote::Full {
            state: state.to_string(),
            quoted_status: shown,
        })
    }

    /// The `quote_approval` of a status for the viewer.
    pub(crate) fn quote_approval(
        &self,
        ctx: &QuoteContext,
        viewer: Option<Id>,
        v: &StatusView,
    ) -> api::QuoteApproval {
        let s = &v.status;
        let policy = v.quote_policy.as_deref().and_then(QuotePolicy::parse);
        let automatic: Vec<String> = match policy {
            Some(QuotePolicy::Public) => vec!["public".into()],
            Some(QuotePolicy::Followers) => vec!["followers".into()],
            _ => vec![],
        };
        let direct = s.visibility == "direct";
        let current_user = match viewer {
            _ if s.reblog_of_id.is_some() || direct && viewer != Some(s.account_id) => "denied",
            Some(me) if me == s.account_id => {
                if direct {
                    "denied"
                } else {
                    "automatic"
                }
            }
            None => "unknown",
            Some(_) => match policy {
                Some(QuotePolicy::Public) => "automatic",
                Some(QuotePolicy::Followers) if ctx.followed.contains(&s.account_id) => "automatic",
                // A remote post that says nothing of quotes: its server decides.
                None if !s.local => "unknown",
                _ => "denied",
            },
        };
        api::QuoteApproval {
            automatic,
            manual: vec![],
            current_user: current_user.into(),
        }
    }
}

impl Engine {
    /// Stores a new remote post's quote policy and quote. The quote is accepted when
    /// it quotes its own author's post or carries a checked authorization stamp;
    /// otherwise it is `pending`, as Mastodon keeps quotes made the older ways
    /// (`quoteUri`, `_misskey_quote`) without a stamp: not shown, the text's own link
    /// to the quoted post stays.
    pub(crate) async fn store_remote_quote(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        actor: &AccountRow,
        status: &StatusRow,
        n: &crate::remote::RemoteNote,
        now: i64,
    ) -> Result<()> {
        if n.quote.is_none() && n.quote_policy.is_none() {
            return Ok(());
        }
        let quote = match &n.quote {
            Some(uri) => {
                let quoted = self.store.status_by_uri(uri).await?;
                let own = quoted.as_ref().is_some_and(|q| q.account_id == actor.id);
                let accepted = quoted.is_some() && (own || n.quote_authorization.is_some());
                Some((
                    quoted,
                    NewQuote {
                        quoted_status_id: None,
                        quoted_uri: uri.clone(),
                        state: if accepted { "accepted" } else { "pending" }.into(),
                        authorization_uri: n.quote_authorization.clone().filter(|_| accepted),
                        request_uri: None,
                    },
                ))
            }
            None => None,
        };
        let new = quote.as_ref().map(|(q, new)| NewQuote {
            quoted_status_id: q.as_ref().map(|q| q.id),
            ..new.clone()
        });
        tx.insert_quote_row(status.id, n.quote_policy.as_deref(), new.as_ref(), now)
            .await?;
        if let Some((Some(quoted), new)) = &quote
            && new.state == "accepted"
            && let Some(author) = self.store.account(quoted.account_id).await?
        {
            changes.events(
                self.notify_author(tx, &author, actor.id, "quote", status.id, now)
                    .await?,
            );
        }
        Ok(())
    }
}

impl Engine {
    /// Whether `stamp`, one of our QuoteAuthorization ids, accepts the quote of
    /// `quoted` by the post `quoting` (by its id): we gave it and did not revoke it.
    pub async fn quote_stamp_valid(&self, stamp: &str, quoting: &str, quoted: Id) -> Result<bool> {
        let Some(row) = self.store.quote_by_authorization(stamp).await? else {
            return Ok(false);
        };
        let Some(s) = self.store.status(row.status_id).await? else {
            return Ok(false);
        };
        Ok(s.uri == quoting
            && row.quoted_status_id == Some(quoted)
            && row.quote_state.as_deref() == Some("accepted"))
    }

    /// Our QuoteAuthorization stamp for the quote `quoting` (a status id) of a post of
    /// `username`'s, as served at its id: None when there is none (never given,
    /// revoked, or not theirs). It names the two posts by their ids only.
    pub async fn quote_authorization_document(
        &self,
        username: &str,
        quoting: Id,
    ) -> Result<Option<serde_json::Value>> {
        let Some(row) = self.store.quote_row(quoting).await? else {
            return Ok(None);
        };
        let (Some(auth), Some(quoted_id)) =
            (row.authorization_uri.as_deref(), row.quoted_status_id)
        else {
            return Ok(None);
        };
        if row.quote_state.as_deref() != Some("accepted") {
            return Ok(None);
        }
        let (Some(quoting_s), Some(quoted)) = (
            self.store.status(quoting).await?,
            self.store.status(quoted_id).await?,
        ) else {
            return Ok(None);
        };
        let Some(author) = self.store.account(quoted.account_id).await? else {
            return Ok(None);
        };
        if !author.is_local()
            || author.username != username
            || auth != self.quote_authorization_uri(&author, quoting)
        {
            return Ok(None);
        }
        Ok(Some(crate::as2::quote_authorization(
            auth,
            &author.uri,
            &quoting_s.uri,
            &quoted.uri,
        )))
    }
}

/// The policy a remote post's `canQuote.automaticApproval` says, as Mastodon reads
/// it: the public, else the author's followers, else nobody but the author.
pub fn remote_quote_policy(automatic: &[String], followers_url: &str) -> &'static str {
    if automatic
        .iter()
        .any(|i| sluice_model::visibility::is_public_iri(i))
    {
        "public"
    } else if !followers_url.is_empty() && automatic.iter().any(|i| i == followers_url) {
        "followers"
    } else {
        "nobody"
    }
}

/// The fallback Mastodon puts before a quote's text for servers that do not show
/// quotes: `RE: <link>`, unless the text links to the quoted post already.
pub fn quote_inline_html(html: &str, quoted: &StatusRow) -> String {
    if html.contains(&quoted.url) || html.contains(&quoted.uri) {
        return html.to_string();
    }
    let link = sluice_model::content::escape_html(&quoted.url);
    format!("<p class=\"quote-inline\">RE: <a href=\"{link}\">{link}</a></p>{html}")
}
