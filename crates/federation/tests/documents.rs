//! The inbound document parser against real documents from other servers
//! (`tests/fixtures/activitypub/`), against bad input, and against arbitrary input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};
use sluice_federation::document::{
    ActivityKind, ActorKind, CollectionKind, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, Document,
    Limits, ObjectKind, ParseError, Ref, is_public, parse, parse_value, parse_with_limits,
    same_origin,
};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The real-world documents in the repository (`tests/fixtures/activitypub/`, with a
/// README of their sources and oddities).
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/activitypub")
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read fixture directory {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_json(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Fixtures we expect the parser to refuse, with the reason. The README's oddities do
/// not justify any refusal, so this list is empty.
const EXPECTED_REJECTIONS: &[(&str, &str)] = &[];

#[test]
fn every_fixture_parses() {
    let dir = fixtures_dir();
    assert!(
        dir.is_dir(),
        "fixture directory {} is missing",
        dir.display()
    );
    let mut files = Vec::new();
    collect_json(&dir, &mut files);
    files.sort();
    assert!(
        files.len() >= 140,
        "expected at least 140 fixtures in {}, found {}",
        dir.display(),
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(path).unwrap();
        let expected = EXPECTED_REJECTIONS.iter().find(|(p, _)| *p == rel);
        match (parse(&bytes), expected) {
            (Ok(doc), None) => {
                assert!(!doc.kind().is_empty(), "{rel}: empty kind");
                if let Some(id) = doc.id() {
                    assert!(!id.is_empty(), "{rel}: empty id");
                }
                // parse and parse_value agree.
                let value: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(parse_value(&value).as_ref(), Ok(&doc), "{rel}");
            }
            (Err(e), Some(_)) => eprintln!("{rel}: rejected as expected ({e})"),
            (Ok(_), Some((_, why))) => {
                failures.push(format!("{rel}: parsed, expected a rejection ({why})"))
            }
            (Err(e), None) => failures.push(format!("{rel}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "fixtures not parsed:\n{}",
        failures.join("\n")
    );
}

fn load(rel: &str) -> Document {
    let path = fixtures_dir().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn embedded(r: &Ref) -> &Document {
    r.embedded().expect("embedded document")
}

// ---------------------------------------------------------------- Mastodon

#[test]
fn mastodon_person() {
    let doc = load("mastodon/mastodon.social_users_fediversereport.json");
    let a = doc.as_actor().expect("actor");
    assert_eq!(a.kind, ActorKind::Person);
    assert_eq!(a.preferred_username.as_deref(), Some("fediversereport"));
    assert_eq!(
        a.inbox.as_deref(),
        Some("https://mastodon.social/users/fediversereport/inbox")
    );
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://mastodon.social/inbox")
    );
    let key = a.public_key().expect("key");
    assert_eq!(
        key.id.as_deref(),
        Some("https://mastodon.social/users/fediversereport#main-key")
    );
    assert_eq!(key.owner.as_deref(), Some(a.id.as_str()));
    assert!(
        key.pem
            .as_deref()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\nMIIBIjAN")
    );
    assert!(
        a.key("https://mastodon.social/users/fediversereport#main-key")
            .is_some()
    );
    assert!(
        a.key("https://mastodon.social/users/other#main-key")
            .is_none()
    );
    assert_eq!(a.discoverable, Some(true));
    assert_eq!(a.indexable, Some(true));
    assert!(!a.memorial && !a.manually_approves_followers);
    assert_eq!(a.fields.len(), 4);
    assert_eq!(a.fields[3].name, "Email");
    assert_eq!(a.fields[3].value, "fediversereport at proton.me");
    assert_eq!(
        a.featured_tags.as_deref(),
        Some("https://mastodon.social/users/fediversereport/collections/tags")
    );
    assert_eq!(a.hashtags[0].name, "news");
    assert_eq!(
        a.icon.as_ref().unwrap().media_type.as_deref(),
        Some("image/png")
    );
    assert_eq!(
        a.published.unwrap().to_rfc3339(),
        "2023-01-07T00:00:00.000Z"
    );
}

#[test]
fn mastodon_unlisted_reply() {
    let doc = load("mastodon/create_note.json");
    let act = doc.as_activity().unwrap();
    assert_eq!(act.kind, ActivityKind::Create);
    assert_eq!(doc.actor_id(), Some("https://mastodon.madrid/users/felix"));
    assert_eq!(
        doc.object_id(),
        Some("https://mastodon.madrid/users/felix/statuses/107224289116410645")
    );
    assert!(same_origin(
        doc.actor_id().unwrap(),
        doc.object_id().unwrap()
    ));
    let Document::Object(note) = embedded(&act.object[0]) else {
        panic!("embedded note")
    };
    assert_eq!(note.kind, ObjectKind::Note);
    assert_eq!(
        note.in_reply_to.as_deref(),
        Some("https://mamot.fr/users/retiolus/statuses/107224244380204526")
    );
    assert_eq!(
        note.audience.to,
        ["https://mastodon.madrid/users/felix/followers"]
    );
    assert_eq!(
        note.audience.cc,
        [PUBLIC, "https://mamot.fr/users/retiolus"]
    );
    assert!(note.audience.is_public() && !note.audience.is_public_in_to());
    assert_eq!(note.mentions.len(), 1);
    assert_eq!(note.mentions[0].href, "https://mamot.fr/users/retiolus");
    assert_eq!(note.mentions[0].name.as_deref(), Some("@retiolus@mamot.fr"));
    assert!(
        note.content
            .as_deref()
            .unwrap()
            .starts_with("<p><span class=\"h-card\">")
    );
    assert_eq!(note.language.as_deref(), Some("en"));
    assert!(
        note.conversation
            .as_deref()
            .unwrap()
            .starts_with("tag:mamot.fr,")
    );
    assert_eq!(note.summary, None);
    // replies: a collection with its first page embedded (without an id).
    let Document::Collection(replies) = embedded(note.replies.as_ref().unwrap()) else {
        panic!("replies collection")
    };
    let first = replies.first_page().expect("embedded first page");
    assert_eq!(first.kind, CollectionKind::CollectionPage);
    assert_eq!(first.id, None);
    assert!(
        first
            .next
            .as_ref()
            .unwrap()
            .id()
            .unwrap()
            .ends_with("page=true")
    );
}

#[test]
fn mastodon_note_attachment() {
    let doc = load("mastodon/note_2.json");
    let note = doc.as_object().unwrap();
    let att = &note.attachments[0];
    assert_eq!(att.kind, "Document");
    assert_eq!(att.media_type.as_deref(), Some("image/jpeg"));
    assert_eq!(
        att.blurhash.as_deref(),
        Some("USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc")
    );
    assert_eq!((att.width, att.height), (Some(1500), Some(1095)));
    assert_eq!(att.focal_point, Some([0.0, 0.0]));
    assert!(att.name.as_deref().unwrap().starts_with("The KDE dragons"));
    assert_eq!(note.likes_count, Some(39));
    assert_eq!(note.shares_count, Some(24));
}

#[test]
fn mastodon_undo_embedded_and_compact() {
    let doc = load("mastodon/mastodon-undo-announce.json");
    let undo = doc.as_activity().unwrap();
    assert_eq!(undo.kind, ActivityKind::Undo);
    let inner = undo.object_activity().expect("embedded Announce");
    assert_eq!(inner.kind, ActivityKind::Announce);
    assert_eq!(
        inner.id.as_deref(),
        Some("http://mastodon.example.org/users/admin/statuses/99542391527669785/activity")
    );
    assert_eq!(
        inner.object_id(),
        Some("http://mastodon.example.org/@admin/99541947525187367")
    );
    // `http://www.w3.org/ns/activitystreams#Public` is rewritten to the https spelling.
    assert_eq!(inner.audience.to, [PUBLIC]);

    let doc = load("mastodon/mastodon-undo-like-compact-object.json");
    let undo = doc.as_activity().unwrap();
    assert!(undo.object_activity().is_none());
    assert_eq!(
        undo.object_id(),
        Some("http://mastodon.example.org/users/admin#likes/2")
    );
}

#[test]
fn mastodon_announce_flag_delete_question() {
    let doc = load("mastodon/mastodon-announce.json");
    assert_eq!(doc.kind(), "Announce");
    assert_eq!(
        doc.object_id(),
        Some("http://mastodon.example.org/@admin/99541947525187367")
    );

    let doc = load("mastodon/flag.json");
    let flag = doc.as_activity().unwrap();
    assert_eq!(flag.kind, ActivityKind::Flag);
    assert_eq!(
        flag.object_ids().collect::<Vec<_>>(),
        [
            "https://example.com/users/1",
            "https://example.com/posts/380590",
            "https://example.com/posts/380591"
        ]
    );
    assert_eq!(flag.audience.to, ["https://example.com/users/1"]);
    assert_eq!(
        flag.content.as_deref(),
        Some("Please take a look at this user and their posts")
    );

    let doc = load("mastodon/delete.json");
    let del = doc.as_activity().unwrap();
    assert!(matches!(embedded(&del.object[0]), Document::Tombstone(_)));
    assert_eq!(
        doc.object_id(),
        Some("https://mastodon.madrid/users/felix/statuses/107773559874184870")
    );

    let doc = load("mastodon/mastodon-question-activity.json");
    let Document::Object(q) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("question")
    };
    assert_eq!(q.kind, ObjectKind::Question);
    let poll = q.poll.as_ref().unwrap();
    assert!(!poll.multiple);
    let names: Vec<_> = poll.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Dunno",
            "Everyone knows that!",
            "25 char limit is dumb",
            "I can't even fit a funny"
        ]
    );
    let votes: Vec<_> = poll.options.iter().map(|o| o.votes).collect();
    assert_eq!(votes, [Some(0), Some(1), Some(0), Some(1)]);
    assert_eq!(poll.end_time.map(|t| t.0), Some(1_557_565_416_000));
}

#[test]
fn mastodon_poll_vote_and_update_person() {
    let doc = load("mastodon/mastodon-vote.json");
    let Document::Object(vote) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("vote note")
    };
    assert!(vote.name.is_some() && vote.content.is_none());

    let doc = load("mastodon/update_person_personCase14.json");
    let Document::Actor(p) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("person")
    };
    assert_eq!(p.indexable, Some(false));
    assert_eq!(p.fields[3].value, "He/They");
}

// ---------------------------------------------------------------- Pleroma / Akkoma

#[test]
fn pleroma_documents() {
    let doc = load("pleroma/emoji-reaction.json");
    let r = doc.as_activity().unwrap();
    assert_eq!(r.kind, ActivityKind::EmojiReact);
    assert_eq!(r.reaction.as_deref(), Some("👌"));

    let doc = load("pleroma/poll_attachment.json");
    let q = doc.as_object().unwrap();
    let poll = q.poll.as_ref().unwrap();
    assert_eq!(poll.options.len(), 6);
    assert!(!poll.multiple, "empty anyOf beside oneOf");
    assert_eq!(poll.options[5].votes, Some(3));
    assert!(poll.closed);
    // `closed` without an offset is read as UTC.
    assert_eq!(poll.closed_at.map(|t| t.0), Some(1_568_853_156_785));
    assert_eq!(poll.voters_count, Some(4));
    assert_eq!(q.attachments[0].kind, "Document");
    assert_eq!(q.summary, None, "empty summary is no content warning");

    let doc = load("pleroma/chat_message.json");
    let o = doc.as_object().unwrap();
    assert_eq!(o.kind, ObjectKind::Other("ChatMessage".into()));
    assert_eq!(o.content.as_deref(), Some("Hi!"));

    let doc = load("pleroma/note.json");
    let o = doc.as_object().unwrap();
    assert!(!o.sensitive, "sensitive: null");
    assert!(o.source.is_some(), "source as a bare string");
}

#[test]
fn akkoma_documents() {
    let doc = load("akkoma/corteximplant.net_objects_67d3796c-1645-474d-9bb1-4620ec774fba.json");
    let note = doc.as_object().unwrap();
    assert_eq!(
        note.quote.as_deref(),
        Some("https://mas.to/users/bascule/statuses/112793660647233531")
    );
    // contentMap {"en": ""} does not override a non-empty content.
    assert!(note.content.as_deref().unwrap().contains("RE:"));

    let doc = load("akkoma/corteximplant.net_users_aumetra.json");
    let a = doc.as_actor().unwrap();
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://corteximplant.net/inbox")
    );
    assert_eq!(a.also_known_as.len(), 2);
    let shortcodes: Vec<_> = a.emojis.iter().map(|e| e.shortcode.as_str()).collect();
    assert_eq!(shortcodes, ["good_boy", "hex_non_binary"]);
    assert_eq!(a.emojis[0].updated.map(|t| t.0), Some(0));
}

