use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ConsultationSummary;
use crate::auth::CurrentUser;
use crate::domain::consultation::{ConsultationKind, ConsultationState};
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::routes::{Page, Paging};
use crate::startup::AppState;
use crate::store::consultations::{self as store, ListFilter, Visibility};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsultationListQuery {
    /// Only inquiries in this state.
    pub status: Option<ConsultationState>,
    /// Only inquiries of this kind.
    pub kind: Option<ConsultationKind>,
}

/// The inquiries you may see, newest first: your organisation's (company),
/// those forwarded to your registries (holder), or all (office).
#[utoipa::path(get, path = "/api/v1/consultations", operation_id = "list_consultations", tag = "consultations",
    params(ConsultationListQuery, Paging),
    responses(
        (status = 200, description = "One page of inquiries", body = Page<ConsultationSummary>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/consultations")]
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ConsultationListQuery>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page, offset) = paging.resolve()?;
    let filter = ListFilter {
        visibility: visibility(&user),
        status: query.0.status.map(|s| s.as_str().to_string()),
        kind: query.0.kind.map(|k| k.as_str().to_string()),
    };
    let (rows, total) = state
        .store
        .read(move |conn| {
            store::list(conn, &filter, offset, per_page.into()).map_err(ApiError::from)
        })
        .await?;
    let items = rows
        .iter()
        .map(ConsultationSummary::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// Which inquiries a user may list: their organisation's (company), those
/// forwarded to their registries (holder), or all (office).
pub fn visibility(user: &CurrentUser) -> Visibility {
    match user.role {
        Role::Office | Role::Admin => Visibility::All,
        Role::Holder => Visibility::HolderOf(user.id.clone()),
        Role::Company => Visibility::Organisation {
            user_id: user.id.clone(),
            organisation: user.organisation.clone(),
        },
    }
}
