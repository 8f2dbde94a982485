//! The search page: a query box, facets with counts, highlighted results,
//! sorting and paging. Its whole state is in the query string, so any result
//! list can be bookmarked or shared, and exported as CSV.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};

use super::labels;
use super::Page;
use crate::domain::facets::FACETS;
use crate::domain::update_cycle::UpdateStatus;
use crate::routes::registries::{self as api, FacetCount, SearchHit, SearchParams, SearchResponse};
use crate::startup::AppState;

const PER_PAGE: u32 = 20;
/// Facets shown open before anything is chosen in them.
const OPEN_FACETS: usize = 5;
/// Values a facet lists before "more".
const SHOWN_VALUES: usize = 8;

/// The search's parameters as the page holds them: repeated checkbox names
/// merged into the API's comma-separated form, empty fields dropped.
struct SearchState {
    pairs: Vec<(String, String)>,
    page: u32,
}

impl SearchState {
    fn parse(query: &str) -> SearchState {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut page = 1;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "lang" => {}
                "page" => page = value.parse().unwrap_or(1).clamp(1, 100_000),
                _ if value.trim().is_empty() => {}
                _ => match pairs.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, joined)) if FACETS.contains(&&*name) => {
                        joined.push(',');
                        joined.push_str(&value);
                    }
                    Some((_, last)) => *last = value.into_owned(),
                    None => pairs.push((name.into_owned(), value.into_owned())),
                },
            }
        }
        SearchState { pairs, page }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn chosen(&self, facet: &str) -> Vec<&str> {
        self.get(facet)
            .map(|v| v.split(',').collect())
            .unwrap_or_default()
    }

    fn has_filters(&self) -> bool {
        self.pairs.iter().any(|(n, _)| n != "q" && n != "sort")
    }

    /// The query string with `edit` applied to a copy of the parameters.
    fn query_with(&self, edit: impl FnOnce(&mut Vec<(String, String)>)) -> String {
        let mut pairs = self.pairs.clone();
        edit(&mut pairs);
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish()
    }

    fn url_for_page(&self, page: u32) -> String {
        let query = self.query_with(|pairs| {
            if page > 1 {
                pairs.push(("page".into(), page.to_string()));
            }
        });
        format!("/?{query}")
    }

    /// This search without one chosen facet value.
    fn url_without(&self, facet: &str, code: &str) -> String {
        let query = self.query_with(|pairs| {
            for (name, value) in pairs.iter_mut() {
                if name == facet {
                    *value = value
                        .split(',')
                        .filter(|c| *c != code)
                        .collect::<Vec<_>>()
                        .join(",");
                }
            }
            pairs.retain(|(_, v)| !v.is_empty());
        });
        format!("/?{query}")
    }
}

#[get("/")]
pub async fn search_page(state: web::Data<AppState>, page: Page, req: HttpRequest) -> HttpResponse {
    let search = SearchState::parse(req.query_string());
    let query = search.query_with(|_| {});
    let found = match crate::extract::parse_query::<SearchParams>(&query, |_| true) {
        Ok(params) => api::search(&state, params, search.page, PER_PAGE).await,
        Err(e) => Err(e),
    };
    let title = match search.get("q") {
        Some(q) => format!("{q} — {}", page.t("検索結果", "Search results")),
        None => page.t("レジストリ検索", "Search registries").to_string(),
    };
    let (status, results) = match found {
        Ok(found) => (StatusCode::OK, Some(found)),
        Err(e) if e.code.status().is_client_error() => (StatusCode::BAD_REQUEST, None),
        Err(e) => {
            tracing::error!(detail = %e.detail, "search page failed");
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                page.t(
                    "検索できませんでした。しばらくしてからもう一度お試しください。",
                    "The search failed; please try again in a moment.",
                ),
            );
        }
    };
    page.render(
        status,
        &title,
        html! {
            form method="get" action="/" class="search" data-autosubmit {
                @if page.lang == super::Lang::En { input type="hidden" name="lang" value="en"; }
                (search_bar(&page, &search))
                div class="layout" {
                    (facet_sidebar(&page, &search, results.as_ref()))
                    section aria-labelledby="results-heading" {
                        @match &results {
                            Some(found) => (result_list(&page, &search, found)),
                            None => div class="notice error" role="alert" {
                                (page.t("検索条件に誤りがあります。条件を見直してください。",
                                        "The search has a mistake in it; please check the conditions."))
                                " " a href="/" { (page.t("条件をすべて外す", "Clear everything")) }
                            },
                        }
                    }
                }
            }
        },
    )
}

