"""Choice-based sign-in (`USER_AUTH`) of userpool's Cognito API, driven by boto3 as an application
would drive Cognito: the pool's `SignInPolicy.AllowedFirstAuthFactors` and `WebAuthnConfiguration`,
`InitiateAuth`/`AdminInitiateAuth` with `AuthFlow=USER_AUTH` (`SELECT_CHALLENGE` and
`AvailableChallenges`, `PREFERRED_CHALLENGE`), the `PASSWORD`, `PASSWORD_SRP`, `EMAIL_OTP`, `SMS_OTP`
and `WEB_AUTHN` answers, passkey management (`StartWebAuthnRegistration`,
`CompleteWebAuthnRegistration`, `ListWebAuthnCredentials`, `DeleteWebAuthnCredential`) and
`GetUserAuthFactors`/`AdminGetUserAuthFactors`, each with its errors.

Usage: passwordless.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY OUTBOX_DIR

ENDPOINT must be served as `http://localhost:{port}` (the server's `--public-url`): WebAuthn relying
party IDs cannot be IP addresses, and the passkeys here are made for the relying party `localhost`
with the origin ENDPOINT, as a browser on that page would make them. The authenticator is
soft-fido2's software FIDO2 authenticator (PyPI `soft-fido2`), a third-party implementation of
the authenticator's side; its base64url strings are converted to Cognito's (unpadded) ones here.
SRP answers are computed by pycognito. Codes are read from the development outbox (OUTBOX_DIR).
Every raw response is also checked against the output shape of the service model (common.py).
Prints one line per check and "N passed, 0 failed" at the end, or the failed checks and a non-zero
exit (a failed check does not stop the run; an unexpected exception does).
"""

import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pycognito.aws_srp import AWSSRP

import common
import passkey_device
from passkey_device import b64url, unb64url
from common import attrs, client, error_of, fails

check = common.check_on
summary = common.summary


ENDPOINT, KEY, SECRET, OUTBOX = sys.argv[1:5]
ENDPOINT = ENDPOINT.rstrip("/")
ORIGIN = ENDPOINT  # the page a browser would run the ceremony on
cognito = client(ENDPOINT, KEY, SECRET)
loose = client(ENDPOINT, KEY, SECRET, validate=False)  # sends what botocore's checks would stop
PW = "Passw0rd!"
SNS = {"SnsCallerArn": "arn:aws:iam::000000000000:role/sns", "ExternalId": "userpool-tests"}
ALL_FACTORS = ["PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"]
FLOWS = ["ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
EXPIRED = "Invalid session for the user, session is expired."


# --- helpers ---------------------------------------------------------------------------------


def refused(call, what):
    """Checks that `call` fails, whatever the error (where the contract fixes none)."""
    got_code, got_message = error_of(call)
    check(got_code is not None, f"{what}: refused with {got_code} {got_message!r}")
    return got_code


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def secret_hash(client_id, client_secret, username):
    mac = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def check_tokens(result, client_id, username, what):
    """An AuthenticationResult: the three tokens for `username` through `client_id`."""
    ok = (result.get("TokenType") == "Bearer" and result.get("ExpiresIn") == 3600
          and {"AccessToken", "IdToken", "RefreshToken"} <= set(result))
    check(ok, f"{what}: Bearer tokens for an hour {sorted(result)}")
    if not ok:
        return None
    access, id_token = claims(result["AccessToken"]), claims(result["IdToken"])
    check(access["token_use"] == "access" and access["username"] == username
          and access["client_id"] == client_id and id_token["cognito:username"] == username
          and id_token["aud"] == client_id,
          f"{what}: the tokens are {username}'s through the client")
    return access


def signed_in(response, client_id, username, what):
    """A sign-in step that ends with tokens (no further challenge)."""
    check("ChallengeName" not in response and "AuthenticationResult" in response,
          f"{what}: tokens, no further challenge ({response.get('ChallengeName')})")
    if "AuthenticationResult" in response:
        return check_tokens(response["AuthenticationResult"], client_id, username, what)
    return None


def newest_message(address, after=None):
    """The newest outbox message to `address` (newer than the file `after`): its code and file."""
    return common.newest_outbox_code(OUTBOX, address, after)


def last_message(address):
    """The name of the newest outbox message to `address`, or None."""
    names = sorted(((int(p.name.split("-", 2)[0]), int(p.name.split("-", 2)[1])), p.name)
                   for p in Path(OUTBOX).iterdir()
                   if p.suffix in (".eml", ".sms") and p.name[:-4].split("-", 2)[2] == address)
    return names[-1][1] if names else None


def other_code(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def signed_call(operation, body):
    """An operation boto3 does not carry (AdminGetUserAuthFactors), signed with SigV4 by botocore:
    (status, body); a 200 body is checked against the model's output shape."""
    request = AWSRequest(method="POST", url=ENDPOINT + "/", data=json.dumps(body).encode(),
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}"})
    SigV4Auth(Credentials(KEY, SECRET), "cognito-idp", common.REGION).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http) as r:
            status, answer = r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        status, answer = e.code, json.loads(e.read() or b"{}")
    if status == 200:
        problems = common.shape_problems(common.MODEL["operations"][operation]["output"], answer)
        check(not problems, f"{operation} answers in the model's shape {problems}")
    return status, answer


def Passkey():
    """A new passkey whose ceremonies run on this server's page (ORIGIN)."""
    return passkey_device.Passkey(ORIGIN)


def make_pool(name, factors=None, mfa=None, webauthn=None, **settings):
    extra = {"Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": factors}}} if factors else {}
    pool = cognito.create_user_pool(PoolName=name, AutoVerifiedAttributes=["email"], SmsConfiguration=SNS,
                                    **extra, **settings)["UserPool"]["Id"]
    if mfa or webauthn:
        config = {"MfaConfiguration": mfa or "OFF"}
        if webauthn:
            config["WebAuthnConfiguration"] = webauthn
        cognito.set_user_pool_mfa_config(UserPoolId=pool, **config)
    return pool


def make_client(pool, name, **settings):
    return cognito.create_user_pool_client(UserPoolId=pool, ClientName=name, **settings)["UserPoolClient"]


