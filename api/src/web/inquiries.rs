//! A company's inquiries: starting one from a registry's page, the list, and
//! one inquiry with its thread. Submitting goes through the API's own path.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::session::csrf_refused;
use super::{labels, Page};
use crate::auth::CurrentUser;
use crate::consultations;
use crate::domain::consultation::ConsultationKind;
use crate::domain::role::Role;
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ErrorCode};
use crate::routes::consultations::{
    submit, thread, view, visibility, write, Consultation, ConsultationSummary, Message,
    NewConsultation, NewMessage,
};
use crate::routes::registries::load_visible;
use crate::startup::AppState;
use crate::store::consultations::{self as store, ListFilter};

/// The newest inquiries a list shows.
const LIST_SIZE: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct InquiryForm {
    csrf: String,
    kind: String,
    subject: String,
    body: String,
    #[serde(default)]
    desired_timeline: String,
}

fn company_only(page: &Page) -> HttpResponse {
    page.error(
        StatusCode::FORBIDDEN,
        page.t(
            "問い合わせは企業のアカウントから送ることができます。",
            "Inquiries are sent from company accounts.",
        ),
    )
}

#[get("/registries/{code}/inquiry")]
pub async fn new_inquiry(
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    if user.role != Role::Company {
        return company_only(&page);
    }
    let code = code.into_inner();
    let name = match registry_name(&state, &page, code.clone()).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    let empty = InquiryForm {
        csrf: String::new(),
        kind: ConsultationKind::DataUse.as_str().into(),
        subject: String::new(),
        body: String::new(),
        desired_timeline: String::new(),
    };
    inquiry_form(&page, StatusCode::OK, &code, &name, &empty, &[])
}

async fn registry_name(
    state: &AppState,
    page: &Page,
    code: String,
) -> Result<String, HttpResponse> {
    let user = page.user.clone();
    match state
        .store
        .read(move |conn| load_visible(conn, &code, user.as_ref()))
        .await
    {
        Ok((row, _)) => Ok(row.name_ja),
        Err(_) => Err(page.error(
            StatusCode::NOT_FOUND,
            page.t(
                "このレジストリは見つかりません。",
                "There is no such registry.",
            ),
        )),
    }
}

fn inquiry_form(
    page: &Page,
    status: StatusCode,
    code: &str,
    name: &str,
    form: &InquiryForm,
    errors: &[FieldError],
) -> HttpResponse {
    let title = page.t("CIN事務局への問い合わせ", "Ask the CIN office");
    let error = |field: &str| errors.iter().find(|e| e.field == field);
    let field = |id: &str, label: &str, control: Markup| -> Markup {
        let err = error(id);
        html! {
            div class=(if err.is_some() { "field invalid" } else { "field" }) {
                label for=(id) { (label) }
                (control)
                @if let Some(e) = err { span class="error" id=(format!("{id}-error")) { (e.message) } }
            }
        }
    };
    let described = |id: &str| error(id).map(|_| format!("{id}-error"));
    page.render(
        status,
        title,
        html! {
            h1 { (title) }
            p { (page.t("対象のレジストリ", "About the registry")) ": " a href=(format!("/registries/{code}")) { (code) " " (name) } }
            p class="muted" { (page.t(
                "事務局が内容を確認し、必要に応じてレジストリの保有者へ転送します。ファイルは添付できません。資料はリンクで示してください。",
                "The office reads your inquiry and forwards it to the registry's holders where that helps. Files cannot be attached: link to documents instead.")) }
            @if !errors.is_empty() {
                div class="notice error" role="alert" { (page.t("入力内容を確認してください。", "Please correct the fields marked below.")) }
            }
            form method="post" action=(format!("/registries/{code}/inquiry")) class="card" novalidate {
                (page.csrf_field())
                (field("kind", page.t("相談の種類", "Kind of inquiry"), html! {
                    select id="kind" name="kind" {
                        @for kind in ConsultationKind::ALL {
                            option value=(kind.as_str()) selected[kind.as_str() == form.kind] { (labels::inquiry_kind(page, *kind)) }
                        }
                    }
                }))
                (field("subject", page.t("件名", "Subject"), html! {
                    input type="text" id="subject" name="subject" value=(form.subject) maxlength="200" required aria-describedby=[described("subject")];
                }))
                (field("body", page.t("内容", "Your question"), html! {
                    textarea id="body" name="body" required aria-describedby=[described("body")] { (form.body) }
                }))
                (field("desired_timeline", page.t("希望時期（任意）", "When you need an answer (optional)"), html! {
                    input type="text" id="desired_timeline" name="desired_timeline" value=(form.desired_timeline) maxlength="200" aria-describedby=[described("desired_timeline")];
                }))
                button type="submit" { (page.t("送信する", "Send")) }
            }
        },
    )
}

