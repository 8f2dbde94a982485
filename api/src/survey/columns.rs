//! The columns of the CIN survey spreadsheet and how a cell becomes part of
//! a record (and back, for exports). The mapping lives in
//! `seed-data/survey-columns.json`, compiled in beside the vocabularies.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::vocabulary::{self, Vocabulary};

/// How a column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Free text; an empty cell clears an optional field.
    Text,
    /// One line per disease, in the same order in every disease column.
    DiseaseLines,
    /// Several vocabulary values separated by commas, 、 or line breaks.
    Codes,
    /// One vocabulary value.
    Code,
    /// はい / いいえ (yes / no, true / false, ○ / ×).
    Bool,
    /// A field of the contact (personal data): imported, never exported.
    Contact,
    Integer,
    Date,
    /// One publication per line: `title | DOI | PMID | year`.
    Publications,
    /// Written by exports for the reader; an import takes the round from its caller.
    SurveyRound,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The header as the survey spreadsheet has it.
    pub header: String,
    /// Also accepted on import.
    pub header_en: String,
    /// The record field, `parent.child` for nested ones.
    pub field: String,
    pub kind: Kind,
    #[serde(default)]
    pub note: Option<String>,
}

static COLUMNS: LazyLock<Vec<Column>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../../seed-data/survey-columns.json"))
        .expect("seed-data/survey-columns.json is valid (checked by a unit test)")
});

pub fn all() -> &'static [Column] {
    &COLUMNS
}

/// The columns an export writes: everything but personal data.
pub fn exported() -> impl Iterator<Item = &'static Column> {
    all().iter().filter(|c| c.kind != Kind::Contact)
}

/// Width, case and spaces do not matter in a header: `名称(日本語)` is `名称（日本語）`.
fn header_key(header: &str) -> String {
    cin_search_index::normalize::fold(header)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The column a header names, in Japanese or English.
pub fn by_header(header: &str) -> Option<&'static Column> {
    let key = header_key(header);
    all()
        .iter()
        .find(|c| header_key(&c.header) == key || header_key(&c.header_en) == key)
}

/// The headers near an unknown one (within half its length in edits), for the report.
pub fn nearest_headers(header: &str) -> Vec<String> {
    let key = header_key(header);
    let near = key.chars().count() / 2;
    let mut scored: Vec<(usize, &Column)> = all()
        .iter()
        .map(|c| {
            let d = strsim::levenshtein(&key, &header_key(&c.header))
                .min(strsim::levenshtein(&key, &header_key(&c.header_en)));
            (d, c)
        })
        .collect();
    scored.sort_by_key(|(d, _)| *d);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= near)
        .take(3)
        .map(|(_, c)| c.header.clone())
        .collect()
}

/// The column that holds a field a validation error names
/// (`diseases[0].icd10[1]` is in `ICD-10コード`; `diseases` in the first disease column).
pub fn for_field(path: &str) -> Option<&'static Column> {
    let mut plain = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            c if !in_index => plain.push(c),
            _ => {}
        }
    }
    let exact = all().iter().find(|c| c.field == plain);
    let child = || {
        all()
            .iter()
            .find(|c| c.field.starts_with(&format!("{plain}.")))
    };
    let parent = || {
        all()
            .iter()
            .filter(|c| plain.starts_with(&format!("{}.", c.field)))
            .max_by_key(|c| c.field.len())
    };
    exact.or_else(child).or_else(parent)
}

/// An allowed value near one that was not recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suggestion {
    pub code: String,
    pub ja: String,
    pub en: String,
}

/// What is wrong with one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    /// `unknown_value`, `invalid_type`, `invalid_format`, `too_many_values`, `misaligned`.
    pub code: &'static str,
    pub message: String,
    /// The part of the cell that was not understood.
    pub value: String,
    pub suggestions: Vec<Suggestion>,
}

