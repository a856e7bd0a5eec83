//! Validated text values: a message body, a title, a description, an image URL, a reaction, a
//! user's display name and locale.
//!
//! Lengths count Unicode scalar values (`char`s), never bytes, so a limit means the same for
//! "hello" and "こんにちは". Control characters are refused (PostgreSQL text cannot even hold
//! NUL); multi-line values keep newlines and tabs.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationRule};

/// Largest message body (and draft), in characters.
pub const MAX_BODY_CHARS: usize = 10_000;

/// Largest display name, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Shortest locale tag, in characters.
const MIN_LOCALE_CHARS: usize = 2;

/// Longest locale tag, in characters.
const MAX_LOCALE_CHARS: usize = 35;

/// How one kind of text is checked.
struct TextRules {
    max: usize,
    trim: bool,
    multiline: bool,
}

fn check_text(
    field: &'static str,
    raw: &str,
    rules: &TextRules,
) -> Result<String, ValidationError> {
    let text = if rules.trim { raw.trim() } else { raw };
    if text.trim().is_empty() {
        return Err(ValidationError::new(field, ValidationRule::Empty));
    }
    if text.chars().count() > rules.max {
        return Err(ValidationError::new(
            field,
            ValidationRule::TooLong { max: rules.max },
        ));
    }
    let allowed = |c: char| rules.multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ValidationError::new(
            field,
            ValidationRule::ControlCharacter,
        ));
    }
    Ok(text.to_owned())
}

macro_rules! text_value {
    ($(#[$attr:meta])* $name:ident, check = $check:expr) => {
        $(#[$attr])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `raw` and builds the value; the error names the field and the rule.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                let check: fn(&str) -> Result<String, ValidationError> = $check;
                check(raw).map($name)
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value!(
    /// The text of a message or a draft: not blank, at most 10,000 characters, kept as typed
    /// (leading spaces matter in code blocks). Personal content: `Debug` hides it.
    MessageBody,
    check = |raw| {
        check_text(
            "body",
            raw,
            &TextRules { max: MAX_BODY_CHARS, trim: false, multiline: true },
        )
    }
);

text_value!(
    /// A conversation title: trimmed, 1–200 characters, one line.
    #[derive(Debug)]
    ConversationTitle,
    check = |raw| check_text("title", raw, &TextRules { max: 200, trim: true, multiline: false })
);

text_value!(
    /// A conversation description: trimmed, 1–500 characters (clear it with `None`).
    #[derive(Debug)]
    Description,
    check = |raw| {
        check_text("description", raw, &TextRules { max: 500, trim: true, multiline: true })
    }
);

text_value!(
    /// A conversation image: an absolute `http(s)://` URL of at most 500 characters.
    #[derive(Debug)]
    ImageUrl,
    check = |raw| {
        let url = check_text("imageUrl", raw, &TextRules { max: 500, trim: true, multiline: false })?;
        if url.chars().any(char::is_whitespace) {
            return Err(ValidationError::new("imageUrl", ValidationRule::Whitespace));
        }
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() => Ok(url),
            _ => Err(ValidationError::new("imageUrl", ValidationRule::Scheme)),
        }
    }
);

text_value!(
    /// A reaction (an emoji or a short word): trimmed, 1–50 characters, no control characters.
    #[derive(Debug)]
    Reaction,
    check = |raw| check_text("reaction", raw, &TextRules { max: 50, trim: true, multiline: false })
);

text_value!(
    /// A user's display name: trimmed, 1–100 characters, one line.
    #[derive(Debug)]
    DisplayName,
    check = |raw| {
        let rules = TextRules { max: MAX_DISPLAY_NAME_CHARS, trim: true, multiline: false };
        check_text("displayName", raw, &rules)
    }
);

text_value!(
    /// A user's language tag, such as `en` or `pt-BR`: trimmed, 2–35 ASCII letters, digits and
    /// `-`, kept as typed (no case folding).
    #[derive(Debug)]
    Locale,
    check = |raw| {
        let rules = TextRules { max: MAX_LOCALE_CHARS, trim: true, multiline: false };
        let tag = check_text("locale", raw, &rules)?;
        if tag.chars().any(char::is_whitespace) {
            return Err(ValidationError::new("locale", ValidationRule::Whitespace));
        }
        if tag.chars().count() < MIN_LOCALE_CHARS
            || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ValidationError::new("locale", ValidationRule::Format));
        }
        Ok(tag)
    }
);

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageBody(<{} chars>)", self.0.chars().count())
    }
}