// ---------------------------------------------------------------- Misskey

#[test]
fn misskey_reactions_and_quotes() {
    let doc = load("misskey/misskey-like.json");
    let like = doc.as_activity().unwrap();
    assert_eq!(like.kind, ActivityKind::EmojiReact);
    assert_eq!(like.type_name, "Like");
    assert_eq!(like.reaction.as_deref(), Some("pudding"));

    let doc = load("misskey/custom-emoji-reaction.json");
    let like = doc.as_activity().unwrap();
    assert_eq!(doc.kind(), "EmojiReact");
    assert_eq!(like.reaction.as_deref(), Some(":hanapog:"));
    assert_eq!(like.emojis[0].shortcode, "hanapog");
    assert!(
        like.emojis[0]
            .url
            .starts_with("https://misskey.local.live/files/")
    );

    let doc = load("misskey/misskey_quote_post.json");
    let note = doc.as_object().unwrap();
    assert_eq!(
        note.quote.as_deref(),
        Some("https://misskey.io/notes/8vs6wxufd0")
    );
    assert!(
        note.misskey_content
            .as_deref()
            .unwrap()
            .starts_with("投稿者の設定によるね")
    );

    let doc = load("misskey/misskey_poll_no_end_date.json");
    let poll = doc.as_object().unwrap().poll.clone().unwrap();
    assert_eq!(poll.end_time, None);
    assert_eq!(poll.options[1].name, "Broken af");
    assert_eq!(poll.options[1].votes, Some(1));
}

