//! The consultation desk: companies' inquiries, triaged by the office and
//! answered by the registries' holders, in one thread.

mod assignee;
mod create;
mod export;
mod list;
mod messages;
mod moves;
mod read;
mod stats;

pub use assignee::{__path_assign, AssigneeRequest};
pub use create::{__path_create, submit, NewConsultation};
pub use export::{__path_export, RangeQuery};
pub use list::{__path_list, visibility, ConsultationListQuery};
pub use messages::{__path_list_messages, __path_post_message, thread, write, Message, NewMessage};
pub use moves::{__path_move_inquiry, __path_move_registry, MoveRequest, RegistryMoveRequest};
pub use read::__path_read;
pub use stats::__path_stats;

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::consultations::{stored_answer, stored_kind, stored_state, Visible};
use crate::domain::consultation::{ConsultationKind, ConsultationState, RegistryAnswerState};
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::store::consultations::{self as store, ConsultationRow};
use crate::store::users::UserRow;
use crate::store::DbConnection;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed paths first: `stats` is not an inquiry id.
    cfg.service(stats::stats)
        .service(export::export)
        .service(list::list)
        .service(create::create)
        .service(read::read)
        .service(moves::move_inquiry)
        .service(moves::move_registry)
        .service(messages::list_messages)
        .service(messages::post_message)
        .service(assignee::assign);
}

/// A person on the desk, as the other parties see them (no email).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    pub id: uuid::Uuid,
    pub display_name: String,
    pub role: Role,
    pub organisation: Option<String>,
}

impl From<&UserRow> for Person {
    fn from(row: &UserRow) -> Self {
        Person {
            id: row.id.parse().unwrap_or_default(),
            display_name: row.display_name.clone(),
            role: Role::parse(&row.role).unwrap_or(Role::Company),
            organisation: row.organisation.clone(),
        }
    }
}

/// One registry an inquiry is about, and where its holder stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationRegistry {
    #[schema(example = "CIN-R-000001")]
    pub registry_code: String,
    pub name_ja: String,
    pub status: RegistryAnswerState,
    pub status_changed_at: DateTime<Utc>,
    /// Office only: the registry has no holder account, so nobody can answer
    /// until the office reaches its holder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_unreachable: Option<bool>,
    /// The moves you may make on this registry's answer now.
    pub allowed_moves: Vec<RegistryAnswerState>,
}

/// One recorded move.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationEvent {
    /// The registry moved; null for the inquiry as a whole.
    pub registry_code: Option<String>,
    /// Null for the system.
    pub actor: Option<Person>,
    /// Null for the submission.
    pub from: Option<String>,
    pub to: String,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// An inquiry, as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consultation {
    pub id: uuid::Uuid,
    pub kind: ConsultationKind,
    pub status: ConsultationState,
    pub subject: String,
    pub body: String,
    pub desired_timeline: Option<String>,
    pub requester: Person,
    pub organisation: Option<String>,
    /// The office member in charge.
    pub assignee: Option<Person>,
    /// Holders see only their own registries here.
    pub registries: Vec<ConsultationRegistry>,
    /// The moves you may make on the inquiry now.
    pub allowed_moves: Vec<ConsultationState>,
    /// Increases with every change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Every move, oldest first (holders: the inquiry's and their registries').
    pub history: Vec<ConsultationEvent>,
}

