//! What an administrator changes in a user's attributes (`AdminUpdateUserAttributes`,
//! `AdminDeleteUserAttributes`): checked against the pool's schema as Cognito checks them,
//! then written by compare-and-swap, so a concurrent writer's change is never undone.

use super::admin::alias_active;
use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::lifecycle;
use crate::model::{AttributeType, UserPoolConfig};
use crate::store::{ClientRecord, PoolRecord, UserRecord};

impl Auth {
    /// `AdminUpdateUserAttributes`: sets each attribute given. A changed `email` (or
    /// `phone_number`) is unverified again unless `email_verified` (`phone_number_verified`)
    /// is given with it [I: Cognito keeps the old address verified until the new one is].
    pub async fn admin_update_attributes(
        &self,
        pool: &PoolRecord,
        user: &UserRecord,
        attributes: &[AttributeType],
    ) -> AuthResult<UserRecord> {
        self.check_attribute_update(pool, user, attributes).await?;
        // Two updates racing for one alias can both pass the check above: the check is not a
        // database constraint (docs/compat/cognito.md).
        self.modify_user(&pool.id, &user.username, |u| apply_update(u, attributes))
            .await
    }

    /// Checks an update of `user`'s attributes: each one writable, each value valid for its
    /// schema, and no alias another user signs in with.
    pub(super) async fn check_attribute_update(
        &self,
        pool: &PoolRecord,
        user: &UserRecord,
        attributes: &[AttributeType],
    ) -> AuthResult<()> {
        for a in attributes {
            writable(&pool.config, &a.name)?;
            if a.name == "email" && !lifecycle::looks_like_email(&a.value) {
                return Err(AuthError::new(
                    ErrorKind::InvalidParameter,
                    "Invalid email address format.",
                ));
            }
            if a.name == "phone_number" && !lifecycle::looks_like_phone(&a.value) {
                return Err(AuthError::new(
                    ErrorKind::InvalidParameter,
                    "Invalid phone number format.",
                ));
            }
            if let Some(Err(e)) = pool
                .config
                .custom_attribute(&a.name)
                .map(|s| s.check_value(&a.value))
            {
                return Err(AuthError::new(
                    ErrorKind::InvalidParameter,
                    format!("user.{}: {e}", a.name),
                ));
            }
        }
        self.refuse_taken_aliases(pool, user, attributes).await
    }

    /// `AliasExistsException` when the update would give the user a value another user signs
    /// in with: a username attribute (`email` or `phone_number` in pools that sign in with
    /// them), or an active alias (verified, or `preferred_username`).
    pub(super) async fn refuse_taken_aliases(
        &self,
        pool: &PoolRecord,
        user: &UserRecord,
        attributes: &[AttributeType],
    ) -> AuthResult<()> {
        let config = &pool.config;
        // The user as the update leaves them, verification resets included.
        let mut after = user.clone();
        apply_update(&mut after, attributes);
        let after = after.attributes;
        let value_of = |list: &[AttributeType], name: &str| {
            list.iter()
                .find(|a| a.name == name)
                .map(|a| a.value.clone())
        };
        let touched = |attr: &str| {
            attributes
                .iter()
                .any(|a| a.name == attr || a.name == format!("{attr}_verified"))
        };
        for attr in config
            .username_attributes
            .iter()
            .chain(&config.alias_attributes)
        {
            let Some(value) = value_of(&after, attr) else {
                continue;
            };
            let by_username = config.username_attributes.contains(attr);
            let changed = value_of(&user.attributes, attr).as_deref() != Some(value.as_str());
            // A username attribute is the user's whenever it changes; an alias only once it
            // is active, when it newly is or its value changes.
            let claims = if by_username {
                changed
            } else {
                alias_active(&after, attr) && (changed || !alias_active(&user.attributes, attr))
            };
            if !touched(attr) || !claims {
                continue;
            }
            let taken = self
                .store
                .find_users_by_alias(&pool.id, attr, &value)
                .await?
                .into_iter()
                .any(|other| {
                    other.username != user.username
                        && (by_username || alias_active(&other.attributes, attr))
                });
            if taken {
                return Err(AuthError::new(
                    ErrorKind::AliasExists,
                    format!("An account with the given {attr} already exists."),
                ));
            }
        }
        Ok(())
    }

