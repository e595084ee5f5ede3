"""The sign-in plane of userpool's Cognito API, driven by boto3, pycognito and warrant-lite as an
application would drive Cognito: SignUp/ConfirmSignUp/ResendConfirmationCode, InitiateAuth and
RespondToAuthChallenge (USER_PASSWORD_AUTH, USER_SRP_AUTH, REFRESH_TOKEN_AUTH, the
SOFTWARE_TOKEN_MFA, MFA_SETUP and NEW_PASSWORD_REQUIRED challenges), the admin flows,
SECRET_HASH, GetTokensFromRefreshToken, RevokeToken, the access-token operations (GetUser,
UpdateUserAttributes, DeleteUserAttributes, ChangePassword, GlobalSignOut, DeleteUser,
AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference), ForgotPassword and the
lockout after wrong passwords.

Usage: sign_in.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY OUTBOX_DIR

Everything is created through the admin API on an empty server; codes are read from the
development outbox (OUTBOX_DIR, the server's `{data-dir}/outbox`). Every raw response is also
checked against the output shape of the service model (common.py). Prints one line per check and
"N passed, 0 failed" at the end, or the failed checks and a non-zero exit (a failed check does not
stop the run; an unexpected exception does).
"""

import base64
import contextlib
import hashlib
import hmac
import json
import re
import struct
import sys
import time
from pathlib import Path

import warrant_lite
from pycognito.aws_srp import AWSSRP, generate_hash_device

import common
from common import as_dict, attrs, client, error_of, fails

# A failed check is listed and the run goes on, so one wrong answer does not hide the others;
# summary() then fails the run with the list. (Shape problems still end the run at once.)
check = common.check_on
summary = common.summary


ENDPOINT, KEY, SECRET, OUTBOX = sys.argv[1:5]
cognito = client(ENDPOINT, KEY, SECRET)
PW = "Passw0rd!"
WRONG_PW = "Wr0ng-Passw0rd!"
BAD_LOGIN = ("NotAuthorizedException", "Incorrect username or password.")
NO_CLIENT = "1example23456789abcdefghij"
ALL_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
             "ALLOW_REFRESH_TOKEN_AUTH"]

# warrant-lite formats TIMESTAMP under the en_US.UTF-8 locale, which minimal systems lack; the C
# locale gives the same English day and month names, so run it under the current locale instead.
warrant_lite.temp_locale = lambda _locale: contextlib.nullcontext()


# --- helpers ---------------------------------------------------------------------------------


def claims(jwt):
    """The payload of a JWT, unverified: only its claims are looked at here."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def secret_hash(client_id, client_secret, username):
    mac = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def newest_code(address, after=None):
    """The 6-digit code in the newest outbox message to `address` (newer than the file `after`),
    and its file name."""
    return common.newest_outbox_code(OUTBOX, address, after)


def other_code(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def password_sign_in(client_id, username, password, **extra):
    params = {"USERNAME": username, "PASSWORD": password, **extra}
    return cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params)


def tokens(client_id, username, password=PW):
    return password_sign_in(client_id, username, password)["AuthenticationResult"]


def refresh(client_id, token, **extra):
    return cognito.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": token, **extra})


def make_user(pool, name, email_address=None, permanent=True):
    """A user made by the administrator: confirmed with PW, its email verified."""
    attributes = {"email": email_address or f"{name}@example.test", "email_verified": "true"}
    cognito.admin_create_user(UserPoolId=pool, Username=name, UserAttributes=attrs(attributes),
                              TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS")
    if permanent:
        cognito.admin_set_user_password(UserPoolId=pool, Username=name, Password=PW, Permanent=True)


def srp_challenge(srp, client_id, username, **extra):
    """The first half of SRP by hand: InitiateAuth with SRP_A, the PASSWORD_VERIFIER challenge,
    and the answer `srp` computes for it."""
    params = {"USERNAME": username, "SRP_A": srp.get_auth_params()["SRP_A"], **extra}
    r = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=params)
    return r, srp.process_challenge(r["ChallengeParameters"], params)


def answer_verifier(client_id, answer):
    return cognito.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER",
                                             ChallengeResponses=answer)


_last_step = {}


def totp(secret, offset=None):
    """An RFC 6238 code (SHA-1, 30 s, 6 digits) of a step not used before for `secret` (the server
    takes each step once), within the ±1 step window: waits if the next one is too far ahead.
    With `offset`, the code of the step now+offset, whether used or not."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    now = int(time.time()) // 30
    if offset is not None:
        step = now + offset
    else:
        step = max(now, _last_step.get(secret, now - 1) + 1)
        while step > int(time.time()) // 30 + 1:
            time.sleep(1)
        _last_step[secret] = step
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[o:o + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


def wrong_totp(secret):
    """A code no step of the window gives."""
    window = {totp(secret, k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 1000000, 7919)) if c not in window)


def check_tokens(result, client_id, username, what):
    """An AuthenticationResult: the three tokens, and the claims Cognito puts in them."""
    check(result.get("TokenType") == "Bearer" and result.get("ExpiresIn") == 3600,
          f"{what}: Bearer tokens for an hour {result.get('TokenType')} {result.get('ExpiresIn')}")
    access, id_token = claims(result["AccessToken"]), claims(result["IdToken"])
    check(access["token_use"] == "access" and access["scope"] == "aws.cognito.signin.user.admin"
          and access["username"] == username and access["client_id"] == client_id,
          f"{what}: access token claims {access}")
    check(id_token["token_use"] == "id" and id_token["aud"] == client_id
          and id_token["cognito:username"] == username and "at_hash" not in id_token
          and id_token["sub"] == access["sub"],
          f"{what}: ID token claims {id_token}")
    return access, id_token


# --- set-up: two pools and their clients, through the admin API ------------------------------

POOL = cognito.create_user_pool(PoolName="signin", AliasAttributes=["email"],
                                AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
# Optional TOTP, so a user can turn it on (SetUserMFAPreference is refused while MFA is OFF).
cognito.set_user_pool_mfa_config(UserPoolId=POOL, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})


def make_client(name, pool=POOL, **settings):
    return cognito.create_user_pool_client(UserPoolId=pool, ClientName=name, **settings)["UserPoolClient"]


APP = make_client("app", ExplicitAuthFlows=ALL_FLOWS, PreventUserExistenceErrors="ENABLED")["ClientId"]
secret_client = make_client("secret", GenerateSecret=True, ExplicitAuthFlows=ALL_FLOWS,
                            PreventUserExistenceErrors="ENABLED")
SECRET_APP, APP_SECRET = secret_client["ClientId"], secret_client["ClientSecret"]
DEFAULT_APP = make_client("default")["ClientId"]  # Cognito's default: SRP, refresh, custom
LEGACY_APP = make_client("legacy", ExplicitAuthFlows=ALL_FLOWS, PreventUserExistenceErrors="LEGACY")["ClientId"]
NO_REVOKE_APP = make_client("no-revocation", ExplicitAuthFlows=ALL_FLOWS,
                            EnableTokenRevocation=False)["ClientId"]
