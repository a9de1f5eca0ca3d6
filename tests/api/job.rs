//! The job service over real HTTP: postings, lists, applications, decisions, completion (by the
//! owner and by the scheduler), categories, who may call what, races, and a restart.
//!
//! These apps run without rate limits: the limits are the gateway's subject, and some tests here
//! fire more requests at once than a real client would.

use std::time::Duration;

use futures::future::join_all;
use onetime_common::auth::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{TestApp, job_posting, problem, rfc3339, spawn_app_with, start, with};

async fn spawn_jobs_app() -> TestApp {
    spawn_app_with(|c| c.gateway.rate_limit.enabled = false).await
}

/// RFC 3339 for now + `offset`.
fn at(offset: time::Duration) -> String {
    (OffsetDateTime::now_utc() + offset).format(&Rfc3339).unwrap()
}

fn hours(n: i64) -> time::Duration {
    time::Duration::hours(n)
}

/// A valid job: tomorrow-ish, 9 hours (8 paid after the default 60-minute break) at 12,000 won
/// an hour, two places.
fn job_body() -> Value {
    job_posting(OffsetDateTime::now_utc() + hours(24), hours(9))
}

/// `job_body()` with `changes` put over it.
fn job_with(changes: Value) -> Value {
    with(job_body(), changes)
}

/// A job that started an hour ago and ends in two: it can be completed once someone is in.
fn running_job() -> Value {
    job_with(json!({ "startsAt": at(hours(-1)), "endsAt": at(hours(2)) }))
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body
}

async fn post_job(app: &TestApp, token: &str, body: &Value) -> Value {
    json_of(app.post_json_as("/jobs", token, body).await, 201).await
}

async fn apply(app: &TestApp, token: &str, job_id: &str) -> reqwest::Response {
    app.post_json_as(&format!("/jobs/{job_id}/apply"), token, &json!({}))
        .await
}

async fn decide(app: &TestApp, token: &str, job_id: &str, application_id: &str, status: &str) -> reqwest::Response {
    let path = format!("/jobs/{job_id}/applications/{application_id}");
    app.put_json_as(&path, token, &json!({ "status": status })).await
}

/// The tokens of `n` new worker accounts, signed up at once.
async fn workers(app: &TestApp, n: usize) -> Vec<String> {
    join_all((0..n).map(|_| async { app.signup("worker").await.token })).await
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn categories_start_with_the_korean_defaults_and_admins_add_more() {
    let app = spawn_jobs_app().await;
    let page = json_of(app.get("/categories").await, 200).await;
    let listed: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["slug"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("food-cafe", "음식점·카페"),
            ("logistics", "물류·배송"),
            ("retail", "매장관리·판매"),
            ("events", "행사·스태프"),
            ("office", "사무보조"),
            ("cleaning", "청소·미화"),
            ("construction", "공사·현장"),
            ("etc", "기타"),
        ]
    );
    assert_eq!(page["nextCursor"], Value::Null);

    let admin = app.admin().await.token;
    let added = app
        .post_json_as(
            "/categories",
            &admin,
            &json!({ "slug": "tutoring", "name": "과외·교육" }),
        )
        .await;
    assert_eq!(
        json_of(added, 201).await,
        json!({ "slug": "tutoring", "name": "과외·교육" })
    );
    let taken = app
        .post_json_as(
            "/categories",
            &admin,
            &json!({ "slug": "tutoring", "name": "다른 이름" }),
        )
        .await;
    assert_eq!(taken.status(), 409);
    assert_eq!(problem(taken).await["code"], "category_exists");
    let bad = app
        .post_json_as("/categories", &admin, &json!({ "slug": "Not A Slug", "name": "" }))
        .await;
    assert_eq!(bad.status(), 422);
    let body = problem(bad).await;
    assert!(
        body["errors"]["slug"].is_array() && body["errors"]["name"].is_array(),
        "{body}"
    );

    let page = json_of(app.get("/categories").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 9);
    assert_eq!(page["items"][8]["slug"], "tutoring", "added after the defaults");

    // Jobs can use it at once.
    let employer = app.signup("employer").await;
    post_job(&app, &employer.token, &job_with(json!({ "category": "tutoring" }))).await;
}

#[tokio::test]
async fn employers_post_jobs_that_anyone_can_read() {
    let app = spawn_jobs_app().await;
    let account = app.signup("employer").await;
    let employer = account.token;
    let body = job_body();
    let job = post_job(&app, &employer, &body).await;

    assert_eq!(uuid::Uuid::parse_str(&id_of(&job)).unwrap().get_version_num(), 7);
    assert_eq!(job["employerId"], account.id.as_str());
    for field in ["title", "description", "category", "wage", "location", "headcount"] {
        assert_eq!(job[field], body[field], "{field}");
    }
    for field in ["startsAt", "endsAt"] {
        let sent = OffsetDateTime::parse(body[field].as_str().unwrap(), &Rfc3339).unwrap();
        let kept = OffsetDateTime::parse(job[field].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(sent, kept, "{field}");
    }
    assert_eq!(job["status"], "open");
    assert_eq!(job["acceptedCount"], 0);
    assert_eq!(job["funded"], false);
    assert_eq!(
        (&job["breakMinutes"], &job["paidMinutes"], &job["payPerWorker"]),
        (&json!(60), &json!(480), &json!(96_000)),
        "9 h less the default 60-minute break, × 12,000 won"
    );
    assert_eq!(job["createdAt"], job["updatedAt"]);

    let anonymous = json_of(app.get(&format!("/jobs/{}", id_of(&job))).await, 200).await;
    assert_eq!(anonymous, job);
    let worker = app.signup("worker").await.token;
    assert_eq!(
        json_of(app.get_as(&format!("/jobs/{}", id_of(&job)), &worker).await, 200).await,
        job
    );

    let missing = app.get("/jobs/0190a5b4-0000-7000-8000-000000000000").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(missing).await["code"], "not_found");

    // Daily wages pay the wage, whatever the hours.
    let daily = job_with(json!({ "wage": { "type": "daily", "amount": 100_000 } }));
    assert_eq!(post_job(&app, &employer, &daily).await["payPerWorker"], 100_000);
}

