//! The conformance cases, one function each.

use std::sync::Arc;

use userpool_core::client_secret::ClientSecret;
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::ids;
use userpool_core::keys::{KeyPurpose, MasterKey, RotationPlan, new_signing_key};
use userpool_core::model::*;
use userpool_core::password::PasswordHash;
use userpool_core::store::*;

use super::Connect;

const NOW: i64 = 1_800_000_000;

fn pool(id: &str) -> PoolRecord {
    PoolRecord {
        id: id.to_string(),
        config: UserPoolConfig {
            pool_name: format!("pool {id}"),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        key_generation: 0,
        version: 0,
    }
}

/// A new pool in `store`; its ID.
pub(super) async fn new_pool(store: &dyn Store) -> String {
    let id = ids::new_pool_id("us-test-1");
    assert!(store.insert_pool(&pool(&id)).await.unwrap());
    id
}

fn code(pool_id: &str, secret: &str) -> CodeRecord {
    CodeRecord {
        hash: TokenHash::of(secret),
        pool_id: pool_id.to_string(),
        client_id: "client".into(),
        payload: r#"{"sub":"abc"}"#.into(),
        created_at: NOW,
        expires_at: NOW + 300,
    }
}

pub async fn pools_are_created_once_and_read_back(b: &impl Connect) {
    let s = b.connect().await;
    let id = ids::new_pool_id("us-test-1");
    let mut p = pool(&id);
    p.config.issuer_configuration.r#type = IssuerType::Updated;
    p.config.username_attributes = vec!["email".into()];
    assert!(s.insert_pool(&p).await.unwrap());
    let mut changed = p.clone();
    changed.config.pool_name = "other".into();
    assert!(
        !s.insert_pool(&changed).await.unwrap(),
        "second insert is a no-op"
    );
    assert_eq!(s.get_pool(&id).await.unwrap(), Some(p));
    assert_eq!(s.get_pool("us-test-1_missing").await.unwrap(), None);
    assert!(s.list_pools().await.unwrap().iter().any(|x| x.id == id));
}

pub async fn clients_keep_sealed_secrets_and_config(b: &impl Connect) {
    let s = b.connect().await;
    let pool_id = new_pool(&*s).await;
    let secret = ids::new_client_secret();
    let master = MasterKey::from_bytes(&[3u8; 32]);
    let client_id = ids::new_client_id();
    let c = ClientRecord {
        pool_id: pool_id.clone(),
        client_id: client_id.clone(),
        config: ClientConfig {
            client_name: "web".into(),
            callback_urls: vec!["https://app.test/cb".into()],
            allowed_oauth_flows: vec!["code".into()],
            ..Default::default()
        },
        secrets: vec![
            ClientSecret::legacy(TokenHash::of("from-before-sealing"), NOW),
            ClientSecret::seal(&master, &pool_id, &client_id, &secret, NOW + 1),
        ],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_client(&c).await.unwrap());
    assert!(!s.insert_client(&c).await.unwrap());
    let back = s.get_client(&pool_id, &c.client_id).await.unwrap().unwrap();
    assert_eq!(back, c);
    assert!(back.secret_matches(&master, &secret));
    assert!(back.secret_matches(&master, "from-before-sealing"));
    assert_eq!(back.shown_secret(&master), Some(secret));
    assert_eq!(
        s.get_client("us-test-1_other", &c.client_id).await.unwrap(),
        None
    );
    assert_eq!(
        s.find_client(&c.client_id).await.unwrap().as_ref(),
        Some(&c)
    );
    assert_eq!(s.find_client("nope").await.unwrap(), None);
    let other_pool = new_pool(&*s).await;
    let clash = ClientRecord {
        pool_id: other_pool,
        ..c.clone()
    };
    assert!(
        !s.insert_client(&clash).await.unwrap(),
        "client IDs are unique across pools"
    );
    assert_eq!(s.list_clients(&pool_id).await.unwrap(), vec![c]);
}

pub async fn a_deleted_pool_takes_everything_with_it(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let keep = new_pool(&*s).await;
    for pool in [&p, &keep] {
        s.insert_user(&user(pool, "vera", "vera@example.test"))
            .await
            .unwrap();
        s.record_sign_in_failure(pool, "p:u:vera", NOW, 900)
            .await
            .unwrap();
        s.put_user_code(pool, "vera", "reset", &TokenHash::of("1"), NOW + 60)
            .await
            .unwrap();
    }
    assert_eq!(s.count_users(&p).await.unwrap(), 1);
    let c = ClientRecord {
        pool_id: p.clone(),
        client_id: ids::new_client_id(),
        config: ClientConfig {
            client_name: "web".into(),
            ..Default::default()
        },
        secrets: vec![],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    s.insert_client(&c).await.unwrap();
    assert!(s.delete_client(&p, &c.client_id).await.unwrap());
    assert!(!s.delete_client(&p, &c.client_id).await.unwrap());
    s.insert_client(&c).await.unwrap();
    assert!(s.delete_pool(&p).await.unwrap());
    assert!(!s.delete_pool(&p).await.unwrap());
    assert_eq!(s.get_pool(&p).await.unwrap(), None);
    assert_eq!(s.find_client(&c.client_id).await.unwrap(), None);
    assert_eq!(s.count_users(&p).await.unwrap(), 0);
    assert_eq!(s.get_sign_in_failures(&p, "p:u:vera").await.unwrap(), None);
    // The other pool keeps all of its own.
    assert_eq!(s.count_users(&keep).await.unwrap(), 1);
    assert!(
        s.get_sign_in_failures(&keep, "p:u:vera")
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn pools_and_clients_are_updated_by_compare_and_swap(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let id = new_pool(&*node_a).await;
    let read_by_b = node_b.get_pool(&id).await.unwrap().unwrap();
    let mut p = node_a.get_pool(&id).await.unwrap().unwrap();
    p.config.pool_name = "renamed".into();
    assert_eq!(node_a.update_pool(&p).await.unwrap(), CasOutcome::Applied);
    let mut stale = read_by_b.clone();
    stale.config.pool_name = "lost update".into();
    assert_eq!(node_b.update_pool(&stale).await.unwrap(), CasOutcome::Stale);
    let back = node_b.get_pool(&id).await.unwrap().unwrap();
    assert_eq!(
        (back.config.pool_name.as_str(), back.version),
        ("renamed", 1)
    );
    assert_eq!(
        node_a.update_pool(&pool("us-test-1_gone")).await.unwrap(),
        CasOutcome::Stale
    );

    let c = ClientRecord {
        pool_id: id.clone(),
        client_id: ids::new_client_id(),
        config: ClientConfig {
            client_name: "web".into(),
            ..Default::default()
        },
        secrets: vec![],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(node_a.insert_client(&c).await.unwrap());
    let mut renamed = c.clone();
    renamed.config.client_name = "app".into();
    renamed.secrets = vec![ClientSecret::legacy(TokenHash::of("s1"), NOW)];
    assert_eq!(
        node_a.update_client(&renamed).await.unwrap(),
        CasOutcome::Applied
    );
    assert_eq!(node_b.update_client(&c).await.unwrap(), CasOutcome::Stale);
    let back = node_b.get_client(&id, &c.client_id).await.unwrap().unwrap();
    assert_eq!(back.config.client_name, "app");
    assert_eq!(back.secrets, renamed.secrets);
    assert_eq!(back.version, 1);
}

pub async fn updates_record_when_they_happened(b: &impl Connect) {
    let s = b.connect().await;
    let id = new_pool(&*s).await;
    let mut p = s.get_pool(&id).await.unwrap().unwrap();
    assert_eq!(
        p.updated_at, NOW,
        "a new pool was last changed when it was made"
    );
    p.updated_at = NOW + 60;
    assert_eq!(s.update_pool(&p).await.unwrap(), CasOutcome::Applied);
    let back = s.get_pool(&id).await.unwrap().unwrap();
    assert_eq!((back.created_at, back.updated_at), (NOW, NOW + 60));
    assert!(s.list_pools().await.unwrap().contains(&back));

    let c = ClientRecord {
        pool_id: id.clone(),
        client_id: ids::new_client_id(),
        config: ClientConfig {
            client_name: "web".into(),
            ..Default::default()
        },
        secrets: vec![],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_client(&c).await.unwrap());
    let mut changed = c.clone();
    changed.updated_at = NOW + 120;
    assert_eq!(
        s.update_client(&changed).await.unwrap(),
        CasOutcome::Applied
    );
    let back = s.get_client(&id, &c.client_id).await.unwrap().unwrap();
    assert_eq!((back.created_at, back.updated_at), (NOW, NOW + 120));
    assert_eq!(s.list_clients(&id).await.unwrap(), vec![back]);
}

pub async fn domains_are_updated_and_deleted_by_their_pool(b: &impl Connect) {
    let s = b.connect().await;
    let a = new_pool(&*s).await;
    let other = new_pool(&*s).await;
    let name = format!("d{}", ids::new_client_id());
    let mut d = DomainRecord {
        pool_id: a.clone(),
        config: DomainConfig {
            domain: name.clone(),
            managed_login_version: Some(1),
            ..Default::default()
        },
        created_at: NOW,
    };
    assert!(s.insert_domain(&d).await.unwrap());
    d.config.managed_login_version = Some(2);
    assert!(s.update_domain(&d).await.unwrap());
    assert_eq!(s.get_domain(&name).await.unwrap(), Some(d.clone()));
    let theirs = DomainRecord {
        pool_id: other.clone(),
        ..d.clone()
    };
    assert!(
        !s.update_domain(&theirs).await.unwrap(),
        "another pool cannot change the domain"
    );
    assert!(!s.delete_domain(&other, &name).await.unwrap());
    assert_eq!(s.get_domain(&name).await.unwrap(), Some(d.clone()));
    assert!(s.delete_domain(&a, &name.to_uppercase()).await.unwrap());
    assert!(!s.delete_domain(&a, &name).await.unwrap());
    assert_eq!(s.get_domain(&name).await.unwrap(), None);
    assert!(
        !s.update_domain(&d).await.unwrap(),
        "a deleted domain is gone"
    );
    assert!(
        s.insert_domain(&theirs).await.unwrap(),
        "a freed domain can be taken"
    );
}

pub async fn domains_are_unique_across_pools(b: &impl Connect) {
    let s = b.connect().await;
    let a = new_pool(&*s).await;
    let other = new_pool(&*s).await;
    let name = format!("d{}", ids::new_client_id());
    let d = |pool_id: &str| DomainRecord {
        pool_id: pool_id.to_string(),
        config: DomainConfig {
            domain: name.clone(),
            ..Default::default()
        },
        created_at: NOW,
    };
    assert!(s.insert_domain(&d(&a)).await.unwrap());
    assert!(!s.insert_domain(&d(&other)).await.unwrap());
    assert_eq!(s.get_domain(&name).await.unwrap().unwrap().pool_id, a);
    assert_eq!(
        s.get_domain(&name.to_uppercase())
            .await
            .unwrap()
            .unwrap()
            .pool_id,
        a,
        "domains match case-insensitively"
    );
    assert!(s.list_domains().await.unwrap().contains(&d(&a)));
}

pub async fn configuration_objects_are_listed_per_pool(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let rs = ResourceServerRecord {
        pool_id: p.clone(),
        config: ResourceServerConfig {
            identifier: "https://api.test".into(),
            name: "api".into(),
            scopes: vec![ResourceServerScope {
                scope_name: "read".into(),
                scope_description: "Read".into(),
            }],
        },
    };
    assert!(s.insert_resource_server(&rs).await.unwrap());
    assert!(!s.insert_resource_server(&rs).await.unwrap());
    assert_eq!(s.list_resource_servers(&p).await.unwrap(), vec![rs]);
    let idp = IdentityProviderRecord {
        pool_id: p.clone(),
        config: IdentityProviderConfig {
            provider_name: "Corp".into(),
            provider_type: "OIDC".into(),
            provider_details: [("client_id".to_string(), "x".to_string())].into(),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_identity_provider(&idp).await.unwrap());
    assert!(!s.insert_identity_provider(&idp).await.unwrap());
    assert_eq!(s.list_identity_providers(&p).await.unwrap(), vec![idp]);
    let g = GroupRecord {
        pool_id: p.clone(),
        config: GroupConfig {
            group_name: "admins".into(),
            precedence: Some(1),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_group(&g).await.unwrap());
    assert!(!s.insert_group(&g).await.unwrap());
    assert_eq!(s.list_groups(&p).await.unwrap(), vec![g]);
    assert!(s.list_groups("us-test-1_none").await.unwrap().is_empty());
}

pub async fn users_and_group_memberships_round_trip(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    for name in ["a", "b"] {
        let g = GroupRecord {
            pool_id: p.clone(),
            config: GroupConfig {
                group_name: name.into(),
                ..Default::default()
            },
            created_at: NOW,
            updated_at: NOW,
            version: 0,
        };
        s.insert_group(&g).await.unwrap();
    }
    let u = UserRecord {
        pool_id: p.clone(),
        username: "alice".into(),
        sub: random_token(),
        status: UserStatus::ForceChangePassword,
        enabled: true,
        password_hash: Some(PasswordHash::from_stored("$argon2id$stub".into())),
        password_set_at: Some(NOW - 10),
        tokens_valid_from_ms: Some(NOW * 1000 + 123),
        totp_secret: Some("kek:sealed".into()),
        mfa_preference: Some(userpool_core::model::MfaPreference {
            enabled: vec![userpool_core::model::MfaFactor::SoftwareToken],
            preferred: None,
        }),
        srp_verifier: Some("kek:verifier".into()),
        attributes: vec![AttributeType {
            name: "email".into(),
            value: "alice@example.test".into(),
        }],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_user(&u).await.unwrap());
    assert!(!s.insert_user(&u).await.unwrap());
    assert_eq!(s.get_user(&p, "alice").await.unwrap(), Some(u.clone()));
    assert_eq!(s.get_user(&p, "bob").await.unwrap(), None);
    let alone = s.get_user_with_groups(&p, "alice").await.unwrap();
    assert_eq!(alone, Some((u.clone(), vec![])), "no groups yet");
    assert!(s.add_user_to_group(&p, "alice", "b").await.unwrap());
    assert!(s.add_user_to_group(&p, "alice", "a").await.unwrap());
    assert!(!s.add_user_to_group(&p, "alice", "a").await.unwrap());
    assert_eq!(s.list_user_groups(&p, "alice").await.unwrap(), ["a", "b"]);
    let with = s.get_user_with_groups(&p, "alice").await.unwrap();
    assert_eq!(with, Some((u, vec!["a".to_string(), "b".to_string()])));
    assert_eq!(s.get_user_with_groups(&p, "bob").await.unwrap(), None);
    assert!(
        s.add_user_to_group(&p, "alice", "missing").await.is_err(),
        "membership of an unknown group is refused by the schema"
    );
}

pub async fn groups_are_updated_deleted_and_list_their_members(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let mut g = GroupRecord {
        pool_id: p.clone(),
        config: GroupConfig {
            group_name: "staff".into(),
            description: Some("everyone".into()),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_group(&g).await.unwrap());
    assert_eq!(s.get_group(&p, "staff").await.unwrap(), Some(g.clone()));
    assert_eq!(s.get_group(&p, "nobody").await.unwrap(), None);
    g.config.precedence = Some(3);
    g.config.description = None;
    g.updated_at = NOW + 5;
    assert_eq!(s.update_group(&g).await.unwrap(), CasOutcome::Applied);
    assert_eq!(
        s.update_group(&g).await.unwrap(),
        CasOutcome::Stale,
        "a second writer of the same version loses"
    );
    g.version += 1;
    assert_eq!(s.get_group(&p, "staff").await.unwrap(), Some(g.clone()));
    let mut ghost = g.clone();
    ghost.config.group_name = "ghost".into();
    assert_eq!(
        s.update_group(&ghost).await.unwrap(),
        CasOutcome::Stale,
        "no such group"
    );
    assert_eq!(s.get_group(&p, "ghost").await.unwrap(), None);

    for name in ["carol", "alice", "bob", "dave"] {
        let u = UserRecord {
            pool_id: p.clone(),
            username: name.into(),
            sub: random_token(),
            status: UserStatus::Confirmed,
            enabled: true,
            password_hash: Some(PasswordHash::from_stored("$argon2id$stub".into())),
            password_set_at: Some(NOW),
            tokens_valid_from_ms: None,
            totp_secret: None,
            mfa_preference: None,
            srp_verifier: None,
            attributes: vec![],
            created_at: NOW,
            updated_at: NOW,
            version: 0,
        };
        assert!(s.insert_user(&u).await.unwrap());
        if name != "dave" {
            assert!(s.add_user_to_group(&p, name, "staff").await.unwrap());
        }
    }
    let names = |users: Vec<UserRecord>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    let first = s.list_group_users(&p, "staff", None, 2).await.unwrap();
    assert_eq!(names(first), ["alice", "bob"]);
    let rest = s
        .list_group_users(&p, "staff", Some("bob"), 2)
        .await
        .unwrap();
    assert_eq!(names(rest), ["carol"]);
    assert!(
        s.list_group_users(&p, "ghost", None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(s.remove_user_from_group(&p, "bob", "staff").await.unwrap());
    assert!(!s.remove_user_from_group(&p, "bob", "staff").await.unwrap());
    assert!(!s.remove_user_from_group(&p, "dave", "staff").await.unwrap());
    assert!(s.list_user_groups(&p, "bob").await.unwrap().is_empty());
    let left = s.list_group_users(&p, "staff", None, 10).await.unwrap();
    assert_eq!(names(left), ["alice", "carol"]);

    assert!(s.delete_group(&p, "staff").await.unwrap());
    assert!(!s.delete_group(&p, "staff").await.unwrap());
    assert_eq!(s.get_group(&p, "staff").await.unwrap(), None);
    assert!(
        s.list_user_groups(&p, "alice").await.unwrap().is_empty(),
        "memberships go with it"
    );
    assert!(
        s.get_user(&p, "alice").await.unwrap().is_some(),
        "users stay"
    );
    assert!(s.insert_group(&g).await.unwrap(), "the name is free again");
    assert!(
        s.list_group_users(&p, "staff", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_code_is_consumed_once_then_reported_as_replayed(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let secret = random_token();
    let c = code(&p, &secret);
    s.insert_code(&c).await.unwrap();
    let h = TokenHash::of(&secret);
    assert_eq!(
        s.consume_code(&h, NOW + 1).await.unwrap(),
        ConsumeOutcome::Consumed(c.clone())
    );
    assert_eq!(
        s.consume_code(&h, NOW + 2).await.unwrap(),
        ConsumeOutcome::AlreadyConsumed(c)
    );
    assert_eq!(
        s.consume_code(&TokenHash::of("unknown"), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Missing
    );
}

pub async fn racing_nodes_consume_one_code_exactly_once(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    for round in 0..5 {
        let secret = random_token();
        node_a.insert_code(&code(&p, &secret)).await.unwrap();
        let h = TokenHash::of(&secret);
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = if i % 2 == 0 {
                    node_a.clone()
                } else {
                    node_b.clone()
                };
                let (h, barrier) = (h.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.consume_code(&h, NOW + 1).await.unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                ConsumeOutcome::Consumed(_) => won += 1,
                ConsumeOutcome::AlreadyConsumed(_) => {}
                ConsumeOutcome::Missing => panic!("round {round}: a racer saw no code"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one racer consumes the code");
    }
}

/// A code's use and its family's start are one transaction: of racing redemptions on two
/// nodes one wins and its family exists with its first refresh token; a code whose family a
/// replay barred is spent and issues nothing.
pub async fn racing_redemptions_use_a_code_and_start_its_family_once(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    for round in 0..3 {
        let secret = random_token();
        node_a.insert_code(&code(&p, &secret)).await.unwrap();
        let h = TokenHash::of(&secret);
        assert!(matches!(
            node_b.peek_code(&h).await.unwrap(),
            Some((_, false))
        ));
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = if i % 2 == 0 {
                    node_a.clone()
                } else {
                    node_b.clone()
                };
                let (h, barrier, p) = (h.clone(), barrier.clone(), p.clone());
                tokio::spawn(async move {
                    let f = family(&p);
                    let t = refresh(&f.id, &random_token());
                    barrier.wait().await;
                    let outcome = store.redeem_code(&h, NOW + 1, &f, &t).await.unwrap();
                    (outcome, f, t)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (outcome, f, t) = t.await.unwrap();
            match outcome {
                ConsumeOutcome::Consumed(()) => winners.push((f, t)),
                ConsumeOutcome::AlreadyConsumed(()) => {
                    assert_eq!(
                        node_a.get_family(&f.id).await.unwrap(),
                        None,
                        "a loser starts nothing"
                    );
                }
                ConsumeOutcome::Missing => panic!("round {round}: a racer saw no code"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one redemption");
        let (f, t) = &winners[0];
        assert_eq!(node_b.get_family(&f.id).await.unwrap().as_ref(), Some(f));
        assert_eq!(
            node_b.find_refresh(&t.hash).await.unwrap().as_ref(),
            Some(t)
        );
        assert!(matches!(
            node_a.peek_code(&h).await.unwrap(),
            Some((_, true))
        ));
    }
    // A replay barred the family before its redemption: the code is spent, nothing issued.
    let secret = random_token();
    node_a.insert_code(&code(&p, &secret)).await.unwrap();
    let f = family(&p);
    node_a.bar_family(&f, NOW).await.unwrap();
    let h = TokenHash::of(&secret);
    let t = refresh(&f.id, &random_token());
    assert_eq!(
        node_a.redeem_code(&h, NOW + 1, &f, &t).await.unwrap(),
        ConsumeOutcome::AlreadyConsumed(())
    );
    assert_eq!(node_a.find_refresh(&t.hash).await.unwrap(), None);
    assert!(matches!(
        node_a.peek_code(&h).await.unwrap(),
        Some((_, true))
    ));
    assert_eq!(
        node_a
            .redeem_code(
                &TokenHash::of("unknown"),
                NOW,
                &family(&p),
                &refresh("x", "y")
            )
            .await
            .unwrap(),
        ConsumeOutcome::Missing
    );
}

/// Many redemptions at one moment (SQLite commits them in batches): each gets its own outcome,
/// as if alone.
pub async fn simultaneous_redemptions_each_get_their_own_outcome(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let barred = family(&p);
    s.bar_family(&barred, NOW).await.unwrap();
    // (code, family) pairs: 24 good codes, 4 of them redeemed twice, 6 unknown codes, and one
    // code whose family a replay barred.
    let mut jobs = Vec::new();
    for i in 0..24 {
        let secret = random_token();
        s.insert_code(&code(&p, &secret)).await.unwrap();
        jobs.push((secret.clone(), family(&p), "good"));
        if i < 4 {
            jobs.push((secret, family(&p), "good"));
        }
    }
    for _ in 0..6 {
        jobs.push((random_token(), family(&p), "unknown"));
    }
    let secret = random_token();
    s.insert_code(&code(&p, &secret)).await.unwrap();
    jobs.push((secret, barred.clone(), "barred"));
    let barrier = Arc::new(tokio::sync::Barrier::new(jobs.len()));
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|(secret, f, kind)| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                let t = refresh(&f.id, &random_token());
                barrier.wait().await;
                let outcome = s
                    .redeem_code(&TokenHash::of(&secret), NOW + 1, &f, &t)
                    .await
                    .unwrap();
                (secret, kind, outcome, f, t)
            })
        })
        .collect();
    let mut consumed = std::collections::HashMap::<String, usize>::new();
    let mut replayed = 0;
    for task in tasks {
        let (secret, kind, outcome, f, t) = task.await.unwrap();
        match (kind, &outcome) {
            ("unknown", o) => assert_eq!(*o, ConsumeOutcome::Missing),
            ("barred", o) => {
                assert_eq!(*o, ConsumeOutcome::AlreadyConsumed(()));
                assert_eq!(s.find_refresh(&t.hash).await.unwrap(), None);
            }
            (_, ConsumeOutcome::Consumed(())) => {
                *consumed.entry(secret).or_default() += 1;
                assert_eq!(s.get_family(&f.id).await.unwrap().as_ref(), Some(&f));
                assert_eq!(s.find_refresh(&t.hash).await.unwrap().as_ref(), Some(&t));
            }
            (_, ConsumeOutcome::AlreadyConsumed(())) => {
                replayed += 1;
                assert_eq!(s.get_family(&f.id).await.unwrap(), None);
            }
            (_, ConsumeOutcome::Missing) => panic!("a stored code was missing"),
        }
    }
    assert_eq!(consumed.len(), 24, "every good code is used");
    assert!(consumed.values().all(|n| *n == 1), "and each exactly once");
    assert_eq!(
        replayed, 4,
        "the second use of each code used twice is a replay"
    );
}

pub async fn key_rotation_is_compare_and_swap(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let m = MasterKey::from_bytes(&[9u8; 32]);
    let first: Vec<_> = KeyPurpose::ALL
        .iter()
        .map(|k| new_signing_key(&p, *k, &m, NOW, NOW))
        .collect();
    assert_eq!(
        s.rotate_signing_keys(&p, 0, &first, NOW).await.unwrap(),
        CasOutcome::Applied
    );
    assert_eq!(s.get_pool(&p).await.unwrap().unwrap().key_generation, 1);
    let plan = RotationPlan::scheduled(NOW + 10);
    let second: Vec<_> = KeyPurpose::ALL
        .iter()
        .map(|k| new_signing_key(&p, *k, &m, NOW + 10, plan.activates_at))
        .collect();
    assert_eq!(
        s.rotate_signing_keys(&p, 0, &second, plan.retire_previous_at)
            .await
            .unwrap(),
        CasOutcome::Stale,
        "a stale generation writes nothing"
    );
    let by_kid = |mut v: Vec<SigningKeyRecord>| {
        v.sort_by(|a, b| a.kid.cmp(&b.kid));
        v
    };
    assert_eq!(
        by_kid(s.list_signing_keys(&p).await.unwrap()),
        by_kid(first.clone())
    );
    assert_eq!(
        s.rotate_signing_keys(&p, 1, &second, plan.retire_previous_at)
            .await
            .unwrap(),
        CasOutcome::Applied
    );
    let keys = s.list_signing_keys(&p).await.unwrap();
    assert_eq!(keys.len(), 4);
    for k in &keys {
        let expected = first
            .iter()
            .any(|f| f.kid == k.kid)
            .then_some(plan.retire_previous_at);
        assert_eq!(k.retires_at, expected, "old keys retire, new keys do not");
    }
    assert_eq!(
        by_kid(keys[2..].to_vec()),
        by_kid(second),
        "sealed key material round-trips"
    );
}

pub async fn racing_rotations_apply_once(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    let m = Arc::new(MasterKey::from_bytes(&[3u8; 32]));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            let (p, m) = (p.clone(), m.clone());
            tokio::spawn(async move {
                let keys = [new_signing_key(&p, KeyPurpose::Id, &m, NOW, NOW)];
                store.rotate_signing_keys(&p, 0, &keys, NOW).await.unwrap()
            })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        if t.await.unwrap() == CasOutcome::Applied {
            applied += 1;
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(node_b.list_signing_keys(&p).await.unwrap().len(), 1);
}

pub async fn purge_removes_expired_codes_and_retired_keys(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let m = MasterKey::from_bytes(&[4u8; 32]);
    let secret = random_token();
    s.insert_code(&code(&p, &secret)).await.unwrap();
    let old = new_signing_key(&p, KeyPurpose::Id, &m, NOW, NOW);
    s.rotate_signing_keys(&p, 0, &[old], NOW).await.unwrap();
    let new = new_signing_key(&p, KeyPurpose::Id, &m, NOW, NOW);
    s.rotate_signing_keys(&p, 1, std::slice::from_ref(&new), NOW + 100)
        .await
        .unwrap();
    s.purge_expired(NOW + 50).await.unwrap();
    assert_eq!(s.list_signing_keys(&p).await.unwrap().len(), 2);
    assert!(matches!(
        s.consume_code(&TokenHash::of(&secret), NOW + 1)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed(_)
    ));
    s.record_sign_in_failure(&p, "p:u:old", NOW, 900)
        .await
        .unwrap();
    s.record_sign_in_failure(&p, "p:u:recent", NOW + 300, 900)
        .await
        .unwrap();
    s.purge_expired(NOW + 301).await.unwrap();
    assert_eq!(s.list_signing_keys(&p).await.unwrap(), vec![new]);
    s.purge_expired(NOW + 3601).await.unwrap();
    assert_eq!(
        s.get_sign_in_failures(&p, "p:u:old").await.unwrap(),
        None,
        "counters an hour quiet are gone"
    );
    assert!(
        s.get_sign_in_failures(&p, "p:u:recent")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        s.consume_code(&TokenHash::of(&secret), NOW + 302)
            .await
            .unwrap(),
        ConsumeOutcome::Missing
    );
}

pub(super) fn user(pool_id: &str, username: &str, email: &str) -> UserRecord {
    UserRecord {
        pool_id: pool_id.to_string(),
        username: username.to_string(),
        sub: random_token(),
        status: UserStatus::Confirmed,
        enabled: true,
        password_hash: Some(PasswordHash::from_stored("$argon2id$stub".into())),
        password_set_at: Some(NOW),
        tokens_valid_from_ms: None,
        totp_secret: None,
        mfa_preference: None,
        srp_verifier: None,
        attributes: vec![
            AttributeType {
                name: "email".into(),
                value: email.into(),
            },
            AttributeType {
                name: "phone_number".into(),
                value: "+15550100".into(),
            },
        ],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    }
}

pub async fn users_are_found_by_alias(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let u = user(&p, "u1", "Dana@Example.Test");
    s.insert_user(&u).await.unwrap();
    let found = |attr: &'static str, value: &'static str| {
        let (s, p) = (s.clone(), p.clone());
        async move {
            s.find_users_by_alias(&p, attr, value)
                .await
                .unwrap()
                .first()
                .map(|u| u.username.clone())
        }
    };
    assert_eq!(
        found("email", "dana@example.test").await.as_deref(),
        Some("u1")
    );
    assert_eq!(
        found("email", "DANA@EXAMPLE.TEST").await.as_deref(),
        Some("u1")
    );
    assert_eq!(
        found("phone_number", "+15550100").await.as_deref(),
        Some("u1")
    );
    assert_eq!(found("email", "other@example.test").await, None);
    assert_eq!(
        found("name", "u1").await,
        None,
        "only alias attributes are searched"
    );
    assert!(
        s.find_users_by_alias("us-test-1_other", "email", "dana@example.test")
            .await
            .unwrap()
            .is_empty()
    );
    // Every holder of a value, oldest first (which one counts is the caller's rule).
    let mut later = user(&p, "u2", "dana@example.test");
    later.sub = random_token();
    later.created_at = NOW + 1;
    s.insert_user(&later).await.unwrap();
    let holders: Vec<String> = s
        .find_users_by_alias(&p, "email", "dana@example.test")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(holders, ["u1", "u2"]);
}

pub async fn sessions_round_trip_and_end(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let cookie = random_token();
    let rec = SessionRecord {
        hash: TokenHash::of(&cookie),
        pool_id: p.clone(),
        username: "alice".into(),
        payload: "{}".into(),
        auth_time: NOW,
        created_at: NOW,
        expires_at: NOW + 3600,
    };
    s.insert_session(&rec).await.unwrap();
    assert_eq!(
        s.get_session(&TokenHash::of(&cookie)).await.unwrap(),
        Some(rec.clone())
    );
    s.delete_session(&TokenHash::of(&cookie)).await.unwrap();
    assert_eq!(s.get_session(&TokenHash::of(&cookie)).await.unwrap(), None);
    let other = random_token();
    s.insert_session(&SessionRecord {
        hash: TokenHash::of(&other),
        ..rec
    })
    .await
    .unwrap();
    s.delete_user_sessions(&p, "alice").await.unwrap();
    assert_eq!(
        s.get_session(&TokenHash::of(&other)).await.unwrap(),
        None,
        "all of the user's sessions end"
    );
}

fn family(pool_id: &str) -> FamilyRecord {
    FamilyRecord {
        id: random_token(),
        pool_id: pool_id.to_string(),
        client_id: "client".into(),
        username: "alice".into(),
        created_at: NOW,
        expires_at: NOW + 86400,
        revoked_at: None,
    }
}

fn refresh(family_id: &str, secret: &str) -> RefreshRecord {
    RefreshRecord {
        hash: TokenHash::of(secret),
        family_id: family_id.to_string(),
        payload: "{}".into(),
        created_at: NOW,
        expires_at: NOW + 86400,
        replaced_at: None,
    }
}

pub async fn token_families_are_revoked_whole(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let f = family(&p);
    let secret = random_token();
    let t = refresh(&f.id, &secret);
    assert!(s.start_family(&f, &t).await.unwrap());
    assert!(
        !s.start_family(&f, &refresh(&f.id, "other")).await.unwrap(),
        "a family starts once"
    );
    assert_eq!(
        s.find_refresh(&TokenHash::of(&secret)).await.unwrap(),
        Some(t)
    );
    assert_eq!(s.get_family(&f.id).await.unwrap(), Some(f.clone()));
    s.revoke_family(&f.id, NOW + 5).await.unwrap();
    s.revoke_family(&f.id, NOW + 9).await.unwrap();
    assert_eq!(
        s.get_family(&f.id).await.unwrap().unwrap().revoked_at,
        Some(NOW + 5),
        "revocation is idempotent and keeps the first time"
    );
    assert_eq!(s.get_family("unknown").await.unwrap(), None);
    let g = family(&p);
    assert!(
        s.start_family(&g, &refresh(&g.id, &random_token()))
            .await
            .unwrap()
    );
    s.revoke_user_families(&p, "alice", NOW + 7).await.unwrap();
    assert_eq!(
        s.get_family(&g.id).await.unwrap().unwrap().revoked_at,
        Some(NOW + 7),
        "every family of the user"
    );
}

pub async fn racing_nodes_rotate_one_refresh_token_exactly_once(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    let f = family(&p);
    node_a.insert_family(&f).await.unwrap();
    let old = random_token();
    node_a.insert_refresh(&refresh(&f.id, &old)).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            let (barrier, family_id, old) = (barrier.clone(), f.id.clone(), old.clone());
            tokio::spawn(async move {
                let new_secret = random_token();
                barrier.wait().await;
                let outcome = store
                    .rotate_refresh(
                        &TokenHash::of(&old),
                        &refresh(&family_id, &new_secret),
                        NOW + 1,
                    )
                    .await
                    .unwrap();
                (outcome, new_secret)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (outcome, new_secret) = t.await.unwrap();
        match outcome {
            ConsumeOutcome::Consumed(_) => winners.push(new_secret),
            ConsumeOutcome::AlreadyConsumed(rec) => assert_eq!(rec.replaced_at, Some(NOW + 1)),
            ConsumeOutcome::Missing => panic!("a racer saw no token"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    assert!(
        node_b
            .find_refresh(&TokenHash::of(&winners[0]))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        node_a
            .rotate_refresh(&TokenHash::of("nope"), &refresh(&f.id, "x"), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Missing
    );
}

pub async fn purge_removes_expired_sessions_and_families(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let f = family(&p);
    s.insert_family(&f).await.unwrap();
    let secret = random_token();
    s.insert_refresh(&refresh(&f.id, &secret)).await.unwrap();
    let cookie = random_token();
    s.insert_session(&SessionRecord {
        hash: TokenHash::of(&cookie),
        pool_id: p.clone(),
        username: "alice".into(),
        payload: "{}".into(),
        auth_time: NOW,
        created_at: NOW,
        expires_at: NOW + 3600,
    })
    .await
    .unwrap();
    s.purge_expired(NOW + 3601).await.unwrap();
    assert_eq!(s.get_session(&TokenHash::of(&cookie)).await.unwrap(), None);
    assert!(s.get_family(&f.id).await.unwrap().is_some());
    s.purge_expired(NOW + 86401).await.unwrap();
    assert_eq!(s.get_family(&f.id).await.unwrap(), None);
    assert_eq!(
        s.find_refresh(&TokenHash::of(&secret)).await.unwrap(),
        None,
        "tokens go with their family"
    );
}

pub async fn sign_in_failures_count_up_reset_and_clear(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    assert_eq!(
        node_a.get_sign_in_failures(&p, "carol").await.unwrap(),
        None
    );
    for i in 1..=4 {
        let store = if i % 2 == 0 { &node_a } else { &node_b };
        let r = store
            .record_sign_in_failure(&p, "carol", NOW + i, 900)
            .await
            .unwrap();
        assert_eq!(r.failures, i, "counts are shared by every node");
    }
    assert_eq!(
        node_b.get_sign_in_failures(&p, "carol").await.unwrap(),
        Some(FailureRecord {
            failures: 4,
            last_failure_at: NOW + 4
        })
    );
    let r = node_a
        .record_sign_in_failure(&p, "carol", NOW + 4 + 900, 900)
        .await
        .unwrap();
    assert_eq!(r.failures, 1, "fifteen quiet minutes start over");
    assert_eq!(
        node_a.get_sign_in_failures(&p, "dave").await.unwrap(),
        None,
        "counts are per name"
    );
    node_b.clear_sign_in_failures(&p, "carol").await.unwrap();
    assert_eq!(
        node_a.get_sign_in_failures(&p, "carol").await.unwrap(),
        None
    );
}

pub async fn users_are_updated_by_compare_and_swap(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let s = &node_a;
    let p = new_pool(&**s).await;
    let mut u = user(&p, "erin", "erin@example.test");
    s.insert_user(&u).await.unwrap();
    let read_by_b = node_b.get_user(&p, "erin").await.unwrap().unwrap();
    u.status = UserStatus::ForceChangePassword;
    u.password_hash = Some(PasswordHash::from_stored("$argon2id$new".into()));
    u.password_set_at = Some(NOW + 5);
    u.tokens_valid_from_ms = Some((NOW + 5) * 1000);
    u.totp_secret = Some("kek:secret".into());
    u.srp_verifier = Some("kek:new-verifier".into());
    u.mfa_preference = Some(userpool_core::model::MfaPreference {
        enabled: vec![userpool_core::model::MfaFactor::SoftwareToken],
        preferred: Some(userpool_core::model::MfaFactor::SoftwareToken),
    });
    u.attributes[0].value = "Erin@New.Test".into();
    u.updated_at = NOW + 5;
    assert_eq!(s.update_user(&u).await.unwrap(), CasOutcome::Applied);
    u.version += 1;
    assert_eq!(s.get_user(&p, "erin").await.unwrap(), Some(u.clone()));
    // Another node's write from the old version would undo this one: it is refused.
    let stale = UserRecord {
        enabled: false,
        ..read_by_b
    };
    assert_eq!(node_b.update_user(&stale).await.unwrap(), CasOutcome::Stale);
    assert_eq!(s.get_user(&p, "erin").await.unwrap(), Some(u.clone()));
    assert_eq!(
        s.find_users_by_alias(&p, "email", "erin@new.test")
            .await
            .unwrap()
            .first()
            .map(|x| x.username.clone()),
        Some("erin".to_string()),
        "aliases follow the attributes"
    );
    assert!(
        s.find_users_by_alias(&p, "email", "erin@example.test")
            .await
            .unwrap()
            .is_empty()
    );
    let ghost = UserRecord {
        username: "ghost".into(),
        ..u.clone()
    };
    assert_eq!(s.update_user(&ghost).await.unwrap(), CasOutcome::Stale);
}

pub async fn a_local_user_without_a_password_is_never_written(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let mut u = user(&p, "hank", "hank@example.test");
    s.insert_user(&u).await.unwrap();
    let stored = s.get_user(&p, "hank").await.unwrap();
    u.password_hash = None;
    assert!(matches!(
        s.update_user(&u).await,
        Err(StoreError::Refused(_))
    ));
    let new = UserRecord {
        username: "ivy".into(),
        sub: random_token(),
        ..u.clone()
    };
    assert!(matches!(
        s.insert_user(&new).await,
        Err(StoreError::Refused(_))
    ));
    assert_eq!(s.get_user(&p, "hank").await.unwrap(), stored);
    assert_eq!(s.get_user(&p, "ivy").await.unwrap(), None);
    // A federated user has no password.
    let federated = UserRecord {
        username: "corp_ivy".into(),
        sub: random_token(),
        status: UserStatus::ExternalProvider,
        ..u
    };
    assert!(s.insert_user(&federated).await.unwrap());
}

pub async fn user_codes_work_once_and_die_after_too_many_guesses(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let good = TokenHash::of("123456");
    let bad = TokenHash::of("000000");
    s.put_user_code(&p, "frank", "confirm", &good, NOW + 600)
        .await
        .unwrap();
    assert_eq!(
        s.check_user_code(&p, "frank", "confirm", &bad, NOW, 3)
            .await
            .unwrap(),
        CodeCheck::Mismatch
    );
    assert_eq!(
        s.check_user_code(&p, "frank", "reset", &good, NOW, 3)
            .await
            .unwrap(),
        CodeCheck::Expired,
        "codes are per purpose"
    );
    assert_eq!(
        s.check_user_code(&p, "frank", "confirm", &good, NOW, 3)
            .await
            .unwrap(),
        CodeCheck::Valid
    );
    assert_eq!(
        s.check_user_code(&p, "frank", "confirm", &good, NOW, 3)
            .await
            .unwrap(),
        CodeCheck::Expired,
        "used up"
    );
    s.put_user_code(&p, "frank", "confirm", &good, NOW + 600)
        .await
        .unwrap();
    for _ in 0..3 {
        s.check_user_code(&p, "frank", "confirm", &bad, NOW, 3)
            .await
            .unwrap();
    }
    assert_eq!(
        s.check_user_code(&p, "frank", "confirm", &good, NOW, 3)
            .await
            .unwrap(),
        CodeCheck::Expired,
        "dead after three wrong guesses"
    );
    s.put_user_code(&p, "frank", "confirm", &good, NOW + 600)
        .await
        .unwrap();
    assert_eq!(
        s.check_user_code(&p, "frank", "confirm", &good, NOW + 600, 3)
            .await
            .unwrap(),
        CodeCheck::Expired,
        "expired"
    );
}

pub async fn a_challenge_is_taken_once(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    let secret = random_token();
    let c = ChallengeRecord {
        hash: TokenHash::of(&secret),
        pool_id: p.clone(),
        username: "gina".into(),
        kind: PendingKind::Mfa,
        payload: "{}".into(),
        created_at: NOW,
        expires_at: NOW + 180,
    };
    node_a.insert_challenge(&c).await.unwrap();
    assert_eq!(
        node_b.get_challenge(&c.hash).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        node_b.take_challenge(&c.hash).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(node_a.take_challenge(&c.hash).await.unwrap(), None);
}

pub async fn a_barred_family_cannot_start(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let f = family(&p);
    s.bar_family(&f, NOW).await.unwrap();
    let secret = random_token();
    assert!(
        !s.start_family(&f, &refresh(&f.id, &secret)).await.unwrap(),
        "barred first: never starts"
    );
    assert_eq!(s.find_refresh(&TokenHash::of(&secret)).await.unwrap(), None);
    assert_eq!(
        s.get_family(&f.id).await.unwrap().unwrap().revoked_at,
        Some(NOW)
    );
    let g = family(&p);
    assert!(
        s.start_family(&g, &refresh(&g.id, &random_token()))
            .await
            .unwrap()
    );
    s.bar_family(&g, NOW + 3).await.unwrap();
    assert_eq!(
        s.get_family(&g.id).await.unwrap().unwrap().revoked_at,
        Some(NOW + 3)
    );
}

pub async fn saml_messages_are_accepted_once_across_nodes(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            let (p, barrier) = (p.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .first_saml_use(&p, "_assertion1", NOW + 300)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut first = 0;
    for t in tasks {
        first += usize::from(t.await.unwrap());
    }
    assert_eq!(first, 1, "exactly one node accepts the assertion");
    assert!(
        node_b
            .first_saml_use(&p, "_assertion2", NOW + 300)
            .await
            .unwrap()
    );
    node_a.purge_expired(NOW + 301).await.unwrap();
    assert!(
        node_a
            .first_saml_use(&p, "_assertion1", NOW + 900)
            .await
            .unwrap(),
        "an expired record is purged"
    );
}

pub async fn saml_credentials_and_sessions(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let cred = SamlCredentialRecord {
        pool_id: p.clone(),
        owner: "pool".into(),
        generation: 1,
        sealed_key: "sealed".into(),
        cert_pem: "cert".into(),
        created_at: NOW,
        not_after: NOW + 1000,
    };
    assert!(s.insert_saml_credential(&cred).await.unwrap());
    let rival = SamlCredentialRecord {
        cert_pem: "other".into(),
        ..cred.clone()
    };
    assert!(
        !s.insert_saml_credential(&rival).await.unwrap(),
        "one generation, one winner"
    );
    assert_eq!(
        s.list_saml_credentials(&p, "pool").await.unwrap(),
        vec![cred]
    );
    assert!(
        s.list_saml_credentials(&p, "Okta")
            .await
            .unwrap()
            .is_empty()
    );
    let mut cookies = Vec::new();
    for (subject, session) in [("alice", "s1"), ("alice", "s2"), ("bob", "s1")] {
        let cookie = random_token();
        s.insert_session(&SessionRecord {
            hash: TokenHash::of(&cookie),
            pool_id: p.clone(),
            username: subject.into(),
            payload: "{}".into(),
            auth_time: NOW,
            created_at: NOW,
            expires_at: NOW + 3600,
        })
        .await
        .unwrap();
        s.tag_saml_session(&SamlSessionRecord {
            session_hash: TokenHash::of(&cookie),
            pool_id: p.clone(),
            subject_key: subject.into(),
            session_key: format!("{subject}/{session}"),
        })
        .await
        .unwrap();
        cookies.push(cookie);
    }
    let alive = |i: usize| {
        let (s, c) = (s.clone(), cookies[i].clone());
        async move { s.get_session(&TokenHash::of(&c)).await.unwrap().is_some() }
    };
    assert_eq!(
        s.end_saml_sessions(&p, "alice", &["alice/s2".into()])
            .await
            .unwrap(),
        1
    );
    assert!(alive(0).await && !alive(1).await && alive(2).await);
    assert_eq!(s.end_saml_sessions(&p, "alice", &[]).await.unwrap(), 1);
    assert!(!alive(0).await && alive(2).await);
}

pub async fn access_keys_round_trip_and_delete_on_every_node(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let master = MasterKey::from_bytes(&[9u8; 32]);
    let (first, secret) = AccessKeyRecord::generate(&master, "ci", NOW);
    let (second, _) = AccessKeyRecord::generate(&master, "", NOW + 1);
    assert!(first.id.starts_with("AKIA") && first.id.len() == 20);
    assert_eq!(secret.len(), 40);
    assert!(!first.sealed_secret.contains(&secret));
    assert!(node_a.insert_access_key(&first).await.unwrap());
    assert!(
        !node_b.insert_access_key(&first).await.unwrap(),
        "an ID is taken once"
    );
    assert!(node_a.insert_access_key(&second).await.unwrap());
    let read = node_b.get_access_key(&first.id).await.unwrap().unwrap();
    assert_eq!(read, first);
    assert_eq!(read.open_secret(&master).as_deref(), Some(secret.as_str()));
    assert_eq!(
        node_b.list_access_keys().await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert!(node_b.delete_access_key(&first.id).await.unwrap());
    assert!(!node_a.delete_access_key(&first.id).await.unwrap());
    assert_eq!(node_a.get_access_key(&first.id).await.unwrap(), None);
    assert_eq!(node_a.list_access_keys().await.unwrap(), vec![second]);
}

pub async fn devices_are_tracked_per_user_and_leave_with_them(b: &impl Connect) {
    let node_a = b.connect().await;
    let node_b = b.connect().await;
    let p = new_pool(&*node_a).await;
    node_a
        .insert_user(&user(&p, "dana", "dana@example.test"))
        .await
        .unwrap();
    let device = |key: &str, at: i64| DeviceRecord {
        pool_id: p.clone(),
        username: "dana".into(),
        device_key: key.into(),
        group_key: "-group".into(),
        verifier: None,
        name: None,
        remembered: None,
        last_ip: None,
        created_at: at,
        updated_at: at,
        last_authenticated_at: at,
    };
    let older = device("us-test-1_a", NOW);
    let newer = device("us-test-1_b", NOW + 5);
    assert!(node_a.insert_device(&older).await.unwrap());
    assert!(
        !node_b.insert_device(&older).await.unwrap(),
        "a key is taken once"
    );
    assert!(node_a.insert_device(&newer).await.unwrap());
    let mut confirmed = older.clone();
    confirmed.verifier = Some("kek:sealed".into());
    let mut rival = confirmed.clone();
    rival.verifier = Some("kek:rival".into());
    assert!(
        node_b.confirm_device(&rival).await.unwrap(),
        "a first confirmation writes"
    );
    assert!(
        !node_a.confirm_device(&confirmed).await.unwrap(),
        "a second confirmation does not"
    );
    confirmed.name = Some("phone".into());
    confirmed.remembered = Some(true);
    confirmed.last_ip = Some("192.0.2.1".into());
    confirmed.updated_at = NOW + 9;
    confirmed.last_authenticated_at = NOW + 9;
    assert!(node_b.update_device(&confirmed).await.unwrap());
    assert_eq!(
        node_a.get_device(&p, "dana", "us-test-1_a").await.unwrap(),
        Some(confirmed.clone())
    );
    assert_eq!(
        node_a.list_devices(&p, "dana").await.unwrap(),
        vec![confirmed.clone(), newer.clone()],
        "most recently authenticated first"
    );
    assert_eq!(node_a.list_devices(&p, "erin").await.unwrap(), vec![]);
    assert!(
        node_b
            .delete_device(&p, "dana", "us-test-1_b")
            .await
            .unwrap()
    );
    assert!(
        !node_a
            .delete_device(&p, "dana", "us-test-1_b")
            .await
            .unwrap()
    );
    assert!(
        !node_a.update_device(&newer).await.unwrap(),
        "a forgotten device stays gone"
    );
    assert!(node_a.delete_user(&p, "dana").await.unwrap());
    assert_eq!(
        node_b.get_device(&p, "dana", "us-test-1_a").await.unwrap(),
        None
    );
}

pub async fn a_deleted_user_takes_its_memberships_links_codes_and_sessions(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    s.insert_group(&GroupRecord {
        pool_id: p.clone(),
        config: GroupConfig {
            group_name: "g".into(),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    })
    .await
    .unwrap();
    let user = |name: &str| UserRecord {
        pool_id: p.clone(),
        username: name.into(),
        sub: random_token(),
        status: UserStatus::Confirmed,
        enabled: true,
        password_hash: Some(PasswordHash::from_stored("$argon2id$stub".into())),
        password_set_at: Some(NOW),
        tokens_valid_from_ms: None,
        totp_secret: None,
        mfa_preference: None,
        srp_verifier: None,
        attributes: vec![],
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    for name in ["alice", "bob"] {
        assert!(s.insert_user(&user(name)).await.unwrap());
        assert!(s.add_user_to_group(&p, name, "g").await.unwrap());
        assert!(s.link_identity(&p, "Okta", name, name).await.unwrap());
        s.put_user_code(&p, name, "reset", &TokenHash::of("123456"), NOW + 600)
            .await
            .unwrap();
    }
    let cookie = random_token();
    s.insert_session(&SessionRecord {
        hash: TokenHash::of(&cookie),
        pool_id: p.clone(),
        username: "alice".into(),
        payload: "{}".into(),
        auth_time: NOW,
        created_at: NOW,
        expires_at: NOW + 3600,
    })
    .await
    .unwrap();
    let f = family(&p);
    let secret = random_token();
    assert!(s.start_family(&f, &refresh(&f.id, &secret)).await.unwrap());

    assert!(s.delete_user(&p, "alice").await.unwrap());
    assert!(!s.delete_user(&p, "alice").await.unwrap(), "deleted once");
    assert!(!s.delete_user(&p, "nobody").await.unwrap());
    assert_eq!(s.get_user(&p, "alice").await.unwrap(), None);
    assert!(s.list_user_groups(&p, "alice").await.unwrap().is_empty());
    assert_eq!(s.find_linked_user(&p, "Okta", "alice").await.unwrap(), None);
    assert_eq!(s.get_session(&TokenHash::of(&cookie)).await.unwrap(), None);
    assert_eq!(s.get_family(&f.id).await.unwrap(), None);
    assert_eq!(s.find_refresh(&TokenHash::of(&secret)).await.unwrap(), None);
    assert_eq!(
        s.check_user_code(&p, "alice", "reset", &TokenHash::of("123456"), NOW, 5)
            .await
            .unwrap(),
        CodeCheck::Expired,
        "the user's codes are gone"
    );
    // A new user of the same name starts with nothing of the old one.
    assert!(s.insert_user(&user("alice")).await.unwrap());
    assert!(s.list_user_groups(&p, "alice").await.unwrap().is_empty());
    // Others keep theirs.
    assert_eq!(s.list_user_groups(&p, "bob").await.unwrap(), ["g"]);
    assert_eq!(
        s.find_linked_user(&p, "Okta", "bob")
            .await
            .unwrap()
            .as_deref(),
        Some("bob")
    );
    assert_eq!(
        s.check_user_code(&p, "bob", "reset", &TokenHash::of("123456"), NOW, 5)
            .await
            .unwrap(),
        CodeCheck::Valid
    );
}

pub async fn users_are_listed_and_searched_by_attribute(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let other = new_pool(&*s).await;
    let attr = |name: &str, value: &str| AttributeType {
        name: name.into(),
        value: value.into(),
    };
    let people = [
        ("ann", "Ann@Example.test", "Ann", "Lee"),
        ("bea", "bea@example.test", "Bea", "Lee-Smith"),
        ("cy", "cy@other.test", "Cy", "O%Brien"),
        ("dee", "dee_1@example.test", "Dee", "Lee"),
    ];
    for (name, email, given, family) in people {
        let mut u = user(&p, name, email);
        u.attributes.push(attr("given_name", given));
        u.attributes.push(attr("family_name", family));
        u.attributes
            .push(attr("name", &format!("{given} {family}")));
        if name == "dee" {
            u.enabled = false;
            u.status = UserStatus::ForceChangePassword;
        }
        assert!(s.insert_user(&u).await.unwrap());
    }
    assert!(
        s.insert_user(&user(&other, "zed", "zed@example.test"))
            .await
            .unwrap()
    );
    let names = |users: Vec<UserRecord>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    let find = |attribute: &str, value: &str, prefix: bool| {
        let f = UserFilter {
            attribute: attribute.into(),
            value: value.into(),
            prefix,
        };
        let s = s.clone();
        let p = p.clone();
        async move { names(s.list_users(&p, Some(&f), None, 60).await.unwrap()) }
    };

    assert_eq!(
        names(s.list_users(&p, None, None, 60).await.unwrap()),
        ["ann", "bea", "cy", "dee"]
    );
    assert_eq!(
        names(s.list_users(&p, None, None, 2).await.unwrap()),
        ["ann", "bea"]
    );
    assert_eq!(
        names(s.list_users(&p, None, Some("bea"), 2).await.unwrap()),
        ["cy", "dee"]
    );
    assert!(
        s.list_users(&p, None, Some("dee"), 2)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        find("email", "ANN@example.TEST", false).await,
        ["ann"],
        "emails ignore case"
    );
    assert_eq!(find("email", "Ann@", true).await, ["ann"]);
    assert_eq!(
        find("email", "dee_", true).await,
        ["dee"],
        "_ is no wildcard"
    );
    assert!(
        find("email", "de%", true).await.is_empty(),
        "% is no wildcard"
    );
    assert_eq!(find("family_name", "Lee", false).await, ["ann", "dee"]);
    assert_eq!(
        find("family_name", "Lee", true).await,
        ["ann", "bea", "dee"]
    );
    assert!(
        find("family_name", "lee", true).await.is_empty(),
        "names keep their case"
    );
    assert_eq!(find("family_name", "O%", true).await, ["cy"]);
    assert_eq!(find("given_name", "B", true).await, ["bea"]);
    assert_eq!(find("name", "Cy O%Brien", false).await, ["cy"]);
    assert_eq!(find("username", "c", true).await, ["cy"]);
    assert_eq!(
        find("phone_number", "+1555", true).await,
        ["ann", "bea", "cy", "dee"]
    );
    assert_eq!(
        find("cognito:user_status", "force_change_password", false).await,
        ["dee"]
    );
    assert_eq!(find("status", "Disabled", false).await, ["dee"]);
    assert_eq!(find("status", "Enabled", false).await, ["ann", "bea", "cy"]);
    assert!(find("status", "enabled", false).await.is_empty());
    assert!(find("custom:team", "x", false).await.is_empty());
    let ann = s.get_user(&p, "ann").await.unwrap().unwrap();
    assert_eq!(find("sub", &ann.sub, false).await, ["ann"]);
    assert!(
        find("username", "zed", false).await.is_empty(),
        "another pool's user"
    );

    // Searchable columns follow every update.
    let mut bea = s.get_user(&p, "bea").await.unwrap().unwrap();
    bea.attributes.retain(|a| a.name != "family_name");
    bea.attributes.push(attr("family_name", "Zhou"));
    assert_eq!(s.update_user(&bea).await.unwrap(), CasOutcome::Applied);
    assert_eq!(find("family_name", "Zh", true).await, ["bea"]);
    assert_eq!(find("family_name", "Lee", true).await, ["ann", "dee"]);
}

pub async fn resource_servers_are_read_updated_and_deleted_by_their_pool(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let other = new_pool(&*s).await;
    let scope = |name: &str| ResourceServerScope {
        scope_name: name.into(),
        scope_description: format!("{name} things"),
    };
    let mut rs = ResourceServerRecord {
        pool_id: p.clone(),
        config: ResourceServerConfig {
            identifier: "https://api.example".into(),
            name: "api".into(),
            scopes: vec![scope("read")],
        },
    };
    assert!(s.insert_resource_server(&rs).await.unwrap());
    assert!(!s.insert_resource_server(&rs).await.unwrap(), "taken");
    let got = |pool: String| {
        let s = s.clone();
        async move {
            s.get_resource_server(&pool, "https://api.example")
                .await
                .unwrap()
        }
    };
    assert_eq!(got(p.clone()).await, Some(rs.clone()));
    assert_eq!(got(other.clone()).await, None, "another pool's");
    rs.config.name = "renamed".into();
    rs.config.scopes = vec![scope("read"), scope("write")];
    assert!(s.update_resource_server(&rs).await.unwrap());
    assert_eq!(got(p.clone()).await, Some(rs.clone()));
    let mut elsewhere = rs.clone();
    elsewhere.pool_id = other.clone();
    assert!(!s.update_resource_server(&elsewhere).await.unwrap());
    assert!(
        !s.delete_resource_server(&other, "https://api.example")
            .await
            .unwrap()
    );
    assert_eq!(s.list_resource_servers(&p).await.unwrap(), vec![rs.clone()]);
    assert!(
        s.delete_resource_server(&p, "https://api.example")
            .await
            .unwrap()
    );
    assert_eq!(got(p.clone()).await, None);
    assert!(
        !s.delete_resource_server(&p, "https://api.example")
            .await
            .unwrap()
    );
    assert!(s.list_resource_servers(&p).await.unwrap().is_empty());
}

pub async fn identity_providers_are_read_updated_and_deleted(b: &impl Connect) {
    let s = b.connect().await;
    let p = new_pool(&*s).await;
    let other = new_pool(&*s).await;
    let mut idp = IdentityProviderRecord {
        pool_id: p.clone(),
        config: IdentityProviderConfig {
            provider_name: "Corp".into(),
            provider_type: "OIDC".into(),
            provider_details: [("client_id".to_string(), "x".to_string())].into(),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        version: 0,
    };
    assert!(s.insert_identity_provider(&idp).await.unwrap());
    assert_eq!(
        s.get_identity_provider(&p, "Corp").await.unwrap(),
        Some(idp.clone())
    );
    assert_eq!(s.get_identity_provider(&other, "Corp").await.unwrap(), None);
    assert_eq!(s.get_identity_provider(&p, "corp").await.unwrap(), None);
    idp.config.idp_identifiers = vec!["corp.test".into()];
    idp.config
        .provider_details
        .insert("client_id".into(), "y".into());
    idp.updated_at = NOW + 5;
    assert_eq!(
        s.update_identity_provider(&idp).await.unwrap(),
        CasOutcome::Applied
    );
    assert_eq!(
        s.update_identity_provider(&idp).await.unwrap(),
        CasOutcome::Stale,
        "a second writer of the same version loses"
    );
    idp.version += 1;
    assert_eq!(
        s.get_identity_provider(&p, "Corp").await.unwrap(),
        Some(idp.clone()),
        "the update is read back, its creation time unchanged"
    );
    let mut missing = idp.clone();
    missing.pool_id = other.clone();
    assert_eq!(
        s.update_identity_provider(&missing).await.unwrap(),
        CasOutcome::Stale
    );
    assert!(!s.delete_identity_provider(&other, "Corp").await.unwrap());
    assert!(s.delete_identity_provider(&p, "Corp").await.unwrap());
    assert!(!s.delete_identity_provider(&p, "Corp").await.unwrap());
    assert_eq!(s.get_identity_provider(&p, "Corp").await.unwrap(), None);
    assert!(s.list_identity_providers(&p).await.unwrap().is_empty());
}