def make_user(pool, name, email_verified=True, phone=None, password=True):
    """A confirmed user with PW, an email (verified or not) and, with `phone`, a verified phone."""
    attributes = {"email": f"{name}@example.test", "email_verified": "true" if email_verified else "false"}
    if phone:
        attributes.update({"phone_number": phone, "phone_number_verified": "true"})
    cognito.admin_create_user(UserPoolId=pool, Username=name, UserAttributes=attrs(attributes),
                              TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS")
    if password:
        cognito.admin_set_user_password(UserPoolId=pool, Username=name, Password=PW, Permanent=True)


def user_auth(client_id, username, preferred=None, **extra):
    params = {"USERNAME": username, **extra}
    if preferred:
        params["PREFERRED_CHALLENGE"] = preferred
    return cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_AUTH", AuthParameters=params)


def respond(client_id, name, session, username, **answers):
    return cognito.respond_to_auth_challenge(ClientId=client_id, ChallengeName=name, Session=session,
                                             ChallengeResponses={"USERNAME": username, **answers})


def select(client_id, session, username, answer, **extra):
    return respond(client_id, "SELECT_CHALLENGE", session, username, ANSWER=answer, **extra)


def offered(step):
    return sorted(step.get("AvailableChallenges") or [])


def password_tokens(client_id, username):
    return cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": username, "PASSWORD": PW})["AuthenticationResult"]


def request_options(step, what):
    """CREDENTIAL_REQUEST_OPTIONS of a WEB_AUTHN step, parsed (it is a JSON string)."""
    raw = step.get("ChallengeParameters", {}).get("CREDENTIAL_REQUEST_OPTIONS")
    check(isinstance(raw, str), f"{what}: CREDENTIAL_REQUEST_OPTIONS is a JSON string {type(raw).__name__}")
    return json.loads(raw) if isinstance(raw, str) else {}


# --- set-up ----------------------------------------------------------------------------------

LOCALHOST = {"RelyingPartyId": "localhost", "UserVerification": "preferred"}
POOL = make_pool("passwordless", ALL_FACTORS, webauthn=LOCALHOST)
APP = make_client(POOL, "app", ExplicitAuthFlows=FLOWS)["ClientId"]
secret_client = make_client(POOL, "secret", GenerateSecret=True, ExplicitAuthFlows=FLOWS)
SECRET_APP, APP_SECRET = secret_client["ClientId"], secret_client["ClientSecret"]
OLD_APP = make_client(POOL, "no-user-auth", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH",
                                                               "ALLOW_REFRESH_TOKEN_AUTH"])["ClientId"]
ADMIN_APP = make_client(POOL, "admin", ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                          "ALLOW_REFRESH_TOKEN_AUTH"])["ClientId"]

make_user(POOL, "olga", phone="+15550001001")   # everything: password, email, phone, then a passkey
make_user(POOL, "pete")                         # password and email, then a passkey of his own
make_user(POOL, "una", email_verified=False)    # a password only (the email is not verified)
make_user(POOL, "sam", phone="+15550001002")    # codes through the client with a secret
make_user(POOL, "wes")                          # three wrong codes
make_user(POOL, "tess", phone="+15550001003")   # SMS codes
make_user(POOL, "adam")                         # the admin flow
make_user(POOL, "rita")                         # many passkeys


# --- 1. The pool's first factors and WebAuthn settings ----------------------------------------

described = cognito.describe_user_pool(UserPoolId=POOL)["UserPool"]
got = described.get("Policies", {}).get("SignInPolicy", {}).get("AllowedFirstAuthFactors")
check(sorted(got or []) == sorted(ALL_FACTORS), f"DescribeUserPool returns AllowedFirstAuthFactors {got}")
PLAIN = cognito.create_user_pool(PoolName="plain")["UserPool"]["Id"]
got = cognito.describe_user_pool(UserPoolId=PLAIN)["UserPool"].get("Policies", {}).get("SignInPolicy", {})
check(got.get("AllowedFirstAuthFactors") == ["PASSWORD"], f"the default first factors are [PASSWORD] {got}")
fails(lambda: cognito.create_user_pool(PoolName="no-password", Policies={
    "SignInPolicy": {"AllowedFirstAuthFactors": ["EMAIL_OTP", "WEB_AUTHN"]}}),
    "InvalidParameterException", None, "CreateUserPool: first factors without PASSWORD")
fails(lambda: loose.create_user_pool(PoolName="empty-factors", Policies={
    "SignInPolicy": {"AllowedFirstAuthFactors": []}}),
    "InvalidParameterException", None, "CreateUserPool: no first factors at all")
cognito.update_user_pool(UserPoolId=PLAIN, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}})
got = cognito.describe_user_pool(UserPoolId=PLAIN)["UserPool"]["Policies"]["SignInPolicy"]["AllowedFirstAuthFactors"]
check(sorted(got) == ["EMAIL_OTP", "PASSWORD"], f"UpdateUserPool changes AllowedFirstAuthFactors {got}")
fails(lambda: cognito.update_user_pool(UserPoolId=PLAIN, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["EMAIL_OTP"]}}),
      "InvalidParameterException", None, "UpdateUserPool: first factors without PASSWORD")
got = cognito.describe_user_pool(UserPoolId=PLAIN)["UserPool"]["Policies"]["SignInPolicy"]["AllowedFirstAuthFactors"]
check(sorted(got) == ["EMAIL_OTP", "PASSWORD"], f"a refused update changes nothing {got}")

mfa = cognito.get_user_pool_mfa_config(UserPoolId=POOL)
check(mfa.get("WebAuthnConfiguration", {}).get("RelyingPartyId") == "localhost"
      and mfa["WebAuthnConfiguration"].get("UserVerification") == "preferred",
      f"GetUserPoolMfaConfig returns WebAuthnConfiguration {mfa.get('WebAuthnConfiguration')}")
check(mfa.get("MfaConfiguration") == "OFF", f"setting WebAuthn leaves MFA off {mfa.get('MfaConfiguration')}")
answer = cognito.set_user_pool_mfa_config(UserPoolId=PLAIN, MfaConfiguration="OFF", WebAuthnConfiguration={
    "RelyingPartyId": "example.com", "UserVerification": "required"})
check(answer.get("WebAuthnConfiguration", {}).get("RelyingPartyId") == "example.com"
      and answer["WebAuthnConfiguration"].get("UserVerification") == "required",
      f"SetUserPoolMfaConfig answers with WebAuthnConfiguration {answer.get('WebAuthnConfiguration')}")
fails(lambda: loose.set_user_pool_mfa_config(UserPoolId=PLAIN, WebAuthnConfiguration={
    "RelyingPartyId": "example.com", "UserVerification": "sometimes"}),
    "InvalidParameterException", None, "a UserVerification outside required/preferred")
check(cognito.get_user_pool_mfa_config(UserPoolId=PLAIN).get("WebAuthnConfiguration", {}).get("UserVerification")
      == "required", "the refused setting changed nothing")
answer = cognito.set_user_pool_mfa_config(UserPoolId=PLAIN, WebAuthnConfiguration={
    "RelyingPartyId": "example.com", "UserVerification": "required",
    "FactorConfiguration": "MULTI_FACTOR_WITH_USER_VERIFICATION"})
