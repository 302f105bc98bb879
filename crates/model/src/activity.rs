//! The ActivityStreams 2.0 activity types Sluice emits. Every write becomes one of
//! these activities and is stored with its addressing; federation delivers the same
//! JSON. The documents themselves are built from rows in the engine (`engine::as2`).

/// The activity types the pipeline handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Create,
    Update,
    Delete,
    Follow,
    Accept,
    Reject,
    Like,
    Announce,
    Block,
    Undo,
    /// Adding to a collection: pinning a post (to the actor's `featured`).
    Add,
    /// Removing from a collection: unpinning.
    Remove,
    /// An emoji reaction (Pleroma's and Misskey's `EmojiReact`).
    EmojiReact,
    /// An account moving to another (`object` the old one, `target` the new one).
    Move,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "Create",
            Verb::Update => "Update",
            Verb::Delete => "Delete",
            Verb::Follow => "Follow",
            Verb::Accept => "Accept",
            Verb::Reject => "Reject",
            Verb::Like => "Like",
            Verb::Announce => "Announce",
            Verb::Block => "Block",
            Verb::Undo => "Undo",
            Verb::Add => "Add",
            Verb::Remove => "Remove",
            Verb::EmojiReact => "EmojiReact",
            Verb::Move => "Move",
        }
    }
}