CUSTOM_APP = make_client("custom", ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["ClientId"]

MFA_POOL = cognito.create_user_pool(PoolName="mfa-on")["UserPool"]["Id"]
cognito.set_user_pool_mfa_config(UserPoolId=MFA_POOL, MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
MFA_APP = make_client("mfa-app", pool=MFA_POOL, ExplicitAuthFlows=ALL_FLOWS)["ClientId"]


# --- 1. SignUp, ConfirmSignUp, ResendConfirmationCode -----------------------------------------

up = cognito.sign_up(ClientId=APP, Username="alice", Password=PW,
                     UserAttributes=attrs({"email": "alice@example.test", "name": "Alice"}))
check(up["UserConfirmed"] is False and len(up["UserSub"]) == 36, f"SignUp: unconfirmed, with a sub {up['UserSub']}")
check(up.get("CodeDeliveryDetails") == {"Destination": "a***@e***", "DeliveryMedium": "EMAIL",
                                         "AttributeName": "email"},
      f"SignUp: the code goes to the masked email {up.get('CodeDeliveryDetails')}")
code, first_file = newest_code("alice@example.test")
fails(lambda: password_sign_in(APP, "alice", PW), "UserNotConfirmedException", "User is not confirmed.",
      "signing in before confirming")
fails(lambda: cognito.sign_up(ClientId=APP, Username="alice", Password=PW,
                              UserAttributes=attrs({"email": "alice2@example.test"})),
      "UsernameExistsException", "User already exists", "SignUp of a taken name")
fails(lambda: cognito.sign_up(ClientId=NO_CLIENT, Username="nobody", Password=PW), "ResourceNotFoundException",
      None, "SignUp through an unknown client")
fails(lambda: cognito.sign_up(ClientId=SECRET_APP, Username="nohash", Password=PW,
                              UserAttributes=attrs({"email": "nohash@example.test"})),
      "NotAuthorizedException", f"Client {SECRET_APP} is configured with secret but SECRET_HASH was not received",
      "SignUp on a secret client without SECRET_HASH")
fails(lambda: cognito.sign_up(ClientId=APP, Username="weakling", Password="short"),
      "InvalidPasswordException", None, "SignUp with a weak password")
fails(lambda: cognito.sign_up(ClientId=APP, Username="vouched", Password=PW,
                              UserAttributes=attrs({"email": "vouched@example.test", "email_verified": "true"})),
      "NotAuthorizedException", "A client attempted to write unauthorized attribute",
      "SignUp cannot vouch for its own address")

resent = cognito.resend_confirmation_code(ClientId=APP, Username="alice")
check(resent["CodeDeliveryDetails"]["Destination"] == "a***@e***", f"ResendConfirmationCode {resent['CodeDeliveryDetails']}")
code, _ = newest_code("alice@example.test", after=first_file)
fails(lambda: cognito.confirm_sign_up(ClientId=APP, Username="alice", ConfirmationCode=other_code(code)),
      "CodeMismatchException", "Invalid verification code provided, please try again.", "a wrong code")
cognito.confirm_sign_up(ClientId=APP, Username="alice", ConfirmationCode=code)
# The account's status is named only to clients that reveal accounts (LEGACY); the others
# hear what a wrong code gets (userpool's choice against enumeration, docs/compat/cognito.md).
fails(lambda: cognito.confirm_sign_up(ClientId=APP, Username="alice", ConfirmationCode=code),
      "CodeMismatchException", None, "ConfirmSignUp of a confirmed user, through a hiding client")
fails(lambda: cognito.confirm_sign_up(ClientId=LEGACY_APP, Username="alice", ConfirmationCode=code),
      "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED",
      "ConfirmSignUp of a confirmed user, through a revealing client")
fails(lambda: cognito.resend_confirmation_code(ClientId=LEGACY_APP, Username="alice"),
      "InvalidParameterException", "User is already confirmed.",
      "ResendConfirmationCode for a confirmed user, through a revealing client")
alice = cognito.admin_get_user(UserPoolId=POOL, Username="alice")
check(alice["UserStatus"] == "CONFIRMED" and as_dict(alice["UserAttributes"]).get("email_verified") == "true",
      f"ConfirmSignUp confirms and verifies the auto-verified email {alice['UserStatus']}")


# --- 2. USER_PASSWORD_AUTH and the tokens --------------------------------------------------------

signed = password_sign_in(APP, "alice", PW)
check("ChallengeName" not in signed and signed["ChallengeParameters"] == {},
      f"no challenge for a plain sign-in {signed.get('ChallengeName')}")
result = signed["AuthenticationResult"]
access, id_token = check_tokens(result, APP, "alice", "USER_PASSWORD_AUTH")
check(id_token["email"] == "alice@example.test" and id_token["email_verified"] is True
      and id_token["name"] == "Alice" and id_token["sub"] == up["UserSub"],
      "the ID token carries the attributes")
check(claims(tokens(APP, "alice@example.test")["AccessToken"])["username"] == "alice", "signing in by the verified email alias")
fails(lambda: password_sign_in(APP, "alice", WRONG_PW), *BAD_LOGIN, "a wrong password")
fails(lambda: password_sign_in(APP, "nobody", PW), *BAD_LOGIN, "an unknown user on an ENABLED client")
fails(lambda: password_sign_in(LEGACY_APP, "nobody", PW), "UserNotFoundException", "User does not exist.",
      "an unknown user on a LEGACY client")
fails(lambda: password_sign_in(DEFAULT_APP, "alice", PW), "InvalidParameterException",
      "USER_PASSWORD_AUTH flow not enabled for this client", "USER_PASSWORD_AUTH on a client that does not allow it")
fails(lambda: cognito.initiate_auth(ClientId=APP, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "alice"}),
      "InvalidParameterException", None, "USER_PASSWORD_AUTH without PASSWORD")
make_user(POOL, "dora")
cognito.admin_disable_user(UserPoolId=POOL, Username="dora")
# The right password of a disabled account: named only to clients that reveal accounts.
fails(lambda: password_sign_in(LEGACY_APP, "dora", PW), "NotAuthorizedException", "User is disabled.",
      "a disabled user, through a revealing client")
fails(lambda: password_sign_in(APP, "dora", PW), *BAD_LOGIN, "a disabled user, through a hiding client")
fails(lambda: password_sign_in(NO_CLIENT, "alice", PW), "ResourceNotFoundException", None, "an unknown ClientId")


# --- 3. SRP: pycognito and warrant-lite, and the protocol's edges ------------------------------

result = AWSSRP(username="alice", password=PW, pool_id=POOL, client_id=APP, client=cognito).authenticate_user()
check_tokens(result["AuthenticationResult"], APP, "alice", "pycognito SRP")
result = AWSSRP(username="alice", password=PW, pool_id=POOL, client_id=SECRET_APP, client=cognito,
                client_secret=APP_SECRET).authenticate_user()
check_tokens(result["AuthenticationResult"], SECRET_APP, "alice", "pycognito SRP with a client secret")
fails(lambda: AWSSRP(username="alice", password=WRONG_PW, pool_id=POOL, client_id=APP,
                     client=cognito).authenticate_user(), *BAD_LOGIN, "SRP with a wrong password")
result = warrant_lite.WarrantLite(username="alice", password=PW, pool_id=POOL, client_id=APP,
                                  client=cognito).authenticate_user()
check_tokens(result["AuthenticationResult"], APP, "alice", "warrant-lite SRP")
result = AWSSRP(username="alice@example.test", password=PW, pool_id=POOL, client_id=APP,
                client=cognito).authenticate_user()
check_tokens(result["AuthenticationResult"], APP, "alice", "SRP by the email alias")
result = AWSSRP(username="alice", password=PW, pool_id=POOL, client_id=DEFAULT_APP,
                client=cognito).authenticate_user()
check_tokens(result["AuthenticationResult"], DEFAULT_APP, "alice", "SRP on the default client")

# An unknown user on an ENABLED client gets a challenge like anyone's, with a stable salt.
ghost = AWSSRP(username="ghost", password=PW, pool_id=POOL, client_id=APP, client=cognito)
first, answer = srp_challenge(ghost, APP, "ghost")
params = first["ChallengeParameters"]
check(first["ChallengeName"] == "PASSWORD_VERIFIER"
      and {"SALT", "SRP_B", "SECRET_BLOCK", "USER_ID_FOR_SRP"} <= set(params),
      f"SRP for an unknown user: a PASSWORD_VERIFIER challenge {sorted(params)}")
second, _ = srp_challenge(ghost, APP, "ghost")
check(second["ChallengeParameters"]["SALT"] == params["SALT"], "the unknown user's salt is the same each time")
fails(lambda: answer_verifier(APP, answer), *BAD_LOGIN, "the unknown user's answer fails as a wrong password")
fails(lambda: srp_challenge(ghost, LEGACY_APP, "ghost"), "UserNotFoundException", None,
      "SRP for an unknown user on a LEGACY client")
# The name an unknown user's challenge gives is shaped as a real user's: an address typed in a
# pool that signs in by alias comes back as a sub-like name, as alice's does.
real = srp_challenge(AWSSRP(username="alice@example.test", password=PW, pool_id=POOL, client_id=APP,
                            client=cognito), APP, "alice@example.test")[0]["ChallengeParameters"]
fake = srp_challenge(AWSSRP(username="ghost@example.test", password=PW, pool_id=POOL, client_id=APP,
                            client=cognito), APP, "ghost@example.test")[0]["ChallengeParameters"]
check("@" not in fake["USER_ID_FOR_SRP"] and fake["USER_ID_FOR_SRP"] != "ghost@example.test"
      and "@" not in real["USER_ID_FOR_SRP"],
      f"an unknown address's USER_ID_FOR_SRP is not the address typed {fake['USER_ID_FOR_SRP']}")
# Wrong proofs for unknown names count per name: many of them lock no other name out.
for n in range(6):
    stranger = AWSSRP(username=f"stranger{n}", password=PW, pool_id=POOL, client_id=APP, client=cognito)
    fails(lambda: answer_verifier(APP, srp_challenge(stranger, APP, f"stranger{n}")[1]), *BAD_LOGIN,
          f"an unknown name's proof #{n + 1}")
fails(lambda: answer_verifier(APP, srp_challenge(ghost, APP, "ghost")[1]), *BAD_LOGIN,
      "another unknown name is not locked by the others' failures")
fails(lambda: cognito.initiate_auth(ClientId=APP, AuthFlow="USER_SRP_AUTH",
                                    AuthParameters={"USERNAME": "alice", "SRP_A": "0" * 10}),
      "InvalidParameterException", None, "an SRP_A of zero is refused before anything is stored")

# One SECRET_BLOCK answers once.
srp = AWSSRP(username="alice", password=PW, pool_id=POOL, client_id=APP, client=cognito)
_, answer = srp_challenge(srp, APP, "alice")
check("AuthenticationResult" in answer_verifier(APP, answer), "a PASSWORD_VERIFIER answer signs in")
fails(lambda: answer_verifier(APP, answer), "NotAuthorizedException", None, "the same answer a second time")
# A challenge belongs to the client it was given to.
_, answer = srp_challenge(srp, APP, "alice")
fails(lambda: answer_verifier(LEGACY_APP, answer), "NotAuthorizedException", None,
      "a PASSWORD_VERIFIER answered through another client")
# A tampered signature is refused.
_, answer = srp_challenge(srp, APP, "alice")
answer["PASSWORD_CLAIM_SIGNATURE"] = base64.b64encode(b"\0" * 32).decode()
fails(lambda: answer_verifier(APP, answer), *BAD_LOGIN, "a forged PASSWORD_CLAIM_SIGNATURE")


# --- 4. SECRET_HASH ---------------------------------------------------------------------------

fails(lambda: password_sign_in(SECRET_APP, "alice", PW), "NotAuthorizedException",
      f"Client {SECRET_APP} is configured with secret but SECRET_HASH was not received",
      "USER_PASSWORD_AUTH without SECRET_HASH")
fails(lambda: password_sign_in(SECRET_APP, "alice", PW, SECRET_HASH=secret_hash(SECRET_APP, APP_SECRET, "bob")),
      "NotAuthorizedException", f"Unable to verify secret hash for client {SECRET_APP}",
      "USER_PASSWORD_AUTH with a wrong SECRET_HASH")
result = password_sign_in(SECRET_APP, "alice", PW,
                          SECRET_HASH=secret_hash(SECRET_APP, APP_SECRET, "alice"))["AuthenticationResult"]
check_tokens(result, SECRET_APP, "alice", "USER_PASSWORD_AUTH with the right SECRET_HASH")
secret_refresh = result["RefreshToken"]
fails(lambda: refresh(SECRET_APP, secret_refresh), "NotAuthorizedException",
      f"Client {SECRET_APP} is configured with secret but SECRET_HASH was not received",
      "REFRESH_TOKEN_AUTH without SECRET_HASH")
fails(lambda: refresh(SECRET_APP, secret_refresh, SECRET_HASH="AAAA" + secret_hash(SECRET_APP, APP_SECRET, "alice")[4:]),
      "NotAuthorizedException", f"Unable to verify secret hash for client {SECRET_APP}",
      "REFRESH_TOKEN_AUTH with a wrong SECRET_HASH")
# For a refresh, the hash is over the username (the `sub` works too in Cognito for alias pools).
result = refresh(SECRET_APP, secret_refresh, SECRET_HASH=secret_hash(SECRET_APP, APP_SECRET, "alice"))
check("AccessToken" in result["AuthenticationResult"] and "RefreshToken" not in result["AuthenticationResult"],
      "REFRESH_TOKEN_AUTH with the right SECRET_HASH: new tokens, the same refresh token")


# --- 5. Refresh tokens, GetTokensFromRefreshToken, RevokeToken ---------------------------------

first = tokens(APP, "alice")
renewed = refresh(APP, first["RefreshToken"])["AuthenticationResult"]
check_tokens(renewed, APP, "alice", "REFRESH_TOKEN_AUTH")
check(renewed["AccessToken"] != first["AccessToken"], "a refresh gives a new access token")
fails(lambda: refresh(APP, first["RefreshToken"][:-4] + "AAAA"), "NotAuthorizedException", "Invalid Refresh Token",
      "a damaged refresh token")
fails(lambda: refresh(LEGACY_APP, first["RefreshToken"]), "NotAuthorizedException", None,
      "a refresh token through another client")
got = cognito.get_tokens_from_refresh_token(ClientId=APP, RefreshToken=first["RefreshToken"])["AuthenticationResult"]
check_tokens(got, APP, "alice", "GetTokensFromRefreshToken")
fails(lambda: cognito.revoke_token(Token=first["AccessToken"], ClientId=APP), "UnsupportedTokenTypeException",
      None, "RevokeToken of an access token")
cognito.revoke_token(Token=first["RefreshToken"], ClientId=APP)
# Revoking a refresh token revokes the access tokens issued with it (from it, too).
for name, access_token in (("the first", first["AccessToken"]), ("a refreshed", renewed["AccessToken"])):
    fails(lambda: cognito.get_user(AccessToken=access_token), "NotAuthorizedException",
          "Access Token has been revoked", f"{name} access token of a revoked refresh token")
fails(lambda: refresh(APP, first["RefreshToken"]), "NotAuthorizedException", None,
      "a revoked refresh token (REFRESH_TOKEN_AUTH)")
fails(lambda: cognito.get_tokens_from_refresh_token(ClientId=APP, RefreshToken=first["RefreshToken"]),
      "NotAuthorizedException", None, "a revoked refresh token (GetTokensFromRefreshToken)")
check("UserAttributes" in cognito.get_user(AccessToken=tokens(APP, "alice")["AccessToken"]),
      "revoking one refresh token leaves the user's other sessions alone")
no_revoke = tokens(NO_REVOKE_APP, "alice")
fails(lambda: cognito.revoke_token(Token=no_revoke["RefreshToken"], ClientId=NO_REVOKE_APP),
      "UnsupportedOperationException", None, "RevokeToken on a client without token revocation")
fails(lambda: cognito.revoke_token(Token=secret_refresh, ClientId=SECRET_APP),
      "NotAuthorizedException", None, "RevokeToken on a client with a secret, without the secret")
cognito.revoke_token(Token=secret_refresh, ClientId=SECRET_APP, ClientSecret=APP_SECRET)
fails(lambda: refresh(SECRET_APP, secret_refresh, SECRET_HASH=secret_hash(SECRET_APP, APP_SECRET, "alice")),
      "NotAuthorizedException", None, "a refresh token revoked with the client secret")


# --- 6. The access-token operations -----------------------------------------------------------

make_user(POOL, "bob")
bob = tokens(APP, "bob")
me = cognito.get_user(AccessToken=bob["AccessToken"])
check(me["Username"] == "bob" and len(as_dict(me["UserAttributes"]).get("sub", "")) == 36,
      f"GetUser {me['Username']}")
cognito.update_user_attributes(AccessToken=bob["AccessToken"], UserAttributes=attrs({"name": "Bob"}))
check(as_dict(cognito.get_user(AccessToken=bob["AccessToken"])["UserAttributes"]).get("name") == "Bob",
      "UpdateUserAttributes sets name")
cognito.delete_user_attributes(AccessToken=bob["AccessToken"], UserAttributeNames=["name"])
check("name" not in as_dict(cognito.get_user(AccessToken=bob["AccessToken"])["UserAttributes"]),
      "DeleteUserAttributes removes name")
fails(lambda: cognito.change_password(AccessToken=bob["AccessToken"], PreviousPassword=WRONG_PW,
                                      ProposedPassword="N3w-Passw0rd!"),
      *BAD_LOGIN, "ChangePassword with a wrong previous password")
cognito.change_password(AccessToken=bob["AccessToken"], PreviousPassword=PW, ProposedPassword="N3w-Passw0rd!")
fails(lambda: password_sign_in(APP, "bob", PW), *BAD_LOGIN, "the old password after ChangePassword")
bob = tokens(APP, "bob", "N3w-Passw0rd!")
check(bool(bob["AccessToken"]), "the new password after ChangePassword")
fails(lambda: cognito.get_user(AccessToken="not.a.token"), "NotAuthorizedException", None, "a garbage access token")
fails(lambda: cognito.get_user(AccessToken=bob["IdToken"]), "NotAuthorizedException", None,
      "an ID token where an access token is due")
cognito.global_sign_out(AccessToken=bob["AccessToken"])
fails(lambda: cognito.get_user(AccessToken=bob["AccessToken"]), "NotAuthorizedException",
      "Access Token has been revoked", "GetUser after GlobalSignOut")
fails(lambda: refresh(APP, bob["RefreshToken"]), "NotAuthorizedException", None, "a refresh token after GlobalSignOut")
bob = tokens(APP, "bob", "N3w-Passw0rd!")
cognito.delete_user(AccessToken=bob["AccessToken"])
fails(lambda: cognito.admin_get_user(UserPoolId=POOL, Username="bob"), "UserNotFoundException",
      "User does not exist.", "DeleteUser deletes the user")
fails(lambda: cognito.get_user(AccessToken=bob["AccessToken"]), "NotAuthorizedException", None,
      "the deleted user's access token")

# Attribute verification: the code proves the address it was sent to, and no other.
make_user(POOL, "vera")
vera = tokens(APP, "vera")
cognito.admin_update_user_attributes(UserPoolId=POOL, Username="vera",
                                     UserAttributes=attrs({"email": "vera.own@example.test"}))
sent = cognito.get_user_attribute_verification_code(AccessToken=vera["AccessToken"], AttributeName="email")
check(sent["CodeDeliveryDetails"]["Destination"] == "v***@e***", f"GetUserAttributeVerificationCode {sent}")
own_code, own_file = newest_code("vera.own@example.test")
cognito.admin_update_user_attributes(UserPoolId=POOL, Username="vera",
                                     UserAttributes=attrs({"email": "victim@example.test"}))
fails(lambda: cognito.verify_user_attribute(AccessToken=vera["AccessToken"], AttributeName="email", Code=own_code),
      "CodeMismatchException", None, "a code sent to one address does not verify another")
check(as_dict(cognito.admin_get_user(UserPoolId=POOL, Username="vera")["UserAttributes"]).get("email_verified")
      != "true", "the other address stays unverified")
cognito.admin_update_user_attributes(UserPoolId=POOL, Username="vera",
                                     UserAttributes=attrs({"email": "vera.own@example.test"}))
cognito.get_user_attribute_verification_code(AccessToken=vera["AccessToken"], AttributeName="email")
right_code, _ = newest_code("vera.own@example.test", after=own_file)
cognito.verify_user_attribute(AccessToken=vera["AccessToken"], AttributeName="email", Code=right_code)
check(as_dict(cognito.get_user(AccessToken=vera["AccessToken"])["UserAttributes"]).get("email_verified") == "true",
      "VerifyUserAttribute verifies the address the code went to")
fails(lambda: cognito.update_user_attributes(AccessToken=vera["AccessToken"],
                                             UserAttributes=attrs({"email_verified": "true"})),
      "NotAuthorizedException", "A client attempted to write unauthorized attribute",
      "a user cannot mark an address verified")


# --- 7. TOTP: AssociateSoftwareToken, VerifySoftwareToken, SOFTWARE_TOKEN_MFA -----------------

make_user(POOL, "carol")
carol = tokens(APP, "carol")
seed = cognito.associate_software_token(AccessToken=carol["AccessToken"])["SecretCode"]
check(re.fullmatch(r"[A-Z2-7]+=*", seed) is not None and len(base64.b32decode(seed + "=" * (-len(seed) % 8))) >= 16,
      f"AssociateSoftwareToken gives a Base32 secret {seed}")
fails(lambda: cognito.verify_software_token(AccessToken=carol["AccessToken"], UserCode=wrong_totp(seed)),
      "EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA", "VerifySoftwareToken with a wrong code")
verified = cognito.verify_software_token(AccessToken=carol["AccessToken"], UserCode=totp(seed),
                                         FriendlyDeviceName="phone")
check(verified["Status"] == "SUCCESS", f"VerifySoftwareToken {verified}")
cognito.set_user_mfa_preference(AccessToken=carol["AccessToken"],
                                SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
settings = cognito.get_user(AccessToken=carol["AccessToken"])
check(settings.get("PreferredMfaSetting") == "SOFTWARE_TOKEN_MFA"
      and settings.get("UserMFASettingList") == ["SOFTWARE_TOKEN_MFA"], f"GetUser shows the MFA {settings}")

challenge = password_sign_in(APP, "carol", PW)
check(challenge.get("ChallengeName") == "SOFTWARE_TOKEN_MFA" and challenge.get("Session")
      and "AuthenticationResult" not in challenge, f"a password sign-in asks for the TOTP {challenge.get('ChallengeName')}")


def answer_totp(session, code, client_id=APP):
    return cognito.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="SOFTWARE_TOKEN_MFA", Session=session,
        ChallengeResponses={"USERNAME": "carol", "SOFTWARE_TOKEN_MFA_CODE": code})


fails(lambda: answer_totp(challenge["Session"], wrong_totp(seed)), "CodeMismatchException", None,
      "SOFTWARE_TOKEN_MFA with a wrong code")
used = totp(seed)
done = answer_totp(challenge["Session"], used)
check_tokens(done["AuthenticationResult"], APP, "carol", "SOFTWARE_TOKEN_MFA")
fails(lambda: answer_totp(challenge["Session"], totp(seed, 0)), "NotAuthorizedException", None,
      "the same Session a second time")
# A TOTP code signs in once: the same code for a new sign-in is refused.
challenge = password_sign_in(APP, "carol", PW)
fails(lambda: answer_totp(challenge["Session"], used), "CodeMismatchException", None, "a TOTP code used before")


# --- 8. MFA_SETUP in a pool where MFA is required ---------------------------------------------

make_user(MFA_POOL, "dave")
setup = password_sign_in(MFA_APP, "dave", PW)
check(setup.get("ChallengeName") == "MFA_SETUP" and setup.get("Session"),
      f"a user without MFA in an MFA-ON pool must set it up {setup.get('ChallengeName')}")
check("SOFTWARE_TOKEN_MFA" in setup["ChallengeParameters"].get("MFAS_CAN_SETUP", ""),
      f"MFAS_CAN_SETUP offers TOTP {setup['ChallengeParameters']}")
associated = cognito.associate_software_token(Session=setup["Session"])
check(associated.get("SecretCode") and associated.get("Session"), "AssociateSoftwareToken by Session")
dave_seed = associated["SecretCode"]
verified = cognito.verify_software_token(Session=associated["Session"], UserCode=totp(dave_seed))
check(verified["Status"] == "SUCCESS" and verified.get("Session"), f"VerifySoftwareToken by Session {verified}")
done = cognito.respond_to_auth_challenge(ClientId=MFA_APP, ChallengeName="MFA_SETUP", Session=verified["Session"],
                                         ChallengeResponses={"USERNAME": "dave"})
check_tokens(done["AuthenticationResult"], MFA_APP, "dave", "MFA_SETUP")
# Once set up, TOTP is asked on every sign-in, through SRP too (pycognito raises with the challenge).
try:
    AWSSRP(username="dave", password=PW, pool_id=MFA_POOL, client_id=MFA_APP, client=cognito).authenticate_user()
    check(False, "SRP for a user with TOTP ends in a challenge")
except Exception as e:  # pycognito's SoftwareTokenMFAChallengeException carries the response
    check(type(e).__name__ == "SoftwareTokenMFAChallengeException", f"SRP for a user with TOTP: {e!r}")
    done = cognito.respond_to_auth_challenge(
        ClientId=MFA_APP, ChallengeName="SOFTWARE_TOKEN_MFA", Session=e.get_tokens()["Session"],
        ChallengeResponses={"USERNAME": "dave", "SOFTWARE_TOKEN_MFA_CODE": totp(dave_seed)})
    check_tokens(done["AuthenticationResult"], MFA_APP, "dave", "SRP then SOFTWARE_TOKEN_MFA")


# --- 9. NEW_PASSWORD_REQUIRED -----------------------------------------------------------------

make_user(POOL, "erin", permanent=False)
new = password_sign_in(APP, "erin", "Temp-Passw0rd!")
params = new.get("ChallengeParameters", {})
check(new.get("ChallengeName") == "NEW_PASSWORD_REQUIRED" and new.get("Session"),
      f"a temporary password asks for a new one {new.get('ChallengeName')}")
check(json.loads(params["userAttributes"]).get("email") == "erin@example.test"
      and isinstance(json.loads(params["requiredAttributes"]), list),
      f"the challenge lists the attributes as JSON {params}")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session=new["Session"],
    ChallengeResponses={"USERNAME": "erin", "NEW_PASSWORD": "weak"}),
    "InvalidPasswordException", None, "NEW_PASSWORD_REQUIRED with a weak password")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session=new["Session"],
    ChallengeResponses={"USERNAME": "erin", "NEW_PASSWORD": "Erins-N3w-Pass!",
                        "userAttributes.email_verified": "true"}),
    "NotAuthorizedException", "A client attempted to write unauthorized attribute",
    "a user cannot vouch for an address in NEW_PASSWORD_REQUIRED")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session=new["Session"],
    ChallengeResponses={"USERNAME": "alice", "NEW_PASSWORD": "Erins-N3w-Pass!"}),
    "NotAuthorizedException", None, "a session answered in another user's name")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session="made-up-session-" + "A" * 40,
    ChallengeResponses={"USERNAME": "erin", "NEW_PASSWORD": "Erins-N3w-Pass!"}),
    "NotAuthorizedException", None, "NEW_PASSWORD_REQUIRED with a made-up Session")
