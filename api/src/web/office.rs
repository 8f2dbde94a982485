//! The office desk: open inquiries with the overdue ones first, registries
//! due and overdue for their periodic confirmation, and the mail outbox.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use maud::{html, Markup};

use super::{labels, Page};
use crate::consultations::notify::who;
use crate::consultations::sla::{self, Duty};
use crate::domain::role::Role;
use crate::domain::update_cycle::UpdateStatus;
use crate::error::ApiError;
use crate::reminders::{self, UpdateState};
use crate::startup::AppState;
use crate::store::consultations::{self as store, ConsultationRow};
use crate::store::outbox::{self, OutboxFilter, OutboxRow};

/// The newest mails the desk lists; the API pages through the rest.
const OUTBOX_SIZE: i64 = 20;

struct Desk {
    /// Open inquiries, the late ones first (with their late duties), then by state.
    inquiries: Vec<(ConsultationRow, Vec<Duty>)>,
    updates: Vec<UpdateState>,
    outbox: Vec<OutboxRow>,
    outbox_total: i64,
}

#[get("/office")]
pub async fn office_desk(state: web::Data<AppState>, page: Page) -> HttpResponse {
    let Some(user) = page.user.as_ref() else {
        return page.sign_in_first();
    };
    if !Role::is_staff(user.role) {
        return page.error(
            StatusCode::FORBIDDEN,
            page.t(
                "このページは事務局専用です。",
                "This page is for the CIN office.",
            ),
        );
    }
    let now = state.clock.now();
    let (limits, policy) = (state.sla, state.reminders.policy);
    let desk = state
        .store
        .read(move |conn| {
            let late = sla::overdue(conn, &limits, now)?;
            let mut inquiries: Vec<(ConsultationRow, Vec<Duty>)> = late
                .into_iter()
                .map(|(row, _, duties)| (row, duties))
                .collect();
            let mut on_time: Vec<ConsultationRow> = store::in_states(conn, &sla::OPEN_STATES)?
                .into_iter()
                .filter(|row| !inquiries.iter().any(|(late, _)| late.id == row.id))
                .collect();
            on_time.sort_by_key(|row| sla::OPEN_STATES.iter().position(|s| *s == row.status));
            inquiries.extend(on_time.into_iter().map(|row| (row, Vec::new())));
            let updates = reminders::update_states(
                conn,
                &policy,
                &[UpdateStatus::Overdue, UpdateStatus::Due],
                now,
            )?;
            let (outbox, outbox_total) = outbox::list(
                conn,
                &OutboxFilter {
                    kind: None,
                    related_id: None,
                    recipient_email: None,
                    status: None,
                },
                0,
                OUTBOX_SIZE,
            )?;
            Ok::<_, ApiError>(Desk {
                inquiries,
                updates,
                outbox,
                outbox_total,
            })
        })
        .await;
    let desk = match desk {
        Ok(desk) => desk,
        Err(e) => {
            tracing::error!(detail = %e.detail, "office desk failed");
            return page.error(StatusCode::INTERNAL_SERVER_ERROR, &e.detail);
        }
    };
    let title = page.t("事務局デスク", "Office desk");
    page.render(
        StatusCode::OK,
        title,
        html! {
            h1 { (title) }
            (inquiries(&page, &desk.inquiries))
            (updates(&page, &desk.updates, now))
            (mails(&page, &desk.outbox, desk.outbox_total))
        },
    )
}

