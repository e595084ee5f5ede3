"""Text messages through Amazon SNS (`--sms-sns`): the server publishes `SMS_OTP` and `SMS_MFA` codes
to an SNS API, here moto's (PyPI `moto[server]`, a third-party implementation of SNS's Publish
action), which this script runs in-process on SNS_PORT. The codes are read from moto's record of
the SMS it accepted, then answered with boto3 as an application would.

Usage: sms_sns.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY SNS_PORT

The server must have been started with `--sms-sns http://127.0.0.1:SNS_PORT` and AWS credentials
(moto's account is 123456789012). Prints one line per check and "N passed, 0 failed" at the end.
"""

import re
import sys
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends

import common
from common import check, client, error_of

REGION = "us-east-1"
PHONE = "+15555550123"


def texts_to(phone):
    """The messages moto's SNS accepted for `phone`, oldest first."""
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [message for number, message, *_ in backend.sms_messages.values() if number == phone]


def newest_code(phone, seen):
    """The code of the first text to `phone` beyond the `seen` ones (waits up to 10 s)."""
    for _ in range(100):
        texts = texts_to(phone)
        if len(texts) > seen:
            return re.findall(r"\b(\d{6})\b", texts[seen])[-1]
        time.sleep(0.1)
    raise AssertionError(f"no text message reached {phone} through SNS")


def main():
    endpoint, key, secret, sns_port = sys.argv[1:5]
    sns = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sns_port), verbose=False)
    sns.start()
    try:
        run(client(endpoint, key, secret))
    finally:
        sns.stop()
    common.summary()


def run(idp):
    pool = idp.create_user_pool(
        PoolName="texts",
        Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "SMS_OTP"]}},
    )["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool,
        Username="tex",
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "phone_number", "Value": PHONE},
            {"Name": "phone_number_verified", "Value": "true"},
        ],
    )
    idp.admin_set_user_password(UserPoolId=pool, Username="tex", Password="Passw0rd!sms", Permanent=True)

    # SMS_OTP as the first factor: the code travels through SNS.
    step = idp.initiate_auth(
        ClientId=app,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": "tex", "PREFERRED_CHALLENGE": "SMS_OTP"},
    )
    check(step["ChallengeName"] == "SMS_OTP", "SMS_OTP is the challenge")
    check(
        step["ChallengeParameters"].get("CODE_DELIVERY_DELIVERY_MEDIUM") == "SMS"
        and step["ChallengeParameters"].get("CODE_DELIVERY_DESTINATION") == "+*******0123",
        "the code's destination is the masked phone",
    )
    code = newest_code(PHONE, 0)
    check(len(texts_to(PHONE)) == 1, "SNS accepted one text message for the phone")
    done = idp.respond_to_auth_challenge(
        ClientId=app,
        ChallengeName="SMS_OTP",
        Session=step["Session"],
        ChallengeResponses={"USERNAME": "tex", "SMS_OTP_CODE": code},
    )
    check("AccessToken" in done.get("AuthenticationResult", {}), "the code from SNS signs the user in")

    # A wrong code is refused; the text went out once per step.
    step = idp.initiate_auth(
        ClientId=app,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": "tex", "PREFERRED_CHALLENGE": "SMS_OTP"},
    )
    code = newest_code(PHONE, 1)
    wrong = "000000" if code != "000000" else "111111"
    err = error_of(
        lambda: idp.respond_to_auth_challenge(
            ClientId=app,
            ChallengeName="SMS_OTP",
            Session=step["Session"],
            ChallengeResponses={"USERNAME": "tex", "SMS_OTP_CODE": wrong},
        )
    )
    check(err and err[0] == "CodeMismatchException", f"a wrong code is CodeMismatchException: {err}")
    check(len(texts_to(PHONE)) == 2, "each step sent one text")

    # SMS_MFA after a password: also through SNS.
    idp.set_user_pool_mfa_config(
        UserPoolId=pool,
        MfaConfiguration="OPTIONAL",
        SoftwareTokenMfaConfiguration={"Enabled": True},
        SmsMfaConfiguration={"SmsAuthenticationMessage": "Your sign-in code is {####}"},
    )
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username="tex", SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    step = idp.initiate_auth(
        ClientId=app,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "tex", "PASSWORD": "Passw0rd!sms"},
    )
    check(step["ChallengeName"] == "SMS_MFA", "a password sign-in asks for SMS_MFA")
    code = newest_code(PHONE, 2)
    check("Your sign-in code is" in texts_to(PHONE)[2], "the pool's SMS message template was used")
    done = idp.respond_to_auth_challenge(
        ClientId=app,
        ChallengeName="SMS_MFA",
        Session=step["Session"],
        ChallengeResponses={"USERNAME": "tex", "SMS_MFA_CODE": code},
    )
    check("AccessToken" in done.get("AuthenticationResult", {}), "the MFA code from SNS completes the sign-in")


if __name__ == "__main__":
    main()