done = cognito.respond_to_auth_challenge(
    ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session=new["Session"],
    ChallengeResponses={"USERNAME": "erin", "NEW_PASSWORD": "Erins-N3w-Pass!"})
check_tokens(done["AuthenticationResult"], APP, "erin", "NEW_PASSWORD_REQUIRED")
check(cognito.admin_get_user(UserPoolId=POOL, Username="erin")["UserStatus"] == "CONFIRMED",
      "the user is confirmed by the new password")
check(bool(tokens(APP, "erin", "Erins-N3w-Pass!")["AccessToken"]), "the new password signs in")

# Through SRP, by hand (pycognito raises on this challenge).
make_user(POOL, "fern", permanent=False)
srp = AWSSRP(username="fern", password="Temp-Passw0rd!", pool_id=POOL, client_id=APP, client=cognito)
_, answer = srp_challenge(srp, APP, "fern")
new = answer_verifier(APP, answer)
check(new.get("ChallengeName") == "NEW_PASSWORD_REQUIRED" and new.get("Session"),
      f"SRP with a temporary password asks for a new one {new.get('ChallengeName')}")
done = cognito.respond_to_auth_challenge(
    ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session=new["Session"],
    ChallengeResponses={"USERNAME": "fern", "NEW_PASSWORD": "Ferns-N3w-Pass!"})
