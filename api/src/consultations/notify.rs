//! Who is told what about an inquiry, in their own language. Every mail says
//! who must act next, and tells a recipient to act only when it is them.

use chrono::{DateTime, Utc};

use super::{stored_answer, stored_state};
use crate::domain::business_days::jst;
use crate::domain::consultation::{inquiry_ball, ConsultationState, Party, RegistryAnswerState};
use crate::error::ApiError;
use crate::store::consultations::{self as store, ConsultationRow, Target};
use crate::store::outbox::{self, NewOutboxMail};
use crate::store::users::UserRow;
use crate::store::{registries, DbConnection};

/// What happened, as the mail tells it.
#[derive(Debug, Clone)]
pub enum Notice {
    Submitted,
    Moved {
        /// `None` for the inquiry as a whole.
        registry_code: Option<String>,
        from: &'static str,
        to: &'static str,
        comment: Option<String>,
    },
    Message {
        internal: bool,
        body: String,
    },
    Assigned,
    /// A time limit ran out; the recipients hold the ball.
    Reminder {
        registry_code: Option<String>,
        due: DateTime<Utc>,
    },
    /// Far past the limit: the office is told who has not acted.
    Escalation {
        registry_code: Option<String>,
        due: DateTime<Utc>,
        party: Party,
    },
}

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Submitted => "consultation.submitted",
            Notice::Moved { .. } => "consultation.moved",
            Notice::Message { .. } => "consultation.message",
            Notice::Assigned => "consultation.assigned",
            Notice::Reminder { .. } => "consultation.reminder",
            Notice::Escalation { .. } => "consultation.escalation",
        }
    }
}

/// What a recipient is to the inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    Requester,
    /// Holder of these target registries.
    Holder(Vec<String>),
    Office,
}

