//! Keyword filters, compiled: the one place where a user's filters are matched against
//! a status. The API (timelines, threads, notifications, profiles) and the streaming
//! server (per connection, in memory) both use a [`FilterSet`].
//!
//! Matching follows Mastodon: keywords match case-insensitively in the status's
//! searchable text (spoiler text and the plain text of its content, and poll options
//! when there are any); a `whole_word` keyword must not touch a word character on a
//! side where the keyword itself begins or ends with one (Mastodon's `\b` only on
//! word-character ends). Expired filters do not apply. The text is lowercased once per
//! status ([`searchable_text`]); matching a status allocates nothing unless a filter
//! matches.

use serde_json::{Value, json};

use crate::Id;

/// Where a filter applies, as Mastodon names the contexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterContext {
    Home,
    Notifications,
    Public,
    Thread,
    Account,
}

impl FilterContext {
    pub const ALL: [FilterContext; 5] = [
        FilterContext::Home,
        FilterContext::Notifications,
        FilterContext::Public,
        FilterContext::Thread,
        FilterContext::Account,
    ];

    pub fn parse(s: &str) -> Option<FilterContext> {
        FilterContext::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FilterContext::Home => "home",
            FilterContext::Notifications => "notifications",
            FilterContext::Public => "public",
            FilterContext::Thread => "thread",
            FilterContext::Account => "account",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// What a matching filter does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAction {
    /// Show the status with a warning (the `filtered` array).
    Warn,
    /// Leave the status out.
    Hide,
}

impl FilterAction {
    pub fn parse(s: &str) -> Option<FilterAction> {
        match s {
            "warn" => Some(FilterAction::Warn),
            "hide" => Some(FilterAction::Hide),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FilterAction::Warn => "warn",
            FilterAction::Hide => "hide",
        }
    }
}

/// A keyword, as entered and lowercased for matching.
#[derive(Debug, Clone)]
struct Keyword {
    keyword: String,
    lower: String,
    whole_word: bool,
}

/// One filter, ready to match.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    pub id: Id,
    contexts: u8,
    pub action: FilterAction,
    pub expires_at: Option<i64>,
    keywords: Vec<Keyword>,
    status_ids: Vec<Id>,
    /// The Filter entity as a FilterResult carries it (without keywords and statuses).
    pub entity: Value,
}

impl CompiledFilter {
    /// `entity` is the Filter entity a FilterResult shows; `keywords` are
    /// `(keyword, whole_word)`.
    pub fn new(
        id: Id,
        contexts: &[FilterContext],
        action: FilterAction,
        expires_at: Option<i64>,
        keywords: impl IntoIterator<Item = (String, bool)>,
        status_ids: Vec<Id>,
        entity: Value,
    ) -> CompiledFilter {
        CompiledFilter {
            id,
            contexts: contexts.iter().fold(0, |m, c| m | c.bit()),
            action,
            expires_at,
            keywords: keywords
                .into_iter()
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(keyword, whole_word)| Keyword {
                    lower: keyword.to_lowercase(),
                    keyword,
                    whole_word,
                })
                .collect(),
            status_ids,
            entity,
        }
    }

    fn applies(&self, context: FilterContext, now: i64) -> bool {
        self.contexts & context.bit() != 0 && self.expires_at.is_none_or(|t| t > now)
    }
}

/// A filter that matched a status, with what matched.
#[derive(Debug, Clone)]
pub struct FilterMatch<'a> {
    pub filter: &'a CompiledFilter,
    /// The filter's keywords found in the text, as the user wrote them.
    pub keywords: Vec<&'a str>,
    /// The status ids (of the status or the one it reblogs) the filter names.
    pub statuses: Vec<Id>,
}

impl FilterMatch<'_> {
    /// Mastodon's FilterResult entity.
    pub fn result(&self) -> Value {
        json!({
            "filter": self.filter.entity,
            "keyword_matches": if self.keywords.is_empty() { Value::Null } else { json!(self.keywords) },
            "status_matches": if self.statuses.is_empty() {
                Value::Null
            } else {
                json!(self.statuses.iter().map(Id::to_string).collect::<Vec<_>>())
            },
        })
    }
}

/// A user's filters. Empty for anonymous viewers and users without filters.
#[derive(Debug, Clone, Default)]
pub struct FilterSet {
    filters: Vec<CompiledFilter>,
}

impl FilterSet {
    pub fn new(filters: Vec<CompiledFilter>) -> FilterSet {
        FilterSet { filters }
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The filters applying in `context` at `now` that match a status whose searchable
    /// text ([`searchable_text`]) is `text` and whose ids (its own, and the one it
    /// reblogs) are `ids`. No allocation when nothing matches.
    pub fn matches<'a>(
        &'a self,
        context: FilterContext,
        now: i64,
        text: &str,
        ids: &[Id],
    ) -> Vec<FilterMatch<'a>> {
        let mut out = Vec::new();
        for f in self.filters.iter().filter(|f| f.applies(context, now)) {
            let mut keywords = Vec::new();
            for k in &f.keywords {
                if contains_keyword(text, &k.lower, k.whole_word) {
                    keywords.push(k.keyword.as_str());
                }
            }
            let mut statuses = Vec::new();
            for id in ids {
                if f.status_ids.contains(id) && !statuses.contains(id) {
                    statuses.push(*id);
                }
            }
            if !keywords.is_empty() || !statuses.is_empty() {
                out.push(FilterMatch {
                    filter: f,
                    keywords,
                    statuses,
                });
            }
        }
        out
    }
}