check_tokens(done["AuthenticationResult"], APP, "fern", "SRP then NEW_PASSWORD_REQUIRED")


# --- 10. AdminInitiateAuth and AdminRespondToAuthChallenge -------------------------------------

for flow in ("ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"):
    r = cognito.admin_initiate_auth(UserPoolId=POOL, ClientId=APP, AuthFlow=flow,
                                    AuthParameters={"USERNAME": "alice", "PASSWORD": PW})
    check_tokens(r["AuthenticationResult"], APP, "alice", f"AdminInitiateAuth {flow}")
fails(lambda: cognito.admin_initiate_auth(UserPoolId=POOL, ClientId=APP, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                          AuthParameters={"USERNAME": "alice", "PASSWORD": WRONG_PW}),
      *BAD_LOGIN, "AdminInitiateAuth with a wrong password")
fails(lambda: cognito.admin_initiate_auth(UserPoolId=MFA_POOL, ClientId=APP, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                          AuthParameters={"USERNAME": "alice", "PASSWORD": PW}),
      "ResourceNotFoundException", None, "AdminInitiateAuth with a client of another pool")
fails(lambda: cognito.initiate_auth(ClientId=APP, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                    AuthParameters={"USERNAME": "alice", "PASSWORD": PW}),
      "InvalidParameterException", None, "ADMIN_USER_PASSWORD_AUTH through InitiateAuth")