check(answer.get("WebAuthnConfiguration", {}).get("FactorConfiguration") == "MULTI_FACTOR_WITH_USER_VERIFICATION"
      and cognito.get_user_pool_mfa_config(UserPoolId=PLAIN)["WebAuthnConfiguration"].get("FactorConfiguration")
      == "MULTI_FACTOR_WITH_USER_VERIFICATION", f"FactorConfiguration is kept {answer.get('WebAuthnConfiguration')}")


# --- 2. The client must allow USER_AUTH ---------------------------------------------------------

message = fails(lambda: user_auth(OLD_APP, "olga"), "InvalidParameterException", None,
                "USER_AUTH through a client without ALLOW_USER_AUTH")
check("USER_AUTH" in (message or ""), f"the refusal names the flow: {message!r}")
fails(lambda: user_auth(SECRET_APP, "sam"), "NotAuthorizedException",
      f"Client {SECRET_APP} is configured with secret but SECRET_HASH was not received",
      "USER_AUTH on a client with a secret, without SECRET_HASH")


# --- 3. SELECT_CHALLENGE: what each user can use ----------------------------------------------

step = user_auth(APP, "olga")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and step.get("Session"),
      f"USER_AUTH without a preference: SELECT_CHALLENGE with a session {step.get('ChallengeName')}")
check(offered(step) == sorted(["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"]),
      f"password, verified email and phone, no passkey: {offered(step)}")
check("AuthenticationResult" not in step, "no tokens before a factor is answered")
check(offered(user_auth(APP, "pete")) == sorted(["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP"]),
      "a verified email and no phone: no SMS_OTP")
una_step = user_auth(APP, "una")
check(offered(una_step) == sorted(["PASSWORD", "PASSWORD_SRP"]), f"an unverified email: password only {offered(una_step)}")
PLAIN_APP = make_client(PLAIN, "plain-app", ExplicitAuthFlows=FLOWS)["ClientId"]
make_user(PLAIN, "paul", phone="+15550001009")
check(offered(user_auth(PLAIN_APP, "paul")) == sorted(["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP"]),
      "a pool allowing PASSWORD and EMAIL_OTP offers no SMS_OTP to a user with a phone")

# PASSWORD chosen.
done = select(APP, step["Session"], "olga", "PASSWORD", PASSWORD=PW)
signed_in(done, APP, "olga", "SELECT_CHALLENGE answered PASSWORD")
fails(lambda: select(APP, step["Session"], "olga", "PASSWORD", PASSWORD=PW), "NotAuthorizedException", None,
      "the used SELECT_CHALLENGE session a second time")
step = user_auth(APP, "olga")
fails(lambda: select(APP, step["Session"], "olga", "PASSWORD", PASSWORD="Wr0ng-Passw0rd!"),
      "NotAuthorizedException", None, "SELECT_CHALLENGE answered PASSWORD with a wrong password")

# PASSWORD_SRP chosen, answered by pycognito.
srp = AWSSRP(username="olga", password=PW, pool_id=POOL, client_id=APP, client=cognito)
srp_a = srp.get_auth_params()["SRP_A"]
step = user_auth(APP, "olga")
verifier = select(APP, step["Session"], "olga", "PASSWORD_SRP", SRP_A=srp_a)
check(verifier.get("ChallengeName") == "PASSWORD_VERIFIER"
      and {"SALT", "SRP_B", "SECRET_BLOCK", "USER_ID_FOR_SRP"} <= set(verifier.get("ChallengeParameters", {})),
      f"SELECT_CHALLENGE answered PASSWORD_SRP: PASSWORD_VERIFIER {verifier.get('ChallengeName')}")
proof = srp.process_challenge(verifier["ChallengeParameters"], {"USERNAME": "olga"})
done = cognito.respond_to_auth_challenge(ClientId=APP, ChallengeName="PASSWORD_VERIFIER",
                                         ChallengeResponses=proof, **({"Session": verifier["Session"]}
                                                                      if verifier.get("Session") else {}))
signed_in(done, APP, "olga", "the SRP proof after PASSWORD_SRP")

# EMAIL_OTP chosen.
before = last_message("olga@example.test")
step = user_auth(APP, "olga")
code_step = select(APP, step["Session"], "olga", "EMAIL_OTP")
check(code_step.get("ChallengeName") == "EMAIL_OTP" and code_step.get("Session")
      and code_step.get("Session") != step["Session"],
      f"SELECT_CHALLENGE answered EMAIL_OTP: EMAIL_OTP with a new session {code_step.get('ChallengeName')}")
params = code_step.get("ChallengeParameters", {})
check(params.get("CODE_DELIVERY_DELIVERY_MEDIUM") == "EMAIL" and params.get("CODE_DELIVERY_DESTINATION") == "o***@e***",
      f"EMAIL_OTP names where the code went {params}")
code, _ = newest_message("olga@example.test", after=before)
fails(lambda: select(APP, step["Session"], "olga", "PASSWORD", PASSWORD=PW), "NotAuthorizedException", None,
      "the SELECT_CHALLENGE session once a factor was chosen")
fails(lambda: respond(APP, "EMAIL_OTP", code_step["Session"], "olga", EMAIL_OTP_CODE=other_code(code)),
      "CodeMismatchException", None, "EMAIL_OTP with a wrong code")
