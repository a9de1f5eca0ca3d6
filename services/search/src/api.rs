//! Request and response shapes of the search endpoints.

use std::collections::BTreeMap;

use onetime_common::events::job::Job;
use serde::{Deserialize, Serialize};

/// One result: the job's fields, with highlights and the distance from the origin.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    #[serde(flatten)]
    pub job: Job,
    /// Field name → HTML fragment with matches in `<b>`.
    pub highlights: BTreeMap<String, String>,
    /// Kilometres from `lat`/`lng`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Facets {
    /// Category slug → matching open jobs (the `category` filter itself left out).
    pub category: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    pub items: Vec<SearchHit>,
    pub next_cursor: Option<String>,
    /// Matching open jobs in all.
    pub total: u64,
    pub facets: Facets,
    pub took_ms: f64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What has been typed so far: a prefix, a partial syllable or initial consonants.
    pub q: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    pub suggestions: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReindexStarted {
    pub task_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Running,
    Done,
    Failed,
}

/// A rebuild's progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReindexTask {
    pub task_id: String,
    pub state: TaskState,
    /// Jobs written into the new index so far.
    pub indexed: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<time::OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
