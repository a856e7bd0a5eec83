//! Shapes of JSON columns and API payloads derived from domain values (camelCase, personal
//! text already opened: `None` when erased).

use pawpost_domain::values::{AttachmentRef, Location};
use pawpost_domain::PersonalText;
use serde::{Deserialize, Serialize};

/// An attachment as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub attachment_id: String,
    pub kind: String,
    /// `None` when erased.
    pub name: Option<String>,
    pub url: String,
    pub size: u64,
    pub mime_type: String,
}

/// A location as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationView {
    pub latitude: f64,
    pub longitude: f64,
    pub label: Option<String>,
}

fn clear(t: &PersonalText) -> Option<String> {
    t.as_clear().map(str::to_string)
}

/// The views of a message's attachments.
pub fn attachments(list: &[AttachmentRef]) -> Vec<AttachmentView> {
    list.iter()
        .map(|a| AttachmentView {
            attachment_id: a.attachment_id.clone(),
            kind: crate::projectors::enum_str(&a.kind),
            name: clear(&a.name),
            url: a.url.clone(),
            size: a.size,
            mime_type: a.mime_type.clone(),
        })
        .collect()
}

/// The view of a location.
pub fn location(l: &Location) -> LocationView {
    LocationView {
        latitude: l.latitude,
        longitude: l.longitude,
        label: l.label.as_ref().and_then(clear),
    }
}

/// The text shown in a conversation list for its last message: the text (a caption gets its
/// kind's icon), else a label for the kind; tombstones and erased content say so.
pub fn preview(kind: &str, content: Option<&str>, deleted: bool, erased: bool) -> String {
    const MAX: usize = 100;
    if deleted {
        return "This message was deleted".into();
    }
    if erased {
        return "This message was erased".into();
    }
    let (icon, label) = match kind {
        "image" => ("📷", "Photo"),
        "file" => ("📎", "File"),
        "audio" => ("🎤", "Voice message"),
        "location" => ("📍", "Location"),
        _ => ("", ""),
    };
    match content.map(str::trim).filter(|c| !c.is_empty()) {
        Some(t) => {
            let t = if t.chars().count() > MAX {
                let cut: String = t.chars().take(MAX - 1).collect();
                format!("{cut}…")
            } else {
                t.to_string()
            };
            if icon.is_empty() {
                t
            } else {
                format!("{icon} {t}")
            }
        }
        None if icon.is_empty() => String::new(),
        None => format!("{icon} {label}"),
    }
}
