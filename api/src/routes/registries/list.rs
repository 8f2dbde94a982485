use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Registry;
use crate::auth::MaybeUser;
use crate::domain::registry::PublicationState;
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::routes::{Page, Paging};
use crate::startup::AppState;
use crate::store::registries::{self, ListFilter, Visibility};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegistryListQuery {
    /// Text found in a name, acronym, code, operator, disease or ICD-10 code
    /// (full-width and case folded).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only entries in this state. Without a token only `published` ones exist.
    pub publication_state: Option<PublicationState>,
}

/// Registries in code order. Anyone sees published entries; holders also
/// their own drafts; the office everything. Contact details are never listed.
#[utoipa::path(get, path = "/api/v1/registries", tag = "catalogue",
    params(RegistryListQuery, Paging),
    responses(
        (status = 200, description = "One page of registries", body = Page<Registry>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
#[get("/registries")]
pub async fn list_registries(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: Query<RegistryListQuery>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page, offset) = paging.resolve()?;
    let query = query.0;
    let text = query
        .q
        .as_deref()
        .map(cin_search_index::normalize::fold)
        .filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::query("q", "at most 200 characters"));
    }
    let visibility = match &user.0 {
        Some(u) if u.role.is_staff() => Visibility::All,
        Some(u) if u.role == Role::Holder => Visibility::PublishedOrHeldBy(u.id.clone()),
        _ => Visibility::Published,
    };
    let filter = ListFilter {
        visibility,
        publication_state: query.publication_state.map(|s| s.as_str().to_string()),
        text,
    };
    let (rows, total) = state
        .store
        .read(move |conn| {
            registries::list(conn, &filter, offset, per_page.into()).map_err(ApiError::from)
        })
        .await?;
    let items = rows
        .iter()
        .map(|row| Registry::from_row(row, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}
