//! Signing in and out of the pages. The session cookie carries a token of the
//! same sessions the API uses, so signing out anywhere ends it everywhere.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::{CsrfOnly, Page, SESSION_COOKIE};
use crate::error::ErrorCode;
use crate::routes::auth::{sign_in, sign_out, Credentials, SignedIn};
use crate::startup::AppState;

/// How long a page session lasts without signing in again.
const SESSION_HOURS: i64 = 12;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    next: Option<String>,
}

/// Only a path on this site: `//evil.example` and `https://…` would send the
/// reader elsewhere after signing in.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn login_form(
    page: &Page,
    status: StatusCode,
    next: &str,
    email: &str,
    failed: bool,
) -> HttpResponse {
    let title = page.t("ログイン", "Sign in");
    page.render(
        status,
        title,
        html! {
            div class="login card" {
                h1 { (title) }
                @if failed {
                    p class="notice error" role="alert" id="login-error" {
                        (page.t("メールアドレスまたはパスワードが違います。", "The email or password is wrong."))
                    }
                }
                form method="post" action="/login" {
                    (page.csrf_field())
                    input type="hidden" name="next" value=(next);
                    div class="field" {
                        label for="email" { (page.t("メールアドレス", "Email")) }
                        input type="email" id="email" name="email" value=(email) required autocomplete="username"
                            aria-describedby=[failed.then_some("login-error")];
                    }
                    div class="field" {
                        label for="password" { (page.t("パスワード", "Password")) }
                        input type="password" id="password" name="password" required autocomplete="current-password";
                    }
                    button type="submit" { (title) }
                }
            }
        },
    )
}

#[get("/login")]
pub async fn login_page(page: Page, query: web::Query<NextQuery>) -> HttpResponse {
    let next = safe_next(query.next.as_deref());
    if page.user.is_some() {
        return page.redirect(next);
    }
    login_form(&page, StatusCode::OK, next, "", false)
}

#[post("/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: Page,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    if !page.csrf_ok(&form.csrf) {
        return csrf_refused(&page);
    }
    let next = safe_next(form.next.as_deref()).to_string();
    let credentials = Credentials {
        email: form.email.clone(),
        password: form.password,
    };
    match sign_in(&state, credentials, req.peer_addr().map(|a| a.ip())).await {
        Ok(SignedIn {
            user, session_id, ..
        }) => {
            let (token, _) = state.tokens.issue_for(
                &user.id,
                &session_id,
                &user.role,
                state.clock.now(),
                chrono::Duration::hours(SESSION_HOURS),
            );
            let mut response = page.redirect(&next);
            let mut cookie = super::cookie(SESSION_COOKIE, token);
            cookie.set_max_age(actix_web::cookie::time::Duration::hours(SESSION_HOURS));
            // A failure here only means the reader is not signed in; the redirect still works.
            let _ = response.add_cookie(&cookie);
            response
        }
        Err(e) if e.code == ErrorCode::InvalidCredentials => {
            login_form(&page, StatusCode::UNAUTHORIZED, &next, &form.email, true)
        }
        Err(e) if e.code == ErrorCode::TooManyRequests => page.error(
            StatusCode::TOO_MANY_REQUESTS,
            page.t(
                "ログインの試行が多すぎます。しばらくしてからもう一度お試しください。",
                "Too many sign-in attempts; please try again later.",
            ),
        ),
        Err(e) => {
            tracing::error!(detail = %e.detail, "sign-in page failed");
            page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                page.t("ログインできませんでした。", "Signing in failed."),
            )
        }
    }
}

#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    if !page.csrf_ok(&form.csrf) {
        return csrf_refused(&page);
    }
    if let Some(user) = page.user.clone() {
        if let Err(e) = sign_out(&state, user).await {
            tracing::error!(detail = %e.detail, "sign-out page failed");
        }
    }
    let mut response = page.redirect("/");
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}

/// A form that did not come from one of our pages (or whose page is too old).
pub fn csrf_refused(page: &Page) -> HttpResponse {
    page.error(
        StatusCode::FORBIDDEN,
        page.t(
            "フォームの有効期限が切れたか、別のサイトから送信されました。ページを再読み込みしてもう一度お試しください。",
            "This form has expired or was sent from another site. Reload the page and try again.",
        ),
    )
}