impl CellProblem {
    fn new(code: &'static str, message: impl Into<String>, value: &str) -> Self {
        CellProblem {
            code,
            message: message.into(),
            value: value.to_string(),
            suggestions: Vec::new(),
        }
    }
}

/// Writes one cell into the record being built. An empty cell removes the
/// field, so that an optional field is cleared and a required one is reported
/// as missing by the record's own validation.
pub fn apply(column: &Column, cell: &str, record: &mut Map<String, Value>) -> Vec<CellProblem> {
    let cell = cell.trim();
    if cell.contains('\0') {
        // PostgreSQL cannot store it; the JSON API refuses it at the door too.
        return vec![CellProblem::new(
            "invalid_format",
            "must not contain NUL characters",
            &cell.replace('\0', "\\u0000"),
        )];
    }
    let field = column.field.as_str();
    let set = |record: &mut Map<String, Value>, value: Option<Value>| match value {
        Some(v) => {
            record.insert(field.to_string(), v);
        }
        None => {
            record.remove(field);
        }
    };
    match column.kind {
        Kind::SurveyRound => Vec::new(),
        Kind::Text => {
            set(record, non_empty(cell).map(Value::from));
            Vec::new()
        }
        Kind::Code => {
            let (codes, mut problems) = resolve_codes(field, cell);
            if codes.len() > 1 {
                problems.push(CellProblem::new(
                    "too_many_values",
                    format!("`{field}` takes one value"),
                    cell,
                ));
            }
            set(record, codes.into_iter().next().map(Value::from));
            problems
        }
        Kind::Codes => {
            let (codes, problems) = resolve_codes(field, cell);
            set(record, (!codes.is_empty()).then(|| Value::from(codes)));
            problems
        }
        Kind::Bool => match parse_bool(cell) {
            Ok(value) => {
                set(record, value.map(Value::from));
                Vec::new()
            }
            Err(p) => vec![p],
        },
        Kind::Integer => match parse_integer(cell) {
            Ok(value) => {
                set(record, value.map(Value::from));
                Vec::new()
            }
            Err(p) => vec![p],
        },
        Kind::Date => match parse_date(cell) {
            Ok(value) => {
                set(record, value.map(|d| Value::from(d.to_string())));
                Vec::new()
            }
            Err(p) => vec![p],
        },
        Kind::Contact => {
            let (_, key) = field.split_once('.').expect("contact.<field>");
            let contact = record
                .entry("contact")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(contact) = contact {
                match non_empty(cell) {
                    Some(v) => contact.insert(key.to_string(), v.into()),
                    None => contact.remove(key),
                };
                if contact.is_empty() {
                    record.remove("contact");
                }
            }
            Vec::new()
        }
        Kind::DiseaseLines => apply_disease_lines(column, cell, record),
        Kind::Publications => match parse_publications(cell) {
            Ok(list) => {
                set(record, (!list.is_empty()).then(|| Value::from(list)));
                Vec::new()
            }
            Err(p) => p,
        },
    }
}

fn non_empty(cell: &str) -> Option<&str> {
    (!cell.is_empty()).then_some(cell)
}

/// Lines of a cell; trailing empty lines are not diseases.
fn lines(cell: &str) -> Vec<&str> {
    if cell.is_empty() {
        return Vec::new();
    }
    cell.split('\n').map(str::trim).collect()
}

