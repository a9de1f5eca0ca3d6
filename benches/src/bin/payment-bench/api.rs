//! The little of the onetime API both benchmarks speak: accounts, jobs, the payment flow.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The password of every benchmark account.
const PASSWORD: &str = "correct horse 7";
/// The daily wage of every benchmark job: one worker's pay.
pub const PAY: i64 = 96_000;

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A registered account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub token: String,
}

/// An answer: the status and the JSON body (`null` when there is none).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The body when the status is `want`, else an error naming both.
    pub fn expect(self, want: u16) -> anyhow::Result<Value> {
        if self.status != want {
            bail!("answered {} (wanted {want}): {}", self.status, self.body);
        }
        Ok(self.body)
    }

    pub fn text(&self, field: &str) -> anyhow::Result<String> {
        self.body[field]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {field} in {}", self.body))
    }
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1_024)
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// One request; `Err` only when no answer came (connection refused or cut, timeout).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Result<Answer> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::Result<Answer> {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Result<Answer> {
        self.send(Method::GET, path, Some(token), None).await
    }

    /// Waits up to `patience` for `/ready`.
    pub async fn wait_ready(&self, patience: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Ok(answer) = self.send(Method::GET, "/ready", None, None).await
                && answer.status == 200
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{} never became ready", self.base);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Registers `email` as `role` (the server must not require verified addresses to pay).
    pub async fn register(&self, email: &str, role: &str) -> anyhow::Result<Account> {
        let body = json!({ "email": email, "password": PASSWORD, "name": "김원데", "role": role });
        let answer = self.send(Method::POST, "/auth/register", None, Some(&body)).await?;
        let body = answer.expect(201)?;
        Ok(Account {
            id: body["user"]["id"].as_str().context("user id")?.to_owned(),
            token: body["accessToken"].as_str().context("access token")?.to_owned(),
        })
    }

    /// Posts a job of `headcount` places at [`PAY`] a day that started an hour ago (so it can
    /// be completed at once); answers its id.
    pub async fn post_job(&self, employer: &Account, headcount: u32) -> anyhow::Result<String> {
        let at = |hours: i64| (OffsetDateTime::now_utc() + time::Duration::hours(hours)).format(&Rfc3339);
        let body = json!({
            "title": "물류센터 상하차",
            "description": "주간 근무, 안전화 지급",
            "category": "logistics",
            "wage": { "type": "daily", "amount": PAY },
            "location": { "address": "경기 이천시 마장면 프리미엄아울렛로 1", "lat": 37.2, "lng": 127.4 },
            "startsAt": at(-1)?,
            "endsAt": at(8)?,
            "headcount": headcount,
        });
        let answer = self.post("/jobs", &employer.token, &body).await?;
        Ok(answer.expect(201)?["id"].as_str().context("job id")?.to_owned())
    }
}

/// A random run id, so that accounts of earlier runs on the same data never collide.
pub fn run_id() -> String {
    format!(
        "{:x}",
        OffsetDateTime::now_utc().unix_timestamp_nanos() & 0xffff_ffff_ffff
    )
}
