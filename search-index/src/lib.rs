//! Text analysis and search for the CIN Registry Catalogue.
//!
//! This crate knows no HTTP and no SQL: it turns registry text into comparable
//! forms and answers queries over it.

pub mod normalize;
