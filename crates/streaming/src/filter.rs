//! Which events a connection gets: the stream it asked for, and what its user has
//! said about other accounts (follows, blocks either way, mutes) and about content
//! (keyword filters), held in memory.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use sluice_engine::Engine;
use sluice_model::Id;
use sluice_model::filter::{self, FilterContext, FilterSet};

use crate::hub::Event;
use crate::lists::UserLists;

/// A stream, as Mastodon names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamKind {
    /// `user`: the home timeline and notifications.
    User,
    /// `user:notification`.
    UserNotification,
    /// `public`, `public:local`, `public:remote` (`local`: Some(true), Some(false)),
    /// with `:media` for `only_media`.
    Public {
        local: Option<bool>,
        only_media: bool,
    },
    /// `hashtag`, `hashtag:local`.
    Hashtag { tag: String, local: bool },
    /// `list` with `list=ID`: one of the user's lists.
    List { id: Id },
    /// `direct`: the user's direct conversations (`conversation` events).
    Direct,
}

impl StreamKind {
    /// Parses a stream name (`public:local:media`, …) and its `tag`; None when unknown.
    pub fn parse(name: &str, tag: Option<&str>, only_media: bool) -> Option<StreamKind> {
        let (name, media) = match name.strip_suffix(":media") {
            Some(n) => (n, true),
            None => (name, only_media),
        };
        let tag = || {
            tag.map(|t| t.trim().trim_start_matches('#').to_lowercase())
                .filter(|t| !t.is_empty())
        };
        Some(match name {
            "user" => StreamKind::User,
            "user:notification" => StreamKind::UserNotification,
            "direct" => StreamKind::Direct,
            "public" => StreamKind::Public {
                local: None,
                only_media: media,
            },
            "public:local" => StreamKind::Public {
                local: Some(true),
                only_media: media,
            },
            "public:remote" => StreamKind::Public {
                local: Some(false),
                only_media: media,
            },
            "hashtag" => StreamKind::Hashtag {
                tag: tag()?,
                local: false,
            },
            "hashtag:local" => StreamKind::Hashtag {
                tag: tag()?,
                local: true,
            },
            _ => return None,
        })
    }

    /// The `list` stream for the `list` parameter; None when it is missing or not an id.
    pub fn list(param: Option<&str>) -> Option<StreamKind> {
        let id = sluice_model::id::parse_id(param?.trim())?;
        Some(StreamKind::List { id })
    }

    /// A stream by its name (`public:local`, `list`, …; SSE paths with `:` for `/`):
    /// `list` takes the `list` parameter, the others `tag`.
    pub fn named(
        name: &str,
        tag: Option<&str>,
        list: Option<&str>,
        only_media: bool,
    ) -> Option<StreamKind> {
        if name == "list" {
            StreamKind::list(list)
        } else {
            StreamKind::parse(name, tag, only_media)
        }
    }

    /// The name sent back in the `stream` array of WebSocket messages.
    pub fn name(&self) -> String {
        match self {
            StreamKind::User => "user".into(),
            StreamKind::UserNotification => "user:notification".into(),
            StreamKind::Direct => "direct".into(),
            StreamKind::Public { local, only_media } => {
                let base = match local {
                    None => "public",
                    Some(true) => "public:local",
                    Some(false) => "public:remote",
                };
                if *only_media {
                    format!("{base}:media")
                } else {
                    base.into()
                }
            }
            StreamKind::Hashtag { local: false, .. } => "hashtag".into(),
            StreamKind::Hashtag { local: true, .. } => "hashtag:local".into(),
            StreamKind::List { .. } => "list".into(),
        }
    }

    /// The `stream` array of WebSocket messages, as Mastodon sends it (masto.js
    /// matches on it): `["public:local"]`, `["hashtag", "rust"]`.
    pub fn array(&self) -> Vec<String> {
        match self {
            StreamKind::Hashtag { tag, .. } => vec![self.name(), tag.clone()],
            StreamKind::List { id } => vec![self.name(), id.to_string()],
            _ => vec![self.name()],
        }
    }