#[tokio::test]
async fn invalid_jobs_are_refused_naming_each_field_and_change_nothing() {
    let app = spawn_jobs_app().await;
    let account = app.signup("employer").await;
    let employer = account.token;
    let cases = [
        (json!({ "title": "x" }), "title"),
        (json!({ "title": "가".repeat(101) }), "title"),
        (json!({ "description": "x".repeat(5_001) }), "description"),
        (json!({ "category": "nope" }), "category"),
        (json!({ "category": "Bad Slug" }), "category"),
        (json!({ "headcount": 0 }), "headcount"),
        (json!({ "headcount": 101 }), "headcount"),
        (
            json!({ "location": { "address": "서울", "lat": 91.0, "lng": 0.0 } }),
            "location",
        ),
        (
            json!({ "location": { "address": "서울", "lat": 0.0, "lng": -180.5 } }),
            "location",
        ),
        (
            json!({ "location": { "address": " ", "lat": 0.0, "lng": 0.0 } }),
            "location",
        ),
        (json!({ "endsAt": at(hours(23)) }), "endsAt"),
        (json!({ "startsAt": at(hours(24)), "endsAt": "$startsAt" }), "endsAt"),
        (json!({ "startsAt": at(hours(-3)), "endsAt": at(hours(-1)) }), "endsAt"),
        (json!({ "endsAt": at(hours(49)) }), "endsAt"),
        (json!({ "wage": { "type": "hourly", "amount": 0 } }), "wage"),
        (json!({ "wage": { "type": "weekly", "amount": 12_000 } }), "wage.type"),
        (json!({ "headcount": "two" }), "headcount"),
        (json!({ "startsAt": "tomorrow" }), "startsAt"),
        (json!({ "breakMinutes": -1 }), "breakMinutes"),
        (json!({ "breakMinutes": "half an hour" }), "breakMinutes"),
        (json!({ "acceptedCount": 2 }), ""),
    ];
    for (mut changes, field) in cases {
        if changes["endsAt"] == "$startsAt" {
            changes["endsAt"] = changes["startsAt"].clone();
        }
        let response = app.post_json_as("/jobs", &employer, &job_with(changes.clone())).await;
        assert_eq!(response.status(), 422, "{changes}");
        let body = problem(response).await;
        assert_eq!(body["code"], "validation_failed", "{changes}: {body}");
        if !field.is_empty() {
            assert!(
                body["errors"][field].is_array(),
                "{changes} should name `{field}`: {body}"
            );
        }
    }
    // Several bad fields are named at once.
    let response = app
        .post_json_as("/jobs", &employer, &job_with(json!({ "title": "", "headcount": 0 })))
        .await;
    let body = problem(response).await;
    assert!(body["errors"]["title"].is_array() && body["errors"]["headcount"].is_array());

    let malformed = app
        .client
        .post(app.url("/jobs"))
        .bearer_auth(&employer)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(malformed).await["code"], "malformed_json");
    let not_json = app
        .client
        .post(app.url("/jobs"))
        .bearer_auth(&employer)
        .body("title=x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);

    let mine = json_of(app.get(&format!("/jobs?employerId={}", account.id)).await, 200).await;
    assert_eq!(mine["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn wages_below_the_minimum_wage_are_refused() {
    let app = spawn_jobs_app().await;
    let employer = app.signup("employer").await.token;
    // Nine hours less the 60-minute break.
    let eight_hours = |wage: Value| job_with(json!({ "wage": wage }));

    let below = app
        .post_json_as(
            "/jobs",
            &employer,
            &eight_hours(json!({ "type": "hourly", "amount": 10_319 })),
        )
        .await;
    assert_eq!(below.status(), 422);
    let body = problem(below).await;
    assert_eq!(body["code"], "below_minimum_wage");
    assert!(body["detail"].as_str().unwrap().contains("10,320"), "{body}");
    post_job(
        &app,
        &employer,
        &eight_hours(json!({ "type": "hourly", "amount": 10_320 })),
    )
    .await;

    // A daily wage must cover 8 paid hours × 10,320 = 82,560 won.
    let below = app
        .post_json_as(
            "/jobs",
            &employer,
            &eight_hours(json!({ "type": "daily", "amount": 82_559 })),
        )
        .await;
    assert_eq!(problem(below).await["code"], "below_minimum_wage");
    post_job(
        &app,
        &employer,
        &eight_hours(json!({ "type": "daily", "amount": 82_560 })),
    )
    .await;

    // Lengthening a daily job is judged against the wage it keeps.
    let job = post_job(
        &app,
        &employer,
        &eight_hours(json!({ "type": "daily", "amount": 90_000 })),
    )
    .await;
    let path = format!("/jobs/{}", id_of(&job));
    let longer = app
        .put_json_as(&path, &employer, &json!({ "endsAt": at(hours(34)) }))
        .await;
    assert_eq!(problem(longer).await["code"], "below_minimum_wage");
    assert_eq!(json_of(app.get(&path).await, 200).await, job, "unchanged");
}

/// A job on `day` (Korea time) from `from` to `to` at `wage` won an hour, with `break_minutes`
/// when given.
fn shift(day: time::Date, from: (u8, u8), to: (u8, u8), wage: i64, break_minutes: Option<i64>) -> Value {
    let at = |(hour, minute): (u8, u8)| {
        let kst = time::macros::offset!(+9);
        rfc3339(day.with_hms(hour, minute, 0).unwrap().assume_offset(kst))
    };
    let mut body = job_with(json!({
        "startsAt": at(from), "endsAt": at(to), "wage": { "type": "hourly", "amount": wage },
    }));
    if let Some(minutes) = break_minutes {
        body["breakMinutes"] = minutes.into();
    }
    body
}

/// `(breakMinutes, paidMinutes, payPerWorker)` of a job.
fn pay_of(job: &Value) -> (i64, i64, i64) {
    let number = |field: &str| job[field].as_i64().unwrap_or_else(|| panic!("{field} in {job}"));
    (number("breakMinutes"), number("paidMinutes"), number("payPerWorker"))
}

#[tokio::test]
async fn break_time_follows_the_law_on_paid_time() {
    let app = spawn_jobs_app().await;
    let employer = app.signup("employer").await.token;
    let day = (OffsetDateTime::now_utc() + time::Duration::days(2)).date();

    // The contract's worked examples.
    for (from, to, wage, expected) in [
        ((9, 0), (18, 0), 12_000, (60, 480, 96_000)),
        ((9, 0), (16, 30), 10_333, (30, 420, 72_331)),
        ((10, 0), (13, 0), 12_000, (0, 180, 36_000)),
    ] {
        let job = post_job(&app, &employer, &shift(day, from, to, wage, None)).await;
        assert_eq!(pay_of(&job), expected, "{from:?}–{to:?} at {wage}");
        assert_eq!(
            json_of(app.get(&format!("/jobs/{}", id_of(&job))).await, 200).await,
            job
        );
    }

    // The default by span at its edges: under 4 h none, up to 8 h 30 thirty minutes, then sixty.
    for (to, default) in [((12, 59), 0), ((13, 0), 30), ((17, 29), 30), ((17, 30), 60)] {
        let job = post_job(&app, &employer, &shift(day, (9, 0), to, 12_000, None)).await;
        assert_eq!(pay_of(&job).0, default, "09:00–{to:?}");
    }

    // The law's rule is on paid time; a break is at most half the span.
    for (to, minutes, refusal) in [
        ((13, 0), 29, None),
        ((13, 0), 0, Some("break_too_short")),
        ((17, 29), 30, None),
        ((17, 30), 30, Some("break_too_short")),
        ((18, 0), 59, Some("break_too_short")),
        ((12, 0), 90, None),
        ((12, 0), 91, Some("break_too_long")),
    ] {
        let body = shift(day, (9, 0), to, 12_000, Some(minutes));
        let response = app.post_json_as("/jobs", &employer, &body).await;
        match refusal {
            None => assert_eq!(response.status(), 201, "09:00–{to:?} with {minutes}"),
            Some(code) => {
                assert_eq!(response.status(), 422, "09:00–{to:?} with {minutes}");
                let body = problem(response).await;
                assert_eq!(body["code"], code, "{body}");
                assert!(body["errors"]["breakMinutes"].is_array(), "{body}");
            }
        }
    }
    // 4 h with a 29-minute break: 3 h 31 paid, and paid for.
    let legal = post_job(&app, &employer, &shift(day, (9, 0), (13, 0), 12_000, Some(29))).await;
    assert_eq!(pay_of(&legal), (29, 211, 42_200));

    // A daily wage must cover the minimum wage for the paid hours: 8 × 10,320 = 82,560.
    let daily = |amount: i64| {
        with(
            shift(day, (9, 0), (18, 0), 0, None),
            json!({ "wage": { "type": "daily", "amount": amount } }),
        )
    };
    assert_eq!(
        pay_of(&post_job(&app, &employer, &daily(82_560)).await),
        (60, 480, 82_560)
    );
    let below = app.post_json_as("/jobs", &employer, &daily(82_559)).await;
    assert_eq!(problem(below).await["code"], "below_minimum_wage");

    // Edits: a new span without a break gets the default for it; a break alone is judged with
    // the span the job keeps.
    let path = format!("/jobs/{}", id_of(&legal));
    let at = |hour: u8| {
        rfc3339(
            day.with_hms(hour, 0, 0)
                .unwrap()
                .assume_offset(time::macros::offset!(+9)),
        )
    };
    let longer = json_of(
        app.put_json_as(&path, &employer, &json!({ "endsAt": at(18) })).await,
        200,
    )
    .await;
    assert_eq!(pay_of(&longer), (60, 480, 96_000));
    let short_break = app.put_json_as(&path, &employer, &json!({ "breakMinutes": 30 })).await;
    assert_eq!(problem(short_break).await["code"], "break_too_short");
    let long_break = json_of(
        app.put_json_as(&path, &employer, &json!({ "breakMinutes": 90 })).await,
        200,
    )
    .await;
    assert_eq!(pay_of(&long_break), (90, 450, 90_000));
}

#[tokio::test]
async fn posting_and_applying_need_the_email_verified_as_the_account_is_now() {
    let app = spawn_jobs_app().await;
    let employer = app.register("employer").await;
    let refused = app.post_json_as("/jobs", &employer.token, &job_body()).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(problem(refused).await["code"], "email_not_verified");
    assert_eq!(
        json_of(app.get("/jobs").await, 200).await["items"],
        json!([]),
        "nothing posted"
    );
    // The token issued before the verification works as soon as it is done.
    app.verify_email(&employer.email).await;
    let id = id_of(&post_job(&app, &employer.token, &job_body()).await);

    let worker = app.register("worker").await;
    let refused = apply(&app, &worker.token, &id).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(problem(refused).await["code"], "email_not_verified");
    // Browsing and search need no verified address.
    assert_eq!(app.get_as(&format!("/jobs/{id}"), &worker.token).await.status(), 200);
    assert_eq!(app.get_as("/search/jobs", &worker.token).await.status(), 200);
    app.verify_email(&worker.email).await;
    json_of(apply(&app, &worker.token, &id).await, 201).await;

    // A token of an account that does not exist is refused at the door.
    let ghost = app.token_for("no-such-account", Role::Employer);
    let refused = app.post_json_as("/jobs", &ghost, &job_body()).await;
    assert_eq!(problem(refused).await["code"], "session_ended");
}

#[tokio::test]
async fn without_the_requirement_unverified_accounts_post_and_apply() {
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.set("users.require_verified_email", false);
    })
    .await;
    let (employer, worker) = (app.register("employer").await, app.register("worker").await);
    let id = id_of(&post_job(&app, &employer.token, &job_body()).await);
    json_of(apply(&app, &worker.token, &id).await, 201).await;
    let ghost = app.token_for("no-such-account", Role::Employer);
    let refused = app.post_json_as("/jobs", &ghost, &job_body()).await;
    assert_eq!(refused.status(), 401, "an account is still needed");
}