/// The Japanese names decide how many diseases there are; the English names
/// and codes fill in line by line.
fn apply_disease_lines(
    column: &Column,
    cell: &str,
    record: &mut Map<String, Value>,
) -> Vec<CellProblem> {
    let (_, key) = column.field.split_once('.').expect("diseases.<field>");
    let diseases = record
        .entry("diseases")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(diseases) = diseases else {
        return Vec::new();
    };
    let lines = lines(cell);
    if key == "name_ja" {
        diseases.truncate(lines.len());
        while diseases.len() < lines.len() {
            diseases.push(Value::Object(Map::new()));
        }
    } else if lines.len() > diseases.len() {
        return vec![CellProblem::new(
            "misaligned",
            format!(
                "{} lines, but {} disease(s) in the Japanese disease names; give one line per disease",
                lines.len(),
                diseases.len()
            ),
            cell,
        )];
    }
    for (i, disease) in diseases.iter_mut().enumerate() {
        let Value::Object(disease) = disease else {
            continue;
        };
        let line = lines.get(i).copied().unwrap_or("");
        let value = match key {
            "icd10" => Some(Value::from(
                split_items(line)
                    .map(str::to_ascii_uppercase)
                    .collect::<Vec<_>>(),
            )),
            _ => non_empty(line).map(Value::from),
        };
        match value {
            Some(v) => disease.insert(key.to_string(), v),
            None => disease.remove(key),
        };
    }
    Vec::new()
}

/// Items of a list cell: separated by commas, semicolons, 、 or line breaks.
fn split_items(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(['\n', ',', '、', ';', '；', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Codes for the items of a cell; an item may be the code or its ja/en label.
fn resolve_codes(field: &str, cell: &str) -> (Vec<String>, Vec<CellProblem>) {
    let vocabulary = vocabulary::get(field);
    let mut codes = Vec::new();
    let mut problems = Vec::new();
    for item in split_items(cell) {
        match resolve(vocabulary, item) {
            Some(code) => codes.push(code.to_string()),
            None => problems.push(CellProblem {
                suggestions: nearest(vocabulary, item),
                ..CellProblem::new(
                    "unknown_value",
                    format!("`{item}` is not a `{field}` value"),
                    item,
                )
            }),
        }
    }
    (codes, problems)
}

fn fold(s: &str) -> String {
    cin_search_index::normalize::fold_kana(s)
}

fn resolve<'a>(vocabulary: &'a Vocabulary, item: &str) -> Option<&'a str> {
    let key = fold(item);
    vocabulary
        .values
        .iter()
        .find(|t| fold(&t.code) == key || fold(&t.ja) == key || fold(&t.en) == key)
        .map(|t| t.code.as_str())
}

/// The three values nearest by edit distance to the code or either label.
pub fn nearest(vocabulary: &Vocabulary, item: &str) -> Vec<Suggestion> {
    let key = fold(item);
    let mut scored: Vec<(usize, usize, Suggestion)> = vocabulary
        .values
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let distance = [&t.code, &t.ja, &t.en]
                .into_iter()
                .map(|s| strsim::levenshtein(&key, &fold(s)))
                .min()
                .unwrap_or(usize::MAX);
            let suggestion = Suggestion {
                code: t.code.clone(),
                ja: t.ja.clone(),
                en: t.en.clone(),
            };
            (distance, i, suggestion)
        })
        .collect();
    scored.sort_by_key(|(d, i, _)| (*d, *i));
    scored.into_iter().take(3).map(|(_, _, s)| s).collect()
}

fn parse_bool(cell: &str) -> Result<Option<bool>, CellProblem> {
    match fold(cell).as_str() {
        "" => Ok(None),
        "はい" | "yes" | "true" | "1" | "○" | "◯" | "あり" | "有" => Ok(Some(true)),
        "いいえ" | "no" | "false" | "0" | "×" | "なし" | "無" => Ok(Some(false)),
        _ => Err(CellProblem::new(
            "invalid_type",
            "answer はい or いいえ (yes or no)",
            cell,
        )),
    }
}

fn parse_integer(cell: &str) -> Result<Option<i64>, CellProblem> {
    // Full-width digits and thousands separators are how people type numbers.
    let digits: String = fold(cell).chars().filter(|c| *c != ',').collect();
    if digits.is_empty() {
        return Ok(None);
    }
    digits
        .parse()
        .map(Some)
        .map_err(|_| CellProblem::new("invalid_type", "must be a whole number", cell))
}

