//! userpool-core owns the domain model of a Cognito-like user pool and the protocol decisions made
//! on it. It has no HTTP, SQL or network dependency: those live in `userpool-web`,
//! `userpool-store` and the binary, and reach core only through the traits in [`store`].

pub mod auth;
pub mod client_secret;
pub mod crypto;
pub mod directory;
pub mod discovery;
pub mod federation;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod limits;
pub mod markup;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod password;
pub mod settings;
pub mod sigv4;
pub mod srp;
pub mod store;
pub mod time;
pub mod triggers;
