//! Pages for people: server-rendered HTML in Japanese (default) and English,
//! built on the same domain, store and search code as the API. They work
//! without JavaScript; `assets/site.js` only enhances them.

mod assets;
mod holder;
mod inquiries;
mod labels;
mod layout;
mod office;
mod registry;
mod search;
mod session;

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use maud::Markup;

use crate::auth::CurrentUser;
use crate::domain::role::Role;
use crate::error::{ApiError, ErrorCode};

pub use layout::Lang;

const SESSION_COOKIE: &str = "cin_session";
const CSRF_COOKIE: &str = "cin_csrf";
const LANG_COOKIE: &str = "cin_lang";

/// Every page's security policy: nothing from elsewhere, no inline script or
/// style, never inside a frame, forms post only here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(assets::stylesheet)
        .service(assets::script)
        .service(search::search_page)
        .service(session::login_page)
        .service(session::login)
        .service(session::logout)
        .service(holder::my_registries)
        .service(holder::edit_page)
        .service(holder::save_edit)
        .service(holder::confirm_no_change)
        .service(inquiries::new_inquiry)
        .service(inquiries::send_inquiry)
        .service(inquiries::my_inquiries)
        .service(inquiries::inquiry_page)
        .service(inquiries::post_message)
        .service(office::office_desk)
        .service(registry::registry_page);
}

/// What every page knows about its request: the language, who is signed in,
/// and the CSRF token its forms carry.
pub struct Page {
    pub lang: Lang,
    pub user: Option<CurrentUser>,
    csrf: String,
    /// The CSRF cookie is new and must be set on the response.
    new_csrf: bool,
    /// `?lang=` chose a language: remember it in a cookie.
    chosen_lang: Option<Lang>,
    path: String,
    query: String,
}

impl FromRequest for Page {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let chosen_lang = form_urlencoded::parse(req.query_string().as_bytes())
                .find(|(name, _)| name == "lang")
                .and_then(|(_, value)| Lang::parse(&value));
            let lang = chosen_lang
                .or_else(|| req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())))
                .unwrap_or(Lang::Ja);
            // An ended or expired session reads as signed out: a page can always be shown.
            let user = match req.cookie(SESSION_COOKIE) {
                Some(cookie) => {
                    crate::auth::extract::authenticate(&req, cookie.value().to_string())
                        .await
                        .ok()
                }
                None => None,
            };
            let (csrf, new_csrf) = match req.cookie(CSRF_COOKIE) {
                Some(c) if c.value().len() == 128 => (c.value().to_string(), false),
                _ => (crate::auth::tokens::new_secret(), true),
            };
            Ok(Page {
                lang,
                user,
                csrf,
                new_csrf,
                chosen_lang,
                path: req.path().to_string(),
                query: req.query_string().to_string(),
            })
        })
    }
}

impl Page {
    /// `ja` or `en`, whichever the reader chose.
    pub fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    pub fn has_role(&self, allowed: fn(Role) -> bool) -> bool {
        self.user.as_ref().is_some_and(|u| allowed(u.role))
    }

    /// The hidden field every POST form carries.
    pub fn csrf_field(&self) -> Markup {
        maud::html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// Whether a posted form carries this browser's CSRF token (double submit:
    /// another site can make the browser post, but cannot read the cookie).
    pub fn csrf_ok(&self, posted: &str) -> bool {
        !self.new_csrf
            && posted.len() == self.csrf.len()
            && posted
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// This page's address in the other language: the same path and query, so
    /// switching keeps the search, filters and page.
    pub fn other_language_url(&self) -> String {
        let other = match self.lang {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        };
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(self.query.as_bytes()) {
            if name != "lang" {
                query.append_pair(&name, &value);
            }
        }
        query.append_pair("lang", other.code());
        format!("{}?{}", self.path, query.finish())
    }

    /// The address of the current page, for coming back after signing in.
    pub fn here(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// A full page with its security headers and cookies.
    pub fn render(&self, status: StatusCode, title: &str, main: Markup) -> HttpResponse {
        let mut response = HttpResponse::build(status);
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "same-origin"));
        if self.user.is_some() {
            // Signed-in pages hold personal data: no shared or back-button caches.
            response.insert_header((header::CACHE_CONTROL, "private, no-store"));
        }
        self.set_cookies(&mut response);
        response.body(layout::page(self, title, main).into_string())
    }

    /// 303 to `location` (after a form, so that reloading does not post again).
    pub fn redirect(&self, location: &str) -> HttpResponse {
        let mut response = HttpResponse::SeeOther();
        response.insert_header((header::LOCATION, location.to_string()));
        self.set_cookies(&mut response);
        response.finish()
    }

    /// Sends the reader to the sign-in page, and back here afterwards.
    pub fn sign_in_first(&self) -> HttpResponse {
        let next: String = form_urlencoded::byte_serialize(self.here().as_bytes()).collect();
        self.redirect(&format!("/login?next={next}"))
    }

    /// A page saying what went wrong, in the reader's language.
    /// An API refusal as a page: the codes in `words` in the reader's words
    /// (ja, en), any other with the API's own status and detail, and logged.
    pub fn refusal(&self, e: ApiError, words: &[(ErrorCode, &str, &str)]) -> HttpResponse {
        if let Some((_, ja, en)) = words.iter().find(|(code, ..)| *code == e.code) {
            return self.error(e.code.status(), self.t(ja, en));
        }
        tracing::error!(detail = %e.detail, path = %self.path, "page failed");
        self.error(e.code.status(), &e.detail)
    }

    pub fn error(&self, status: StatusCode, message: &str) -> HttpResponse {
        let title = match status {
            StatusCode::NOT_FOUND => self.t("ページが見つかりません", "Page not found"),
            StatusCode::FORBIDDEN => self.t("権限がありません", "Not allowed"),
            _ => self.t("エラー", "Error"),
        };
        self.render(
            status,
            title,
            maud::html! {
                h1 { (title) }
                p { (message) }
                p { a href="/" { (self.t("検索に戻る", "Back to the search")) } }
            },
        )
    }

    fn set_cookies(&self, response: &mut actix_web::HttpResponseBuilder) {
        if self.new_csrf {
            response.cookie(cookie(CSRF_COOKIE, self.csrf.clone()));
        }
        if let Some(lang) = self.chosen_lang {
            let mut lang = cookie(LANG_COOKIE, lang.code().to_string());
            lang.set_max_age(actix_web::cookie::time::Duration::days(365));
            response.cookie(lang);
        }
    }
}

/// HttpOnly, SameSite=Lax, for the whole site; `Secure` is left to the TLS
/// proxy's configuration since the service itself speaks plain HTTP.
fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish()
}

/// The form field every POST form has.
#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}
