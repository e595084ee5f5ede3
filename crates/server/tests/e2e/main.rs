//! End-to-end tests: the real `userpool` binary, started per test on a free loopback port with
//! its own database, driven over HTTP. One test binary (a module per area).

#![allow(unreachable_pub)]

mod api_admin;
mod api_auth;
mod api_client_secrets;
mod api_config;
mod api_groups;
mod api_idps;
mod api_passwordless;
mod api_schema;
mod api_sign_in;
mod api_sms;
mod api_updates;
mod api_user_list;
mod api_users;
mod aws_cli;
mod boto3;
mod browser;
mod cli;
mod code_flow;
mod discovery;
mod es256;
mod fake_idp;
mod federation;
mod helpers;
mod keys;
mod lifecycle;
mod multi_node;
mod oauth_errors;
mod relying_party;
mod saml;
mod saml_attacks;
mod saml_idp;
mod seed;
mod signin_holes;
mod smtp;
mod users_import;
