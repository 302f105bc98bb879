//! Full-text search: the words a post is indexed by, and a search query read into
//! words, phrases and Mastodon's operators (4.2+: `from:`, `has:`, `is:`, `language:`,
//! `before:`, `after:`, `during:`, `in:`), in one place for both databases.
//!
//! Words are runs of letters and digits, lowercased: the index and the query are cut
//! the same way here, so SQLite's FTS5 and PostgreSQL's `simple` configuration see the
//! same words (SQLite also folds diacritics; PostgreSQL does not).

use time::{Date, Month, format_description::BorrowedFormatItem, macros::format_description};

/// The most words (and phrases) a query may hold; more is refused.
pub const MAX_QUERY_TERMS: usize = 32;
/// The most characters of a post indexed (content and content warning); the rest of a
/// very long post is not searchable.
pub const MAX_INDEXED_CHARS: usize = 100_000;

const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
const DAY_MS: i64 = 86_400_000;

/// The words of `text`, lowercased, separated by single spaces.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// What a post is indexed by: the words of its content warning and of the plain text
/// of its content (HTML), at most [`MAX_INDEXED_CHARS`] characters.
pub fn indexed_text(spoiler_text: &str, content_html: &str) -> String {
    let plain = crate::content::html_to_plain(content_html);
    let mut text = String::with_capacity(spoiler_text.len() + plain.len() + 1);
    text.push_str(spoiler_text);
    text.push(' ');
    text.push_str(&plain);
    let cut = text
        .char_indices()
        .nth(MAX_INDEXED_CHARS)
        .map_or(text.len(), |(i, _)| i);
    words(&text[..cut]).join(" ")
}

/// Whose posts `from:` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// `from:me`
    Me,
    /// `from:user`, `from:@user`, `from:user@host`: without the leading `@`.
    Acct(String),
}

/// One searched term: a word, or a phrase (words next to each other, in order).
pub type Term = Vec<String>;

/// A search query as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusQuery {
    /// Terms every result has.
    pub terms: Vec<Term>,
    /// Terms no result has (`-word`, `-"a phrase"`).
    pub excluded: Vec<Term>,
    /// `from:`
    pub from: Option<Author>,
    /// `has:media` (true) / `-has:media` (false).
    pub has_media: Option<bool>,
    /// `has:poll` / `-has:poll`.
    pub has_poll: Option<bool>,
    /// `is:reply` / `-is:reply`.
    pub is_reply: Option<bool>,
    /// `is:sensitive` / `-is:sensitive`.
    pub is_sensitive: Option<bool>,
    /// `language:xx`
    pub language: Option<String>,
    /// Created at or after this (ms, UTC): `after:` (the day after), `during:`.
    pub since_ms: Option<i64>,
    /// Created before this (ms, UTC): `before:`, `during:` (the day after).
    pub until_ms: Option<i64>,
    /// `in:library`: only the viewer's own posts and those they interacted with.
    pub library_only: bool,
}

impl StatusQuery {
    /// Whether the query asks for anything at all (words or an operator).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
            && self.excluded.is_empty()
            && self.from.is_none()
            && self.has_media.is_none()
            && self.is_reply.is_none()
            && self.is_sensitive.is_none()
            && self.language.is_none()
            && self.since_ms.is_none()
            && self.until_ms.is_none()
            && !self.library_only
    }
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A piece of the query: its text, whether it was quoted, whether it was negated.
struct Token<'a> {
    text: &'a str,
    quoted: bool,
    negated: bool,
}

/// Splits `q` into whitespace-separated pieces and quoted phrases, each with its
/// leading `-` (negation) or `+` (required, the default) taken off.
fn tokens(q: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = q.trim_start();
    while !rest.is_empty() {
        let (negated, body) = match rest.as_bytes()[0] {
            b'-' => (true, &rest[1..]),
            b'+' => (false, &rest[1..]),
            _ => (false, rest),
        };
        if let Some(inner) = body.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            out.push(Token {
                text: &inner[..end],
                quoted: true,
                negated,
            });
            rest = inner[end..].strip_prefix('"').unwrap_or(&inner[end..]);
        } else {
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            out.push(Token {
                text: &body[..end],
                quoted: false,
                negated,
            });
            rest = &body[end..];
        }
        rest = rest.trim_start();
    }
    out
}

