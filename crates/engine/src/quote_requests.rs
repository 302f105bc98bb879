//! The quote handshake of FEP-044f, as Mastodon 4.5 federates it: the `QuoteRequest` a
//! quote of a remote post sends to that post's author, the `Accept` (with the
//! `QuoteAuthorization` stamp as its `result`) or `Reject` that answers it, both ways;
//! the `Delete` of a stamp when its giver revokes the quote, both ways; and the
//! `Update` of a Note whose quote or quote policy changed, both ways.
//!
//! Who may quote a local post is decided as Mastodon decides it (`StatusPolicy#quote?`):
//! the quoter may see the post, neither blocks the other, and the post's policy lets
//! them (the public; the author's followers; nobody but the author). Mastodon's own
//! posts never ask for approval by hand, so a request its policy does not allow is
//! rejected at once, and so is it here: no request waits for the author.

use serde_json::{Value, json};
use sluice_model::Id;
use sluice_model::activity::Verb;
use sluice_store::{AccountRow, StatusRow, WriteTx};

use crate::effects::Changes;
use crate::pipeline::{Audience, Outcome};
use crate::quotes::{QuoteDraft, QuotePolicy};
use crate::remote::{Ignored, RemoteActivity, RemoteNote};
use crate::{Engine, EngineError, Result};

/// The id of the QuoteRequest we send for a local post's quote of a remote post.
pub(crate) fn request_uri(status_uri: &str) -> String {
    format!("{status_uri}#quote-request")
}

/// How a QuoteRequest, an Accept or a Reject names the request: its id, type, actor,
/// the quoted post and the quoting post (`instrument`, an IRI or the Note itself).
fn request_ref(id: &str, actor: &str, quoted: &str, instrument: Value) -> Value {
    json!({
        "id": id,
        "type": "QuoteRequest",
        "actor": actor,
        "object": quoted,
        "instrument": instrument,
    })
}

impl Engine {
    /// Queues, in the transaction of a new local post, the QuoteRequest of its quote of
    /// a remote post (`pending` until that post's server answers), to the quoted
    /// author's inbox; the quoting Note goes with it (`instrument`), so a quote its
    /// author's server cannot fetch (followers-only) can still be judged.
    pub(crate) async fn queue_quote_request(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        status: &StatusRow,
        quote: &QuoteDraft,
        note: &Value,
        now: i64,
    ) -> Result<()> {
        if quote.state != "pending" || quote.quoted_author.is_local() {
            return Ok(());
        }
        let to = vec![quote.quoted_author.uri.clone()];
        let mut doc = request_ref(
            &request_uri(&status.uri),
            &actor.uri,
            &quote.quoted.uri,
            note.clone(),
        );
        doc["@context"] = crate::as2::context();
        doc["to"] = json!(to);
        self.record_document(tx, actor, doc, &to, &[], now).await
    }

    /// Whether `actor` (remote) may quote the local post `quoted`, as Mastodon's
    /// `StatusPolicy#quote?`: they may see it, neither blocks the other (nor does the
    /// author block their domain), and its policy lets them.
    async fn may_quote(&self, actor: &AccountRow, quoted: &StatusRow) -> Result<bool> {
        if quoted.account_id == actor.id {
            return Ok(true);
        }
        if !self.can_see(Some(actor.id), quoted).await?
            || (!actor.domain.is_empty()
                && self
                    .store
                    .blocks_domain(quoted.account_id, &actor.domain)
                    .await?)
        {
            return Ok(false);
        }
        let policy = self
            .store
            .quote_row(quoted.id)
            .await?
            .and_then(|r| r.policy)
            .and_then(|p| QuotePolicy::parse(&p));
        Ok(match policy {
            Some(QuotePolicy::Public) => true,
            Some(QuotePolicy::Followers) => self.follows(actor.id, quoted.account_id).await?,
            Some(QuotePolicy::Nobody) | None => false,
        })
    }

