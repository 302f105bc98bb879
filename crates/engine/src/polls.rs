//! Polls, as Mastodon has them: a post's poll (a `Question` in ActivityPub), votes
//! through the API and from other servers, and the end of voting.
//!
//! - A local poll is made with its post ([`NewPoll`], checked against [`PollLimits`]),
//!   stored in the post's transaction and federated as a `Question`.
//! - A vote ([`Engine::vote`]) is stored with the poll's new counts in one transaction.
//!   In a local poll the counts are counted again and an `Update` of the `Question`
//!   with them goes to the post's audience; in a remote poll each chosen option is sent
//!   to the poll's author alone as a `Create` of a `Note` named by the option (never
//!   shown as a post), as Mastodon sends votes.
//! - A remote vote in a local poll ([`Engine::remote_vote`]) is counted the same way.
//! - The end of voting ([`Engine::close_ended_polls`], run by
//!   [`Engine::spawn_poll_expiry`]) is found in the database, so it survives restarts:
//!   local voters and the local author get a `poll` notification, and a local poll's
//!   final counts are federated with `closed`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sluice_model::activity::Verb;
use sluice_model::{Id, Timestamp, api};
use sluice_store::{AccountRow, NewEvent, PollRow, StatusRow, WriteTx};

use crate::effects::Changes;
use crate::pipeline::{Audience, Outgoing, status_event};
use crate::remote::{Ignored, RemoteActivity, RemotePoll};
use crate::{Engine, EngineError, Outcome, Result, as2};

/// What a local poll may hold and how long it may run (the instance announces them in
/// `configuration.polls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollLimits {
    /// Most options (Mastodon: 4).
    pub max_options: usize,
    /// Longest option, in characters (Mastodon: 50).
    pub max_option_chars: usize,
    /// Shortest time a poll may run, in seconds (Mastodon: 5 minutes).
    pub min_expiration_secs: i64,
    /// Longest time a poll may run, in seconds (Mastodon: a month, 2,629,746 s).
    pub max_expiration_secs: i64,
}

impl Default for PollLimits {
    fn default() -> Self {
        PollLimits {
            max_options: 4,
            max_option_chars: 50,
            min_expiration_secs: 300,
            max_expiration_secs: 2_629_746,
        }
    }
}

/// Fewest options a poll has.
pub const MIN_OPTIONS: usize = 2;
/// Polls whose end is handled per transaction batch of [`Engine::close_ended_polls`].
pub const CLOSE_BATCH: i64 = 100;
/// The longest the poll expiry task sleeps without looking at the database again.
pub const EXPIRY_RECHECK: Duration = Duration::from_secs(60);
/// Remote polls keep at most this many options (a bounded row; Mastodon shows all,
/// but no server makes more than a few dozen).
pub const MAX_REMOTE_OPTIONS: usize = 64;
/// Longest remote option title kept, in characters.
pub const MAX_REMOTE_OPTION_CHARS: usize = 500;

/// A poll for a new post, as the API or a C2S client asked for it (stored as is with
/// a scheduled post).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPoll {
    pub options: Vec<String>,
    /// How long voting lasts, in seconds.
    pub expires_in: i64,
    pub multiple: bool,
    pub hide_totals: bool,
}

impl PollLimits {
    /// Checks a new poll, with Mastodon's messages; returns its options trimmed.
    pub fn check(&self, p: &NewPoll) -> Result<Vec<String>> {
        let options: Vec<String> = p
            .options
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if options.len() < MIN_OPTIONS {
            return Err(EngineError::invalid(
                "Validation failed: Poll options must have more than one item",
            ));
        }
        if options.len() > self.max_options {
            return Err(EngineError::invalid(format!(
                "Validation failed: Poll options can't contain more than {} items",
                self.max_options
            )));
        }
        if options
            .iter()
            .any(|o| o.chars().count() > self.max_option_chars)
        {
            return Err(EngineError::invalid(format!(
                "Validation failed: Poll options cannot be longer than {} characters each",
                self.max_option_chars
            )));
        }
        let mut sorted = options.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != options.len() {
            return Err(EngineError::invalid(
                "Validation failed: Poll options contain duplicate items",
            ));
        }
        if p.expires_in < self.min_expiration_secs {
            return Err(EngineError::invalid(
                "Validation failed: Poll expires at is too soon",
            ));
        }
        if p.expires_in > self.max_expiration_secs {
            return Err(EngineError::invalid(
                "Validation failed: Poll expires at is too far out in the future",
            ));
        }
        Ok(options)
    }
}

