//! The catalogue in the formats other catalogues and spreadsheet users speak:
//! CSV, XLSX and JSON lists, and JSON-LD (schema.org and DCAT-AP /
//! HealthDCAT-AP). Public data only: no contact details ever leave here.

pub mod jsonld;
pub mod table;
