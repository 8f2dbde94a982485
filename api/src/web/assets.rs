//! The stylesheet and script, compiled into the binary: pages load nothing
//! from anywhere else.

use actix_web::http::header;
use actix_web::{get, HttpResponse};

pub const STYLESHEET_URL: &str = "/assets/site.css";
pub const SCRIPT_URL: &str = "/assets/site.js";

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

#[get("/assets/site.css")]
pub async fn stylesheet() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/site.css"),
    )
}

#[get("/assets/site.js")]
pub async fn script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/site.js"),
    )
}