fn parse_date(cell: &str) -> Result<Option<chrono::NaiveDate>, CellProblem> {
    let text = fold(cell);
    if text.is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(&text, f).ok())
        .map(Some)
        .ok_or_else(|| CellProblem::new("invalid_format", "a date is YYYY-MM-DD", cell))
}

fn parse_publications(cell: &str) -> Result<Vec<Value>, Vec<CellProblem>> {
    let mut list = Vec::new();
    let mut problems = Vec::new();
    for line in lines(cell).into_iter().filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if parts.len() > 4 {
            problems.push(CellProblem::new(
                "invalid_format",
                "a publication is `title | DOI | PMID | year`",
                line,
            ));
            continue;
        }
        let part = |i: usize| parts.get(i).copied().and_then(non_empty);
        let mut publication = Map::new();
        publication.insert("title".into(), parts[0].into());
        for (i, key) in [(1, "doi"), (2, "pmid")] {
            if let Some(v) = part(i) {
                publication.insert(key.into(), v.into());
            }
        }
        match part(3).map(parse_integer) {
            Some(Ok(year)) => {
                publication.insert("year".into(), year.into());
            }
            Some(Err(p)) => problems.push(p),
            None => {}
        }
        list.push(Value::Object(publication));
    }
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(problems)
    }
}

/// A cell as an export writes it: what [`apply`] reads back to the same value.
pub enum Cell {
    Text(String),
    Number(i64),
}

/// The cell of `column` for a record serialised to JSON.
pub fn cell(column: &Column, record: &Value) -> Cell {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let field = column.field.as_str();
    match column.kind {
        Kind::Integer | Kind::SurveyRound => match record[field].as_i64() {
            Some(n) => Cell::Number(n),
            None => Cell::Text(String::new()),
        },
        Kind::Text | Kind::Code | Kind::Date => Cell::Text(text(&record[field])),
        Kind::Codes => Cell::Text(join(&record[field], ", ", text)),
        Kind::Bool => Cell::Text(
            match record[field].as_bool() {
                Some(true) => "はい",
                Some(false) => "いいえ",
                None => "",
            }
            .to_string(),
        ),
        // Personal data never leaves through an export.
        Kind::Contact => Cell::Text(String::new()),
        Kind::DiseaseLines => {
            let (_, key) = field.split_once('.').expect("diseases.<field>");
            Cell::Text(join(&record["diseases"], "\n", |d| match key {
                "icd10" => join(&d[key], ", ", text),
                _ => text(&d[key]),
            }))
        }
        Kind::Publications => Cell::Text(join(&record[field], "\n", |p| {
            let year = p["year"]
                .as_i64()
                .map(|y| y.to_string())
                .unwrap_or_default();
            format!(
                "{} | {} | {} | {year}",
                text(&p["title"]),
                text(&p["doi"]),
                text(&p["pmid"])
            )
        })),
    }
}

