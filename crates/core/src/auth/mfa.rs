//! A user's MFA choices (`AdminSetUserMFAPreference`, and `SetUserMFAPreference` for the user
//! themselves): which factors are on and which one is preferred, checked as Cognito checks
//! them, then written by compare-and-swap. The sign-in reads them through
//! [`UserRecord::mfa`](crate::store::UserRecord::mfa) (`lifecycle::mfa_step`).

use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::model::{MfaConfiguration, MfaFactor, MfaPreference, UserPoolConfig};
use crate::store::{PoolRecord, UserRecord};

/// One factor's settings in the request (`Enabled`, `PreferredMfa`; absent is false).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactorChoice {
    pub enabled: bool,
    pub preferred: bool,
}

/// The factors a request sets; a factor not given stays as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaChoices {
    pub sms: Option<FactorChoice>,
    pub software_token: Option<FactorChoice>,
    pub email: Option<FactorChoice>,
}

impl MfaChoices {
    fn given(&self) -> impl Iterator<Item = (MfaFactor, FactorChoice)> + '_ {
        [
            (MfaFactor::Sms, self.sms),
            (MfaFactor::SoftwareToken, self.software_token),
            (MfaFactor::Email, self.email),
        ]
        .into_iter()
        .filter_map(|(f, c)| Some((f, c?)))
    }
}

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(ErrorKind::InvalidParameter, message)
}

/// Refuses what Cognito refuses: a factor preferred but not turned on; any factor turned on in
/// a pool whose MFA is off; TOTP before the user has verified an authenticator; SMS without a
/// `phone_number` and email without an `email` to deliver codes to; SMS and email codes while
/// the pool does not offer them (`SetUserPoolMfaConfig`).
pub fn check_mfa_choices(
    pool: &UserPoolConfig,
    user: &UserRecord,
    choices: &MfaChoices,
) -> AuthResult<()> {
    let has = |name: &str| {
        user.attributes
            .iter()
            .any(|a| a.name == name && !a.value.is_empty())
    };
    for (factor, choice) in choices.given() {
        if choice.preferred && !choice.enabled {
            return Err(invalid(format!(
                "{}: PreferredMfa can be true only when Enabled is true",
                factor.as_str()
            )));
        }
        if !choice.enabled {
            continue;
        }
        if pool.mfa_configuration == MfaConfiguration::Off {
            return Err(invalid(
                "MFA is turned off for this user pool (MfaConfiguration OFF)",
            ));
        }
        match factor {
            MfaFactor::SoftwareToken if user.totp_secret.is_none() => {
                return Err(invalid(
                    "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA",
                ));
            }
            MfaFactor::Sms if !has("phone_number") => {
                return Err(invalid(
                    "User does not have delivery config set to turn on SMS_MFA",
                ));
            }
            MfaFactor::Email if !has("email") => {
                return Err(invalid(
                    "User does not have delivery config set to turn on EMAIL_OTP",
                ));
            }
            MfaFactor::Sms | MfaFactor::Email if !pool.offered_mfa_factors().contains(&factor) => {
                return Err(invalid(format!(
                    "{} is not enabled for this user pool (SetUserPoolMfaConfig)",
                    factor.as_str()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `preference` with `choices` applied.
pub fn apply_mfa_choices(mut preference: MfaPreference, choices: &MfaChoices) -> MfaPreference {
    for (factor, choice) in choices.given() {
        preference.set(factor, choice.enabled, choice.preferred);
    }
    preference
}

impl Auth {
    /// Sets the user's MFA choices after [`check_mfa_choices`]; applied to the stored record
    /// by compare-and-swap, so a concurrent change of another factor is kept.
    pub async fn set_mfa_preference(
        &self,
        pool: &PoolRecord,
        user: &UserRecord,
        choices: &MfaChoices,
    ) -> AuthResult<UserRecord> {
        check_mfa_choices(&pool.config, user, choices)?;
        self.modify_user(&pool.id, &user.username, |u| {
            u.mfa_preference = Some(apply_mfa_choices(u.mfa(), choices));
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(totp: bool, attributes: &[(&str, &str)]) -> UserRecord {
        let mut u = UserRecord::for_tests("u", attributes);
        u.totp_secret = totp.then(|| "sealed".into());
        u
    }

    fn pool(mfa: MfaConfiguration) -> UserPoolConfig {
        UserPoolConfig {
            mfa_configuration: mfa,
            ..Default::default()
        }
    }

    const ON: FactorChoice = FactorChoice {
        enabled: true,
        preferred: true,
    };
    const OFF: FactorChoice = FactorChoice {
        enabled: false,
        preferred: false,
    };

    #[test]
    fn cognitos_refusals() {
        let optional = pool(MfaConfiguration::Optional);
        let totp = |c| MfaChoices {
            software_token: Some(c),
            ..Default::default()
        };
        let message = |p: &UserPoolConfig, u: &UserRecord, c: &MfaChoices| {
            check_mfa_choices(p, u, c).unwrap_err().message
        };
        assert_eq!(
            message(&optional, &user(false, &[]), &totp(ON)),
            "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA"
        );
        assert!(check_mfa_choices(&optional, &user(true, &[]), &totp(ON)).is_ok());
        assert!(
            message(&pool(MfaConfiguration::Off), &user(true, &[]), &totp(ON))
                .contains("MFA is turned off")
        );
        // Turning a factor off is always possible, even with MFA off.
        assert!(
            check_mfa_choices(&pool(MfaConfiguration::Off), &user(false, &[]), &totp(OFF)).is_ok()
        );
        let sms = MfaChoices {
            sms: Some(ON),
            ..Default::default()
        };
        assert_eq!(
            message(&optional, &user(true, &[]), &sms),
            "User does not have delivery config set to turn on SMS_MFA"
        );
        let email = MfaChoices {
            email: Some(ON),
            ..Default::default()
        };
        assert_eq!(
            message(&optional, &user(true, &[]), &email),
            "User does not have delivery config set to turn on EMAIL_OTP"
        );
        let preferred_off = totp(FactorChoice {
            enabled: false,
            preferred: true,
        });
        assert!(message(&optional, &user(true, &[]), &preferred_off).contains("PreferredMfa"));
    }

    #[test]
    fn choices_merge_and_one_factor_is_preferred() {
        let u = user(true, &[]);
        assert_eq!(
            u.mfa().enabled,
            vec![MfaFactor::SoftwareToken],
            "set up at sign-in"
        );
        assert_eq!(u.mfa().preferred, Some(MfaFactor::SoftwareToken));
        let off = apply_mfa_choices(
            u.mfa(),
            &MfaChoices {
                software_token: Some(OFF),
                ..Default::default()
            },
        );
        assert_eq!(off, MfaPreference::default());
        let on_not_preferred = apply_mfa_choices(
            off,
            &MfaChoices {
                software_token: Some(FactorChoice {
                    enabled: true,
                    preferred: false,
                }),
                sms: Some(OFF),
                ..Default::default()
            },
        );
        assert_eq!(on_not_preferred.enabled, vec![MfaFactor::SoftwareToken]);
        assert_eq!(on_not_preferred.preferred, None);
    }
}
