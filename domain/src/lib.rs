//! pawpost's pure domain: what may happen in a chat, decided without any I/O.
//!
//! Everything that happens in pawpost is an immutable event in a log (DESIGN.md §1, §3). This
//! crate decides *which* events a command produces and how events fold into the state that the
//! next decision needs. It never reads a clock, a database or the network: the time, new ids and
//! every fact looked up elsewhere (is the sender blocked? can the actor read the forwarded
//! message?) arrive inside the command, so every rule is a plain function that tests can pin down.
//!
//! Layout (one concept per file):
//! * [`ids`]: typed identifiers (`UserId`, `ConversationId`, `MessageId`, …) and stream names.
//! * [`values`]: validated newtypes built by `parse()` (`MessageBody`, `Reaction`, `Location`, …)
//!   and the small enums of the model (`Role`, `MessageKind`, …).
//! * [`personal`]: [`PersonalText`] and the [`PersonalData`] trait that lets the store seal and
//!   erase personal content inside events (forgettable payloads).
//! * [`aggregate`]: the [`Aggregate`] and [`EventType`] traits every aggregate implements.
//! * [`conversation`]: the conversation aggregate (stream `conversation-{uuid}`): lifecycle,
//!   participants, messages, reactions, read and delivered markers.
//! * [`user`]: the user aggregate (stream `user-{id}`): mute, archive, pin, delete-for-me, blocks,
//!   drafts, profile.
//! * [`error`]: [`DomainError`] (stable codes for the HTTP layer) and [`ValidationError`].
//! * `testing` (feature `testing`): a given/when/then harness for decision tests.

pub mod aggregate;
pub mod conversation;
pub mod error;
pub mod ids;
pub mod personal;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod user;
pub mod values;

pub use aggregate::{Aggregate, EventType};
pub use conversation::{ConversationCommand, ConversationEvent, ConversationState};
pub use error::{DomainError, ValidationError, ValidationRule};
pub use ids::{BookingId, ConversationId, MessageId, TempId, UserId};
pub use personal::{PersonalData, PersonalText};
pub use user::{UserCommand, UserEvent, UserState};
