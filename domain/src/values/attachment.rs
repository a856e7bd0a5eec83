//! A reference to an uploaded file attached to a message (the bytes live in media storage).

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationRule};
use crate::personal::PersonalText;

/// What an attachment is, for rendering and scanning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    /// A picture.
    Image,
    /// A document (PDF, …).
    Document,
    /// Sound (voice notes).
    Audio,
    /// A clip.
    Video,
}

/// An attachment as a message carries it.
///
/// Fields are public because the value also lives inside stored events (where the file name may
/// be sealed); build it with [`AttachmentRef::parse`], and `decide` re-checks it with
/// [`AttachmentRef::validate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRef {
    /// The media service's id of the upload.
    pub attachment_id: String,
    /// What it is.
    pub kind: AttachmentKind,
    /// The original file name; personal content ("vet-report-rex.pdf"), sealed in the log.
    pub name: PersonalText,
    /// Where clients fetch it.
    pub url: String,
    /// Size in bytes.
    pub size: u64,
    /// The sniffed MIME type (`image/jpeg`).
    pub mime_type: String,
}

impl AttachmentRef {
    /// Validates and builds an attachment reference with a clear name.
    pub fn parse(
        attachment_id: &str,
        kind: AttachmentKind,
        name: &str,
        url: &str,
        size: u64,
        mime_type: &str,
    ) -> Result<Self, ValidationError> {
        let attachment = AttachmentRef {
            attachment_id: attachment_id.trim().to_owned(),
            kind,
            name: PersonalText::clear(name.trim()),
            url: url.trim().to_owned(),
            size,
            mime_type: mime_type.trim().to_ascii_lowercase(),
        };
        attachment.validate()?;
        Ok(attachment)
    }

    /// Checks every field: id ≤ 100, clear name ≤ 255, url ≤ 500, MIME type `type/subtype`
    /// ≤ 100, all non-blank and free of control characters.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check("attachments.attachmentId", &self.attachment_id, 100)?;
        check(
            "attachments.name",
            self.name.require_clear("attachments.name")?,
            255,
        )?;
        check("attachments.url", &self.url, 500)?;
        check("attachments.mimeType", &self.mime_type, 100)?;
        match self.mime_type.split_once('/') {
            Some((t, s)) if !t.is_empty() && !s.is_empty() && !self.mime_type.contains(' ') => {
                Ok(())
            }
            _ => Err(ValidationError::new(
                "attachments.mimeType",
                ValidationRule::Format,
            )),
        }
    }
}

fn check(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    let rule = if value.trim().is_empty() {
        ValidationRule::Empty
    } else if value.chars().count() > max {
        ValidationRule::TooLong { max }
    } else if value.chars().any(char::is_control) {
        ValidationRule::ControlCharacter
    } else {
        return Ok(());
    };
    Err(ValidationError::new(field, rule))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_checks_fields() {
        let ok = AttachmentRef::parse(
            "a1",
            AttachmentKind::Image,
            "rex.jpg",
            "/m/a1",
            10,
            "Image/JPEG",
        );
        assert_eq!(ok.unwrap().mime_type, "image/jpeg");
        let err = AttachmentRef::parse("a1", AttachmentKind::Image, "", "/m/a1", 10, "image/jpeg");
        assert_eq!(err.unwrap_err().field, "attachments.name");
        let err = AttachmentRef::parse("a1", AttachmentKind::Image, "x", "/m/a1", 10, "jpeg");
        assert_eq!(err.unwrap_err().rule, ValidationRule::Format);
    }
}