done = respond(APP, "EMAIL_OTP", code_step["Session"], "olga", EMAIL_OTP_CODE=code)
access = signed_in(done, APP, "olga", "EMAIL_OTP with the code sent (after a wrong one)")
refreshed = cognito.initiate_auth(ClientId=APP, AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": done["AuthenticationResult"]["RefreshToken"]})
check_tokens(dict(refreshed["AuthenticationResult"], RefreshToken="kept"), APP, "olga",
             "the refresh token of an EMAIL_OTP sign-in refreshes")
fails(lambda: respond(APP, "EMAIL_OTP", code_step["Session"], "olga", EMAIL_OTP_CODE=code),
      "NotAuthorizedException", None, "the EMAIL_OTP session a second time")

# SMS_OTP chosen.
before = last_message("+15550001003")
step = user_auth(APP, "tess")
code_step = select(APP, step["Session"], "tess", "SMS_OTP")
params = code_step.get("ChallengeParameters", {})
check(code_step.get("ChallengeName") == "SMS_OTP" and params.get("CODE_DELIVERY_DELIVERY_MEDIUM") == "SMS"
      and params.get("CODE_DELIVERY_DESTINATION") == "+*******1003",
      f"SELECT_CHALLENGE answered SMS_OTP: SMS_OTP, the phone's last digits {code_step.get('ChallengeName')} {params}")
code, sms = newest_message("+15550001003", after=before)
check(sms.endswith(".sms"), f"the SMS_OTP code is a text message {sms}")
fails(lambda: respond(APP, "SMS_OTP", code_step["Session"], "tess", SMS_OTP_CODE=other_code(code)),
      "CodeMismatchException", None, "SMS_OTP with a wrong code")
signed_in(respond(APP, "SMS_OTP", code_step["Session"], "tess", SMS_OTP_CODE=code), APP, "tess",
          "SMS_OTP with the code sent")
fails(lambda: respond(APP, "SMS_OTP", code_step["Session"], "tess", SMS_OTP_CODE=code),
      "NotAuthorizedException", None, "the SMS_OTP session a second time")

# Three wrong codes end the step.
before = last_message("wes@example.test")
step = user_auth(APP, "wes", "EMAIL_OTP")
check(step.get("ChallengeName") == "EMAIL_OTP", f"PREFERRED_CHALLENGE=EMAIL_OTP: EMAIL_OTP {step.get('ChallengeName')}")
code, _ = newest_message("wes@example.test", after=before)
for n in range(3):
    fails(lambda: respond(APP, "EMAIL_OTP", step["Session"], "wes", EMAIL_OTP_CODE=other_code(code)),
          "CodeMismatchException", None, f"wrong code #{n + 1}")
fails(lambda: respond(APP, "EMAIL_OTP", step["Session"], "wes", EMAIL_OTP_CODE=code),
      "NotAuthorizedException", EXPIRED, "the right code after three wrong ones")


# --- 4. PREFERRED_CHALLENGE ------------------------------------------------------------------

signed_in(user_auth(APP, "pete", "PASSWORD", PASSWORD=PW), APP, "pete", "PREFERRED_CHALLENGE=PASSWORD with PASSWORD")
fails(lambda: user_auth(APP, "pete", "PASSWORD", PASSWORD="Wr0ng-Passw0rd!"), "NotAuthorizedException", None,
      "PREFERRED_CHALLENGE=PASSWORD with a wrong password")
srp = AWSSRP(username="pete", password=PW, pool_id=POOL, client_id=APP, client=cognito)
verifier = user_auth(APP, "pete", "PASSWORD_SRP", SRP_A=srp.get_auth_params()["SRP_A"])
check(verifier.get("ChallengeName") == "PASSWORD_VERIFIER",
      f"PREFERRED_CHALLENGE=PASSWORD_SRP: PASSWORD_VERIFIER {verifier.get('ChallengeName')}")
proof = srp.process_challenge(verifier["ChallengeParameters"], {"USERNAME": "pete"})
signed_in(cognito.respond_to_auth_challenge(ClientId=APP, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=proof,
                                            **({"Session": verifier["Session"]} if verifier.get("Session") else {})),
          APP, "pete", "the SRP proof after PREFERRED_CHALLENGE=PASSWORD_SRP")
before = last_message("pete@example.test")
step = user_auth(APP, "pete", "EMAIL_OTP")
check(step.get("ChallengeName") == "EMAIL_OTP" and step["ChallengeParameters"].get("CODE_DELIVERY_DESTINATION") == "p***@e***",
      f"PREFERRED_CHALLENGE=EMAIL_OTP: the code is sent at once {step.get('ChallengeName')}")
code, _ = newest_message("pete@example.test", after=before)
signed_in(respond(APP, "EMAIL_OTP", step["Session"], "pete", EMAIL_OTP_CODE=code), APP, "pete",
          "EMAIL_OTP after PREFERRED_CHALLENGE")
before = last_message("+15550001003")
step = user_auth(APP, "tess", "SMS_OTP")
check(step.get("ChallengeName") == "SMS_OTP", f"PREFERRED_CHALLENGE=SMS_OTP: SMS_OTP {step.get('ChallengeName')}")
code, _ = newest_message("+15550001003", after=before)
signed_in(respond(APP, "SMS_OTP", step["Session"], "tess", SMS_OTP_CODE=code), APP, "tess",
          "SMS_OTP after PREFERRED_CHALLENGE")
# What the user cannot use: the choice instead [I].
step = user_auth(APP, "pete", "SMS_OTP")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and offered(step) == sorted(["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP"]),
      f"PREFERRED_CHALLENGE=SMS_OTP without a phone: SELECT_CHALLENGE {step.get('ChallengeName')} {offered(step)}")
step = user_auth(APP, "una", "EMAIL_OTP")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and offered(step) == sorted(["PASSWORD", "PASSWORD_SRP"]),
      f"PREFERRED_CHALLENGE=EMAIL_OTP with an unverified email: SELECT_CHALLENGE {step.get('ChallengeName')}")
check(last_message("una@example.test") is None, "and nothing is sent to the unverified address")
step = user_auth(APP, "pete", "WEB_AUTHN")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and "WEB_AUTHN" not in offered(step),
      f"PREFERRED_CHALLENGE=WEB_AUTHN without a passkey: SELECT_CHALLENGE {step.get('ChallengeName')} {offered(step)}")

# A factor the pool does not allow.
step = user_auth(PLAIN_APP, "paul")
fails(lambda: select(PLAIN_APP, step["Session"], "paul", "SMS_OTP"), "InvalidParameterException", None,
      "SELECT_CHALLENGE answered SMS_OTP in a pool without it")
step = user_auth(PLAIN_APP, "paul")
fails(lambda: select(PLAIN_APP, step["Session"], "paul", "WEB_AUTHN"), "InvalidParameterException", None,
      "SELECT_CHALLENGE answered WEB_AUTHN in a pool without it")
check(last_message("+15550001009") is None, "no text message in a pool without SMS_OTP")

# SECRET_HASH, and the admin flow.
before = last_message("sam@example.test")
step = user_auth(SECRET_APP, "sam", "EMAIL_OTP", SECRET_HASH=secret_hash(SECRET_APP, APP_SECRET, "sam"))
check(step.get("ChallengeName") == "EMAIL_OTP", f"USER_AUTH with SECRET_HASH {step.get('ChallengeName')}")
code, _ = newest_message("sam@example.test", after=before)
signed_in(respond(SECRET_APP, "EMAIL_OTP", step["Session"], "sam", EMAIL_OTP_CODE=code,
                  SECRET_HASH=secret_hash(SECRET_APP, APP_SECRET, "sam")), SECRET_APP, "sam",
          "EMAIL_OTP through the client with a secret")
fails(lambda: user_auth(SECRET_APP, "sam", "PASSWORD", PASSWORD=PW, SECRET_HASH=secret_hash(SECRET_APP, "wrong", "sam")),
      "NotAuthorizedException", None, "USER_AUTH with a wrong SECRET_HASH")