/// An inquiry in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationSummary {
    pub id: uuid::Uuid,
    pub kind: ConsultationKind,
    pub status: ConsultationState,
    pub subject: String,
    pub organisation: Option<String>,
    pub assignee_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConsultationSummary {
    pub fn from_row(row: &ConsultationRow) -> Result<Self, ApiError> {
        Ok(ConsultationSummary {
            id: row.id.parse().map_err(ApiError::internal)?,
            kind: stored_kind(&row.kind)?,
            status: stored_state(&row.status)?,
            subject: row.subject.clone(),
            organisation: row.organisation.clone(),
            assignee_id: row.assignee_id.as_deref().and_then(|id| id.parse().ok()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        })
    }
}

/// The full view of a visible inquiry, read in the caller's connection.
pub fn view(conn: &mut DbConnection, visible: &Visible) -> Result<Consultation, ApiError> {
    let row = &visible.row;
    let state = stored_state(&row.status)?;
    let mut ids = vec![row.requester_id.clone()];
    ids.extend(row.assignee_id.clone());
    let events = store::events(conn, &row.id)?;
    ids.extend(events.iter().filter_map(|e| e.actor_id.clone()));
    let people = store::users_by_id(conn, &ids)?;
    let person = |id: &str| people.iter().find(|u| u.id == id).map(Person::from);
    let shown = visible.visible_targets();
    let mut registries = Vec::new();
    for target in &shown {
        let answer = stored_answer(&target.row.status)?;
        registries.push(ConsultationRegistry {
            registry_code: target.registry_code.clone(),
            name_ja: target.name_ja.clone(),
            status: answer,
            status_changed_at: target.row.status_changed_at.and_utc(),
            holder_unreachable: visible.is_office().then_some(target.row.holder_unreachable),
            allowed_moves: answer.allowed_moves(state, visible.party_for(&target.row.registry_id)),
        });
    }
    let code_of = |id: &str| {
        visible
            .targets
            .iter()
            .find(|t| t.row.registry_id == id)
            .map(|t| t.registry_code.clone())
    };
    let history = events
        .iter()
        .filter(|e| match &e.registry_id {
            None => true,
            Some(id) => shown.iter().any(|t| &t.row.registry_id == id),
        })
        .map(|e| ConsultationEvent {
            registry_code: e.registry_id.as_deref().and_then(code_of),
            actor: e.actor_id.as_deref().and_then(person),
            from: e.from_status.clone(),
            to: e.to_status.clone(),
            comment: e.comment.clone(),
            at: e.created_at.and_utc(),
        })
        .collect();
    Ok(Consultation {
        id: row.id.parse().map_err(ApiError::internal)?,
        kind: stored_kind(&row.kind)?,
        status: state,
        subject: row.subject.clone(),
        body: row.body.clone(),
        desired_timeline: row.desired_timeline.clone(),
        requester: person(&row.requester_id)
            .ok_or_else(|| ApiError::internal("an inquiry without its requester"))?,
        organisation: row.organisation.clone(),
        assignee: row.assignee_id.as_deref().and_then(person),
        registries,
        allowed_moves: state.allowed_moves(visible.party()),
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        status_changed_at: row.status_changed_at.and_utc(),
        first_response_at: row.first_response_at.map(|t| t.and_utc()),
        decided_at: row.decided_at.map(|t| t.and_utc()),
        history,
    })
}

/// One visible line of text, as the schema states it for clients.
pub const VISIBLE_TEXT: &str = r"^[^\u0000]*[^\s\u0000\u0085][^\u0000]*$";

/// Trims and checks a text field: at least one visible character, at most `max`.
pub fn text_field(
    errors: &mut Vec<crate::domain::validation::FieldError>,
    field: &str,
    value: &str,
    max: usize,
) -> String {
    use crate::domain::validation::FieldError;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    trimmed.to_string()
}

/// Registry codes in a request: each `CIN-R-` and six digits, no repeats kept.
pub fn registry_codes(
    errors: &mut Vec<crate::domain::validation::FieldError>,
    field: &str,
    codes: &[String],
    max: usize,
) -> Vec<String> {
    use crate::domain::registry::is_registry_code;
    use crate::domain::validation::FieldError;
    if codes.len() > max {
        errors.push(FieldError::new(
            field,
            "out_of_range",
            format!("at most {max} registries"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let code = code.trim().to_string();
        if !is_registry_code(&code) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "invalid_format",
                "must be a registry code such as CIN-R-000001",
            ));
        } else if !out.contains(&code) {
            out.push(code);
        }
    }
    out
}
