//! Cognito's lockout curve (its documented sign-in throttling): after five failures a typed username is locked for
//! one second, doubling with each further failure up to fifteen minutes; attempts during a lock
//! do not count; fifteen quiet minutes, or a successful sign-in, start over.

use crate::store::FailureRecord;
use crate::time::Timestamp;

/// Failures before the first lock.
pub const FREE_ATTEMPTS: i64 = 5;
/// The longest lock, and the quiet time that resets the count.
pub const MAX_LOCK: i64 = 900;

/// Until when the name is locked, if it is.
pub fn locked_until(record: &FailureRecord) -> Option<Timestamp> {
    let n = record.failures;
    (n >= FREE_ATTEMPTS).then(|| {
        let exp = (n - FREE_ATTEMPTS).min(20) as u32;
        record.last_failure_at + 2i64.pow(exp).min(MAX_LOCK)
    })
}

/// Whether a sign-in attempt for this name must be refused now. Times are whole
/// seconds, so the lock holds through its last second: never shorter than the curve says.
pub fn is_locked(record: Option<&FailureRecord>, now: Timestamp) -> bool {
    record
        .filter(|r| now - r.last_failure_at < MAX_LOCK)
        .and_then(locked_until)
        .is_some_and(|until| now <= until)
}

/// The audit detail of a counted failure: `locked` when it locks the name (attempts during a
/// lock are refused unread and not recorded, so a flood adds nothing to the trail).
pub fn lock_detail(counted: &FailureRecord) -> &'static str {
    if counted.failures >= FREE_ATTEMPTS {
        "locked"
    } else {
        ""
    }
}

// Counters of different kinds live in one table; each kind has its own prefix, so no name
// a person can type reaches another kind's counter.

/// Password failures of an existing user: one counter whatever name or alias was typed.
pub fn user_key(username: &str) -> String {
    format!("p:u:{username}")
}

/// Password failures of a name that matches no user (so a lock reveals nothing).
pub fn name_key(typed: &str) -> String {
    format!("p:{}", who_name(typed))
}

/// TOTP failures of a user.
pub fn mfa_key(username: &str) -> String {
    format!("m:{username}")
}

/// Wrong guesses of a user's sign-in codes (`EMAIL_OTP`, `SMS_OTP` as a first factor).
pub fn otp_key(username: &str) -> String {
    format!("o:{username}")
}

/// Wrong guesses of one-time codes of `purpose` for `who` (see [`who_user`], [`who_name`]).
pub fn code_key(purpose: &str, who: &str) -> String {
    format!("c:{purpose}:{who}")
}

/// Codes of `purpose` sent for `who`: sending follows the same curve.
pub fn send_key(purpose: &str, who: &str) -> String {
    format!("s:{purpose}:{who}")
}

/// An existing user, in code and send keys.
pub fn who_user(username: &str) -> String {
    format!("u:{username}")
}

/// A typed name that matches no user, in code and send keys: unknown names are counted on
/// the same curve as real users, so answers and counts tell nothing about existence. Keyed by
/// a digest, so a key's size does not grow with what was typed.
pub fn who_name(typed: &str) -> String {
    let digest = crate::crypto::sha256(typed.trim().to_lowercase().as_bytes());
    format!("n:{}", crate::crypto::hex(&digest))
}

/// An address codes go to, in send keys: each address has its own budget, whichever users
/// name it, so sign-ups under ever new names cannot flood one phone or mailbox.
pub fn who_address(address: &str) -> String {
    let digest = crate::crypto::sha256(address.trim().to_lowercase().as_bytes());
    format!("d:{}", crate::crypto::hex(&digest))
}

/// Codes of one purpose sent for one holder within [`SEND_WINDOW`] before sending pauses.
pub const SENDS_PER_WINDOW: i64 = 5;
/// The window of the send limit, and the quiet time that starts it over.
pub const SEND_WINDOW: i64 = 3_600;

// The store purges counters an hour quiet (`purge_expired`): no window may be longer.
const _: () = assert!(SEND_WINDOW >= MAX_LOCK && SEND_WINDOW == 3_600);

/// Whether sending another code must wait: [`SENDS_PER_WINDOW`] codes went out, the last one
/// less than [`SEND_WINDOW`] ago. With five guesses a code, at most 25 guesses an hour.
pub fn sends_paused(record: Option<&FailureRecord>, now: Timestamp) -> bool {
    record.is_some_and(|r| r.failures >= SENDS_PER_WINDOW && now - r.last_failure_at < SEND_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(failures: i64, at: Timestamp) -> FailureRecord {
        FailureRecord {
            failures,
            last_failure_at: at,
        }
    }

    #[test]
    fn sends_pause_after_five_in_an_hour_and_the_store_purges_only_quiet_counters() {
        assert!(!sends_paused(Some(&rec(4, 100)), 101));
        assert!(sends_paused(Some(&rec(5, 100)), 101));
        assert!(sends_paused(Some(&rec(5, 100)), 100 + 3599));
        assert!(!sends_paused(Some(&rec(5, 100)), 100 + 3600));
    }

    #[test]
    fn the_curve_doubles_from_one_second_to_fifteen_minutes() {
        assert_eq!(locked_until(&rec(4, 100)), None);
        assert_eq!(locked_until(&rec(5, 100)), Some(101));
        assert_eq!(locked_until(&rec(6, 100)), Some(102));
        assert_eq!(locked_until(&rec(10, 100)), Some(132));
        assert_eq!(locked_until(&rec(15, 100)), Some(100 + 900));
        assert_eq!(locked_until(&rec(60, 100)), Some(100 + 900));
        assert!(is_locked(Some(&rec(5, 100)), 100));
        assert!(
            is_locked(Some(&rec(5, 100)), 101),
            "at least one whole second"
        );
        assert!(!is_locked(Some(&rec(5, 100)), 102));
        assert!(is_locked(Some(&rec(15, 100)), 999));
        assert!(
            !is_locked(Some(&rec(15, 100)), 1000),
            "fifteen quiet minutes reset"
        );
        assert!(!is_locked(None, 0));
    }
}
