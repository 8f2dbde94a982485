use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Registry;
use crate::domain::facets::{self, FACETS};
use crate::domain::registry::PublicationState;
use crate::domain::vocabulary;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::routes::Paging;
use crate::startup::AppState;
use crate::store::registries;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Best match first (registry code order when there is no text).
    Relevance,
    /// Most recently changed first.
    Updated,
    /// Most patients first.
    Enrollment,
    /// By name.
    Name,
}

/// Facet parameters take one code or several separated by commas (no
/// spaces; each parameter's pattern lists its codes): several
/// codes of one facet match any of them; different facets must all match.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words in Japanese or English, "quoted phrases", -exclusions, ICD-10 codes (prefixes match).
    #[param(max_length = 500, example = "乳がん")]
    pub q: Option<String>,
    pub sort: Option<SearchSort>,
    pub start_year_min: Option<i64>,
    pub start_year_max: Option<i64>,
    pub enrollment_min: Option<i64>,
    pub enrollment_max: Option<i64>,
    pub disease_area: Option<String>,
    /// `true` or `false`
    pub designated_intractable: Option<String>,
    pub population: Option<String>,
    pub registry_type: Option<String>,
    pub status: Option<String>,
    pub region: Option<String>,
    pub operator_type: Option<String>,
    pub data_items: Option<String>,
    pub collection_method: Option<String>,
    pub follow_up: Option<String>,
    pub consent: Option<String>,
    pub consent_secondary_use: Option<String>,
    pub consent_company_provision: Option<String>,
    pub quality_management: Option<String>,
    pub regulatory_use: Option<String>,
    pub company_collaboration: Option<String>,
    pub enrollment_band: Option<String>,
    /// Years, e.g. `2015,2016`
    pub start_year: Option<String>,
    /// `current`, `due` (confirmation coming up) or `overdue`.
    pub update_status: Option<String>,
}

