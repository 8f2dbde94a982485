//! The consultation desk's writes, shared by the HTTP routes, the seed loader
//! and the reminder pass. Each runs inside the caller's transaction and leaves
//! an event, an audit entry and the notifications beside its change.

pub mod figures;
pub mod notify;
pub mod sla;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::CurrentUser;
use crate::catalogue::audit;
use crate::domain::access;
use crate::domain::consultation::{
    ConsultationKind, ConsultationState, Party, RegistryAnswerState,
};
use crate::domain::registry::PublicationState;
use crate::domain::role::Role;
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ErrorCode};
use crate::store::consultations::{
    self as store, ConsultationRow, MessageRow, NewEvent, Target, TargetRow,
};
use crate::store::users::UserRow;
use crate::store::{registries, DbConnection};
use notify::Notice;

/// How many inquiries exist (the seed loader fills an empty desk only).
pub fn store_count(conn: &mut DbConnection) -> Result<i64, ApiError> {
    Ok(store::count(conn)?)
}

/// Whoever acts on the desk, as its rules need them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub role: Role,
    pub organisation: Option<String>,
}

impl From<&CurrentUser> for Caller {
    fn from(user: &CurrentUser) -> Self {
        Caller {
            id: user.id.clone(),
            role: user.role,
            organisation: user.organisation.clone(),
        }
    }
}

impl From<&UserRow> for Caller {
    fn from(user: &UserRow) -> Self {
        Caller {
            id: user.id.clone(),
            role: Role::parse(&user.role).unwrap_or(Role::Company),
            organisation: user.organisation.clone(),
        }
    }
}

/// An inquiry and what the caller is to it.
pub struct Visible {
    pub row: ConsultationRow,
    pub targets: Vec<Target>,
    /// The caller belongs to the requesting organisation.
    pub is_requester: bool,
    /// Ids of the target registries the caller holds.
    pub held: Vec<String>,
    pub caller: Caller,
}

impl Visible {
    pub fn is_office(&self) -> bool {
        self.caller.role.is_staff()
    }

    /// The caller's party for moves of the inquiry as a whole.
    pub fn party(&self) -> Option<Party> {
        Party::of(self.caller.role, self.is_requester, false)
    }

    /// The caller's party for moves of one target registry.
    pub fn party_for(&self, registry_id: &str) -> Option<Party> {
        let holds = self.held.iter().any(|id| id == registry_id);
        Party::of(self.caller.role, self.is_requester, holds)
    }

    /// The targets the caller may see: holders see only their own registries'.
    pub fn visible_targets(&self) -> Vec<&Target> {
        self.targets
            .iter()
            .filter(|t| self.caller.role != Role::Holder || self.held.contains(&t.row.registry_id))
            .collect()
    }

    pub fn state(&self) -> Result<ConsultationState, ApiError> {
        stored_state(&self.row.status)
    }
}

pub fn stored_state(s: &str) -> Result<ConsultationState, ApiError> {
    ConsultationState::parse(s)
        .ok_or_else(|| ApiError::internal(format!("unknown consultation state {s}")))
}

pub fn stored_answer(s: &str) -> Result<RegistryAnswerState, ApiError> {
    RegistryAnswerState::parse(s)
        .ok_or_else(|| ApiError::internal(format!("unknown registry answer state {s}")))
}

pub fn stored_kind(s: &str) -> Result<ConsultationKind, ApiError> {
    ConsultationKind::parse(s)
        .ok_or_else(|| ApiError::internal(format!("unknown consultation kind {s}")))
}

/// Whether a company account belongs to the organisation that asked.
fn is_requester(row: &ConsultationRow, caller: &Caller) -> bool {
    caller.role == Role::Company
        && (row.requester_id == caller.id
            || (row.organisation.is_some() && row.organisation == caller.organisation))
}