fn inquiries(page: &Page, items: &[(ConsultationRow, Vec<Duty>)]) -> Markup {
    let ja = page.lang == super::Lang::Ja;
    html! {
        section aria-labelledby="desk-inquiries" {
            h2 id="desk-inquiries" { (page.t("対応中の問い合わせ", "Open inquiries")) " (" (items.len()) ")" }
            ul class="desk-counts" {
                @for state in sla::OPEN_STATES {
                    li class="badge" { (labels::desk_state(page, state)) ": " (items.iter().filter(|(r, _)| r.status == state).count()) }
                }
            }
            @if items.is_empty() {
                p class="muted" { (page.t("対応中の問い合わせはありません。", "No open inquiries.")) }
            } @else {
                table class="list" id="desk-inquiry-table" {
                    thead { tr {
                        th scope="col" { (page.t("件名", "Subject")) }
                        th scope="col" { (page.t("状況", "Status")) }
                        th scope="col" { (page.t("期限", "Time limit")) }
                        th scope="col" { (page.t("受付日", "Sent")) }
                    } }
                    tbody {
                        @for (row, late) in items {
                            tr class=[(!late.is_empty()).then_some("late")] data-inquiry=(row.id) {
                                td { a href=(format!("/my/inquiries/{}", row.id)) { (row.subject) }
                                     @if let Some(org) = &row.organisation { br; span class="muted" { (org) } } }
                                td { span class="badge" { (labels::desk_state(page, &row.status)) } }
                                td {
                                    @if late.is_empty() {
                                        span class="muted" { (page.t("期限内", "On time")) }
                                    }
                                    @for duty in late {
                                        span class="badge warn" { (page.t("期限超過", "Overdue")) }
                                        (who(ja, row, duty.party, duty.registry_code.as_ref()))
                                        " · " (duty.due.format("%Y-%m-%d"))
                                        br;
                                    }
                                }
                                td { (row.created_at.format("%Y-%m-%d")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn updates(page: &Page, items: &[UpdateState], now: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        section aria-labelledby="desk-updates" {
            h2 id="desk-updates" { (page.t("確認時期・期限超過のレジストリ", "Registries due and overdue")) " (" (items.len()) ")" }
            @if items.is_empty() {
                p class="muted" { (page.t("確認が必要なレジストリはありません。", "No registry is due.")) }
            } @else {
                table class="list" {
                    thead { tr {
                        th scope="col" { (page.t("レジストリ", "Registry")) }
                        th scope="col" { (page.t("更新状況", "Update status")) }
                        th scope="col" { (page.t("確認期限", "Due")) }
                        th scope="col" { (page.t("担当者", "Holders")) }
                    } }
                    tbody {
                        @for u in items {
                            tr data-registry=(u.row.registry_code) {
                                td { a href=(format!("/registries/{}", u.row.registry_code)) { (u.row.registry_code) } br; (u.row.name_ja) }
                                td { span class=(if u.status == UpdateStatus::Overdue { "badge warn" } else { "badge" }) { (labels::term(page, "update_status", u.status.as_str())) }
                                     @if u.escalated { " " span class="badge warn" { (page.t("事務局へ通知済", "escalated")) } } }
                                td { (u.due.format("%Y-%m-%d"))
                                     @let late = (now - u.due).num_days();
                                     @if late > 0 { br; span class="muted" { (late) (page.t("日超過", " days over")) } } }
                                td {
                                    @if u.holders.is_empty() { span class="badge warn" { (page.t("担当者なし", "nobody")) } }
                                    @for h in &u.holders { (h.display_name) " <" (h.email) ">" br; }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn mails(page: &Page, items: &[OutboxRow], total: i64) -> Markup {
    html! {
        section aria-labelledby="desk-outbox" {
            h2 id="desk-outbox" { (page.t("送信メール", "Mail outbox")) " (" (total) ")" }
            p class="muted" { (page.t("新しい順に最大20件。すべては API の /api/v1/outbox で見られます。",
                                      "The newest 20; the API's /api/v1/outbox has them all.")) }
            table class="list" {
                thead { tr {
                    th scope="col" { (page.t("件名", "Subject")) }
                    th scope="col" { (page.t("宛先", "To")) }
                    th scope="col" { (page.t("状態", "State")) }
                    th scope="col" { (page.t("作成", "Written")) }
                } }
                tbody {
                    @for m in items {
                        tr {
                            td { (m.subject) }
                            td { (m.recipient_email) }
                            td { span class=(if m.status == outbox::DEAD { "badge warn" } else { "badge" }) { (m.status) }
                                 @if m.attempts > 0 { " " span class="muted" { "×" (m.attempts) } } }
                            td { (m.created_at.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            }
        }
    }
}
