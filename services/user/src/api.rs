//! The user service's request and response bodies, with their OpenAPI schemas, and their
//! translation to and from the domain. Requests parse field by field and report every invalid
//! field at once.

use onetime_common::auth::Role;
use onetime_common::error::FieldErrors;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::UserError;
use crate::accounts::{SignedIn, Signup, Tokens};
use crate::domain::{Bio, Email, Name, Password, Phone, ProfileChanges, Region, Skills, User};

/// The roles one may sign up for; administrators are made with `onetime admin create`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignupRole {
    Worker,
    Employer,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    #[schema(example = "kim@example.com")]
    pub email: String,
    /// 8 to 128 characters, mixing at least two of lower-case, upper-case, digits and symbols;
    /// not the email address.
    pub password: String,
    #[schema(example = "김원데")]
    pub name: String,
    /// A Korean mobile number: `010-1234-5678`, `01012345678` or `+82 10 1234 5678`.
    #[schema(example = "010-1234-5678")]
    pub phone: Option<String>,
    pub role: SignupRole,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Carries a refresh token, for `/auth/refresh` and `/auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyEmailRequest {
    /// The `token` of the link in the verification mail.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForgotPasswordRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    /// The `token` of the link in the password reset mail.
    pub token: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Only the fields present change. `null` (or an empty string) clears `phone`, `bio` and
/// `region`; `skills: []` clears the skills.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub bio: Option<Option<String>>,
    pub skills: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub region: Option<Option<String>>,
}

/// Tells a field that is present as `null` (`Some(None)`) from one that is absent (`None`).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The caller's own profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub email: String,
    pub name: String,
    /// E.164, e.g. `+821012345678`.
    pub phone: Option<String>,
    pub role: Role,
    pub email_verified: bool,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    pub region: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What anyone logged in may see of a user: no email address, no phone number.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub email_verified: bool,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    pub region: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// A JWT for `Authorization: Bearer …`, valid for `auth.access_token_ttl_seconds`.
    pub access_token: String,
    /// Opaque; good for one `/auth/refresh`, which returns the next.
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub user: Profile,
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyEmailResponse {
    pub email_verified: bool,
}

impl RegisterRequest {
    pub fn parse(self) -> Result<Signup, UserError> {
        let mut refusals = FieldErrors::default();
        let email = refusals.check("email", Email::parse(&self.email));
        let password = refusals.check("password", Password::new(&self.password, &self.email));
        let name = refusals.check("name", Name::parse(&self.name));
        let phone = refusals.check(
            "phone",
            Phone::parse_optional(self.phone.as_deref().unwrap_or_default()),
        );
        let (Some(email), Some(password), Some(name), Some(phone)) = (email, password, name, phone) else {
            return Err(UserError::Invalid(refusals));
        };
        let role = match self.role {
            SignupRole::Worker => Role::Worker,
            SignupRole::Employer => Role::Employer,
        };
        Ok(Signup {
            email,
            password,
            name,
            phone,
            role,
        })
    }
}

impl LoginRequest {
    pub fn parse(self) -> Result<(Email, Password), UserError> {
        let email = Email::parse(&self.email).map_err(|why| UserError::invalid("email", why))?;
        Ok((email, Password::presented(&self.password)))
    }
}

impl ForgotPasswordRequest {
    pub fn parse(self) -> Result<Email, UserError> {
        Email::parse(&self.email).map_err(|why| UserError::invalid("email", why))
    }
}

impl UpdateProfileRequest {
    pub fn parse(self) -> Result<ProfileChanges, UserError> {
        let mut refusals = FieldErrors::default();
        let optional = |value: Option<Option<String>>| value.map(Option::unwrap_or_default);
        let changes = ProfileChanges {
            name: self.name.and_then(|name| refusals.check("name", Name::parse(&name))),
            phone: optional(self.phone).and_then(|phone| refusals.check("phone", Phone::parse_optional(&phone))),
            bio: optional(self.bio).and_then(|bio| refusals.check("bio", Bio::parse_optional(&bio))),
            skills: self
                .skills
                .and_then(|skills| refusals.check("skills", Skills::parse(&skills))),
            region: optional(self.region).and_then(|region| refusals.check("region", Region::parse_optional(&region))),
        };
        if refusals.is_empty() {
            Ok(changes)
        } else {
            Err(UserError::Invalid(refusals))
        }
    }
}

impl From<User> for Profile {
    fn from(user: User) -> Self {
        Self {
            email_verified: user.email_verified_at.is_some(),
            id: user.id,
            email: user.email,
            name: user.name,
            phone: user.phone,
            role: user.role,
            bio: user.bio,
            skills: user.skills,
            region: user.region,
            created_at: user.created_at,
        }
    }
}

impl From<User> for PublicProfile {
    fn from(user: User) -> Self {
        Self {
            email_verified: user.email_verified_at.is_some(),
            id: user.id,
            name: user.name,
            role: user.role,
            bio: user.bio,
            skills: user.skills,
            region: user.region,
            created_at: user.created_at,
        }
    }
}

impl From<Tokens> for TokenPair {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.into(),
        }
    }
}

impl From<SignedIn> for AuthResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            user: signed_in.user.into(),
            access_token: signed_in.tokens.access_token,
            refresh_token: signed_in.tokens.refresh_token.into(),
        }
    }
}
