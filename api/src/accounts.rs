//! Creating accounts, shared by the API, the command line and the seed loader.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::password;
use crate::catalogue::audit;
use crate::domain::registry::is_email;
use crate::domain::role::Role;
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ErrorCode};
use crate::store::users::{self, UserRow};
use crate::store::DbConnection;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(
        example = "new.holder@example.jp",
        max_length = 254,
        pattern = r"^[^\s@\u0000\u0085]+@[^\s@\u0000\u0085]+\.[^\s@\u0000\u0085]+$"
    )]
    pub email: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    pub role: Role,
    /// Shown to the office; at least one visible character.
    #[schema(max_length = 200, pattern = r"^[^\u0000]*[^\s\u0000\u0085][^\u0000]*$")]
    pub display_name: String,
    #[serde(default)]
    #[schema(max_length = 300)]
    pub organisation: Option<String>,
    #[serde(default)]
    pub language: Language,
}

/// The language of the mail a user receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Ja,
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::En => "en",
        }
    }
}

impl NewUser {
    fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_email(&self.email) {
            errors.push(FieldError::new(
                "email",
                "invalid_format",
                "must be an email address",
            ));
        }
        let len = self.password.chars().count();
        if !(password::MIN_LENGTH..=password::MAX_LENGTH).contains(&len) {
            errors.push(FieldError::new(
                "password",
                "out_of_range",
                format!(
                    "must have {} to {} characters",
                    password::MIN_LENGTH,
                    password::MAX_LENGTH
                ),
            ));
        }
        let name = self.display_name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new(
                "display_name",
                "invalid_format",
                "must have 1 to 200 characters",
            ));
        }
        if self
            .organisation
            .as_deref()
            .is_some_and(|o| o.chars().count() > 300)
        {
            errors.push(FieldError::new(
                "organisation",
                "too_long",
                "at most 300 characters",
            ));
        }
        errors
    }
}

/// Validates, hashes the password and stores the account. Emails are
/// compared case-insensitively: they are stored lower-cased.
pub fn create_user(
    conn: &mut DbConnection,
    new: &NewUser,
    actor_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<UserRow, ApiError> {
    let errors = new.check();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let email = new.email.trim().to_lowercase();
    if users::find_by_email(conn, &email)?.is_some() {
        return Err(ApiError::new(
            ErrorCode::EmailTaken,
            format!("An account for {email} exists"),
        ));
    }
    let row = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        email,
        password_hash: password::hash(&new.password),
        role: new.role.as_str().to_string(),
        display_name: new.display_name.trim().to_string(),
        organisation: new
            .organisation
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        language: new.language.as_str().to_string(),
        created_at: now.naive_utc(),
    };
    users::insert(conn, &row)?;
    audit(
        conn,
        actor_id,
        "user.create",
        "user",
        &row.id,
        json!({"role": row.role}),
        now,
    )?;
    Ok(row)
}
