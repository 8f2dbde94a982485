//! A holder's pages: the registries they hold, "confirm no change", and the
//! edit form. Saving goes through the API's own merge-patch path, so the
//! rules (validation, revisions, If-Match, who may edit) are the same.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::session::csrf_refused;
use super::{labels, CsrfOnly, Page};
use crate::domain::access;
use crate::domain::validation::FieldError;
use crate::domain::vocabulary;
use crate::error::{ApiError, ErrorCode};
use crate::routes::etag;
use crate::routes::registries::{apply_patch, confirm_as, load_visible, Registry};
use crate::startup::AppState;
use crate::store::registries;

#[derive(Clone, Copy)]
enum Input {
    Line,
    Area,
    Number,
    Date,
    /// One value of the vocabulary named like the field.
    Choice,
}

/// The fields the page edits, in the order shown; everything else is left as it is.
const FIELDS: &[(&str, Input)] = &[
    ("name_ja", Input::Line),
    ("name_en", Input::Line),
    ("acronym", Input::Line),
    ("summary_ja", Input::Area),
    ("summary_en", Input::Area),
    ("website", Input::Line),
    ("status", Input::Choice),
    ("enrollment_count", Input::Number),
    ("enrollment_as_of", Input::Date),
    ("annual_new_cases", Input::Number),
    ("site_count", Input::Number),
];