fn join(list: &Value, separator: &str, each: impl Fn(&Value) -> String) -> String {
    list.as_array()
        .map(|items| items.iter().map(each).collect::<Vec<_>>().join(separator))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_record_field_has_a_column_and_every_column_a_field() {
        let record: crate::domain::registry::RegistryRecord = serde_json::from_value(
            serde_json::from_str::<Vec<Value>>(include_str!("../../../seed-data/registries.json"))
                .unwrap()[0]["record"]
                .clone(),
        )
        .unwrap();
        let json = serde_json::to_value(&record).unwrap();
        for key in json.as_object().unwrap().keys() {
            assert!(
                all()
                    .iter()
                    .any(|c| c.field == *key || c.field.starts_with(&format!("{key}."))),
                "no column for {key}"
            );
        }
        for column in all() {
            let top = column.field.split('.').next().unwrap();
            assert!(
                json.get(top).is_some(),
                "{} is no record field",
                column.field
            );
            if matches!(column.kind, Kind::Code | Kind::Codes) {
                vocabulary::get(&column.field);
            }
        }
    }

    #[test]
    fn headers_match_in_either_language_and_any_width() {
        assert_eq!(by_header("名称(日本語)").unwrap().field, "name_ja");
        assert_eq!(by_header(" registry CODE ").unwrap().field, "registry_code");
        assert!(by_header("備考").is_none());
        assert!(nearest_headers("備考").is_empty(), "nothing near");
        assert_eq!(nearest_headers("名称（日本）")[0], "名称（日本語）");
    }

    #[test]
    fn labels_and_codes_are_both_understood_and_unknowns_get_neighbours() {
        let mut record = Map::new();
        let column = by_header("疾患領域").unwrap();
        let problems = apply(
            column,
            "oncology、神経疾患\nHematology, onkology",
            &mut record,
        );
        assert_eq!(
            record["disease_area"],
            json!(["oncology", "neurology", "hematology"])
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "unknown_value");
        assert_eq!(problems[0].value, "onkology");
        assert_eq!(problems[0].suggestions[0].code, "oncology");

        let region = by_header("地域").unwrap();
        let problems = apply(region, "大坂府", &mut record);
        assert_eq!(problems[0].suggestions[0].code, "osaka");
    }

    #[test]
    fn disease_lines_line_up_and_export_reads_back() {
        let mut record = Map::new();
        for (header, cell) in [
            ("対象疾患名（日本語）", "乳がん\n非浸潤性乳管癌"),
            ("対象疾患名（英語）", "Breast cancer\n"),
            ("ICD-10コード", "c50, C50.9\nD05.1"),
        ] {
            assert!(apply(by_header(header).unwrap(), cell, &mut record).is_empty());
        }
        let value = Value::Object(record.clone());
        assert_eq!(
            value["diseases"],
            json!([
                {"name_ja": "乳がん", "name_en": "Breast cancer", "icd10": ["C50", "C50.9"]},
                {"name_ja": "非浸潤性乳管癌", "icd10": ["D05.1"]}
            ])
        );
        let Cell::Text(icd) = cell(by_header("ICD-10コード").unwrap(), &value) else {
            panic!("text")
        };
        assert_eq!(icd, "C50, C50.9\nD05.1");
        let problems = apply(
            by_header("対象疾患名（英語）").unwrap(),
            "a\nb\nc",
            &mut record,
        );
        assert_eq!(problems[0].code, "misaligned");
    }

    #[test]
    fn numbers_dates_booleans_and_publications() {
        let mut record = Map::new();
        for (header, cell) in [
            ("登録症例数", "１２,３４５"),
            ("症例数の時点", "2025/12/31"),
            ("指定難病", "はい"),
            ("主な論文", "A study | 10.9999/x | 123 | 2024\nAnother"),
        ] {
            assert!(apply(by_header(header).unwrap(), cell, &mut record).is_empty());
        }
        assert_eq!(record["enrollment_count"], 12345);
        assert_eq!(record["enrollment_as_of"], "2025-12-31");
        assert_eq!(record["designated_intractable"], true);
        assert_eq!(
            record["publications"],
            json!([{"title": "A study", "doi": "10.9999/x", "pmid": "123", "year": 2024}, {"title": "Another"}])
        );
        assert_eq!(
            apply(by_header("登録症例数").unwrap(), "many", &mut record)[0].code,
            "invalid_type"
        );
        assert_eq!(
            apply(
                by_header("症例数の時点").unwrap(),
                "31.12.2025",
                &mut record
            )[0]
            .code,
            "invalid_format"
        );
    }

    #[test]
    fn validation_paths_lead_to_their_columns() {
        assert_eq!(
            for_field("diseases[0].icd10[1]").unwrap().header,
            "ICD-10コード"
        );
        assert_eq!(
            for_field("diseases").unwrap().header,
            "対象疾患名（日本語）"
        );
        assert_eq!(for_field("region").unwrap().header, "地域");
        assert_eq!(for_field("publications[1].doi").unwrap().header, "主な論文");
        assert_eq!(for_field("contact.email").unwrap().field, "contact.email");
    }
}
