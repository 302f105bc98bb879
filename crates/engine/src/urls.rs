//! Every IRI and link Sluice mints, in one place, built from `SLUICE_PUBLIC_URL`.
//! The ActivityPub ids follow Mastodon's layout, which other servers and tools expect.

use sluice_model::Id;

#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
    domain: String,
}

impl Urls {
    pub fn new(public_url: &str) -> Self {
        let base = public_url.trim_end_matches('/').to_string();
        let domain = url::Url::parse(&base)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| base.clone());
        Urls { base, domain }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The instance's domain as used in `acct` URIs and WebFinger (host, and port when
    /// it is not the scheme's default).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn actor(&self, username: &str) -> String {
        format!("{}/users/{username}", self.base)
    }
    pub fn profile(&self, username: &str) -> String {
        format!("{}/@{username}", self.base)
    }
    pub fn inbox(&self, username: &str) -> String {
        format!("{}/users/{username}/inbox", self.base)
    }
    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }
    pub fn followers(&self, username: &str) -> String {
        format!("{}/users/{username}/followers", self.base)
    }
    pub fn following(&self, username: &str) -> String {
        format!("{}/users/{username}/following", self.base)
    }
    pub fn outbox(&self, username: &str) -> String {
        format!("{}/users/{username}/outbox", self.base)
    }
    pub fn featured(&self, username: &str) -> String {
        format!("{}/users/{username}/collections/featured", self.base)
    }
    /// The actor's `featuredTags` collection.
    pub fn featured_tags(&self, username: &str) -> String {
        format!("{}/users/{username}/collections/tags", self.base)
    }
    /// The posts an account liked (ActivityPub `liked`).
    pub fn liked(&self, username: &str) -> String {
        format!("{}/liked", self.actor(username))
    }
    /// The ActivityStreams id of an upload (ActivityPub `uploadMedia`).
    pub fn media_object(&self, username: &str, id: Id) -> String {
        format!("{}/media/{id}", self.actor(username))
    }
    /// The id of a local actor's signing key.
    pub fn key_id(&self, actor_uri: &str) -> String {
        format!("{actor_uri}#main-key")
    }
    /// The instance actor, which signs fetches made on behalf of the server.
    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }
    pub fn status(&self, username: &str, id: Id) -> String {
        format!("{}/users/{username}/statuses/{id}", self.base)
    }
    pub fn status_page(&self, username: &str, id: Id) -> String {
        format!("{}/@{username}/{id}", self.base)
    }
    pub fn activity(&self, username: &str, id: Id) -> String {
        format!("{}/users/{username}/activities/{id}", self.base)
    }
    pub fn tag(&self, name: &str) -> String {
        format!("{}/tags/{name}", self.base)
    }
    pub fn default_avatar(&self) -> String {
        format!("{}/avatars/original/missing.png", self.base)
    }
    pub fn default_header(&self) -> String {
        format!("{}/headers/original/missing.png", self.base)
    }

    /// What one of this server's web pages shows: `/@name` (a profile) or `/@name/ID`
    /// (a post), as links to them are pasted (a query or fragment ignored).
    pub fn local_page(&self, url: &str) -> Option<LocalPage> {
        let path = url.strip_prefix(&self.base)?.strip_prefix("/@")?;
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let (name, rest) = path.split_once('/').unwrap_or((path, ""));
        if name.is_empty() || name.contains('@') {
            return None;
        }
        match rest {
            "" => Some(LocalPage::Profile {
                username: name.to_string(),
            }),
            id => Some(LocalPage::Post {
                username: name.to_string(),
                id: sluice_model::id::parse_id(id)?,
            }),
        }
    }
}

/// One of this server's web pages ([`Urls::local_page`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalPage {
    Profile { username: String },
    Post { username: String, id: Id },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_keeps_non_default_port() {
        assert_eq!(
            Urls::new("http://127.0.0.1:8080/").domain(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            Urls::new("https://social.example").domain(),
            "social.example"
        );
        assert_eq!(
            Urls::new("https://social.example").actor("a"),
            "https://social.example/users/a"
        );
    }

    #[test]
    fn local_pages() {
        let u = Urls::new("https://social.example");
        assert_eq!(
            u.local_page("https://social.example/@alice/123?x=1"),
            Some(LocalPage::Post {
                username: "alice".into(),
                id: 123
            })
        );
        assert_eq!(
            u.local_page("https://social.example/@alice"),
            Some(LocalPage::Profile {
                username: "alice".into()
            })
        );
        assert_eq!(u.local_page("https://social.example/@alice/x"), None);
        assert_eq!(
            u.local_page("https://social.example/@bob@other.example"),
            None
        );
        assert_eq!(u.local_page("https://other.example/@alice/123"), None);
        assert_eq!(u.local_page("https://social.example/users/alice"), None);
    }
}
