//! Stored rows to Mastodon API entities — the one place each conversion lives.
//!
//! Rendering is batched: a page of statuses is one query (the store's `StatusView`s:
//! rows, the statuses they reblog, the viewer's flags, mentions and tags), and accounts
//! and applications come from the engine's caches; never one query per status.

use std::collections::{HashMap, HashSet};

use sluice_model::{Id, Timestamp, api};
use sluice_store::{AccountRow, NotificationRow, RelationRow, StatusRow, StatusView, UserRow};

use crate::emojis::EmojiMap;
use crate::{Engine, Result};

impl Engine {
    /// An account's profile fields as shown: `name` plain text, `value` HTML. A local
    /// account's fields are stored as typed (they are also its `source.fields`) and
    /// rendered here (escaped, links made clickable), so what any version stored is
    /// shown safely; a remote account's were made so when stored (names plain text,
    /// values sanitized).
    pub fn profile_fields(&self, a: &AccountRow) -> Vec<api::Field> {
        let mut fields: Vec<api::Field> = serde_json::from_str(&a.fields).unwrap_or_default();
        if a.is_local() {
            for f in &mut fields {
                f.value = sluice_model::content::field_value_html(&f.value, &|t| self.urls.tag(t));
            }
        }
        fields
    }

    /// An account as everyone sees it, with the custom emojis of its name and bio
    /// (looked up by [`Engine::emojis_for`]).
    pub fn account_entity_with(&self, a: &AccountRow, emojis: &EmojiMap) -> api::Account {
        let mut e = self.account_entity(a);
        if a.suspended_at.is_some() {
            return e;
        }
        e.emojis = self.emoji_entities_in(
            emojis,
            &a.domain,
            &[a.display_name.as_str(), a.note.as_str()],
        );
        e
    }

    /// One account with its custom emojis (one lookup).
    pub async fn account_entity_full(&self, a: &AccountRow) -> Result<api::Account> {
        let emojis = self
            .emojis_for([
                (a.domain.as_str(), a.display_name.as_str()),
                (a.domain.as_str(), a.note.as_str()),
            ])
            .await?;
        let mut e = self.account_entity_with(a, &emojis);
        // The account it moved to, one level deep (as Mastodon nests it).
        if let Some(to) = a.moved_to_account_id
            && a.suspended_at.is_none()
            && let Some(target) = self.store.account(to).await?
        {
            e.moved = Some(Box::new(self.account_entity(&target)));
        }
        Ok(e)
    }

    /// An account as everyone sees it, without its custom emojis. A suspended one
    /// says so (`suspended`) and shows nothing of its profile, as Mastodon's.
    pub fn account_entity(&self, a: &AccountRow) -> api::Account {
        if a.suspended_at.is_some() {
            return self.suspended_account_entity(a);
        }
        let fields = self.profile_fields(a);
        let avatar = if a.avatar_url.is_empty() {
            self.urls.default_avatar()
        } else {
            a.avatar_url.clone()
        };
        let header = if a.header_url.is_empty() {
            self.urls.default_header()
        } else {
            a.header_url.clone()
        };
        api::Account {
            id: a.id.to_string(),
            username: a.username.clone(),
            acct: a.acct(),
            display_name: a.display_name.clone(),
            locked: a.locked,
            bot: a.bot,
            discoverable: a.discoverable,
            indexable: a.indexable,
            group: false,
            created_at: Timestamp(a.created_at).to_day_rfc3339(),
            note: a.note.clone(),
            url: a.url.clone(),
            uri: a.uri.clone(),
            avatar: avatar.clone(),
            avatar_static: avatar,
            header: header.clone(),
            header_static: header,
            followers_count: a.followers_count,
            following_count: a.following_count,
            statuses_count: a.statuses_count,
            last_status_at: a.last_status_at.map(|t| Timestamp(t).to_date()),
            hide_collections: a.hide_collections,
            noindex: false,
            emojis: vec![],
            roles: vec![],
            fields,
            source: None,
            role: None,
            moved: None,
            suspended: None,
        }
    }