/// Loads an inquiry the caller may see. Others are 404, so that their
/// existence does not leak.
pub fn load_visible(
    conn: &mut DbConnection,
    id: &str,
    caller: &Caller,
) -> Result<Visible, ApiError> {
    let not_found = || ApiError::not_found(format!("No inquiry {id}"));
    let id = uuid::Uuid::parse_str(id)
        .map_err(|_| not_found())?
        .to_string();
    let row = store::find(conn, &id)?.ok_or_else(not_found)?;
    let visible = match caller.role {
        Role::Office | Role::Admin => true,
        Role::Company => is_requester(&row, caller),
        Role::Holder => store::holds_forwarded_target(conn, &row.id, &caller.id)?,
    };
    if !visible {
        return Err(not_found());
    }
    let targets = store::targets(conn, &row.id)?;
    let held = if caller.role == Role::Holder {
        let ids: Vec<String> = targets
            .iter()
            .filter(|t| t.row.status != RegistryAnswerState::Pending.as_str())
            .map(|t| t.row.registry_id.clone())
            .collect();
        store::held_among(conn, &caller.id, &ids)?
    } else {
        Vec::new()
    };
    Ok(Visible {
        is_requester: is_requester(&row, caller),
        row,
        targets,
        held,
        caller: caller.clone(),
    })
}

/// A new inquiry, already checked.
#[derive(Debug, Clone)]
pub struct NewInquiry {
    pub kind: ConsultationKind,
    pub subject: String,
    pub body: String,
    pub desired_timeline: Option<String>,
    /// Registry codes, without duplicates.
    pub registries: Vec<String>,
}

