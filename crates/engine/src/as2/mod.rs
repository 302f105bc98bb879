//! Our rows as ActivityStreams documents, the one place each is built: a post as its
//! Note (or other object type, `note`), an account as its actor document and the
//! `Update` that federates a profile change (`actor`), collections and their pages
//! (`collection`), an upload as its media object (`media`), and activities with the
//! small references they name their objects by (`activity`).
//!
//! The documents take rows and what the caller read or decided (keys, addressing); they
//! read nothing themselves. Remote documents become rows elsewhere
//! (`federation::inbox::convert`). We emit only the ActivityStreams, security/v1 and
//! Mastodon `toot:` contexts and do no JSON-LD processing.

use serde_json::{Value, json};

pub mod activity;
pub mod actor;
pub mod collection;
pub mod media;
pub mod note;

pub use activity::{activity, tombstone};
pub(crate) use activity::{object_ref, undo_of};
pub use actor::{
    LocalActor, PROXY_PATH, UPLOAD_MEDIA_PATH, actor_delete, actor_update, instance_actor,
    local_actor,
};
pub use collection::{
    collection_document, ordered_collection, ordered_collection_head, ordered_collection_page,
};
pub use media::{attachment, media_object};
pub(crate) use note::apply_client_object;
pub use note::{
    NoteParts, apply_poll, apply_quote, apply_source, note_document, quote_authorization,
};

/// The `@context` of every document we emit.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "toot": "http://joinmastodon.org/ns#",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "Emoji": "toot:Emoji",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "gts": "https://gotosocial.org/ns#",
            "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
            "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
            "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
            "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
            "quote": {"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
            "quoteUri": "http://fedibird.com/ns#quoteUri",
            "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
            "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
            "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
            "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
            "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
            "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"}
        }
    ])
}
