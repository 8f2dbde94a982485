//! The controlled vocabularies with their Japanese and English labels.

use actix_web::{get, HttpResponse};

use crate::domain::vocabulary::{self, Vocabulary};

/// Every vocabulary of the registry record, keyed by the field that uses it.
/// Clients take codes and labels from here instead of hard-coding them.
#[utoipa::path(get, path = "/api/v1/vocabularies", tag = "catalogue",
    responses((status = 200, description = "Vocabularies by field name",
        body = std::collections::BTreeMap<String, Vocabulary>)))]
#[get("/vocabularies")]
pub async fn list_vocabularies() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(vocabulary::all())
}