step = cognito.admin_initiate_auth(UserPoolId=POOL, ClientId=ADMIN_APP, AuthFlow="USER_AUTH",
                                   AuthParameters={"USERNAME": "adam"})
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and "EMAIL_OTP" in offered(step),
      f"AdminInitiateAuth USER_AUTH: SELECT_CHALLENGE {step.get('ChallengeName')} {offered(step)}")
before = last_message("adam@example.test")
code_step = cognito.admin_respond_to_auth_challenge(UserPoolId=POOL, ClientId=ADMIN_APP, ChallengeName="SELECT_CHALLENGE",
                                                    Session=step["Session"],
                                                    ChallengeResponses={"USERNAME": "adam", "ANSWER": "EMAIL_OTP"})
check(code_step.get("ChallengeName") == "EMAIL_OTP", f"AdminRespondToAuthChallenge chooses EMAIL_OTP {code_step.get('ChallengeName')}")
code, _ = newest_message("adam@example.test", after=before)
signed_in(cognito.admin_respond_to_auth_challenge(UserPoolId=POOL, ClientId=ADMIN_APP, ChallengeName="EMAIL_OTP",
                                                  Session=code_step["Session"],
                                                  ChallengeResponses={"USERNAME": "adam", "EMAIL_OTP_CODE": code}),
          ADMIN_APP, "adam", "the admin EMAIL_OTP answer")
done = cognito.admin_initiate_auth(UserPoolId=POOL, ClientId=ADMIN_APP, AuthFlow="USER_AUTH",
                                   AuthParameters={"USERNAME": "adam", "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": PW})
signed_in(done, ADMIN_APP, "adam", "AdminInitiateAuth USER_AUTH with PREFERRED_CHALLENGE=PASSWORD")


# --- 5. MFA: after a password, not after a code [I]; ON pools offer no codes first --------------

MFA_POOL = make_pool("optional-mfa", ["PASSWORD", "EMAIL_OTP"])
cognito.set_user_pool_mfa_config(UserPoolId=MFA_POOL, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True},
                                 SmsMfaConfiguration={"SmsAuthenticationMessage": "Your code is {####}",
                                                      "SmsConfiguration": SNS})
MFA_APP = make_client(MFA_POOL, "mfa-app", ExplicitAuthFlows=FLOWS)["ClientId"]
make_user(MFA_POOL, "quinn", phone="+15550001004")
cognito.admin_set_user_mfa_preference(UserPoolId=MFA_POOL, Username="quinn",
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
before = last_message("+15550001004")
step = user_auth(MFA_APP, "quinn", "PASSWORD", PASSWORD=PW)
check(step.get("ChallengeName") == "SMS_MFA", f"a password first factor still asks for MFA {step.get('ChallengeName')}")
code, _ = newest_message("+15550001004", after=before)
signed_in(respond(MFA_APP, "SMS_MFA", step["Session"], "quinn", SMS_MFA_CODE=code), MFA_APP, "quinn",
          "the SMS_MFA code after USER_AUTH's password")
before = last_message("quinn@example.test")
step = user_auth(MFA_APP, "quinn", "EMAIL_OTP")
code, _ = newest_message("quinn@example.test", after=before)
signed_in(respond(MFA_APP, "EMAIL_OTP", step["Session"], "quinn", EMAIL_OTP_CODE=code), MFA_APP, "quinn",
          "an EMAIL_OTP first factor is not followed by MFA")
factors = signed_call("AdminGetUserAuthFactors", {"UserPoolId": MFA_POOL, "Username": "quinn"})
check(factors[0] == 200 and factors[1].get("UserMFASettingList") == ["SMS_MFA"]
      and factors[1].get("PreferredMfaSetting") == "SMS_MFA"
      and sorted(factors[1].get("ConfiguredUserAuthFactors", [])) == ["EMAIL_OTP", "PASSWORD"],
      f"AdminGetUserAuthFactors: the MFA settings and the first factors the pool allows {factors}")

ON_POOL = make_pool("mfa-on", ["PASSWORD", "EMAIL_OTP", "SMS_OTP"])
cognito.set_user_pool_mfa_config(UserPoolId=ON_POOL, MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True},
                                 SmsMfaConfiguration={"SmsAuthenticationMessage": "Your code is {####}",
                                                      "SmsConfiguration": SNS},
                                 EmailMfaConfiguration={"Message": "Your code is {####}.", "Subject": "Code"})
ON_APP = make_client(ON_POOL, "on-app", ExplicitAuthFlows=FLOWS)["ClientId"]
make_user(ON_POOL, "oscar", phone="+15550001005")
step = user_auth(ON_APP, "oscar")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and offered(step) == ["PASSWORD", "PASSWORD_SRP"],
      f"MFA ON: no codes as first factors {offered(step)}")
refused(lambda: select(ON_APP, step["Session"], "oscar", "EMAIL_OTP"), "MFA ON: EMAIL_OTP chosen anyway")
step = user_auth(ON_APP, "oscar", "EMAIL_OTP")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and "EMAIL_OTP" not in offered(step),
      f"MFA ON: PREFERRED_CHALLENGE=EMAIL_OTP falls back to the choice {step.get('ChallengeName')}")
check(last_message("oscar@example.test") is None and last_message("+15550001005") is None,
      "MFA ON: no first-factor code was sent")
step = user_auth(ON_APP, "oscar", "PASSWORD", PASSWORD=PW)
check(step.get("ChallengeName") in ("SMS_MFA", "EMAIL_OTP", "SELECT_MFA_TYPE"),
      f"MFA ON: the password is followed by MFA {step.get('ChallengeName')}")


# --- 6. Passkey management before any passkey -------------------------------------------------

olga = password_tokens(APP, "olga")["AccessToken"]
pete = password_tokens(APP, "pete")["AccessToken"]
una = password_tokens(APP, "una")["AccessToken"]
check(cognito.list_web_authn_credentials(AccessToken=pete)["Credentials"] == [], "ListWebAuthnCredentials: none yet")
fails(lambda: loose.list_web_authn_credentials(AccessToken=pete, MaxResults=21), "InvalidParameterException", None,
      "MaxResults above 20")
made_up = {"challenge": b64url(b"a challenge the server never gave"), "rp": {"id": "localhost", "name": "made up"},
           "user": {"id": b64url(b"pete"), "name": "pete", "displayName": "pete"},
           "pubKeyCredParams": [{"type": "public-key", "alg": -7}]}