fn date(value: &str, op: &str) -> Result<i64, QueryError> {
    let d = Date::parse(value, DATE)
        .map_err(|_| QueryError(format!("{op}: expects a date as YYYY-MM-DD")))?;
    Ok(day_start_ms(d))
}

fn day_start_ms(d: Date) -> i64 {
    let days = d.to_julian_day()
        - Date::from_calendar_date(1970, Month::January, 1).map_or(0, Date::to_julian_day);
    i64::from(days) * DAY_MS
}

/// Reads a search query: words, `"quoted phrases"`, `-excluded` terms and the
/// operators. An operator Sluice does not know (`foo:bar`) is searched as words, as
/// Mastodon does; a known one with a value it cannot use is an error.
pub fn parse(q: &str) -> Result<StatusQuery, QueryError> {
    let mut out = StatusQuery::default();
    for t in tokens(q) {
        if !t.quoted
            && let Some((op, value)) = t.text.split_once(':')
            && !value.is_empty()
        {
            let op_lc = op.to_ascii_lowercase();
            let known = apply_operator(&mut out, &op_lc, value, t.negated)?;
            if known {
                continue;
            }
        }
        let term = words(t.text);
        if term.is_empty() {
            continue;
        }
        if t.negated {
            out.excluded.push(term);
        } else {
            out.terms.push(term);
        }
        if out.terms.len() + out.excluded.len() > MAX_QUERY_TERMS {
            return Err(QueryError(format!(
                "a search holds at most {MAX_QUERY_TERMS} words or phrases"
            )));
        }
    }
    Ok(out)
}