    /// A suspended account: who it is, its counts, and `suspended`; its name, bio,
    /// fields and images blanked (Mastodon's serializer for an unavailable account).
    fn suspended_account_entity(&self, a: &AccountRow) -> api::Account {
        let blank = AccountRow {
            display_name: String::new(),
            note: String::new(),
            fields: "[]".into(),
            avatar_url: String::new(),
            header_url: String::new(),
            locked: false,
            bot: false,
            discoverable: false,
            indexable: false,
            suspended_at: None,
            ..a.clone()
        };
        api::Account {
            suspended: Some(true),
            ..self.account_entity(&blank)
        }
    }

    /// The signed-in user's own account, with `source` and `role`
    /// (`verify_credentials`, `update_credentials`).
    pub async fn credential_account(&self, a: &AccountRow, u: &UserRow) -> Result<api::Account> {
        let mut e = self.account_entity_full(a).await?;
        let fields: Vec<api::Field> = serde_json::from_str(&a.fields).unwrap_or_default();
        e.source = Some(api::AccountSource {
            privacy: u.default_visibility.clone(),
            sensitive: u.default_sensitive,
            language: u.default_language.clone(),
            note: a.note_source.clone(),
            fields,
            follow_requests_count: self.store.count_follow_requests(a.id).await?,
            hide_collections: a.hide_collections,
            discoverable: a.discoverable,
            indexable: a.indexable,
            attribution_domains: vec![],
            quote_policy: u
                .default_quote_policy
                .clone()
                .unwrap_or_else(|| "public".into()),
        });
        e.role = Some(
            crate::moderation::Role::parse(&u.role)
                .unwrap_or(crate::moderation::Role::User)
                .entity(),
        );
        Ok(e)
    }

    /// The entities of accounts already read, in their order, with their custom emoji
    /// (one lookup for all).
    pub async fn account_entities_of(&self, rows: &[AccountRow]) -> Result<Vec<api::Account>> {
        let emojis = self
            .emojis_for(rows.iter().flat_map(|a| {
                [
                    (a.domain.as_str(), a.display_name.as_str()),
                    (a.domain.as_str(), a.note.as_str()),
                ]
            }))
            .await?;
        Ok(rows
            .iter()
            .map(|a| self.account_entity_with(a, &emojis))
            .collect())
    }

