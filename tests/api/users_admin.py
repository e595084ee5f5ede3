"""Users managed by an administrator through userpool's Cognito API (AdminCreateUser,
AdminGetUser, AdminDeleteUser, AdminDisableUser, AdminEnableUser, AdminSetUserPassword,
AdminConfirmSignUp, AdminUserGlobalSignOut, AdminResetUserPassword), driven by boto3 as an
application would drive Cognito.

Usage: users_admin.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY POOL_ID

POOL_ID is a seeded pool with case-insensitive usernames, email as an alias, a group "g", the
users bob (verified email bob@example.test) and carol (no email), both with permanent passwords.
Every raw response is also checked against the output shape of the service model (common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first
failure. What reaches the outbox and the sign-in pages is checked by the Rust test around it.
"""

import datetime
import sys

from common import as_dict, attrs, check, client, error_of, summary

ENDPOINT, KEY, SECRET, POOL = sys.argv[1:5]
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)
NO_POOL = "us-east-1_Nope12345"
NOT_FOUND = ("UserNotFoundException", "User does not exist.")


def status(name):
    return cognito.admin_get_user(UserPoolId=POOL, Username=name)["UserStatus"]


# AdminCreateUser.
user = cognito.admin_create_user(
    UserPoolId=POOL,
    Username="Nina",
    UserAttributes=attrs({"email": "nina@example.test", "email_verified": "true", "name": "Nina"}),
    TemporaryPassword="Temp-Passw0rd",
    MessageAction="SUPPRESS",
)["User"]
check(user["Username"] == "nina", f"the username is stored lowercased: {user['Username']}")
check(user["UserStatus"] == "FORCE_CHANGE_PASSWORD" and user["Enabled"] is True, "a new user must change the password")
check(user["Attributes"][0]["Name"] == "sub" and len(user["Attributes"][0]["Value"]) == 36, "sub comes first")
check(as_dict(user["Attributes"])["email"] == "nina@example.test", "the attributes are kept")
check(isinstance(user["UserCreateDate"], datetime.datetime) and isinstance(user["UserLastModifiedDate"], datetime.datetime), "the user has its dates")

got = cognito.admin_get_user(UserPoolId=POOL, Username="NINA")
check(got["Username"] == "nina" and as_dict(got["UserAttributes"])["name"] == "Nina", "AdminGetUser by any case")
check(got["UserStatus"] == "FORCE_CHANGE_PASSWORD" and got["Enabled"] is True, "AdminGetUser status")
check("PreferredMfaSetting" not in got and "UserMFASettingList" not in got, "no MFA set up")
check(cognito.admin_get_user(UserPoolId=POOL, Username="bob@example.test")["Username"] == "bob", "AdminGetUser by a verified alias")

code, message = error_of(lambda: cognito.admin_create_user(UserPoolId=POOL, Username="nina", MessageAction="SUPPRESS"))
check((code, message) == ("UsernameExistsException", "User account already exists"), f"a taken name: {code} {message}")
code, message = error_of(lambda: cognito.admin_create_user(
    UserPoolId=POOL, Username="weak", TemporaryPassword="short", MessageAction="SUPPRESS"))
check(code == "InvalidPasswordException", f"a weak temporary password: {message}")
code, message = error_of(lambda: cognito.admin_create_user(
    UserPoolId=POOL, Username="odd", UserAttributes=attrs({"custom:nope": "x"}), MessageAction="SUPPRESS"))
check(code == "InvalidParameterException", f"an attribute outside the schema: {message}")
code, message = error_of(lambda: cognito.admin_create_user(
    UserPoolId=POOL, Username="sneaky@example.test", MessageAction="SUPPRESS"))
check(code == "InvalidParameterException", f"an email-shaped username in an alias pool: {message}")
code, _ = error_of(lambda: cognito.admin_create_user(UserPoolId=NO_POOL, Username="x"))
check(code == "ResourceNotFoundException", "AdminCreateUser in an unknown pool")
code, _ = error_of(lambda: unchecked.admin_create_user(UserPoolId=POOL, Username="x", MessageAction="LOUD"))
check(code == "InvalidParameterException", "an unknown MessageAction")

# A verified alias another user holds.
taken = attrs({"email": "bob@example.test", "email_verified": "true"})
code, message = error_of(lambda: cognito.admin_create_user(
    UserPoolId=POOL, Username="bobby", UserAttributes=taken, MessageAction="SUPPRESS"))
check(code == "AliasExistsException", f"a taken alias: {message}")
code, _ = error_of(lambda: cognito.admin_get_user(UserPoolId=POOL, Username="bobby"))
check(code == "UserNotFoundException", "nothing was created")
cognito.admin_create_user(
    UserPoolId=POOL, Username="bobby", UserAttributes=taken, ForceAliasCreation=True, MessageAction="SUPPRESS")
bob = as_dict(cognito.admin_get_user(UserPoolId=POOL, Username="bob")["UserAttributes"])
check(bob["email"] == "bob@example.test" and bob["email_verified"] == "false", f"ForceAliasCreation moves the alias: {bob}")

# A generated temporary password, and RESEND.
gen = cognito.admin_create_user(UserPoolId=POOL, Username="gen", MessageAction="SUPPRESS")["User"]
check(gen["UserStatus"] == "FORCE_CHANGE_PASSWORD", "a generated temporary password")
again = cognito.admin_create_user(UserPoolId=POOL, Username="gen", MessageAction="RESEND")["User"]
check(again["Username"] == "gen" and again["Attributes"][0]["Value"] == gen["Attributes"][0]["Value"], "RESEND answers the same user")
code, message = error_of(lambda: cognito.admin_create_user(UserPoolId=POOL, Username="bob", MessageAction="RESEND"))
check(code == "UnsupportedUserStateException", f"RESEND for a confirmed user: {message}")
code, _ = error_of(lambda: cognito.admin_create_user(UserPoolId=POOL, Username="nobody", MessageAction="RESEND"))
check(code == "UserNotFoundException", "RESEND for an unknown user")

