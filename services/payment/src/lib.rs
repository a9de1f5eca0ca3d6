//! The payment service: employers pay for a job through the provider (Toss Payments, or the
//! offline sandbox), the money waits in escrow, and once the job is completed each accepted
//! worker is settled into a wallet, less the fee and the taxes withheld; the unused part goes
//! back to the employer. Workers withdraw to bank accounts. Every won is in a double-entry
//! ledger. It owns `payments.redb`.
//!
//! Publishes, through the outbox of its store (bus source `payment`; payloads in
//! `onetime_common::events::payment`): `payment.completed`, `payment.cancelled`,
//! `settlement.created`, `withdrawal.completed`, `withdrawal.failed`.
//!
//! Consumes `job.completed` (settlement) and `job.deleted` (refund of a funded job) from the job
//! source. Reads jobs (`JobDirectory`) and whether a user may transact (`UserDirectory`).
//!
//! Runs in the background: the refunder (refunds queued by cancellations and settlements) and
//! the payout worker (queued withdrawals). Refunds the provider refuses for good wait for an
//! operator: [`refused_refunds`], [`retry_refund`], [`record_refund_outside`] (`onetime refunds`).

mod api;
mod config;
mod domain;
mod error;
mod events;
#[cfg(test)]
mod fixtures;
mod ledger;
mod orders;
mod payout;
mod provider;
mod refund_desk;
mod refunds;
mod routes;
mod settlement;
mod store;
mod wallet;
mod withdrawals;
mod withholding;

use std::sync::Arc;

use onetime_common::bus::StoreSubscriber;
use onetime_common::service::{Context, Sections, Service, ServiceDef, ServiceDetails, ServiceStatus, StartError};
use onetime_storage::{StorageError, Store, StoreSpec};
use utoipa::OpenApi;

pub use config::PaymentsConfig;
pub use domain::{Order, Refund, RefusedRefund};
pub use error::PaymentError;
pub use ledger::LedgerReport;
pub use refund_desk::{record_outside as record_refund_outside, refused as refused_refunds, retry as retry_refund};

use crate::config::ProviderKind;
use crate::events::JobEvents;
use crate::orders::Orders;
use crate::payout::sandbox::SandboxPayouts;
use crate::provider::PaymentProvider;
use crate::provider::sandbox::Sandbox;
use crate::provider::toss::{Toss, TossSettings};
use crate::refunds::Refunder;
use crate::routes::Payments;
use crate::settlement::SettlementRules;
use crate::withdrawals::{Payouts, Withdrawals};

pub const NAME: &str = "payment";

/// The payment store: `payments.redb`.
pub const STORE: StoreSpec = store::SPEC;

/// The config section the service owns.
const SECTION: &str = "payments";

pub const SERVICE: ServiceDef = ServiceDef {
    name: NAME,
    store: Some(STORE),
    config_sections: &[SECTION],
    check_config,
    start,
};

pub fn check_config(sections: &Sections) -> Result<(), StartError> {
    let config: PaymentsConfig = sections.get(SECTION)?;
    config.check().map_err(StartError::Config)
}

pub fn start(ctx: Context<'_>) -> Result<Service, StartError> {
    let config: PaymentsConfig = ctx.config.get(SECTION)?;
    config.check().map_err(StartError::Config)?;
    let store = ctx.store()?;

    let sandbox = (config.provider == ProviderKind::Sandbox).then(|| Arc::new(Sandbox::new(store.clone())));
    let provider: Arc<dyn PaymentProvider> = match &sandbox {
        Some(sandbox) => sandbox.clone(),
        None => Arc::new(
            Toss::new(&TossSettings {
                base_url: config.toss_base_url.clone(),
                secret_key: config.secret_key.clone(),
                timeout: config.timeout(),
                retries: config.retries,
            })
            .map_err(|e| StartError::Other(format!("payments: cannot build the Toss client: {e}")))?,
        ),
    };

    let refunder = Arc::new(Refunder::new(store.clone(), provider.clone()));
    ctx.background.spawn(refunder.clone().run(ctx.background.stopping()));
    let payouts = Arc::new(Payouts::new(
        store.clone(),
        Arc::new(SandboxPayouts::new(config.sandbox_payout_delay())),
    ));
    ctx.background.spawn(payouts.clone().run(ctx.background.clone()));

    let job_events = JobEvents {
        rules: SettlementRules {
            worker_fee: config.worker_fee_bps,
            withholding: config.withholding,
        },
        refunds: refunder.wake(),
    };
    let subscriber = StoreSubscriber::new(store.clone(), job_events);

    let payments = Arc::new(Payments {
        store: store.clone(),
        orders: Orders::new(
            store.clone(),
            provider,
            sandbox,
            refunder,
            ctx.clients.clone(),
            config.employer_fee_bps,
            config.client_key.clone(),
        ),
        withdrawals: Withdrawals::new(
            store.clone(),
            ctx.clients.clone(),
            config.min_withdrawal,
            payouts.clone(),
        ),
    });
    let status = PaymentStatus { store };
    Ok(Service::new(routes::router(payments), routes::PaymentDoc::openapi())
        .subscribe(onetime_common::events::job::SOURCE, Arc::new(subscriber))
        .with_status(Arc::new(status)))
}

/// Recomputes every balance of the ledger in `store` from its postings and checks that each
/// transaction sums to zero, the stored balances match and no account is below zero where it
/// may not be (`onetime ledger check`).
pub fn ledger_check(store: &Store) -> Result<LedgerReport, StorageError> {
    ledger::check(store)
}

/// `/health`: the work queues, the refunds waiting for an operator, and what settlement and the
/// webhook could not do.
struct PaymentStatus {
    store: Store,
}

impl ServiceStatus for PaymentStatus {
    fn health(&self) -> ServiceDetails {
        let mut details = ServiceDetails::default();
        let read = self.store.read_blocking(|tx| {
            Ok::<_, StorageError>([
                ("payoutQueue", store::payout_queue_len(tx)?),
                ("refundQueue", store::refund_queue_len(tx)?),
                ("refusedRefunds", store::refused_refund_len(tx)?),
                ("unfundedCompletions", store::counter(tx, store::UNFUNDED_COMPLETIONS)?),
                (
                    "uncoveredProviderRefunds",
                    store::counter(tx, store::UNCOVERED_PROVIDER_REFUNDS)?,
                ),
            ])
        });
        match read {
            Ok(fields) => {
                for (name, value) in fields {
                    details.fields.insert(name.into(), value.into());
                }
            }
            Err(error) => {
                details.degraded = true;
                details.fields.insert("error".into(), error.to_string().into());
            }
        }
        details
    }
}
