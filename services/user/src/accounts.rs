//! The user service's use cases: register, log in, refresh, log out, verify an address, reset
//! or change a password, read and update profiles, create an administrator.
//!
//! Each change is one write transaction that also queues its mail and publishes its event, so
//! they happen together or not at all. Password hashing, the slow part, happens before the
//! transaction, never inside it.

use std::net::IpAddr;
use std::sync::Arc;

use onetime_common::auth::{JwtKeys, Principal, Role};
use onetime_common::events::new_id;
use onetime_common::mail::{Links, MailQueue};
use onetime_common::service::Background;
use onetime_storage::{Store, WriteTx};
use time::OffsetDateTime;

use crate::config::UsersConfig;
use crate::domain::{Email, Name, Password, Phone, ProfileChanges, User};
use crate::pacing::ResetMailPacing;
use crate::password::{Hasher, Verified};
use crate::store::{self, Purpose, Rotation};
use crate::throttle::LoginThrottle;
use crate::tokens::{SecretToken, TokenHash};
use crate::{UserError, events, mail};

/// A new account, every field parsed.
pub struct Signup {
    pub email: Email,
    pub password: Password,
    pub name: Name,
    pub phone: Option<Phone>,
    pub role: Role,
}

/// A fresh access token and the refresh token to get the next one.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: SecretToken,
}

pub struct SignedIn {
    pub user: User,
    pub tokens: Tokens,
}

pub struct Accounts {
    store: Store,
    hasher: Hasher,
    throttle: LoginThrottle,
    reset_mail: ResetMailPacing,
    jwt: JwtKeys,
    mail: MailQueue,
    links: Links,
    config: UsersConfig,
    background: Background,
}

impl Accounts {
    pub fn new(
        store: Store,
        hasher: Hasher,
        jwt: JwtKeys,
        mail: MailQueue,
        config: UsersConfig,
        background: Background,
    ) -> Self {
        Self {
            throttle: LoginThrottle::new(&config.login_throttle),
            reset_mail: ResetMailPacing::new(&config.reset_mail),
            links: Links::new(&config.public_base_url),
            store,
            hasher,
            jwt,
            mail,
            config,
            background,
        }
    }