fn search_bar(page: &Page, search: &SearchState) -> Markup {
    let sort = search.get("sort").unwrap_or("relevance");
    html! {
        h1 id="page-title" { (page.t("レジストリを探す", "Find a registry")) }
        div class="searchbar" role="search" {
            div class="query" {
                label for="q" { (page.t("キーワード・疾患名・ICD-10コード", "Words, diseases or ICD-10 codes")) }
                input type="search" id="q" name="q" value=(search.get("q").unwrap_or(""))
                    maxlength="500" placeholder=(page.t("例：乳がん、ALS、C50", "e.g. breast cancer, ALS, C50"));
            }
            div class="sort" {
                label for="sort" { (page.t("並び順", "Sort by")) }
                select id="sort" name="sort" {
                    @for (code, ja, en) in [
                        ("relevance", "関連度", "Relevance"),
                        ("updated", "更新日の新しい順", "Recently updated"),
                        ("enrollment", "症例数の多い順", "Most patients"),
                        ("name", "名称順", "Name"),
                    ] {
                        option value=(code) selected[sort == code] { (page.t(ja, en)) }
                    }
                }
            }
            button type="submit" { (page.t("検索", "Search")) }
        }
    }
}

fn facet_sidebar(page: &Page, search: &SearchState, found: Option<&SearchResponse>) -> Markup {
    html! {
        aside class="facets" aria-labelledby="facets-heading" {
            h2 id="facets-heading" { (page.t("絞り込み", "Filter")) }
            @for (i, facet) in FACETS.iter().enumerate() {
                @let chosen = search.chosen(facet);
                @let counts = facet_values(found, facet, &chosen);
                @if !counts.is_empty() {
                    details open[i < OPEN_FACETS || !chosen.is_empty()] data-facet=(facet) {
                        summary { (labels::field(page, facet)) }
                        fieldset {
                            legend { (labels::field(page, facet)) }
                            (facet_options(page, facet, &chosen, &counts[..counts.len().min(SHOWN_VALUES)]))
                            @if counts.len() > SHOWN_VALUES {
                                details class="more" {
                                    summary { (page.t("さらに表示", "More")) }
                                    (facet_options(page, facet, &chosen, &counts[SHOWN_VALUES..]))
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" class="apply secondary" { (page.t("絞り込む", "Apply filters")) }
        }
    }
}

/// A facet's values with their counts; chosen values stay listed even when nothing matches them.
fn facet_values(
    found: Option<&SearchResponse>,
    facet: &str,
    chosen: &[&str],
) -> Vec<(String, u64)> {
    let mut values: Vec<(String, u64)> = found
        .and_then(|f| f.facets.get(facet))
        .map(|counts: &Vec<FacetCount>| counts.iter().map(|c| (c.code.clone(), c.count)).collect())
        .unwrap_or_default();
    for code in chosen {
        if !values.iter().any(|(c, _)| c == code) {
            values.push((code.to_string(), 0));
        }
    }
    values
}

fn facet_options(page: &Page, facet: &str, chosen: &[&str], values: &[(String, u64)]) -> Markup {
    html! {
        @for (code, count) in values {
            @let id = format!("f-{facet}-{code}");
            label for=(id) {
                input type="checkbox" id=(id) name=(facet) value=(code) checked[chosen.contains(&code.as_str())];
                span class="label" { (labels::term(page, facet, code)) }
                span class="count" data-count=(count) { (count) }
            }
        }
    }
}

fn result_list(page: &Page, search: &SearchState, found: &SearchResponse) -> Markup {
    let pages = (found.total as u32).div_ceil(PER_PAGE).max(1);
    let csv = format!(
        "/api/v1/registries/search/export?{}",
        search.query_with(|p| p.push(("format".into(), "csv".into())))
    );
    html! {
        h2 id="results-heading" class="summaryline" {
            span class="total" data-total=(found.total) {
                @match page.lang {
                    super::Lang::Ja => { (found.total) "件のレジストリ" },
                    super::Lang::En => { (found.total) " registries" },
                }
            }
            @if found.total > 0 {
                span class="muted" {
                    (page.t("ページ", "Page")) " " (found.page) " / " (pages)
                }
                a href=(csv) download class="noprint" { (page.t("この一覧をCSVで保存", "Download this list as CSV")) }
            }
        }
        (chosen_filters(page, search))
        @if found.items.is_empty() {
            (no_results(page, search))
        } @else {
            ol class="results" start=((found.page - 1) * PER_PAGE + 1) {
                @for hit in &found.items { (result(page, hit)) }
            }
            (pager(page, search, found.page, pages))
        }
    }
}

fn chosen_filters(page: &Page, search: &SearchState) -> Markup {
    html! {
        @if search.has_filters() {
            ul class="chosen" aria-label=(page.t("選択中の条件", "Chosen filters")) {
                @for facet in FACETS {
                    @for code in search.chosen(facet) {
                        li {
                            a href=(search.url_without(facet, code))
                                aria-label=(format!("{} {}: {}", page.t("解除", "Remove"), labels::field(page, facet), labels::term(page, facet, code))) {
                                (labels::field(page, facet)) ": " (labels::term(page, facet, code)) " ×"
                            }
                        }
                    }
                }
            }
        }
    }
}

fn result(page: &Page, hit: &SearchHit) -> Markup {
    let registry = &hit.registry;
    let record = &registry.record;
    let href = format!("/registries/{}", registry.registry_code);
    let summary = labels::text(page, &record.summary_ja, record.summary_en.as_deref());
    html! {
        li {
            h3 {
                a href=(href) {
                    @match &hit.highlights.name {
                        // The index escapes the text and adds only <mark>.
                        Some(marked) => (PreEscaped(marked)),
                        None => (labels::text(page, &record.name_ja, record.name_en.as_deref())),
                    }
                }
            }
            div class="code" { (registry.registry_code) @if let Some(acronym) = &record.acronym { " · " (acronym) } }
            p class="snippet" {
                @match &hit.highlights.summary {
                    Some(marked) => (PreEscaped(marked)),
                    None => (shorten(summary, 160)),
                }
            }
            div {
                span class="badge" { (labels::term(page, "status", &record.status)) }
                span class="badge" { (labels::term(page, "registry_type", &record.registry_type)) }
                span class="badge" { (labels::term(page, "region", &record.region)) }
                @for area in &record.disease_area { span class="badge" { (labels::term(page, "disease_area", area)) } }
                @if registry.update_status == UpdateStatus::Overdue {
                    span class="badge warn" { (labels::term(page, "update_status", "overdue")) }
                }
            }
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn no_results(page: &Page, search: &SearchState) -> Markup {
    let only_words = search.query_with(|p| p.retain(|(n, _)| n == "q"));
    html! {
        div class="empty" role="status" {
            p { strong { (page.t("条件に合うレジストリは見つかりませんでした。", "No registry matches this search.")) } }
            p { (page.t("次のことをお試しください：", "You could:")) }
            ul {
                @if search.has_filters() && search.get("q").is_some() {
                    li { a href=(format!("/?{only_words}")) { (page.t("絞り込みを外して同じキーワードで探す", "Search the same words without the filters")) } }
                }
                li { (page.t("キーワードを減らすか、別の表記（がん・癌、英語名、ICD-10コードの先頭 C50 など）で探す",
                             "Use fewer words, or another spelling: the English or Japanese name, or the start of an ICD-10 code such as C50")) }
                li { a href="/" { (page.t("すべてのレジストリを見る", "Browse all registries")) } }
            }
        }
    }
}

fn pager(page: &Page, search: &SearchState, current: u32, pages: u32) -> Markup {
    let window = current.saturating_sub(3).max(1)..=(current + 3).min(pages);
    html! {
        @if pages > 1 {
            nav class="pages" aria-label=(page.t("ページ送り", "Pages")) {
                ul {
                    @if current > 1 {
                        li { a href=(search.url_for_page(current - 1)) rel="prev" { (page.t("前へ", "Previous")) } }
                    }
                    @for n in window {
                        li {
                            @if n == current {
                                span aria-current="page" { (n) }
                            } @else {
                                a href=(search.url_for_page(n)) { (n) }
                            }
                        }
                    }
                    @if current < pages {
                        li { a href=(search.url_for_page(current + 1)) rel="next" { (page.t("次へ", "Next")) } }
                    }
                }
            }
        }
    }
}
