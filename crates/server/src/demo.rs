//! The demo pool a newcomer gets on an empty database: a pool with a domain on this server's
//! own host, a public app client with the code flow, a user to sign in as, and an access key
//! for the Cognito API.

use userpool_core::directory::Snapshot;
use userpool_core::model::*;
use userpool_core::settings::IssuerSettings;

use crate::seed::SeedPool;

pub(crate) const POOL_NAME: &str = "userpool-demo";
pub(crate) const CLIENT_NAME: &str = "demo-app";
pub(crate) const USERNAME: &str = "demo";
/// Well known on purpose: the demo pool exists only when no seed is given.
pub(crate) const PASSWORD: &str = "Demo-pass-1!";
pub(crate) const CALLBACK: &str = "http://localhost:3000/callback";
/// The description that marks the demo's access key.
pub(crate) const ACCESS_KEY_DESCRIPTION: &str = "demo (made on first start)";

/// The demo's access key; its secret only on the start that made it.
pub(crate) struct DemoKey {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

/// The domain of the demo pool: the public host itself when it can be a custom domain,
/// otherwise the prefix `demo`.
fn domain_for(settings: &IssuerSettings) -> String {
    let authority = settings
        .public_url()
        .split_once("://")
        .map_or("", |(_, a)| a)
        .to_ascii_lowercase();
    if authority.contains(['.', ':']) {
        authority
    } else {
        "demo".to_string()
    }
}

pub(crate) fn pool(settings: &IssuerSettings) -> SeedPool {
    SeedPool {
        config: UserPoolConfig {
            pool_name: POOL_NAME.into(),
            auto_verified_attributes: vec!["email".into()],
            username_configuration: Some(UsernameConfiguration {
                case_sensitive: false,
            }),
            ..Default::default()
        },
        domains: vec![DomainConfig {
            domain: domain_for(settings),
            managed_login_version: Some(2),
            ..Default::default()
        }],
        clients: vec![ClientConfig {
            client_name: CLIENT_NAME.into(),
            callback_urls: vec![CALLBACK.into()],
            logout_urls: vec!["http://localhost:3000/".into()],
            allowed_oauth_flows: vec!["code".into()],
            allowed_oauth_flows_user_pool_client: true,
            allowed_oauth_scopes: [
                "openid",
                "email",
                "phone",
                "profile",
                "aws.cognito.signin.user.admin",
            ]
            .map(String::from)
            .to_vec(),
            supported_identity_providers: vec!["COGNITO".into()],
            ..Default::default()
        }],
        users: vec![SeedUser {
            username: USERNAME.into(),
            password: Some(Secret::new(PASSWORD)),
            user_attributes: vec![
                AttributeType {
                    name: "email".into(),
                    value: "demo@example.com".into(),
                },
                AttributeType {
                    name: "email_verified".into(),
                    value: "true".into(),
                },
            ],
            enabled: true,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// What a newcomer needs to sign in, if the demo pool exists.
pub(crate) fn banner(
    snapshot: &Snapshot,
    settings: &IssuerSettings,
    client_id: Option<&str>,
    key: Option<&DemoKey>,
    region: &str,
) -> Option<String> {
    let view = snapshot
        .pools()
        .find(|v| v.pool.config.pool_name == POOL_NAME)?;
    let kind = view.pool.config.issuer_configuration.r#type;
    let local = settings.local_issuer_url(&view.pool.id, kind);
    let domain = view
        .domains
        .first()
        .map(|d| settings.domain_url(&d.config, &view.region))
        .unwrap_or_default();
    let client_id = client_id.unwrap_or("(see the database)");
    let api = match key {
        Some(DemoKey {
            id,
            secret: Some(secret),
        }) => format!(
            "  access key     {id}\n  \
             secret key     {secret}  (shown only now)\n  \
             Cognito API    {exports}\n                 \
             aws --endpoint-url {url} cognito-idp list-user-pools --max-results 10\n",
            exports = crate::access_keys::exports(id, secret, region),
            url = settings.public_url(),
        ),
        Some(DemoKey { id, secret: None }) => format!(
            "  access key     {id}  (its secret was shown on first start; \
             `userpool access-keys create` makes another)\n"
        ),
        None => String::new(),
    };
    Some(format!(
        "\nDemo user pool (made on first start; pass --seed FILE to configure your own):\n  \
         pool id        {pool}\n  \
         app client id  {client_id}  (public client, code flow; callback {CALLBACK})\n  \
         discovery      {local}/.well-known/openid-configuration\n  \
         JWKS           {local}/.well-known/jwks.json\n  \
         pool domain    {domain}\n  \
         sign in        {domain}/oauth2/authorize?client_id={client_id}&response_type=code&scope=openid+email&redirect_uri={CALLBACK}\n  \
         user           {USERNAME} / {PASSWORD}\n{api}",
        pool = view.pool.id,
    ))
}
