//! A shared location: coordinates plus an optional, personal label ("Grandma's house").

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationRule};
use crate::personal::PersonalText;

/// Largest location label, in characters.
const MAX_LABEL_CHARS: usize = 200;

/// A point on Earth that a location message shares.
///
/// Fields are public because the value also lives inside stored events (where the label may be
/// sealed); build it with [`Location::parse`], and `decide` re-checks it with
/// [`Location::validate`]. Equality is plain `f64` equality, hence no `Eq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Degrees north, in `-90..=90`.
    pub latitude: f64,
    /// Degrees east, in `-180..=180`.
    pub longitude: f64,
    /// What the place is called; personal content, sealed in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<PersonalText>,
}

impl Location {
    /// Validates and builds a location with a clear label.
    pub fn parse(
        latitude: f64,
        longitude: f64,
        label: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let location = Location {
            latitude,
            longitude,
            label: label.map(|l| PersonalText::clear(l.trim())),
        };
        location.validate()?;
        Ok(location)
    }

    /// Checks the coordinates (finite, in range) and that the label is clear, non-blank and at
    /// most 200 characters without control characters.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_coordinate("location.latitude", self.latitude, 90.0, "-90..=90")?;
        check_coordinate("location.longitude", self.longitude, 180.0, "-180..=180")?;
        if let Some(label) = &self.label {
            let text = label.require_clear("location.label")?;
            let rule = if text.trim().is_empty() {
                Some(ValidationRule::Empty)
            } else if text.chars().count() > MAX_LABEL_CHARS {
                Some(ValidationRule::TooLong {
                    max: MAX_LABEL_CHARS,
                })
            } else if text.chars().any(char::is_control) {
                Some(ValidationRule::ControlCharacter)
            } else {
                None
            };
            if let Some(rule) = rule {
                return Err(ValidationError::new("location.label", rule));
            }
        }
        Ok(())
    }
}

fn check_coordinate(
    field: &'static str,
    value: f64,
    bound: f64,
    range: &'static str,
) -> Result<(), ValidationError> {
    if !value.is_finite() {
        return Err(ValidationError::new(field, ValidationRule::NotANumber));
    }
    if !(-bound..=bound).contains(&value) {
        return Err(ValidationError::new(
            field,
            ValidationRule::OutOfRange { range },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn coordinates_and_label() {
        assert!(Location::parse(90.0, -180.0, None).is_ok());
        assert_eq!(
            Location::parse(90.1, 0.0, None).unwrap_err(),
            ValidationError::new(
                "location.latitude",
                ValidationRule::OutOfRange { range: "-90..=90" }
            )
        );
        assert_eq!(
            Location::parse(0.0, f64::NAN, None).unwrap_err().rule,
            ValidationRule::NotANumber
        );
        assert_eq!(
            Location::parse(0.0, 0.0, Some(" ")).unwrap_err().rule,
            ValidationRule::Empty
        );
        let sealed = Location {
            latitude: 0.0,
            longitude: 0.0,
            label: Some(PersonalText::Sealed("x".into())),
        };
        assert_eq!(
            sealed.validate().unwrap_err().rule,
            ValidationRule::NotClear
        );
    }
}