#[tokio::test]
async fn the_minimum_wage_comes_from_the_configuration() {
    let app = spawn_app_with(|c| c.set("jobs.minimum_hourly_wage", 15_000)).await;
    let employer = app.signup("employer").await.token;
    let response = app.post_json_as("/jobs", &employer, &job_body()).await;
    let body = problem(response).await;
    assert_eq!(body["code"], "below_minimum_wage");
    assert!(body["detail"].as_str().unwrap().contains("15,000"), "{body}");
}

#[tokio::test]
async fn lists_filter_and_page_newest_first_and_hide_cancelled_jobs() {
    let app = spawn_jobs_app().await;
    let (employer_a, b) = (app.signup("employer").await, app.signup("employer").await.token);
    let a = employer_a.token.clone();
    let mut posted = Vec::new();
    for (token, category) in [
        (&a, "food-cafe"),
        (&a, "logistics"),
        (&b, "food-cafe"),
        (&a, "food-cafe"),
        (&b, "logistics"),
        (&a, "food-cafe"),
    ] {
        posted.push(id_of(
            &post_job(&app, token, &job_with(json!({ "category": category }))).await,
        ));
    }
    let closed = &posted[3];
    let cancelled = &posted[5];
    json_of(
        app.put_json_as(&format!("/jobs/{closed}"), &a, &json!({ "status": "closed" }))
            .await,
        200,
    )
    .await;
    assert_eq!(app.delete_as(&format!("/jobs/{cancelled}"), &a).await.status(), 204);

    let newest_first = |indexes: &[usize]| indexes.iter().rev().map(|&i| posted[i].clone()).collect::<Vec<_>>();
    let list = async |query: &str| ids(&json_of(app.get(&format!("/jobs{query}")).await, 200).await);
    assert_eq!(list("").await, newest_first(&[0, 1, 2, 3, 4]));
    assert_eq!(list("?category=food-cafe").await, newest_first(&[0, 2, 3]));
    assert_eq!(list("?status=open").await, newest_first(&[0, 1, 2, 4]));
    assert_eq!(list("?status=closed").await, newest_first(&[3]));
    let of_a = format!("?employerId={}", employer_a.id);
    assert_eq!(list(&of_a).await, newest_first(&[0, 1, 3]));
    assert_eq!(
        list(&format!("{of_a}&category=food-cafe&status=open")).await,
        newest_first(&[0])
    );
    assert_eq!(list("?category=food-cafe&status=open").await, newest_first(&[0, 2]));
    assert_eq!(list("?category=office").await, Vec::<String>::new());
    // Employer ids match exactly, whatever shape they have.
    assert_eq!(list("?employerId=someone-else").await, Vec::<String>::new());
    let upper = format!("?employerId={}", employer_a.id.to_uppercase());
    assert_eq!(list(&upper).await, Vec::<String>::new());
    assert_eq!(list("?status=completed").await, Vec::<String>::new());
    assert_eq!(app.get(&format!("/jobs/{cancelled}")).await.status(), 404);

    // Page through everything two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/jobs?limit=2&cursor={c}"),
            None => "/jobs?limit=2".to_owned(),
        };
        let page = json_of(app.get(&query).await, 200).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, newest_first(&[0, 1, 2, 3, 4]));

    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=many",
        "?cursor=not-a-cursor!",
        // Well-formed base64 of a text that names no job ("not-a-job-id").
        "?cursor=bm90LWEtam9iLWlk",
        "?status=cancelled",
        "?status=sleeping",
    ] {
        let response = app.get(&format!("/jobs{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(problem(response).await["code"], "invalid_query", "{bad}");
    }
    assert_eq!(
        json_of(app.get("/jobs?limit=100").await, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn owners_edit_close_reopen_and_cancel_their_jobs() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    let job = post_job(&app, &owner, &job_body()).await;
    let id = id_of(&job);
    let path = format!("/jobs/{id}");

    let edited = json_of(
        app.put_json_as(&path, &owner, &json!({ "title": "평일 카페 바리스타", "headcount": 3 }))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (edited["title"].as_str(), edited["headcount"].as_i64()),
        (Some("평일 카페 바리스타"), Some(3))
    );
    assert_eq!(edited["description"], job["description"], "what is absent stays");
    assert_ne!(edited["updatedAt"], job["updatedAt"]);
    assert_eq!(
        json_of(app.put_json_as(&path, &owner, &json!({})).await, 200).await,
        edited,
        "an empty edit changes nothing"
    );

    // Bad edits are refused whole.
    let bad = app
        .put_json_as(&path, &owner, &json!({ "title": "새 제목입니다", "headcount": 0 }))
        .await;
    assert_eq!(bad.status(), 422);
    let unknown = app.put_json_as(&path, &owner, &json!({ "status": "completed" })).await;
    assert_eq!(unknown.status(), 422);
    assert_eq!(json_of(app.get(&path).await, 200).await, edited);

    // Closing stops applications; reopening takes them again.
    let closed = json_of(
        app.put_json_as(&path, &owner, &json!({ "status": "closed" })).await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    let refused = apply(&app, &worker, &id).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(problem(refused).await["code"], "job_not_open");
    json_of(app.put_json_as(&path, &owner, &json!({ "status": "open" })).await, 200).await;
    let application = json_of(apply(&app, &worker, &id).await, 201).await;

    // Once someone is accepted, the terms are what they agreed to.
    json_of(decide(&app, &owner, &id, &id_of(&application), "accepted").await, 200).await;
    for terms in [
        json!({ "wage": { "type": "hourly", "amount": 20_000 } }),
        json!({ "endsAt": at(hours(30)) }),
        json!({ "headcount": 5 }),
    ] {
        let locked = app.put_json_as(&path, &owner, &terms).await;
        assert_eq!(locked.status(), 409, "{terms}");
        assert_eq!(problem(locked).await["code"], "terms_locked");
    }
    json_of(
        app.put_json_as(&path, &owner, &json!({ "description": "유니폼 지급" }))
            .await,
        200,
    )
    .await;

    // Cancelling keeps the job for history but nobody sees it any more.
    assert_eq!(app.delete_as(&path, &owner).await.status(), 204);
    assert_eq!(app.get(&path).await.status(), 404);
    assert_eq!(app.get_as(&path, &owner).await.status(), 404);
    assert_eq!(app.delete_as(&path, &owner).await.status(), 404);
    assert_eq!(
        app.put_json_as(&path, &owner, &json!({ "title": "다시" }))
            .await
            .status(),
        404
    );
    assert_eq!(ids(&json_of(app.get("/jobs").await, 200).await), Vec::<String>::new());
    // The worker's application stays in their history.
    let mine = json_of(app.get_as("/applications", &worker).await, 200).await;
    assert_eq!(mine["items"][0]["status"], "accepted");
}

#[tokio::test]
async fn completed_jobs_can_no_longer_be_changed() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    let id = id_of(&post_job(&app, &owner, &running_job()).await);
    let application = json_of(apply(&app, &worker, &id).await, 201).await;
    json_of(decide(&app, &owner, &id, &id_of(&application), "accepted").await, 200).await;
    json_of(
        app.post_json_as(&format!("/jobs/{id}/complete"), &owner, &json!({}))
            .await,
        200,
    )
    .await;

    let path = format!("/jobs/{id}");
    let edit = app.put_json_as(&path, &owner, &json!({ "title": "다른 제목" })).await;
    assert_eq!(edit.status(), 409);
    assert_eq!(problem(edit).await["code"], "job_not_editable");
    let cancel = app.delete_as(&path, &owner).await;
    assert_eq!(cancel.status(), 409);
    assert_eq!(problem(cancel).await["code"], "job_not_editable");
    let again = app
        .post_json_as(&format!("/jobs/{id}/complete"), &owner, &json!({}))
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(json_of(app.get(&path).await, 200).await["status"], "completed");
    assert_eq!(ids(&json_of(app.get("/jobs?status=completed").await, 200).await), [id]);
}

#[tokio::test]
async fn workers_apply_once_see_their_own_applications_and_withdraw_pending_ones() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let (account, other) = (app.signup("worker").await, app.signup("worker").await.token);
    let worker = account.token.clone();
    let first = id_of(&post_job(&app, &owner, &job_body()).await);
    let second = id_of(&post_job(&app, &owner, &job_body()).await);

    let response = app
        .post_json_as(
            &format!("/jobs/{first}/apply"),
            &worker,
            &json!({ "message": " 주말 가능합니다 " }),
        )
        .await;
    let application = json_of(response, 201).await;
    assert_eq!(application["jobId"], first.as_str());
    assert_eq!(application["workerId"], account.id.as_str());
    assert_eq!(application["status"], "pending");
    assert_eq!(application["message"], "주말 가능합니다");
    assert!(application["createdAt"].is_string());
    let again = apply(&app, &worker, &first).await;
    assert_eq!(again.status(), 409);
    assert_eq!(problem(again).await["code"], "already_applied");
    let too_long = app
        .post_json_as(
            &format!("/jobs/{second}/apply"),
            &worker,
            &json!({ "message": "x".repeat(1_001) }),
        )
        .await;
    assert_eq!(too_long.status(), 422);
    let later = json_of(apply(&app, &worker, &second).await, 201).await;
    assert_eq!(later["message"], Value::Null);
    assert_eq!(
        apply(&app, &worker, "0190a5b4-0000-7000-8000-000000000000")
            .await
            .status(),
        404
    );

    let mine = json_of(app.get_as("/applications", &worker).await, 200).await;
    assert_eq!(ids(&mine), [id_of(&later), id_of(&application)], "own, newest first");
    let theirs = json_of(app.get_as("/applications", &other).await, 200).await;
    assert_eq!(theirs["items"], json!([]));
    let paged = json_of(app.get_as("/applications?limit=1", &worker).await, 200).await;
    assert_eq!(ids(&paged), [id_of(&later)]);
    let cursor = paged["nextCursor"].as_str().unwrap();
    let rest = json_of(
        app.get_as(&format!("/applications?limit=1&cursor={cursor}"), &worker)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (ids(&rest), &rest["nextCursor"]),
        (vec![id_of(&application)], &Value::Null)
    );

    // Withdrawing: only one's own, only while pending; then one may apply again.
    let path = format!("/applications/{}", id_of(&application));
    assert_eq!(app.delete_as(&path, &other).await.status(), 404);
    assert_eq!(app.delete_as(&path, &worker).await.status(), 204);
    assert_eq!(app.delete_as(&path, &worker).await.status(), 404);
    let owners_view = json_of(app.get_as(&format!("/jobs/{first}/applications"), &owner).await, 200).await;
    assert_eq!(owners_view["items"], json!([]));
    let reapplied = json_of(apply(&app, &worker, &first).await, 201).await;
    json_of(decide(&app, &owner, &first, &id_of(&reapplied), "rejected").await, 200).await;
    let decided = app
        .delete_as(&format!("/applications/{}", id_of(&reapplied)), &worker)
        .await;
    assert_eq!(decided.status(), 409);
    assert_eq!(problem(decided).await["code"], "application_not_pending");
}

#[tokio::test]
async fn accepting_the_last_place_fills_the_job_and_rejects_the_rest() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let id = id_of(&post_job(&app, &owner, &job_body()).await);
    let mut applications = Vec::new();
    for worker in workers(&app, 4).await {
        applications.push(id_of(&json_of(apply(&app, &worker, &id).await, 201).await));
    }

    let accepted = json_of(decide(&app, &owner, &id, &applications[0], "accepted").await, 200).await;
    assert_eq!(accepted["status"], "accepted");
    let job = json_of(app.get(&format!("/jobs/{id}")).await, 200).await;
    assert_eq!(
        (job["acceptedCount"].as_i64(), job["status"].as_str()),
        (Some(1), Some("open"))
    );
    let twice = decide(&app, &owner, &id, &applications[0], "accepted").await;
    assert_eq!(twice.status(), 409);
    assert_eq!(problem(twice).await["code"], "application_not_pending");
    json_of(decide(&app, &owner, &id, &applications[1], "rejected").await, 200).await;
    json_of(decide(&app, &owner, &id, &applications[2], "accepted").await, 200).await;

    let job = json_of(app.get(&format!("/jobs/{id}")).await, 200).await;
    assert_eq!(
        (job["acceptedCount"].as_i64(), job["status"].as_str()),
        (Some(2), Some("filled"))
    );
    let late = decide(&app, &owner, &id, &applications[3], "accepted").await;
    assert_eq!(late.status(), 409);
    assert_eq!(problem(late).await["code"], "job_not_open");
    let newcomer = apply(&app, &app.signup("worker").await.token, &id).await;
    assert_eq!(problem(newcomer).await["code"], "job_not_open");

    let listed = json_of(app.get_as(&format!("/jobs/{id}/applications"), &owner).await, 200).await;
    let statuses: Vec<(String, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (id_of(a), a["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            (applications[3].clone(), "rejected"),
            (applications[2].clone(), "accepted"),
            (applications[1].clone(), "rejected"),
            (applications[0].clone(), "accepted"),
        ]
    );
    let unknown = decide(&app, &owner, &id, "0190a5b4-0000-7000-8000-000000000000", "accepted").await;
    assert_eq!(unknown.status(), 404);
    let bad = decide(&app, &owner, &id, &applications[3], "maybe").await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn fifty_simultaneous_accepts_on_three_places_accept_exactly_three() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let id = id_of(&post_job(&app, &owner, &job_with(json!({ "headcount": 3 }))).await);
    let applied = join_all(workers(&app, 50).await.into_iter().map(|token| {
        let id = id.clone();
        let app = &app;
        async move { id_of(&json_of(apply(app, &token, &id).await, 201).await) }
    }))
    .await;

    let statuses = join_all(applied.iter().map(|application| async {
        decide(&app, &owner, &id, application, "accepted")
            .await
            .status()
            .as_u16()
    }))
    .await;
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 3, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 409), "{statuses:?}");

    let job = json_of(app.get(&format!("/jobs/{id}")).await, 200).await;
    assert_eq!(
        (job["acceptedCount"].as_i64(), job["status"].as_str()),
        (Some(3), Some("filled"))
    );
    let listed = json_of(
        app.get_as(&format!("/jobs/{id}/applications?limit=100"), &owner).await,
        200,
    )
    .await;
    let count = |status: &str| {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == status)
            .count()
    };
    assert_eq!((count("accepted"), count("rejected"), count("pending")), (3, 47, 0));
}

