//! What is wrong with one field of an input, named by its path in the input.

use serde::Serialize;
use utoipa::ToSchema;

/// One failing field. `field` is a JSON path into the request body
/// (`diseases[0].icd10[1]`) or the name of a query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    /// Stable reason: `required`, `invalid_type`, `unknown_field`, `unknown_value`,
    /// `invalid_format`, `out_of_range`, `too_long`, `duplicate`, `immutable`.
    pub code: &'static str,
    pub message: String,
    /// The accepted values, where the field takes a controlled vocabulary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
            allowed: None,
        }
    }

    pub fn with_allowed(mut self, allowed: Vec<String>) -> Self {
        self.allowed = Some(allowed);
        self
    }
}

/// Turns a serde error at a path into a field error, so type errors read like
/// every other validation failure.
pub fn from_serde<E: std::fmt::Display>(path: &serde_path_to_error::Path, err: &E) -> FieldError {
    let message = err.to_string();
    let parent = path.to_string();
    let join = |name: &str| {
        if parent == "." || parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    };
    // serde reports a missing field at its parent; name the field itself.
    if let Some(name) = backticked(&message, "missing field `") {
        return FieldError::new(join(name), "required", format!("`{name}` is required"));
    }
    let field = if parent == "." || parent.is_empty() {
        backticked(&message, "unknown field `")
            .unwrap_or("")
            .to_string()
    } else if let Some(name) = backticked(&message, "unknown field `") {
        // serde_path_to_error already ends the path with the unknown key in most cases.
        if parent.ends_with(name) {
            parent.clone()
        } else {
            join(name)
        }
    } else {
        parent.clone()
    };
    let code = if message.starts_with("unknown field") {
        "unknown_field"
    } else {
        "invalid_type"
    };
    FieldError::new(field, code, strip_position(&message))
}

fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// serde_json appends "at line 1 column 42"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
