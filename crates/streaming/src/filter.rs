//! Which events a connection gets: the stream it asked for, and what its user has
//! said about other accounts (follows, blocks either way, mutes), held in memory.

use std::collections::HashSet;

use sluice_model::Id;
use sluice_store::Store;

use crate::hub::Event;

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

    /// The name sent back in the `stream` array of WebSocket messages.
    pub fn name(&self) -> String {
        match self {
            StreamKind::User => "user".into(),
            StreamKind::UserNotification => "user:notification".into(),
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
        }
    }

    /// The `stream` array of WebSocket messages, as Mastodon sends it (masto.js
    /// matches on it): `["public:local"]`, `["hashtag", "rust"]`.
    pub fn array(&self) -> Vec<String> {
        match self {
            StreamKind::Hashtag { tag, .. } => vec![self.name(), tag.clone()],
            _ => vec![self.name()],
        }
    }

    /// A WebSocket message carrying `event` for this stream (Sluice extension: its
    /// log id in `id`); None when the event has nothing to send.
    pub fn ws_message(&self, event: &crate::hub::Event) -> Option<String> {
        let payload = event.payload.as_deref()?;
        Some(
            serde_json::json!({
                "stream": self.array(),
                "event": event.kind,
                "payload": payload,
                "id": event.id,
            })
            .to_string(),
        )
    }

    /// Whether the stream needs a signed-in user (not only an app token).
    pub fn needs_user(&self) -> bool {
        matches!(self, StreamKind::User | StreamKind::UserNotification)
    }
}

/// Most accounts of each kind a connection holds in memory.
const MAX_RELATIONS: i64 = 100_000;

/// A user's follows, blocks (either way) and mutes, as a connection holds them.
#[derive(Debug, Default, Clone)]
pub struct Relations {
    pub me: Option<Id>,
    following: HashSet<Id>,
    blocked: HashSet<Id>,
    muted: HashSet<Id>,
}

impl Relations {
    /// Loads them (nothing for an anonymous or app-only connection).
    pub async fn load(store: &Store, me: Option<Id>) -> Relations {
        let Some(me) = me else {
            return Relations::default();
        };
        match store.stream_relations(me, MAX_RELATIONS).await {
            Ok([following, blocked, muted]) => Relations {
                me: Some(me),
                following: following.into_iter().collect(),
                blocked: blocked.into_iter().collect(),
                muted: muted.into_iter().collect(),
            },
            Err(e) => {
                tracing::warn!(error = %e, "loading a stream's filters failed");
                Relations {
                    me: Some(me),
                    ..Relations::default()
                }
            }
        }
    }

    /// Whether `event` changes what this user follows, blocks or mutes (or who
    /// blocks them): the filters must be loaded again.
    pub fn reload_on(&self, event: &Event) -> bool {
        event.kind == "relationship"
            && self.me.is_some()
            && (event.account_id == self.me || event.recipient_id == self.me)
    }

    fn hides(&self, author: Id) -> bool {
        Some(author) != self.me && (self.blocked.contains(&author) || self.muted.contains(&author))
    }

    /// Whether `event` goes to a connection on `stream`.
    pub fn wants(&self, stream: &StreamKind, event: &Event) -> bool {
        if event.payload.is_none() {
            return false;
        }
        match event.kind.as_str() {
            "notification" => {
                matches!(stream, StreamKind::User | StreamKind::UserNotification)
                    && event.recipient_id.is_some()
                    && event.recipient_id == self.me
            }
            "update" | "status.update" | "delete" => {
                let Some(author) = event.account_id else {
                    return false;
                };
                if self.hides(author) {
                    return false;
                }
                let public = event.visibility == "public";
                match stream {
                    StreamKind::UserNotification => false,
                    StreamKind::User => {
                        let me = self.me;
                        Some(author) == me
                            || (self.following.contains(&author)
                                && (event.visibility != "direct"
                                    || me.is_some_and(|me| event.mentions.contains(&me))))
                    }
                    StreamKind::Public { local, only_media } => {
                        // Sluice stores no media yet: a media-only stream has nothing.
                        public
                            && !only_media
                            && (event.kind == "delete" || event.reblog_of.is_none())
                            && local.is_none_or(|l| event.kind == "delete" || l == event.local)
                    }
                    StreamKind::Hashtag { tag, local } => {
                        public
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
            payload: Some("{}".into()),
        }
    }

    #[test]
    fn stream_names_round_trip() {
        for name in [
            "user",
            "user:notification",
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
}
