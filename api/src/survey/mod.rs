//! Loading a CIN survey round from its spreadsheet: every row checked with
//! the record's own rules, every problem reported by row and column, and the
//! changes written in one transaction through the catalogue's write path (so
//! each changed registry gets a revision in the round and search follows).

pub mod columns;
pub mod sheet;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::catalogue::{self, Change, NewRegistry, RevisionAction};
use crate::domain::diff;
use crate::domain::registry::{is_registry_code, PublicationState, RegistryRecord};
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ErrorCode};
use crate::store::registries::{self, RegistryRow};
use crate::store::DbConnection;

use columns::{Column, Suggestion};
use sheet::Sheet;

/// One problem in the file, at a row and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportProblem {
    /// The row as a spreadsheet program numbers it (the header is row 1).
    pub row: usize,
    /// The column header, as the file has it.
    pub column: Option<String>,
    /// The record field, as validation names it (`diseases[0].icd10[1]`).
    pub field: Option<String>,
    /// `unknown_column`, `missing_column`, `unknown_value`, `invalid_type`,
    /// `invalid_format`, `required`, `duplicate_registry`, `out_of_range`,
    /// `too_long`, `too_many_values`, `misaligned`, `duplicate`, `invalid_value`.
    pub code: &'static str,
    pub message: String,
    /// What the cell held, where one value was not understood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The allowed values nearest to an unknown one (by edit distance over
    /// codes and Japanese and English labels), or the nearest column headers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    Create,
    Update,
    Unchanged,
}

/// What a valid row does (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowOutcome {
    pub row: usize,
    pub registry_code: String,
    pub action: RowAction,
    /// The fields that change, for updates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    pub survey_round: i32,
    pub dry_run: bool,
    /// `xlsx`, `csv (UTF-8)` or `csv (Shift_JIS)`.
    pub format: String,
    /// Whether the catalogue was changed: a real run without problems.
    pub applied: bool,
    /// Registry rows in the file (empty rows are not counted).
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Every problem found; a real run with problems writes nothing.
    pub problems: Vec<ImportProblem>,
    /// What each valid row does, in file order.
    pub registries: Vec<RowOutcome>,
}

pub struct ImportOptions<'a> {
    pub survey_round: i32,
    pub dry_run: bool,
    pub actor_id: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Progress of a run: rows checked, then registries written.
pub trait Progress {
    fn checked(&mut self, _rows: usize) {}
    fn writing(&mut self, _done: usize, _of: usize) {}
}

impl Progress for () {}

/// Registries looked up per query, well below both backends' parameter limits.
const LOOKUP_CHUNK: usize = 1_000;

/// A survey round must be a year the record accepts.
pub fn check_round(round: i32, now: DateTime<Utc>) -> Result<(), String> {
    let max = now.year() + 1;
    if (2000..=max).contains(&round) {
        Ok(())
    } else {
        Err(format!(
            "the survey round must be a year from 2000 to {max}"
        ))
    }
}

/// Checks every row and, unless it is a dry run or a problem was found,
/// writes the changes. Run it inside one transaction: the caller's
/// `write_blocking` makes the import all-or-nothing.
pub fn run(
    conn: &mut DbConnection,
    sheet: &Sheet,
    options: &ImportOptions<'_>,
    progress: &mut dyn Progress,
) -> Result<ImportReport, ApiError> {
    let mut problems = Vec::new();
    let layout = layout(sheet, &mut problems);
    let existing = existing(conn, sheet, &layout)?;
    let mut planned = Vec::new();
    let mut first_row: HashMap<String, usize> = HashMap::new();
    for (i, row) in sheet.rows.iter().enumerate() {
        progress.checked(i + 1);
        let code = layout.code_index.map_or("", |c| cell(row, c).trim());
        if !code.is_empty() {
            if let Some(first) = first_row.get(code) {
                problems.push(ImportProblem {
                    row: row.number,
                    column: layout.code_header(sheet),
                    field: Some("registry_code".into()),
                    code: "duplicate_registry",
                    message: format!(
                        "{code} is also on row {first}; each registry may appear once"
                    ),
                    value: Some(code.to_string()),
                    suggestions: Vec::new(),
                });
                continue;
            }
            first_row.insert(code.to_string(), row.number);
        }
        if let Some(plan) = check_row(sheet, row, &layout, &existing, options, &mut problems) {
            planned.push(plan);
        }
    }
    let mut report = ImportReport {
        survey_round: options.survey_round,
        dry_run: options.dry_run,
        format: sheet.format.as_str().to_string(),
        applied: false,
        rows: sheet.rows.len(),
        created: count(&planned, RowAction::Create),
        updated: count(&planned, RowAction::Update),
        unchanged: count(&planned, RowAction::Unchanged),
        problems,
        registries: planned.iter().map(|p| p.outcome.clone()).collect(),
    };
    if options.dry_run || !report.problems.is_empty() {
        return Ok(report);
    }
    let to_write = report.created + report.updated;
    let mut done = 0;
    for plan in planned {
        match (plan.outcome.action, plan.current) {
            (RowAction::Create, _) => {
                catalogue::create(
                    conn,
                    NewRegistry {
                        record: plan.record,
                        state: PublicationState::Draft,
                        last_confirmed_at: None,
                    },
                    options.actor_id,
                    options.now,
                )?;
            }
            (RowAction::Update, Some(current)) => {
                let state = PublicationState::parse(&current.publication_state)
                    .ok_or_else(|| ApiError::internal("unknown publication state"))?;
                catalogue::save(
                    conn,
                    current,
                    Change {
                        record: plan.record,
                        state,
                        action: RevisionAction::Import,
                        // The office loads the survey; only a holder's own word confirms an entry.
                        confirms: false,
                        actor_id: options.actor_id,
                        now: options.now,
                    },
                )?;
            }
            _ => continue,
        }
        done += 1;
        progress.writing(done, to_write);
    }
    // A run that changed nothing leaves nothing behind, not even an audit entry.
    if to_write > 0 {
        catalogue::audit(
            conn,
            options.actor_id,
            "survey.import",
            "survey_round",
            &options.survey_round.to_string(),
            json!({
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            }),
            options.now,
        )?;
    }
    report.applied = true;
    Ok(report)
}

