//! Sign-in: password checks, JWT access tokens, rotating refresh tokens, and
//! the extractors that give a handler the signed-in user.

pub mod extract;
pub mod password;
pub mod throttle;
pub mod tokens;

pub use extract::{CurrentUser, MaybeUser};