make_user(POOL, "gus", permanent=False)
new = cognito.admin_initiate_auth(UserPoolId=POOL, ClientId=APP, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": "gus", "PASSWORD": "Temp-Passw0rd!"})
check(new.get("ChallengeName") == "NEW_PASSWORD_REQUIRED", f"AdminInitiateAuth: a new password is due {new.get('ChallengeName')}")
done = cognito.admin_respond_to_auth_challenge(
    UserPoolId=POOL, ClientId=APP, ChallengeName="NEW_PASSWORD_REQUIRED", Session=new["Session"],
    ChallengeResponses={"USERNAME": "gus", "NEW_PASSWORD": "Guss-N3w-Pass!"})
check_tokens(done["AuthenticationResult"], APP, "gus", "AdminRespondToAuthChallenge NEW_PASSWORD_REQUIRED")


# --- 11. ForgotPassword, ConfirmForgotPassword -------------------------------------------------

make_user(POOL, "hana")
# An unknown name: a simulated delivery on an ENABLED client, UserNotFoundException on LEGACY.
simulated = cognito.forgot_password(ClientId=APP, Username="nobody")
check(simulated["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL", f"ForgotPassword for nobody: {simulated['CodeDeliveryDetails']}")
fails(lambda: cognito.forgot_password(ClientId=LEGACY_APP, Username="nobody"), "UserNotFoundException",
      "Username/client id combination not found.", "ForgotPassword for nobody on a LEGACY client")
before = tokens(APP, "hana")
forgot = cognito.forgot_password(ClientId=APP, Username="hana")
check(forgot["CodeDeliveryDetails"] == {"Destination": "h***@e***", "DeliveryMedium": "EMAIL",
                                        "AttributeName": "email"}, f"ForgotPassword {forgot['CodeDeliveryDetails']}")
code, _ = newest_code("hana@example.test")
fails(lambda: cognito.confirm_forgot_password(ClientId=APP, Username="hana", ConfirmationCode=other_code(code),
                                              Password="Hanas-N3w-Pass!"),
      "CodeMismatchException", "Invalid verification code provided, please try again.",
      "ConfirmForgotPassword with a wrong code")
cognito.confirm_forgot_password(ClientId=APP, Username="hana", ConfirmationCode=code, Password="Hanas-N3w-Pass!")
fails(lambda: password_sign_in(APP, "hana", PW), *BAD_LOGIN, "the old password after the reset")
check(bool(tokens(APP, "hana", "Hanas-N3w-Pass!")["AccessToken"]), "the new password signs in")
result = AWSSRP(username="hana", password="Hanas-N3w-Pass!", pool_id=POOL, client_id=APP,
                client=cognito).authenticate_user()
check_tokens(result["AuthenticationResult"], APP, "hana", "the new password signs in with SRP")
fails(lambda: cognito.get_user(AccessToken=before["AccessToken"]), "NotAuthorizedException",
      "Access Token has been revoked", "an access token from before the reset")
# A used code is spent (Cognito's exact code for it is not pinned here: mismatch or expired).
reused, _ = error_of(lambda: cognito.confirm_forgot_password(ClientId=APP, Username="hana", ConfirmationCode=code,
                                                             Password="Other-N3w-Pass!"))
check(reused in ("CodeMismatchException", "ExpiredCodeException"), f"the reset code a second time: {reused}")
check(bool(tokens(APP, "hana", "Hanas-N3w-Pass!")["AccessToken"]), "the spent code changed nothing")


# --- 12. Lockout after wrong passwords --------------------------------------------------------

make_user(POOL, "ivan")
for n in range(5):
    fails(lambda: password_sign_in(APP, "ivan", WRONG_PW), *BAD_LOGIN, f"wrong password #{n + 1}")
fails(lambda: password_sign_in(APP, "ivan", PW), "NotAuthorizedException", "Password attempts exceeded",
      "the right password right after five wrong ones")
fails(lambda: AWSSRP(username="ivan", password=PW, pool_id=POOL, client_id=APP, client=cognito).authenticate_user(),
      "NotAuthorizedException", "Password attempts exceeded", "SRP while locked out")


# --- 13. CUSTOM_AUTH without triggers ---------------------------------------------------------

fails(lambda: cognito.initiate_auth(ClientId=CUSTOM_APP, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "alice"}),
      "InvalidParameterException", None, "CUSTOM_AUTH without custom-auth triggers")
fails(lambda: cognito.initiate_auth(ClientId=APP, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "alice"}),
      "InvalidParameterException", None, "CUSTOM_AUTH on a client that does not allow it")