#[test]
fn misskey_actor() {
    let doc = load("misskey/misskey.io_users_7rkrarq81i.json");
    let a = doc.as_actor().unwrap();
    assert_eq!(a.shared_inbox.as_deref(), Some("https://misskey.io/inbox"));
    assert_eq!(a.emojis.len(), 2);
    assert_eq!(a.hashtags[0].name, "misskey");
    assert_eq!(a.fields[0].name, "写真集");

    let doc = load("misskey/undo_follow.json");
    let inner = doc.as_activity().unwrap().object_activity().unwrap();
    assert_eq!(inner.kind, ActivityKind::Follow);
}

// ---------------------------------------------------------------- GoToSocial

#[test]
fn gotosocial_documents() {
    let doc = load("gotosocial/TestAccountToAS.json");
    let a = doc.as_actor().unwrap();
    assert_eq!(
        a.public_key().unwrap().id.as_deref(),
        Some("http://localhost:8080/users/the_mighty_zork/main-key")
    );
    assert_eq!(a.shared_inbox, None);
    assert_eq!(
        a.delivery_inbox(),
        Some("http://localhost:8080/users/the_mighty_zork/inbox")
    );

    let doc = load("gotosocial/TestAccountToASBot.json");
    assert!(doc.as_actor().unwrap().is_bot());

    let doc = load("gotosocial/TestAccountToASAliasedAndMoved.json");
    let a = doc.as_actor().unwrap();
    assert_eq!(
        a.moved_to.as_deref(),
        Some("http://localhost:8080/users/1happyturtle")
    );
    assert_eq!(
        a.also_known_as,
        ["http://localhost:8080/users/1happyturtle"]
    );

    let doc = load("gotosocial/TestStatusToASDeletePublic.json");
    assert_eq!(doc.kind(), "Delete");
    assert_eq!(doc.id(), None, "transient Delete without id");
    assert_eq!(doc.audience().unwrap().to, [PUBLIC]);
    assert_eq!(
        doc.audience().unwrap().cc,
        ["http://localhost:8080/users/admin/followers"]
    );

    let doc = load("gotosocial/TestGetFollowers.json");
    let c = doc.as_collection().unwrap();
    assert_eq!(c.id, None);
    assert_eq!(
        c.item_ids().collect::<Vec<_>>(),
        ["http://localhost:8080/users/the_mighty_zork"]
    );

    let doc = load("gotosocial/move_test_moveStr1.json");
    let mv = doc.as_activity().unwrap();
    assert_eq!(mv.kind, ActivityKind::Move);
    assert_eq!(
        mv.target_id(),
        Some("https://turnip.farm/users/turniplover6969")
    );

    let doc = load("gotosocial/TestStatusToASWithMentions.json");
    let note = doc.as_object().unwrap();
    assert_eq!(
        note.mentions[0].href,
        "http://localhost:8080/users/the_mighty_zork"
    );
    assert!(note.audience.is_public_in_to());

    let doc = load("gotosocial/TestStatusWithTagsToASWithIDs.json");
    let note = doc.as_object().unwrap();
    assert_eq!(note.attachments[0].focal_point, Some([-0.5, 0.5]));
    assert!(
        note.attachments[0]
            .name
            .as_deref()
            .unwrap()
            .starts_with("Black and white")
    );
    assert_eq!(note.emojis[0].shortcode, "rainbow");
    assert_eq!(note.hashtags[0].name, "welcome");

    let doc = load("gotosocial/TestPollVoteToASCreate.json");
    assert_eq!(
        doc.as_activity().unwrap().published.map(|t| t.0),
        Some(1_631_353_537_000)
    );

    let doc = load("gotosocial/TestReportToAS.json");
    assert_eq!(doc.as_activity().unwrap().object.len(), 2);
}