# Unknown users.
for name, call in [
    ("AdminGetUser", cognito.admin_get_user),
    ("AdminDeleteUser", cognito.admin_delete_user),
    ("AdminDisableUser", cognito.admin_disable_user),
    ("AdminEnableUser", cognito.admin_enable_user),
    ("AdminConfirmSignUp", cognito.admin_confirm_sign_up),
    ("AdminUserGlobalSignOut", cognito.admin_user_global_sign_out),
    ("AdminResetUserPassword", cognito.admin_reset_user_password),
]:
    check(error_of(lambda: call(UserPoolId=POOL, Username="nobody")) == NOT_FOUND, f"{name} of an unknown user")
    code, _ = error_of(lambda: call(UserPoolId=NO_POOL, Username="nina"))
    check(code == "ResourceNotFoundException", f"{name} in an unknown pool")
check(error_of(lambda: cognito.admin_set_user_password(
    UserPoolId=POOL, Username="nobody", Password="Perm-Passw0rd", Permanent=True)) == NOT_FOUND,
    "AdminSetUserPassword of an unknown user")

# AdminSetUserPassword.
code, message = error_of(lambda: cognito.admin_set_user_password(
    UserPoolId=POOL, Username="nina", Password="weakweak", Permanent=True))
check(code == "InvalidPasswordException", f"a weak password: {message}")
cognito.admin_set_user_password(UserPoolId=POOL, Username="nina", Password="Perm-Passw0rd", Permanent=True)
check(status("nina") == "CONFIRMED", "a permanent password confirms")
cognito.admin_set_user_password(UserPoolId=POOL, Username="nina", Password="Temp-Passw0rd2", Permanent=False)
check(status("nina") == "FORCE_CHANGE_PASSWORD", "a temporary password must be changed")
cognito.admin_set_user_password(UserPoolId=POOL, Username="nina", Password="Perm-Passw0rd", Permanent=True)

# AdminConfirmSignUp of a confirmed user.
code, message = error_of(lambda: cognito.admin_confirm_sign_up(UserPoolId=POOL, Username="nina"))
check(
    (code, message) == ("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"),
    f"AdminConfirmSignUp of a confirmed user: {message}",
)

# AdminDisableUser, AdminEnableUser, AdminUserGlobalSignOut.
cognito.admin_disable_user(UserPoolId=POOL, Username="nina")
check(cognito.admin_get_user(UserPoolId=POOL, Username="nina")["Enabled"] is False, "AdminDisableUser")
cognito.admin_enable_user(UserPoolId=POOL, Username="nina")
check(cognito.admin_get_user(UserPoolId=POOL, Username="nina")["Enabled"] is True, "AdminEnableUser")
cognito.admin_user_global_sign_out(UserPoolId=POOL, Username="nina")
check(status("nina") == "CONFIRMED", "AdminUserGlobalSignOut keeps the account")

# AdminResetUserPassword.
cognito.admin_reset_user_password(UserPoolId=POOL, Username="nina")
check(status("nina") == "RESET_REQUIRED", "AdminResetUserPassword requires a reset")
code, message = error_of(lambda: cognito.admin_reset_user_password(UserPoolId=POOL, Username="carol"))
check(code == "InvalidParameterException", f"a reset without a verified email: {message}")

# AdminDeleteUser: the user and their memberships go.
cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="g", Username="gen")
cognito.admin_delete_user(UserPoolId=POOL, Username="gen")
check(error_of(lambda: cognito.admin_get_user(UserPoolId=POOL, Username="gen")) == NOT_FOUND, "a deleted user is gone")
check(error_of(lambda: cognito.admin_delete_user(UserPoolId=POOL, Username="gen")) == NOT_FOUND, "deleted once")
members = cognito.list_users_in_group(UserPoolId=POOL, GroupName="g")["Users"]
check([u["Username"] for u in members] == [], f"the membership went with the user: {members}")
cognito.admin_create_user(UserPoolId=POOL, Username="gen", MessageAction="SUPPRESS")
groups = cognito.admin_list_groups_for_user(UserPoolId=POOL, Username="gen")["Groups"]
check(groups == [], "a new user of the same name starts without groups")

# A pool whose users sign in by email: the user is named by a new sub.
made = cognito.create_user_pool(PoolName="byemail", UsernameAttributes=["email"])["UserPool"]["Id"]
dora = cognito.admin_create_user(
    UserPoolId=made, Username="dora@example.test", TemporaryPassword="Temp-Passw0rd", MessageAction="SUPPRESS")["User"]
dora_attrs = as_dict(dora["Attributes"])
check(dora["Username"] == dora_attrs["sub"] and dora_attrs["email"] == "dora@example.test", f"named by its sub: {dora}")
check(cognito.admin_get_user(UserPoolId=made, Username="dora@example.test")["Username"] == dora["Username"], "found by email")
code, _ = error_of(lambda: cognito.admin_create_user(
    UserPoolId=made, Username="dora@example.test", MessageAction="SUPPRESS"))
check(code == "UsernameExistsException", "an email taken in a pool that signs in by email")
code, message = error_of(lambda: cognito.admin_create_user(UserPoolId=made, Username="dora", MessageAction="SUPPRESS"))
check(code == "InvalidParameterException", f"a username that is no email: {message}")
cognito.delete_user_pool(UserPoolId=made)

summary()
