//! The email channel: a Korean letter per kind, in the platform's house layout, queued with the
//! shared mail machinery (`onetime_common::mail`) in the transaction that stores the
//! notification. Its sender, retries and `file`/SMTP transports are the shared ones.

use onetime_common::directory::UserContact;
use onetime_common::mail::{Action, Letter, Links, welcome};

use crate::domain::{Kind, Notification};

/// Where the notification leads: the job, the chat room, the wallet, or the inbox.
fn page_of(notification: &Notification) -> String {
    let id = |key: &str| notification.data.get(key).map(String::as_str);
    match (notification.kind, id("roomId"), id("jobId")) {
        (Kind::ChatMessage, Some(room), _) => format!("chat/{room}"),
        (Kind::SettlementCreated | Kind::WithdrawalCompleted | Kind::WithdrawalFailed, _, _) => "wallet".to_owned(),
        (_, _, Some(job)) => format!("jobs/{job}"),
        _ => "notifications".to_owned(),
    }
}

/// What the button of each kind's mail says.
fn action_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Welcome => "원데이 시작하기",
        Kind::ApplicationSubmitted => "지원자 확인하기",
        Kind::ApplicationAccepted => "근무 일정 확인하기",
        Kind::ApplicationRejected => "다른 일자리 찾아보기",
        Kind::JobCancelled => "공고 확인하기",
        Kind::PaymentCompleted => "결제 내역 보기",
        Kind::SettlementCreated | Kind::WithdrawalCompleted | Kind::WithdrawalFailed => "지갑 확인하기",
        Kind::ChatMessage => "메시지 확인하기",
        Kind::Announcement => "원데이에서 보기",
    }
}

/// The mail telling `to` about `notification`.
pub fn letter(notification: &Notification, to: &UserContact, links: &Links) -> Letter {
    if notification.kind == Kind::Welcome {
        return welcome(&to.email, &to.name, to.role, &links.page(""));
    }
    Letter {
        to: to.email.clone(),
        to_name: to.name.clone(),
        subject: format!("[원데이] {}", notification.title),
        paragraphs: vec![notification.body.clone()],
        action: Some(Action {
            label: action_label(notification.kind).to_owned(),
            url: links.page(&page_of(notification)),
        }),
        note: Some("알림 메일은 원데이 앱의 알림 설정에서 종류별로 끌 수 있습니다.".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use onetime_common::auth::Role;
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn letters_lead_to_what_they_are_about() {
        let contact = UserContact {
            id: "u1".into(),
            name: "김원데".into(),
            email: "kim@example.com".into(),
            phone: None,
            role: Role::Worker,
            email_verified: true,
        };
        let links = Links::new("https://oneday.example/");
        let mut notification = Notification {
            id: "n1".into(),
            user_id: "u1".into(),
            kind: Kind::ApplicationAccepted,
            title: "채용이 확정되었습니다".into(),
            body: "축하합니다!".into(),
            data: BTreeMap::from([("jobId".to_owned(), "j1".to_owned())]),
            read_at: None,
            created_at: OffsetDateTime::now_utc(),
        };
        let accepted = letter(&notification, &contact, &links);
        assert_eq!(accepted.subject, "[원데이] 채용이 확정되었습니다");
        assert_eq!(accepted.action.unwrap().url, "https://oneday.example/jobs/j1");

        notification.kind = Kind::Welcome;
        let welcome = letter(&notification, &contact, &links);
        assert!(welcome.subject.contains("환영합니다"), "{}", welcome.subject);
    }
}