fn count(planned: &[Plan<'_>], action: RowAction) -> usize {
    planned
        .iter()
        .filter(|p| p.outcome.action == action)
        .count()
}

/// Which column of the file is which; columns in the mapping's order, so
/// that the Japanese disease names come before the lines that follow them.
struct Layout {
    columns: Vec<(usize, &'static Column)>,
    code_index: Option<usize>,
}

impl Layout {
    fn code_header(&self, sheet: &Sheet) -> Option<String> {
        self.code_index.map(|i| sheet.headers[i].clone())
    }
}

fn layout(sheet: &Sheet, problems: &mut Vec<ImportProblem>) -> Layout {
    let mut columns: Vec<(usize, &'static Column)> = Vec::new();
    for (i, header) in sheet.headers.iter().enumerate() {
        if header.trim().is_empty() {
            continue;
        }
        match columns::by_header(header) {
            Some(column) if columns.iter().any(|(_, c)| std::ptr::eq(*c, column)) => {
                problems.push(header_problem(
                    header,
                    "duplicate_column",
                    format!("the column `{}` appears twice", column.header),
                ));
            }
            Some(column) => columns.push((i, column)),
            None => problems.push(ImportProblem {
                suggestions: columns::nearest_headers(header)
                    .into_iter()
                    .filter_map(|h| columns::by_header(&h))
                    .map(|c| Suggestion {
                        code: c.field.clone(),
                        ja: c.header.clone(),
                        en: c.header_en.clone(),
                    })
                    .collect(),
                ..header_problem(
                    header,
                    "unknown_column",
                    format!("`{header}` is not a column of the survey"),
                )
            }),
        }
    }
    columns.sort_by_key(|(_, c)| columns::all().iter().position(|x| std::ptr::eq(x, *c)));
    let code_index = columns
        .iter()
        .find(|(_, c)| c.field == "registry_code")
        .map(|(i, _)| *i);
    if code_index.is_none() {
        let header = &columns::all()[0].header;
        problems.push(header_problem(
            header,
            "missing_column",
            format!("the column `{header}` is required: it says which registry a row is"),
        ));
    }
    Layout {
        columns,
        code_index,
    }
}

fn header_problem(header: &str, code: &'static str, message: String) -> ImportProblem {
    ImportProblem {
        row: 1,
        column: Some(header.to_string()),
        field: None,
        code,
        message,
        value: None,
        suggestions: Vec::new(),
    }
}

fn cell(row: &sheet::Row, index: usize) -> &str {
    row.cells.get(index).map(String::as_str).unwrap_or("")
}

/// A registry of the catalogue named in the file, with its record as JSON.
struct Stored {
    row: RegistryRow,
    record: Value,
}

/// The catalogue's registries named in the file, by code.
fn existing(
    conn: &mut DbConnection,
    sheet: &Sheet,
    layout: &Layout,
) -> Result<HashMap<String, Stored>, ApiError> {
    let Some(index) = layout.code_index else {
        return Ok(HashMap::new());
    };
    let mut codes: Vec<String> = sheet
        .rows
        .iter()
        .map(|r| cell(r, index).trim().to_string())
        // Only well-formed codes can be in the catalogue; the rest are reported per row.
        .filter(|c| is_registry_code(c))
        .collect();
    codes.sort();
    codes.dedup();
    let mut found = HashMap::with_capacity(codes.len());
    for chunk in codes.chunks(LOOKUP_CHUNK) {
        for row in registries::find_by_codes(conn, chunk)? {
            let record = serde_json::from_str(&row.record).map_err(ApiError::internal)?;
            found.insert(row.registry_code.clone(), Stored { row, record });
        }
    }
    Ok(found)
}

struct Plan<'a> {
    outcome: RowOutcome,
    record: RegistryRecord,
    current: Option<&'a RegistryRow>,
}

/// The record a row makes: the stored one (or nothing) with the row's cells
/// written over it, checked by the record's own rules. `None` when the row
/// has problems, which are added to `problems`.
fn check_row<'a>(
    sheet: &Sheet,
    row: &sheet::Row,
    layout: &Layout,
    existing: &'a HashMap<String, Stored>,
    options: &ImportOptions<'_>,
    problems: &mut Vec<ImportProblem>,
) -> Option<Plan<'a>> {
    let code = cell(row, layout.code_index?).trim();
    let stored = existing.get(code);
    let before = stored.map(|s| &s.record);
    let mut record: Map<String, Value> = before
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let found = problems.len();
    let mut columns_with_problems = Vec::new();
    for (index, column) in &layout.columns {
        for p in columns::apply(column, cell(row, *index), &mut record) {
            columns_with_problems.push(column.field.as_str());
            problems.push(ImportProblem {
                row: row.number,
                column: Some(sheet.headers[*index].clone()),
                field: Some(column.field.clone()),
                code: p.code,
                message: p.message,
                value: Some(p.value),
                suggestions: p.suggestions,
            });
        }
    }
    record.insert("survey_round".into(), options.survey_round.into());
    let header_of = |field: &str| {
        let column = columns::for_field(field)?;
        layout
            .columns
            .iter()
            .find(|(_, c)| std::ptr::eq(*c, column))
            .map(|(i, _)| sheet.headers[*i].clone())
            .or_else(|| Some(column.header.clone()))
    };
    let parsed = RegistryRecord::parse(Value::Object(record), options.now.year());
    let record = match parsed {
        Ok(record) => Some(record),
        Err(errors) => {
            for error in errors {
                // A cell already reported is not reported again in other words.
                let column = columns::for_field(&error.field);
                if column.is_some_and(|c| columns_with_problems.contains(&c.field.as_str())) {
                    continue;
                }
                problems.push(from_field_error(row.number, header_of(&error.field), error));
            }
            None
        }
    };
    if problems.len() > found {
        return None;
    }
    let record = record?;
    let (action, changed_fields) = match before {
        None => (RowAction::Create, Vec::new()),
        Some(before) => {
            // A new round alone is no change: only what the registry says counts.
            let mut after = catalogue::record_json(&record);
            after["survey_round"] = before["survey_round"].clone();
            let fields = diff::changed_fields(before, &after);
            if fields.is_empty() {
                (RowAction::Unchanged, fields)
            } else {
                (RowAction::Update, fields)
            }
        }
    };
    Some(Plan {
        outcome: RowOutcome {
            row: row.number,
            registry_code: record.registry_code.clone(),
            action,
            changed_fields,
        },
        record,
        current: stored.map(|s| &s.row),
    })
}