// ---------------------------------------------------------------- Lemmy

#[test]
fn lemmy_documents() {
    let doc = load("lemmy/page.json");
    let page = doc.as_object().unwrap();
    assert_eq!(page.kind, ObjectKind::Page);
    assert_eq!(page.name.as_deref(), Some("Post title"));
    assert_eq!(page.language.as_deref(), Some("fr"));
    assert_eq!(
        page.source.as_ref().unwrap().media_type.as_deref(),
        Some("text/markdown")
    );
    assert_eq!(
        page.audience.audience,
        ["https://enterprise.lemmy.ml/c/tenforward"]
    );
    assert_eq!(page.attachments[0].kind, "Link");
    assert_eq!(
        page.attachments[0].url,
        "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png"
    );
    assert_eq!(page.mentions.len(), 1, "CommunityPostTag skipped");

    let doc = load("lemmy/announce_create_page.json");
    let create = doc.as_activity().unwrap().object_activity().unwrap();
    assert_eq!(create.kind, ActivityKind::Create);
    let Document::Object(p) = create.embedded_object().unwrap() else {
        panic!("page")
    };
    assert_eq!(p.name.as_deref(), Some("post 4"));

    let doc = load("lemmy/lock_page.json");
    let lock = doc.as_activity().unwrap();
    assert_eq!(lock.kind, ActivityKind::Other("Lock".into()));
    assert_eq!(lock.summary.as_deref(), Some("A reason for the lock"));

    let doc = load("lemmy/group.json");
    let g = doc.as_actor().unwrap();
    assert_eq!(g.kind, ActorKind::Group);
    assert_eq!(
        g.featured.as_deref(),
        Some("https://enterprise.lemmy.ml/c/tenforward//featured")
    );

    let doc = load("lemmy/tombstone.json");
    assert_eq!(
        doc.as_tombstone().unwrap().id,
        "https://lemmy.ml/comment/110273"
    );

    let doc = load("lemmy/person.json");
    assert_eq!(doc.kind(), "Person", "no @context");
}

