//! The frame around every page: header, navigation, language switch, footer.

use maud::{html, Markup, DOCTYPE};

use super::Page;
use crate::domain::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

pub fn page(page: &Page, title: &str, main: Markup) -> Markup {
    let site = page.t("CIN レジストリカタログ", "CIN Registry Catalogue");
    html! {
        (DOCTYPE)
        html lang=(page.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (site) }
                link rel="stylesheet" href=(super::assets::STYLESHEET_URL);
                script src=(super::assets::SCRIPT_URL) defer {}
            }
            body {
                a class="skip" href="#main" { (page.t("本文へ移動", "Skip to content")) }
                header class="site" {
                    a class="brand" href="/" { (site) }
                    nav aria-label=(page.t("メインメニュー", "Main menu")) {
                        ul {
                            li { a href="/" { (page.t("レジストリ検索", "Search registries")) } }
                            @if page.has_role(|r| r == Role::Holder) {
                                li { a href="/my/registries" { (page.t("担当レジストリ", "My registries")) } }
                            }
                            @if page.user.is_some() {
                                li { a href="/my/inquiries" { (page.t("問い合わせ", "Inquiries")) } }
                            }
                            @if page.has_role(Role::is_staff) {
                                li { a href="/office" { (page.t("事務局デスク", "Office desk")) } }
                            }
                            li { a href="/docs/" { "API" } }
                        }
                    }
                    div class="account" {
                        a class="lang" href=(page.other_language_url()) hreflang=(match page.lang { Lang::Ja => "en", Lang::En => "ja" }) {
                            (page.t("English", "日本語"))
                        }
                        @if let Some(user) = &page.user {
                            span class="who" { (user.display_name) }
                            form method="post" action="/logout" class="inline" {
                                (page.csrf_field())
                                button type="submit" class="link" { (page.t("ログアウト", "Sign out")) }
                            }
                        } @else {
                            a href="/login" { (page.t("ログイン", "Sign in")) }
                        }
                    }
                }
                main id="main" { (main) }
                footer class="site" {
                    p { (page.t(
                        "クリニカル・イノベーション・ネットワーク（CIN）中央支援事務局による、国内の疾患・患者レジストリのカタログです。",
                        "A catalogue of Japan's disease and patient registries, kept by the CIN central support office.")) }
                }
            }
        }
    }
}