    /// A WebSocket message carrying `event` for this stream with this connection's
    /// payload ([`Relations::payload`]), its log id in `id` (a Sluice extension).
    /// `filters_changed` has no payload, as on Mastodon. The payload is escaped once
    /// per event ([`Event::ws_payload`]); the rest is a few dozen bytes.
    pub fn ws_message(&self, event: &Event, payload: &str) -> String {
        let json = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let escaped = (event.kind != "filters_changed").then(|| event.ws_payload(payload));
        let mut m = String::with_capacity(64 + escaped.as_ref().map_or(0, |e| e.len()));
        m.push_str("{\"stream\":[");
        for (i, part) in self.array().iter().enumerate() {
            if i > 0 {
                m.push(',');
            }
            m.push_str(&json(part));
        }
        m.push_str("],\"event\":");
        m.push_str(&json(&event.kind));
        m.push_str(",\"id\":");
        m.push_str(&event.id.to_string());
        if let Some(escaped) = escaped {
            m.push_str(",\"payload\":");
            m.push_str(&escaped);
        }
        m.push('}');
        m
    }

    /// Whether the stream needs a signed-in user (not only an app token).
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            StreamKind::User
                | StreamKind::UserNotification
                | StreamKind::List { .. }
                | StreamKind::Direct
        )
    }

    /// The filter context of the statuses this stream carries (lists filter as home,
    /// as in Mastodon).
    fn filter_context(&self) -> Option<FilterContext> {
        match self {
            StreamKind::User | StreamKind::List { .. } => Some(FilterContext::Home),
            StreamKind::Public { .. } | StreamKind::Hashtag { .. } => Some(FilterContext::Public),
            StreamKind::UserNotification | StreamKind::Direct => None,
        }
    }
}

/// Most accounts of each kind a connection holds in memory.
const MAX_RELATIONS: i64 = 100_000;

/// A user's follows, blocks (either way), mutes and keyword filters, as a connection
/// holds them.
#[derive(Debug, Default, Clone)]
pub struct Relations {
    pub me: Option<Id>,
    /// They reflect every event of the log up to this id.
    as_of: i64,
    following: HashSet<Id>,
    blocked: HashSet<Id>,
    muted: HashSet<Id>,
    /// Lists, exclusive-list members and blocked domains.
    lists: UserLists,
    /// The hashtags the user follows: their public posts join the `user` stream.
    followed_tags: HashSet<String>,
    filters: Arc<FilterSet>,
}

impl Relations {
    /// Loads them for `me`, when every event up to `as_of` is committed. An error is
    /// returned, not an empty set: a connection that filtered with nothing would show
    /// what the user blocked or muted.
    pub async fn load(engine: &Engine, me: Id, as_of: i64) -> sluice_engine::Result<Relations> {
        let loaded = engine.stream_relations(me, MAX_RELATIONS).await?;
        Ok(Relations {
            me: Some(me),
            as_of,
            following: loaded.following.into_iter().collect(),
            blocked: loaded.blocked.into_iter().collect(),
            muted: loaded.muted.into_iter().collect(),
            lists: UserLists::from_rows(loaded.lists, loaded.domains),
            followed_tags: loaded.followed_tags.into_iter().collect(),
            filters: Arc::new(sluice_engine::filters::compile(&loaded.filters)),
        })
    }

    /// The newest event they reflect: a change event up to it needs no reload.
    pub fn as_of(&self) -> i64 {
        self.as_of
    }

    /// A copy with the relations between the user and the other account of a
    /// `relationship` event as the event records them (`sluice_engine::rows::pair`), as of
    /// that event; None when the event records none (written by an older version) or
    /// is not about the user. Ending a follow takes the account out of the user's
    /// lists, as the engine does.
    pub fn with_pair(&self, event: &Event) -> Option<Relations> {
        use sluice_engine::rows::pair::*;
        let (me, bits) = (self.me?, event.pair?);
        let has = |bit: i64| bits & bit != 0;
        let (other, follows, blocks, muted) = if event.account_id == Some(me) {
            let other = event.recipient_id?;
            (
                other,
                has(A_FOLLOWS_B),
                has(A_BLOCKS_B) || has(B_BLOCKS_A),
                has(A_MUTES_B),
            )
        } else if event.recipient_id == Some(me) {
            let other = event.account_id?;
            (
                other,
                has(B_FOLLOWS_A),
                has(A_BLOCKS_B) || has(B_BLOCKS_A),
                has(B_MUTES_A),
            )
        } else {
            return None;
        };
        let mut r = self.clone();
        for (set, on) in [
            (&mut r.following, follows),
            (&mut r.blocked, blocks),
            (&mut r.muted, muted),
        ] {
            if on {
                set.insert(other);
            } else {
                set.remove(&other);
            }
        }
        if !follows {
            r.lists.remove_member(other);
        }
        r.as_of = event.id;
        Some(r)
    }

