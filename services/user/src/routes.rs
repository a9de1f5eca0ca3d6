//! The user service's HTTP handlers and their OpenAPI description. Each one extracts, calls
//! [`Accounts`], and shapes the answer.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use onetime_common::ApiError;
use onetime_common::auth::Principal;
use onetime_common::error::Problem;
use onetime_common::extract::{ClientAddress, Json};
use utoipa::OpenApi;

use crate::accounts::Accounts;
use crate::api::{
    AuthResponse, ChangePasswordRequest, ForgotPasswordRequest, LoginRequest, Profile, PublicProfile, RefreshRequest,
    RegisterRequest, ResetPasswordRequest, SignupRole, TokenPair, UpdateProfileRequest, VerifyEmailRequest,
    VerifyEmailResponse,
};
use crate::domain::Password;

type Accepted<T> = Result<Json<T>, ApiError>;

pub fn router(accounts: Arc<Accounts>) -> Router {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/refresh", post(refresh))
        .route("/auth/verify-email", post(verify_email))
        .route("/auth/verify-email/resend", post(resend_verification))
        .route("/auth/password/forgot", post(forgot_password))
        .route("/auth/password/reset", post(reset_password))
        .route("/users/profile", get(own_profile).put(update_profile))
        .route("/users/password", put(change_password))
        .route("/users/{id}", get(public_profile))
        .with_state(accounts)
}

#[derive(OpenApi)]
#[openapi(
    paths(
        register,
        login,
        logout,
        refresh,
        verify_email,
        resend_verification,
        forgot_password,
        reset_password,
        own_profile,
        update_profile,
        change_password,
        public_profile
    ),
    components(schemas(
        RegisterRequest,
        SignupRole,
        LoginRequest,
        RefreshRequest,
        VerifyEmailRequest,
        ForgotPasswordRequest,
        ResetPasswordRequest,
        ChangePasswordRequest,
        UpdateProfileRequest,
        AuthResponse,
        TokenPair,
        Profile,
        PublicProfile,
        VerifyEmailResponse
    )),
    tags((name = "user", description = "Accounts, sessions, email verification, passwords and profiles"))
)]
pub struct UserDoc;

/// Creates a worker or employer account and logs it in; mails a link that verifies the address.
#[utoipa::path(post, path = "/auth/register", tag = "user", request_body = RegisterRequest, responses(
    (status = 201, description = "Registered and logged in", body = AuthResponse),
    (status = 409, description = "`email_taken`: the address has an account", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: bad email, weak password, unknown role (`admin` included), …", body = Problem, content_type = "application/problem+json"),
))]
async fn register(
    State(accounts): State<Arc<Accounts>>,
    Json(request): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<AuthResponse>), ApiError> {
    let signed_in = accounts.register(request.parse()?).await?;
    Ok((StatusCode::CREATED, Json(signed_in.into())))
}

/// Logs in with email and password. After too many failures for one account from one client
/// address (or, under a distributed attack, from all together), attempts are refused for a
/// while whatever the password, each further failure doubling the wait.
#[utoipa::path(post, path = "/auth/login", tag = "user", request_body = LoginRequest, responses(
    (status = 200, description = "Logged in", body = AuthResponse),
    (status = 401, description = "`invalid_credentials`: unknown email or wrong password, alike", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "`too_many_attempts` (recent failures), or `attempts_in_flight` (others for the account still being checked after 10 s); with `Retry-After`", body = Problem, content_type = "application/problem+json"),
))]
async fn login(
    State(accounts): State<Arc<Accounts>>,
    client: Option<ClientAddress>,
    Json(request): Json<LoginRequest>,
) -> Accepted<AuthResponse> {
    let (email, password) = request.parse()?;
    let client = client.map(|ClientAddress(address)| address);
    Ok(Json(accounts.login(email, password, client).await?.into()))
}

/// Ends the session of the given refresh token: it can no longer refresh.
#[utoipa::path(post, path = "/auth/logout", tag = "user", request_body = RefreshRequest, security(("bearer" = [])), responses(
    (status = 204, description = "Logged out"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn logout(
    State(accounts): State<Arc<Accounts>>,
    principal: Principal,
    Json(request): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    accounts.logout(&principal, &request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exchanges a refresh token for a new access and refresh token. Each refresh token works
/// once: presenting a spent one ends its whole session.
#[utoipa::path(post, path = "/auth/refresh", tag = "user", request_body = RefreshRequest, responses(
    (status = 200, description = "The new pair", body = TokenPair),
    (status = 401, description = "`invalid_refresh_token`, or `refresh_token_reused` (the session is ended)", body = Problem, content_type = "application/problem+json"),
))]
async fn refresh(State(accounts): State<Arc<Accounts>>, Json(request): Json<RefreshRequest>) -> Accepted<TokenPair> {
    Ok(Json(accounts.refresh(&request.refresh_token).await?.into()))
}

