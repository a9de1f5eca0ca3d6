//! `users.redb`: accounts, sessions and mailed tokens, and the queries and changes on them.
//! Every function here runs inside the caller's transaction.
//!
//! A session is one login: a chain of refresh tokens, each replacing the last. The session
//! remembers its current token; a token of the chain that is not the current one was spent, and
//! presenting it again means it was stolen (or the client is broken), so the whole session ends.
//! Spent tokens are kept until they would have expired, for exactly that check.

use std::time::Duration;

use onetime_common::auth::Role;
use onetime_storage::{Direction, Index, Readable, StorageError, StoreSpec, Table, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::UserError;
use crate::domain::{Email, User};
use crate::tokens::{SecretToken, TokenHash};

pub const SPEC: StoreSpec = StoreSpec {
    name: "users",
    schema_version: 1,
    migrations: &[],
};

const USERS: Table<String, User> = Table::new("users");
/// Lower-cased email → user id. A table rather than an [`Index`]: an address has one owner.
const BY_EMAIL: Table<String, String> = Table::new("users.by_email");
const SESSIONS: Table<String, Session> = Table::new("sessions");
const SESSIONS_BY_USER: Index<String, String> = Index::new("sessions.by_user");
const REFRESH_TOKENS: Table<TokenHash, RefreshToken> = Table::new("refresh_tokens");
const EMAIL_TOKENS: Table<TokenHash, EmailToken> = Table::new("email_tokens");
/// When each account was last mailed a verification link: user id → time.
const VERIFICATION_MAILED: Table<String, MailedAt> = Table::new("verification_mailed");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    user_id: String,
    current: TokenHash,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// When the current token expires; each refresh moves it on.
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshToken {
    session_id: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// What a mailed token is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailToken {
    purpose: Purpose,
    user_id: String,
    /// The account's password version when the token was sent: a reset link dies with any
    /// password change, including the reset it was used for.
    password_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

pub fn user(tx: &impl Readable, id: &str) -> Result<Option<User>, StorageError> {
    USERS.get(tx, &id.to_owned())
}

pub fn user_by_email(tx: &impl Readable, email: &Email) -> Result<Option<User>, StorageError> {
    match BY_EMAIL.get(tx, &email.as_str().to_owned())? {
        Some(id) => user(tx, &id),
        None => Ok(None),
    }
}

/// Stores a new account; its email address must be free.
pub fn insert_user(tx: &WriteTx, user: &User) -> Result<(), UserError> {
    if BY_EMAIL.get(tx, &user.email)?.is_some() {
        return Err(UserError::EmailTaken);
    }
    BY_EMAIL.insert(tx, &user.email, &user.id)?;
    USERS.insert(tx, &user.id, user)?;
    Ok(())
}

/// Saves changes to an existing account (its email address does not change).
pub fn update_user(tx: &WriteTx, user: &User) -> Result<(), StorageError> {
    USERS.insert(tx, &user.id, user).map(drop)
}

/// Starts a session for `user_id`; returns its id and first refresh token.
pub fn open_session(
    tx: &WriteTx,
    user_id: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<(String, SecretToken), StorageError> {
    let id = onetime_common::events::new_id().to_string();
    let token = SecretToken::generate();
    let session = Session {
        user_id: user_id.to_owned(),
        current: token.hash(),
        created_at: now,
        expires_at: now + ttl,
    };
    REFRESH_TOKENS.insert(
        tx,
        &session.current,
        &RefreshToken {
            session_id: id.clone(),
            expires_at: session.expires_at,
        },
    )?;
    SESSIONS.insert(tx, &id, &session)?;
    SESSIONS_BY_USER.insert(tx, &user_id.to_owned(), &id)?;
    Ok((id, token))
}

/// What presenting a refresh token led to.
pub enum Rotation {
    /// The session goes on under a new token.
    Rotated {
        user: Box<User>,
        session_id: String,
        token: SecretToken,
    },
    /// A spent token: the session it belonged to is ended.
    Reused,
    /// Unknown, expired, or of an ended session.
    Invalid,
}

/// Exchanges the refresh token `presented` for the next of its session. The outcome is always
/// committed: ending a session on reuse must stick even though the caller answers 401.
pub fn rotate(
    tx: &WriteTx,
    presented: &TokenHash,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<Rotation, StorageError> {
    let Some(token) = REFRESH_TOKENS.get(tx, presented)? else {
        return Ok(Rotation::Invalid);
    };
    if token.expires_at <= now {
        REFRESH_TOKENS.remove(tx, presented)?;
        return Ok(Rotation::Invalid);
    }
    let Some(mut session) = SESSIONS.get(tx, &token.session_id)? else {
        return Ok(Rotation::Invalid);
    };
    if session.current != *presented {
        end_session(tx, &token.session_id)?;
        return Ok(Rotation::Reused);
    }
    let Some(user) = user(tx, &session.user_id)? else {
        end_session(tx, &token.session_id)?;
        return Ok(Rotation::Invalid);
    };
    let next = SecretToken::generate();
    session.current = next.hash();
    session.expires_at = now + ttl;
    REFRESH_TOKENS.insert(
        tx,
        &session.current,
        &RefreshToken {
            session_id: token.session_id.clone(),
            expires_at: session.expires_at,
        },
    )?;
    SESSIONS.insert(tx, &token.session_id, &session)?;
    Ok(Rotation::Rotated {
        user: Box::new(user),
        session_id: token.session_id,
        token: next,
    })
}

/// Whether session `id` goes on and is `user_id`'s, and that account exists with `role`: what
/// an access token issued in that session claims.
pub fn is_current(tx: &impl Readable, id: &str, user_id: &str, role: Role) -> Result<bool, StorageError> {
    match SESSIONS.get(tx, &id.to_owned())? {
        Some(session) if session.user_id == user_id => Ok(user(tx, user_id)?.is_some_and(|user| user.role == role)),
        _ => Ok(false),
    }
}

/// Ends the session a refresh token (current or spent) belongs to, if it is `user_id`'s.
pub fn end_session_of_token(tx: &WriteTx, presented: &TokenHash, user_id: &str) -> Result<(), StorageError> {
    let Some(token) = REFRESH_TOKENS.get(tx, presented)? else {
        return Ok(());
    };
    match SESSIONS.get(tx, &token.session_id)? {
        Some(session) if session.user_id == user_id => end_session(tx, &token.session_id),
        _ => Ok(()),
    }
}

/// Ends every session of `user_id` except `keep`.
pub fn end_sessions_of(tx: &WriteTx, user_id: &str, keep: Option<&str>) -> Result<(), StorageError> {
    let sessions = SESSIONS_BY_USER.lookup(tx, &user_id.to_owned(), None, Direction::Forward, usize::MAX)?;
    for id in sessions.iter().filter(|id| Some(id.as_str()) != keep) {
        end_session(tx, id)?;
    }
    Ok(())
}

/// Removes the session and its current token; its spent tokens now lead nowhere.
fn end_session(tx: &WriteTx, id: &str) -> Result<(), StorageError> {
    if let Some(session) = SESSIONS.remove(tx, &id.to_owned())? {
        REFRESH_TOKENS.remove(tx, &session.current)?;
        SESSIONS_BY_USER.remove(tx, &session.user_id, &id.to_owned())?;
    }
    Ok(())
}

/// A new single-use token for `purpose` on `user`'s account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MailedAt(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

/// Claims the right to mail `user_id` a verification link now: at most one every `interval`.
/// `Err` says how long to wait.
pub fn claim_verification_mail(
    tx: &WriteTx,
    user_id: &str,
    now: OffsetDateTime,
    interval: Duration,
) -> Result<Result<(), Duration>, StorageError> {
    let key = user_id.to_owned();
    if let Some(MailedAt(last)) = VERIFICATION_MAILED.get(tx, &key)? {
        let next = last + interval;
        if next > now {
            return Ok(Err((next - now).try_into().unwrap_or(interval)));
        }
    }
    VERIFICATION_MAILED.insert(tx, &key, &MailedAt(now))?;
    Ok(Ok(()))
}

pub fn issue_email_token(
    tx: &WriteTx,
    purpose: Purpose,
    user: &User,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<SecretToken, StorageError> {
    let token = SecretToken::generate();
    let row = EmailToken {
        purpose,
        user_id: user.id.clone(),
        password_version: user.password_version,
        expires_at: now + ttl,
    };
    EMAIL_TOKENS.insert(tx, &token.hash(), &row)?;
    Ok(token)
}

/// The account a mailed token is good for, if it is valid now; the token stays.
pub fn email_token_user(
    tx: &impl Readable,
    presented: &TokenHash,
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<Option<User>, StorageError> {
    let Some(token) = EMAIL_TOKENS.get(tx, presented)? else {
        return Ok(None);
    };
    if token.purpose != purpose || token.expires_at <= now {
        return Ok(None);
    }
    let user = user(tx, &token.user_id)?;
    Ok(user.filter(|user| purpose != Purpose::ResetPassword || user.password_version == token.password_version))
}

/// Like [`email_token_user`], and uses the token up. A token presented for the right purpose is
/// gone afterwards even when it had expired: single use means no second look.
pub fn take_email_token(
    tx: &WriteTx,
    presented: &TokenHash,
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<Option<User>, StorageError> {
    let user = email_token_user(tx, presented, purpose, now)?;
    if EMAIL_TOKENS
        .get(tx, presented)?
        .is_some_and(|token| token.purpose == purpose)
    {
        EMAIL_TOKENS.remove(tx, presented)?;
    }
    Ok(user)
}

/// Deletes the tokens and sessions that expired before `now`; returns how many rows went.
pub fn prune_expired(tx: &WriteTx, now: OffsetDateTime) -> Result<usize, StorageError> {
    let mut removed = 0;
    for (id, session) in SESSIONS.range(tx, .., Direction::Forward, usize::MAX)? {
        if session.expires_at <= now {
            end_session(tx, &id)?;
            removed += 1;
        }
    }
    for (hash, token) in REFRESH_TOKENS.range(tx, .., Direction::Forward, usize::MAX)? {
        if token.expires_at <= now {
            REFRESH_TOKENS.remove(tx, &hash)?;
            removed += 1;
        }
    }
    for (hash, token) in EMAIL_TOKENS.range(tx, .., Direction::Forward, usize::MAX)? {
        if token.expires_at <= now {
            EMAIL_TOKENS.remove(tx, &hash)?;
            removed += 1;
        }
    }
    // Past a day, a mailing time limits nothing any more.
    for (user_id, MailedAt(at)) in VERIFICATION_MAILED.range(tx, .., Direction::Forward, usize::MAX)? {
        if at + Duration::from_secs(24 * 3600) <= now {
            VERIFICATION_MAILED.remove(tx, &user_id)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use onetime_storage::Store;

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn account(id: &str, email: &str) -> User {
        let now = OffsetDateTime::now_utc();
        User {
            id: id.to_owned(),
            email: email.to_owned(),
            name: "김원데".to_owned(),
            phone: None,
            role: Role::Worker,
            password_hash: String::new(),
            password_version: 0,
            email_verified_at: None,
            bio: None,
            skills: Vec::new(),
            region: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &SPEC).unwrap();
        store
            .write_blocking(|tx| insert_user(tx, &account("u1", "kim@example.com")))
            .unwrap();
        (dir, store)
    }

    #[test]
    fn an_address_has_one_owner() {
        let (_dir, store) = store();
        let taken = store.write_blocking(|tx| insert_user(tx, &account("u2", "kim@example.com")));
        assert!(matches!(taken, Err(UserError::EmailTaken)));
        let email = Email::parse("KIM@example.com").unwrap();
        let found = store.read_blocking(|tx| user_by_email(tx, &email)).unwrap();
        assert_eq!(found.unwrap().id, "u1");
    }

    #[test]
    fn a_reused_refresh_token_ends_its_session_only() {
        let (_dir, store) = store();
        let now = OffsetDateTime::now_utc();
        let (first, other) = store
            .write_blocking(|tx| {
                Ok::<_, StorageError>((open_session(tx, "u1", now, DAY)?, open_session(tx, "u1", now, DAY)?))
            })
            .unwrap();
        let rotated = store
            .write_blocking(|tx| rotate(tx, &first.1.hash(), now, DAY))
            .unwrap();
        let Rotation::Rotated { token: second, .. } = rotated else {
            panic!("rotated")
        };
        let reuse = store
            .write_blocking(|tx| rotate(tx, &first.1.hash(), now, DAY))
            .unwrap();
        assert!(matches!(reuse, Rotation::Reused));
        let after = store.write_blocking(|tx| rotate(tx, &second.hash(), now, DAY)).unwrap();
        assert!(
            matches!(after, Rotation::Invalid),
            "the successor died with the session"
        );
        let untouched = store
            .write_blocking(|tx| rotate(tx, &other.1.hash(), now, DAY))
            .unwrap();
        assert!(matches!(untouched, Rotation::Rotated { .. }));
    }

    #[test]
    fn a_session_is_current_until_it_ends_and_only_for_its_account_and_role() {
        let (_dir, store) = store();
        let now = OffsetDateTime::now_utc();
        let (id, token) = store.write_blocking(|tx| open_session(tx, "u1", now, DAY)).unwrap();
        let current = |user: &str, role| store.read_blocking(|tx| is_current(tx, &id, user, role)).unwrap();
        assert!(current("u1", Role::Worker));
        assert!(!current("u1", Role::Admin), "a changed role");
        assert!(!current("u2", Role::Worker), "another account");
        store
            .write_blocking(|tx| end_session_of_token(tx, &token.hash(), "u1"))
            .unwrap();
        assert!(!current("u1", Role::Worker), "ended");
    }

    #[test]
    fn mailed_tokens_are_single_use_expire_and_die_with_a_password_change() {
        let (_dir, store) = store();
        let now = OffsetDateTime::now_utc();
        let user = store.read_blocking(|tx| user(tx, "u1")).unwrap().unwrap();
        let (reset, verify, stale) = store
            .write_blocking(|tx| {
                Ok::<_, StorageError>((
                    issue_email_token(tx, Purpose::ResetPassword, &user, now, DAY)?,
                    issue_email_token(tx, Purpose::VerifyEmail, &user, now, DAY)?,
                    issue_email_token(tx, Purpose::VerifyEmail, &user, now, Duration::from_secs(1))?,
                ))
            })
            .unwrap();
        let take = |token: &SecretToken, purpose, at| {
            store
                .write_blocking(|tx| take_email_token(tx, &token.hash(), purpose, at))
                .unwrap()
        };
        assert!(take(&reset, Purpose::VerifyEmail, now).is_none(), "wrong purpose");
        assert!(take(&stale, Purpose::VerifyEmail, now + DAY).is_none(), "expired");
        assert!(
            take(&stale, Purpose::VerifyEmail, now).is_none(),
            "an expired token is used up too"
        );
        assert!(take(&verify, Purpose::VerifyEmail, now).is_some());
        assert!(take(&verify, Purpose::VerifyEmail, now).is_none(), "single use");

        let mut changed = user.clone();
        changed.password_version += 1;
        store.write_blocking(|tx| update_user(tx, &changed)).unwrap();
        assert!(
            take(&reset, Purpose::ResetPassword, now).is_none(),
            "issued for the old password"
        );
    }

    #[test]
    fn expired_rows_are_pruned() {
        let (_dir, store) = store();
        let now = OffsetDateTime::now_utc();
        let user = store.read_blocking(|tx| user(tx, "u1")).unwrap().unwrap();
        store
            .write_blocking(|tx| {
                let (_, token) = open_session(tx, "u1", now, DAY)?;
                rotate(tx, &token.hash(), now, DAY)?;
                issue_email_token(tx, Purpose::VerifyEmail, &user, now, DAY).map(drop)
            })
            .unwrap();
        assert_eq!(store.write_blocking(|tx| prune_expired(tx, now)).unwrap(), 0);
        // One session with its current token, one spent token, one mailed token.
        assert_eq!(store.write_blocking(|tx| prune_expired(tx, now + DAY)).unwrap(), 3);
        assert_eq!(store.read_blocking(|tx| SESSIONS.len(tx)).unwrap(), 0);
        assert_eq!(store.read_blocking(|tx| REFRESH_TOKENS.len(tx)).unwrap(), 0);
    }
}