fails(lambda: cognito.complete_web_authn_registration(AccessToken=pete, Credential=Passkey().register(made_up)),
      "WebAuthnChallengeNotFoundException", None, "CompleteWebAuthnRegistration without StartWebAuthnRegistration")
got = cognito.get_user_auth_factors(AccessToken=olga)
check(got.get("Username") == "olga" and sorted(got.get("ConfiguredUserAuthFactors", [])) == ["EMAIL_OTP", "PASSWORD", "SMS_OTP"],
      f"GetUserAuthFactors: password, email and phone, no passkey {got.get('ConfiguredUserAuthFactors')}")
got = cognito.get_user_auth_factors(AccessToken=una)
check(got.get("ConfiguredUserAuthFactors") == ["PASSWORD"],
      f"GetUserAuthFactors: an unverified email adds nothing {got.get('ConfiguredUserAuthFactors')}")
status, got = signed_call("AdminGetUserAuthFactors", {"UserPoolId": POOL, "Username": "nobody"})
check(status == 400 and got.get("__type") == "UserNotFoundException", f"AdminGetUserAuthFactors of an unknown user {got}")
fails(lambda: cognito.delete_web_authn_credential(AccessToken=olga, CredentialId=b64url(b"no such credential")),
      "ResourceNotFoundException", None, "DeleteWebAuthnCredential of an unknown credential")
paul = password_tokens(PLAIN_APP, "paul")["AccessToken"]
fails(lambda: cognito.start_web_authn_registration(AccessToken=paul), "WebAuthnNotEnabledException", None,
      "StartWebAuthnRegistration where WEB_AUTHN is not a first factor")
fails(lambda: cognito.complete_web_authn_registration(AccessToken=paul, Credential=Passkey().register(made_up)),
      "WebAuthnNotEnabledException", None, "CompleteWebAuthnRegistration where WEB_AUTHN is not a first factor")


# --- 7. Passkeys: registration -----------------------------------------------------------------

options = cognito.start_web_authn_registration(AccessToken=olga)["CredentialCreationOptions"]
members = sorted(options) if isinstance(options, dict) else options
check(isinstance(options, dict) and {"challenge", "rp", "user", "pubKeyCredParams"} <= set(options),
      f"CredentialCreationOptions is a JSON document with the creation options {members!r}")
if not (isinstance(options, dict) and {"challenge", "rp", "user", "pubKeyCredParams"} <= set(options)):
    print("no creation options: the passkey checks cannot go on", flush=True)
    summary()
check(options["rp"].get("id") == "localhost" and isinstance(options["rp"].get("name"), str),
      f"the options name the relying party {options.get('rp')}")
check(len(unb64url(options["challenge"])) >= 16, f"a challenge of at least 16 bytes {options.get('challenge')}")
user = options.get("user", {})
check(user.get("name") == "olga" and isinstance(user.get("displayName"), str) and len(unb64url(user.get("id", ""))) > 0,
      f"the options name the user {user}")
check({"type": "public-key", "alg": -7} in options.get("pubKeyCredParams", []),
      f"ES256 among pubKeyCredParams {options.get('pubKeyCredParams')}")
check(options.get("excludeCredentials") == [], f"nothing to exclude yet {options.get('excludeCredentials')}")
check(isinstance(options.get("authenticatorSelection"), dict) and isinstance(options.get("timeout"), int),
      f"authenticatorSelection and timeout {options.get('authenticatorSelection')} {options.get('timeout')}")
check(options["authenticatorSelection"].get("userVerification") == "preferred",
      f"userVerification follows the pool {options['authenticatorSelection']}")
olga_key = Passkey()
credential = olga_key.register(options, uv=False)  # "preferred": a key without UV is taken
answer = cognito.complete_web_authn_registration(AccessToken=olga, Credential=credential)
check(answer == {k: v for k, v in answer.items() if k == "ResponseMetadata"}, "CompleteWebAuthnRegistration answers {}")
fails(lambda: cognito.complete_web_authn_registration(AccessToken=olga, Credential=credential),
      "WebAuthnChallengeNotFoundException", None, "CompleteWebAuthnRegistration twice")
listed = cognito.list_web_authn_credentials(AccessToken=olga)
creds = listed["Credentials"]
check(len(creds) == 1 and creds[0]["CredentialId"] == olga_key.id and creds[0]["RelyingPartyId"] == "localhost",
      f"ListWebAuthnCredentials lists the passkey {creds}")
if creds:
    check(creds[0].get("AuthenticatorAttachment") == "platform" and creds[0].get("AuthenticatorTransports") == ["internal"]
          and isinstance(creds[0].get("FriendlyCredentialName"), str),
          f"its attachment, transports and name {creds[0]}")
    created = creds[0]["CreatedAt"]
    created = created.timestamp() if hasattr(created, "timestamp") else created
    check(abs(created - time.time()) < 300, f"CreatedAt is now {creds[0]['CreatedAt']}")
check("NextToken" not in listed, "one page")

options = cognito.start_web_authn_registration(AccessToken=olga)["CredentialCreationOptions"]
check([c.get("id") for c in options.get("excludeCredentials", [])] == [olga_key.id],
      f"the next registration excludes the passkey {options.get('excludeCredentials')}")
fails(lambda: cognito.complete_web_authn_registration(AccessToken=olga, Credential=Passkey().register(options, rp_id="evil.example")),
      "WebAuthnRelyingPartyMismatchException", None, "a passkey made for another relying party")
options = cognito.start_web_authn_registration(AccessToken=olga)["CredentialCreationOptions"]
fails(lambda: cognito.complete_web_authn_registration(AccessToken=olga, Credential=Passkey().register(options, origin="https://evil.example")),
      "WebAuthnOriginNotAllowedException", None, "a passkey made on another origin")
options = cognito.start_web_authn_registration(AccessToken=olga)["CredentialCreationOptions"]
port = ENDPOINT.rsplit(":", 1)[1]
fails(lambda: cognito.complete_web_authn_registration(AccessToken=olga, Credential=Passkey().register(options, origin=f"http://127.0.0.1:{port}")),
      "WebAuthnOriginNotAllowedException", None, "a passkey made on the server's IP address, not localhost")
options = cognito.start_web_authn_registration(AccessToken=olga)["CredentialCreationOptions"]
refused(lambda: cognito.complete_web_authn_registration(AccessToken=olga, Credential=Passkey().register(
    options, challenge=b64url(b"not the challenge we were given"))), "a registration over another challenge")
check([c["CredentialId"] for c in cognito.list_web_authn_credentials(AccessToken=olga)["Credentials"]] == [olga_key.id],
      "the refused registrations added nothing")

