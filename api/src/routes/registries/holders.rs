use actix_web::{delete, get, put, web, HttpResponse};
use serde_json::json;

use super::load_visible;
use crate::auth::CurrentUser;
use crate::catalogue::audit;
use crate::domain::access;
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::routes::users::User;
use crate::startup::AppState;
use crate::store::{registries, users};

/// The accounts that keep this registry up to date (office).
#[utoipa::path(get, path = "/api/v1/registries/{code}/holders", tag = "catalogue",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001")),
    responses(
        (status = 200, description = "Holders in email order", body = Vec<User>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/registries/{code}/holders")]
pub async fn list_holders(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "list a registry's holders")?;
    let rows = state
        .store
        .read(move |conn| {
            let (registry, _) = load_visible(conn, &code, Some(&user))?;
            Ok::<_, ApiError>(registries::holders(conn, &registry.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(User::from).collect::<Vec<_>>()))
}

/// Make a holder account a holder of this registry (office). Idempotent.
#[utoipa::path(put, path = "/api/v1/registries/{code}/holders/{user_id}", tag = "catalogue",
    params(
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000001"),
        ("user_id" = uuid::Uuid, Path, description = "Id of a holder account"),
    ),
    responses(
        (status = 204, description = "The account holds the registry"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry or account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The account is not a holder account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[put("/registries/{code}/holders/{user_id}")]
pub async fn add_holder(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "assign holders")?;
    let (code, holder_id) = path.into_inner();
    let now = state.clock.now();
    state
        .store
        .write(move |conn| {
            let (registry, _) = load_visible(conn, &code, Some(&user))?;
            let no_account = || ApiError::not_found(format!("No account {holder_id}"));
            let id = uuid::Uuid::parse_str(&holder_id).map_err(|_| no_account())?;
            let holder = users::find(conn, &id.to_string())?.ok_or_else(no_account)?;
            if Role::parse(&holder.role) != Some(Role::Holder) {
                return Err(ApiError::validation(vec![
                    crate::domain::validation::FieldError::new(
                        "user_id",
                        "invalid_value",
                        format!(
                            "{} is a {} account; only holder accounts hold registries",
                            holder.email, holder.role
                        ),
                    ),
                ]));
            }
            if registries::add_holder(conn, &registry.id, &holder.id, now.naive_utc())? {
                audit(
                    conn,
                    Some(&user.id),
                    "registry.holder_add",
                    "registry",
                    &code,
                    json!({"user_id": holder.id}),
                    now,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Take a registry away from a holder (office).
#[utoipa::path(delete, path = "/api/v1/registries/{code}/holders/{user_id}", tag = "catalogue",
    params(
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000001"),
        ("user_id" = uuid::Uuid, Path, description = "Id of a holder account"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry, or the account does not hold it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[delete("/registries/{code}/holders/{user_id}")]
pub async fn remove_holder(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "remove holders")?;
    let (code, holder_id) = path.into_inner();
    let now = state.clock.now();
    state
        .store
        .write(move |conn| {
            let (registry, _) = load_visible(conn, &code, Some(&user))?;
            let id = uuid::Uuid::parse_str(&holder_id)
                .map(|id| id.to_string())
                .unwrap_or_default();
            if !registries::remove_holder(conn, &registry.id, &id)? {
                return Err(ApiError::not_found(format!(
                    "{holder_id} does not hold {code}"
                )));
            }
            audit(
                conn,
                Some(&user.id),
                "registry.holder_remove",
                "registry",
                &code,
                json!({"user_id": holder_id}),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