    /// Runs `change` in a write transaction, then wakes the mail sender for what it queued.
    async fn write<R: Send + 'static>(
        &self,
        change: impl FnOnce(&WriteTx) -> Result<R, UserError> + Send + 'static,
    ) -> Result<R, UserError> {
        let result = self.store.write(change).await;
        self.mail.wake();
        result
    }

    fn tokens(&self, user: &User, session_id: &str, refresh_token: SecretToken) -> Tokens {
        Tokens {
            access_token: self.jwt.issue_for_session(&user.id, user.role, session_id).0,
            refresh_token,
        }
    }

    /// Creates the account, logged in, and mails the link that verifies its address.
    pub async fn register(self: &Arc<Self>, signup: Signup) -> Result<SignedIn, UserError> {
        let password_hash = self.hasher.hash(signup.password).await?;
        let now = OffsetDateTime::now_utc();
        let user = new_user(signup.email, signup.name, signup.phone, signup.role, password_hash, now);
        let this = self.clone();
        let (user, session_id, refresh) = self
            .write(move |tx| {
                store::insert_user(tx, &user)?;
                events::registered(tx, &user)?;
                // A new account was never mailed: the claim always succeeds, and starts the
                // minute before a resend may follow.
                let interval = this.config.verification_mail_interval();
                let _ = store::claim_verification_mail(tx, &user.id, now, interval)?;
                this.mail_verification(tx, &user, now)?;
                let (session_id, refresh) = store::open_session(tx, &user.id, now, this.config.refresh_ttl())?;
                Ok((user, session_id, refresh))
            })
            .await?;
        let tokens = self.tokens(&user, &session_id, refresh);
        Ok(SignedIn { user, tokens })
    }

    /// Checks the password and starts a session. Unknown addresses and wrong passwords are the
    /// same failure, at the same cost, and count alike towards the throttle of the account and
    /// of the `client` address on it.
    pub async fn login(&self, email: Email, password: Password, client: Option<IpAddr>) -> Result<SignedIn, UserError> {
        let attempt = self.throttle.begin(email.as_str(), client).await?;
        let user = self.store.read(move |tx| store::user_by_email(tx, &email)).await?;
        let stored = user.as_ref().map(|user| user.password_hash.clone());
        let verified = self.hasher.verify_and_upgrade(password, stored).await?;
        let Some(user) = user.filter(|_| verified != Verified::No) else {
            attempt.failed();
            return Err(UserError::InvalidCredentials);
        };
        attempt.succeeded();
        let (now, ttl, user_id) = (OffsetDateTime::now_utc(), self.config.refresh_ttl(), user.id.clone());
        let verified_hash = user.password_hash.clone();
        let (session_id, refresh) = self
            .write(move |tx| {
                if let Verified::Rehashed(password_hash) = verified {
                    upgrade_hash(tx, &user_id, &verified_hash, password_hash, now)?;
                }
                Ok(store::open_session(tx, &user_id, now, ttl)?)
            })
            .await?;
        let tokens = self.tokens(&user, &session_id, refresh);
        Ok(SignedIn { user, tokens })
    }

    /// Exchanges a refresh token for a new pair; a spent one ends its session.
    pub async fn refresh(&self, presented: &str) -> Result<Tokens, UserError> {
        let (presented, now, ttl) = (
            TokenHash::of(presented),
            OffsetDateTime::now_utc(),
            self.config.refresh_ttl(),
        );
        match self
            .write(move |tx| Ok(store::rotate(tx, &presented, now, ttl)?))
            .await?
        {
            Rotation::Rotated {
                user,
                session_id,
                token,
            } => Ok(self.tokens(&user, &session_id, token)),
            Rotation::Reused => {
                tracing::warn!("a spent refresh token was presented; its session is ended");
                Err(UserError::RefreshTokenReused)
            }
            Rotation::Invalid => Err(UserError::InvalidRefreshToken),
        }
    }

    /// Ends the caller's session that `presented` belongs to. Unknown tokens end nothing, and
    /// that is no error: the session is over either way.
    pub async fn logout(&self, principal: &Principal, presented: &str) -> Result<(), UserError> {
        let (presented, user_id) = (TokenHash::of(presented), principal.user_id.clone());
        self.write(move |tx| Ok(store::end_session_of_token(tx, &presented, &user_id)?))
            .await
    }

    /// Queues a verification mail with a new link for `user`.
    fn mail_verification(&self, tx: &WriteTx, user: &User, now: OffsetDateTime) -> Result<(), UserError> {
        let ttl = self.config.verification_ttl();
        let token = store::issue_email_token(tx, Purpose::VerifyEmail, user, now, ttl)?;
        self.mail
            .enqueue(tx, &mail::verification(user, &self.links, &token, ttl))?;
        Ok(())
    }

    /// Mails the caller a new verification link; earlier links stay valid until they expire.
    /// At most one every `users.verification_mail_interval_seconds` (a minute), the registration
    /// mail included.
    pub async fn resend_verification(self: &Arc<Self>, principal: &Principal) -> Result<(), UserError> {
        let (this, user_id, now) = (self.clone(), principal.user_id.clone(), OffsetDateTime::now_utc());
        self.write(move |tx| {
            let user = store::user(tx, &user_id)?.ok_or(UserError::NotFound)?;
            if user.email_verified_at.is_some() {
                return Err(UserError::AlreadyVerified);
            }
            store::claim_verification_mail(tx, &user.id, now, this.config.verification_mail_interval())?
                .map_err(UserError::VerificationMailTooSoon)?;
            this.mail_verification(tx, &user, now)
        })
        .await
    }

    /// Marks the address of the token's account verified, and announces it once.
    pub async fn verify_email(&self, presented: &str) -> Result<User, UserError> {
        let (presented, now) = (TokenHash::of(presented), OffsetDateTime::now_utc());
        self.write(move |tx| {
            let Some(mut user) = store::take_email_token(tx, &presented, Purpose::VerifyEmail, now)? else {
                return Ok(None);
            };
            if user.email_verified_at.is_none() {
                user.email_verified_at = Some(now);
                user.updated_at = now;
                store::update_user(tx, &user)?;
                events::verified(tx, &user)?;
            }
            Ok(Some(user))
        })
        .await?
        .ok_or(UserError::InvalidVerificationToken)
    }

    /// Mails a reset link when `email` has an account and has not had too many lately (see
    /// `pacing.rs`). Runs after the answer, so that a known address does not answer measurably
    /// slower than an unknown one.
    pub fn forgot_password(self: &Arc<Self>, email: Email) {
        let this = self.clone();
        self.background.spawn(async move {
            let sender = this.clone();
            let mailed = this
                .write(move |tx| {
                    let Some(user) = store::user_by_email(tx, &email)? else {
                        return Ok(());
                    };
                    if !sender.reset_mail.allow(&user.id) {
                        tracing::info!(user = %user.id, "reset mail not sent: the account had one lately");
                        return Ok(());
                    }
                    let ttl = sender.config.reset_ttl();
                    let now = OffsetDateTime::now_utc();
                    let token = store::issue_email_token(tx, Purpose::ResetPassword, &user, now, ttl)?;
                    let letter = mail::password_reset(&user, &sender.links, &token, ttl);
                    Ok(sender.mail.enqueue(tx, &letter)?)
                })
                .await;
            if let Err(error) = mailed {
                tracing::error!(%error, "cannot queue a password reset mail");
            }
        });
    }

    /// Sets a new password with a mailed token and ends every session of the account.
    pub async fn reset_password(&self, presented: &str, new_password: &str) -> Result<(), UserError> {
        let (presented, now) = (TokenHash::of(presented), OffsetDateTime::now_utc());
        // Look before using the token up: a password the policy refuses must not cost the link.
        let lookup = presented.clone();
        let user = self
            .store
            .read(move |tx| store::email_token_user(tx, &lookup, Purpose::ResetPassword, now))
            .await?
            .ok_or(UserError::InvalidResetToken)?;
        let password = Password::new(new_password, &user.email).map_err(|e| UserError::invalid("newPassword", e))?;
        let password_hash = self.hasher.hash(password).await?;
        self.write(move |tx| {
            let Some(user) = store::take_email_token(tx, &presented, Purpose::ResetPassword, now)? else {
                return Err(UserError::InvalidResetToken);
            };
            set_password(tx, user, password_hash, now, None)
        })
        .await
    }

    /// Changes the caller's password, keeping the caller's session and ending the others. The
    /// current password is throttled like a login from `client`.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: Password,
        new: &str,
        client: Option<IpAddr>,
    ) -> Result<(), UserError> {
        let user = self.user(&principal.user_id).await?;
        let password = Password::new(new, &user.email).map_err(|e| UserError::invalid("newPassword", e))?;
        let attempt = self.throttle.begin(&user.email, client).await?;
        if !self.hasher.verify(current, Some(user.password_hash)).await? {
            attempt.failed();
            return Err(UserError::WrongPassword);
        }
        attempt.succeeded();
        let password_hash = self.hasher.hash(password).await?;
        let (user_id, keep, now) = (user.id, principal.session_id.clone(), OffsetDateTime::now_utc());
        self.write(move |tx| {
            let user = store::user(tx, &user_id)?.ok_or(UserError::NotFound)?;
            set_password(tx, user, password_hash, now, keep.as_deref())
        })
        .await
    }

    pub async fn user(&self, id: &str) -> Result<User, UserError> {
        let id = id.to_owned();
        self.store
            .read(move |tx| store::user(tx, &id))
            .await?
            .ok_or(UserError::NotFound)
    }

    pub async fn update_profile(&self, id: &str, changes: ProfileChanges) -> Result<User, UserError> {
        let (id, now) = (id.to_owned(), OffsetDateTime::now_utc());
        self.write(move |tx| {
            let mut user = store::user(tx, &id)?.ok_or(UserError::NotFound)?;
            changes.apply_to(&mut user);
            user.updated_at = now;
            store::update_user(tx, &user)?;
            Ok(user)
        })
        .await
    }
}