#[tokio::test]
async fn a_hundred_simultaneous_applies_by_one_worker_make_one_application() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    let id = id_of(&post_job(&app, &owner, &job_body()).await);

    let statuses = join_all((0..100).map(|_| async { apply(&app, &worker, &id).await.status().as_u16() })).await;
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 99, "{statuses:?}");
    let mine = json_of(app.get_as("/applications", &worker).await, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let theirs = json_of(app.get_as(&format!("/jobs/{id}/applications"), &owner).await, 200).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn owners_complete_jobs_that_started_and_have_workers() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    let complete = async |id: &str| {
        app.post_json_as(&format!("/jobs/{id}/complete"), &owner, &json!({}))
            .await
    };

    let empty = id_of(&post_job(&app, &owner, &running_job()).await);
    let response = complete(&empty).await;
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "no_accepted_workers");

    let future = id_of(&post_job(&app, &owner, &job_body()).await);
    let application = json_of(apply(&app, &worker, &future).await, 201).await;
    json_of(
        decide(&app, &owner, &future, &id_of(&application), "accepted").await,
        200,
    )
    .await;
    let response = complete(&future).await;
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "job_not_started");

    // Two places, one taken, one applicant still waiting: completing turns them away.
    let running = id_of(&post_job(&app, &owner, &running_job()).await);
    let accepted = json_of(apply(&app, &worker, &running).await, 201).await;
    let waiting = json_of(apply(&app, &app.signup("worker").await.token, &running).await, 201).await;
    json_of(decide(&app, &owner, &running, &id_of(&accepted), "accepted").await, 200).await;
    let done = json_of(complete(&running).await, 200).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["payPerWorker"], 36_000, "3 h, no break, × 12,000 won");
    let listed = json_of(app.get_as(&format!("/jobs/{running}/applications"), &owner).await, 200).await;
    let waiting_now = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == waiting["id"])
        .unwrap()
        .clone();
    assert_eq!(waiting_now["status"], "rejected");
}

