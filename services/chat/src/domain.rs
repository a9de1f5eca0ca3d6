//! The chat service's domain: rooms and messages as stored, and the types a client's input must
//! parse into before anything is stored (`MessageText`, `ClientMsgId`, `ReadMark`). Pure code,
//! unit-tested here.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How many characters of a message a `chat.message` event carries for a notification.
const PREVIEW_CHARS: usize = 80;

/// A room between a job's owner and one worker who applied to it. The pair and the job identify
/// it: there is never a second room for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: String,
    pub job_id: String,
    /// The job's owner first, the worker second.
    pub participants: [Participant; 2],
    /// The `seq` of the newest message; 0 while the room is empty.
    pub last_seq: u64,
    pub last_message: Option<Message>,
    /// Position in the store-wide order of activity: rooms list by it, newest first. A counter
    /// rather than a clock, so that a clock stepping back cannot reorder rooms.
    pub activity: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One side of a room and how far it has read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub user_id: String,
    /// The highest `seq` this participant has marked read.
    pub read_seq: u64,
    /// Messages from the other participant after `read_seq`.
    pub unread: u64,
}

impl Participant {
    fn new(user_id: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            read_seq: 0,
            unread: 0,
        }
    }
}

impl Room {
    /// A new, empty room; `pair` says who is in it.
    pub fn new(id: String, pair: &Pair, activity: u64, now: OffsetDateTime) -> Self {
        Self {
            id,
            job_id: pair.job_id.clone(),
            participants: [Participant::new(&pair.employer_id), Participant::new(&pair.worker_id)],
            last_seq: 0,
            last_message: None,
            activity,
            created_at: now,
        }
    }

    /// Whether `user_id` is one of the two.
    pub fn has(&self, user_id: &str) -> bool {
        self.participants.iter().any(|p| p.user_id == user_id)
    }

    /// `user_id`'s side of the room, if it is in it.
    pub fn participant(&self, user_id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.user_id == user_id)
    }

    fn participant_mut(&mut self, user_id: &str) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|p| p.user_id == user_id)
    }

    /// The participant who is not `user_id`.
    pub fn other(&self, user_id: &str) -> &str {
        let [first, second] = &self.participants;
        if first.user_id == user_id {
            &second.user_id
        } else {
            &first.user_id
        }
    }

    pub fn participant_ids(&self) -> [&str; 2] {
        let [first, second] = &self.participants;
        [&first.user_id, &second.user_id]
    }

    /// How many messages `user_id` has not read.
    pub fn unread_for(&self, user_id: &str) -> u64 {
        self.participant(user_id).map_or(0, |p| p.unread)
    }

    /// Records `message` (the next in the room) as the newest: the recipient has one more unread.
    pub fn append(&mut self, message: &Message, activity: u64) {
        self.last_seq = message.seq;
        self.last_message = Some(message.clone());
        self.activity = activity;
        let recipient = self.other(&message.sender_id).to_owned();
        if let Some(recipient) = self.participant_mut(&recipient) {
            recipient.unread += 1;
        }
    }

    /// Moves `user_id`'s read mark to `mark`, with `unread` messages from the other participant
    /// still after it. Marks only move forward: returns false (and changes nothing) otherwise.
    pub fn mark_read(&mut self, user_id: &str, mark: ReadMark, unread: u64) -> bool {
        match self.participant_mut(user_id) {
            Some(participant) if mark.0 > participant.read_seq => {
                participant.read_seq = mark.0;
                participant.unread = unread;
                true
            }
            _ => false,
        }
    }
}

/// A message as stored; `seq` counts from 1 per room, without gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub room_id: String,
    pub seq: u64,
    pub sender_id: String,
    pub text: String,
    pub client_msg_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Message {
    /// The beginning of the text, for a notification.
    pub fn preview(&self) -> String {
        let mut chars = self.text.chars();
        let mut preview: String = chars.by_ref().take(PREVIEW_CHARS).collect();
        if chars.next().is_some() {
            preview.push('…');
        }
        preview
    }
}

/// Who may share a room: a job's owner and a worker who applied to it. Which of the two asked
/// does not matter; the pair and the job make one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub job_id: String,
    pub employer_id: String,
    pub worker_id: String,
}

impl Pair {
    /// The pair `caller` and `other` form on the job owned by `owner_id`, if one of them owns it;
    /// `None` when neither does (whether the other applied is for the caller to check).
    pub fn on_job(job_id: &str, owner_id: &str, caller: &str, other: &str) -> Option<Self> {
        let worker_id = match (caller == owner_id, other == owner_id) {
            (true, false) => other,
            (false, true) => caller,
            _ => return None,
        };
        Some(Self {
            job_id: job_id.to_owned(),
            employer_id: owner_id.to_owned(),
            worker_id: worker_id.to_owned(),
        })
    }

