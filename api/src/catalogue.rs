//! Writes to the catalogue that several entry points share (HTTP routes, the
//! seed loader, the survey import). Each runs inside the caller's
//! transaction and leaves a revision and an audit entry beside its change.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::diff;
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::domain::update_cycle::UpdateStatus;
use crate::error::{ApiError, ErrorCode};
use crate::store::audit::{self, NewAuditEntry};
use crate::store::changes;
use crate::store::registries::{self, RegistryRow, RevisionRow};
use crate::store::DbConnection;

/// Why a revision was made; stored with it and shown in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionAction {
    Create,
    Update,
    Publish,
    Withdraw,
    /// A row of a survey round's spreadsheet changed the entry.
    Import,
    /// A holder said the entry is still right ("no change").
    Confirm,
}

impl RevisionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionAction::Create => "create",
            RevisionAction::Update => "update",
            RevisionAction::Publish => "publish",
            RevisionAction::Withdraw => "withdraw",
            RevisionAction::Import => "import",
            RevisionAction::Confirm => "confirm",
        }
    }
}

pub fn record_json(record: &RegistryRecord) -> serde_json::Value {
    serde_json::to_value(record).expect("a record always serialises")
}

/// The text the list's `q` filter looks through, folded like the query.
pub fn search_text(record: &RegistryRecord) -> String {
    let mut parts: Vec<&str> = vec![
        &record.registry_code,
        &record.name_ja,
        &record.operator_name_ja,
    ];
    parts.extend(
        [&record.name_en, &record.acronym, &record.operator_name_en]
            .into_iter()
            .flatten()
            .map(String::as_str),
    );
    for disease in &record.diseases {
        parts.push(&disease.name_ja);
        parts.extend(disease.name_en.as_deref());
        parts.extend(disease.icd10.iter().map(String::as_str));
    }
    cin_search_index::normalize::fold(&parts.join(" \u{1f} "))
}

pub struct NewRegistry {
    pub record: RegistryRecord,
    pub state: PublicationState,
    pub last_confirmed_at: Option<DateTime<Utc>>,
}

/// Inserts a registry as revision 1. A taken registry code is a 409.
pub fn create(
    conn: &mut DbConnection,
    new: NewRegistry,
    actor_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RegistryRow, ApiError> {
    if registries::find_by_code(conn, &new.record.registry_code)?.is_some() {
        return Err(ApiError::new(
            ErrorCode::RegistryCodeTaken,
            format!("{} is already in the catalogue", new.record.registry_code),
        ));
    }
    let record = record_json(&new.record);
    let row = RegistryRow {
        id: uuid::Uuid::new_v4().to_string(),
        registry_code: new.record.registry_code.clone(),
        publication_state: new.state.as_str().to_string(),
        revision: 1,
        survey_round: new.record.survey_round,
        record: record.to_string(),
        name_ja: new.record.name_ja.clone(),
        search_text: search_text(&new.record),
        last_confirmed_at: new.last_confirmed_at.map(|t| t.naive_utc()),
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        // The reminder pass computes the real status against the clock.
        update_status: UpdateStatus::Current.as_str().to_string(),
    };
    registries::insert(conn, &row)?;
    let fields = diff::changed_fields(&json!({}), &record);
    write_revision(conn, &row, RevisionAction::Create, &fields, actor_id)?;
    Ok(row)
}

pub struct Change<'a> {
    pub record: RegistryRecord,
    pub state: PublicationState,
    pub action: RevisionAction,
    /// Whether this change also confirms the entry as current (a holder's edit).
    pub confirms: bool,
    pub actor_id: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Saves a new revision of `current` if nobody saved since it was read;
/// otherwise 412. A change that changes nothing makes no revision.
pub fn save(
    conn: &mut DbConnection,
    current: &RegistryRow,
    change: Change<'_>,
) -> Result<RegistryRow, ApiError> {
    let before: serde_json::Value =
        serde_json::from_str(&current.record).map_err(ApiError::internal)?;
    let after = record_json(&change.record);
    let mut fields = diff::changed_fields(&before, &after);
    if current.publication_state != change.state.as_str() {
        fields.push("publication_state".to_string());
    }
    if fields.is_empty() && !change.confirms {
        return Ok(current.clone());
    }
    let row = RegistryRow {
        publication_state: change.state.as_str().to_string(),
        revision: current.revision + 1,
        survey_round: change.record.survey_round,
        record: after.to_string(),
        name_ja: change.record.name_ja.clone(),
        search_text: search_text(&change.record),
        last_confirmed_at: if change.confirms {
            Some(change.now.naive_utc())
        } else {
            current.last_confirmed_at
        },
        updated_at: change.now.naive_utc(),
        // A confirmation starts a new cycle.
        update_status: if change.confirms {
            UpdateStatus::Current.as_str().to_string()
        } else {
            current.update_status.clone()
        },
        ..current.clone()
    };
    if !registries::update_if_revision(conn, &row, current.revision)? {
        return Err(stale(&current.registry_code));
    }
    write_revision(conn, &row, change.action, &fields, change.actor_id)?;
    // Inside the caller's transaction, not yet committed.
    crate::failpoint::hit("registry-saved");
    Ok(row)
}

pub fn stale(code: &str) -> ApiError {
    ApiError::new(
        ErrorCode::PreconditionFailed,
        format!("{code} was changed by someone else since you read it; read it again and reapply your change"),
    )
}

fn write_revision(
    conn: &mut DbConnection,
    row: &RegistryRow,
    action: RevisionAction,
    fields: &[String],
    actor_id: Option<&str>,
) -> Result<(), ApiError> {
    registries::insert_revision(
        conn,
        &RevisionRow {
            registry_id: row.id.clone(),
            revision: row.revision,
            action: action.as_str().to_string(),
            publication_state: row.publication_state.clone(),
            survey_round: row.survey_round,
            record: row.record.clone(),
            changed_fields: json!(fields).to_string(),
            author_id: actor_id.map(str::to_string),
            created_at: row.updated_at,
        },
    )?;
    changes::append(conn, &row.registry_code, row.updated_at)?;
    audit(
        conn,
        actor_id,
        &format!("registry.{}", action.as_str()),
        "registry",
        &row.registry_code,
        json!({"revision": row.revision, "changed_fields": fields}),
        row.updated_at.and_utc(),
    )
}

/// Appends to the audit log.
pub fn audit(
    conn: &mut DbConnection,
    actor_id: Option<&str>,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        &NewAuditEntry {
            actor_id,
            action,
            object_type,
            object_id,
            detail: detail.to_string(),
            created_at: now.naive_utc(),
        },
    )?;
    Ok(())
}