    /// A remote actor's `QuoteRequest` for a quote of our post `quoted` by their post
    /// `quoting` (`instrument`; None when it could not be had): answered `Accept` with our stamp
    /// (and the quote accepted here, its author told) when the post's policy lets
    /// them, else `Reject` (and the quote, if we hold it, rejected). The answer is
    /// queued in the same transaction.
    pub async fn remote_quote_request(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        quoted: &StatusRow,
        instrument: &str,
        quoting: Option<&StatusRow>,
    ) -> Result<Outcome> {
        let vis = sluice_model::Visibility::parse(&quoted.visibility)
            .unwrap_or(sluice_model::Visibility::Direct);
        if !quoted.local || quoted.reblog_of_id.is_some() || !vis.is_public_or_unlisted() {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        }
        let author = self
            .store
            .account(quoted.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        // The quoting post must be the requester's, and quote this post.
        let row = match quoting {
            Some(q) if q.account_id == actor.id => self
                .store
                .quote_row(q.id)
                .await?
                .filter(|r| r.quoted_status_id == Some(quoted.id)),
            _ => None,
        };
        let allowed = row.is_some() && self.may_quote(actor, quoted).await?;
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        let to = vec![actor.uri.clone()];
        let answer_ref = request_ref(&a.uri, &actor.uri, &quoted.uri, json!(instrument));
        let audience = Audience {
            to: &to,
            cc: &[],
            hidden_inboxes: &[],
        };
        let (id, verb, stamp) = match (allowed, quoting) {
            (true, Some(q)) => {
                let stamp = self.quote_authorization_uri(&author, q.id);
                if tx
                    .change_quote_state(
                        q.id,
                        &["pending", "rejected"],
                        "accepted",
                        Some(&stamp),
                        now,
                    )
                    .await?
                    .is_some()
                {
                    changes.events(
                        self.notify_author(&mut tx, &author, actor.id, "quote", q.id, now)
                            .await?,
                    );
                    changes.events([self.poll_changed(q, actor).await?]);
                }
                let id = format!("{}#accepts/quote_requests/{}", author.uri, self.new_id());
                (id, Verb::Accept, Some(stamp))
            }
            _ => {
                // Only the requester's own quote of this post is rejected.
                if let (Some(q), Some(_)) = (quoting, &row)
                    && tx
                        .change_quote_state(q.id, &["pending", "accepted"], "rejected", None, now)
                        .await?
                        .is_some()
                {
                    changes.events([self.poll_changed(q, actor).await?]);
                }
                let id = format!("{}#rejects/quote_requests/{}", author.uri, self.new_id());
                (id, Verb::Reject, None)
            }
        };
        let mut doc = audience.activity(&id, verb, &author, answer_ref, now);
        if let Some(stamp) = stamp {
            doc["result"] = json!(stamp);
        }
        self.record_document_to(&mut tx, &author, doc, &audience, now)
            .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome {
            status: quoting.map(|q| q.id),
            changed: true,
            ..Default::default()
        })
    }

    /// The quote whose QuoteRequest (ours) is `uri`, with the quoting post.
    pub async fn quote_by_request(&self, uri: &str) -> Result<Option<(StatusRow, String)>> {
        let Some(row) = self.store.quote_by_request(uri).await? else {
            return Ok(None);
        };
        let Some(s) = self.store.status(row.status_id).await? else {
            return Ok(None);
        };
        Ok(row.quoted_uri.map(|u| (s, u)))
    }

    /// `Accept` (with its checked `stamp`) or `Reject` (`stamp` None) of the
    /// QuoteRequest of our post `quoting`, from the quoted post's author: the quote is
    /// `accepted` (the stamp kept) or `rejected`, and an accepted quote's Note is sent
    /// again (`Update`) with its `quoteAuthorization` to its audience.
    pub async fn remote_quote_answered(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        quoting: &StatusRow,
        stamp: Option<&str>,
    ) -> Result<Outcome> {
        let Some(row) = self.store.quote_row(quoting.id).await? else {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        };
        let quoted = match row.quoted_status_id {
            Some(id) => self.store.status(id).await?,
            None => None,
        };
        if !quoting.local || quoted.is_none_or(|q| q.account_id != actor.id) {
            return self.remote_ignored(actor, a, Ignored::NotAuthor).await;
        }
        let author = self
            .store
            .account(quoting.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        let changed = match stamp {
            Some(stamp) => {
                let changed = tx
                    .change_quote_state(quoting.id, &["pending"], "accepted", Some(stamp), now)
                    .await?
                    .is_some();
                if changed {
                    let stamp = stamp.to_string();
                    self.send_note_update(&mut tx, &author, quoting, now, |note| {
                        note["quoteAuthorization"] = json!(stamp);
                    })
                    .await?;
                }
                changed
            }
            None => tx
                .change_quote_state(quoting.id, &["pending", "accepted"], "rejected", None, now)
                .await?
                .is_some(),
        };
        if changed {
            changes.events([self.poll_changed(quoting, &author).await?]);
        }
        self.commit(tx, changes).await?;
        Ok(Outcome::status(quoting.id, changed))
    }

    /// A `Delete` of `uri`, when it is a QuoteAuthorization stamp we hold, by the
    /// author who gave it: the quote it accepted is `revoked` (and, for a post of
    /// ours, its Note sent again without the stamp). None: not a stamp we hold.
    pub async fn remote_stamp_deleted(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        uri: &str,
    ) -> Result<Option<Outcome>> {
        let Some(row) = self.store.quote_by_authorization(uri).await? else {
            return Ok(None);
        };
        let quoted = match row.quoted_status_id {
            Some(id) => self.store.status(id).await?,
            None => None,
        };
        if !crate::remote::same_host(uri, &actor.uri)
            || quoted.is_none_or(|q| q.account_id != actor.id)
        {
            return Ok(Some(
                self.remote_ignored(actor, a, Ignored::NotAuthor).await?,
            ));
        }
        let Some(quoting) = self.store.status(row.status_id).await? else {
            return Ok(Some(
                self.remote_ignored(actor, a, Ignored::UnknownObject)
                    .await?,
            ));
        };
        let author = self
            .store
            .account(quoting.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Some(Outcome::default()));
        };
        let mut changes = Changes::at(now);
        let changed = tx
            .change_quote_state(quoting.id, &["accepted", "pending"], "revoked", None, now)
            .await?
            .is_some();
        if changed {
            if quoting.local {
                self.send_note_update(&mut tx, &author, &quoting, now, |note| {
                    if let Some(o) = note.as_object_mut() {
                        o.remove("quoteAuthorization");
                    }
                })
                .await?;
            }
            changes.events([self.poll_changed(&quoting, &author).await?]);
        }
        self.commit(tx, changes).await?;
        Ok(Some(Outcome::status(quoting.id, changed)))
    }

