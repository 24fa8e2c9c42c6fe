//! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)):
//! pure rules. The decision on one poll of the token endpoint here, user codes in
//! [`user_code`], the token endpoint's handler in [`handler`].

pub(crate) mod handler;
mod user_code;

use std::time::{Duration, SystemTime};

use crate::error::{ErrorCode, OAuthError};

pub use user_code::UserCodeFormat;

/// How much the polling interval of a device code grows for every `slow_down` answer
/// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5), [RFC 8628 §3.5]).
///
/// > slow_down: A variant of "authorization_pending", the authorization request is still
/// > pending and polling should continue, but the interval MUST be increased by 5 seconds
/// > for this and all subsequent requests.
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(crate) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The largest polling interval a device code reaches, however often it is told to slow
/// down. It only bounds the arithmetic: a device code expires long before.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(86_400);

/// Whether a poll at `now` comes sooner than `interval` after the previous poll ([RFC 8628 §3.5]).
/// The first poll is never too fast. The interval is measured from the previous poll,
/// whatever that poll was answered (V-DEV-4).
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(crate) fn is_too_fast(
    last_poll: Option<SystemTime>,
    interval: Duration,
    now: SystemTime,
) -> bool {
    last_poll
        .and_then(|last| last.checked_add(interval))
        .is_some_and(|allowed| now < allowed)
}

/// The interval after one more `slow_down`: `step` (5 seconds, [`SLOW_DOWN_STEP`]) longer,
/// capped at [`MAX_INTERVAL`].
pub(crate) fn slowed_down(interval: Duration, step: Duration) -> Duration {
    interval.saturating_add(step).min(MAX_INTERVAL)
}

/// Where a device authorization request stands, as far as a poll is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollState {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

/// Decides one poll of the token endpoint
/// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5), [RFC 8628 §3.4]..[RFC
/// 8628 §3.5]).
/// `Ok(())` means: approved, redeem it now.
///
/// Final answers come first, so a device that polls too fast still learns at once that
/// it should stop: used up → `invalid_grant`; denied → `access_denied`; expired →
/// `expired_token`. Then a too-fast poll → `slow_down` (also when already approved: the
/// tokens come with the next poll that keeps the interval). Then pending →
/// `authorization_pending`.
///
/// [RFC 8628 §3.4]: https://www.rfc-editor.org/rfc/rfc8628#section-3.4
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(crate) fn check_poll(
    state: PollState,
    expires_at: SystemTime,
    too_fast: bool,
    now: SystemTime,
) -> Result<(), OAuthError> {
    match state {
        PollState::Redeemed => {
            return Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("device code already used"));
        }
        PollState::Denied => {
            return Err(OAuthError::new(ErrorCode::ACCESS_DENIED)
                .with_description("the user denied the request"));
        }
        PollState::Pending | PollState::Approved => {}
    }
    if now >= expires_at {
        return Err(
            OAuthError::new(ErrorCode::EXPIRED_TOKEN).with_description("device code expired")
        );
    }
    if too_fast {
        return Err(OAuthError::new(ErrorCode::SLOW_DOWN));
    }
    match state {
        PollState::Approved => Ok(()),
        _ => Err(OAuthError::new(ErrorCode::AUTHORIZATION_PENDING)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn code(r: Result<(), OAuthError>) -> String {
        r.err()
            .map_or("ok".into(), |e| e.code().as_str().to_owned())
    }

    #[test]
    fn dg_10_v_dev_4_interval_rule() {
        let mut interval = Duration::from_secs(5);
        let mut last = None;
        let mut answers = Vec::new();
        for t in [0, 2, 8, 23] {
            let fast = is_too_fast(last, interval, at(t));
            if fast {
                interval = slowed_down(interval, SLOW_DOWN_STEP);
            }
            last = Some(at(t));
            answers.push((fast, interval.as_secs()));
        }
        assert_eq!(answers, [(false, 5), (true, 10), (true, 15), (false, 15)]);
        assert_eq!(slowed_down(MAX_INTERVAL, SLOW_DOWN_STEP), MAX_INTERVAL);
        // No overflow panic on an absurd interval.
        assert!(!is_too_fast(Some(at(0)), Duration::MAX, at(1)));
    }

    #[test]
    fn dg_11_final_states_come_before_slow_down() {
        let exp = at(100);
        for (state, too_fast, now, error) in [
            (PollState::Redeemed, true, 1, "invalid_grant"),
            (PollState::Denied, true, 1, "access_denied"),
            (PollState::Pending, true, 100, "expired_token"),
            (PollState::Approved, true, 1, "slow_down"),
            (PollState::Pending, false, 1, "authorization_pending"),
            (PollState::Approved, false, 1, "ok"),
        ] {
            let outcome = code(check_poll(state, exp, too_fast, at(now)));
            assert_eq!(outcome, error, "{state:?}, too fast: {too_fast}");
        }
    }
}