fn new_user(
    email: Email,
    name: Name,
    phone: Option<Phone>,
    role: Role,
    password_hash: String,
    now: OffsetDateTime,
) -> User {
    User {
        id: new_id().to_string(),
        email: email.into(),
        name: name.into(),
        phone: phone.map(Into::into),
        role,
        password_hash,
        password_version: 0,
        email_verified_at: None,
        bio: None,
        skills: Vec::new(),
        region: None,
        created_at: now,
        updated_at: now,
    }
}

/// Replaces the hash a login just verified with one of the same password under the configured
/// parameters; the password is the same, so sessions and reset links stay. A hash changed
/// meanwhile (a reset under way) is left alone.
fn upgrade_hash(
    tx: &WriteTx,
    user_id: &str,
    verified: &str,
    password_hash: String,
    now: OffsetDateTime,
) -> Result<(), UserError> {
    match store::user(tx, user_id)? {
        Some(mut user) if user.password_hash == verified => {
            user.password_hash = password_hash;
            user.updated_at = now;
            store::update_user(tx, &user)?;
            tracing::info!(user_id, "re-hashed a password under the configured argon2 parameters");
        }
        _ => {}
    }
    Ok(())
}

/// Stores a new password hash; every older reset link and every session but `keep` end.
fn set_password(
    tx: &WriteTx,
    mut user: User,
    password_hash: String,
    now: OffsetDateTime,
    keep: Option<&str>,
) -> Result<(), UserError> {
    user.password_hash = password_hash;
    user.password_version += 1;
    user.updated_at = now;
    store::update_user(tx, &user)?;
    store::end_sessions_of(tx, &user.id, keep)?;
    Ok(())
}

/// Creates an administrator, address verified (an operator vouches for it). For the command
/// line; nobody becomes an administrator over HTTP.
pub async fn create_admin(
    store: &Store,
    hasher: &Hasher,
    email: Email,
    password: Password,
    name: Name,
) -> Result<User, UserError> {
    let password_hash = hasher.hash(password).await?;
    let now = OffsetDateTime::now_utc();
    let mut user = new_user(email, name, None, Role::Admin, password_hash, now);
    user.email_verified_at = Some(now);
    store
        .write(move |tx| {
            store::insert_user(tx, &user)?;
            events::registered(tx, &user)?;
            Ok(user)
        })
        .await
}
