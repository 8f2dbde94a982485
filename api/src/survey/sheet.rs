//! Reads a survey spreadsheet into rows of text cells: XLSX (first sheet) or
//! CSV in UTF-8 (with or without a byte-order mark) or Shift_JIS.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

/// A sheet as text: the header row and the rows below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub format: Format,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row number a spreadsheet program shows (the header is row 1).
    pub number: usize,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    CsvUtf8,
    CsvShiftJis,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::CsvUtf8 => "csv (UTF-8)",
            Format::CsvShiftJis => "csv (Shift_JIS)",
        }
    }
}

/// Why a file could not be read as a sheet at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SheetError {
    #[error("the XLSX file cannot be read: {0}")]
    Xlsx(String),
    #[error("the file is neither XLSX nor CSV in UTF-8 or Shift_JIS")]
    Encoding,
    #[error("the CSV file cannot be read: {0}")]
    Csv(String),
    #[error("the file has no header row")]
    Empty,
}

/// XLSX files are ZIP archives; anything else is taken for CSV.
pub fn read(bytes: &[u8]) -> Result<Sheet, SheetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        let (text, format) = decode(bytes)?;
        read_csv(&text, format)
    }
}

/// UTF-8 first: Japanese text in Shift_JIS is almost never valid UTF-8,
/// while the reverse guess would garble UTF-8 files.
fn decode(bytes: &[u8]) -> Result<(String, Format), SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), Format::CsvUtf8));
    }
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| (text.into_owned(), Format::CsvShiftJis))
        .ok_or(SheetError::Encoding)
}

fn read_csv(text: &str, format: Format) -> Result<Sheet, SheetError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| SheetError::Csv(e.to_string()))?;
        rows.push(Row {
            number: i + 1,
            cells: record.iter().map(clean).collect(),
        });
    }
    into_sheet(format, rows)
}

fn read_xlsx(bytes: &[u8]) -> Result<Sheet, SheetError> {
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(SheetError::Empty)?
        .map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let (first_row, _) = range.start().ok_or(SheetError::Empty)?;
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row {
            number: first_row as usize + i + 1,
            cells: cells.iter().map(cell_text).collect(),
        })
        .collect();
    into_sheet(Format::Xlsx, rows)
}

/// A cell as the text a person would have typed into it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => clean(s),
        Data::Int(i) => i.to_string(),
        // Spreadsheets keep every number as a float; whole ones were typed whole.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.to_string(),
            None => d.to_string(),
        },
        Data::Error(e) => format!("#{e}"),
    }
}

/// Line breaks inside cells are `\n` whichever program wrote them.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// The first non-empty row is the header; empty rows below it are skipped.
fn into_sheet(format: Format, rows: Vec<Row>) -> Result<Sheet, SheetError> {
    let blank = |row: &Row| row.cells.iter().all(|c| c.trim().is_empty());
    let mut rows = rows.into_iter().filter(|r| !blank(r));
    let header = rows.next().ok_or(SheetError::Empty)?;
    let mut headers = header.cells;
    while headers.last().is_some_and(|h| h.trim().is_empty()) {
        headers.pop();
    }
    Ok(Sheet {
        format,
        headers,
        rows: rows.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_bom_and_shift_jis_read_the_same() {
        let text =
            "レジストリコード,名称（日本語）\r\nCIN-R-000001,\"全国乳がん\r\n患者登録\"\r\n,\r\n";
        let utf8 = read(format!("\u{feff}{text}").as_bytes()).unwrap();
        let (sjis, _, lossy) = encoding_rs::SHIFT_JIS.encode(text);
        assert!(!lossy);
        let shift_jis = read(&sjis).unwrap();
        assert_eq!(utf8.format, Format::CsvUtf8);
        assert_eq!(shift_jis.format, Format::CsvShiftJis);
        assert_eq!(utf8.headers, shift_jis.headers);
        assert_eq!(utf8.rows, shift_jis.rows);
        assert_eq!(utf8.rows.len(), 1, "the empty row is skipped");
        assert_eq!(utf8.rows[0].number, 2);
        assert_eq!(utf8.rows[0].cells[1], "全国乳がん\n患者登録");
    }

    #[test]
    fn xlsx_cells_read_as_typed() {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "登録症例数").unwrap();
        sheet.write_string(0, 1, "概要").unwrap();
        sheet.write_number(1, 0, 1520.0).unwrap();
        sheet.write_string(1, 1, "一行目\n二行目").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let read = read(&bytes).unwrap();
        assert_eq!(read.format, Format::Xlsx);
        assert_eq!(read.headers, ["登録症例数", "概要"]);
        assert_eq!(read.rows[0].cells, ["1520", "一行目\n二行目"]);
    }

    #[test]
    fn bytes_in_no_known_encoding_are_refused() {
        assert_eq!(read(&[0x82, 0xa0, 0xff, 0xfe]), Err(SheetError::Encoding));
        assert_eq!(read(b""), Err(SheetError::Empty));
    }
}