    /// Whether `event` changes what this user follows, blocks or mutes (or who
    /// blocks them), or their lists, blocked domains and followed hashtags (all told
    /// by a `lists` event): the filters must be loaded again.
    pub fn reload_on(&self, event: &Event) -> bool {
        match event.kind.as_str() {
            "relationship" => {
                self.me.is_some() && (event.account_id == self.me || event.recipient_id == self.me)
            }
            "lists" => self.me.is_some() && event.account_id == self.me,
            _ => false,
        }
    }

    /// Whether the user has this list (the `list` stream is its owner's only).
    pub fn owns_list(&self, list: Id) -> bool {
        self.lists.owns(list)
    }

    /// Whether `event` changes this user's keyword filters: they must be loaded again
    /// (and the event is still passed on).
    pub fn reload_filters_on(&self, event: &Event) -> bool {
        event.kind == "filters_changed" && self.me.is_some() && event.account_id == self.me
    }

    /// What a connection on `stream` sends for `event`: None when the event is not
    /// for it (see [`Relations::wants`]) or a `hide` filter matches the status; the
    /// shared payload when no filter matches (no copy); a copy with the `filtered`
    /// array spliced in when `warn` filters match.
    pub fn payload<'a>(&self, stream: &StreamKind, event: &'a Event) -> Option<Cow<'a, str>> {
        if !self.wants(stream, event) {
            return None;
        }
        let payload = event.payload.as_deref()?;
        if self.filters.is_empty() || !matches!(event.kind.as_str(), "update" | "status.update") {
            return Some(Cow::Borrowed(payload));
        }
        let Some(context) = stream.filter_context() else {
            return Some(Cow::Borrowed(payload));
        };
        let ids = [event.object_id, event.reblog_of];
        let ids: &[Id] = match ids {
            [Some(a), Some(b)] => &[a, b],
            [Some(a), None] | [None, Some(a)] => &[a],
            [None, None] => &[],
        };
        let matches = self.filters.matches(
            context,
            sluice_model::id::now_millis(),
            &event.filter_text,
            ids,
        );
        if matches.is_empty() {
            return Some(Cow::Borrowed(payload));
        }
        if filter::hides(&matches) {
            return None;
        }
        let filtered = serde_json::Value::from(filter::results(&matches)).to_string();
        Some(Cow::Owned(splice_filtered(payload, &filtered)))
    }

    fn hides(&self, author: Id) -> bool {
        Some(author) != self.me && (self.blocked.contains(&author) || self.muted.contains(&author))
    }

    /// A silenced author's posts reach public streams only of their followers and
    /// themselves (as `hide_silenced` in the timelines).
    fn sees_silenced(&self, author: Id, event: &Event) -> bool {
        !event.silenced || Some(author) == self.me || self.following.contains(&author)
    }

    /// Whether `event` goes to a connection on `stream`.
    pub fn wants(&self, stream: &StreamKind, event: &Event) -> bool {
        if event.payload.is_none() {
            return false;
        }
        match event.kind.as_str() {
            "filters_changed" => {
                *stream == StreamKind::User && self.me.is_some() && event.recipient_id == self.me
            }
            "announcement" | "announcement.reaction" | "announcement.delete" => {
                *stream == StreamKind::User && self.me.is_some()
            }
            "conversation" => {
                *stream == StreamKind::Direct && self.me.is_some() && event.recipient_id == self.me
            }
            "notification" => {
                matches!(stream, StreamKind::User | StreamKind::UserNotification)
                    && event.recipient_id.is_some()
                    && event.recipient_id == self.me
            }
            "update" | "status.update" | "delete" => {
                let Some(author) = event.account_id else {
                    return false;
                };
                if self.hides(author) || (Some(author) != self.me && self.lists.hides_domain(event))
                {
                    return false;
                }
                let public = event.visibility == "public";
                match stream {
                    StreamKind::UserNotification | StreamKind::Direct => false,
                    StreamKind::User => {
                        let me = self.me;
                        Some(author) == me
                            || (self.following.contains(&author)
                                && !self.lists.exclusive_member(author)
                                && (event.visibility != "direct"
                                    || me.is_some_and(|me| event.mentions.contains(&me))))
                            || (public
                                && event.reblog_of.is_none()
                                && event.tags.iter().any(|t| self.followed_tags.contains(t)))
                    }
                    StreamKind::List { id } => {
                        self.lists
                            .list_wants(*id, self.me, &self.following, author, event)
                    }
                    StreamKind::Public { local, only_media } => {
                        public
                            && self.sees_silenced(author, event)
                            && (!only_media || event.kind == "delete" || event.media)
                            && (event.kind == "delete" || event.reblog_of.is_none())
                            && local.is_none_or(|l| event.kind == "delete" || l == event.local)
                    }
                    StreamKind::Hashtag { tag, local } => {
                        public
                            && self.sees_silenced(author, event)
                            && event.kind != "delete"
                            && event.tags.iter().any(|t| t == tag)
                            && (!local || event.local)
                    }
                }
            }
            _ => false,
        }
    }
}

