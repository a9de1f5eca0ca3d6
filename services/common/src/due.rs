//! Keys of work queued for later (mail, notification deliveries): `<unix ms, 20 digits>.<id>`,
//! so that one range read finds what is due and the first key says when to wake for the rest.

use time::OffsetDateTime;

fn unix_millis(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The key of `id`, due at `due`.
pub fn due_key(due: OffsetDateTime, id: &str) -> String {
    format!("{:020}.{id}", unix_millis(due))
}

/// When the work under `key` is due.
pub fn due_of(key: &str) -> Option<OffsetDateTime> {
    let millis: i128 = key.split('.').next()?.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).ok()
}

/// The exclusive upper bound of the keys due at `now`.
pub fn due_bound(now: OffsetDateTime) -> String {
    format!("{:020}", unix_millis(now) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_due_time_and_give_it_back() {
        let early = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let late = early + time::Duration::milliseconds(1500);
        let (a, b) = (due_key(early, "z"), due_key(late, "a"));
        assert!(a < b);
        assert_eq!(due_of(&b), Some(late));
        assert!(a < due_bound(early), "due at `now` is due");
        assert!(b > due_bound(early));
    }
}