#[tokio::test]
async fn the_scheduler_completes_jobs_that_ended_long_enough_ago() {
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.set("jobs.auto_complete_after", "0s");
        c.set("jobs.scheduler_interval", "100ms");
    })
    .await;
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    // A job ending in three seconds: the only honest way to have one that has ended.
    let short = job_with(json!({ "startsAt": at(hours(-1)), "endsAt": at(time::Duration::seconds(3)) }));
    let staffed = id_of(&post_job(&app, &owner, &short).await);
    let unstaffed = id_of(&post_job(&app, &owner, &short).await);
    let application = json_of(apply(&app, &worker, &staffed).await, 201).await;
    json_of(
        decide(&app, &owner, &staffed, &id_of(&application), "accepted").await,
        200,
    )
    .await;
    assert_eq!(
        json_of(app.get(&format!("/jobs/{staffed}")).await, 200).await["status"],
        "open"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let completed = loop {
        let job = json_of(app.get(&format!("/jobs/{staffed}")).await, 200).await;
        if job["status"] == "completed" {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "not completed in time: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ended = OffsetDateTime::parse(completed["endsAt"].as_str().unwrap(), &Rfc3339).unwrap();
    let updated = OffsetDateTime::parse(completed["updatedAt"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(updated >= ended, "completed only after it ended");
    // Nobody was accepted for the other: there is nothing to settle, it stays as it was.
    let left = json_of(app.get(&format!("/jobs/{unstaffed}")).await, 200).await;
    assert_eq!(left["status"], "open");
}

#[tokio::test]
async fn the_scheduler_leaves_jobs_alone_within_the_grace_period() {
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.set("jobs.scheduler_interval", "100ms");
    })
    .await;
    assert_eq!(app.config.services["jobs"]["auto_complete_after"], "24h");
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    let short =
        job_with(json!({ "startsAt": at(hours(-1)), "endsAt": at(time::Duration::seconds(1)), "headcount": 1 }));
    let id = id_of(&post_job(&app, &owner, &short).await);
    let application = json_of(apply(&app, &worker, &id).await, 201).await;
    json_of(decide(&app, &owner, &id, &id_of(&application), "accepted").await, 200).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        json_of(app.get(&format!("/jobs/{id}")).await, 200).await["status"],
        "filled"
    );
}

/// One endpoint of the authorization table, and who calls it, in order, with the status each
/// must get: the call that succeeds and changes something comes last.
struct Row {
    method: &'static str,
    template: &'static str,
    body: Option<Value>,
    calls: &'static [(&'static str, u16)],
}