    /// Queues the `Delete` of our stamp `stamp` (the quoted author `author` revoked
    /// the quote made by `quoting`): to the quoting post's author and to the quoted
    /// author's followers, public, as Mastodon sends it.
    pub(crate) async fn queue_stamp_delete(
        &self,
        tx: &mut WriteTx,
        author: &AccountRow,
        quoting: &StatusRow,
        stamp: &str,
        now: i64,
    ) -> Result<()> {
        let quoting_author = self.store.account(quoting.account_id).await?;
        let to = vec![sluice_model::visibility::PUBLIC.to_string()];
        let mut cc = vec![author.followers_url.clone()];
        if let Some(q) = quoting_author.filter(|q| !q.is_local()) {
            cc.push(q.uri);
        }
        let audience = Audience {
            to: &to,
            cc: &cc,
            hidden_inboxes: &[],
        };
        let doc = audience.activity(
            &format!("{stamp}#delete"),
            Verb::Delete,
            author,
            json!(stamp),
            now,
        );
        self.record_document_to(tx, author, doc, &audience, now)
            .await
    }

    /// Sends a local post's Note again (`Update`), as last federated and changed by
    /// `patch`, to its audience (its `to`/`cc`, and its blind copies): for a change of
    /// its quote or quote policy, which is not an edit (its `updated` stays).
    pub(crate) async fn send_note_update(
        &self,
        tx: &mut WriteTx,
        author: &AccountRow,
        status: &StatusRow,
        now: i64,
        patch: impl FnOnce(&mut Value),
    ) -> Result<()> {
        let Some(json) = self.store.latest_object_activity(&status.uri).await? else {
            return Ok(());
        };
        let activity: Value = serde_json::from_str(&json)
            .map_err(|e| EngineError::Internal(format!("stored activity is not JSON: {e}")))?;
        let Some(mut note) = activity.get("object").filter(|o| o.is_object()).cloned() else {
            return Ok(());
        };
        patch(&mut note);
        let list = |k: &str| -> Vec<String> {
            note.get(k)
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (to, cc) = (list("to"), list("cc"));
        let hidden = self.hidden_inboxes(status.id).await?;
        let audience = Audience {
            to: &to,
            cc: &cc,
            hidden_inboxes: &hidden,
        };
        let id = format!("{}#updates/{}", status.uri, self.new_id());
        let doc = audience.activity(&id, Verb::Update, author, note, now);
        self.record_document_to(tx, author, doc, &audience, now)
            .await
    }

    /// What an `Update` of a remote post changes of its quote: its policy (as its
    /// `interactionPolicy` says now) and a pending quote accepted by a checked stamp.
    /// Applied whatever the Update's date: these changes are not edits (Mastodon sends
    /// them without a newer `updated`). True when something changed.
    pub(crate) async fn apply_remote_quote_update(
        &self,
        tx: &mut WriteTx,
        status: &StatusRow,
        n: &RemoteNote,
        now: i64,
    ) -> Result<bool> {
        let row = self.store.quote_row(status.id).await?;
        let mut changed = false;
        if let Some(policy) = &n.quote_policy
            && row.as_ref().and_then(|r| r.policy.as_deref()) != Some(policy.as_str())
        {
            tx.set_quote_policy(status.id, policy, now).await?;
            changed = true;
        }
        if let (Some(stamp), Some(r)) = (&n.quote_authorization, &row)
            && r.quote_state.as_deref() == Some("pending")
            && r.quoted_uri.is_some()
            && r.quoted_uri == n.quote
        {
            changed |= tx
                .change_quote_state(status.id, &["pending"], "accepted", Some(stamp), now)
                .await?
                .is_some();
        }
        Ok(changed)
    }

    /// Whether an Update of a remote post would change its quote (see
    /// [`Engine::apply_remote_quote_update`]), read before its transaction.
    pub(crate) async fn remote_quote_changes(&self, status: Id, n: &RemoteNote) -> Result<bool> {
        let row = self.store.quote_row(status).await?;
        let policy = n.quote_policy.is_some()
            && row.as_ref().and_then(|r| r.policy.as_deref()) != n.quote_policy.as_deref();
        let accepted = n.quote_authorization.is_some()
            && row.as_ref().is_some_and(|r| {
                r.quote_state.as_deref() == Some("pending")
                    && r.quoted_uri.is_some()
                    && r.quoted_uri == n.quote
            });
        Ok(policy || accepted)
    }
}
