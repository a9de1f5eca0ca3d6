//! The job service on the real bus, driven through its router as the gateway would (with the
//! caller's principal in the request): payment events from a `payment` source mark jobs funded,
//! every change appends the right event to the job store's outbox in its own transaction, and
//! other services read open jobs through the directory.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use onetime_common::auth::JwtKeys;
use onetime_common::auth::{Principal, Role};
use onetime_common::bus::{self, Bus, BusConfig, RunningBus};
use onetime_common::directory::{Clients, DirectoryError, JobDirectory, UserContact, UserDirectory};
use onetime_common::events::Envelope;
use onetime_common::events::job::{ApplicationChanged, CompletedBy, JobChanged, JobCompleted, JobEnded};
use onetime_common::events::payment::{self, PaymentCancelled, PaymentCompleted};
use onetime_common::service::{Background, Context, Sections};
use onetime_storage::{Store, StoreSpec, outbox};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;

const PAYMENT_STORE: StoreSpec = StoreSpec {
    name: payment::SOURCE,
    schema_version: 1,
    migrations: &[],
};

/// The user service's answers, as far as this crate's tests need them: every caller's email is
/// verified.
struct EveryoneVerified;

impl UserDirectory for EveryoneVerified {
    fn contact(&self, _id: &str) -> Result<Option<UserContact>, DirectoryError> {
        Ok(None)
    }

    fn may_transact(&self, _id: &str) -> Result<bool, DirectoryError> {
        Ok(true)
    }
}

struct Platform {
    router: Router,
    directory: Arc<dyn JobDirectory>,
    jobs: Store,
    payments: Store,
    bus: RunningBus,
    background: Background,
    _dir: tempfile::TempDir,
}