fn from_field_error(row: usize, column: Option<String>, error: FieldError) -> ImportProblem {
    let message = match error.code {
        "required" => format!("{} (a required field is missing)", error.message),
        _ => error.message,
    };
    ImportProblem {
        row,
        column,
        field: Some(error.field),
        code: error.code,
        message,
        value: None,
        suggestions: Vec::new(),
    }
}

/// The 422 of a real run that found problems: each one named by row and column.
pub fn rejected(report: &ImportReport) -> ApiError {
    let errors = report
        .problems
        .iter()
        .map(|p| {
            let at = match &p.column {
                Some(column) => format!("row {} / {column}", p.row),
                None => format!("row {}", p.row),
            };
            let error = FieldError::new(at, p.code, p.message.clone());
            if p.suggestions.is_empty() {
                error
            } else {
                error.with_allowed(p.suggestions.iter().map(|s| s.code.clone()).collect())
            }
        })
        .collect();
    let mut error = ApiError::validation(errors);
    error.code = ErrorCode::ImportRejected;
    error.detail = format!(
        "{} problem(s) in the file; nothing was imported. A dry run reports each with its value and the nearest allowed values",
        report.problems.len()
    );
    error
}

/// The report as the command line prints it.
pub fn describe(report: &ImportReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for p in &report.problems {
        let at = match &p.column {
            Some(column) => format!("row {}, {column}", p.row),
            None => format!("row {}", p.row),
        };
        let _ = write!(out, "{at}: {} [{}]", p.message, p.code);
        if !p.suggestions.is_empty() {
            let near: Vec<String> = p
                .suggestions
                .iter()
                .map(|s| format!("{} ({} / {})", s.code, s.ja, s.en))
                .collect();
            let _ = write!(out, "; nearest: {}", near.join(", "));
        }
        out.push('\n');
    }
    let verb = if report.applied {
        "imported"
    } else if report.problems.is_empty() {
        "dry run, nothing written"
    } else {
        "nothing written"
    };
    let _ = writeln!(
        out,
        "survey round {} ({}): {} row(s), {} new, {} changed, {} unchanged, {} problem(s); {verb}",
        report.survey_round,
        report.format,
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
        report.problems.len()
    );
    out
}
