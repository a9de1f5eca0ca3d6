//! The payment service's HTTP handlers and their OpenAPI description. Each one extracts, calls
//! a use case, and shapes the answer.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as JsonBody, Router};
use onetime_common::ApiError;
use onetime_common::auth::{Authorized, Principal, Role, roles};
use onetime_common::error::Problem;
use onetime_common::extract::{Json, Query};
use onetime_common::paging::{Page, PageQuery};
use onetime_storage::Store;
use utoipa::OpenApi;

use crate::api::{
    BankRequest, BankView, CancelPaymentRequest, CheckoutRequest, CheckoutResponse, ConfirmPaymentRequest,
    CreateOrderRequest, OrderPayment, OrderResponse, PaymentResponse, SettlementView, TossWebhook, TossWebhookData,
    WalletResponse, WalletTransaction, WithdrawRequest, WithdrawalAccepted, WithdrawalView,
};
use crate::domain::{OrderStatus, TaxBreakdown, WalletEntryKind, WithdrawalStatus};
use crate::orders::Orders;
use crate::store::SettlementsOf;
use crate::withdrawals::Withdrawals;
use crate::{settlement, wallet};

/// What the handlers share.
pub struct Payments {
    pub store: Store,
    pub orders: Orders,
    pub withdrawals: Withdrawals,
}

type Shared = State<Arc<Payments>>;
type Answer<T> = Result<JsonBody<T>, ApiError>;

pub fn router(payments: Arc<Payments>) -> Router {
    Router::new()
        .route("/payments/create", post(create_order))
        .route("/payments/sandbox/checkout", post(sandbox_checkout))
        .route("/payments/confirm", post(confirm))
        .route("/payments/cancel", post(cancel))
        .route("/payments/webhooks/toss", post(toss_webhook))
        .route("/payments/orders/{order_id}", get(order))
        .route("/payments/wallet", get(own_wallet))
        .route("/payments/wallet/transactions", get(wallet_transactions))
        .route("/payments/withdraw", post(withdraw))
        .route("/payments/withdrawals", get(withdrawals))
        .route("/payments/settlements", get(settlements))
        .with_state(payments)
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create_order,
        sandbox_checkout,
        confirm,
        cancel,
        toss_webhook,
        order,
        own_wallet,
        wallet_transactions,
        withdraw,
        withdrawals,
        settlements
    ),
    components(schemas(
        CreateOrderRequest,
        CheckoutRequest,
        CheckoutResponse,
        ConfirmPaymentRequest,
        PaymentResponse,
        CancelPaymentRequest,
        TossWebhook,
        TossWebhookData,
        OrderResponse,
        OrderPayment,
        OrderStatus,
        WalletResponse,
        WalletTransaction,
        WalletEntryKind,
        WithdrawRequest,
        BankRequest,
        WithdrawalAccepted,
        WithdrawalView,
        BankView,
        WithdrawalStatus,
        SettlementView,
        TaxBreakdown
    )),
    tags((name = "payment", description = "Orders paid through Toss Payments, escrow, settlement, wallets and withdrawals"))
)]
pub struct PaymentDoc;

/// Makes the order for a job, computed from the job: its pay per worker × headcount, plus the
/// employer fee. A job has one open order: asking again answers it (200) unless the job's pay
/// changed, which makes a new one (201).
#[utoipa::path(post, path = "/payments/create", tag = "payment", request_body = CreateOrderRequest, security(("bearer" = [])), responses(
    (status = 201, description = "A new `READY` order", body = OrderResponse),
    (status = 200, description = "The job's open `READY` order", body = OrderResponse),
    (status = 403, description = "`forbidden`: not an employer, or not the job's owner; `email_not_verified`", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`already_paid`; `job_not_open`: the job is completed or cancelled", body = Problem, content_type = "application/problem+json"),
))]
async fn create_order(
    State(payments): Shared,
    caller: Authorized<roles::Employer>,
    Json(request): Json<CreateOrderRequest>,
) -> Result<(StatusCode, JsonBody<OrderResponse>), ApiError> {
    let (order, created) = payments.orders.create(&caller, request.job_id).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, JsonBody(OrderResponse::new(order, &payments.orders.client_key))))
}