/// The office's people for an inquiry: its assignee, or every office account.
pub fn office_people(
    conn: &mut DbConnection,
    row: &ConsultationRow,
) -> Result<Vec<UserRow>, ApiError> {
    if let Some(assignee) = &row.assignee_id {
        let found = store::users_by_id(conn, std::slice::from_ref(assignee))?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(store::users_with_role(conn, "office")?)
}

/// The holders of the given targets, each with the codes they hold among them.
pub fn holders_of(
    conn: &mut DbConnection,
    targets: &[&Target],
) -> Result<Vec<(UserRow, Vec<String>)>, ApiError> {
    let mut people: Vec<(UserRow, Vec<String>)> = Vec::new();
    for target in targets {
        for holder in registries::holders(conn, &target.row.registry_id)? {
            match people.iter_mut().find(|(u, _)| u.id == holder.id) {
                Some((_, codes)) => codes.push(target.registry_code.clone()),
                None => people.push((holder, vec![target.registry_code.clone()])),
            }
        }
    }
    Ok(people)
}

fn add(list: &mut Vec<(UserRow, Relation)>, user: UserRow, relation: Relation) {
    if !list.iter().any(|(u, _)| u.id == user.id) {
        list.push((user, relation));
    }
}

/// Writes the mails about `notice` to the people concerned, except the one
/// who acted. `key` makes each mail once: `<key>:<recipient id>`.
pub fn send(
    conn: &mut DbConnection,
    row: &ConsultationRow,
    targets: &[Target],
    actor_id: Option<&str>,
    notice: &Notice,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut people: Vec<(UserRow, Relation)> = Vec::new();
    let reached: Vec<&Target> = targets
        .iter()
        .filter(|t| t.row.status != RegistryAnswerState::Pending.as_str())
        .collect();
    let (requester, holders) = match notice {
        Notice::Submitted | Notice::Assigned => (false, Vec::new()),
        Notice::Message { internal: true, .. } => (false, Vec::new()),
        Notice::Message { .. } => (true, reached),
        Notice::Moved {
            registry_code: Some(code),
            ..
        } => (
            true,
            reached
                .into_iter()
                .filter(|t| &t.registry_code == code)
                .collect(),
        ),
        Notice::Moved { .. } => (true, reached),
        Notice::Reminder { .. } | Notice::Escalation { .. } => (false, Vec::new()),
    };
    for user in office_people(conn, row)? {
        add(&mut people, user, Relation::Office);
    }
    if requester {
        for user in store::users_by_id(conn, std::slice::from_ref(&row.requester_id))? {
            add(&mut people, user, Relation::Requester);
        }
    }
    for (user, codes) in holders_of(conn, &holders)? {
        add(&mut people, user, Relation::Holder(codes));
    }
    people.retain(|(u, _)| Some(u.id.as_str()) != actor_id);
    for (user, relation) in people {
        write(conn, row, targets, &user, &relation, notice, key, now)?;
    }
    Ok(())
}

/// Writes the mail about `notice` to the named office people.
pub fn send_to(
    conn: &mut DbConnection,
    row: &ConsultationRow,
    targets: &[Target],
    recipients: &[UserRow],
    notice: &Notice,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for user in recipients {
        write(
            conn,
            row,
            targets,
            user,
            &Relation::Office,
            notice,
            key,
            now,
        )?;
    }
    Ok(())
}

/// Writes one mail; returns whether it was new.
#[allow(clippy::too_many_arguments)]
pub fn write(
    conn: &mut DbConnection,
    row: &ConsultationRow,
    targets: &[Target],
    user: &UserRow,
    relation: &Relation,
    notice: &Notice,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let ja = user.language != "en";
    let (subject, body) = compose(ja, row, targets, relation, notice)?;
    let at = now.naive_utc();
    Ok(outbox::enqueue(
        conn,
        &NewOutboxMail {
            recipient_email: user.email.clone(),
            language: if ja { "ja" } else { "en" }.to_string(),
            subject,
            body_text: body,
            body_html: None,
            kind: notice.kind().to_string(),
            related_type: "consultation".to_string(),
            related_id: row.id.clone(),
            idempotency_key: format!("{key}:{}", user.id),
            status: "pending".to_string(),
            attempts: 0,
            next_attempt_at: at,
            created_at: at,
        },
    )?)
}

/// A party, the registry when it is about one, and the state (or `decide`).
pub type Step = (Party, Option<String>, &'static str);

/// Who must act next.
pub fn next_steps(row: &ConsultationRow, targets: &[Target]) -> Result<Vec<Step>, ApiError> {
    let state = stored_state(&row.status)?;
    let mut steps = Vec::new();
    if state == ConsultationState::Forwarded {
        let mut all_settled = true;
        for target in targets {
            let answer = stored_answer(&target.row.status)?;
            if answer == RegistryAnswerState::Pending {
                continue;
            }
            if let Some(party) = answer.ball(target.row.holder_unreachable) {
                all_settled = false;
                steps.push((party, Some(target.registry_code.clone()), answer.as_str()));
            }
        }
        if all_settled {
            steps.push((Party::Office, None, "decide"));
        }
    } else if let Some(party) = inquiry_ball(state, false) {
        steps.push((party, None, state.as_str()));
    }
    Ok(steps)
}

fn concerns(relation: &Relation, party: Party, code: Option<&String>) -> bool {
    match (relation, party) {
        (Relation::Office, Party::Office) | (Relation::Requester, Party::Requester) => true,
        (Relation::Holder(codes), Party::Holder) => code.is_some_and(|c| codes.contains(c)),
        _ => false,
    }
}

pub fn state_label(ja: bool, state: &str) -> String {
    if !ja {
        return state.replace('_', " ");
    }
    match state {
        "submitted" => "受付済",
        "in_triage" => "トリアージ中",
        "waiting_for_requester" => "依頼元の回答待ち",
        "forwarded" => "保有者へ転送済",
        "agreed" => "合意",
        "declined" => "辞退",
        "concluded_without_agreement" => "合意なしで終了",
        "withdrawn" => "取下げ",
        "closed" => "事務局により終了",
        "pending" => "未転送",
        "contacted" => "連絡済",
        "checking" => "確認中",
        "available" => "対応可能",
        "not_available" => "対応不可",
        "conditions_stated" => "条件提示済",
        "conditions_accepted" => "条件承諾",
        "conditions_declined" => "条件辞退",
        "provided" => "提供済",
        other => other,
    }
    .to_string()
}

/// Who a party is, in words.
pub fn who(ja: bool, row: &ConsultationRow, party: Party, code: Option<&String>) -> String {
    let org = row.organisation.clone().unwrap_or_default();
    match (party, ja) {
        (Party::Office, true) => "CIN事務局".to_string(),
        (Party::Office, false) => "the CIN office".to_string(),
        (Party::Requester, true) if org.is_empty() => "依頼元".to_string(),
        (Party::Requester, true) => format!("依頼元（{org}）"),
        (Party::Requester, false) if org.is_empty() => "the requester".to_string(),
        (Party::Requester, false) => format!("the requester ({org})"),
        (Party::Holder, true) => format!("{} の保有者", code.cloned().unwrap_or_default()),
        (Party::Holder, false) => format!("the holder of {}", code.cloned().unwrap_or_default()),
    }
}

/// What the party must do in that step.
pub fn action(ja: bool, party: Party, code: Option<&String>, step: &str) -> String {
    let code = code.cloned().unwrap_or_default();
    match (party, step, ja) {
        (Party::Office, "submitted", true) => "相談を受け付け、トリアージを始めてください".into(),
        (Party::Office, "submitted", false) => "take the inquiry into triage".into(),
        (Party::Office, "in_triage", true) => {
            "内容を確認し、転送・質問・辞退のいずれかを行ってください".into()
        }
        (Party::Office, "in_triage", false) => {
            "triage it: forward it, ask the requester, or decline".into()
        }
        (Party::Office, "decide", true) => {
            "結論（合意・辞退・合意なしで終了）を記録してください".into()
        }
        (Party::Office, "decide", false) => {
            "record the outcome (agreed, declined, or concluded without agreement)".into()
        }
        (Party::Office, _, true) => format!(
            "{code} の保有者はアカウントがなく連絡が届きません。保有者に連絡を取ってください"
        ),
        (Party::Office, _, false) => format!("reach the holder of {code}, who has no account here"),
        (Party::Requester, "waiting_for_requester", true) => {
            "事務局からの質問に回答してください".into()
        }
        (Party::Requester, "waiting_for_requester", false) => "answer the office's question".into(),
        (Party::Requester, _, true) => format!("{code} の提示条件を承諾または辞退してください"),
        (Party::Requester, _, false) => {
            format!("accept or decline the conditions stated for {code}")
        }
        (Party::Holder, "available", true) => format!("{code} の利用条件を提示してください"),
        (Party::Holder, "available", false) => format!("state the conditions for {code}"),
        (Party::Holder, "conditions_accepted", true) => {
            format!("{code} のデータ提供または共同研究を進めてください")
        }
        (Party::Holder, "conditions_accepted", false) => {
            format!("provide the data or collaboration for {code}")
        }
        (Party::Holder, _, true) => format!("{code} で対応できるかどうか回答してください"),
        (Party::Holder, _, false) => format!("say whether {code} can help"),
    }
}

fn date_jst(ja: bool, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&jst());
    if ja {
        local.format("%Y年%m月%d日 %H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M JST").to_string()
    }
}

/// The subject and text of one mail.
pub fn compose(
    ja: bool,
    row: &ConsultationRow,
    targets: &[Target],
    relation: &Relation,
    notice: &Notice,
) -> Result<(String, String), ApiError> {
    let steps = next_steps(row, targets)?;
    let label = |s: &str| state_label(ja, s);
    let (headline, detail): (String, Option<String>) = match notice {
        Notice::Submitted => (
            if ja {
                "新しい相談が届きました".into()
            } else {
                "A new inquiry arrived".into()
            },
            Some(row.body.clone()),
        ),
        Notice::Moved {
            registry_code,
            from,
            to,
            comment,
        } => {
            let what = match (registry_code, ja) {
                (Some(code), true) => format!(
                    "{code} の回答状況が「{}」から「{}」になりました",
                    label(from),
                    label(to)
                ),
                (Some(code), false) => {
                    format!("{code} moved from {} to {}", label(from), label(to))
                }
                (None, true) => format!(
                    "相談の状態が「{}」から「{}」になりました",
                    label(from),
                    label(to)
                ),
                (None, false) => format!("The inquiry moved from {} to {}", label(from), label(to)),
            };
            (what, comment.clone())
        }
        Notice::Message { internal, body } => (
            match (internal, ja) {
                (true, true) => {
                    "事務局内メモが追加されました（依頼元・保有者には表示されません）".into()
                }
                (true, false) => {
                    "An internal office note was added (not shown to the requester or holders)"
                        .into()
                }
                (false, true) => "新しいメッセージがあります".into(),
                (false, false) => "There is a new message".into(),
            },
            Some(body.clone()),
        ),
        Notice::Assigned => (
            if ja {
                "この相談の担当になりました".into()
            } else {
                "You are now in charge of this inquiry".into()
            },
            None,
        ),
        Notice::Reminder { due, .. } => (
            if ja {
                format!("リマインダー：期限（{}）を過ぎています", date_jst(ja, *due))
            } else {
                format!(
                    "Reminder: the time limit ({}) has passed",
                    date_jst(ja, *due)
                )
            },
            None,
        ),
        Notice::Escalation {
            registry_code,
            due,
            party,
        } => {
            let who = who(ja, row, *party, registry_code.as_ref());
            (
                if ja {
                    format!(
                        "大幅な遅延：{who}の対応が期限（{}）を大きく過ぎています",
                        date_jst(ja, *due)
                    )
                } else {
                    format!(
                        "Far overdue: {who} has not acted since the limit of {}",
                        date_jst(ja, *due)
                    )
                },
                None,
            )
        }
    };
    let mine: Vec<String> = steps
        .iter()
        .filter(|(party, code, _)| concerns(relation, *party, code.as_ref()))
        .map(|(party, code, step)| action(ja, *party, code.as_ref(), step))
        .collect();
    let others: Vec<String> = steps
        .iter()
        .filter(|(party, code, _)| !concerns(relation, *party, code.as_ref()))
        .map(|(party, code, step)| {
            format!(
                "{}: {}",
                who(ja, row, *party, code.as_ref()),
                action(ja, *party, code.as_ref(), step)
            )
        })
        .collect();
    let mut text = String::new();
    text.push_str(&format!(
        "{}\n\n{}: {}\n{}: {}\n",
        headline,
        if ja { "件名" } else { "Subject" },
        row.subject,
        if ja { "状態" } else { "Status" },
        label(&row.status),
    ));
    if let Some(detail) = detail.filter(|d| !d.is_empty()) {
        text.push_str(&format!("\n{detail}\n"));
    }
    text.push('\n');
    if mine.is_empty() {
        text.push_str(if ja {
            "あなたの対応は必要ありません。"
        } else {
            "No action is needed from you."
        });
        text.push('\n');
    } else {
        text.push_str(if ja {
            "あなたの対応が必要です：\n"
        } else {
            "Action needed from you:\n"
        });
        for step in &mine {
            text.push_str(&format!("- {step}\n"));
        }
    }
    if !others.is_empty() {
        text.push_str(if ja {
            "次に対応する人：\n"
        } else {
            "Next to act:\n"
        });
        for step in &others {
            text.push_str(&format!("- {step}\n"));
        }
    } else if steps.is_empty() {
        text.push_str(if ja {
            "この相談は終了しています。\n"
        } else {
            "This inquiry is concluded.\n"
        });
    }
    text.push_str(&format!("\n/api/v1/consultations/{}\n", row.id));
    let subject = if ja {
        format!("[CIN相談] {}：{}", row.subject, headline)
    } else {
        format!("[CIN inquiry] {}: {}", row.subject, headline)
    };
    Ok((truncate(&subject, 250), text))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut cut: String = s.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}