/// Published registries by code; any other code is a 422 naming its place in `field`.
fn resolve_registries(
    conn: &mut DbConnection,
    codes: &[String],
    field: &str,
) -> Result<Vec<registries::RegistryRow>, ApiError> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        match registries::find_by_code(conn, code)? {
            Some(row) if row.publication_state == PublicationState::Published.as_str() => {
                rows.push(row)
            }
            _ => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "unknown_value",
                format!("{code} is not a registry in the public catalogue"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Files a company's inquiry as `submitted` and tells the office.
pub fn submit(
    conn: &mut DbConnection,
    caller: &Caller,
    new: NewInquiry,
    now: DateTime<Utc>,
    send: bool,
) -> Result<ConsultationRow, ApiError> {
    if caller.role != Role::Company {
        return Err(ApiError::forbidden("Only company accounts send inquiries"));
    }
    let registries = resolve_registries(conn, &new.registries, "registries")?;
    let at = now.naive_utc();
    let row = ConsultationRow {
        id: uuid::Uuid::new_v4().to_string(),
        requester_id: caller.id.clone(),
        organisation: caller.organisation.clone(),
        kind: new.kind.as_str().to_string(),
        subject: new.subject,
        body: new.body,
        desired_timeline: new.desired_timeline,
        assignee_id: None,
        status: ConsultationState::Submitted.as_str().to_string(),
        status_changed_at: at,
        version: 1,
        created_at: at,
        updated_at: at,
        first_response_at: None,
        decided_at: None,
    };
    store::insert(conn, &row)?;
    for registry in &registries {
        store::insert_target(conn, &pending_target(&row.id, &registry.id, at))?;
    }
    store::insert_event(
        conn,
        &NewEvent {
            consultation_id: row.id.clone(),
            registry_id: None,
            actor_id: Some(caller.id.clone()),
            from_status: None,
            to_status: row.status.clone(),
            comment: None,
            created_at: at,
        },
    )?;
    audit(
        conn,
        Some(&caller.id),
        "consultation.submit",
        "consultation",
        &row.id,
        json!({"kind": row.kind, "registries": new.registries}),
        now,
    )?;
    if send {
        let targets = store::targets(conn, &row.id)?;
        notify::send(
            conn,
            &row,
            &targets,
            Some(&caller.id),
            &Notice::Submitted,
            &format!("consultation:{}:submitted", row.id),
            now,
        )?;
    }
    Ok(row)
}

fn pending_target(
    consultation_id: &str,
    registry_id: &str,
    at: chrono::NaiveDateTime,
) -> TargetRow {
    TargetRow {
        consultation_id: consultation_id.to_string(),
        registry_id: registry_id.to_string(),
        status: RegistryAnswerState::Pending.as_str().to_string(),
        holder_unreachable: false,
        status_changed_at: at,
        last_activity_at: at,
    }
}

/// The 409 of a move that is not allowed from here, naming the moves that are.
fn not_allowed(what: String, allowed: Vec<&'static str>) -> ApiError {
    let mut err = ApiError::new(ErrorCode::InvalidStateTransition, what);
    err.allowed = Some(allowed.into_iter().map(str::to_string).collect());
    err
}

fn names<T: Copy>(states: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    states.iter().map(|s| name(*s)).collect()
}

/// What a move of the inquiry carries besides its target.
#[derive(Debug, Clone, Default)]
pub struct MoveInput {
    pub comment: Option<String>,
    /// Registries to add when forwarding.
    pub add_registries: Vec<String>,
}

/// Moves an inquiry as a whole. Of two concurrent moves exactly one wins;
/// the other is a 409 naming what may be done from the state it left.
pub fn move_inquiry(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    to: ConsultationState,
    input: MoveInput,
    now: DateTime<Utc>,
    send: bool,
) -> Result<Visible, ApiError> {
    let visible = load_visible(conn, id, caller)?;
    let from = visible.state()?;
    let allowed = from.allowed_moves(visible.party());
    if !allowed.contains(&to) {
        return Err(not_allowed(
            format!(
                "The inquiry is {}; you cannot move it to {}",
                from.as_str(),
                to.as_str()
            ),
            names(&allowed, ConsultationState::as_str),
        ));
    }
    if !input.add_registries.is_empty() && to != ConsultationState::Forwarded {
        return Err(ApiError::validation(vec![FieldError::new(
            "registries",
            "invalid_value",
            "registries can be added only when forwarding",
        )]));
    }
    let at = now.naive_utc();
    let row = &visible.row;
    if to == ConsultationState::Forwarded {
        let added = resolve_registries(conn, &input.add_registries, "registries")?;
        let mut count = visible.targets.len();
        for registry in added {
            if !visible
                .targets
                .iter()
                .any(|t| t.row.registry_id == registry.id)
            {
                store::insert_target(conn, &pending_target(&row.id, &registry.id, at))?;
                count += 1;
            }
        }
        if count == 0 {
            return Err(ApiError::validation(vec![FieldError::new(
                "registries",
                "required",
                "name at least one registry to forward the inquiry to",
            )]));
        }
    }
    let mut moved = ConsultationRow {
        status: to.as_str().to_string(),
        status_changed_at: at,
        version: row.version + 1,
        updated_at: at,
        ..row.clone()
    };
    if caller.role.is_staff() && moved.first_response_at.is_none() {
        moved.first_response_at = Some(at);
    }
    if to.is_decision() {
        moved.decided_at = Some(at);
    }
    if !store::move_if_version(conn, &moved, row.version)? {
        // Someone moved it first; name what may be done from where it is now.
        let now_state = store::find(conn, &row.id)?
            .map(|r| stored_state(&r.status))
            .transpose()?
            .unwrap_or(from);
        return Err(not_allowed(
            format!(
                "The inquiry was moved to {} by someone else a moment ago",
                now_state.as_str()
            ),
            names(
                &now_state.allowed_moves(visible.party()),
                ConsultationState::as_str,
            ),
        ));
    }
    if to == ConsultationState::Forwarded {
        for target in store::targets(conn, &row.id)? {
            if target.row.status != RegistryAnswerState::Pending.as_str() {
                continue;
            }
            let unreachable = registries::holders(conn, &target.row.registry_id)?.is_empty();
            store::move_target_if_status(
                conn,
                &row.id,
                &target.row.registry_id,
                RegistryAnswerState::Pending.as_str(),
                RegistryAnswerState::Contacted.as_str(),
                unreachable,
                at,
            )?;
        }
    }
    let event_id = record_move(
        conn,
        caller,
        &row.id,
        None,
        from.as_str(),
        to.as_str(),
        input.comment.clone(),
        now,
    )?;
    audit(
        conn,
        Some(&caller.id),
        "consultation.move",
        "consultation",
        &row.id,
        json!({"from": from.as_str(), "to": to.as_str(), "comment": input.comment}),
        now,
    )?;
    let visible = load_visible(conn, &row.id, caller)?;
    if send {
        notify::send(
            conn,
            &visible.row,
            &visible.targets,
            Some(&caller.id),
            &Notice::Moved {
                registry_code: None,
                from: from.as_str(),
                to: to.as_str(),
                comment: input.comment,
            },
            &format!("consultation-event:{event_id}"),
            now,
        )?;
    }
    Ok(visible)
}

/// Moves one target registry's answer (its holder, or the requester for conditions).
#[allow(clippy::too_many_arguments)]
pub fn move_registry(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    code: &str,
    to: RegistryAnswerState,
    comment: Option<String>,
    now: DateTime<Utc>,
    send: bool,
) -> Result<Visible, ApiError> {
    let visible = load_visible(conn, id, caller)?;
    let not_found = || ApiError::not_found(format!("The inquiry is not about {code}"));
    let target = visible
        .visible_targets()
        .into_iter()
        .find(|t| t.registry_code == code)
        .cloned()
        .ok_or_else(not_found)?;
    let inquiry = visible.state()?;
    let from = stored_answer(&target.row.status)?;
    let party = visible.party_for(&target.row.registry_id);
    let allowed = from.allowed_moves(inquiry, party);
    if !allowed.contains(&to) {
        let why = if inquiry == ConsultationState::Forwarded {
            format!(
                "{code} is {}; you cannot move it to {}",
                from.as_str(),
                to.as_str()
            )
        } else {
            format!(
                "The inquiry is {}; registries answer only while it is forwarded",
                inquiry.as_str()
            )
        };
        return Err(not_allowed(
            why,
            names(&allowed, RegistryAnswerState::as_str),
        ));
    }
    let at = now.naive_utc();
    if !store::move_target_if_status(
        conn,
        &visible.row.id,
        &target.row.registry_id,
        from.as_str(),
        to.as_str(),
        target.row.holder_unreachable,
        at,
    )? {
        return Err(lost_race(conn, caller, id, code)?);
    }
    // Changes the inquiry's version too, so that the office's decision and a
    // holder's answer cannot cross unseen.
    let touched = ConsultationRow {
        version: visible.row.version + 1,
        updated_at: at,
        first_response_at: visible
            .row
            .first_response_at
            .or((caller.role != Role::Company).then_some(at)),
        ..visible.row.clone()
    };
    if !store::move_if_version(conn, &touched, visible.row.version)? {
        return Err(lost_race(conn, caller, id, code)?);
    }
    let event_id = record_move(
        conn,
        caller,
        &visible.row.id,
        Some(&target.row.registry_id),
        from.as_str(),
        to.as_str(),
        comment.clone(),
        now,
    )?;
    audit(
        conn,
        Some(&caller.id),
        "consultation.registry_move",
        "consultation",
        &visible.row.id,
        json!({"registry": code, "from": from.as_str(), "to": to.as_str(), "comment": comment}),
        now,
    )?;
    let visible = load_visible(conn, &visible.row.id, caller)?;
    if send {
        notify::send(
            conn,
            &visible.row,
            &visible.targets,
            Some(&caller.id),
            &Notice::Moved {
                registry_code: Some(code.to_string()),
                from: from.as_str(),
                to: to.as_str(),
                comment,
            },
            &format!("consultation-event:{event_id}"),
            now,
        )?;
    }
    Ok(visible)
}

/// The 409 of a registry move that lost to a concurrent change, naming the
/// moves the caller may make from where things stand now.
fn lost_race(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    code: &str,
) -> Result<ApiError, ApiError> {
    let fresh = load_visible(conn, id, caller)?;
    let inquiry = fresh.state()?;
    let mut allowed = Vec::new();
    if let Some(target) = fresh
        .visible_targets()
        .into_iter()
        .find(|t| t.registry_code == code)
    {
        allowed = stored_answer(&target.row.status)?
            .allowed_moves(inquiry, fresh.party_for(&target.row.registry_id));
    }
    Ok(not_allowed(
        format!("{code} or its inquiry was moved by someone else a moment ago"),
        names(&allowed, RegistryAnswerState::as_str),
    ))
}

#[allow(clippy::too_many_arguments)]
fn record_move(
    conn: &mut DbConnection,
    caller: &Caller,
    consultation_id: &str,
    registry_id: Option<&str>,
    from: &str,
    to: &str,
    comment: Option<String>,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    store::insert_event(
        conn,
        &NewEvent {
            consultation_id: consultation_id.to_string(),
            registry_id: registry_id.map(str::to_string),
            actor_id: Some(caller.id.clone()),
            from_status: Some(from.to_string()),
            to_status: to.to_string(),
            comment,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(store::events(conn, consultation_id)?
        .last()
        .map(|e| e.id)
        .unwrap_or_default())
}

/// Adds a message to the thread. Internal notes are the office's; holders
/// write once the inquiry reached them (loading it checks that).
pub fn post_message(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    body: String,
    internal: bool,
    now: DateTime<Utc>,
    send: bool,
) -> Result<MessageRow, ApiError> {
    let visible = load_visible(conn, id, caller)?;
    if internal && !caller.role.is_staff() {
        return Err(ApiError::forbidden("Only the office writes internal notes"));
    }
    let at = now.naive_utc();
    let message = MessageRow {
        id: uuid::Uuid::new_v4().to_string(),
        consultation_id: visible.row.id.clone(),
        author_id: caller.id.clone(),
        internal,
        body,
        created_at: at,
    };
    store::insert_message(conn, &message)?;
    let responded = !internal && caller.role != Role::Company;
    store::touch(conn, &visible.row.id, at, responded)?;
    if caller.role == Role::Holder {
        store::touch_targets_held_by(conn, &visible.row.id, &caller.id, at)?;
    }
    audit(
        conn,
        Some(&caller.id),
        "consultation.message",
        "consultation",
        &visible.row.id,
        json!({"message_id": message.id, "internal": internal}),
        now,
    )?;
    if send {
        notify::send(
            conn,
            &visible.row,
            &visible.targets,
            Some(&caller.id),
            &Notice::Message {
                internal,
                body: message.body.clone(),
            },
            &format!("consultation-message:{}", message.id),
            now,
        )?;
    }
    Ok(message)
}

/// Gives an inquiry to someone in the office (or to nobody).
pub fn assign(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    assignee_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Visible, ApiError> {
    if !access::may_manage_catalogue(caller.role) {
        return Err(ApiError::forbidden(format!(
            "A {} account may not assign inquiries",
            caller.role.as_str()
        )));
    }
    let visible = load_visible(conn, id, caller)?;
    let assignee = match &assignee_id {
        Some(assignee_id) => {
            let user = store::users_by_id(conn, std::slice::from_ref(assignee_id))?
                .into_iter()
                .next()
                .filter(|u| Role::parse(&u.role).is_some_and(Role::is_staff));
            match user {
                Some(user) => Some(user),
                None => {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "assignee_id",
                        "invalid_value",
                        "must be the id of an office or admin account",
                    )]))
                }
            }
        }
        None => None,
    };
    let at = now.naive_utc();
    let row = ConsultationRow {
        assignee_id: assignee.as_ref().map(|u| u.id.clone()),
        version: visible.row.version + 1,
        updated_at: at,
        ..visible.row.clone()
    };
    if !store::move_if_version(conn, &row, visible.row.version)? {
        return Err(not_allowed(
            "The inquiry was changed by someone else a moment ago; read it again".into(),
            Vec::new(),
        ));
    }
    audit(
        conn,
        Some(&caller.id),
        "consultation.assign",
        "consultation",
        &row.id,
        json!({"assignee_id": row.assignee_id}),
        now,
    )?;
    if let Some(assignee) = assignee.filter(|a| a.id != caller.id) {
        notify::send_to(
            conn,
            &row,
            &visible.targets,
            &[assignee],
            &Notice::Assigned,
            &format!("consultation:{}:assigned:{}", row.id, row.version),
            now,
        )?;
    }
    load_visible(conn, &row.id, caller)
}
