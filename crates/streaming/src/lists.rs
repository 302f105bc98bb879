//! A user's lists and blocked domains as a streaming connection holds them, loaded
//! once (and again on the user's `lists` or `relationship` event), so the `list`
//! stream, exclusive lists and domain blocks cost no query per event.

use std::collections::{HashMap, HashSet};

use sluice_engine::rows::StreamListRow;
use sluice_model::Id;

use crate::hub::Event;

/// Which replies a list shows, besides replies to oneself and to the list's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replies {
    /// Replies to anyone the owner follows.
    Followed,
    /// Replies to members of the list.
    List,
    /// No other replies.
    None,
}

impl Replies {
    fn parse(policy: &str) -> Replies {
        match policy {
            "followed" => Replies::Followed,
            "none" => Replies::None,
            _ => Replies::List,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ListRule {
    pub(crate) members: HashSet<Id>,
    pub(crate) replies: Replies,
}

#[derive(Debug, Default, Clone)]
pub struct UserLists {
    pub(crate) lists: HashMap<Id, ListRule>,
    /// Members of the user's exclusive lists: left out of the home stream.
    pub(crate) exclusive: HashSet<Id>,
    /// Domains the user blocked.
    pub(crate) domains: HashSet<String>,
}

impl UserLists {
    /// Made from the rows the engine read (`Engine::stream_relations`).
    pub(crate) fn from_rows(lists: Vec<StreamListRow>, domains: Vec<String>) -> UserLists {
        let mut out = UserLists::default();
        for row in lists {
            out.add(
                row.list_id,
                &row.replies_policy,
                row.exclusive,
                row.member_id.into_iter(),
            );
        }
        out.domains = domains.into_iter().collect();
        out
    }

    /// Adds a list (or more members of one).
    pub(crate) fn add(
        &mut self,
        list: Id,
        policy: &str,
        exclusive: bool,
        members: impl Iterator<Item = Id>,
    ) {
        let rule = self.lists.entry(list).or_insert_with(|| ListRule {
            members: HashSet::new(),
            replies: Replies::parse(policy),
        });
        for m in members {
            rule.members.insert(m);
            if exclusive {
                self.exclusive.insert(m);
            }
        }
    }

    /// Takes `account` out of every list, as ending a follow does.
    pub(crate) fn remove_member(&mut self, account: Id) {
        for rule in self.lists.values_mut() {
            rule.members.remove(&account);
        }
        self.exclusive.remove(&account);
    }

    /// Whether the user has this list.
    pub fn owns(&self, list: Id) -> bool {
        self.lists.contains_key(&list)
    }

    /// Whether the event's author, or the reblogged post's author, is on a blocked
    /// domain.
    pub(crate) fn hides_domain(&self, event: &Event) -> bool {
        !self.domains.is_empty()
            && ((!event.domain.is_empty() && self.domains.contains(&event.domain))
                || event
                    .reblog_domain
                    .as_ref()
                    .is_some_and(|d| !d.is_empty() && self.domains.contains(d)))
    }

    /// Whether `author`'s posts are read in an exclusive list, not at home.
    pub(crate) fn exclusive_member(&self, author: Id) -> bool {
        self.exclusive.contains(&author)
    }

    /// Whether a status event of `author` belongs to the list's timeline (blocks,
    /// mutes and domains are checked by the caller).
    pub(crate) fn list_wants(
        &self,
        list: Id,
        me: Option<Id>,
        following: &HashSet<Id>,
        author: Id,
        event: &Event,
    ) -> bool {
        let Some(rule) = self.lists.get(&list) else {
            return false;
        };
        if !rule.members.contains(&author) || event.visibility == "direct" {
            return false;
        }
        match event.in_reply_to_account_id {
            None => true,
            Some(to) if to == author || Some(to) == me => true,
            Some(to) => match rule.replies {
                Replies::Followed => following.contains(&to),
                Replies::List => rule.members.contains(&to),
                Replies::None => false,
            },
        }
    }
}