#[get("/my/registries")]
pub async fn my_registries(
    state: web::Data<AppState>,
    page: Page,
    query: web::Query<Notice>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    let held = state
        .store
        .read(move |conn| {
            let codes = registries::held_codes(conn, &user.id)?;
            registries::find_by_codes(conn, &codes).map_err(ApiError::from)
        })
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| Registry::from_row(r, true))
                .collect::<Result<Vec<_>, _>>()
        });
    let held = match held {
        Ok(held) => held,
        Err(e) => return page.error(StatusCode::INTERNAL_SERVER_ERROR, &e.detail),
    };
    let title = page.t("担当レジストリ", "My registries");
    page.render(
        StatusCode::OK,
        title,
        html! {
            h1 { (title) }
            @if let Some(code) = &query.confirmed {
                p class="notice ok" role="status" {
                    (code) ": " (page.t("変更なしとして確認しました。ありがとうございました。", "confirmed as unchanged. Thank you."))
                }
            }
            @if let Some(code) = &query.saved {
                p class="notice ok" role="status" { (code) ": " (page.t("保存しました。", "saved.")) }
            }
            @if held.is_empty() {
                p { (page.t("担当しているレジストリはありません。", "You hold no registries.")) }
            } @else {
                p class="muted" { (page.t(
                    "内容に変更がなければ「変更なしを確認」を、変更があれば「編集」を押してください。",
                    "If nothing has changed, press “Confirm no change”; otherwise edit the entry.")) }
                table class="list" {
                    thead { tr {
                        th scope="col" { (page.t("レジストリ", "Registry")) }
                        th scope="col" { (page.t("更新状況", "Update status")) }
                        th scope="col" { (page.t("操作", "Actions")) }
                    } }
                    tbody {
                        @for r in &held { (held_row(&page, r)) }
                    }
                }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    confirmed: Option<String>,
    saved: Option<String>,
}

fn held_row(page: &Page, r: &Registry) -> Markup {
    let code = &r.registry_code;
    let name = labels::text(page, &r.record.name_ja, r.record.name_en.as_deref());
    html! {
        tr data-registry=(code) {
            td { a href=(format!("/registries/{code}")) { (name) } br; span class="muted" { (code) } }
            td {
                span class=(if r.update_status.as_str() == "current" { "badge ok" } else { "badge warn" }) data-update-status=(r.update_status.as_str()) {
                    (labels::term(page, "update_status", r.update_status.as_str()))
                }
                @if let Some(at) = r.last_confirmed_at {
                    br; span class="muted" { (page.t("最終確認日", "Last confirmed")) ": " (at.format("%Y-%m-%d")) }
                }
            }
            td {
                a class="button secondary" href=(format!("/my/registries/{code}/edit")) aria-label=(format!("{} {code}", page.t("編集", "Edit"))) { (page.t("編集", "Edit")) }
                " "
                form method="post" action=(format!("/my/registries/{code}/confirm")) class="inline" {
                    (page.csrf_field())
                    button type="submit" aria-label=(format!("{} {code}", page.t("変更なしを確認", "Confirm no change"))) {
                        (page.t("変更なしを確認", "Confirm no change"))
                    }
                }
            }
        }
    }
}

#[post("/my/registries/{code}/confirm")]
pub async fn confirm_no_change(
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    if !page.csrf_ok(&form.csrf) {
        return csrf_refused(&page);
    }
    match confirm_as(&state, user, code.into_inner()).await {
        Ok(row) => page.redirect(&format!("/my/registries?confirmed={}", row.registry_code)),
        Err(e) => refused(&page, e),
    }
}

/// An API refusal as a page: 403 and 404 in the reader's words, others as they are.
fn refused(page: &Page, e: ApiError) -> HttpResponse {
    page.refusal(
        e,
        &[
            (
                ErrorCode::NotFound,
                "このレジストリは見つかりません。",
                "There is no such registry.",
            ),
            (
                ErrorCode::Forbidden,
                "このレジストリを編集できるのは、担当者と事務局だけです。",
                "Only this registry's holders and the office may change it.",
            ),
        ],
    )
}

#[get("/my/registries/{code}/edit")]
pub async fn edit_page(
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    let loaded = state
        .store
        .read(move |conn| load_visible(conn, &code, Some(&user)))
        .await;
    match loaded {
        Ok((row, actor)) if actor.is_some_and(access::may_edit_registry) => {
            match Registry::from_row(&row, true) {
                Ok(registry) => {
                    let record = crate::catalogue::record_json(&registry.record);
                    let values = FIELDS
                        .iter()
                        .map(|(f, _)| (f.to_string(), record[*f].clone()))
                        .collect();
                    edit_form(&page, StatusCode::OK, &registry, &values, &[], None)
                }
                Err(e) => refused(&page, e),
            }
        }
        Ok(_) => refused(&page, ApiError::forbidden("")),
        Err(e) => refused(&page, e),
    }
}

/// A stored value as a form field shows it.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn edit_form(
    page: &Page,
    status: StatusCode,
    registry: &Registry,
    values: &Map<String, Value>,
    errors: &[FieldError],
    conflict: Option<&Registry>,
) -> HttpResponse {
    let code = &registry.registry_code;
    let title = format!("{} {code}", page.t("登録情報の編集", "Edit"));
    let saved_now = conflict.map(|r| crate::catalogue::record_json(&r.record));
    let revision = conflict.unwrap_or(registry).revision;
    page.render(
        status,
        &title,
        html! {
            h1 { (title) }
            p { a href=(format!("/registries/{code}")) { (labels::text(page, &registry.record.name_ja, registry.record.name_en.as_deref())) } }
            @if conflict.is_some() {
                div class="notice warn" role="alert" id="conflict" {
                    p { strong { (page.t("あなたが編集している間に、別の人がこの登録情報を保存しました。",
                                         "Someone else saved this entry while you were editing it.")) } }
                    p { (page.t("あなたの入力は残してあります。各項目の下に、いま保存されている内容を表示しています。内容を確かめてから、もう一度保存してください（保存すると、あなたの入力で上書きされます）。",
                                "Your input is kept below, and under each field you can see what is saved now. Check them, then save again: saving replaces the saved values with yours.")) }
                }
            }
            @if !errors.is_empty() {
                div class="notice error" role="alert" id="errors" {
                    p { strong { (page.t("入力内容を確認してください。", "Please correct the fields marked below.")) } }
                    ul { @for e in errors { li { a href=(format!("#{}", input_id(&e.field))) { (labels::field(page, &e.field)) } ": " (e.message) } } }
                }
            }
            form method="post" action=(format!("/my/registries/{code}/edit")) class="card" novalidate {
                (page.csrf_field())
                input type="hidden" name="revision" value=(revision);
                @for (field, input) in FIELDS {
                    (form_field(page, field, *input, values, errors, saved_now.as_ref()))
                }
                button type="submit" { (page.t("保存する", "Save")) }
                " "
                a class="button secondary" href="/my/registries" { (page.t("キャンセル", "Cancel")) }
            }
        },
    )
}

fn input_id(field: &str) -> String {
    format!("field-{field}")
}

fn form_field(
    page: &Page,
    field: &str,
    input: Input,
    values: &Map<String, Value>,
    errors: &[FieldError],
    saved_now: Option<&Value>,
) -> Markup {
    let id = input_id(field);
    let value = values.get(field).map(shown).unwrap_or_default();
    let error = errors.iter().find(|e| e.field == field);
    let error_id = format!("{id}-error");
    let saved = saved_now.map(|s| shown(&s[field])).filter(|s| *s != value);
    html! {
        div class=(if error.is_some() { "field invalid" } else { "field" }) {
            label for=(id) { (labels::field(page, field)) }
            @match input {
                Input::Line => input type="text" id=(id) name=(field) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)];,
                Input::Area => textarea id=(id) name=(field) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)] { (value) },
                Input::Number => input type="text" inputmode="numeric" id=(id) name=(field) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)];,
                Input::Date => input type="date" id=(id) name=(field) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)];,
                Input::Choice => select id=(id) name=(field) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)] {
                    @for term in &vocabulary::get(field).values {
                        option value=(term.code) selected[term.code == value] { (page.t(&term.ja, &term.en)) }
                    }
                },
            }
            @if let Some(e) = error { span class="error" id=(error_id) { (e.message) } }
            @if let Some(saved) = saved {
                span class="hint" data-saved-now=(field) { (page.t("いま保存されている内容", "Saved now")) ": " (if saved.is_empty() { "—" } else { &saved }) }
            }
        }
    }
}

