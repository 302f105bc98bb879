//! A post as its Note (or the object type a C2S client gave it).

use serde_json::{Value, json};
use sluice_model::Timestamp;
use sluice_model::media::Attachment;
use sluice_store::{AccountRow, PollRow, StatusRow};

use crate::pipeline::ClientObject;
use crate::urls::Urls;

/// The fields of a Note as we publish it.
#[derive(Debug, Clone)]
struct NoteDoc<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub attributed_to: &'a str,
    pub content: &'a str,
    pub summary: Option<&'a str>,
    pub sensitive: bool,
    pub in_reply_to: Option<&'a str>,
    pub published: Timestamp,
    pub updated: Option<Timestamp>,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub language: Option<&'a str>,
    /// `(href, name)` of mentioned actors.
    pub mentions: &'a [(String, String)],
    /// `(href, name)` of hashtags, name without `#`.
    pub hashtags: &'a [(String, String)],
}

/// A Note from its fields (no `@context`: it is embedded in its activity).
fn note(n: &NoteDoc<'_>) -> Value {
    let mut tags: Vec<Value> = n
        .mentions
        .iter()
        .map(|(href, name)| json!({"type": "Mention", "href": href, "name": name}))
        .collect();
    tags.extend(
        n.hashtags.iter().map(
            |(href, name)| json!({"type": "Hashtag", "href": href, "name": format!("#{name}")}),
        ),
    );
    let mut doc = json!({
        "id": n.id,
        "type": "Note",
        "url": n.url,
        "attributedTo": n.attributed_to,
        "content": n.content,
        "summary": n.summary.filter(|s| !s.is_empty()),
        "sensitive": n.sensitive,
        "inReplyTo": n.in_reply_to,
        "published": n.published.to_rfc3339(),
        "to": n.to,
        "cc": n.cc,
        "tag": tags,
    });
    if let Some(updated) = n.updated {
        doc["updated"] = json!(updated.to_rfc3339());
    }
    if let Some(lang) = n.language {
        doc["contentMap"] = json!({ lang: n.content });
    }
    doc
}

/// What a post's Note names besides its row.
pub struct NoteParts<'a> {
    /// Shown mentions (a `Mention` tag each).
    pub mentioned: &'a [AccountRow],
    /// Hashtags, without `#`.
    pub tags: &'a [String],
    pub to: &'a [String],
    pub cc: &'a [String],
    /// The IRI of the post it answers.
    pub in_reply_to: Option<&'a str>,
}

/// The ActivityStreams Note for a stored status.
pub fn note_document(urls: &Urls, s: &StatusRow, author: &AccountRow, p: &NoteParts<'_>) -> Value {
    let mentions: Vec<(String, String)> = p
        .mentioned
        .iter()
        .map(|a| {
            (
                a.uri.clone(),
                format!(
                    "@{}@{}",
                    a.username,
                    if a.is_local() {
                        urls.domain()
                    } else {
                        &a.domain
                    }
                ),
            )
        })
        .collect();
    let hashtags: Vec<(String, String)> = p.tags.iter().map(|t| (urls.tag(t), t.clone())).collect();
    let mut doc = note(&NoteDoc {
        id: &s.uri,
        url: &s.url,
        attributed_to: &author.uri,
        content: &s.content,
        summary: Some(&s.spoiler_text),
        sensitive: s.sensitive,
        in_reply_to: p.in_reply_to,
        published: Timestamp(s.created_at),
        updated: s.edited_at.map(Timestamp),
        to: p.to,
        cc: p.cc,
        language: s.language.as_deref(),
        mentions: &mentions,
        hashtags: &hashtags,
    });
    let attachments = Attachment::read_list(&s.attachments);
    if !attachments.is_empty()
        && let Some(o) = doc.as_object_mut()
    {
        o.insert(
            "attachment".into(),
            Value::Array(attachments.iter().map(super::attachment).collect()),
        );
    }
    doc
}

/// Adds the text a post was written as, in its format (`source: {content, mediaType}`,
/// as Pleroma and Misskey publish it): for posts not written as plain text, so that
/// servers that edit or quote the source get it as typed.
pub fn apply_source(doc: &mut Value, text: &str, media_type: &str) {
    if let Some(o) = doc.as_object_mut() {
        o.insert(
            "source".into(),
            json!({"content": text, "mediaType": media_type}),
        );
    }
}