/// The row of a new local poll of `status_id`, made at `now` (options already checked).
pub(crate) fn new_poll_row(status_id: Id, p: &NewPoll, options: &[String], now: i64) -> PollRow {
    PollRow {
        status_id,
        options: serde_json::to_string(options).unwrap_or_else(|_| "[]".into()),
        tallies: serde_json::to_string(&vec![0i64; options.len()]).unwrap_or_else(|_| "[]".into()),
        multiple: p.multiple,
        hide_totals: p.hide_totals,
        voters_count: Some(0),
        expires_at: Some(now + p.expires_in * 1000),
        closed_at: None,
        updated_at: now,
    }
}

/// The row of a remote post's poll.
pub(crate) fn remote_poll_row(status_id: Id, p: &RemotePoll, now: i64) -> PollRow {
    let (titles, tallies): (Vec<String>, Vec<i64>) = p
        .options
        .iter()
        .take(MAX_REMOTE_OPTIONS)
        .map(|(t, n)| {
            (
                t.chars().take(MAX_REMOTE_OPTION_CHARS).collect::<String>(),
                (*n).max(0),
            )
        })
        .unzip();
    // A poll said to be closed ended when it says, or now.
    let expires_at = match (p.expires_at, p.closed_at) {
        (_, Some(closed)) => Some(p.expires_at.map_or(closed, |e| e.min(closed))),
        (Some(e), None) => Some(e),
        (None, None) => None,
    };
    PollRow {
        status_id,
        options: serde_json::to_string(&titles).unwrap_or_else(|_| "[]".into()),
        tallies: serde_json::to_string(&tallies).unwrap_or_else(|_| "[]".into()),
        multiple: p.multiple,
        hide_totals: false,
        voters_count: p.voters_count.map(|v| v.max(0)),
        expires_at,
        closed_at: None,
        updated_at: now,
    }
}

/// A poll as the Mastodon API shows it to `viewer` (None: anonymous), who chose
/// `own_votes`; `author` wrote it.
pub fn poll_entity(
    p: &PollRow,
    viewer: Option<Id>,
    author: Id,
    own_votes: Vec<i64>,
    now: i64,
) -> api::Poll {
    let expired = p.expired_at(now);
    let show_totals = expired || !p.hide_totals;
    let tallies = p.tally_counts();
    api::Poll {
        id: p.status_id.to_string(),
        expires_at: p.expires_at.map(|e| Timestamp(e).to_rfc3339()),
        expired,
        multiple: p.multiple,
        votes_count: tallies.iter().sum(),
        voters_count: p.voters_count,
        options: p
            .option_titles()
            .into_iter()
            .zip(tallies)
            .map(|(title, n)| api::PollOption {
                title,
                votes_count: show_totals.then_some(n),
            })
            .collect(),
        emojis: vec![],
        voted: viewer.map(|me| me == author || !own_votes.is_empty()),
        own_votes: viewer.map(|_| own_votes),
    }
}

/// Why a vote cannot count, with Mastodon's messages (the API answers 422).
fn check_vote(
    poll: &PollRow,
    author: Id,
    voter: Id,
    choices: &[i64],
    previous: &[i64],
    now: i64,
) -> Result<()> {
    if poll.expired_at(now) {
        return Err(EngineError::invalid(
            "Validation failed: The poll has already ended",
        ));
    }
    let n = poll.option_titles().len() as i64;
    if choices.is_empty() || choices.iter().any(|&c| c < 0 || c >= n) {
        return Err(EngineError::invalid(
            "Validation failed: The chosen vote option does not exist",
        ));
    }
    if voter == author {
        return Err(EngineError::invalid(
            "Validation failed: You cannot vote in your own polls",
        ));
    }
    if !previous.is_empty() || (!poll.multiple && choices.len() > 1) {
        return Err(EngineError::invalid(
            "Validation failed: You have already voted on this poll",
        ));
    }
    Ok(())
}