impl Row {
    fn new(
        method: &'static str,
        template: &'static str,
        body: Option<Value>,
        calls: &'static [(&'static str, u16)],
    ) -> Self {
        Self {
            method,
            template,
            body,
            calls,
        }
    }
}

/// Who may call what: every endpoint, by anonymous callers, a worker (the applicant), another
/// worker, the owner, another employer and an admin.
#[tokio::test]
async fn every_endpoint_answers_each_role_as_it_should() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let tokens = [
        ("anonymous", None),
        ("worker", Some(app.signup("worker").await.token)),
        ("other worker", Some(app.signup("worker").await.token)),
        ("other employer", Some(app.signup("employer").await.token)),
        ("admin", Some(app.admin().await.token)),
        ("owner", Some(owner.clone())),
    ];
    let token = |role: &str| tokens.iter().find(|(name, _)| *name == role).unwrap().1.clone();

    // `{job}` and `{application}` are a fresh job of the owner's that has started, and the
    // applicant's pending application to it.
    #[rustfmt::skip]
    let rows = [
        Row::new("GET", "/jobs", None,
            &[("anonymous", 200), ("worker", 200), ("other employer", 200), ("admin", 200), ("owner", 200)]),
        Row::new("POST", "/jobs", Some(job_body()),
            &[("anonymous", 401), ("worker", 403), ("admin", 403), ("other employer", 201), ("owner", 201)]),
        Row::new("GET", "/jobs/{job}", None,
            &[("anonymous", 200), ("worker", 200), ("other employer", 200), ("admin", 200), ("owner", 200)]),
        Row::new("PUT", "/jobs/{job}", Some(json!({ "title": "새 제목" })),
            &[("anonymous", 401), ("worker", 403), ("other employer", 403), ("admin", 403), ("owner", 200)]),
        Row::new("DELETE", "/jobs/{job}", None,
            &[("anonymous", 401), ("worker", 403), ("other employer", 403), ("admin", 403), ("owner", 204)]),
        Row::new("POST", "/jobs/{job}/apply", Some(json!({})),
            &[("anonymous", 401), ("owner", 403), ("other employer", 403), ("admin", 403), ("worker", 409),
              ("other worker", 201)]),
        Row::new("GET", "/jobs/{job}/applications", None,
            &[("anonymous", 401), ("worker", 403), ("other employer", 403), ("admin", 403), ("owner", 200)]),
        Row::new("PUT", "/jobs/{job}/applications/{application}", Some(json!({ "status": "accepted" })),
            &[("anonymous", 401), ("worker", 403), ("other employer", 403), ("admin", 403), ("owner", 200)]),
        // Nobody is accepted yet: even the owner cannot complete (see below for when it can).
        Row::new("POST", "/jobs/{job}/complete", Some(json!({})),
            &[("anonymous", 401), ("worker", 403), ("other employer", 403), ("admin", 403), ("owner", 409)]),
        Row::new("GET", "/applications", None,
            &[("anonymous", 401), ("owner", 403), ("admin", 403), ("other worker", 200), ("worker", 200)]),
        Row::new("DELETE", "/applications/{application}", None,
            &[("anonymous", 401), ("owner", 403), ("admin", 403), ("other worker", 404), ("worker", 204)]),
        Row::new("GET", "/categories", None,
            &[("anonymous", 200), ("worker", 200), ("other employer", 200), ("admin", 200), ("owner", 200)]),
        Row::new("POST", "/categories", Some(json!({ "slug": "tutoring", "name": "과외" })),
            &[("anonymous", 401), ("worker", 403), ("owner", 403), ("admin", 201)]),
    ];
    for Row {
        method,
        template,
        body,
        calls,
    } in rows
    {
        let job = id_of(&post_job(&app, &owner, &running_job()).await);
        let applicant = token("worker").unwrap();
        let application = id_of(&json_of(apply(&app, &applicant, &job).await, 201).await);
        let path = template.replace("{job}", &job).replace("{application}", &application);
        for &(role, expected) in calls {
            let mut request = app.client.request(method.parse().unwrap(), app.url(&path));
            if let Some(token) = token(role) {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            assert_eq!(status, expected, "{method} {template} as {role}");
            if status >= 400 {
                problem(response).await;
            }
        }
    }

    // Completing needs an accepted worker: then the owner, and only the owner, completes.
    let job = id_of(&post_job(&app, &owner, &running_job()).await);
    let application = id_of(&json_of(apply(&app, &token("worker").unwrap(), &job).await, 201).await);
    json_of(decide(&app, &owner, &job, &application, "accepted").await, 200).await;
    let path = format!("/jobs/{job}/complete");
    for (role, expected) in [("worker", 403), ("other employer", 403), ("admin", 403), ("owner", 200)] {
        let response = app.post_json_as(&path, &token(role).unwrap(), &json!({})).await;
        assert_eq!(response.status().as_u16(), expected, "complete as {role}");
    }

    // A bad token is refused everywhere, public routes included.
    let forged = app.get_as("/jobs", "not-a-token").await;
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn jobs_applications_and_categories_survive_a_restart() {
    let app = spawn_jobs_app().await;
    let owner = app.signup("employer").await.token;
    let worker = app.signup("worker").await.token;
    let admin = app.admin().await.token;
    let id = id_of(&post_job(&app, &owner, &job_body()).await);
    let application = json_of(apply(&app, &worker, &id).await, 201).await;
    json_of(decide(&app, &owner, &id, &id_of(&application), "accepted").await, 200).await;
    let cancelled = id_of(&post_job(&app, &owner, &job_body()).await);
    assert_eq!(app.delete_as(&format!("/jobs/{cancelled}"), &owner).await.status(), 204);
    json_of(
        app.post_json_as("/categories", &admin, &json!({ "slug": "tutoring", "name": "과외" }))
            .await,
        201,
    )
    .await;
    let job = json_of(app.get(&format!("/jobs/{id}")).await, 200).await;
    let applications = json_of(app.get_as("/applications", &worker).await, 200).await;
    let categories = json_of(app.get("/categories").await, 200).await;

    let (config, data_dir) = app.stop().await;
    let app = start(config, data_dir).await;

    assert_eq!(json_of(app.get(&format!("/jobs/{id}")).await, 200).await, job);
    assert_eq!(job["acceptedCount"], 1);
    assert_eq!(app.get(&format!("/jobs/{cancelled}")).await.status(), 404);
    assert_eq!(ids(&json_of(app.get("/jobs").await, 200).await), [id.as_str()]);
    assert_eq!(
        json_of(app.get_as("/applications", &worker).await, 200).await,
        applications
    );
    assert_eq!(
        json_of(app.get("/categories").await, 200).await,
        categories,
        "not seeded twice"
    );
    let again = apply(&app, &worker, &id).await;
    assert_eq!(problem(again).await["code"], "already_applied");
}

#[tokio::test]
async fn the_openapi_document_covers_every_job_endpoint() {
    let app = spawn_jobs_app().await;
    let doc = json_of(app.get("/openapi.json").await, 200).await;
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/jobs", &["get", "post"][..]),
        ("/jobs/{id}", &["get", "put", "delete"]),
        ("/jobs/{id}/apply", &["post"]),
        ("/jobs/{id}/applications", &["get"]),
        ("/jobs/{id}/applications/{applicationId}", &["put"]),
        ("/jobs/{id}/complete", &["post"]),
        ("/applications", &["get"]),
        ("/applications/{id}", &["delete"]),
        ("/categories", &["get", "post"]),
    ] {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path} is documented");
        }
    }
    for schema in ["Job", "Application", "NewJob", "JobPatch"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