// ---------------------------------------------------------------- PeerTube

#[test]
fn peertube_documents() {
    let doc = load("peertube/video.json");
    let v = doc.as_object().unwrap();
    assert_eq!(v.kind, ObjectKind::Video);
    // attributedTo [Person, Group]: the account, not the channel.
    assert_eq!(
        v.attributed_to.as_deref(),
        Some("https://tilvids.com/accounts/thelinuxexperiment")
    );
    assert_eq!(
        v.attributed_to_all,
        [
            "https://tilvids.com/accounts/thelinuxexperiment",
            "https://tilvids.com/video-channels/thelinuxexperiment_channel"
        ]
    );
    assert_eq!(
        v.url.as_deref(),
        Some("https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1")
    );
    assert!(
        v.name
            .as_deref()
            .unwrap()
            .starts_with("Mesa, Wayland & X.org")
    );
    assert_eq!(v.language.as_deref(), Some("en"));
    assert_eq!(v.icon.as_ref().unwrap().width, Some(850));

    let doc = load("peertube/group.json");
    let g = doc.as_actor().unwrap();
    assert_eq!(g.icon.as_ref().unwrap().width, Some(120));
    assert_eq!(
        g.attributed_to,
        ["https://tilvids.com/accounts/thelinuxexperiment"]
    );

    let doc = load("peertube/announce-without-context.json");
    assert_eq!(doc.kind(), "Announce");
    assert!(doc.audience().unwrap().cc.is_empty());
}

// ---------------------------------------------------------------- Others

#[test]
fn friendica_pixelfed_mobilizon_gnusocial_smithereen() {
    let doc = load("friendica/create_note.json");
    let Document::Object(note) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("note")
    };
    assert_eq!(note.language.as_deref(), Some("de"));
    assert_eq!(
        note.source.as_ref().unwrap().media_type.as_deref(),
        Some("text/bbcode")
    );
    assert_eq!(
        note.conversation.as_deref(),
        Some("https://lemmy.schuerz.at/post/25360#context")
    );

    let doc = load("friendica/person_2.json");
    assert_eq!(doc.as_actor().unwrap().kind, ActorKind::Organization);

    let doc = load("pixelfed/statusCase03_announce.json");
    let ann = doc.as_activity().unwrap();
    // `+0000`, an offset without a colon.
    assert_eq!(ann.published.map(|t| t.0), Some(1_698_669_875_000));
    assert_eq!(
        ann.object_id(),
        Some("https://mastodonapp.uk/@damianward/111322877716364793")
    );

    let doc = load("pixelfed/statusCase02_create_note.json");
    let Document::Object(note) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("note")
    };
    let att = &note.attachments[0];
    assert!(att.blurhash.is_some() && att.width.is_some() && att.height.is_some());

    let doc = load("mobilizon/event.json");
    let ev = doc.as_object().unwrap();
    assert_eq!(ev.kind, ObjectKind::Event);
    assert_eq!(ev.name.as_deref(), Some("Caledonian scottish dance class"));
    assert_eq!(ev.start_time.map(|t| t.0), Some(1_670_785_200_000));
    assert_eq!(ev.hashtags[0].name, "Dance");

    let doc = load("mobilizon/mobilizon-members-collection.json");
    let c = doc.as_collection().unwrap();
    assert_eq!(c.total_items, Some(2));
    assert_eq!(c.first_page().unwrap().items.len(), 2);

    let doc = load("gnusocial/note.json");
    let note = doc.as_object().unwrap();
    assert_eq!(
        note.conversation.as_deref(),
        Some("https://instance.gnusocial.test/conversation/1338")
    );
    assert_eq!(
        note.audience.cc,
        ["https://instance.gnusocial.test/actor/42/subscribers"]
    );

    let doc = load("smithereen/person.json");
    let a = doc.as_actor().unwrap();
    assert!(
        a.icon.as_ref().unwrap().url.contains("/c:573:572:"),
        "cropped icon url wins"
    );
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://friends.grishka.me/activitypub/sharedInbox")
    );

    let doc = load("smithereen/smithereen_non_anonymous_poll.json");
    let poll = doc.as_object().unwrap().poll.clone().unwrap();
    assert_eq!(poll.voters_count, Some(14));
    assert_eq!(poll.options[2].votes, Some(6));
}

