//! The text of the update reminders, in the recipient's language, as plain
//! text and HTML.

use chrono::{DateTime, Utc};

use crate::domain::business_days::jst;
use crate::domain::update_cycle::ReminderStep;

/// What a reminder says about one registry.
pub struct ReminderFacts<'a> {
    pub registry_code: &'a str,
    pub name_ja: &'a str,
    pub name_en: Option<&'a str>,
    pub last_confirmed_at: Option<DateTime<Utc>>,
    pub due: DateTime<Utc>,
    /// Days past the due date (0 when not yet due).
    pub days_overdue: i64,
    /// The public URL of the registry.
    pub registry_url: String,
}

/// A mail ready for the outbox.
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn date(ja: bool, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&jst());
    if ja {
        local.format("%Y年%m月%d日").to_string()
    } else {
        local.format("%Y-%m-%d").to_string()
    }
}

fn name<'a>(ja: bool, facts: &'a ReminderFacts<'_>) -> &'a str {
    if ja {
        facts.name_ja
    } else {
        facts.name_en.unwrap_or(facts.name_ja)
    }
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Paragraphs (each a list of lines) and links, as text and as HTML.
fn render(subject: String, paragraphs: &[Vec<String>], links: &[(String, String)]) -> Composed {
    let mut text = String::new();
    let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
    for paragraph in paragraphs {
        text.push_str(&paragraph.join("\n"));
        text.push_str("\n\n");
        let lines: Vec<String> = paragraph.iter().map(|l| escape_html(l)).collect();
        html.push_str(&format!("<p>{}</p>\n", lines.join("<br>\n")));
    }
    for (label, url) in links {
        text.push_str(&format!("{label}\n{url}\n\n"));
        html.push_str(&format!(
            "<p>{}<br>\n<a href=\"{}\">{}</a></p>\n",
            escape_html(label),
            escape_html(url),
            escape_html(url)
        ));
    }
    html.push_str("</body></html>\n");
    Composed {
        subject,
        text,
        html,
    }
}

/// The reminder to a holder for one step of the cycle.
pub fn holder_reminder(
    ja: bool,
    display_name: &str,
    step: ReminderStep,
    facts: &ReminderFacts<'_>,
    confirm_url: &str,
    link_days: i64,
) -> Composed {
    let name = name(ja, facts);
    let due = date(ja, facts.due);
    let last = match (facts.last_confirmed_at, ja) {
        (Some(at), _) => date(ja, at),
        (None, true) => "未確認".to_string(),
        (None, false) => "never".to_string(),
    };
    let (subject, headline) = match (step, ja) {
        (ReminderStep::Ahead, true) => (
            format!("[CIN] 登録情報の定期確認のお願い：{name}（{due}まで）"),
            format!("「{name}」の登録情報の定期確認の時期になりました。{due}までに確認または更新をお願いします。"),
        ),
        (ReminderStep::Ahead, false) => (
            format!("[CIN] Please confirm your registry entry: {name} (due {due})"),
            format!("It is time to confirm the catalogue entry of \"{name}\". Please confirm or update it by {due}."),
        ),
        // A pass may run after the date itself: the text names the date, not "today".
        (ReminderStep::DueDate, true) => (
            format!("[CIN] 登録情報の確認期限になりました：{name}"),
            format!("「{name}」の登録情報は確認期限（{due}）になりました。確認または更新をお願いします。"),
        ),
        (ReminderStep::DueDate, false) => (
            format!("[CIN] Your registry entry is due for confirmation: {name}"),
            format!("The catalogue entry of \"{name}\" reached its confirmation date ({due}). Please confirm or update it."),
        ),
        (_, true) => (
            format!("[CIN] 登録情報の確認期限を過ぎています：{name}（期限 {due}）"),
            format!(
                "「{name}」の登録情報は確認期限（{due}）を{}日過ぎています。公開ページには最終確認日が表示されています。",
                facts.days_overdue
            ),
        ),
        (_, false) => (
            format!("[CIN] Your registry entry is overdue for confirmation: {name} (due {due})"),
            format!(
                "The catalogue entry of \"{name}\" is {} days past its confirmation date ({due}). Its public page shows when it was last confirmed.",
                facts.days_overdue
            ),
        ),
    };
    let greeting = if ja {
        format!("{display_name} 様")
    } else {
        format!("Dear {display_name},")
    };
    let details = if ja {
        vec![
            format!("登録番号：{}", facts.registry_code),
            format!("登録名：{name}"),
            format!("最終確認日：{last}"),
            format!("確認期限：{due}"),
        ]
    } else {
        vec![
            format!("Registry: {}", facts.registry_code),
            format!("Name: {name}"),
            format!("Last confirmed: {last}"),
            format!("Due: {due}"),
        ]
    };
    let links = if ja {
        vec![
            (
                format!("内容に変更がなければ、次のリンクから「変更なし」を確認してください（{link_days}日間有効、1回限り）："),
                confirm_url.to_string(),
            ),
            (
                "変更がある場合は登録情報を更新してください（更新も確認として記録されます）：".to_string(),
                facts.registry_url.clone(),
            ),
        ]
    } else {
        vec![
            (
                format!("If nothing has changed, confirm it with this link (valid for {link_days} days, once):"),
                confirm_url.to_string(),
            ),
            (
                "If something has changed, update the entry (an update counts as a confirmation too):".to_string(),
                facts.registry_url.clone(),
            ),
        ]
    };
    render(subject, &[vec![greeting], vec![headline], details], &links)
}

/// The note to the office about a registry long overdue.
pub fn office_escalation(ja: bool, facts: &ReminderFacts<'_>, holders: usize) -> Composed {
    let name = name(ja, facts);
    let due = date(ja, facts.due);
    let days = facts.days_overdue;
    let (subject, lines) = if ja {
        (
            format!("[CIN] 確認期限を{days}日過ぎた登録：{name}（{}）", facts.registry_code),
            vec![
                format!("「{name}」（{}）の登録情報は確認期限（{due}）を{days}日過ぎても確認されていません。", facts.registry_code),
                if holders == 0 {
                    "この登録には保有者アカウントがなく、リマインダーは送られていません。保有者に連絡を取ってください。".to_string()
                } else {
                    format!("保有者{holders}名にリマインダーを送っています。保有者に連絡を取ってください。")
                },
            ],
        )
    } else {
        (
            format!("[CIN] Registry entry {days} days overdue: {name} ({})", facts.registry_code),
            vec![
                format!("The catalogue entry of \"{name}\" ({}) is still not confirmed {days} days after its due date ({due}).", facts.registry_code),
                if holders == 0 {
                    "It has no holder account, so no reminder went out. Please reach its holder.".to_string()
                } else {
                    format!("Reminders went to its {holders} holder(s). Please reach them.")
                },
            ],
        )
    };
    let label = if ja {
        "登録ページ："
    } else {
        "The entry:"
    };
    render(
        subject,
        &[lines],
        &[(label.to_string(), facts.registry_url.clone())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts() -> ReminderFacts<'static> {
        ReminderFacts {
            registry_code: "CIN-R-000001",
            name_ja: "架空<登録>",
            name_en: Some("Fictional Registry"),
            last_confirmed_at: None,
            due: Utc.with_ymd_and_hms(2027, 3, 31, 15, 0, 0).unwrap(),
            days_overdue: 0,
            registry_url: "https://cin.example.jp/api/v1/registries/CIN-R-000001".into(),
        }
    }

    #[test]
    fn japanese_dates_are_in_japan_time_and_html_is_escaped() {
        let mail = holder_reminder(
            true,
            "試験 花子",
            ReminderStep::Ahead,
            &facts(),
            "https://x/confirm?token=a&b",
            30,
        );
        assert!(mail.subject.contains("2027年04月01日"), "{}", mail.subject);
        assert!(mail.text.contains("https://x/confirm?token=a&b"));
        assert!(mail.html.contains("架空&lt;登録&gt;"));
        assert!(mail.html.contains("token=a&amp;b"));
    }

    #[test]
    fn english_uses_the_english_name() {
        let mail = holder_reminder(false, "Hanako", ReminderStep::DueDate, &facts(), "u", 30);
        assert!(mail.subject.contains("Fictional Registry"));
        assert!(mail.text.starts_with("Dear Hanako,"));
    }
}
