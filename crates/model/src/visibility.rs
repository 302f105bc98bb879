//! Post visibility, Mastodon's four levels, and how each maps onto ActivityStreams
//! addressing (`to`/`cc` with the Public collection and the author's followers).

use serde::{Deserialize, Serialize};

/// The Public collection, as we emit it. On input `Public` and `as:Public` mean the same.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

pub fn is_public_iri(iri: &str) -> bool {
    iri == PUBLIC || iri == "Public" || iri == "as:Public"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Visibility::Public),
            "unlisted" => Some(Visibility::Unlisted),
            "private" => Some(Visibility::Private),
            "direct" => Some(Visibility::Direct),
            _ => None,
        }
    }

    /// Who may see a post apart from its author and mentioned people.
    pub fn is_public_or_unlisted(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }

    /// `to` and `cc` for a post by an actor with the given followers collection,
    /// mentioning the given actors.
    pub fn addressing(self, followers: &str, mentioned: &[String]) -> (Vec<String>, Vec<String>) {
        let mentioned = mentioned.to_vec();
        match self {
            Visibility::Public => (
                vec![PUBLIC.into()],
                [vec![followers.into()], mentioned].concat(),
            ),
            Visibility::Unlisted => (
                vec![followers.into()],
                [vec![PUBLIC.into()], mentioned].concat(),
            ),
            Visibility::Private => ([vec![followers.into()], mentioned].concat(), vec![]),
            Visibility::Direct => (mentioned, vec![]),
        }
    }

    /// The visibility expressed by an addressing, the inverse of [`Visibility::addressing`].
    pub fn from_addressing(to: &[String], cc: &[String], followers: &str) -> Self {
        if to.iter().any(|i| is_public_iri(i)) {
            Visibility::Public
        } else if cc.iter().any(|i| is_public_iri(i)) {
            Visibility::Unlisted
        } else if to.iter().chain(cc).any(|i| i == followers) {
            Visibility::Private
        } else {
            Visibility::Direct
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_round_trips() {
        let followers = "https://a.example/users/x/followers";
        let mentioned = vec!["https://b.example/users/y".to_string()];
        for v in [
            Visibility::Public,
            Visibility::Unlisted,
            Visibility::Private,
            Visibility::Direct,
        ] {
            let (to, cc) = v.addressing(followers, &mentioned);
            assert_eq!(Visibility::from_addressing(&to, &cc, followers), v);
        }
        assert!(is_public_iri("as:Public"));
        assert!(is_public_iri("Public"));
    }
}