#[test]
fn other_servers() {
    let doc = load("others/prismo-url-map.json");
    let create = doc.as_activity().unwrap();
    assert_eq!(
        create.actor_id(),
        Some("https://prismo.news/@mxb"),
        "actor array of objects"
    );
    let Document::Object(art) = embedded(&create.object[0]) else {
        panic!("article")
    };
    assert_eq!(
        art.url.as_deref(),
        Some("https://prismo.news/posts/83"),
        "Link with mimeType"
    );
    assert_eq!(art.hashtags.len(), 3, "`tags` instead of `tag`");

    let doc = load("others/hubzilla-follow-activity.json");
    assert_eq!(
        doc.actor_id(),
        Some("https://hubzilla.example.org/channel/kaniini")
    );

    let doc = load("others/kroeg-array-less-hashtag.json");
    let Document::Object(note) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("note")
    };
    assert_eq!(
        note.attributed_to.as_deref(),
        Some("https://puckipedia.com/")
    );
    assert_eq!(note.hashtags[0].name, "test");

    let doc = load("others/baptiste.gelex.xyz-article.json");
    let art = doc.as_object().unwrap();
    // attributedTo: an array holding one IRI string.
    assert_eq!(
        art.attributed_to.as_deref(),
        Some("https://baptiste.gelez.xyz/@/BaptisteGelez")
    );

    let doc = load("others/mbin_flag.json");
    assert_eq!(doc.as_activity().unwrap().object.len(), 2);

    let doc = load("others/owncast-note-with-attachment.json");
    let note = doc.as_object().unwrap();
    assert_eq!(note.attachments.len(), 1, "single attachment object");
    assert_eq!(
        note.attachments[0].name.as_deref(),
        Some("Live stream preview")
    );

    let doc = load("others/funkwhale_create_audio.json");
    let Document::Object(audio) = embedded(&doc.as_activity().unwrap().object[0]) else {
        panic!("audio")
    };
    assert_eq!(
        audio.url.as_deref(),
        Some("https://channels.tests.funkwhale.audio/library/tracks/74")
    );

    let doc = load("others/bridgy-fed_note_statusCase08.json");
    assert!(
        doc.as_object()
            .unwrap()
            .url
            .as_deref()
            .unwrap()
            .starts_with("https://bsky.brid.gy/r/")
    );

    let doc = load("others/wordpress_announce.json");
    let update = doc.as_activity().unwrap().object_activity().unwrap();
    assert_eq!(update.kind, ActivityKind::Update);
    assert_eq!(
        update.object_id(),
        Some("https://pfefferle.org/lemmy-part-4/")
    );
}

// ---------------------------------------------------------------- Bad input