#[post("/registries/{code}/inquiry")]
pub async fn send_inquiry(
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
    form: web::Form<InquiryForm>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    let form = form.into_inner();
    if !page.csrf_ok(&form.csrf) {
        return csrf_refused(&page);
    }
    let code = code.into_inner();
    let Some(kind) = ConsultationKind::parse(&form.kind) else {
        return page.error(
            StatusCode::BAD_REQUEST,
            page.t("相談の種類を選んでください。", "Choose a kind of inquiry."),
        );
    };
    let inquiry = NewConsultation {
        kind,
        subject: form.subject.clone(),
        body: form.body.clone(),
        desired_timeline: Some(form.desired_timeline.clone()),
        registries: vec![code.clone()],
    };
    match submit(&state, user, inquiry).await {
        Ok(sent) => page.redirect(&format!("/my/inquiries/{}", sent.id)),
        Err(e) if e.code == ErrorCode::ValidationFailed => {
            let name = registry_name(&state, &page, code.clone())
                .await
                .unwrap_or_default();
            inquiry_form(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                &code,
                &name,
                &form,
                &e.errors,
            )
        }
        Err(e) if e.code == ErrorCode::Forbidden => company_only(&page),
        Err(e) => failed(&page, e),
    }
}

fn failed(page: &Page, e: ApiError) -> HttpResponse {
    page.refusal(
        e,
        &[(
            ErrorCode::NotFound,
            "この問い合わせは見つかりません。",
            "There is no such inquiry.",
        )],
    )
}

/// The inquiries a signed-in user may see, newest first.
pub async fn visible_inquiries(
    state: &AppState,
    page: &Page,
) -> Result<Vec<ConsultationSummary>, ApiError> {
    let Some(user) = page.user.as_ref() else {
        return Ok(Vec::new());
    };
    let filter = ListFilter {
        visibility: visibility(user),
        status: None,
        kind: None,
    };
    let (rows, _) = state
        .store
        .read(move |conn| store::list(conn, &filter, 0, LIST_SIZE).map_err(ApiError::from))
        .await?;
    rows.iter().map(ConsultationSummary::from_row).collect()
}

pub fn inquiry_table(page: &Page, items: &[ConsultationSummary]) -> Markup {
    html! {
        table class="list" {
            thead { tr {
                th scope="col" { (page.t("件名", "Subject")) }
                th scope="col" { (page.t("種類", "Kind")) }
                th scope="col" { (page.t("状況", "Status")) }
                th scope="col" { (page.t("受付日", "Sent")) }
            } }
            tbody {
                @for c in items {
                    tr data-inquiry=(c.id) {
                        td { a href=(format!("/my/inquiries/{}", c.id)) { (c.subject) } @if let Some(org) = &c.organisation { br; span class="muted" { (org) } } }
                        td { (labels::inquiry_kind(page, c.kind)) }
                        td { span class="badge" { (labels::desk_state(page, c.status.as_str())) } }
                        td { (c.created_at.format("%Y-%m-%d")) }
                    }
                }
            }
        }
    }
}

#[get("/my/inquiries")]
pub async fn my_inquiries(state: web::Data<AppState>, page: Page) -> HttpResponse {
    if page.user.is_none() {
        return page.sign_in_first();
    }
    let items = match visible_inquiries(&state, &page).await {
        Ok(items) => items,
        Err(e) => return failed(&page, e),
    };
    let title = page.t("問い合わせ", "Inquiries");
    page.render(
        StatusCode::OK,
        title,
        html! {
            h1 { (title) }
            @if items.is_empty() {
                p { (page.t("問い合わせはまだありません。レジストリのページから送ることができます。",
                            "No inquiries yet. Send one from a registry's page.")) }
            } @else {
                (inquiry_table(&page, &items))
            }
        },
    )
}