impl fmt::Display for ConversationTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Reaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn body_limits_count_characters_not_bytes() {
        assert!(MessageBody::parse(&"é".repeat(MAX_BODY_CHARS)).is_ok());
        assert_eq!(
            MessageBody::parse(&"a".repeat(MAX_BODY_CHARS + 1)).unwrap_err(),
            ValidationError::new(
                "body",
                ValidationRule::TooLong {
                    max: MAX_BODY_CHARS
                }
            )
        );
        assert_eq!(
            MessageBody::parse(" \n\t ").unwrap_err().rule,
            ValidationRule::Empty
        );
        assert_eq!(
            MessageBody::parse("a\0b").unwrap_err().rule,
            ValidationRule::ControlCharacter
        );
        assert_eq!(MessageBody::parse("  code\n").unwrap().as_str(), "  code\n");
    }

    #[test]
    fn titles_descriptions_and_urls() {
        assert_eq!(ConversationTitle::parse(" Dogs ").unwrap().as_str(), "Dogs");
        assert!(ConversationTitle::parse(&"t".repeat(201)).is_err());
        assert!(ConversationTitle::parse("a\nb").is_err());
        assert!(Description::parse(&"d".repeat(500)).is_ok());
        assert!(Description::parse(&"d".repeat(501)).is_err());
        assert!(ImageUrl::parse("https://cdn.example/x.png").is_ok());
        assert!(ImageUrl::parse("HTTP://cdn.example/x.png").is_ok());
        assert_eq!(
            ImageUrl::parse("ftp://x").unwrap_err().rule,
            ValidationRule::Scheme
        );
        assert_eq!(
            ImageUrl::parse("https://").unwrap_err().rule,
            ValidationRule::Scheme
        );
        assert!(ImageUrl::parse(&format!("https://{}", "a".repeat(492))).is_ok());
        assert_eq!(
            ImageUrl::parse(&format!("https://{}", "a".repeat(493)))
                .unwrap_err()
                .rule,
            ValidationRule::TooLong { max: 500 }
        );
    }

    #[test]
    fn reactions() {
        assert_eq!(Reaction::parse(" 👍 ").unwrap().as_str(), "👍");
        assert_eq!(Reaction::parse("").unwrap_err().rule, ValidationRule::Empty);
        assert_eq!(
            Reaction::parse(&"x".repeat(51)).unwrap_err().rule,
            ValidationRule::TooLong { max: 50 }
        );
        assert!(serde_json::from_str::<Reaction>("\"\"").is_err());
    }

    #[test]
    fn display_names() {
        assert_eq!(DisplayName::parse("  Rex  ").unwrap().as_str(), "Rex");
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            DisplayName::parse(&"n".repeat(101)).unwrap_err(),
            ValidationError::new("displayName", ValidationRule::TooLong { max: 100 })
        );
        assert_eq!(
            DisplayName::parse(" \t ").unwrap_err().rule,
            ValidationRule::Empty
        );
        assert_eq!(
            DisplayName::parse("a\nb").unwrap_err().rule,
            ValidationRule::ControlCharacter
        );
        assert!(serde_json::from_str::<DisplayName>("\"\"").is_err());
    }

    #[test]
    fn locales() {
        assert_eq!(Locale::parse("en").unwrap().as_str(), "en");
        assert_eq!(Locale::parse(" pt-BR ").unwrap().as_str(), "pt-BR");
        assert!(Locale::parse("zh-Hant-TW").is_ok());
        assert!(Locale::parse(&"a".repeat(35)).is_ok());
        assert_eq!(
            Locale::parse(&"a".repeat(36)).unwrap_err(),
            ValidationError::new("locale", ValidationRule::TooLong { max: 35 })
        );
        assert_eq!(Locale::parse("").unwrap_err().rule, ValidationRule::Empty);
        assert_eq!(Locale::parse("e").unwrap_err().rule, ValidationRule::Format);
        assert_eq!(
            Locale::parse("pt_BR").unwrap_err().rule,
            ValidationRule::Format
        );
        assert_eq!(
            Locale::parse("ça").unwrap_err().rule,
            ValidationRule::Format
        );
        assert_eq!(
            Locale::parse("pt BR").unwrap_err().rule,
            ValidationRule::Whitespace
        );
        assert_eq!(
            Locale::parse("en\u{7}").unwrap_err().rule,
            ValidationRule::ControlCharacter
        );
        assert!(serde_json::from_str::<Locale>("\"x\"").is_err());
    }
}
