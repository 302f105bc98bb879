//! OAuth 2 scopes as Mastodon defines them: the top-level scopes `read`, `write`,
//! `follow`, `push`, `profile`, `admin:read`, `admin:write`, and their sub-scopes
//! (`read:statuses`, `write:favourites`, …). A granted top-level scope covers all its
//! sub-scopes; the legacy `follow` scope covers reading and writing blocks, follows and
//! mutes.

/// Every scope a client may ask for.
pub const ALL: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "admin:read",
    "admin:write",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

/// Sub-scopes that the legacy `follow` scope grants.
const FOLLOW_COVERS: &[&str] = &[
    "read:blocks",
    "write:blocks",
    "read:follows",
    "write:follows",
    "read:mutes",
    "write:mutes",
];

/// A set of granted scopes, in the order they were requested.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space- (or `+`-, or comma-) separated scope string. Unknown scopes are an
    /// error, naming the first one.
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut out: Vec<String> = Vec::new();
        for part in s.split([' ', '+', ',']).filter(|p| !p.is_empty()) {
            if !ALL.contains(&part) {
                return Err(part.to_string());
            }
            if !out.iter().any(|p| p == part) {
                out.push(part.to_string());
            }
        }
        Ok(Scopes(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether this grant covers `required` (a top-level or sub-scope).
    pub fn allows(&self, required: &str) -> bool {
        self.0.iter().any(|g| {
            g == required
                || required
                    .split_once(':')
                    .is_some_and(|(top, _)| g == top && top != "admin")
                || (g == "follow" && FOLLOW_COVERS.contains(&required))
                || (g == "admin:read" && required.starts_with("admin:read:"))
                || (g == "admin:write" && required.starts_with("admin:write:"))
        })
    }

    /// Whether every scope of `self` is covered by `other` (requested ⊆ registered).
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.allows(s))
    }

    /// True when any of the alternatives is allowed.
    pub fn allows_any(&self, alternatives: &[&str]) -> bool {
        alternatives.iter().any(|r| self.allows(r))
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_covers_sub_scopes() {
        let s = Scopes::parse("read write:statuses").unwrap();
        assert!(s.allows("read"));
        assert!(s.allows("read:notifications"));
        assert!(s.allows("write:statuses"));
        assert!(!s.allows("write"));
        assert!(!s.allows("write:favourites"));
        assert!(!s.allows("follow"));
    }

    #[test]
    fn follow_covers_relationship_scopes() {
        let s = Scopes::parse("follow").unwrap();
        assert!(s.allows("write:follows"));
        assert!(s.allows("read:blocks"));
        assert!(!s.allows("write:statuses"));
    }

    #[test]
    fn unknown_scope_is_rejected_and_subsets_checked() {
        assert_eq!(Scopes::parse("read bogus"), Err("bogus".to_string()));
        let app = Scopes::parse("read write follow").unwrap();
        assert!(
            Scopes::parse("read:statuses write")
                .unwrap()
                .is_subset_of(&app)
        );
        assert!(!Scopes::parse("push").unwrap().is_subset_of(&app));
        assert_eq!(
            Scopes::parse("read+write read").unwrap().to_string(),
            "read write"
        );
    }
}