/// Sandbox only: what Toss's checkout hands the client, a `paymentKey` for the order. With
/// `simulate`, the confirm of that key fails with that provider code.
#[utoipa::path(post, path = "/payments/sandbox/checkout", tag = "payment", request_body = CheckoutRequest, security(("bearer" = [])), responses(
    (status = 200, description = "The payment key", body = CheckoutResponse),
    (status = 403, description = "Not an employer", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such order of yours, or the provider is not the sandbox", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`order_not_payable`: the order is not `READY`", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: `simulate` is not a code", body = Problem, content_type = "application/problem+json"),
))]
async fn sandbox_checkout(
    State(payments): Shared,
    caller: Authorized<roles::Employer>,
    Json(request): Json<CheckoutRequest>,
) -> Answer<CheckoutResponse> {
    let simulate = request.simulate()?;
    let payment_key = payments.orders.checkout(&caller, request.order_id, simulate).await?;
    Ok(JsonBody(CheckoutResponse { payment_key }))
}

/// Confirms the payment with the provider; its amount goes into escrow for the job. Confirming
/// again answers the same payment, credited once.
#[utoipa::path(post, path = "/payments/confirm", tag = "payment", request_body = ConfirmPaymentRequest, security(("bearer" = [])), responses(
    (status = 200, description = "Paid", body = PaymentResponse),
    (status = 402, description = "The provider refused; `code` is the provider's (e.g. `REJECT_CARD_COMPANY`)", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an employer; `email_not_verified`", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such order of yours; `payment_not_found`: the provider never issued this key for it", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`already_paid` with another key; `order_not_payable`", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`amount_mismatch`: not the order's amount", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "`provider_unavailable`: the outcome could not be learnt; confirm again", body = Problem, content_type = "application/problem+json"),
))]
async fn confirm(
    State(payments): Shared,
    caller: Authorized<roles::Employer>,
    Json(request): Json<ConfirmPaymentRequest>,
) -> Answer<PaymentResponse> {
    let order = payments.orders.confirm(&caller, request.parse()?).await?;
    PaymentResponse::of(&order)
        .map(JsonBody)
        .ok_or_else(|| ApiError::internal("a confirmed order has no payment"))
}

/// Cancels the payment of a job before settlement and refunds it in full.
#[utoipa::path(post, path = "/payments/cancel", tag = "payment", request_body = CancelPaymentRequest, security(("bearer" = [])), responses(
    (status = 200, description = "The order, `CANCELED`", body = OrderResponse),
    (status = 402, description = "The provider refused the refund for good (`code` is the provider's): the money stays in escrow and the refund waits for an operator (`onetime refunds`); cancelling again answers the same", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an employer", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such order of yours", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`already_settled`; `order_not_paid`", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "`provider_unavailable`: the refund is queued and made later", body = Problem, content_type = "application/problem+json"),
))]
async fn cancel(
    State(payments): Shared,
    caller: Authorized<roles::Employer>,
    Json(request): Json<CancelPaymentRequest>,
) -> Answer<OrderResponse> {
    let reason = request.reason()?;
    let order = payments.orders.cancel(&caller, request.order_id, reason).await?;
    Ok(JsonBody(OrderResponse::new(order, &payments.orders.client_key)))
}

/// Toss's webhook. The body only names the order; the payment is looked up at the provider and
/// the order follows what the provider says: a payment done, refunds made at the provider (the
/// Toss console), each recorded once however often the webhook comes.
#[utoipa::path(post, path = "/payments/webhooks/toss", tag = "payment", request_body = TossWebhook, responses(
    (status = 200, description = "Looked at"),
    (status = 503, description = "`provider_unavailable`: Toss retries the webhook", body = Problem, content_type = "application/problem+json"),
))]
async fn toss_webhook(State(payments): Shared, Json(hint): Json<TossWebhook>) -> Result<StatusCode, ApiError> {
    tracing::info!(event_type = ?hint.event_type, order_id = hint.data.order_id, "Toss webhook");
    payments.orders.follow_provider(hint.data.order_id).await?;
    Ok(StatusCode::OK)
}