    /// `AdminDeleteUserAttributes`: removes each attribute named (required and immutable ones
    /// are refused; one the user does not have is no error).
    pub async fn admin_delete_attributes(
        &self,
        pool: &PoolRecord,
        user: &UserRecord,
        names: &[String],
    ) -> AuthResult<UserRecord> {
        let required = pool.config.required_attributes();
        for name in names {
            writable(&pool.config, name)?;
            if required.contains(name) {
                return Err(AuthError::new(
                    ErrorKind::InvalidParameter,
                    format!("user.{name}: The attribute is required"),
                ));
            }
        }
        self.modify_user(&pool.id, &user.username, |u| {
            u.attributes.retain(|a| !names.contains(&a.name));
        })
        .await
    }
}

/// Sets each attribute given; a changed `email` (`phone_number`) becomes unverified unless
/// `email_verified` (`phone_number_verified`) is given with it.
/// What a user (not an administrator) may write of their own attributes through `client`:
/// only the client's `WriteAttributes` (any, when it lists none), never a `*_verified` flag
/// (only a code proves an address) nor a developer-only attribute. Holds for `SignUp`, the
/// new-password step and the user's own updates alike.
pub fn check_user_writes<'a>(
    client: &ClientRecord,
    mut names: impl Iterator<Item = &'a str>,
) -> AuthResult<()> {
    let allowed = client.config.write_attributes.as_ref();
    let ok = names.all(|n| {
        !n.ends_with("_verified")
            && !n.starts_with("dev:")
            && allowed.is_none_or(|a| a.iter().any(|x| x == n))
    });
    if ok {
        Ok(())
    } else {
        Err(AuthError::new(
            ErrorKind::NotAuthorized,
            "A client attempted to write unauthorized attribute",
        ))
    }
}

pub(super) fn apply_update(u: &mut UserRecord, attributes: &[AttributeType]) {
    let given = |name: &str| attributes.iter().any(|a| a.name == name);
    for (address, verified) in [
        ("email", "email_verified"),
        ("phone_number", "phone_number_verified"),
    ] {
        let changed = attributes.iter().any(|a| {
            a.name == address
                && u.attributes
                    .iter()
                    .all(|b| b.name != address || b.value != a.value)
        });
        if changed && !given(verified) {
            lifecycle::set_attribute(u, verified, "false");
        }
    }
    for a in attributes {
        lifecycle::set_attribute(u, &a.name, &a.value);
    }
}

/// Refuses an attribute the pool does not have (custom ones need their `custom:` prefix) and
/// one that cannot change after the user was made (`sub`, schema attributes not `Mutable`).
fn writable(pool: &UserPoolConfig, name: &str) -> AuthResult<()> {
    if !pool.has_attribute(name) {
        return Err(AuthError::new(
            ErrorKind::InvalidParameter,
            "Attribute does not exist in the schema.",
        ));
    }
    let immutable = name == "sub" || pool.schema_entry(name).is_some_and(|a| !a.mutable);
    if immutable {
        return Err(AuthError::new(
            ErrorKind::InvalidParameter,
            format!("user.{name}: Attribute cannot be updated."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SchemaAttribute;

    #[test]
    fn only_known_mutable_attributes_are_written() {
        let schema = |name: &str, mutable: bool| SchemaAttribute {
            name: name.into(),
            attribute_data_type: "String".into(),
            developer_only_attribute: false,
            mutable,
            required: false,
            number_attribute_constraints: None,
            string_attribute_constraints: None,
        };
        let pool = UserPoolConfig {
            schema: vec![schema("team", true), schema("employee_id", false)],
            ..Default::default()
        };
        for ok in [
            "email",
            "email_verified",
            "phone_number_verified",
            "given_name",
            "custom:team",
        ] {
            assert_eq!(writable(&pool, ok), Ok(()), "{ok}");
        }
        for unknown in ["team", "custom:nope", "shoe_size"] {
            let e = writable(&pool, unknown).unwrap_err();
            assert_eq!(
                e.message, "Attribute does not exist in the schema.",
                "{unknown}"
            );
        }
        for fixed in ["sub", "custom:employee_id"] {
            let e = writable(&pool, fixed).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(
                e.message,
                format!("user.{fixed}: Attribute cannot be updated.")
            );
        }
    }
}