# Pete's own passkey, for the sign-in checks against another user's key.
pete_key = Passkey()
cognito.complete_web_authn_registration(AccessToken=pete, Credential=pete_key.register(
    cognito.start_web_authn_registration(AccessToken=pete)["CredentialCreationOptions"]))
check([c["CredentialId"] for c in cognito.list_web_authn_credentials(AccessToken=pete)["Credentials"]] == [pete_key.id],
      "each user lists only their own passkeys")


# Pages of passkeys.
rita = password_tokens(APP, "rita")["AccessToken"]
rita_keys = []
for _ in range(3):
    key = Passkey()
    cognito.complete_web_authn_registration(AccessToken=rita, Credential=key.register(
        cognito.start_web_authn_registration(AccessToken=rita)["CredentialCreationOptions"]))
    rita_keys.append(key.id)
page = cognito.list_web_authn_credentials(AccessToken=rita, MaxResults=2)
rest = cognito.list_web_authn_credentials(AccessToken=rita, MaxResults=2, NextToken=page.get("NextToken", "none"))
ids = [c["CredentialId"] for c in page["Credentials"] + rest["Credentials"]]
check(len(page["Credentials"]) == 2 and "NextToken" in page and len(rest["Credentials"]) == 1
      and "NextToken" not in rest and sorted(ids) == sorted(rita_keys),
      f"ListWebAuthnCredentials pages through three passkeys {len(page['Credentials'])}+{len(rest['Credentials'])}")
check(len(cognito.list_web_authn_credentials(AccessToken=rita)["Credentials"]) == 3, "without MaxResults, all three")


# --- 8. Passkeys: sign-in ----------------------------------------------------------------------

step = user_auth(APP, "olga")
check(offered(step) == sorted(["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"]),
      f"a passkey adds WEB_AUTHN to the choice {offered(step)}")
webauthn = select(APP, step["Session"], "olga", "WEB_AUTHN")
check(webauthn.get("ChallengeName") == "WEB_AUTHN" and webauthn.get("Session"),
      f"SELECT_CHALLENGE answered WEB_AUTHN: WEB_AUTHN {webauthn.get('ChallengeName')}")
request = request_options(webauthn, "WEB_AUTHN")
check(request.get("rpId") == "localhost" and len(unb64url(request.get("challenge", ""))) >= 16
      and request.get("userVerification") == "preferred" and isinstance(request.get("timeout"), int),
      f"CREDENTIAL_REQUEST_OPTIONS: rpId, challenge, userVerification, timeout {request}")
check([c.get("id") for c in request.get("allowCredentials", [])] == [olga_key.id]
      and all(c.get("type") == "public-key" for c in request.get("allowCredentials", [])),
      f"allowCredentials names the user's passkey {request.get('allowCredentials')}")
assertion = olga_key.assert_(request)
done = respond(APP, "WEB_AUTHN", webauthn["Session"], "olga", CREDENTIAL=assertion)
signed_in(done, APP, "olga", "WEB_AUTHN with the passkey's assertion")
fails(lambda: respond(APP, "WEB_AUTHN", webauthn["Session"], "olga", CREDENTIAL=assertion), "NotAuthorizedException",
      None, "the same assertion on the spent session")
old_request = request
step = user_auth(APP, "olga", "WEB_AUTHN")
fails(lambda: cognito.respond_to_auth_challenge(
    ClientId=ADMIN_APP, ChallengeName="WEB_AUTHN", Session=step["Session"],
    ChallengeResponses={"USERNAME": "olga", "CREDENTIAL": olga_key.assert_(request_options(step, "other client"))}),
    "NotAuthorizedException", None, "a WEB_AUTHN step answered through another client")

step = user_auth(APP, "olga", "WEB_AUTHN")
check(step.get("ChallengeName") == "WEB_AUTHN", f"PREFERRED_CHALLENGE=WEB_AUTHN: WEB_AUTHN at once {step.get('ChallengeName')}")
request = request_options(step, "PREFERRED_CHALLENGE=WEB_AUTHN")
check(request.get("challenge") != old_request.get("challenge"), "each sign-in has its own challenge")
fails(lambda: respond(APP, "WEB_AUTHN", step["Session"], "olga", CREDENTIAL=olga_key.assert_(old_request)),
      "NotAuthorizedException", None, "an assertion over an old challenge")
step = user_auth(APP, "olga", "WEB_AUTHN")
fails(lambda: respond(APP, "WEB_AUTHN", step["Session"], "olga", CREDENTIAL=pete_key.assert_(request_options(step, "pete's key"))),
      "NotAuthorizedException", None, "an assertion by another user's passkey")
step = user_auth(APP, "olga", "WEB_AUTHN")
fails(lambda: respond(APP, "WEB_AUTHN", step["Session"], "olga",
                      CREDENTIAL=olga_key.assert_(request_options(step, "another RP"), rp_id="evil.example")),
      "NotAuthorizedException", None, "an assertion for another relying party")
step = user_auth(APP, "olga", "WEB_AUTHN")
fails(lambda: respond(APP, "WEB_AUTHN", step["Session"], "olga",
                      CREDENTIAL=olga_key.assert_(request_options(step, "another origin"), origin="https://evil.example")),
      "NotAuthorizedException", None, "an assertion made on another origin")
step = user_auth(APP, "olga", "WEB_AUTHN")
forged = json.loads(olga_key.assert_(request_options(step, "forged")))
signature = bytearray(unb64url(forged["response"]["signature"]))
signature[-1] ^= 1
forged["response"]["signature"] = b64url(bytes(signature))
fails(lambda: respond(APP, "WEB_AUTHN", step["Session"], "olga", CREDENTIAL=json.dumps(forged)),
      "NotAuthorizedException", None, "an assertion with a broken signature")
step = user_auth(APP, "olga", "WEB_AUTHN")
signed_in(respond(APP, "WEB_AUTHN", step["Session"], "olga", CREDENTIAL=olga_key.assert_(request_options(step, "again"))),
          APP, "olga", "the passkey still signs in after the refused attempts")
step = cognito.admin_initiate_auth(UserPoolId=POOL, ClientId=ADMIN_APP, AuthFlow="USER_AUTH",
                                   AuthParameters={"USERNAME": "pete", "PREFERRED_CHALLENGE": "WEB_AUTHN"})
check(step.get("ChallengeName") == "WEB_AUTHN", f"AdminInitiateAuth PREFERRED_CHALLENGE=WEB_AUTHN {step.get('ChallengeName')}")
signed_in(cognito.admin_respond_to_auth_challenge(
    UserPoolId=POOL, ClientId=ADMIN_APP, ChallengeName="WEB_AUTHN", Session=step["Session"],
    ChallengeResponses={"USERNAME": "pete", "CREDENTIAL": pete_key.assert_(request_options(step, "admin"))}),
    ADMIN_APP, "pete", "AdminRespondToAuthChallenge with pete's assertion")


