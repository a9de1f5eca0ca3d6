//! `onetime admin create`: administrator accounts, which nobody can register over HTTP.
//! Through the running instance when one serves the data directory, else on the store directly.

use anyhow::anyhow;
use onetime_common::ApiError;
use onetime_storage::Store;
use onetime_user::{NewAdmin, UserError, UsersConfig};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::control::{self, Request};
use crate::services::Stores;

/// What the command reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedAdmin {
    pub id: String,
    pub email: String,
}

pub async fn create(config: &Config, admin: NewAdmin) -> anyhow::Result<CreatedAdmin> {
    let request = Request::CreateAdmin {
        email: admin.email.clone(),
        password: admin.password.clone(),
        name: admin.name.clone(),
    };
    if let Some(answer) = control::ask(&config.data_dir, &request).await {
        return answer;
    }
    let data_dir = onetime_storage::DataDir::lock(&config.data_dir)?;
    let stores = Stores::open(data_dir.path())?;
    create_in(&stores.users, &config.users, admin).await
}

/// Creates the administrator in the user store.
pub async fn create_in(users: &Store, config: &UsersConfig, admin: NewAdmin) -> anyhow::Result<CreatedAdmin> {
    let user = onetime_user::create_admin(users, config, admin)
        .await
        .map_err(explain)?;
    tracing::info!(id = %user.id, email = %user.email, "administrator created");
    Ok(CreatedAdmin {
        id: user.id,
        email: user.email,
    })
}

/// The API's wording of a refusal, with every invalid field, for a person at a terminal.
fn explain(error: UserError) -> anyhow::Error {
    let problem = ApiError::from(error);
    let mut message = problem.detail.clone();
    for (field, reasons) in problem.errors.iter().flatten() {
        message += &format!("\n  {field}: {}", reasons.join("; "));
    }
    anyhow!(message)
}