impl Engine {
    /// The poll of a status `viewer` may see, as the API shows it (404 otherwise).
    pub async fn poll_view(&self, viewer: Option<Id>, status_id: Id) -> Result<api::Poll> {
        let status = self.visible_status(viewer, status_id).await?;
        self.status_entity(viewer, status)
            .await?
            .poll
            .ok_or(EngineError::NotFound)
    }

    /// `voter` chooses `choices` (option indexes) in the poll of `status_id`: 404 when
    /// they may not see it, 422 when the vote cannot count (ended, no such option, their
    /// own poll, voted already, several choices in a single-choice poll). Returns the
    /// poll as they see it now.
    pub async fn vote(&self, voter: Id, status_id: Id, choices: &[i64]) -> Result<api::Poll> {
        let voter_row = self.account_row(voter).await?;
        let status = self.visible_status(Some(voter), status_id).await?;
        let poll = self
            .store
            .poll(status_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let author = self.account_row(status.account_id).await?;
        let mut choices = choices.to_vec();
        choices.sort_unstable();
        // A repeated choice is one vote more than allowed in a single-choice poll, as
        // Mastodon counts it; in a multiple-choice poll it is chosen once.
        if poll.multiple {
            choices.dedup();
        }
        let now = sluice_model::id::now_millis();
        check_vote(&poll, author.id, voter, &choices, &[], now)?;
        let mut tx = self.store.begin().await?;
        // Checked again on the row as it is now, locked: votes counted at once must not
        // miss each other, nor count after the end.
        let poll = tx
            .poll_for_update(status_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let previous = tx.votes_of(status_id, voter).await?;
        check_vote(&poll, author.id, voter, &choices, &previous, now)?;
        let titles = poll.option_titles();
        let mut votes = Vec::with_capacity(choices.len());
        for &choice in &choices {
            let id = self.ids.next_at(now);
            let uri = format!("{}#votes/{id}", voter_row.uri);
            if !tx
                .insert_vote(id, status_id, voter, choice, &uri, now)
                .await?
            {
                return Err(EngineError::invalid(
                    "Validation failed: You have already voted on this poll",
                ));
            }
            votes.push((uri, choice));
        }
        let mut changes = Changes::at(now);
        changes.events([self.poll_changed(&status, &author).await?]);
        if author.is_local() {
            let poll = tx.recount_poll(&poll, now).await?;
            self.record_poll_update(&mut tx, &author, &status, &poll, now)
                .await?;
        } else {
            tx.add_to_tallies(&poll, &choices, true, now).await?;
            // Each choice is its own Note, to the poll's author only.
            let to = [author.uri.clone()];
            for (uri, choice) in &votes {
                let title = usize::try_from(*choice)
                    .ok()
                    .and_then(|i| titles.get(i))
                    .cloned()
                    .unwrap_or_default();
                let note = serde_json::json!({
                    "id": uri,
                    "type": "Note",
                    "name": title,
                    "attributedTo": voter_row.uri,
                    "inReplyTo": status.uri,
                    "to": to,
                });
                let id = format!("{uri}/activity");
                self.record_activity(
                    &mut tx,
                    &voter_row,
                    Outgoing::to(Verb::Create, &id, note, &to),
                    now,
                )
                .await?;
            }
        }
        self.commit(tx, changes).await?;
        self.poll_view(Some(voter), status_id).await
    }

    /// Queues the `Update` of a local poll's `Question` with its counts as they are
    /// (and `closed` once ended) to the post's audience, in `tx`. The object is the one
    /// last federated, with the poll's properties replaced.
    pub(crate) async fn record_poll_update(
        &self,
        tx: &mut WriteTx,
        author: &AccountRow,
        status: &StatusRow,
        poll: &PollRow,
        now: i64,
    ) -> Result<()> {
        let Some(json) = self.store.latest_object_activity(&status.uri).await? else {
            return Ok(());
        };
        let Ok(activity) = serde_json::from_str::<Value>(&json) else {
            return Ok(());
        };
        let mut object = activity["object"].clone();
        if !object.is_object() {
            return Ok(());
        }
        as2::apply_poll(&mut object, poll, now);
        let iris = |key: &str| -> Vec<String> {
            match &object[key] {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let (to, cc) = (iris("to"), iris("cc"));
        let hidden = self.hidden_inboxes(status.id).await?;
        let id = format!("{}#updates/{}", status.uri, self.ids.next_at(now));
        let audience = Audience {
            to: &to,
            cc: &cc,
            hidden_inboxes: &hidden,
        };
        let doc = audience.activity(&id, Verb::Update, author, object, now);
        self.record_document_to(tx, author, doc, &audience, now)
            .await
    }

    /// A remote actor's vote in one of our polls: a `Create` of a `Note` whose `name`
    /// is the chosen option and whose `inReplyTo` is the poll's post. `Ok(None)` when
    /// `in_reply_to` is not a local poll (the Note is then an ordinary reply). A vote
    /// that cannot count is recorded and not applied.
    pub async fn remote_vote(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        in_reply_to: &str,
        option: &str,
        vote_uri: &str,
    ) -> Result<Option<Outcome>> {
        let Some(status) = self.store.status_by_uri(in_reply_to).await? else {
            return Ok(None);
        };
        if !status.local || status.reblog_of_id.is_some() {
            return Ok(None);
        }
        let Some(poll) = self.store.poll(status.id).await? else {
            return Ok(None);
        };
        let choice = poll
            .option_titles()
            .iter()
            .position(|t| t == option)
            .map(|i| i as i64);
        let Some(choice) = choice else {
            return self
                .remote_ignored(actor, a, Ignored::VoteRefused)
                .await
                .map(Some);
        };
        if !self.can_see(Some(actor.id), &status).await? {
            return self
                .remote_ignored(actor, a, Ignored::VoteRefused)
                .await
                .map(Some);
        }
        let author = self.account_row(status.account_id).await?;
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Some(Outcome::default()));
        };
        let Some(poll) = tx.poll_for_update(status.id).await? else {
            self.commit(tx, Changes::at(now)).await?;
            return Ok(Some(Outcome::default()));
        };
        let previous = tx.votes_of(status.id, actor.id).await?;
        // Several Notes come for a multiple-choice vote, one per option: each counts
        // once; a single-choice poll takes one.
        let counts = !poll.expired_at(now)
            && !previous.contains(&choice)
            && (poll.multiple || previous.is_empty());
        if !counts {
            self.commit(tx, Changes::at(now)).await?;
            self.not_applied(actor, a, Ignored::VoteRefused);
            return Ok(Some(Outcome::default()));
        }
        let id = self.ids.next_at(now);
        tx.insert_vote(id, status.id, actor.id, choice, vote_uri, now)
            .await?;
        let poll = tx.recount_poll(&poll, now).await?;
        self.record_poll_update(&mut tx, &author, &status, &poll, now)
            .await?;
        let mut changes = Changes::at(now);
        changes.events([self.poll_changed(&status, &author).await?]);
        self.commit(tx, changes).await?;
        Ok(Some(Outcome::status(status.id, true)))
    }

    /// Handles the end of the polls whose voting ended: each gets a `poll` notification
    /// for its local voters and its local author, and a local one federates its final
    /// counts. At most [`CLOSE_BATCH`] per call, each poll in its own transaction (and
    /// handled once, whichever process gets to it first). Returns how many ended.
    pub async fn close_ended_polls(&self) -> Result<usize> {
        let now = sluice_model::id::now_millis();
        let ended = self.store.ended_polls(now, CLOSE_BATCH).await?;
        let mut closed = 0;
        for poll in ended {
            let status = self.store.status(poll.status_id).await?;
            let author = match &status {
                Some(s) => self.store.account(s.account_id).await?,
                None => None,
            };
            let mut tx = self.store.begin().await?;
            if !tx.close_poll(poll.status_id, now).await? {
                continue;
            }
            // A poll whose post or author is gone has no one to tell: only closed, so
            // it is not found again.
            let (Some(status), Some(author)) = (status, author) else {
                tx.commit().await?;
                closed += 1;
                continue;
            };
            let mut changes = Changes::at(now);
            changes.events([self.poll_changed(&status, &author).await?]);
            let mut recipients = tx.local_voters(poll.status_id).await?;
            if author.is_local() {
                recipients.push(author.id);
            }
            for to in recipients {
                if let Some(e) = self
                    .notify(&mut tx, to, author.id, "poll", Some(status.id), now)
                    .await?
                {
                    changes.events([e]);
                }
            }
            if author.is_local() {
                let mut poll = poll.clone();
                poll.closed_at = Some(now);
                self.record_poll_update(&mut tx, &author, &status, &poll, now)
                    .await?;
            }
            self.commit(tx, changes).await?;
            closed += 1;
        }
        Ok(closed)
    }

    /// Ends polls when their time runs out: sleeps until the soonest end (at most
    /// [`EXPIRY_RECHECK`], and woken early by a new poll), then
    /// [`Engine::close_ended_polls`]. Runs until `shutdown` changes.
    pub fn spawn_poll_expiry(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("poll expiry", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    let now = sluice_model::id::now_millis();
                    let wait = match engine.store.next_poll_end().await {
                        Ok(Some(at)) if at <= now => match engine.close_ended_polls().await {
                            Ok(n) if n > 0 => continue,
                            // Ended polls another process is handling, or whose post is
                            // gone: look again shortly rather than spin.
                            Ok(_) => Duration::from_secs(1),
                            Err(e) => {
                                tracing::warn!(error = %e, "ending polls failed");
                                EXPIRY_RECHECK
                            }
                        },
                        Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)),
                        Ok(None) => EXPIRY_RECHECK,
                        Err(e) => {
                            tracing::warn!(error = %e, "reading the next poll's end failed");
                            EXPIRY_RECHECK
                        }
                    }
                    .min(EXPIRY_RECHECK);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = engine.poll_end_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        })
    }

    /// The `status.update` event of a post whose poll changed (counts, its end), so
    /// streams show the new counts, as Mastodon sends it.
    pub(crate) async fn poll_changed(
        &self,
        status: &StatusRow,
        author: &AccountRow,
    ) -> Result<NewEvent> {
        let view = self.store.status_views(None, &[status.id]).await?;
        let tags: Vec<String> = view
            .iter()
            .flat_map(|v| v.tags().map(String::from))
            .collect();
        let mentions: Vec<Id> = view.iter().flat_map(|v| v.mentions()).collect();
        Ok(status_event(
            "status.update",
            status,
            &tags,
            &mentions,
            &author.domain,
            None,
        ))
    }

    /// Tells the expiry task that a poll with an end was stored.
    pub(crate) fn poll_stored(&self) {
        self.poll_end_wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(options: &[&str], expires_in: i64) -> NewPoll {
        NewPoll {
            options: options.iter().map(|o| o.to_string()).collect(),
            expires_in,
            ..Default::default()
        }
    }

    #[test]
    fn limits_are_checked_with_mastodons_words() {
        let l = PollLimits::default();
        assert_eq!(
            l.check(&poll(&[" a ", "b", " "], 300)).unwrap(),
            vec!["a", "b"]
        );
        let err = |p: NewPoll| l.check(&p).unwrap_err().to_string();
        assert!(err(poll(&["a"], 300)).contains("more than one item"));
        assert!(err(poll(&["a", "b", "c", "d", "e"], 300)).contains("more than 4 items"));
        assert!(err(poll(&["a", &"x".repeat(51)], 300)).contains("50 characters"));
        assert!(err(poll(&["a", "a"], 300)).contains("duplicate"));
        assert!(err(poll(&["a", "b"], 299)).contains("too soon"));
        assert!(err(poll(&["a", "b"], 2_629_747)).contains("too far"));
    }

    #[test]
    fn totals_are_hidden_until_the_end_when_asked() {
        let row = PollRow {
            status_id: 7,
            options: r#"["a","b"]"#.into(),
            tallies: "[2,1]".into(),
            multiple: false,
            hide_totals: true,
            voters_count: Some(3),
            expires_at: Some(1_000),
            closed_at: None,
            updated_at: 0,
        };
        let open = poll_entity(&row, Some(1), 2, vec![1], 500);
        assert_eq!(open.options[0].votes_count, None);
        assert_eq!(open.votes_count, 3);
        assert_eq!(open.voted, Some(true));
        assert_eq!(open.own_votes, Some(vec![1]));
        let ended = poll_entity(&row, None, 2, vec![], 1_000);
        assert!(ended.expired);
        assert_eq!(ended.options[0].votes_count, Some(2));
        assert_eq!(ended.voted, None);
        assert_eq!(ended.own_votes, None);
        // The author has "voted": there is nothing for them to choose.
        assert_eq!(poll_entity(&row, Some(2), 2, vec![], 0).voted, Some(true));
    }
}