# --- 9. Auth factors, and deleting passkeys -----------------------------------------------------

got = cognito.get_user_auth_factors(AccessToken=olga)
check(got.get("Username") == "olga" and sorted(got.get("ConfiguredUserAuthFactors", [])) == sorted(ALL_FACTORS),
      f"GetUserAuthFactors: all four factors {got.get('ConfiguredUserAuthFactors')}")
status, got = signed_call("AdminGetUserAuthFactors", {"UserPoolId": POOL, "Username": "pete"})
check(status == 200 and got.get("Username") == "pete"
      and sorted(got.get("ConfiguredUserAuthFactors", [])) == ["EMAIL_OTP", "PASSWORD", "WEB_AUTHN"],
      f"AdminGetUserAuthFactors {status} {got}")

fails(lambda: cognito.delete_web_authn_credential(AccessToken=olga, CredentialId=pete_key.id),
      "ResourceNotFoundException", None, "DeleteWebAuthnCredential of another user's credential")
check([c["CredentialId"] for c in cognito.list_web_authn_credentials(AccessToken=pete)["Credentials"]] == [pete_key.id],
      "pete's passkey is still there")
cognito.delete_web_authn_credential(AccessToken=olga, CredentialId=olga_key.id)
check(cognito.list_web_authn_credentials(AccessToken=olga)["Credentials"] == [], "the deleted passkey is gone")
check("WEB_AUTHN" not in cognito.get_user_auth_factors(AccessToken=olga).get("ConfiguredUserAuthFactors", []),
      "and WEB_AUTHN is no longer a factor")
step = user_auth(APP, "olga", "WEB_AUTHN")
check(step.get("ChallengeName") == "SELECT_CHALLENGE" and "WEB_AUTHN" not in offered(step),
      f"nor offered {step.get('ChallengeName')} {offered(step)}")
step = user_auth(APP, "pete", "WEB_AUTHN")
stale = pete_key.assert_(request_options(step, "before the deletion"))
cognito.delete_web_authn_credential(AccessToken=pete, CredentialId=pete_key.id)
fails(lambda: respond(APP, "WEB_AUTHN", step["Session"], "pete", CREDENTIAL=stale), "NotAuthorizedException", None,
      "an assertion by a passkey deleted after the step began")


# --- 10. Relying party IDs beyond localhost, and user verification ----------------------------------

EX_POOL = make_pool("example-rp", ["PASSWORD", "WEB_AUTHN"], webauthn={"RelyingPartyId": "example.com",
                                                                        "UserVerification": "preferred"})
EX_APP = make_client(EX_POOL, "ex-app", ExplicitAuthFlows=FLOWS)["ClientId"]
make_user(EX_POOL, "erin")
erin = password_tokens(EX_APP, "erin")["AccessToken"]
for origin in ("http://login.example.com", "https://example.com.evil.test", "https://notexample.com", ORIGIN):
    options = cognito.start_web_authn_registration(AccessToken=erin)["CredentialCreationOptions"]
    fails(lambda: cognito.complete_web_authn_registration(AccessToken=erin, Credential=Passkey().register(options, origin=origin)),
          "WebAuthnOriginNotAllowedException", None, f"relying party example.com, origin {origin}")
options = cognito.start_web_authn_registration(AccessToken=erin)["CredentialCreationOptions"]
check(options["rp"].get("id") == "example.com", f"the pool's relying party ID {options['rp']}")
erin_key = Passkey()
cognito.complete_web_authn_registration(AccessToken=erin, Credential=erin_key.register(options, origin="https://login.example.com"))
check(len(cognito.list_web_authn_credentials(AccessToken=erin)["Credentials"]) == 1,
      "relying party example.com: a passkey made on a subdomain")
step = user_auth(EX_APP, "erin", "WEB_AUTHN")
signed_in(respond(EX_APP, "WEB_AUTHN", step["Session"], "erin",
                  CREDENTIAL=erin_key.assert_(request_options(step, "example.com"), origin="https://example.com")),
          EX_APP, "erin", "relying party example.com: signing in on the domain itself")
step = user_auth(EX_APP, "erin", "WEB_AUTHN")
fails(lambda: respond(EX_APP, "WEB_AUTHN", step["Session"], "erin",
                      CREDENTIAL=erin_key.assert_(request_options(step, "http"), origin="http://example.com")),
      "NotAuthorizedException", None, "relying party example.com: an assertion made over http")

UV_POOL = make_pool("uv-required", ["PASSWORD", "WEB_AUTHN"], webauthn={"RelyingPartyId": "localhost",
                                                                         "UserVerification": "required"})
UV_APP = make_client(UV_POOL, "uv-app", ExplicitAuthFlows=FLOWS)["ClientId"]
make_user(UV_POOL, "vera")
vera = password_tokens(UV_APP, "vera")["AccessToken"]
options = cognito.start_web_authn_registration(AccessToken=vera)["CredentialCreationOptions"]
check(options.get("authenticatorSelection", {}).get("userVerification") == "required",
      f"UserVerification required: the options ask for it {options.get('authenticatorSelection')}")
refused(lambda: cognito.complete_web_authn_registration(AccessToken=vera, Credential=Passkey().register(options, uv=False)),
        "UserVerification required: a registration without the UV flag")
check(cognito.list_web_authn_credentials(AccessToken=vera)["Credentials"] == [], "nothing was registered")
vera_key = Passkey()
options = cognito.start_web_authn_registration(AccessToken=vera)["CredentialCreationOptions"]
cognito.complete_web_authn_registration(AccessToken=vera, Credential=vera_key.register(options, uv=True))
check(len(cognito.list_web_authn_credentials(AccessToken=vera)["Credentials"]) == 1,
      "UserVerification required: a registration with the UV flag")
step = user_auth(UV_APP, "vera", "WEB_AUTHN")
request = request_options(step, "UV required")
check(request.get("userVerification") == "required", f"the request options ask for UV {request.get('userVerification')}")
fails(lambda: respond(UV_APP, "WEB_AUTHN", step["Session"], "vera", CREDENTIAL=vera_key.assert_(request, uv=False)),
      "NotAuthorizedException", None, "UserVerification required: an assertion without the UV flag")
step = user_auth(UV_APP, "vera", "WEB_AUTHN")
signed_in(respond(UV_APP, "WEB_AUTHN", step["Session"], "vera", CREDENTIAL=vera_key.assert_(request_options(step, "UV"), uv=True)),
          UV_APP, "vera", "UserVerification required: an assertion with the UV flag")

summary()
