//! Validated values and the small enums of the chat model.
//!
//! Text values are built by `parse()` (and validated again when deserialized), so invalid input
//! never reaches `decide`. [`Location`] and [`AttachmentRef`] have public fields because they
//! also travel inside events; `decide` re-checks them with their `validate()`.

mod attachment;
mod kinds;
mod location;
mod marker;
mod text;

pub use attachment::{AttachmentKind, AttachmentRef};
pub use kinds::{ConversationKind, MessageKind, NotificationLevel, Role};
pub use location::Location;
pub use marker::ReadMarker;
pub use text::{
    ConversationTitle, Description, DisplayName, ImageUrl, Locale, MessageBody, Reaction,
    MAX_BODY_CHARS,
};