#[post("/my/registries/{code}/edit")]
pub async fn save_edit(
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    let code = code.into_inner();
    let posted = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if !page.csrf_ok(posted("csrf").unwrap_or_default()) {
        return csrf_refused(&page);
    }
    let values = patch(&form);
    let if_match = header::HeaderValue::from_str(&etag(
        posted("revision").and_then(|r| r.parse().ok()).unwrap_or(0),
    ))
    .ok();
    let saved = apply_patch(
        &state,
        user.clone(),
        code.clone(),
        if_match,
        Value::Object(values),
    )
    .await;
    let err = match saved {
        Ok(row) => return page.redirect(&format!("/my/registries?saved={}", row.registry_code)),
        Err(e) => e,
    };
    // Show the form again with what was typed, against the entry as it is now.
    let reloaded = state
        .store
        .read(move |conn| load_visible(conn, &code, Some(&user)))
        .await
        .and_then(|(row, _)| Registry::from_row(&row, true));
    let current = match reloaded {
        Ok(current) => current,
        Err(e) => return refused(&page, e),
    };
    let shown_values: Map<String, Value> = FIELDS
        .iter()
        .map(|(f, _)| {
            (
                f.to_string(),
                Value::String(posted(f).unwrap_or_default().to_string()),
            )
        })
        .collect();
    match err.code {
        ErrorCode::ValidationFailed => edit_form(
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
            &current,
            &shown_values,
            &err.errors,
            None,
        ),
        ErrorCode::PreconditionFailed => edit_form(
            &page,
            StatusCode::CONFLICT,
            &current,
            &shown_values,
            &[],
            Some(&current),
        ),
        _ => refused(&page, err),
    }
}

/// The merge patch a posted form makes: an empty optional field clears it; a
/// number that is not one is sent as typed, so the record's own rules name it.
fn patch(form: &[(String, String)]) -> Map<String, Value> {
    let mut patch = Map::new();
    for (field, input) in FIELDS {
        let Some((_, raw)) = form.iter().find(|(n, _)| n == field) else {
            continue;
        };
        let raw = raw.trim();
        let value = match input {
            _ if raw.is_empty() && matches!(*field, "name_ja" | "summary_ja") => json!(""),
            _ if raw.is_empty() => Value::Null,
            Input::Number => raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| json!(raw)),
            _ => json!(raw),
        };
        patch.insert(field.to_string(), value);
    }
    patch
}