/// A status payload (a JSON object rendered without `filtered`) with `"filtered":…`
/// added as its first member.
fn splice_filtered(payload: &str, filtered: &str) -> String {
    let Some(rest) = payload.strip_prefix('{') else {
        return payload.to_string();
    };
    let mut out = String::with_capacity(payload.len() + filtered.len() + 16);
    out.push_str("{\"filtered\":");
    out.push_str(filtered);
    if !rest.trim_start().starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, author: Id, visibility: &str, local: bool) -> Event {
        Event {
            id: 1,
            kind: kind.into(),
            account_id: Some(author),
            recipient_id: None,
            object_id: Some(9),
            visibility: visibility.into(),
            local,
            tags: vec!["rust".into()],
            mentions: vec![],
            reblog_of: None,
            domain: String::new(),
            reblog_domain: None,
            in_reply_to_account_id: None,
            filter_text: "a post about rust".into(),
            payload: Some("{\"id\":\"9\"}".into()),
            ..Event::default()
        }
    }

    #[test]
    fn messages_are_built_once_and_filtered_copies_apart() {
        let e = event("update", 2, "public", true);
        let shared = e.payload.as_deref().unwrap();
        let tag = StreamKind::parse("hashtag", Some("rust"), false).unwrap();
        let m: serde_json::Value = serde_json::from_str(&tag.ws_message(&e, shared)).unwrap();
        assert_eq!(m["stream"], serde_json::json!(["hashtag", "rust"]));
        assert_eq!(m["event"], "update");
        assert_eq!(m["id"], 1);
        assert_eq!(m["payload"], shared);
        // The SSE message and the escaped payload are shared by every connection
        // that sends the event's own payload...
        let a = e.sse_message(shared);
        assert_eq!(&a[..], b"id: 1\nevent: update\ndata: {\"id\":\"9\"}\n\n");
        assert_eq!(a.as_ptr(), e.sse_message(shared).as_ptr());
        assert!(matches!(e.ws_payload(shared), Cow::Borrowed(_)));
        // ... while a connection's own copy (with `filtered`) is rendered apart.
        let own = splice_filtered(shared, "[]");
        assert_eq!(
            &e.sse_message(&own)[..],
            b"id: 1\nevent: update\ndata: {\"filtered\":[],\"id\":\"9\"}\n\n"
        );
        let m: serde_json::Value =
            serde_json::from_str(&StreamKind::User.ws_message(&e, &own)).unwrap();
        assert_eq!(m["payload"], own.as_str());
        // `filters_changed` carries no payload.
        let f = event("filters_changed", 2, "", true);
        let m: serde_json::Value =
            serde_json::from_str(&StreamKind::User.ws_message(&f, f.payload.as_deref().unwrap()))
                .unwrap();
        assert_eq!(
            m,
            serde_json::json!({"stream": ["user"], "event": "filters_changed", "id": 1})
        );
    }

    #[test]
    fn stream_names_round_trip() {
        for name in [
            "user",
            "user:notification",
            "direct",
            "public",
            "public:local",
            "public:remote",
            "public:media",
            "public:local:media",
        ] {
            assert_eq!(StreamKind::parse(name, None, false).unwrap().name(), name);
        }
        assert_eq!(
            StreamKind::parse("hashtag", Some("#Rust"), false),
            Some(StreamKind::Hashtag {
                tag: "rust".into(),
                local: false
            })
        );
        assert_eq!(StreamKind::parse("hashtag", None, false), None);
        assert_eq!(StreamKind::parse("nope", None, false), None);
    }

    #[test]
    fn public_streams_filter_by_locality_and_relations() {
        let anon = Relations::default();
        let local = StreamKind::parse("public:local", None, false).unwrap();
        let remote = StreamKind::parse("public:remote", None, false).unwrap();
        assert!(anon.wants(&local, &event("update", 5, "public", true)));
        assert!(!anon.wants(&remote, &event("update", 5, "public", true)));
        assert!(!anon.wants(&local, &event("update", 5, "unlisted", true)));
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        me.muted.insert(5);
        assert!(!me.wants(&local, &event("update", 5, "public", true)));
        let media = StreamKind::parse("public:media", None, false).unwrap();
        assert!(!anon.wants(&media, &event("update", 5, "public", true)));
        let with_media = Event {
            media: true,
            ..event("update", 5, "public", true)
        };
        assert!(anon.wants(&media, &with_media));
        assert!(anon.wants(&media, &event("delete", 5, "public", true)));
        // A silenced author's post: only to followers and the author.
        let silenced = Event {
            silenced: true,
            ..event("update", 5, "public", true)
        };
        let public = StreamKind::parse("public", None, false).unwrap();
        assert!(!anon.wants(&public, &silenced));
        let mut follower = Relations {
            me: Some(7),
            ..Default::default()
        };
        follower.following.insert(5);
        assert!(follower.wants(&public, &silenced));
        let stranger = Relations {
            me: Some(8),
            ..Default::default()
        };
        assert!(!stranger.wants(&public, &silenced));
        let author = Relations {
            me: Some(5),
            ..Default::default()
        };
        assert!(author.wants(&public, &silenced));
        let local_media = StreamKind::parse("public:local", None, true).unwrap();
        assert!(anon.wants(&local_media, &with_media));
        assert!(!anon.wants(&local_media, &event("update", 5, "public", true)));
    }

    #[test]
    fn home_gets_public_posts_of_followed_tags() {
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        let user = StreamKind::User;
        // `event` carries the tag `rust`.
        assert!(!me.wants(&user, &event("update", 5, "public", false)));
        me.followed_tags.insert("rust".into());
        assert!(me.wants(&user, &event("update", 5, "public", false)));
        // Not unlisted or followers-only posts, not boosts, not from muted accounts.
        assert!(!me.wants(&user, &event("update", 5, "unlisted", false)));
        assert!(!me.wants(&user, &event("update", 5, "private", false)));
        let boost = Event {
            reblog_of: Some(3),
            ..event("update", 5, "public", false)
        };
        assert!(!me.wants(&user, &boost));
        me.muted.insert(5);
        assert!(!me.wants(&user, &event("update", 5, "public", false)));
        me.followed_tags.clear();
        me.muted.clear();
        assert!(!me.wants(&user, &event("update", 5, "public", false)));
    }

    #[test]
    fn home_gets_follows_and_own_posts_only() {
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        me.following.insert(2);
        let user = StreamKind::User;
        assert!(me.wants(&user, &event("update", 2, "private", false)));
        assert!(me.wants(&user, &event("update", 1, "public", true)));
        assert!(!me.wants(&user, &event("update", 3, "public", true)));
        assert!(!me.wants(&user, &event("update", 2, "direct", false)));
        me.blocked.insert(2);
        assert!(!me.wants(&user, &event("update", 2, "public", false)));
    }

    #[test]
    fn list_stream_gets_members_within_its_replies_policy() {
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        me.following.extend([2, 3, 4]);
        me.lists.add(10, "list", false, [2, 3].into_iter());
        me.lists.add(11, "none", false, [2].into_iter());
        me.lists.add(12, "followed", false, [2].into_iter());
        let list = |id| StreamKind::List { id };
        assert!(me.owns_list(10) && !me.owns_list(99));
        assert!(me.wants(&list(10), &event("update", 2, "public", true)));
        assert!(me.wants(&list(10), &event("update", 3, "private", true)));
        assert!(!me.wants(&list(10), &event("update", 4, "public", true)));
        assert!(!me.wants(&list(10), &event("update", 2, "direct", true)));
        assert!(!me.wants(&list(99), &event("update", 2, "public", true)));
        let reply = |to| Event {
            in_reply_to_account_id: Some(to),
            ..event("update", 2, "public", true)
        };
        // To a member: `list` shows it, `none` does not; to a followed non-member:
        // only `followed`; to oneself or the owner: every policy.
        assert!(me.wants(&list(10), &reply(3)));
        assert!(!me.wants(&list(11), &reply(3)));
        assert!(!me.wants(&list(10), &reply(4)));
        assert!(me.wants(&list(12), &reply(4)));
        assert!(!me.wants(&list(12), &reply(5)));
        for l in [10, 11, 12] {
            assert!(me.wants(&list(l), &reply(2)));
            assert!(me.wants(&list(l), &reply(1)));
        }
        // Blocks and mutes hide members as everywhere else.
        me.muted.insert(3);
        assert!(!me.wants(&list(10), &event("update", 3, "public", true)));
    }

    #[test]
    fn exclusive_members_stay_out_of_home() {
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        me.following.extend([2, 3]);
        me.lists.add(10, "list", true, [2].into_iter());
        me.lists.add(11, "list", false, [3].into_iter());
        assert!(!me.wants(&StreamKind::User, &event("update", 2, "public", true)));
        assert!(me.wants(&StreamKind::User, &event("update", 3, "public", true)));
        assert!(me.wants(
            &StreamKind::List { id: 10 },
            &event("update", 2, "public", true)
        ));
    }

    #[test]
    fn blocked_domains_are_hidden_everywhere() {
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        me.following.insert(2);
        me.lists.add(10, "list", false, [2].into_iter());
        me.lists.domains.insert("evil.example".into());
        let from = |author, domain: &str| Event {
            domain: domain.into(),
            ..event("update", author, "public", false)
        };
        let public = StreamKind::parse("public", None, false).unwrap();
        let tag = StreamKind::parse("hashtag", Some("rust"), false).unwrap();
        for stream in [
            &public,
            &tag,
            &StreamKind::User,
            &StreamKind::List { id: 10 },
        ] {
            assert!(!me.wants(stream, &from(2, "evil.example")), "{stream:?}");
            assert!(me.wants(stream, &from(2, "good.example")), "{stream:?}");
        }
        // A reblog of a blocked domain's post, by anyone.
        let reblog = Event {
            reblog_of: Some(7),
            reblog_domain: Some("evil.example".into()),
            ..event("update", 2, "public", true)
        };
        assert!(!me.wants(&StreamKind::User, &reblog));
        // Anonymous readers and other users are not affected.
        assert!(Relations::default().wants(&public, &from(2, "evil.example")));
    }

    #[test]
    fn relationship_events_set_the_pair_as_they_record_it() {
        use sluice_engine::rows::pair::*;
        let mut me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        me.following.insert(2);
        me.lists.add(10, "list", true, [2].into_iter());
        let change = |id, account, recipient, bits| Event {
            id,
            kind: "relationship".into(),
            account_id: Some(account),
            recipient_id: Some(recipient),
            pair: Some(bits),
            payload: None,
            ..Event::default()
        };
        // 1 unfollows 2: out of the lists too.
        let r = me.with_pair(&change(5, 1, 2, 0)).unwrap();
        assert!(!r.following.contains(&2) && !r.lists.exclusive_member(2));
        assert_eq!(r.as_of(), 5);
        // 2 blocks 1 (recorded from 2's side): hidden both ways; 1 mutes 3.
        let r = r.with_pair(&change(6, 2, 1, A_BLOCKS_B)).unwrap();
        assert!(r.blocked.contains(&2));
        let r = r
            .with_pair(&change(7, 1, 3, A_MUTES_B | B_FOLLOWS_A))
            .unwrap();
        assert!(r.muted.contains(&3) && !r.following.contains(&3));
        // 1 follows 3 again, seen from 3's side; another user's change is none of ours.
        let r = r.with_pair(&change(8, 3, 1, B_FOLLOWS_A)).unwrap();
        assert!(r.following.contains(&3) && !r.muted.contains(&3));
        assert!(r.with_pair(&change(9, 4, 5, A_FOLLOWS_B)).is_none());
        // Written by an older version: nothing recorded, a reload is needed.
        let old = Event {
            pair: None,
            ..change(10, 1, 2, 0)
        };
        assert!(r.with_pair(&old).is_none());
    }

    #[test]
    fn list_events_reload_their_owner_only() {
        let me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        let lists = |owner| Event {
            kind: "lists".into(),
            payload: None,
            ..event("lists", owner, "", true)
        };
        assert!(me.reload_on(&lists(1)));
        assert!(!me.reload_on(&lists(2)));
        assert!(!Relations::default().reload_on(&lists(1)));
        assert_eq!(
            StreamKind::list(Some("10")).map(|k| k.array()),
            Some(vec!["list".to_string(), "10".to_string()])
        );
        assert_eq!(StreamKind::list(Some("x")), None);
        assert_eq!(StreamKind::list(None), None);
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;
    use sluice_model::filter::{CompiledFilter, FilterAction};

    fn event(kind: &str, author: Id, text: &str) -> Event {
        Event {
            id: 1,
            kind: kind.into(),
            account_id: Some(author),
            recipient_id: None,
            object_id: Some(9),
            visibility: "public".into(),
            local: true,
            tags: vec![],
            mentions: vec![],
            reblog_of: None,
            domain: String::new(),
            reblog_domain: None,
            in_reply_to_account_id: None,
            filter_text: text.into(),
            payload: Some("{\"id\":\"9\"}".into()),
            ..Event::default()
        }
    }

    fn with_filter(action: FilterAction, contexts: &[FilterContext]) -> Relations {
        let f = CompiledFilter::new(
            3,
            contexts,
            action,
            None,
            [("rust".to_string(), true)],
            vec![],
            serde_json::json!({"id": "3"}),
        );
        Relations {
            me: Some(1),
            filters: Arc::new(FilterSet::new(vec![f])),
            ..Relations::default()
        }
    }

    #[test]
    fn hide_drops_warn_splices_others_pass_untouched() {
        let public = StreamKind::parse("public", None, false).unwrap();
        let hide = with_filter(FilterAction::Hide, &[FilterContext::Public]);
        assert!(
            hide.payload(&public, &event("update", 5, "i like rust"))
                .is_none()
        );
        let other = event("update", 5, "i like go");
        assert!(matches!(
            hide.payload(&public, &other),
            Some(Cow::Borrowed(_))
        ));
        // Another context: not applied.
        let home_only = with_filter(FilterAction::Hide, &[FilterContext::Home]);
        assert!(
            home_only
                .payload(&public, &event("update", 5, "rust"))
                .is_some()
        );
        let warn = with_filter(FilterAction::Warn, &[FilterContext::Public]);
        let warned = event("update", 5, "rust");
        let p = warn.payload(&public, &warned).unwrap();
        let v: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(v["id"], "9");
        assert_eq!(v["filtered"][0]["filter"]["id"], "3");
        assert_eq!(v["filtered"][0]["keyword_matches"][0], "rust");
        // Deletes are never filtered.
        assert!(hide.payload(&public, &event("delete", 5, "")).is_some());
    }

    #[test]
    fn direct_and_filters_changed_go_to_their_user_only() {
        let me = Relations {
            me: Some(1),
            ..Relations::default()
        };
        let mut e = event("conversation", 2, "");
        e.recipient_id = Some(1);
        assert!(me.wants(&StreamKind::Direct, &e));
        assert!(!me.wants(&StreamKind::User, &e));
        e.recipient_id = Some(7);
        assert!(!me.wants(&StreamKind::Direct, &e));
        let mut f = event("filters_changed", 1, "");
        f.recipient_id = Some(1);
        assert!(me.wants(&StreamKind::User, &f));
        assert!(me.reload_filters_on(&f));
        assert!(!me.wants(&StreamKind::Direct, &f));
        assert!(!me.wants(&StreamKind::Direct, &event("update", 1, "")));
        assert_eq!(splice_filtered("{}", "[]"), "{\"filtered\":[]}");
    }
}
