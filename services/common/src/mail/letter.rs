//! Letters: what a mail says, laid out in the platform's Korean house style as plain text and
//! as HTML (sent together as `multipart/alternative`), so every mail of every service looks the
//! same and templates hold words, not markup.

use std::time::Duration;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use super::MailError;
use crate::auth::Role;

/// One mail's content: the layout adds the greeting, the signature and the escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub to: String,
    pub to_name: String,
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub action: Option<Action>,
    /// A closing remark in small print, e.g. what to do when the mail was not expected.
    pub note: Option<String>,
}

/// The one thing the reader should do: a button in HTML, a labelled link in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub label: String,
    pub url: String,
}

const SIGNATURE: &str = "원데이 드림";
const NO_REPLY: &str = "이 메일은 발신 전용입니다.";

impl Letter {
    fn greeting(&self) -> String {
        format!("{}님, 안녕하세요.", self.to_name)
    }

    pub fn text(&self) -> String {
        let mut blocks = vec![self.greeting()];
        blocks.extend(self.paragraphs.iter().cloned());
        if let Some(action) = &self.action {
            blocks.push(format!("{}:\n{}", action.label, action.url));
        }
        blocks.extend(self.note.iter().cloned());
        blocks.push(format!("{SIGNATURE}\n※ {NO_REPLY}"));
        blocks.join("\n\n") + "\n"
    }

    pub fn html(&self) -> String {
        let muted = "font-size:13px;color:#666666";
        let mut body = format!("<p>{}</p>\n", escape(&self.greeting()));
        for paragraph in &self.paragraphs {
            body += &format!("<p>{}</p>\n", escape(paragraph));
        }
        if let Some(action) = &self.action {
            let (label, url) = (escape(&action.label), escape(&action.url));
            body += &format!(
                "<p style=\"margin:32px 0\"><a href=\"{url}\" style=\"background:#1f6feb;color:#ffffff;\
                 padding:12px 24px;border-radius:6px;text-decoration:none;font-weight:bold\">{label}</a></p>\n\
                 <p style=\"{muted}\">버튼이 열리지 않으면 아래 주소를 브라우저에 붙여 넣어 주세요.<br>\
                 <a href=\"{url}\" style=\"color:#1f6feb;word-break:break-all\">{url}</a></p>\n"
            );
        }
        if let Some(note) = &self.note {
            body += &format!("<p style=\"{muted}\">{}</p>\n", escape(note));
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"ko\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
             <body style=\"margin:0;padding:24px;background:#f5f6f8;color:#222222;\
             font-family:'Apple SD Gothic Neo','Malgun Gothic',sans-serif;line-height:1.6\">\n\
             <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px\">\n\
             <p style=\"font-size:20px;font-weight:bold;color:#1f6feb;margin-top:0\">원데이</p>\n\
             {body}<p>{SIGNATURE}</p>\n<p style=\"font-size:12px;color:#999999\">{NO_REPLY}</p>\n\
             </div>\n</body>\n</html>\n",
            title = escape(&self.subject),
        )
    }

    /// The RFC 5322 message, with `message_id` (stable across delivery attempts, so a receiver
    /// can drop a duplicate).
    pub(crate) fn message(&self, from: &Mailbox, message_id: &str) -> Result<Message, MailError> {
        let address = self
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address {
                value: self.to.clone(),
                reason: e.to_string(),
            })?;
        let domain = from.email.domain();
        Message::builder()
            .from(from.clone())
            .to(Mailbox::new(Some(self.to_name.clone()), address))
            .subject(&self.subject)
            .message_id(Some(format!("<{message_id}@{domain}>")))
            .multipart(MultiPart::alternative_plain_html(self.text(), self.html()))
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// A lifetime as Korean text: `30분`, `24시간`, `1시간 30분`, `14일`. Days only from two days
/// on: a link "good for 24 hours" reads better than "for a day".
pub fn korean_duration(duration: Duration) -> String {
    let minutes = duration.as_secs().div_ceil(60).max(1);
    let (days, hours, minutes) = if minutes >= 2 * 24 * 60 {
        (minutes / (24 * 60), minutes / 60 % 24, minutes % 60)
    } else {
        (0, minutes / 60, minutes % 60)
    };
    let parts: Vec<String> = [(days, "일"), (hours, "시간"), (minutes, "분")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    parts.join(" ")
}

/// The welcome mail, sent once an account's address is verified (by the notification service,
/// on `user.verified`); `start_url` is where the platform's web UI is.
pub fn welcome(to: &str, name: &str, role: Role, start_url: &str) -> Letter {
    let invitation = match role {
        Role::Worker => "가까운 곳의 하루 일자리를 찾아 오늘 바로 지원해 보세요.",
        Role::Employer => "일손이 필요한 날, 공고를 올리고 믿을 수 있는 분을 바로 만나 보세요.",
        Role::Admin => "관리자 계정으로 플랫폼을 돌볼 준비가 되었습니다.",
    };
    Letter {
        to: to.to_owned(),
        to_name: name.to_owned(),
        subject: format!("[원데이] {name}님, 환영합니다!"),
        paragraphs: vec![
            "이메일 인증이 완료되었습니다. 원데이의 회원이 되신 것을 환영합니다!".to_owned(),
            invitation.to_owned(),
        ],
        action: Some(Action {
            label: "원데이 시작하기".to_owned(),
            url: start_url.to_owned(),
        }),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(korean_duration(Duration::from_secs(30 * 60)), "30분");
        assert_eq!(korean_duration(Duration::from_secs(24 * 3600)), "24시간");
        assert_eq!(korean_duration(Duration::from_secs(14 * 86_400)), "14일");
        assert_eq!(korean_duration(Duration::from_secs(90 * 60)), "1시간 30분");
        assert_eq!(korean_duration(Duration::from_secs(5)), "1분");
    }

    #[test]
    fn html_is_escaped_and_text_carries_the_link() {
        let mut letter = welcome("a@b.kr", "<김>", Role::Worker, "https://oneday.example/?a=1&b=2");
        letter.note = Some("note".into());
        let html = letter.html();
        assert!(html.contains("&lt;김&gt;님"), "{html}");
        assert!(html.contains("a=1&amp;b=2"));
        assert!(!html.contains("<김>"));
        let text = letter.text();
        assert!(text.starts_with("<김>님, 안녕하세요."));
        assert!(text.contains("원데이 시작하기:\nhttps://oneday.example/?a=1&b=2"));
    }

    #[test]
    fn messages_are_multipart_with_a_stable_id() {
        let from: Mailbox = "원데이 <no-reply@oneday.example>".parse().unwrap();
        let letter = welcome("kim@example.com", "김원데", Role::Employer, "https://oneday.example");
        let message = letter.message(&from, "0190-id").unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <0190-id@oneday.example>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(letter.message(&from, "x").is_ok());
        let mut bad = letter;
        bad.to = "not an address".into();
        assert!(matches!(bad.message(&from, "x"), Err(MailError::Address { .. })));
    }
}
