//! What a caller may ask of a conversation.
//!
//! Every command carries its `actor` and its time `at`; facts the conversation cannot know
//! (does the other user block the sender? may the actor read the forwarded message?) are looked
//! up by the server and arrive here too. Values are already validated newtypes.

use chrono::{DateTime, Utc};

use crate::ids::{BookingId, ConversationId, MessageId, TempId, UserId};

use super::message::MessageLookup;
use crate::values::{
    AttachmentRef, ConversationTitle, Description, ImageUrl, Location, MessageBody, MessageKind,
    Reaction, Role,
};

/// The origin of a forwarded message, as the server found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardFact {
    /// The original message.
    pub message_id: MessageId,
    /// The conversation it lives in.
    pub conversation_id: ConversationId,
    /// Whether the actor can currently see the original (participant, in their visible range,
    /// not deleted): one cannot forward what one cannot read.
    pub readable_by_actor: bool,
}

/// A command addressed to one conversation stream.
#[derive(Clone, Debug, PartialEq)]
pub enum ConversationCommand {
    /// Opens (or returns) the direct conversation of `actor` and `other`; `id` must be
    /// `ConversationId::direct(actor, other)`.
    CreateDirect {
        /// The derived id.
        id: ConversationId,
        /// Who opens it.
        actor: UserId,
        /// The other user.
        other: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Creates a group owned by `actor`, with `members` as members.
    CreateGroup {
        /// A fresh id.
        id: ConversationId,
        /// The creator, who becomes owner.
        actor: UserId,
        /// The group's title.
        title: ConversationTitle,
        /// Optional description.
        description: Option<Description>,
        /// Optional image.
        image_url: Option<ImageUrl>,
        /// The other members (duplicates and the creator are ignored).
        members: Vec<UserId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Opens (or returns) a booking's conversation; `id` must be `ConversationId::booking`.
    CreateBooking {
        /// The derived id.
        id: ConversationId,
        /// The booking.
        booking_id: BookingId,
        /// Who opens it: usually the booking service, which need not be a member.
        actor: UserId,
        /// Optional title.
        title: Option<ConversationTitle>,
        /// At least one member; the actor becomes owner if listed.
        members: Vec<UserId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Creates a platform conversation (announcements, support).
    CreateSystem {
        /// A fresh id.
        id: ConversationId,
        /// Who opens it; becomes owner if listed in `members`.
        actor: UserId,
        /// The title.
        title: ConversationTitle,
        /// At least one member.
        members: Vec<UserId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Changes title, description or image (admins; not in direct conversations).
    UpdateDetails {
        /// Who.
        actor: UserId,
        /// New title; `None` keeps it.
        title: Option<ConversationTitle>,
        /// `None` keeps it, `Some(None)` clears it.
        description: Option<Option<Description>>,
        /// `None` keeps it, `Some(None)` clears it.
        image_url: Option<Option<ImageUrl>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Adds members (admins; not in direct conversations). Current members are skipped.
    AddParticipants {
        /// Who.
        actor: UserId,
        /// Whom.
        users: Vec<UserId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Removes a member (admins; only the owner removes admins; nobody removes the owner).
    RemoveParticipant {
        /// Who.
        actor: UserId,
        /// Whom.
        user: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The actor leaves. An owner who leaves hands ownership to the longest-standing admin
    /// (else the longest-standing member).
    Leave {
        /// Who.
        actor: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The owner makes a member admin or an admin member.
    ChangeRole {
        /// The owner.
        actor: UserId,
        /// Whose role.
        user: UserId,
        /// `Member` or `Admin`.
        role: Role,
        /// When.
        at: DateTime<Utc>,
    },
    /// A participant sends a message.
    SendMessage {
        /// A fresh id (also the data-key id of its content).
        message_id: MessageId,
        /// The sender.
        actor: UserId,
        /// What it carries; `System` is refused here (see `PostSystemMessage`).
        kind: MessageKind,
        /// Text (required for `Text`, a caption otherwise).
        body: Option<MessageBody>,
        /// Files (at least one for `Image`, `File`, `Audio`; at most 10).
        attachments: Vec<AttachmentRef>,
        /// Required for `Location`.
        location: Option<Location>,
        /// A message of this conversation the actor can see, not deleted (looked up).
        reply_to: Option<MessageLookup>,
        /// Where a forwarded message comes from.
        forward: Option<ForwardFact>,
        /// Current participants mentioned.
        mentions: Vec<UserId>,
        /// The client's correlation id (idempotent retries).
        temp_id: Option<TempId>,
        /// In a direct conversation: whether the other participant blocks the actor.
        blocked_by_other: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// The platform posts an automated message (booking confirmed, …). The server issues it
    /// only for the service role; the actor need not be a participant.
    PostSystemMessage {
        /// A fresh id.
        message_id: MessageId,
        /// The service.
        actor: UserId,
        /// The rendered text.
        body: MessageBody,
        /// What kind of notice (`"booking.confirmed"`), 1–100 characters.
        system_type: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The author edits a message; the earlier versions stay in the log.
    EditMessage {
        /// The author.
        actor: UserId,
        /// The message, looked up (see [`MessageLookup`]).
        message: MessageLookup,
        /// The new text.
        body: MessageBody,
        /// When.
        at: DateTime<Utc>,
    },
    /// The author, or an admin of a non-direct conversation, deletes a message for everyone.
    DeleteForEveryone {
        /// Who.
        actor: UserId,
        /// The message, looked up (see [`MessageLookup`]).
        message: MessageLookup,
        /// When.
        at: DateTime<Utc>,
    },
    /// Adds the actor's reaction (once per reaction and user).
    AddReaction {
        /// Who.
        actor: UserId,
        /// The message, looked up (see [`MessageLookup`]).
        message: MessageLookup,
        /// Which reaction.
        reaction: Reaction,
        /// When.
        at: DateTime<Utc>,
    },
    /// Removes the actor's reaction.
    RemoveReaction {
        /// Who.
        actor: UserId,
        /// The message, looked up (see [`MessageLookup`]).
        message: MessageLookup,
        /// Which reaction.
        reaction: Reaction,
        /// When.
        at: DateTime<Utc>,
    },
    /// Moves the actor's read marker forward to a message.
    MarkRead {
        /// Who.
        actor: UserId,
        /// The message, looked up (see [`MessageLookup`]).
        message: MessageLookup,
        /// When.
        at: DateTime<Utc>,
    },
    /// Moves the actor's delivered marker forward to a message.
    MarkDelivered {
        /// Who.
        actor: UserId,
        /// The message, looked up (see [`MessageLookup`]).
        message: MessageLookup,
        /// When.
        at: DateTime<Utc>,
    },
}

impl ConversationCommand {
    /// Who issues the command (for metadata and authorisation logs).
    pub fn actor(&self) -> &UserId {
        use ConversationCommand as C;
        match self {
            C::CreateDirect { actor, .. }
            | C::CreateGroup { actor, .. }
            | C::CreateBooking { actor, .. }
            | C::CreateSystem { actor, .. }
            | C::UpdateDetails { actor, .. }
            | C::AddParticipants { actor, .. }
            | C::RemoveParticipant { actor, .. }
            | C::Leave { actor, .. }
            | C::ChangeRole { actor, .. }
            | C::SendMessage { actor, .. }
            | C::PostSystemMessage { actor, .. }
            | C::EditMessage { actor, .. }
            | C::DeleteForEveryone { actor, .. }
            | C::AddReaction { actor, .. }
            | C::RemoveReaction { actor, .. }
            | C::MarkRead { actor, .. }
            | C::MarkDelivered { actor, .. } => actor,
        }
    }

    /// When the command was issued (the only clock the domain knows).
    pub fn at(&self) -> DateTime<Utc> {
        use ConversationCommand as C;
        match self {
            C::CreateDirect { at, .. }
            | C::CreateGroup { at, .. }
            | C::CreateBooking { at, .. }
            | C::CreateSystem { at, .. }
            | C::UpdateDetails { at, .. }
            | C::AddParticipants { at, .. }
            | C::RemoveParticipant { at, .. }
            | C::Leave { at, .. }
            | C::ChangeRole { at, .. }
            | C::SendMessage { at, .. }
            | C::PostSystemMessage { at, .. }
            | C::EditMessage { at, .. }
            | C::DeleteForEveryone { at, .. }
            | C::AddReaction { at, .. }
            | C::RemoveReaction { at, .. }
            | C::MarkRead { at, .. }
            | C::MarkDelivered { at, .. } => *at,
        }
    }

    /// Whether the command creates the conversation (the only ones valid on an empty stream).
    pub fn is_creation(&self) -> bool {
        matches!(
            self,
            ConversationCommand::CreateDirect { .. }
                | ConversationCommand::CreateGroup { .. }
                | ConversationCommand::CreateBooking { .. }
                | ConversationCommand::CreateSystem { .. }
        )
    }
}
