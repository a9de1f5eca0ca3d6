//! The mails the user service sends, in Korean: address verification after registration and
//! the password reset link. (The welcome mail after verification is the notification
//! service's, on `user.verified`; its template is `onetime_common::mail::welcome`.)

use std::time::Duration;

use onetime_common::mail::{Action, Letter, Links, korean_duration};

use crate::domain::User;
use crate::tokens::SecretToken;

/// The web UI's `page` that takes `token` (`/verify-email`, `/reset-password`).
fn link(links: &Links, page: &str, token: &SecretToken) -> String {
    // Tokens are base64url: nothing in them needs escaping.
    links.page(&format!("{page}?token={}", token.as_str()))
}

pub fn verification(user: &User, links: &Links, token: &SecretToken, valid_for: Duration) -> Letter {
    Letter {
        to: user.email.clone(),
        to_name: user.name.clone(),
        subject: "[원데이] 이메일 주소를 인증해 주세요".to_owned(),
        paragraphs: vec![
            "원데이에 가입해 주셔서 감사합니다.".to_owned(),
            format!(
                "아래 버튼을 눌러 이메일 주소 인증을 마쳐 주세요. 이 링크는 {} 동안 한 번만 쓸 수 있습니다.",
                korean_duration(valid_for)
            ),
        ],
        action: Some(Action {
            label: "이메일 인증하기".to_owned(),
            url: link(links, "verify-email", token),
        }),
        note: Some("원데이에 가입한 적이 없다면 이 메일을 무시해 주세요.".to_owned()),
    }
}

pub fn password_reset(user: &User, links: &Links, token: &SecretToken, valid_for: Duration) -> Letter {
    Letter {
        to: user.email.clone(),
        to_name: user.name.clone(),
        subject: "[원데이] 비밀번호 재설정 안내".to_owned(),
        paragraphs: vec![
            "비밀번호 재설정 요청을 받았습니다.".to_owned(),
            format!(
                "아래 버튼을 눌러 새 비밀번호를 정해 주세요. 이 링크는 {} 동안 한 번만 쓸 수 있으며, \
                 비밀번호를 바꾸면 모든 기기에서 다시 로그인해야 합니다.",
                korean_duration(valid_for)
            ),
        ],
        action: Some(Action {
            label: "비밀번호 재설정하기".to_owned(),
            url: link(links, "reset-password", token),
        }),
        note: Some(
            "비밀번호 재설정을 요청하지 않았다면 이 메일을 무시해 주세요. 비밀번호는 바뀌지 않습니다.".to_owned(),
        ),
    }
}
