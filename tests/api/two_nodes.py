"""A sign-in started at one node answers its challenges at the other (two servers on one
PostgreSQL): SRP's PASSWORD_VERIFIER (pycognito's client math), NEW_PASSWORD_REQUIRED, a TOTP
challenge and a refresh, a USER_AUTH code by email, and a passkey's registration and sign-in
(soft-fido2's authenticator), each begun at one node and finished at the other, once.

Usage: two_nodes.py URL_A KEY SECRET URL_B OUTBOX_DIR
"""

import base64
import hashlib
import hmac
import json
import struct
import sys
import time

from pycognito.aws_srp import AWSSRP

from common import check, client, error_of, newest_outbox_code, summary
from passkey_device import Passkey

url_a, key, secret, url_b, outbox = sys.argv[1:6]
node_a, node_b = client(url_a, key, secret), client(url_b, key, secret)
PW = "Passw0rd!-two-nodes"

pool = node_a.create_user_pool(PoolName="two-nodes")["UserPool"]["Id"]
node_a.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                SoftwareTokenMfaConfiguration={"Enabled": True})
app = node_a.create_user_pool_client(UserPoolId=pool, ClientName="app", ExplicitAuthFlows=[
    "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]


def make_user(name, permanent=True):
    node_a.admin_create_user(UserPoolId=pool, Username=name, TemporaryPassword="Temp-Passw0rd!",
                             MessageAction="SUPPRESS")
    if permanent:
        node_a.admin_set_user_password(UserPoolId=pool, Username=name, Password=PW, Permanent=True)


def wait_for_client(node):
    """The client made at A is served by B within a second (the change feed)."""
    for _ in range(50):
        code, _ = error_of(lambda: node.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH",
                                                      AuthParameters={"USERNAME": "nobody", "PASSWORD": "x"}))
        if code != "ResourceNotFoundException":
            return
        time.sleep(0.02)
    check(False, "node B never learned of the client")


wait_for_client(node_b)

# SRP: the first half at A, the proof at B; the same proof again at either is refused.
make_user("ann")
srp = AWSSRP(username="ann", password=PW, pool_id=pool, client_id=app, client=node_a)
params = srp.get_auth_params()
first = node_a.initiate_auth(ClientId=app, AuthFlow="USER_SRP_AUTH", AuthParameters=params)
answer = srp.process_challenge(first["ChallengeParameters"], params)
done = node_b.respond_to_auth_challenge(ClientId=app, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer)
check("AccessToken" in done["AuthenticationResult"], "an SRP proof begun at A is accepted at B")
for node, name in ((node_a, "A"), (node_b, "B")):
    code, _ = error_of(lambda: node.respond_to_auth_challenge(ClientId=app, ChallengeName="PASSWORD_VERIFIER",
                                                              ChallengeResponses=answer))
    check(code == "NotAuthorizedException", f"the same proof again at {name} is refused: {code}")

# A refresh token from B refreshes at A.
refreshed = node_a.initiate_auth(ClientId=app, AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": done["AuthenticationResult"]["RefreshToken"]})
check("AccessToken" in refreshed["AuthenticationResult"], "a refresh token issued at B works at A")

# NEW_PASSWORD_REQUIRED: the session from A answered at B, once.
make_user("ben", permanent=False)
step = node_a.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH",
                            AuthParameters={"USERNAME": "ben", "PASSWORD": "Temp-Passw0rd!"})
check(step.get("ChallengeName") == "NEW_PASSWORD_REQUIRED", f"a temporary password at A: {step.get('ChallengeName')}")
responses = {"USERNAME": "ben", "NEW_PASSWORD": PW}
done = node_b.respond_to_auth_challenge(ClientId=app, ChallengeName="NEW_PASSWORD_REQUIRED",
                                        Session=step["Session"], ChallengeResponses=responses)
check("AccessToken" in done["AuthenticationResult"], "A's session answered at B")
code, _ = error_of(lambda: node_a.respond_to_auth_challenge(ClientId=app, ChallengeName="NEW_PASSWORD_REQUIRED",
                                                            Session=step["Session"], ChallengeResponses=responses))
check(code == "NotAuthorizedException", f"the session again at A is spent: {code}")


def totp(secret_b32, step_offset):
    key_bytes = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int(time.time()) // 30 + step_offset
    mac = hmac.new(key_bytes, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


# TOTP: set up at A, the sign-in's challenge begun at B and answered at A.
access = done["AuthenticationResult"]["AccessToken"]
code_secret = node_a.associate_software_token(AccessToken=access)["SecretCode"]
node_b.verify_software_token(AccessToken=access, UserCode=totp(code_secret, 0))
node_a.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
step = node_b.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "ben", "PASSWORD": PW})
check(step.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", f"TOTP asked at B: {step.get('ChallengeName')}")
done = node_a.respond_to_auth_challenge(ClientId=app, ChallengeName="SOFTWARE_TOKEN_MFA", Session=step["Session"],
                                        ChallengeResponses={"USERNAME": "ben", "SOFTWARE_TOKEN_MFA_CODE": totp(code_secret, 1)})
check("AccessToken" in done["AuthenticationResult"], "B's TOTP challenge answered at A")

# Choice-based sign-in: an email code sent by A answered at B; a passkey registered from A to B,
# then its challenge begun at B answered at A, once.
factors = {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP", "WEB_AUTHN"]}}
node_a.update_user_pool(UserPoolId=pool, Policies=factors, AutoVerifiedAttributes=["email"])
node_a.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                SoftwareTokenMfaConfiguration={"Enabled": True},
                                WebAuthnConfiguration={"RelyingPartyId": "userpool.test"})
node_a.update_user_pool_client(UserPoolId=pool, ClientId=app, ExplicitAuthFlows=[
    "ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
node_a.admin_create_user(UserPoolId=pool, Username="cat", MessageAction="SUPPRESS", UserAttributes=[
    {"Name": "email", "Value": "cat@example.test"}, {"Name": "email_verified", "Value": "true"}])
node_a.admin_set_user_password(UserPoolId=pool, Username="cat", Password=PW, Permanent=True)
for _ in range(50):  # B learns of the new factors from the change feed
    step = node_b.initiate_auth(ClientId=app, AuthFlow="USER_AUTH",
                                AuthParameters={"USERNAME": "cat", "PREFERRED_CHALLENGE": "EMAIL_OTP"})
    if step.get("ChallengeName") == "EMAIL_OTP":
        break
    time.sleep(0.05)
check(step.get("ChallengeName") == "EMAIL_OTP", f"an email code sent at B: {step.get('ChallengeName')}")
code, _ = newest_outbox_code(outbox, "cat@example.test")
answer = {"USERNAME": "cat", "EMAIL_OTP_CODE": code}
done = node_a.respond_to_auth_challenge(ClientId=app, ChallengeName="EMAIL_OTP", Session=step["Session"],
                                        ChallengeResponses=answer)
check("AccessToken" in done["AuthenticationResult"], "B's email code answered at A")
code, _ = error_of(lambda: node_b.respond_to_auth_challenge(ClientId=app, ChallengeName="EMAIL_OTP",
                                                            Session=step["Session"], ChallengeResponses=answer))
check(code == "NotAuthorizedException", f"the code again at B is spent: {code}")

access = done["AuthenticationResult"]["AccessToken"]
key = Passkey("https://app.userpool.test")
options = node_a.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
credential = key.register(options)
node_b.complete_web_authn_registration(AccessToken=access, Credential=credential)
code, _ = error_of(lambda: node_a.complete_web_authn_registration(AccessToken=access, Credential=credential))
check(code == "WebAuthnChallengeNotFoundException", f"a registration started at A completes at B, once: {code}")
step = node_b.initiate_auth(ClientId=app, AuthFlow="USER_AUTH",
                            AuthParameters={"USERNAME": "cat", "PREFERRED_CHALLENGE": "WEB_AUTHN"})
check(step.get("ChallengeName") == "WEB_AUTHN", f"a passkey challenge at B: {step.get('ChallengeName')}")
assertion = key.assert_(json.loads(step["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]))
answer = {"USERNAME": "cat", "CREDENTIAL": assertion}
done = node_a.respond_to_auth_challenge(ClientId=app, ChallengeName="WEB_AUTHN", Session=step["Session"],
                                        ChallengeResponses=answer)
check("AccessToken" in done["AuthenticationResult"], "B's passkey challenge answered at A")
code, _ = error_of(lambda: node_b.respond_to_auth_challenge(ClientId=app, ChallengeName="WEB_AUTHN",
                                                            Session=step["Session"], ChallengeResponses=answer))
check(code == "NotAuthorizedException", f"the assertion again at B is refused: {code}")

summary()