impl SearchParams {
    /// Each facet parameter with its value, in the order of [`FACETS`].
    fn facet_params(&self) -> [(&'static str, Option<&String>); 19] {
        [
            ("disease_area", self.disease_area.as_ref()),
            (
                "designated_intractable",
                self.designated_intractable.as_ref(),
            ),
            ("population", self.population.as_ref()),
            ("registry_type", self.registry_type.as_ref()),
            ("status", self.status.as_ref()),
            ("region", self.region.as_ref()),
            ("operator_type", self.operator_type.as_ref()),
            ("data_items", self.data_items.as_ref()),
            ("collection_method", self.collection_method.as_ref()),
            ("follow_up", self.follow_up.as_ref()),
            ("consent", self.consent.as_ref()),
            ("consent_secondary_use", self.consent_secondary_use.as_ref()),
            (
                "consent_company_provision",
                self.consent_company_provision.as_ref(),
            ),
            ("quality_management", self.quality_management.as_ref()),
            ("regulatory_use", self.regulatory_use.as_ref()),
            ("company_collaboration", self.company_collaboration.as_ref()),
            ("enrollment_band", self.enrollment_band.as_ref()),
            ("start_year", self.start_year.as_ref()),
            ("update_status", self.update_status.as_ref()),
        ]
    }

    /// The index query these parameters ask for: `limit` hits from `offset`,
    /// with the counts of `facets`. 400 naming a parameter that is invalid.
    pub fn request(
        self,
        offset: usize,
        limit: usize,
        facets: Vec<String>,
    ) -> Result<cin_search_index::SearchRequest, ApiError> {
        let text = self.q.clone().unwrap_or_default();
        if text.chars().count() > 500 {
            return Err(ApiError::query("q", "at most 500 characters"));
        }
        for (name, min, max) in [
            ("start_year_min", self.start_year_min, self.start_year_max),
            ("enrollment_min", self.enrollment_min, self.enrollment_max),
        ] {
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    return Err(ApiError::query(
                        name,
                        format!("{min} is above the maximum {max}"),
                    ));
                }
            }
        }
        Ok(cin_search_index::SearchRequest {
            text,
            filters: self.filters()?,
            start_year: cin_search_index::Range {
                min: self.start_year_min,
                max: self.start_year_max,
            },
            enrollment: cin_search_index::Range {
                min: self.enrollment_min,
                max: self.enrollment_max,
            },
            sort: match self.sort.unwrap_or(SearchSort::Relevance) {
                SearchSort::Relevance => cin_search_index::Sort::Relevance,
                SearchSort::Updated => cin_search_index::Sort::UpdatedDesc,
                SearchSort::Enrollment => cin_search_index::Sort::EnrollmentDesc,
                SearchSort::Name => cin_search_index::Sort::Name,
            },
            offset,
            limit,
            facets,
        })
    }

    /// The chosen values per facet, each checked against what the facet takes.
    fn filters(&self) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
        let mut filters = BTreeMap::new();
        for (facet, value) in self.facet_params() {
            let Some(value) = value else { continue };
            if value.is_empty() {
                continue;
            }
            let codes: Vec<String> = value.split(',').map(str::to_string).collect();
            if let Some(code) = codes.iter().find(|c| !facets::is_value(facet, c)) {
                let mut err = ApiError::query(facet, format!("`{code}` is not a `{facet}` value"));
                if let Some(values) = facets::allowed_values(facet) {
                    err.errors[0] = err.errors[0].clone().with_allowed(values);
                }
                return Err(err);
            }
            filters.insert(facet.to_string(), codes);
        }
        Ok(filters)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Highlights {
    /// The name with `<mark>` around what matched (HTML-escaped); absent when nothing matched there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A passage of the summary, diseases or operator, marked the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub registry: Registry,
    /// Relevance score, when sorted by relevance with a text query.
    pub score: Option<f32>,
    pub highlights: Highlights,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetCount {
    pub code: String,
    pub count: u64,
    /// Labels, where the facet has a vocabulary.
    pub ja: Option<String>,
    pub en: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub items: Vec<SearchHit>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    /// For every facet, the count of each value under the other facets'
    /// filters (choosing a value keeps its siblings' counts), most first.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}

/// Faceted full-text search over the published catalogue, in Japanese and English.
#[utoipa::path(get, path = "/api/v1/registries/search", tag = "catalogue",
    params(SearchParams, Paging),
    responses(
        (status = 200, description = "Matching registries with highlights and facet counts", body = SearchResponse),
        (status = 400, description = "A parameter is invalid; `errors` names it", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/registries/search")]
pub async fn search_registries(
    state: web::Data<AppState>,
    params: Query<SearchParams>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page, _) = paging.resolve()?;
    Ok(HttpResponse::Ok().json(search(&state, params.0, page, per_page).await?))
}

/// One page of the search with every facet's counts: the API and the search page both ask here.
pub async fn search(
    state: &AppState,
    params: SearchParams,
    page: u32,
    per_page: u32,
) -> Result<SearchResponse, ApiError> {
    let offset = (page.max(1) - 1) as usize * per_page as usize;
    let request = params.request(
        offset,
        per_page as usize,
        FACETS.iter().map(|f| f.to_string()).collect(),
    )?;
    let search = state.search.clone();
    let timer = state.metrics.search_seconds.start_timer();
    let found = tokio::task::spawn_blocking(move || search.index().search(&request))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    timer.observe_duration();
    let codes: Vec<String> = found.hits.iter().map(|h| h.code.clone()).collect();
    let rows = state
        .store
        .read(move |conn| registries::find_by_codes(conn, &codes).map_err(ApiError::from))
        .await?;
    let mut items = Vec::with_capacity(found.hits.len());
    for hit in found.hits {
        // The database has the last word: an entry withdrawn a moment ago is not shown.
        let Some(row) = rows.iter().find(|r| {
            r.registry_code == hit.code
                && r.publication_state == PublicationState::Published.as_str()
        }) else {
            continue;
        };
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        items.push(SearchHit {
            registry: Registry::from_row(row, false)?,
            score: hit.score,
            highlights: Highlights {
                name: non_empty(hit.name_highlight),
                summary: non_empty(hit.summary_highlight),
            },
        });
    }
    let facets = found
        .facets
        .into_iter()
        .map(|(facet, counts)| {
            let vocabulary = vocabulary::all().get(&facet);
            let counts = counts
                .into_iter()
                .map(|(code, count)| {
                    let term = vocabulary.and_then(|v| v.values.iter().find(|t| t.code == code));
                    FacetCount {
                        ja: term.map(|t| t.ja.clone()),
                        en: term.map(|t| t.en.clone()),
                        code,
                        count,
                    }
                })
                .collect();
            (facet, counts)
        })
        .collect();
    Ok(SearchResponse {
        items,
        page,
        per_page,
        total: found.total as i64,
        facets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_facet_has_its_parameter() {
        let params: SearchParams = serde_json::from_value(serde_json::json!({})).unwrap();
        let named: Vec<&str> = params.facet_params().iter().map(|(f, _)| *f).collect();
        assert_eq!(named, FACETS);
    }
}
