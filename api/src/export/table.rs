//! The catalogue as a spreadsheet: the survey's own columns (without the
//! contact, which is personal data), so that an export imports back unchanged.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::catalogue::record_json;
use crate::domain::registry::RegistryRecord;
use crate::survey::columns::{self, Cell};

/// CSV in UTF-8 with a byte-order mark, so that spreadsheet programs read the Japanese text.
pub fn csv(records: &[RegistryRecord]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        let headers: Vec<&str> = columns::exported().map(|c| c.header.as_str()).collect();
        // Writing into a Vec cannot fail.
        let _ = writer.write_record(&headers);
        for record in records {
            let json = record_json(&record.public());
            let row: Vec<String> = columns::exported()
                .map(|c| match columns::cell(c, &json) {
                    Cell::Text(t) => t,
                    Cell::Number(n) => n.to_string(),
                })
                .collect();
            let _ = writer.write_record(&row);
        }
        let _ = writer.flush();
    }
    out
}

/// One sheet with a bold, frozen header row; numbers as numbers.
pub fn xlsx(records: &[RegistryRecord]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("registries")?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (col, column) in columns::exported().enumerate() {
        sheet.write_string_with_format(0, col as u16, &column.header, &bold)?;
    }
    sheet.set_freeze_panes(1, 1)?;
    for (i, record) in records.iter().enumerate() {
        let row = i as u32 + 1;
        let json = record_json(&record.public());
        for (col, column) in columns::exported().enumerate() {
            match columns::cell(column, &json) {
                Cell::Number(n) => sheet.write_number(row, col as u16, n as f64)?,
                Cell::Text(t) if t.is_empty() => sheet,
                Cell::Text(t) if t.contains('\n') => {
                    sheet.write_string_with_format(row, col as u16, &t, &wrap)?
                }
                Cell::Text(t) => sheet.write_string(row, col as u16, &t)?,
            };
        }
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<RegistryRecord> {
        let seed: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../../seed-data/registries.json")).unwrap();
        seed.into_iter()
            .take(3)
            .map(|s| serde_json::from_value(s["record"].clone()).unwrap())
            .collect()
    }

    #[test]
    fn exports_carry_no_contact_and_read_back_as_sheets() {
        let records = sample();
        let csv = csv(&records);
        let text = std::str::from_utf8(&csv).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(
            !text.contains("jnbcr-office@example.jp"),
            "no personal data"
        );
        assert!(!text.contains("担当者"), "no contact columns");
        for bytes in [csv, xlsx(&records).unwrap()] {
            let sheet = crate::survey::sheet::read(&bytes).unwrap();
            assert_eq!(sheet.rows.len(), 3);
            assert_eq!(sheet.headers[0], "レジストリコード");
            assert_eq!(sheet.rows[0].cells[0], "CIN-R-000001");
        }
    }
}