    /// The key the room of this pair is found under. Job and user ids are UUIDs, so `/` cannot
    /// make two pairs' keys collide.
    pub fn key(&self) -> String {
        format!("{}/{}", self.job_id, self.worker_id)
    }
}

/// A message's text: 1 to 2,000 Unicode characters after trimming; line breaks and tabs are
/// kept, other control characters refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(input: &str) -> Result<Self, String> {
        let text = input.replace("\r\n", "\n");
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if let Some(bad) = text.chars().find(|&c| c.is_control() && !matches!(c, '\n' | '\t')) {
            return Err(format!(
                "must not contain control characters (found U+{:04X})",
                bad as u32
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The id a client gives a message so that resending it (after a timeout, a reconnect) stores
/// it once: 1 to 64 characters, unique per sender and room. Kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Self, String> {
        let length = input.chars().count();
        if !(1..=Self::MAX_CHARS).contains(&length) {
            return Err(format!("must be 1 to {} characters", Self::MAX_CHARS));
        }
        if input.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A read mark: the `seq` of a message, so at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMark(pub u64);

impl ReadMark {
    pub fn parse(seq: u64) -> Result<Self, String> {
        if seq == 0 {
            return Err("must be the seq of a message (1 or more)".to_owned());
        }
        Ok(Self(seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, sender: &str, text: &str) -> Message {
        Message {
            id: format!("m{seq}"),
            room_id: "r".to_owned(),
            seq,
            sender_id: sender.to_owned(),
            text: text.to_owned(),
            client_msg_id: format!("c{seq}"),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn room() -> Room {
        let pair = Pair::on_job("job", "boss", "boss", "worker").unwrap();
        Room::new("r".to_owned(), &pair, 1, OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn a_pair_needs_the_owner_on_exactly_one_side() {
        let from_owner = Pair::on_job("job", "boss", "boss", "worker").unwrap();
        let from_worker = Pair::on_job("job", "boss", "worker", "boss").unwrap();
        assert_eq!(from_owner, from_worker, "either side opens the same room");
        assert_eq!(from_owner.key(), "job/worker");
        assert_eq!(Pair::on_job("job", "boss", "a", "b"), None, "neither owns the job");
        assert_eq!(Pair::on_job("job", "boss", "boss", "boss"), None, "not with oneself");
    }

    #[test]
    fn text_is_trimmed_and_limited_in_characters_not_bytes() {
        assert_eq!(
            MessageText::parse("  안녕하세요\r\n내일 봬요 \n").unwrap().into_inner(),
            "안녕하세요\n내일 봬요"
        );
        assert!(MessageText::parse(" \n\t ").is_err());
        assert!(
            MessageText::parse(&"가".repeat(2000)).is_ok(),
            "2,000 characters of 3 bytes each"
        );
        assert!(MessageText::parse(&"가".repeat(2001)).is_err());
        assert!(MessageText::parse("a\u{7}b").is_err());
        assert!(MessageText::parse("줄\t바꿈\n").is_ok());
    }

    #[test]
    fn client_message_ids_are_1_to_64_characters() {
        assert_eq!(ClientMsgId::parse("c-1").unwrap().as_str(), "c-1");
        assert!(ClientMsgId::parse("").is_err());
        assert!(ClientMsgId::parse(&"가".repeat(64)).is_ok());
        assert!(ClientMsgId::parse(&"x".repeat(65)).is_err());
        assert!(ClientMsgId::parse("a\nb").is_err());
        assert!(ReadMark::parse(0).is_err());
    }

    #[test]
    fn messages_count_as_unread_for_the_recipient_until_marked() {
        let mut room = room();
        room.append(&message(1, "boss", "hi"), 2);
        room.append(&message(2, "boss", "there?"), 3);
        room.append(&message(3, "worker", "yes"), 4);
        assert_eq!((room.unread_for("worker"), room.unread_for("boss")), (2, 1));
        assert_eq!((room.last_seq, room.activity), (3, 4));

        assert!(room.mark_read("worker", ReadMark(2), 0));
        assert!(!room.mark_read("worker", ReadMark(1), 5), "marks never move back");
        assert!(!room.mark_read("stranger", ReadMark(3), 0));
        assert_eq!(room.participant("worker").unwrap().read_seq, 2);
        assert_eq!(room.unread_for("worker"), 0);
        assert_eq!(room.other("worker"), "boss");
    }

    #[test]
    fn previews_are_cut_at_a_character_boundary() {
        assert_eq!(message(1, "a", "짧다").preview(), "짧다");
        let long = message(1, "a", &"가".repeat(100)).preview();
        assert_eq!(long.chars().count(), PREVIEW_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