/// Applies one `op:value`; false when `op` is not an operator.
fn apply_operator(
    out: &mut StatusQuery,
    op: &str,
    value: &str,
    negated: bool,
) -> Result<bool, QueryError> {
    let only_positive = |what: &str| {
        if negated {
            Err(QueryError(format!("-{what}: cannot be negated")))
        } else {
            Ok(())
        }
    };
    match op {
        "from" => {
            only_positive("from")?;
            let who = value.trim_start_matches('@');
            if who.is_empty() {
                return Err(QueryError("from: expects an account".into()));
            }
            out.from = Some(if who.eq_ignore_ascii_case("me") {
                Author::Me
            } else {
                Author::Acct(who.to_string())
            });
        }
        "has" => match value.to_ascii_lowercase().as_str() {
            "media" => out.has_media = Some(!negated),
            "poll" => out.has_poll = Some(!negated),
            other => {
                return Err(QueryError(format!(
                    "has:{other} is not supported (has:media and has:poll are)"
                )));
            }
        },
        "is" => match value.to_ascii_lowercase().as_str() {
            "reply" => out.is_reply = Some(!negated),
            "sensitive" => out.is_sensitive = Some(!negated),
            other => {
                return Err(QueryError(format!(
                    "is:{other} is not supported (is:reply and is:sensitive are)"
                )));
            }
        },
        "language" => {
            only_positive("language")?;
            let ok =
                (2..=3).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphabetic());
            if !ok {
                return Err(QueryError("language: expects an ISO 639 code".into()));
            }
            out.language = Some(value.to_ascii_lowercase());
        }
        "before" => {
            only_positive("before")?;
            let t = date(value, "before")?;
            out.until_ms = Some(out.until_ms.map_or(t, |u| u.min(t)));
        }
        "after" => {
            only_positive("after")?;
            let t = date(value, "after")? + DAY_MS;
            out.since_ms = Some(out.since_ms.map_or(t, |s| s.max(t)));
        }
        "during" => {
            only_positive("during")?;
            let start = date(value, "during")?;
            out.since_ms = Some(out.since_ms.map_or(start, |s| s.max(start)));
            let end = start + DAY_MS;
            out.until_ms = Some(out.until_ms.map_or(end, |u| u.min(end)));
        }
        "in" => {
            only_positive("in")?;
            match value.to_ascii_lowercase().as_str() {
                "library" => out.library_only = true,
                "all" | "public" => {}
                other => {
                    return Err(QueryError(format!(
                        "in:{other} is not supported (in:library and in:all are)"
                    )));
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &[&str]) -> Term {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn words_are_letters_and_digits_lowercased() {
        assert_eq!(
            words("Hello, Wörld! v2.0 l'été"),
            w(&["hello", "wörld", "v2", "0", "l", "été"])
        );
        assert!(words(" -- ").is_empty());
    }

    #[test]
    fn indexed_text_drops_markup_and_keeps_the_warning() {
        let t = indexed_text(
            "Spoiler",
            "<p>Hi <a href=\"https://x.example/@bob\" class=\"u-url mention\">@<span>bob</span></a> &amp; friends</p>",
        );
        assert_eq!(t, "spoiler hi bob friends");
    }

    #[test]
    fn plain_words_phrases_and_exclusions() {
        let q = parse("Cats \"big dogs\" -mice -\"tiny birds\" +owls").unwrap();
        assert_eq!(
            q.terms,
            vec![w(&["cats"]), w(&["big", "dogs"]), w(&["owls"])]
        );
        assert_eq!(q.excluded, vec![w(&["mice"]), w(&["tiny", "birds"])]);
        // A hyphenated word is a phrase of its parts; punctuation alone is nothing.
        let q = parse("well-known !!").unwrap();
        assert_eq!(q.terms, vec![w(&["well", "known"])]);
        // An unterminated quote runs to the end.
        assert_eq!(parse("\"a b").unwrap().terms, vec![w(&["a", "b"])]);
    }

    #[test]
    fn operators() {
        let q = parse("from:@alice@example.com has:media is:reply -is:sensitive language:EN cats")
            .unwrap();
        assert_eq!(q.from, Some(Author::Acct("alice@example.com".into())));
        assert_eq!(q.has_media, Some(true));
        assert_eq!(q.is_reply, Some(true));
        assert_eq!(q.is_sensitive, Some(false));
        assert_eq!(q.language.as_deref(), Some("en"));
        assert_eq!(q.terms, vec![w(&["cats"])]);
        assert_eq!(parse("FROM:me").unwrap().from, Some(Author::Me));
        assert_eq!(parse("-has:media").unwrap().has_media, Some(false));
        assert_eq!(parse("has:poll").unwrap().has_poll, Some(true));
        assert!(parse("in:library").unwrap().library_only);
        assert!(!parse("in:all").unwrap().library_only);
        // Not an operator: searched as words.
        assert_eq!(parse("foo:bar").unwrap().terms, vec![w(&["foo", "bar"])]);
        // An operator quoted is words too.
        assert_eq!(
            parse("\"from:me\"").unwrap().terms,
            vec![w(&["from", "me"])]
        );
        // An operator without a value is a word.
        assert_eq!(parse("from:").unwrap().terms, vec![w(&["from"])]);
    }

    #[test]
    fn dates_are_utc_days() {
        let day = |s: &str| day_start_ms(Date::parse(s, DATE).unwrap());
        assert_eq!(day("1970-01-02"), DAY_MS);
        let q = parse("before:2024-03-10").unwrap();
        assert_eq!(q.until_ms, Some(day("2024-03-10")));
        let q = parse("after:2024-03-10").unwrap();
        assert_eq!(q.since_ms, Some(day("2024-03-11")));
        let q = parse("during:2024-02-29").unwrap();
        assert_eq!(q.since_ms, Some(day("2024-02-29")));
        assert_eq!(q.until_ms, Some(day("2024-03-01")));
        // Narrowed, never widened.
        let q = parse("after:2024-01-01 during:2024-01-05 before:2024-01-03").unwrap();
        assert_eq!(q.since_ms, Some(day("2024-01-05")));
        assert_eq!(q.until_ms, Some(day("2024-01-03")));
    }

    #[test]
    fn bad_operator_values_are_refused() {
        for q in [
            "before:yesterday",
            "after:2024-13-01",
            "during:2024-02-30",
            "has:link",
            "is:boring",
            "in:space",
            "language:english",
            "-from:me",
            "-before:2024-01-01",
            "from:@",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
        let many = (0..=MAX_QUERY_TERMS)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(parse(&many).is_err());
    }

    #[test]
    fn empty_queries() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("  ... ").unwrap().is_empty());
        assert!(!parse("is:reply").unwrap().is_empty());
    }
}