    /// Accounts by id, in the order given, skipping missing ones.
    pub async fn account_entities(&self, ids: &[Id]) -> Result<Vec<api::Account>> {
        let rows = self.cached_accounts(ids).await?;
        let by_id: HashMap<Id, &AccountRow> = rows.iter().map(|a| (a.id, a)).collect();
        let emojis = self
            .emojis_for(rows.iter().flat_map(|a| {
                [
                    (a.domain.as_str(), a.display_name.as_str()),
                    (a.domain.as_str(), a.note.as_str()),
                ]
            }))
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| by_id.get(id))
            .map(|a| self.account_entity_with(a, &emojis))
            .collect())
    }

    pub fn relationship_entity(&self, r: &RelationRow) -> api::Relationship {
        api::Relationship {
            id: r.target.to_string(),
            following: r.following,
            showing_reblogs: r.following && r.showing_reblogs,
            notifying: r.notifying,
            languages: None,
            followed_by: r.followed_by,
            blocking: r.blocking,
            blocked_by: r.blocked_by,
            muting: r.muting,
            muting_notifications: r.muting && r.muting_notifications,
            mute_expires_at: r
                .muting_expires_at
                .filter(|_| r.muting)
                .map(|ms| Timestamp(ms).to_rfc3339()),
            requested: r.requested,
            requested_by: r.requested_by,
            domain_blocking: r.domain_blocking,
            endorsed: r.endorsed,
            note: r.note.clone(),
        }
    }

    pub async fn relationship(&self, me: Id, target: Id) -> Result<api::Relationship> {
        let rows = self.store.relationships(me, &[target]).await?;
        Ok(rows
            .first()
            .map(|r| self.relationship_entity(r))
            .unwrap_or_else(|| api::Relationship {
                id: target.to_string(),
                ..Default::default()
            }))
    }

    pub async fn status_entity(&self, viewer: Option<Id>, s: StatusRow) -> Result<api::Status> {
        let mut v = self.status_entities(viewer, vec![s]).await?;
        v.pop().ok_or(crate::EngineError::NotFound)
    }

    /// Renders statuses for a viewer (None: anonymous), keeping their order. A row that
    /// is gone from the database (a status just deleted) is rendered as given, without
    /// mentions or tags.
    pub async fn status_entities(
        &self,
        viewer: Option<Id>,
        rows: Vec<StatusRow>,
    ) -> Result<Vec<api::Status>> {
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<Id> = rows.iter().map(|s| s.id).collect();
        let mut views = self.store.status_views(viewer, &ids).await?;
        let found: HashSet<Id> = views.iter().map(|v| v.status.id).collect();
        views.extend(
            rows.into_iter()
                .filter(|r| !found.contains(&r.id))
                .map(StatusView::bare),
        );
        self.render_views(viewer, &ids, views).await
    }

    /// Renders a page of [`StatusView`]s as the store returns them (entries newest
    /// first, followed or interleaved by the statuses they reblog).
    pub async fn page_entities(
        &self,
        viewer: Option<Id>,
        views: Vec<StatusView>,
    ) -> Result<Vec<api::Status>> {
        let order: Vec<Id> = views
            .iter()
            .filter(|v| v.requested)
            .map(|v| v.status.id)
            .collect();
        self.render_views(viewer, &order, views).await
    }

    /// Renders `order`'s statuses from `views`, which also hold the statuses they reblog.
    pub(crate) async fn render_views(
        &self,
        viewer: Option<Id>,
        order: &[Id],
        views: Vec<StatusView>,
    ) -> Result<Vec<api::Status>> {
        self.render_views_at(viewer, order, views, false).await
    }

    /// [`Engine::render_views`]; `nested`: these are quoted statuses, whose own quotes
    /// are shallow (one level, as Mastodon).
    pub(crate) async fn render_views_at(
        &self,
        viewer: Option<Id>,
        order: &[Id],
        views: Vec<StatusView>,
        nested: bool,
    ) -> Result<Vec<api::Status>> {
        let quotes = self.quote_context(viewer, &views, nested).await?;
        let mut account_ids: Vec<Id> = views.iter().map(|v| v.status.account_id).collect();
        account_ids.extend(views.iter().flat_map(|v| v.mentions()));
        account_ids.sort_unstable();
        account_ids.dedup();
        let accounts: HashMap<Id, AccountRow> = self
            .cached_accounts(&account_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let mut app_ids: Vec<Id> = views
            .iter()
            .filter_map(|v| v.status.application_id)
            .collect();
        app_ids.sort_unstable();
        app_ids.dedup();
        let apps: HashMap<Id, sluice_store::AppRow> = if app_ids.is_empty() {
            HashMap::new()
        } else {
            self.cached_apps(&app_ids)
                .await?
                .into_iter()
                .map(|a| (a.id, a))
                .collect()
        };
        let by_id: HashMap<Id, &StatusView> = views.iter().map(|v| (v.status.id, v)).collect();
        // Custom emojis of the posts, their reactions, their authors' names and bios:
        // one query. A reaction's custom emoji is looked up as `:code:` of its domain.
        let reaction_codes: Vec<(String, String)> = views
            .iter()
            .flat_map(|v| v.reactions())
            .filter_map(|r| {
                crate::reactions::custom_parts(&r.emoji)
                    .map(|(d, c)| (d.to_string(), format!(":{c}:")))
            })
            .collect();
        let domain_of = |id: Id| accounts.get(&id).map(|a| a.domain.as_str()).unwrap_or("");
        let emojis = self
            .emojis_for(
                views
                    .iter()
                    .flat_map(|v| {
                        let d = domain_of(v.status.account_id);
                        [
                            (d, v.status.content.as_str()),
                            (d, v.status.spoiler_text.as_str()),
                        ]
                    })
                    .chain(reaction_codes.iter().map(|(d, c)| (d.as_str(), c.as_str())))
                    .chain(accounts.values().flat_map(|a| {
                        [
                            (a.domain.as_str(), a.display_name.as_str()),
                            (a.domain.as_str(), a.note.as_str()),
                        ]
                    })),
            )
            .await?;
        let ctx = RenderCtx {
            viewer,
            accounts: &accounts,
            apps: &apps,
            emojis: &emojis,
            quotes: &quotes,
        };
        let mut out = Vec::with_capacity(order.len());
        for id in order {
            let Some(v) = by_id.get(id) else {
                continue;
            };
            let Some(mut e) = self.render_one(&ctx, v) else {
                continue;
            };
            if let Some(orig_id) = v.status.reblog_of_id {
                let Some(inner) = by_id.get(&orig_id).and_then(|o| self.render_one(&ctx, o)) else {
                    continue;
                };
                e.reblog = Some(Box::new(inner));
            }
            out.push(e);
        }
        Ok(out)
    }

    fn render_one(&self, ctx: &RenderCtx<'_>, v: &StatusView) -> Option<api::Status> {
        let s = &v.status;
        let account = ctx.accounts.get(&s.account_id)?;
        let mentions = v
            .mentions()
            .filter_map(|id| ctx.accounts.get(&id))
            .map(|a| api::Mention {
                id: a.id.to_string(),
                username: a.username.clone(),
                url: a.url.clone(),
                acct: a.acct(),
            })
            .collect();
        let tags = v
            .tags()
            .map(|n| api::TagRef {
                name: n.to_string(),
                url: self.urls.tag(n),
            })
            .collect();
        let flag = |set: bool| ctx.viewer.map(|_| set);
        Some(api::Status {
            id: s.id.to_string(),
            created_at: Timestamp(s.created_at).to_rfc3339(),
            in_reply_to_id: s.in_reply_to_id.map(|i| i.to_string()),
            in_reply_to_account_id: s.in_reply_to_account_id.map(|i| i.to_string()),
            // A sensitized account's media is always behind a warning (issue 17).
            sensitive: s.sensitive || (account.sensitized_at.is_some() && s.attachments != "[]"),
            spoiler_text: s.spoiler_text.clone(),
            visibility: s.visibility.clone(),
            language: s.language.clone(),
            uri: s.uri.clone(),
            url: Some(s.url.clone()),
            replies_count: s.replies_count,
            reblogs_count: s.reblogs_count,
            favourites_count: s.favourites_count,
            quotes_count: v.quotes_count.unwrap_or(0),
            edited_at: s.edited_at.map(|t| Timestamp(t).to_rfc3339()),
            favourited: flag(v.favourited),
            reblogged: flag(v.reblogged),
            muted: flag(v.muted),
            bookmarked: flag(v.bookmarked),
            // Only the author sees whether a post is pinned (as Mastodon).
            pinned: ctx
                .viewer
                .filter(|me| *me == s.account_id)
                .map(|_| v.pinned),
            filtered: ctx.viewer.map(|_| vec![]),
            content: s.content.clone(),
            reblog: None,
            application: s.application_id.and_then(|id| ctx.apps.get(&id)).map(|a| {
                api::StatusApplication {
                    name: a.name.clone(),
                    website: a.website.clone(),
                }
            }),
            account: self.account_entity_with(account, ctx.emojis),
            media_attachments: sluice_model::media::Attachment::read_list(&s.attachments)
                .iter()
                .map(sluice_model::media::Attachment::entity)
                .collect(),
            mentions,
            tags,
            emojis: self.emoji_entities_in(
                ctx.emojis,
                &account.domain,
                &[s.content.as_str(), s.spoiler_text.as_str()],
            ),
            card: Engine::card_entity(v.card.as_deref()),
            poll: v.poll().map(|p| {
                crate::polls::poll_entity(
                    &p,
                    ctx.viewer,
                    s.account_id,
                    v.own_votes(),
                    sluice_model::id::now_millis(),
                )
            }),
            quote: self.quote_entity(ctx.quotes, v),
            quote_approval: self.quote_approval(ctx.quotes, ctx.viewer, v),
            text: None,
            pleroma: api::StatusPleroma {
                emoji_reactions: v
                    .reactions()
                    .iter()
                    .map(|r| self.reaction_entity(r, ctx.emojis))
                    .collect(),
            },
        })
    }

    /// Renders notifications, dropping those whose account or status is gone.
    pub async fn notification_entities(
        &self,
        viewer: Id,
        rows: Vec<NotificationRow>,
    ) -> Result<Vec<api::Notification>> {
        let account_ids: Vec<Id> = rows.iter().map(|n| n.from_account_id).collect();
        let accounts: HashMap<Id, api::Account> = self
            .account_entities(&account_ids)
            .await?
            .into_iter()
            .filter_map(|a| a.id.parse().ok().map(|id: Id| (id, a)))
            .collect();
        let status_ids: Vec<Id> = rows.iter().filter_map(|n| n.status_id).collect();
        let views = self.store.status_views(Some(viewer), &status_ids).await?;
        let statuses: HashMap<Id, api::Status> = self
            .render_views(Some(viewer), &status_ids, views)
            .await?
            .into_iter()
            .filter_map(|s| s.id.parse().ok().map(|id: Id| (id, s)))
            .collect();
        let report_ids: Vec<Id> = rows.iter().filter_map(|n| n.report_id).collect();
        let reports = if report_ids.is_empty() {
            HashMap::new()
        } else {
            self.report_entities(&report_ids).await?
        };
        let mut warnings: HashMap<Id, serde_json::Value> = HashMap::new();
        for id in rows.iter().filter_map(|n| n.account_warning_id) {
            if let Some(w) = self.account_warning(id).await? {
                warnings.insert(id, self.account_warning_entity(&w).await?);
            }
        }
        let mut reaction_urls: HashMap<String, Option<String>> = HashMap::new();
        for n in &rows {
            if let Some(e) = &n.emoji
                && !reaction_urls.contains_key(e)
            {
                reaction_urls.insert(e.clone(), self.reaction_url(e).await?);
            }
        }
        Ok(rows
            .into_iter()
            .filter_map(|n| {
                let account = accounts.get(&n.from_account_id)?.clone();
                let status = match n.status_id {
                    Some(sid) => Some(statuses.get(&sid)?.clone()),
                    None => None,
                };
                let group_key = crate::read::notification_groups::group_key(
                    n.id,
                    &n.kind,
                    n.status_id,
                    n.created_at,
                );
                let reaction = (n.kind == crate::reactions::NOTIFICATION_KIND).then(|| {
                    let emoji = n.emoji.clone().unwrap_or_default();
                    api::NotificationReaction {
                        emoji_url: reaction_urls.get(&emoji).cloned().flatten(),
                        emoji,
                    }
                });
                let report = match n.report_id {
                    Some(r) => Some(reports.get(&r)?.clone()),
                    None => None,
                };
                let moderation_warning = match n.account_warning_id {
                    Some(w) => Some(warnings.get(&w)?.clone()),
                    None => None,
                };
                Some(api::Notification {
                    moderation_warning,
                    reaction,
                    report,
                    id: n.id.to_string(),
                    kind: n.kind,
                    created_at: Timestamp(n.created_at).to_rfc3339(),
                    group_key,
                    account,
                    status,
                })
            })
            .collect())
    }
}

struct RenderCtx<'a> {
    viewer: Option<Id>,
    accounts: &'a HashMap<Id, AccountRow>,
    apps: &'a HashMap<Id, sluice_store::AppRow>,
    emojis: &'a EmojiMap,
    quotes: &'a crate::quotes::QuoteContext,
}
