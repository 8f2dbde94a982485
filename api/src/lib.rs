//! The CIN Registry Catalogue service.

pub mod accounts;
pub mod auth;
pub mod backup;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod consultations;
pub mod domain;
pub mod error;
pub mod export;
pub mod extract;
pub mod failpoint;
pub mod mail;
pub mod openapi;
pub mod ops;
pub mod reminders;
pub mod routes;
pub mod scheduler;
pub mod search;
pub mod seed;
pub mod startup;
pub mod store;
pub mod survey;
pub mod web;
