//! Identifiers of Cognito resources: their formats (spec §1.1–§1.3) and how new ones are made.

use crate::crypto::{ALNUM, LOWER_ALNUM, random_string};

/// A new user pool ID, `{region}_{9 alphanumerics}` as Cognito makes them.
pub fn new_pool_id(region: &str) -> String {
    format!("{region}_{}", random_string(ALNUM, 9))
}

/// Characters of `alphabet` chosen by SHA-256 blocks of `seed`: a stable ID for an object that
/// has a natural key, so that nodes creating it at once create the same one.
fn derived(alphabet: &[u8], len: usize, seed: &str) -> String {
    let mut round = 0u32;
    crate::crypto::sample(alphabet, len, |buf| {
        buf.copy_from_slice(&crate::crypto::sha256(format!("{seed}/{round}").as_bytes()));
        round += 1;
    })
}

/// The pool ID of a pool known only by its region and name (a seed pool without `Id`).
pub fn derived_pool_id(region: &str, pool_name: &str) -> String {
    format!(
        "{region}_{}",
        derived(ALNUM, 9, &format!("userpool pool/{region}/{pool_name}"))
    )
}

/// The client ID of a client known only by its pool and name (a seed client without `ClientId`).
pub fn derived_client_id(pool_id: &str, client_name: &str) -> String {
    derived(
        LOWER_ALNUM,
        26,
        &format!("userpool client/{pool_id}/{client_name}"),
    )
}

/// A new app client ID: 26 lowercase alphanumerics, as real ones are.
pub fn new_client_id() -> String {
    random_string(LOWER_ALNUM, 26)
}

/// A new app client secret: 52 lowercase alphanumerics (~268 bits).
pub fn new_client_secret() -> String {
    random_string(LOWER_ALNUM, 52)
}

/// Checks a user pool ID against the API pattern `[\w-]+_[0-9a-zA-Z]+`, length 1–55, and returns
/// its region (the part before the first `_`).
pub fn pool_region(pool_id: &str) -> Option<&str> {
    if pool_id.is_empty() || pool_id.len() > 55 {
        return None;
    }
    let (region, suffix) = pool_id.split_once('_')?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    // `[\w-]+_` is greedy, so the suffix after the *last* underscore must be alphanumeric.
    let last = pool_id.rsplit_once('_')?.1;
    let ok = !region.is_empty()
        && region.chars().all(word)
        && !suffix.is_empty()
        && suffix.chars().all(word)
        && !last.is_empty()
        && last.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then_some(region)
}

/// Client IDs and secrets follow `[\w+]+`.
pub fn is_client_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+')
}

/// A domain prefix: `^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$`.
pub fn is_domain_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && edge(&b[0])
        && edge(&b[b.len() - 1])
        && b.iter().all(|c| edge(c) || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_are_checked_and_split_on_the_first_underscore() {
        assert_eq!(pool_region("us-east-1_aBcDeF123"), Some("us-east-1"));
        assert_eq!(pool_region(&new_pool_id("eu-west-2")), Some("eu-west-2"));
        assert_eq!(pool_region("nounderscore"), None);
        assert_eq!(pool_region("us-east-1_"), None);
        assert_eq!(pool_region("us east_1"), None);
        assert_eq!(pool_region("us-east-1_ab-c"), None);
        let derived = derived_pool_id("eu-west-1", "shop");
        assert_eq!(derived, derived_pool_id("eu-west-1", "shop"));
        assert_ne!(derived, derived_pool_id("eu-west-1", "shop2"));
        assert_eq!(pool_region(&derived), Some("eu-west-1"));
        let client = derived_client_id(&derived, "web");
        assert_eq!(client.len(), 26);
        assert!(is_client_token(&client));
    }

    #[test]
    fn domain_prefixes_follow_cognito_pattern() {
        assert!(is_domain_prefix("my-app-1"));
        assert!(!is_domain_prefix("-app"));
        assert!(!is_domain_prefix("App"));
        assert!(!is_domain_prefix("a.b"));
        assert!(is_domain_prefix("a"));
    }
}