fn nested(depth: usize) -> String {
    // A root object (depth 1) holding `depth - 1` nested arrays.
    format!(
        r#"{{"id":"https://a.example/n","type":"Note","x":{}{}}}"#,
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn bad_input_is_a_clear_error() {
    assert!(matches!(
        parse(b"not json"),
        Err(ParseError::NotJson { .. })
    ));
    assert!(matches!(parse(b""), Err(ParseError::NotJson { .. })));
    assert!(matches!(
        parse(b"\xff\xfe"),
        Err(ParseError::NotJson { .. })
    ));
    assert_eq!(parse(b"[]"), Err(ParseError::NotAnObject));
    assert_eq!(
        parse(b"\"https://a.example/x\""),
        Err(ParseError::NotAnObject)
    );
    assert_eq!(parse(br#"{"type":"Note"}"#), Err(ParseError::MissingId));
    assert_eq!(
        parse(br#"{"id":"https://a.example/n"}"#),
        Err(ParseError::MissingType)
    );
    assert_eq!(
        parse(br#"{"id":"https://a.example/n","type":42}"#),
        Err(ParseError::MissingType)
    );
    assert_eq!(
        parse(br#"{"id":"javascript:alert(1)","type":"Note"}"#),
        Err(ParseError::InvalidId)
    );
    assert_eq!(
        parse(br#"{"id":"/notes/1","type":"Note"}"#),
        Err(ParseError::InvalidId)
    );
    assert_eq!(
        parse(br#"{"id":12,"type":"Note"}"#),
        Err(ParseError::InvalidId)
    );
    // A NUL anywhere, in a value or a name, at any depth; an escaped backslash before
    // `u0000` is text.
    for nul in [
        br#"{"id":"https://a.example/n","type":"Note","content":"a\u0000b"}"#.as_slice(),
        br#"{"id":"https://a.example/n","type":"Note","tag":[{"name":"\u0000"}]}"#,
        br#"{"id":"https://a.example/n","type":"Note","x\u0000":1}"#,
    ] {
        assert_eq!(parse(nul), Err(ParseError::Nul));
        let value: serde_json::Value = serde_json::from_slice(nul).unwrap();
        assert_eq!(parse_value(&value), Err(ParseError::Nul));
    }
    assert!(parse(br#"{"id":"https://a.example/n","type":"Note","content":"a\\u0000"}"#).is_ok());
    assert_eq!(
        parse(br#"{"type":"Link","href":"javascript:x"}"#),
        Err(ParseError::MissingHref)
    );

    // Depth: 32 is fine, 33 and far beyond are refused before serde sees them.
    assert!(parse(nested(DEFAULT_MAX_DEPTH).as_bytes()).is_ok());
    assert_eq!(
        parse(nested(DEFAULT_MAX_DEPTH + 1).as_bytes()),
        Err(ParseError::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        })
    );
    let deep = "[".repeat(1_000_000);
    assert_eq!(
        parse(deep.as_bytes()),
        Err(ParseError::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        })
    );
    // Brackets inside strings do not count.
    let in_string = format!(
        r#"{{"id":"https://a.example/n","type":"Note","content":"{}"}}"#,
        "[{".repeat(100)
    );
    assert!(parse(in_string.as_bytes()).is_ok());
    // A deep Value built by hand is refused too.
    let mut v = json!("leaf");
    for _ in 0..200 {
        v = json!([v]);
    }
    let root = json!({"id": "https://a.example/n", "type": "Note", "x": v});
    assert_eq!(
        parse_value(&root),
        Err(ParseError::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        })
    );

    // Size: 2 MiB is refused, whatever it holds.
    let big = format!(
        r#"{{"id":"https://a.example/n","type":"Note","content":"{}"}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    assert_eq!(
        parse(big.as_bytes()),
        Err(ParseError::TooLarge {
            size: big.len(),
            limit: DEFAULT_MAX_BYTES
        })
    );
    // The caller may raise the limit.
    let limits = Limits {
        max_bytes: 4 * 1024 * 1024,
        ..Limits::default()
    };
    assert!(parse_with_limits(big.as_bytes(), &limits).is_ok());

    // Error messages never echo the input.
    let e = parse(br#"{"id":"javascript:alert(document.cookie)","type":"Note"}"#).unwrap_err();
    assert!(!e.to_string().contains("javascript"));
}

#[test]
fn wrong_value_types_are_tolerated() {
    let doc = parse_value(&json!({
        "id": "https://a.example/n",
        "type": ["Hashtag-ish", "Note"],
        "content": 42,
        "summary": {"weird": true},
        "name": ["", {"@value": "title"}],
        "sensitive": "true",
        "published": "yesterday",
        "updated": 1234,
        "to": ["https://a.example/u", 7, {"id": "https://b.example/u"}, "as:Public", "javascript:x"],
        "cc": "Public",
        "inReplyTo": {"id": "https://c.example/p", "type": "Note"},
        "attributedTo": [{"type": "Group", "id": "https://a.example/g"}, 5],
        "tag": [1, "x", {"type": "Mention"}, {"type": "Hashtag", "name": "#ok"}],
        "attachment": {"type": "Image", "url": {"type": "Link", "href": "https://a.example/i.png"}, "width": "640"},
        "replies": 3,
        "oneOf": "nope",
        "url": 17,
    }))
    .unwrap();
    let note = doc.as_object().unwrap();
    assert_eq!(note.content.as_deref(), Some("42"));
    assert_eq!(note.summary, None);
    assert_eq!(note.name.as_deref(), Some("title"));
    assert!(note.sensitive);
    assert_eq!(note.published, None);
    assert_eq!(note.updated, None);
    assert_eq!(
        note.audience.to,
        ["https://a.example/u", "https://b.example/u", "as:Public"]
    );
    assert!(note.audience.is_public_in_to());
    assert!(is_public(&note.audience.cc[0]));
    assert_eq!(note.in_reply_to.as_deref(), Some("https://c.example/p"));
    assert_eq!(
        note.attributed_to.as_deref(),
        Some("https://a.example/g"),
        "Group as a last resort"
    );
    assert_eq!(note.mentions.len(), 0);
    assert_eq!(note.hashtags[0].name, "ok");
    assert_eq!(note.attachments[0].url, "https://a.example/i.png");
    assert_eq!(note.attachments[0].width, Some(640));
    assert_eq!(note.replies, None);
    assert!(note.poll.as_ref().unwrap().options.is_empty());
    assert_eq!(note.url, None);
}

#[test]
fn arrays_are_capped() {
    let to: Vec<String> = (0..5000)
        .map(|i| format!("https://a.example/u/{i}"))
        .collect();
    let doc = parse_value(&json!({"id": "https://a.example/n", "type": "Note", "to": to})).unwrap();
    assert_eq!(doc.audience().unwrap().to.len(), 1000);
    let items: Vec<String> = (0..3000)
        .map(|i| format!("https://a.example/p/{i}"))
        .collect();
    let doc = parse_value(&json!({
        "type": "OrderedCollection", "orderedItems": items, "items": items,
    }))
    .unwrap();
    assert_eq!(doc.as_collection().unwrap().items.len(), 1000);
}

#[test]
fn a_full_page_of_embedded_activities() {
    let items: Vec<Value> = (0..1200)
        .map(|i| {
            json!({
                "id": format!("https://a.example/a/{i}"), "type": "Create",
                "actor": "https://a.example/u", "to": [PUBLIC],
                "object": {
                    "id": format!("https://a.example/n/{i}"), "type": "Note",
                    "attributedTo": "https://a.example/u", "content": "<p>hello</p>",
                    "tag": [{"type": "Hashtag", "name": "#a"}],
                },
            })
        })
        .collect();
    let bytes = serde_json::to_vec(&json!({
        "id": "https://a.example/outbox?page=1", "type": "OrderedCollectionPage",
        "partOf": "https://a.example/outbox", "orderedItems": items,
    }))
    .unwrap();
    assert!(bytes.len() < DEFAULT_MAX_BYTES);
    let started = std::time::Instant::now();
    let doc = parse(&bytes).unwrap();
    let page = doc.as_collection().unwrap();
    assert_eq!(page.items.len(), 1000, "capped at max_items");
    assert_eq!(page.item_ids().last(), Some("https://a.example/a/999"));
    let Document::Activity(last) = page.items[999].embedded().unwrap() else {
        panic!("activity")
    };
    assert_eq!(last.object_id(), Some("https://a.example/n/999"));
    eprintln!("{} bytes parsed in {:?}", bytes.len(), started.elapsed());
}

#[test]
fn embedded_objects_with_bad_ids_are_dropped() {
    let doc = parse_value(&json!({
        "id": "https://a.example/a", "type": "Create", "actor": "https://a.example/u",
        "object": [{"id": "javascript:alert(1)", "type": "Note"}, "data:text/html,x"],
    }))
    .unwrap();
    assert!(doc.as_activity().unwrap().object.is_empty());
    assert_eq!(doc.object_id(), None);
}

// ---------------------------------------------------------------- Properties

const KEYS: &[&str] = &[
    "id",
    "type",
    "actor",
    "object",
    "to",
    "cc",
    "content",
    "contentMap",
    "name",
    "attributedTo",
    "inbox",
    "publicKey",
    "published",
    "tag",
    "attachment",
    "url",
    "href",
    "items",
    "orderedItems",
    "first",
    "oneOf",
    "replies",
    "icon",
    "endpoints",
    "totalItems",
];
const STRINGS: &[&str] = &[
    "https://a.example/x",
    "http://b.example:8080/y#z",
    "javascript:alert(1)",
    "as:Public",
    "Public",
    "Note",
    "Person",
    "Create",
    "Undo",
    "Like",
    "Collection",
    "Link",
    "Tombstone",
    "Mention",
    "Hashtag",
    "Emoji",
    "2024-05-01T12:00:00+0000",
    "",
    " ",
    "#tag",
    ":e:",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Objects that look like documents more often than random maps would.
fn arb_document() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(STRINGS),
        prop::sample::select(STRINGS),
        prop::collection::vec((prop::sample::select(KEYS), arb_json()), 0..10),
    )
        .prop_map(|(id, ty, rest)| {
            let mut m = serde_json::Map::new();
            m.insert("id".into(), Value::from(id));
            m.insert("type".into(), Value::from(ty));
            for (k, v) in rest {
                m.insert(k.to_owned(), v);
            }
            Value::Object(m)
        })
}

fn check(doc: &Document) {
    assert!(!doc.kind().is_empty());
    match doc.id() {
        Some(id) => assert!(!id.is_empty()),
        // Only transient activities, anonymous collections and bare links lack an id.
        None => assert!(matches!(
            doc,
            Document::Activity(_) | Document::Collection(_) | Document::Link(_)
        )),
    }
    let _ = (doc.actor_id(), doc.object_id(), doc.audience());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_values_never_panic(v in prop_oneof![arb_json(), arb_document()]) {
        if let Ok(doc) = parse_value(&v) {
            check(&doc);
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        let from_bytes = parse(&bytes);
        if let Ok(doc) = &from_bytes {
            check(doc);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(doc) = parse(&bytes) {
            check(&doc);
        }
    }

    #[test]
    fn mangled_fixture_text_never_panics(cut in 0usize..4000, byte in any::<u8>()) {
        let mut bytes = std::fs::read(fixtures_dir().join("mastodon/create_note.json")).unwrap();
        let at = cut % bytes.len();
        bytes[at] = byte;
        if let Ok(doc) = parse(&bytes) {
            check(&doc);
        }
        if let Ok(doc) = parse(&bytes[..at]) {
            check(&doc);
        }
    }
}
