//! Where the server is reached: the public URL, the base of prefix domains, and the issuer form.
//! Everything here is resolved once at start-up; the Host header of a request never changes it.

use crate::model::{DomainConfig, IssuerType};

/// The resolved public addressing of this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    /// `scheme://host[:port]`, without a trailing slash.
    public_url: String,
    scheme: String,
    port: Option<u16>,
    /// Prefix domains are `{prefix}.auth.{region}.{domain_base}`.
    domain_base: String,
    /// Issue tokens with Cognito's own issuer URLs.
    aws_issuers: bool,
}

impl IssuerSettings {
    /// Parses the public URL (`http(s)://host[:port]`, no path) and the other options.
    pub fn new(public_url: &str, domain_base: &str, aws_issuers: bool) -> Result<Self, String> {
        let url = public_url.trim_end_matches('/');
        let (scheme, authority) = url.split_once("://").ok_or_else(|| {
            format!("public URL '{public_url}' must start with http:// or https://")
        })?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("public URL '{public_url}' must use http or https"));
        }
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "public URL '{public_url}' must be scheme://host[:port] with no path"
            ));
        }
        let port = match authority.rsplit_once(':') {
            Some((host, p)) if !host.is_empty() && !p.contains(']') => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("public URL '{public_url}' has an invalid port"))?,
            ),
            _ => None,
        };
        if domain_base.is_empty() || domain_base.contains(['/', ':']) {
            return Err(format!("domain base '{domain_base}' must be a host name"));
        }
        Ok(Self {
            public_url: url.to_string(),
            scheme: scheme.to_string(),
            port,
            domain_base: domain_base.trim_matches('.').to_ascii_lowercase(),
            aws_issuers,
        })
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The path under which a pool's discovery and JWKS are served on this server:
    /// `/{poolId}` for original issuers, `/issuer/{poolId}` for updated ones.
    pub fn issuer_path(pool_id: &str, kind: IssuerType) -> String {
        match kind {
            IssuerType::Original => format!("/{pool_id}"),
            IssuerType::Updated => format!("/issuer/{pool_id}"),
        }
    }

    /// The `iss` of a pool's tokens (spec §1.4): ours, or Cognito's own with `aws_issuers`.
    pub fn issuer(&self, pool_id: &str, region: &str, kind: IssuerType) -> String {
        match (self.aws_issuers, kind) {
            (true, IssuerType::Original) => {
                format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
            }
            (true, IssuerType::Updated) => {
                format!("https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}")
            }
            (false, _) => format!("{}{}", self.public_url, Self::issuer_path(pool_id, kind)),
        }
    }

    /// Where discovery and JWKS of a pool are fetched from: always this server.
    pub fn local_issuer_url(&self, pool_id: &str, kind: IssuerType) -> String {
        format!("{}{}", self.public_url, Self::issuer_path(pool_id, kind))
    }

    /// The host a prefix domain answers on (without port).
    pub fn prefix_host(&self, prefix: &str, region: &str) -> String {
        format!("{prefix}.auth.{region}.{}", self.domain_base)
    }

    /// The host key a domain is matched by: a custom domain as given, a prefix domain expanded.
    pub fn domain_host(&self, domain: &DomainConfig, region: &str) -> String {
        if domain.is_custom() {
            domain.host_key()
        } else {
            self.prefix_host(&domain.domain, region)
        }
    }

    /// The relying party ID a pool's passkeys default to [I]: the host of its preferred domain
    /// (`domains` first), else of the public URL; never with a port.
    pub fn default_rp_id(&self, domains: &[&DomainConfig], region: &str) -> String {
        let host = match domains.first() {
            Some(d) => self.domain_host(d, region),
            None => {
                let authority = self.public_url.split_once("://").map_or("", |(_, a)| a);
                authority.to_string()
            }
        };
        match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
            _ => host,
        }
    }

    /// The base URL of a pool domain, where `/oauth2/*`, `/login` and `/logout` live.
    pub fn domain_url(&self, domain: &DomainConfig, region: &str) -> String {
        if domain.is_custom() {
            format!("{}://{}", self.scheme, domain.host_key())
        } else {
            let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}",
                self.scheme,
                self.prefix_host(&domain.domain, region)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(d: &str) -> DomainConfig {
        DomainConfig {
            domain: d.into(),
            ..Default::default()
        }
    }

    #[test]
    fn issuers_take_both_forms_locally_and_as_aws() {
        let s = IssuerSettings::new("http://127.0.0.1:9229/", "localhost", false).unwrap();
        assert_eq!(
            s.issuer("us-east-1_X", "us-east-1", IssuerType::Original),
            "http://127.0.0.1:9229/us-east-1_X"
        );
        assert_eq!(
            s.issuer("us-east-1_X", "us-east-1", IssuerType::Updated),
            "http://127.0.0.1:9229/issuer/us-east-1_X"
        );
        let aws = IssuerSettings::new("http://127.0.0.1:9229", "localhost", true).unwrap();
        assert_eq!(
            aws.issuer("eu-west-1_X", "eu-west-1", IssuerType::Original),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X"
        );
        assert_eq!(
            aws.issuer("eu-west-1_X", "eu-west-1", IssuerType::Updated),
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X"
        );
    }

    #[test]
    fn domain_urls_keep_the_public_port_for_prefixes() {
        let s = IssuerSettings::new("http://127.0.0.1:9229", "localhost", false).unwrap();
        assert_eq!(
            s.domain_url(&domain("demo"), "us-east-1"),
            "http://demo.auth.us-east-1.localhost:9229"
        );
        assert_eq!(
            s.domain_url(&domain("auth.example.com"), "us-east-1"),
            "http://auth.example.com"
        );
        assert!(IssuerSettings::new("ftp://x", "b", false).is_err());
        assert!(IssuerSettings::new("http://x/path", "b", false).is_err());
    }
}
