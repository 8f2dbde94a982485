//! Validated types and the rules of the catalogue. No I/O happens here.

pub mod access;
pub mod business_days;
pub mod consultation;
pub mod diff;
pub mod facets;
pub mod merge_patch;
pub mod registry;
pub mod role;
pub mod update_cycle;
pub mod validation;
pub mod vocabulary;