/// Makes a post's object the `Question` of its poll, as Mastodon publishes one: the
/// options in `oneOf` (or `anyOf` when several may be chosen), each a `Note` named by
/// its title with its count in `replies.totalItems`; `endTime`, `votersCount`, and
/// `closed` (the end) once voting ended. Counts are published even while the API hides
/// them (`hide_totals`), as Mastodon does: remote servers show them as they choose.
pub fn apply_poll(doc: &mut Value, poll: &PollRow, now: i64) {
    let Some(o) = doc.as_object_mut() else {
        return;
    };
    let options: Vec<Value> = poll
        .option_titles()
        .into_iter()
        .zip(poll.tally_counts())
        .map(|(name, n)| {
            json!({
                "type": "Note",
                "name": name,
                "replies": {"type": "Collection", "totalItems": n},
            })
        })
        .collect();
    o.insert("type".into(), Value::String("Question".into()));
    o.remove("oneOf");
    o.remove("anyOf");
    let key = if poll.multiple { "anyOf" } else { "oneOf" };
    o.insert(key.into(), Value::Array(options));
    match poll.expires_at {
        Some(end) => {
            o.insert("endTime".into(), json!(Timestamp(end).to_rfc3339()));
        }
        None => {
            o.remove("endTime");
        }
    }
    if poll.expired_at(now) {
        let end = poll.expires_at.or(poll.closed_at).unwrap_or(now);
        o.insert("closed".into(), json!(Timestamp(end).to_rfc3339()));
    } else {
        o.remove("closed");
    }
    o.insert("votersCount".into(), json!(poll.voters_count.unwrap_or(0)));
}

/// Gives the object we federate a client's type and properties (ActivityPub C2S).
pub(crate) fn apply_client_object(note: &mut Value, c: &ClientObject) {
    if let Some(doc) = note.as_object_mut() {
        doc.insert("type".into(), Value::String(c.object_type.clone()));
        for (k, v) in &c.properties {
            doc.insert(k.clone(), v.clone());
        }
    }
}

/// Adds a post's quote properties (FEP-044f): who may quote it
/// (`interactionPolicy.canQuote`: the public, the author's followers, or the author
/// alone) and, when it quotes a post, `quote` with the older servers' `quoteUri` and
/// `_misskey_quote`, and the `quoteAuthorization` stamp when it was accepted.
pub fn apply_quote(
    doc: &mut Value,
    author: &AccountRow,
    policy: crate::quotes::QuotePolicy,
    quote: Option<(&str, Option<String>)>,
) {
    use crate::quotes::QuotePolicy;
    let automatic: Vec<&str> = match policy {
        QuotePolicy::Public => vec![sluice_model::visibility::PUBLIC],
        QuotePolicy::Followers => vec![author.followers_url.as_str()],
        QuotePolicy::Nobody => vec![],
    };
    let mut automatic: Vec<Value> = automatic.into_iter().map(|s| json!(s)).collect();
    automatic.push(json!(author.uri));
    doc["interactionPolicy"] = json!({
        "canQuote": {"automaticApproval": automatic, "manualApproval": []}
    });
    if let Some((uri, authorization)) = quote {
        doc["quote"] = json!(uri);
        doc["quoteUri"] = json!(uri);
        doc["_misskey_quote"] = json!(uri);
        if let Some(a) = authorization {
            doc["quoteAuthorization"] = json!(a);
        }
    }
}

/// The QuoteAuthorization stamp (FEP-044f) a local author gives a quote of their post.
pub fn quote_authorization(id: &str, author: &str, quoting: &str, quoted: &str) -> Value {
    json!({
        "@context": super::context(),
        "id": id,
        "type": "QuoteAuthorization",
        "attributedTo": author,
        "interactingObject": quoting,
        "interactionTarget": quoted,
    })
}

#[cfg(test)]
mod tests {
    use sluice_model::activity::Verb;

    use super::*;

    #[test]
    fn note_in_create_has_addressing_and_tags() {
        let to = vec![sluice_model::visibility::PUBLIC.to_string()];
        let cc = vec!["https://a.example/users/x/followers".to_string()];
        let mentions = vec![(
            "https://b.example/users/y".to_string(),
            "@y@b.example".to_string(),
        )];
        let tags = vec![(
            "https://a.example/tags/rust".to_string(),
            "rust".to_string(),
        )];
        let n = note(&NoteDoc {
            id: "https://a.example/users/x/statuses/1",
            url: "https://a.example/@x/1",
            attributed_to: "https://a.example/users/x",
            content: "<p>hi</p>",
            summary: Some(""),
            sensitive: false,
            in_reply_to: None,
            published: Timestamp(0),
            updated: None,
            to: &to,
            cc: &cc,
            language: Some("en"),
            mentions: &mentions,
            hashtags: &tags,
        });
        let a = super::super::activity(
            "https://a.example/a/1",
            Verb::Create,
            "https://a.example/users/x",
            n,
            &to,
            &cc,
            Timestamp(0),
        );
        assert_eq!(a["type"], "Create");
        assert_eq!(a["object"]["type"], "Note");
        assert_eq!(a["object"]["summary"], Value::Null);
        assert_eq!(a["object"]["tag"][0]["type"], "Mention");
        assert_eq!(a["object"]["tag"][1]["name"], "#rust");
        assert_eq!(a["object"]["contentMap"]["en"], "<p>hi</p>");
        assert_eq!(a["cc"][0], "https://a.example/users/x/followers");
    }
}
