//! The hosted pages: sign-up, email verification, sign-in, password reset
//! and the account page (server-rendered HTML, CSRF-protected forms).

pub mod account;
pub mod login;
pub mod reset;
pub mod signup;
pub mod verify;