impl Platform {
    /// The job service with a payment source on the bus; the scheduler completes jobs as soon
    /// as they end, looking every 50 ms.
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Store::open(dir.path(), &onetime_job::STORE).unwrap();
        let payments = Store::open(dir.path(), &PAYMENT_STORE).unwrap();
        let background = Background::default();
        let sections = Sections(
            [(
                "jobs".to_owned(),
                json!({ "minimum_hourly_wage": 10_320, "auto_complete_after": "0s", "scheduler_interval": "50ms" }),
            )]
            .into(),
        );
        let mail = serde_json::from_value(json!({
            "transport": "file", "from": "원데이 <no-reply@oneday.local>", "dir": "",
            "retry_max_backoff_seconds": 60,
            "smtp": { "host": "localhost", "port": 587, "security": "starttls", "username": "",
                      "password": "", "timeout_seconds": 10 },
        }))
        .unwrap();
        let jwt = JwtKeys::new(
            b"job-bus-test-secret-job-bus-test",
            "onetime",
            "onetime",
            Duration::from_secs(60),
        );
        let clients = Arc::new(Clients::default());
        clients.provide_users(Arc::new(EveryoneVerified));
        let mut service = onetime_job::start(Context {
            store: Some(jobs.clone()),
            data_dir: dir.path(),
            config: &sections,
            mail: &mail,
            jwt: &jwt,
            clients: clients.clone(),
            background: &background,
        })
        .unwrap();
        let mut bus = Bus::new(BusConfig {
            batch_size: 64,
            max_backoff: Duration::from_millis(200),
            // Nothing consumes the job source here: keep its outbox for the test to read.
            prune_interval: Duration::from_secs(3600),
        });
        bus.add_source(onetime_common::events::job::SOURCE, &jobs);
        bus.add_source(payment::SOURCE, &payments);
        for (source, subscriber) in service.subscriptions.drain(..) {
            bus.subscribe(source, subscriber).unwrap();
        }
        Self {
            router: service.router,
            directory: clients.jobs().unwrap(),
            jobs,
            payments,
            bus: bus.start(),
            background,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        caller: Option<(&str, Role)>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let mut request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        if let Some((user_id, role)) = caller {
            request.extensions_mut().insert(Principal {
                user_id: user_id.to_owned(),
                role,
                session_id: None,
            });
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }

    /// Posts a job that started an hour ago and ends `ends_in` from now.
    async fn post_job(&self, employer: &str, ends_in: time::Duration, headcount: u32) -> Value {
        let now = OffsetDateTime::now_utc();
        let body = json!({
            "title": "물류센터 상하차",
            "category": "logistics",
            "wage": { "type": "hourly", "amount": 12_000 },
            "location": { "address": "경기 이천시", "lat": 37.27, "lng": 127.44 },
            "startsAt": rfc3339(now - time::Duration::hours(1)),
            "endsAt": rfc3339(now + ends_in),
            "headcount": headcount,
        });
        let (status, job) = self
            .call(Method::POST, "/jobs", Some((employer, Role::Employer)), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        job
    }

    /// The job store's outbox so far.
    fn events(&self) -> Vec<Envelope> {
        self.jobs
            .read_blocking(|tx| outbox::read_range(tx, 0, u64::MAX, usize::MAX))
            .unwrap()
    }

    fn events_of(&self, event_type: &str) -> Vec<Envelope> {
        self.events()
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }

    fn pay(&self, event_type: &str, payload: &impl serde::Serialize) {
        self.payments
            .write_blocking(|tx| bus::publish(tx, payment::SOURCE, event_type, payload))
            .unwrap();
    }

    async fn stop(self) {
        self.bus.stop().await;
        self.background.stop().await;
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_events_mark_the_job_funded_once_per_order() {
    let platform = Platform::start();
    let job = platform.post_job("employer-1", time::Duration::hours(3), 2).await;
    let id = job["id"].as_str().unwrap();
    assert_eq!(job["funded"], false);
    let path = format!("/jobs/{id}");
    let completed = PaymentCompleted {
        order_id: "order-1".into(),
        job_id: id.into(),
        employer_id: "employer-1".into(),
        amount: 2 * 24_000,
        approved_at: OffsetDateTime::now_utc(),
        job_title: "주말 카페".into(),
    };

    // Delivered twice, as at-least-once delivery may: it counts once.
    platform.pay(payment::PAYMENT_COMPLETED, &completed);
    platform.pay(payment::PAYMENT_COMPLETED, &completed);
    // A payment for a job this service does not know changes nothing and does not stall.
    platform.pay(
        payment::PAYMENT_COMPLETED,
        &PaymentCompleted {
            job_id: "no-such-job".into(),
            ..completed.clone()
        },
    );
    assert!(platform.bus.flush(Duration::from_secs(10)).await);
    let (_, funded) = platform.call(Method::GET, &path, None, None).await;
    assert_eq!(funded["funded"], true);
    let updates = platform.events_of("job.updated");
    assert_eq!(updates.len(), 1, "one job.updated for one funding change");
    let update: JobChanged = updates[0].payload().unwrap();
    assert!(update.job.funded);
    assert_eq!(updates[0].source, "job");

    // Funded terms are fixed: the escrowed amount was computed from them.
    let (status, body) = platform
        .call(
            Method::PUT,
            &path,
            Some(("employer-1", Role::Employer)),
            Some(json!({ "headcount": 5 })),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("terms_locked"))
    );

    platform.pay(
        payment::PAYMENT_CANCELLED,
        &PaymentCancelled {
            order_id: "order-1".into(),
            job_id: id.into(),
            employer_id: "employer-1".into(),
            amount: 48_000,
            cancel_reason: "plans changed".into(),
            job_title: "주말 카페".into(),
        },
    );
    assert!(platform.bus.flush(Duration::from_secs(10)).await);
    let (_, refunded) = platform.call(Method::GET, &path, None, None).await;
    assert_eq!(refunded["funded"], false);
    assert_eq!(platform.events_of("job.updated").len(), 2);
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_appends_its_event_with_a_self_sufficient_payload() {
    let platform = Platform::start();
    let job = platform.post_job("employer-1", time::Duration::hours(3), 2).await;
    let id = job["id"].as_str().unwrap();
    let owner = Some(("employer-1", Role::Employer));

    let created: JobChanged = platform.events_of("job.created")[0].payload().unwrap();
    let mut published = serde_json::to_value(&created.job).unwrap();
    let category_name = published.as_object_mut().unwrap().remove("categoryName");
    assert_eq!(published, job, "job.created carries the whole job");
    assert_eq!(
        category_name,
        Some(serde_json::json!("물류·배송")),
        "and its category's name"
    );

    let mut applications = Vec::new();
    for worker in ["w1", "w2", "w3", "w4"] {
        let (status, application) = platform
            .call(
                Method::POST,
                &format!("/jobs/{id}/apply"),
                Some((worker, Role::Worker)),
                Some(json!({ "message": "안녕하세요" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        applications.push(application["id"].as_str().unwrap().to_owned());
    }
    let submitted: ApplicationChanged = platform.events_of("application.submitted")[0].payload().unwrap();
    assert_eq!(
        (
            submitted.application.job_id.as_str(),
            submitted.application.worker_id.as_str(),
            submitted.employer_id.as_str(),
            submitted.job_title.as_str()
        ),
        (id, "w1", "employer-1", "물류센터 상하차")
    );

    let decide = async |application: &str, status: &str| {
        let path = format!("/jobs/{id}/applications/{application}");
        platform
            .call(Method::PUT, &path, owner, Some(json!({ "status": status })))
            .await
    };
    assert_eq!(decide(&applications[3], "rejected").await.0, StatusCode::OK);
    let (status, _) = platform
        .call(
            Method::DELETE,
            &format!("/applications/{}", applications[2]),
            Some(("w3", Role::Worker)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(decide(&applications[0], "accepted").await.0, StatusCode::OK);
    // Place 2 of 2: the job fills; nothing is pending any more.
    assert_eq!(decide(&applications[1], "accepted").await.0, StatusCode::OK);

    let rejected: ApplicationChanged = platform.events_of("application.rejected")[0].payload().unwrap();
    assert_eq!(
        rejected.reason,
        Some(onetime_common::events::job::RejectionReason::Employer)
    );
    assert_eq!(platform.events_of("application.withdrawn").len(), 1);
    assert_eq!(platform.events_of("application.accepted").len(), 2);
    let filled: JobEnded = platform.events_of("job.filled")[0].payload().unwrap();
    assert_eq!(filled.accepted_worker_ids, ["w1", "w2"]);
    assert_eq!(filled.job.status, onetime_common::events::job::JobStatus::Filled);

    let (status, done) = platform
        .call(Method::POST, &format!("/jobs/{id}/complete"), owner, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let completed: JobCompleted = platform.events_of("job.completed")[0].payload().unwrap();
    assert_eq!(completed.accepted_worker_ids, ["w1", "w2"]);
    // Started an hour ago, ends in three: a 4 h span, so a 30-minute break by default and
    // 3.5 paid hours × 12,000 won.
    assert_eq!(completed.pay_per_worker, 42_000);
    assert_eq!(completed.completed_by, CompletedBy::Owner);

    let other = platform.post_job("employer-1", time::Duration::hours(3), 1).await;
    let path = format!("/jobs/{}", other["id"].as_str().unwrap());
    assert_eq!(
        platform
            .call(Method::PUT, &path, owner, Some(json!({ "title": "야간 상하차" })))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        platform.call(Method::DELETE, &path, owner, None).await.0,
        StatusCode::NO_CONTENT
    );
    let updated: JobChanged = platform.events_of("job.updated")[0].payload().unwrap();
    assert_eq!(updated.job.title, "야간 상하차");
    let deleted: JobEnded = platform.events_of("job.deleted")[0].payload().unwrap();
    assert_eq!(deleted.job.status, onetime_common::events::job::JobStatus::Cancelled);

    // Every event came from the job source, in commit order.
    let events = platform.events();
    assert!(events.iter().all(|e| e.source == "job"));
    assert!(events.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_completes_a_job_that_ended_and_says_so() {
    let platform = Platform::start();
    let job = platform.post_job("employer-1", time::Duration::seconds(2), 1).await;
    let id = job["id"].as_str().unwrap();
    let (_, application) = platform
        .call(
            Method::POST,
            &format!("/jobs/{id}/apply"),
            Some(("w1", Role::Worker)),
            Some(json!({})),
        )
        .await;
    let (status, _) = platform
        .call(
            Method::PUT,
            &format!("/jobs/{id}/applications/{}", application["id"].as_str().unwrap()),
            Some(("employer-1", Role::Employer)),
            Some(json!({ "status": "accepted" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, now) = platform.call(Method::GET, &format!("/jobs/{id}"), None, None).await;
        if now["status"] == "completed" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not completed in time: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let completed: Vec<JobCompleted> = platform
        .events_of("job.completed")
        .iter()
        .map(|e| e.payload().unwrap())
        .collect();
    assert_eq!(completed.len(), 1, "completed once");
    assert_eq!(completed[0].completed_by, CompletedBy::Scheduler);
    assert_eq!(completed[0].accepted_worker_ids, ["w1"]);
    // 1 h 0 min 2 s at 12,000 won an hour, rounded down: 12,006 won.
    assert_eq!(job["payPerWorker"], 12_006);
    assert_eq!(completed[0].pay_per_worker, 12_006);
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_pages_through_open_jobs_in_id_order() {
    let platform = Platform::start();
    let mut open = Vec::new();
    for _ in 0..3 {
        let job = platform.post_job("employer-1", time::Duration::hours(3), 1).await;
        open.push(job["id"].as_str().unwrap().to_owned());
    }
    let closed = platform.post_job("employer-1", time::Duration::hours(3), 1).await;
    let (status, _) = platform
        .call(
            Method::PUT,
            &format!("/jobs/{}", closed["id"].as_str().unwrap()),
            Some(("employer-1", Role::Employer)),
            Some(json!({ "status": "closed" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let directory = platform.directory.clone();
    let pages = tokio::task::spawn_blocking(move || {
        let first = directory.open_jobs(None, 2).unwrap();
        let rest = directory.open_jobs(Some(&first[1].id), 2).unwrap();
        (first, rest)
    })
    .await
    .unwrap();
    let ids: Vec<String> = pages.0.iter().chain(&pages.1).map(|job| job.id.clone()).collect();
    assert_eq!(ids, open, "open jobs only, oldest id first, across pages");
    platform.stop().await;
}