#[get("/my/inquiries/{id}")]
pub async fn inquiry_page(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    match with_thread(&state, &user, id.into_inner()).await {
        Ok((inquiry, messages)) => page.render(
            StatusCode::OK,
            &inquiry.subject,
            inquiry_view(&page, &inquiry, &messages, None),
        ),
        Err(e) => failed(&page, e),
    }
}

/// An inquiry as `user` may see it, and its thread.
async fn with_thread(
    state: &AppState,
    user: &CurrentUser,
    id: String,
) -> Result<(Consultation, Vec<Message>), ApiError> {
    let caller = consultations::Caller::from(user);
    let read_id = id.clone();
    let inquiry = state
        .store
        .read(move |conn| {
            let visible = consultations::load_visible(conn, &read_id, &caller)?;
            view(conn, &visible)
        })
        .await?;
    let (messages, _) = thread(state, user, id, 0, crate::routes::MAX_PER_PAGE.into()).await?;
    Ok((inquiry, messages))
}

#[derive(Debug, Deserialize)]
pub struct MessageForm {
    csrf: String,
    body: String,
}

#[post("/my/inquiries/{id}/messages")]
pub async fn post_message(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
    form: web::Form<MessageForm>,
) -> HttpResponse {
    let Some(user) = page.user.clone() else {
        return page.sign_in_first();
    };
    let form = form.into_inner();
    if !page.csrf_ok(&form.csrf) {
        return csrf_refused(&page);
    }
    let id = id.into_inner();
    let message = NewMessage {
        body: form.body,
        internal: false,
    };
    let errors = match write(&state, &user, id.clone(), message).await {
        Ok(_) => return page.redirect(&format!("/my/inquiries/{id}#thread")),
        Err(e) if e.code == ErrorCode::ValidationFailed => e.errors,
        Err(e) => return failed(&page, e),
    };
    match with_thread(&state, &user, id).await {
        Ok((inquiry, messages)) => page.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &inquiry.subject,
            inquiry_view(&page, &inquiry, &messages, Some(&errors)),
        ),
        Err(e) => failed(&page, e),
    }
}

fn inquiry_view(
    page: &Page,
    c: &Consultation,
    messages: &[Message],
    errors: Option<&[FieldError]>,
) -> Markup {
    let error = errors.and_then(|e| e.iter().find(|e| e.field == "body"));
    html! {
        article class="inquiry" {
            p class="muted" { (labels::inquiry_kind(page, c.kind)) " · " (c.created_at.format("%Y-%m-%d")) }
            h1 { (c.subject) }
            p class="notice" data-status=(c.status.as_str()) { (page.t("状況", "Status")) ": " strong { (labels::desk_state(page, c.status.as_str())) } }
            @if !c.registries.is_empty() {
                h2 { (page.t("対象のレジストリ", "Registries")) }
                ul {
                    @for r in &c.registries {
                        li { a href=(format!("/registries/{}", r.registry_code)) { (r.registry_code) " " (r.name_ja) } " — " (labels::desk_state(page, r.status.as_str())) }
                    }
                }
            }
            h2 { (page.t("内容", "Question")) }
            div class="card" { p class="text" { (c.body) } }
            h2 id="thread" { (page.t("やりとり", "Thread")) }
            @if messages.is_empty() {
                p class="muted" { (page.t("まだメッセージはありません。", "No messages yet.")) }
            } @else {
                ol class="thread" {
                    @for m in messages {
                        li class="card" {
                            p class="muted" { (m.author.display_name) " · " (m.created_at.format("%Y-%m-%d %H:%M")) " UTC" @if m.internal { " · " (page.t("事務局内メモ", "office note")) } }
                            p class="text" { (m.body) }
                        }
                    }
                }
            }
            form method="post" action=(format!("/my/inquiries/{}/messages", c.id)) class="card" novalidate {
                (page.csrf_field())
                div class=(if error.is_some() { "field invalid" } else { "field" }) {
                    label for="message" { (page.t("メッセージを書く", "Write a message")) }
                    textarea id="message" name="body" required aria-describedby=[error.map(|_| "message-error")] {}
                    @if let Some(e) = error { span class="error" id="message-error" { (e.message) } }
                }
                button type="submit" { (page.t("送信する", "Send")) }
            }
        }
    }
}
