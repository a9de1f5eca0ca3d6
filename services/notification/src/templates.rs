//! What each notification says, in Korean, and which ids travel with it: one function per kind,
//! from the event payload alone (events carry job titles and amounts so that nothing here has to
//! ask another service).

use onetime_common::events::chat::ChatMessage;
use onetime_common::events::job::{ApplicationChanged, JobEnded, RejectionReason};
use onetime_common::events::payment::{PaymentCompleted, SettlementCreated, WithdrawalChanged};
use onetime_common::events::user::UserVerified;

use crate::domain::{Draft, Kind};

/// An amount of won as Koreans write it: `1,234,500원`.
pub fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped}원")
}

pub fn welcome(verified: &UserVerified) -> Draft {
    Draft::new(
        Kind::Welcome,
        "원데이에 오신 것을 환영합니다",
        format!(
            "{}님, 이메일 인증이 완료되었습니다. 지금 바로 원데이를 시작해 보세요.",
            verified.name
        ),
    )
}

pub fn application_submitted(changed: &ApplicationChanged) -> Draft {
    Draft::new(
        Kind::ApplicationSubmitted,
        "새 지원자가 있습니다",
        format!("'{}' 공고에 새 지원서가 도착했습니다.", changed.job_title),
    )
    .with("jobId", &changed.application.job_id)
    .with("applicationId", &changed.application.id)
}

pub fn application_accepted(changed: &ApplicationChanged) -> Draft {
    Draft::new(
        Kind::ApplicationAccepted,
        "채용이 확정되었습니다",
        format!(
            "축하합니다! '{}' 공고에 채용되었습니다. 근무 일정을 확인해 주세요.",
            changed.job_title
        ),
    )
    .with("jobId", &changed.application.job_id)
    .with("applicationId", &changed.application.id)
}

pub fn application_rejected(changed: &ApplicationChanged) -> Draft {
    let why = match changed.reason {
        Some(RejectionReason::JobFilled) => "모집 인원이 모두 채워져",
        Some(RejectionReason::JobCompleted) => "근무가 이미 끝나",
        Some(RejectionReason::JobCancelled) => "공고가 취소되어",
        Some(RejectionReason::Employer) | None => "아쉽게도",
    };
    Draft::new(
        Kind::ApplicationRejected,
        "지원 결과 안내",
        format!(
            "{why} '{}' 공고에 채용되지 않았습니다. 다른 일자리도 찾아보세요.",
            changed.job_title
        ),
    )
    .with("jobId", &changed.application.job_id)
    .with("applicationId", &changed.application.id)
}

pub fn job_cancelled(ended: &JobEnded) -> Draft {
    Draft::new(
        Kind::JobCancelled,
        "근무가 취소되었습니다",
        format!("채용되었던 '{}' 공고를 고용주가 취소했습니다.", ended.job.title),
    )
    .with("jobId", &ended.job.id)
}

pub fn payment_completed(paid: &PaymentCompleted) -> Draft {
    let about = if paid.job_title.is_empty() {
        "공고".to_owned()
    } else {
        format!("'{}' 공고", paid.job_title)
    };
    Draft::new(
        Kind::PaymentCompleted,
        "결제가 완료되었습니다",
        format!(
            "{about}의 결제 {}이(가) 완료되어 안전하게 보관 중입니다.",
            won(paid.amount)
        ),
    )
    .with("orderId", &paid.order_id)
    .with("jobId", &paid.job_id)
}

pub fn settlement_created(settled: &SettlementCreated) -> Draft {
    Draft::new(
        Kind::SettlementCreated,
        "급여가 정산되었습니다",
        format!(
            "'{}' 근무의 급여 {}이(가) 지갑에 입금되었습니다. (총액 {}, 수수료 {}, 세금 {})",
            settled.job_title,
            won(settled.net),
            won(settled.gross),
            won(settled.fee),
            won(settled.tax)
        ),
    )
    .with("jobId", &settled.job_id)
    .with("settlementId", &settled.settlement_id)
}

pub fn withdrawal_completed(withdrawal: &WithdrawalChanged) -> Draft {
    Draft::new(
        Kind::WithdrawalCompleted,
        "출금이 완료되었습니다",
        format!("{}이(가) 등록하신 계좌로 출금되었습니다.", won(withdrawal.amount)),
    )
    .with("withdrawalId", &withdrawal.withdrawal_id)
}

pub fn withdrawal_failed(withdrawal: &WithdrawalChanged) -> Draft {
    let reason = withdrawal
        .reason
        .as_deref()
        .map(|reason| format!(" (사유: {reason})"))
        .unwrap_or_default();
    Draft::new(
        Kind::WithdrawalFailed,
        "출금에 실패했습니다",
        format!(
            "{} 출금에 실패하여 금액이 지갑으로 돌아왔습니다.{reason}",
            won(withdrawal.amount)
        ),
    )
    .with("withdrawalId", &withdrawal.withdrawal_id)
}

pub fn chat_message(message: &ChatMessage) -> Draft {
    Draft::new(Kind::ChatMessage, "새 메시지가 도착했습니다", message.preview.clone())
        .with("roomId", &message.room_id)
        .with("jobId", &message.job_id)
        .with("messageId", &message.message_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_is_grouped_by_thousands() {
        assert_eq!(won(0), "0원");
        assert_eq!(won(900), "900원");
        assert_eq!(won(15_000), "15,000원");
        assert_eq!(won(1_234_500), "1,234,500원");
        assert_eq!(won(-3_300), "-3,300원");
    }
}