/// Whether any of `matches` hides the status.
pub fn hides(matches: &[FilterMatch<'_>]) -> bool {
    matches
        .iter()
        .any(|m| m.filter.action == FilterAction::Hide)
}

/// The `filtered` array of a status.
pub fn results(matches: &[FilterMatch<'_>]) -> Vec<Value> {
    matches.iter().map(FilterMatch::result).collect()
}

/// The text filters match against, lowercased: spoiler text, the plain text of the
/// content (HTML), poll options, separated by blank lines (as Mastodon's
/// `searchable_text`).
pub fn searchable_text<'a>(
    spoiler_text: &str,
    content_html: &str,
    poll_options: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut text = String::with_capacity(spoiler_text.len() + content_html.len() + 2);
    text.push_str(spoiler_text);
    text.push_str("\n\n");
    text.push_str(&crate::content::html_to_plain(content_html));
    for option in poll_options {
        text.push_str("\n\n");
        text.push_str(option);
    }
    text.to_lowercase()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether lowercase `keyword` occurs in lowercase `text` (as a whole word when
/// `whole_word`, on the sides where the keyword has word characters).
pub fn contains_keyword(text: &str, keyword: &str, whole_word: bool) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if !whole_word {
        return text.contains(keyword);
    }
    let check_start = keyword.chars().next().is_some_and(is_word);
    let check_end = keyword.chars().next_back().is_some_and(is_word);
    text.match_indices(keyword).any(|(at, m)| {
        let before_ok = !check_start || !text[..at].chars().next_back().is_some_and(is_word);
        let after_ok = !check_end || !text[at + m.len()..].chars().next().is_some_and(is_word);
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(
        id: Id,
        action: FilterAction,
        contexts: &[FilterContext],
        kws: &[(&str, bool)],
    ) -> CompiledFilter {
        CompiledFilter::new(
            id,
            contexts,
            action,
            None,
            kws.iter().map(|(k, w)| (k.to_string(), *w)),
            vec![],
            json!({"id": id.to_string()}),
        )
    }

    #[test]
    fn keywords_match_case_insensitively_with_word_boundaries() {
        let text = searchable_text(
            "CW: Spoilers",
            "<p>I love <b>Rust</b>-lang and cats!</p>",
            [],
        );
        assert!(contains_keyword(&text, "rust", true));
        assert!(contains_keyword(&text, "cat", false));
        assert!(!contains_keyword(&text, "cat", true));
        assert!(contains_keyword(&text, "cats", true));
        assert!(contains_keyword(&text, "spoilers", true));
        assert!(!contains_keyword(&text, "lov", true));
        // Boundaries only where the keyword has word characters at its ends.
        assert!(contains_keyword(&text, "cats!", true));
        assert!(contains_keyword(&text, "-lang", true));
        assert!(!contains_keyword(&text, "", false));
        // Unicode letters are word characters.
        let t = searchable_text("", "Ärger über Äpfel", []);
        assert!(contains_keyword(&t, "äpfel", true));
        assert!(!contains_keyword(&t, "pfel", true));
        // A later occurrence can match when the first is inside a word.
        let t = searchable_text("", "catalog, then cat", []);
        assert!(contains_keyword(&t, "cat", true));
        // Poll options count.
        let t = searchable_text("", "vote", ["Pineapple pizza"]);
        assert!(contains_keyword(&t, "pineapple", true));
    }

    #[test]
    fn sets_respect_context_expiry_and_statuses() {
        let mut hide = filter(
            1,
            FilterAction::Hide,
            &[FilterContext::Home],
            &[("spoiler", true)],
        );
        let warn = CompiledFilter::new(
            2,
            &[FilterContext::Home, FilterContext::Public],
            FilterAction::Warn,
            None,
            [("Rust".to_string(), false)],
            vec![77],
            json!({}),
        );
        hide.expires_at = Some(1_000);
        let set = FilterSet::new(vec![hide, warn]);
        let text = searchable_text("", "a spoiler about rust", []);
        let m = set.matches(FilterContext::Home, 10, &text, &[5]);
        assert_eq!(m.len(), 2);
        assert!(hides(&m));
        assert_eq!(m[1].keywords, vec!["Rust"]);
        // Expired: only the warning is left.
        let m = set.matches(FilterContext::Home, 2_000, &text, &[5]);
        assert_eq!(m.len(), 1);
        assert!(!hides(&m));
        // Another context.
        assert!(
            set.matches(FilterContext::Thread, 10, &text, &[5])
                .is_empty()
        );
        // A status match, by the reblogged status's id.
        let m = set.matches(FilterContext::Public, 10, "nothing", &[9, 77]);
        assert_eq!(m[0].statuses, vec![77]);
        let r = results(&m);
        assert_eq!(r[0]["status_matches"], json!(["77"]));
        assert_eq!(r[0]["keyword_matches"], Value::Null);
    }
}
