//! A registry's public page, laid out for reading and for printing.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use maud::{html, Markup};
use serde_json::Value;

use super::{labels, Page};
use crate::domain::access;
use crate::domain::role::Role;
use crate::domain::update_cycle::UpdateStatus;
use crate::routes::registries::{load_visible, Registry};
use crate::startup::AppState;
use crate::survey::columns::{self, Column, Kind};

/// Shown in the title block, not in the table.
const TITLE_FIELDS: &[&str] = &[
    "registry_code",
    "name_ja",
    "name_en",
    "acronym",
    "summary_ja",
    "summary_en",
    "survey_round",
];

#[get("/registries/{code}")]
pub async fn registry_page(
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
) -> HttpResponse {
    let user = page.user.clone();
    let loaded = state
        .store
        .read(move |conn| load_visible(conn, &code, user.as_ref()))
        .await;
    let (row, actor) = match loaded {
        Ok(found) => found,
        Err(e) if e.code.status() == StatusCode::NOT_FOUND => {
            return page.error(
                StatusCode::NOT_FOUND,
                page.t(
                    "このレジストリは見つかりません。",
                    "There is no such registry.",
                ),
            )
        }
        Err(e) => {
            tracing::error!(detail = %e.detail, "registry page failed");
            return page.error(StatusCode::INTERNAL_SERVER_ERROR, &e.detail);
        }
    };
    // Contact details (personal data) only for the office and this registry's holders, as in the API.
    let private = actor.is_some_and(access::may_see_private);
    let registry = match Registry::from_row(&row, private) {
        Ok(r) => r,
        Err(e) => return page.error(StatusCode::INTERNAL_SERVER_ERROR, &e.detail),
    };
    let record = &registry.record;
    let name = labels::text(&page, &record.name_ja, record.name_en.as_deref()).to_string();
    let json = crate::catalogue::record_json(record);
    let may_edit = actor.is_some_and(access::may_edit_registry);
    page.render(
        StatusCode::OK,
        &name,
        html! {
            article class="registry card" {
                header class="title" {
                    p class="muted" { (registry.registry_code) @if let Some(a) = &record.acronym { " · " (a) } }
                    h1 { (name) }
                    @if page.lang == super::Lang::Ja {
                        @if let Some(en) = &record.name_en { p class="muted" lang="en" { (en) } }
                    } @else if record.name_en.is_some() {
                        p class="muted" lang="ja" { (record.name_ja) }
                    }
                }
                (update_status(&page, &registry))
                div class="actions" {
                    button type="button" class="secondary" data-print hidden { (page.t("印刷する", "Print")) }
                    @if may_edit {
                        a class="button" href=(format!("/my/registries/{}/edit", registry.registry_code)) {
                            (page.t("登録情報を編集", "Edit this entry"))
                        }
                    }
                    @if page.user.as_ref().is_none_or(|u| u.role == Role::Company) {
                        a class="button" href=(format!("/registries/{}/inquiry", registry.registry_code)) {
                            (page.t("このレジストリについてCIN事務局に問い合わせる", "Contact the CIN office about this registry"))
                        }
                    }
                    a class="button secondary" href="/" { (page.t("検索に戻る", "Back to the search")) }
                }
                h2 { (page.t("概要", "Summary")) }
                p { (labels::text(&page, &record.summary_ja, record.summary_en.as_deref())) }
                h2 { (page.t("登録情報", "Details")) }
                dl class="fields" {
                    @for column in columns::all() {
                        @if !TITLE_FIELDS.contains(&column.field.as_str()) {
                            @if let Some(value) = value(&page, column, &json) {
                                dt { (labels::field(&page, &column.field)) }
                                dd { (value) }
                            }
                        }
                    }
                }
                p class="muted" {
                    (page.t("調査年度", "Survey round")) ": " (registry.survey_round) " · "
                    (page.t("最終更新", "Last changed")) ": " (registry.updated_at.format("%Y-%m-%d"))
                }
            }
        },
    )
}

fn update_status(page: &Page, registry: &Registry) -> Markup {
    let confirmed = registry
        .last_confirmed_at
        .map(|t| t.format("%Y-%m-%d").to_string());
    html! {
        @match (registry.update_status, registry.not_confirmed_since) {
            (UpdateStatus::Overdue, Some(since)) => p class="notice warn" data-update-status="overdue" {
                (page.t("この情報は次の日以降確認されていません：", "This entry has not been confirmed since "))
                strong { (since.format("%Y-%m-%d")) }
            },
            (status, _) => p class="notice ok" data-update-status=(status.as_str()) {
                (labels::term(page, "update_status", status.as_str()))
                @if let Some(date) = confirmed {
                    " · " (page.t("最終確認日", "last confirmed")) ": " (date)
                }
            },
        }
    }
}

/// A column's value for reading, or `None` when the entry leaves it empty.
fn value(page: &Page, column: &Column, record: &Value) -> Option<Markup> {
    let field = column.field.as_str();
    let codes = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let shown = match column.kind {
        Kind::Code => record[field]
            .as_str()
            .map(|c| html! { (labels::term(page, field, c)) }),
        Kind::Codes => {
            let list = codes(&record[field]);
            (!list.is_empty()).then(|| html! { (labels::terms(page, field, &list)) })
        }
        Kind::Bool => record[field]
            .as_bool()
            .map(|b| html! { (labels::yes_no(page, b)) }),
        Kind::Integer => record[field].as_i64().map(|n| html! { (n) }),
        Kind::Text | Kind::Date => {
            record[field]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| match field {
                    "website" if s.starts_with("https://") || s.starts_with("http://") => {
                        html! { a href=(s) rel="noopener" { (s) } }
                    }
                    _ => html! { (s) },
                })
        }
        // The table lists the diseases once, under the first disease column.
        Kind::DiseaseLines if field == "diseases.name_ja" => {
            let diseases = record["diseases"].as_array()?;
            Some(html! {
                ul {
                    @for d in diseases {
                        li {
                            (labels::text(page, d["name_ja"].as_str().unwrap_or_default(), d["name_en"].as_str()))
                            @let icd = codes(&d["icd10"]);
                            @if !icd.is_empty() { " " span class="muted" { "(ICD-10: " (icd.join(", ")) ")" } }
                        }
                    }
                }
            })
        }
        Kind::DiseaseLines | Kind::SurveyRound => None,
        Kind::Contact => {
            let (parent, key) = field.split_once('.')?;
            record[parent][key].as_str().map(|s| html! { (s) })
        }
        Kind::Publications => {
            let list = record[field].as_array().filter(|l| !l.is_empty())?;
            Some(html! {
                ul {
                    @for p in list {
                        li {
                            (p["title"].as_str().unwrap_or_default())
                            @if let Some(year) = p["year"].as_i64() { " (" (year) ")" }
                            @if let Some(doi) = p["doi"].as_str() { " " a href=(format!("https://doi.org/{doi}")) rel="noopener" { "doi:" (doi) } }
                            @if let Some(pmid) = p["pmid"].as_str() { " PMID " (pmid) }
                        }
                    }
                }
            })
        }
    };
    shown
}
