//! `onetime admin create`: administrator accounts, which nobody can register over HTTP.
//! Through the running instance when one serves the data directory, else on the store directly.

use anyhow::anyhow;
use onetime_common::ApiError;
use onetime_common::service::Sections;
use onetime_user::{NewAdmin, UserError};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::control::protocol::Request;
use crate::control::reach::{Reached, reach};
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
    match reach(config, &request).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { stores, .. } => create_in(&stores, &config.sections(), admin).await,
    }
}

/// Creates the administrator in the user store, hashing with the `[users]` parameters of
/// `sections`.
pub async fn create_in(stores: &Stores, sections: &Sections, admin: NewAdmin) -> anyhow::Result<CreatedAdmin> {
    let users = stores
        .of(onetime_user::NAME)
        .ok_or_else(|| anyhow!("this platform has no user service"))?;
    let config: onetime_user::UsersConfig = sections.load()?;
    let user = onetime_user::create_admin(users, &config, admin)
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