/// Confirms the account's email address with the token of the verification mail.
#[utoipa::path(post, path = "/auth/verify-email", tag = "user", request_body = VerifyEmailRequest, responses(
    (status = 200, description = "Verified", body = VerifyEmailResponse),
    (status = 400, description = "`invalid_verification_token`: unknown, used or expired", body = Problem, content_type = "application/problem+json"),
))]
async fn verify_email(
    State(accounts): State<Arc<Accounts>>,
    Json(request): Json<VerifyEmailRequest>,
) -> Accepted<VerifyEmailResponse> {
    let user = accounts.verify_email(&request.token).await?;
    Ok(Json(VerifyEmailResponse {
        email_verified: user.email_verified_at.is_some(),
    }))
}

/// Mails the caller a new verification link. Earlier links stay valid until they expire; one
/// mail a minute at most, the one sent at registration included.
#[utoipa::path(post, path = "/auth/verify-email/resend", tag = "user", security(("bearer" = [])), responses(
    (status = 202, description = "Accepted; the mail follows"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`already_verified`", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "`rate_limited`: a verification mail went out less than a minute ago; with `Retry-After`", body = Problem, content_type = "application/problem+json"),
))]
async fn resend_verification(
    State(accounts): State<Arc<Accounts>>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    accounts.resend_verification(&principal).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Mails a password reset link if the address has an account. The answer is the same either
/// way, so it tells nobody which addresses have accounts.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "user", request_body = ForgotPasswordRequest, responses(
    (status = 202, description = "Accepted; a mail follows when the account exists"),
    (status = 422, description = "`validation_failed`: not an email address", body = Problem, content_type = "application/problem+json"),
))]
async fn forgot_password(
    State(accounts): State<Arc<Accounts>>,
    Json(request): Json<ForgotPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    accounts.forgot_password(request.parse()?);
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with the token of the reset mail; every session of the account ends.
#[utoipa::path(post, path = "/auth/password/reset", tag = "user", request_body = ResetPasswordRequest, responses(
    (status = 204, description = "Password changed; log in again"),
    (status = 400, description = "`invalid_reset_token`: unknown, used or expired", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: the new password is too weak", body = Problem, content_type = "application/problem+json"),
))]
async fn reset_password(
    State(accounts): State<Arc<Accounts>>,
    Json(request): Json<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    accounts.reset_password(&request.token, &request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own profile.
#[utoipa::path(get, path = "/users/profile", tag = "user", security(("bearer" = [])), responses(
    (status = 200, description = "The profile", body = Profile),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn own_profile(State(accounts): State<Arc<Accounts>>, principal: Principal) -> Accepted<Profile> {
    Ok(Json(accounts.user(&principal.user_id).await?.into()))
}

/// Changes some of `name`, `phone`, `bio`, `skills` and `region`.
#[utoipa::path(put, path = "/users/profile", tag = "user", request_body = UpdateProfileRequest, security(("bearer" = [])), responses(
    (status = 200, description = "The updated profile", body = Profile),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`, naming each bad field; nothing changed", body = Problem, content_type = "application/problem+json"),
))]
async fn update_profile(
    State(accounts): State<Arc<Accounts>>,
    principal: Principal,
    Json(request): Json<UpdateProfileRequest>,
) -> Accepted<Profile> {
    let changes = request.parse()?;
    Ok(Json(accounts.update_profile(&principal.user_id, changes).await?.into()))
}

/// Changes the caller's password. The caller's session goes on; the account's other sessions end.
#[utoipa::path(put, path = "/users/password", tag = "user", request_body = ChangePasswordRequest, security(("bearer" = [])), responses(
    (status = 204, description = "Password changed"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "`wrong_password`: the current password is wrong", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: the new password is too weak", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "`too_many_attempts` (recent failures), or `attempts_in_flight` (others for the account still being checked after 10 s); with `Retry-After`", body = Problem, content_type = "application/problem+json"),
))]
async fn change_password(
    State(accounts): State<Arc<Accounts>>,
    principal: Principal,
    client: Option<ClientAddress>,
    Json(request): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let current = Password::presented(&request.current_password);
    let client = client.map(|ClientAddress(address)| address);
    accounts
        .change_password(&principal, current, &request.new_password, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Another user's public profile: no email address, no phone number.
#[utoipa::path(get, path = "/users/{id}", tag = "user", params(("id" = String, Path, description = "The user's id")), security(("bearer" = [])), responses(
    (status = 200, description = "The public profile", body = PublicProfile),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
))]
async fn public_profile(
    State(accounts): State<Arc<Accounts>>,
    _caller: Principal,
    Path(id): Path<String>,
) -> Accepted<PublicProfile> {
    Ok(Json(accounts.user(&id).await?.into()))
}