# --- 14. Remembered devices (DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER) -----------------------

DEVICE_POOL = cognito.create_user_pool(PoolName="devices", DeviceConfiguration={
    "ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True})["UserPool"]["Id"]
cognito.set_user_pool_mfa_config(UserPoolId=DEVICE_POOL, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
DEVICE_APP = make_client("device-app", pool=DEVICE_POOL, ExplicitAuthFlows=ALL_FLOWS)["ClientId"]
make_user(DEVICE_POOL, "jane")
first = AWSSRP(username="jane", password=PW, pool_id=DEVICE_POOL, client_id=DEVICE_APP,
               client=cognito).authenticate_user()["AuthenticationResult"]
device = first.get("NewDeviceMetadata") or {}
check(set(device) == {"DeviceKey", "DeviceGroupKey"} and device["DeviceKey"].startswith("us-east-1_"),
      f"a sign-in in a pool that tracks devices gets a new device {device}")
DEVICE_KEY, GROUP_KEY = device["DeviceKey"], device["DeviceGroupKey"]
check(claims(first["AccessToken"]).get("device_key") == DEVICE_KEY, "the access token names the new device")
# Only the token issued to a device confirms it.
other = AWSSRP(username="jane", password=PW, pool_id=DEVICE_POOL, client_id=DEVICE_APP,
               client=cognito).authenticate_user()["AuthenticationResult"]
other_device = other["NewDeviceMetadata"]["DeviceKey"]
fails(lambda: cognito.confirm_device(AccessToken=other["AccessToken"], DeviceKey=DEVICE_KEY,
                                     DeviceSecretVerifierConfig=generate_hash_device(GROUP_KEY, DEVICE_KEY)[1]),
      "NotAuthorizedException", None, "ConfirmDevice with another sign-in's token")
# TOTP on for jane: a sign-in from an unremembered device must pass it.
secret = cognito.associate_software_token(AccessToken=first["AccessToken"])["SecretCode"]
cognito.verify_software_token(AccessToken=first["AccessToken"], UserCode=totp(secret))
cognito.set_user_mfa_preference(AccessToken=first["AccessToken"],
                                 SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
device_password, verifier_config = generate_hash_device(GROUP_KEY, DEVICE_KEY)
fails(lambda: cognito.confirm_device(AccessToken=first["AccessToken"], DeviceKey="us-east-1_00000000-0000-0000-0000-000000000000",
                                     DeviceSecretVerifierConfig=verifier_config),
      "ResourceNotFoundException", None, "ConfirmDevice of an unknown device")
confirmed = cognito.confirm_device(AccessToken=first["AccessToken"], DeviceKey=DEVICE_KEY,
                                   DeviceSecretVerifierConfig=verifier_config, DeviceName="laptop")
check(confirmed["UserConfirmationNecessary"] is True, "remembered only on the user's word (DeviceOnlyRememberedOnUserPrompt)")


def device_sign_in(device_pw):
    return AWSSRP(username="jane", password=PW, pool_id=DEVICE_POOL, client_id=DEVICE_APP, client=cognito,
                  device_key=DEVICE_KEY, device_group_key=GROUP_KEY, device_password=device_pw)


# Not remembered yet: the device proves itself, and TOTP is still asked.
try:
    device_sign_in(device_password).authenticate_user()
    check(False, "an unremembered device skipped TOTP")
except Exception as e:  # pycognito raises its own exception for the TOTP challenge
    check(type(e).__name__ == "SoftwareTokenMFAChallengeException", f"an unremembered device still gets TOTP: {e!r}")
cognito.update_device_status(AccessToken=first["AccessToken"], DeviceKey=DEVICE_KEY,
                             DeviceRememberedStatus="remembered")
got = cognito.get_device(AccessToken=first["AccessToken"], DeviceKey=DEVICE_KEY)["Device"]
check(as_dict(got["DeviceAttributes"]) == {"device_status": "valid", "device_name": "laptop",
                                           "device_remembered_status": "remembered"},
      f"GetDevice: the name and the remembered status {got['DeviceAttributes']}")
remembered = device_sign_in(device_password).authenticate_user()["AuthenticationResult"]
check("NewDeviceMetadata" not in remembered and claims(remembered["AccessToken"]).get("device_key") == DEVICE_KEY,
      "a remembered device proves itself instead of TOTP, and its key is in the access token")
fails(lambda: device_sign_in("not-the-device-secret").authenticate_user(), "NotAuthorizedException",
      "Incorrect username or password.", "a wrong device secret")
listed = cognito.admin_list_devices(UserPoolId=DEVICE_POOL, Username="jane")["Devices"]
check([d["DeviceKey"] for d in listed].count(DEVICE_KEY) == 1, f"AdminListDevices lists the device {len(listed)}")
check(cognito.admin_get_device(UserPoolId=DEVICE_POOL, Username="jane", DeviceKey=DEVICE_KEY)["Device"]["DeviceKey"]
      == DEVICE_KEY, "AdminGetDevice")
cognito.admin_update_device_status(UserPoolId=DEVICE_POOL, Username="jane", DeviceKey=DEVICE_KEY,
                                   DeviceRememberedStatus="not_remembered")
check(as_dict(cognito.get_device(AccessToken=remembered["AccessToken"], DeviceKey=DEVICE_KEY)["Device"]
              ["DeviceAttributes"])["device_remembered_status"] == "not_remembered", "AdminUpdateDeviceStatus")
# Two devices (the other sign-in made one), a page of one at a time.
page = cognito.list_devices(AccessToken=remembered["AccessToken"], Limit=1)
rest = cognito.list_devices(AccessToken=remembered["AccessToken"], Limit=1, PaginationToken=page["PaginationToken"])
keys = [d["DeviceKey"] for d in page["Devices"] + rest["Devices"]]
check(len(keys) == 2 and DEVICE_KEY in keys and other_device in keys and "PaginationToken" not in rest,
      f"ListDevices pages through both devices {keys}")
cognito.admin_forget_device(UserPoolId=DEVICE_POOL, Username="jane", DeviceKey=other_device)
check([d["DeviceKey"] for d in cognito.admin_list_devices(UserPoolId=DEVICE_POOL, Username="jane")["Devices"]]
      == [DEVICE_KEY], "AdminForgetDevice forgets the other device")
cognito.forget_device(AccessToken=remembered["AccessToken"], DeviceKey=DEVICE_KEY)
fails(lambda: cognito.admin_get_device(UserPoolId=DEVICE_POOL, Username="jane", DeviceKey=DEVICE_KEY),
      "ResourceNotFoundException", None, "a forgotten device")
try:
    device_sign_in(device_password).authenticate_user()
    check(False, "a forgotten device skipped TOTP")
except Exception as e:
    check(type(e).__name__ == "SoftwareTokenMFAChallengeException", f"a forgotten device is new again: {e!r}")


# --- 15. MFA by email and SMS codes, and the choice between factors -----------------------------

CODES_POOL = cognito.create_user_pool(PoolName="mfa-codes")["UserPool"]["Id"]
CODES_APP = make_client("codes-app", pool=CODES_POOL, ExplicitAuthFlows=ALL_FLOWS)["ClientId"]
make_user(CODES_POOL, "kim")
cognito.admin_update_user_attributes(UserPoolId=CODES_POOL, Username="kim",
                                     UserAttributes=attrs({"phone_number": "+15550001234"}))
fails(lambda: cognito.admin_set_user_mfa_preference(UserPoolId=CODES_POOL, Username="kim",
                                                    EmailMfaSettings={"Enabled": True}),
      "InvalidParameterException", None, "email MFA before the pool offers it")
configured = cognito.set_user_pool_mfa_config(
    UserPoolId=CODES_POOL, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True},
    SmsMfaConfiguration={"SmsAuthenticationMessage": "Your code is {####}",
                         "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::000000000000:role/sns"}},
    EmailMfaConfiguration={"Message": "Your sign-in code is {####}.", "Subject": "Sign-in code"})
check(configured["EmailMfaConfiguration"]["Subject"] == "Sign-in code"
      and configured["SmsMfaConfiguration"]["SmsAuthenticationMessage"] == "Your code is {####}",
      "SetUserPoolMfaConfig keeps the SMS and email settings")
fails(lambda: cognito.set_user_pool_mfa_config(UserPoolId=CODES_POOL, EmailMfaConfiguration={"Message": "no code"}),
      "InvalidParameterException", None, "an email MFA message without {####}")


def code_sign_in(expected, address, field):
    """A password sign-in answered with the code sent to `address`, after a wrong one."""
    step = password_sign_in(CODES_APP, "kim", PW)
    check(step.get("ChallengeName") == expected, f"{expected} asked: {step.get('ChallengeName')}")
    fails(lambda: cognito.respond_to_auth_challenge(
        ClientId=CODES_APP, ChallengeName=expected, Session=step["Session"],
        ChallengeResponses={"USERNAME": "kim", field: "000000"}), "CodeMismatchException", None,
        f"{expected} with a wrong code")
    code, sent = newest_code(address)
    done = cognito.respond_to_auth_challenge(ClientId=CODES_APP, ChallengeName=expected, Session=step["Session"],
                                             ChallengeResponses={"USERNAME": "kim", field: code})
    check_tokens(done["AuthenticationResult"], CODES_APP, "kim", f"{expected} with the code sent")
    return step, sent


cognito.admin_set_user_mfa_preference(UserPoolId=CODES_POOL, Username="kim",
                                      EmailMfaSettings={"Enabled": True, "PreferredMfa": True})
step, first_email = code_sign_in("EMAIL_OTP", "kim@example.test", "EMAIL_OTP_CODE")
check(step["ChallengeParameters"].get("CODE_DELIVERY_DELIVERY_MEDIUM") == "EMAIL"
      and step["ChallengeParameters"].get("CODE_DELIVERY_DESTINATION") == "k***@e***",
      f"EMAIL_OTP names where the code went {step['ChallengeParameters']}")
cognito.admin_set_user_mfa_preference(UserPoolId=CODES_POOL, Username="kim",
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
step, _ = code_sign_in("SMS_MFA", "+15550001234", "SMS_MFA_CODE")
check(step["ChallengeParameters"].get("CODE_DELIVERY_DESTINATION") == "+*******1234",
      f"SMS_MFA names the phone's last digits {step['ChallengeParameters']}")
# Two factors on, neither preferred: the user chooses.
cognito.admin_set_user_mfa_preference(UserPoolId=CODES_POOL, Username="kim",
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": False},
                                      EmailMfaSettings={"Enabled": True, "PreferredMfa": False})
choice = password_sign_in(CODES_APP, "kim", PW)
check(choice.get("ChallengeName") == "SELECT_MFA_TYPE"
      and json.loads(choice["ChallengeParameters"]["MFAS_CAN_CHOOSE"]) == ["SMS_MFA", "EMAIL_OTP"],
      f"SELECT_MFA_TYPE offers the factors turned on {choice.get('ChallengeParameters')}")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=CODES_APP, ChallengeName="SELECT_MFA_TYPE", Session=choice["Session"],
    ChallengeResponses={"USERNAME": "kim", "ANSWER": "SOFTWARE_TOKEN_MFA"}),
    "InvalidParameterException", None, "a factor not offered")
chosen = cognito.respond_to_auth_challenge(ClientId=CODES_APP, ChallengeName="SELECT_MFA_TYPE",
                                           Session=choice["Session"],
                                           ChallengeResponses={"USERNAME": "kim", "ANSWER": "EMAIL_OTP"})
check(chosen.get("ChallengeName") == "EMAIL_OTP", f"the chosen factor is asked {chosen.get('ChallengeName')}")
code, _ = newest_code("kim@example.test", after=first_email)
done = cognito.respond_to_auth_challenge(ClientId=CODES_APP, ChallengeName="EMAIL_OTP", Session=chosen["Session"],
                                         ChallengeResponses={"USERNAME": "kim", "EMAIL_OTP_CODE": code})
check_tokens(done["AuthenticationResult"], CODES_APP, "kim", "the chosen factor's code signs in")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=CODES_APP, ChallengeName="EMAIL_OTP", Session=chosen["Session"],
    ChallengeResponses={"USERNAME": "kim", "EMAIL_OTP_CODE": code}), "NotAuthorizedException", None,
    "the code's session a second time")
# Sends count on the codes' curve (five an hour): sign-ins cannot flood an address.
cognito.admin_set_user_mfa_preference(UserPoolId=CODES_POOL, Username="kim",
                                      EmailMfaSettings={"Enabled": True, "PreferredMfa": True})


def messages_to(address):
    return sum(1 for p in Path(OUTBOX).iterdir() if p.name.split("-", 2)[-1][:-4] == address)


before = messages_to("kim@example.test")
for _ in range(3):
    check(password_sign_in(CODES_APP, "kim", PW).get("ChallengeName") == "EMAIL_OTP", "EMAIL_OTP asked")
time.sleep(1)
check(messages_to("kim@example.test") == before + 2,
      f"the sixth MFA code in an hour is not sent ({messages_to('kim@example.test') - before} sent of 3)")

summary()
