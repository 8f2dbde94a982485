//! Field names and vocabulary labels for pages, from the same tables the API
//! and the survey import use; nothing is spelled out twice.

use super::Page;
use crate::domain::consultation::ConsultationKind;
use crate::domain::vocabulary;
use crate::survey::columns;

/// The name of a record field (or facet) in the reader's language.
pub fn field(page: &Page, name: &str) -> String {
    // Two facets are derived, not survey columns.
    match name {
        "enrollment_band" => page.t("症例数の規模", "Enrollment size").to_string(),
        "update_status" => page.t("更新状況", "Update status").to_string(),
        _ => match columns::for_field(name) {
            Some(column) => page.t(&column.header, &column.header_en).to_string(),
            None => name.to_string(),
        },
    }
}

/// The label of a vocabulary code (or a facet value) in the reader's language.
pub fn term(page: &Page, vocabulary_name: &str, code: &str) -> String {
    if vocabulary_name == "designated_intractable" {
        return yes_no(page, code == "true").to_string();
    }
    vocabulary::all()
        .get(vocabulary_name)
        .and_then(|v| v.values.iter().find(|t| t.code == code))
        .map(|t| page.t(&t.ja, &t.en).to_string())
        .unwrap_or_else(|| code.to_string())
}

pub fn terms(page: &Page, vocabulary_name: &str, codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| term(page, vocabulary_name, c))
        .collect::<Vec<_>>()
        .join(page.t("、", ", "))
}

pub fn yes_no(page: &Page, yes: bool) -> &'static str {
    if yes {
        page.t("はい", "Yes")
    } else {
        page.t("いいえ", "No")
    }
}

/// Japanese text, or its English translation when the reader chose English and there is one.
pub fn text<'a>(page: &Page, ja: &'a str, en: Option<&'a str>) -> &'a str {
    match (page.lang, en) {
        (super::Lang::En, Some(en)) if !en.is_empty() => en,
        _ => ja,
    }
}

/// What an inquiry asks about. The desk's kinds are no record vocabulary, so
/// their labels live with the pages that show them.
pub fn inquiry_kind(page: &Page, kind: ConsultationKind) -> &'static str {
    match kind {
        ConsultationKind::DataUse => page.t("データの利用", "Data use"),
        ConsultationKind::JointResearch => page.t("共同研究", "Joint research"),
        ConsultationKind::RegulatoryUse => page.t("薬事目的での利用", "Regulatory use"),
        ConsultationKind::RegistryBuilding => page.t("レジストリ構築の相談", "Building a registry"),
        ConsultationKind::Other => page.t("その他", "Other"),
    }
}

/// An inquiry's or a registry answer's state, in the words of the desk's mails.
pub fn desk_state(page: &Page, state: &str) -> String {
    let label = crate::consultations::notify::state_label(page.lang == super::Lang::Ja, state);
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => label,
    }
}