/// An order: its employer's, or any for an administrator.
#[utoipa::path(get, path = "/payments/orders/{order_id}", tag = "payment", params(("order_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "The order", body = OrderResponse),
    (status = 403, description = "A worker", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such order of yours", body = Problem, content_type = "application/problem+json"),
))]
async fn order(State(payments): Shared, caller: Principal, Path(order_id): Path<String>) -> Answer<OrderResponse> {
    if caller.role == Role::Worker {
        return Err(ApiError::forbidden("only employers and administrators have orders"));
    }
    let order = payments.orders.order(&caller, order_id).await?;
    Ok(JsonBody(OrderResponse::new(order, &payments.orders.client_key)))
}

/// The caller's wallet: the withdrawable balance, withdrawals under way, the last 50 changes.
#[utoipa::path(get, path = "/payments/wallet", tag = "payment", security(("bearer" = [])), responses(
    (status = 200, description = "The wallet", body = WalletResponse),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn own_wallet(State(payments): Shared, caller: Principal) -> Answer<WalletResponse> {
    let wallet = wallet::wallet(&payments.store, caller.user_id).await?;
    Ok(JsonBody(wallet.into()))
}

/// The caller's wallet changes, newest first, paged.
#[utoipa::path(get, path = "/payments/wallet/transactions", tag = "payment", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of changes", body = Page<WalletTransaction>),
    (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
))]
async fn wallet_transactions(
    State(payments): Shared,
    caller: Principal,
    Query(page): Query<PageQuery>,
) -> Answer<Page<WalletTransaction>> {
    let page = wallet::entries(&payments.store, caller.user_id, page.parse()?).await?;
    Ok(JsonBody(page.map(Into::into)))
}

/// Withdraws to a bank account: the amount leaves the balance at once and is paid out shortly.
#[utoipa::path(post, path = "/payments/withdraw", tag = "payment", request_body = WithdrawRequest, security(("bearer" = [])), responses(
    (status = 202, description = "Requested", body = WithdrawalAccepted),
    (status = 403, description = "Not a worker; `email_not_verified`", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`insufficient_balance`", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: below `min_withdrawal`, or a bad bank account", body = Problem, content_type = "application/problem+json"),
))]
async fn withdraw(
    State(payments): Shared,
    caller: Authorized<roles::Worker>,
    Json(request): Json<WithdrawRequest>,
) -> Result<(StatusCode, JsonBody<WithdrawalAccepted>), ApiError> {
    let (amount, bank) = request.parse()?;
    let withdrawal = payments.withdrawals.request(&caller, amount, bank).await?;
    let accepted = WithdrawalAccepted {
        withdrawal_id: withdrawal.id,
        status: withdrawal.status,
    };
    Ok((StatusCode::ACCEPTED, JsonBody(accepted)))
}

/// The caller's withdrawals, newest first, paged.
#[utoipa::path(get, path = "/payments/withdrawals", tag = "payment", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of withdrawals", body = Page<WithdrawalView>),
    (status = 403, description = "Not a worker", body = Problem, content_type = "application/problem+json"),
))]
async fn withdrawals(
    State(payments): Shared,
    caller: Authorized<roles::Worker>,
    Query(page): Query<PageQuery>,
) -> Answer<Page<WithdrawalView>> {
    let page = payments.withdrawals.list(&caller, page.parse()?).await?;
    Ok(JsonBody(page.map(Into::into)))
}

/// Settlements, newest first, paged: a worker's own; an employer's, of their jobs.
#[utoipa::path(get, path = "/payments/settlements", tag = "payment", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of settlements", body = Page<SettlementView>),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn settlements(
    State(payments): Shared,
    caller: Principal,
    Query(page): Query<PageQuery>,
) -> Answer<Page<SettlementView>> {
    let of = match caller.role {
        Role::Worker => SettlementsOf::Worker(caller.user_id),
        Role::Employer | Role::Admin => SettlementsOf::Employer(caller.user_id),
    };
    let page = settlement::list(&payments.store, of, page.parse()?).await?;
    Ok(JsonBody(page.map(Into::into)))
}
