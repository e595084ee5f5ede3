"""Verification and reset codes by text message (SMS) as well as by email, in userpool's Cognito API,
driven by boto3 as an application would drive Cognito: `SignUp`, `ResendConfirmationCode` and
`ConfirmSignUp` by the pool's `AutoVerifiedAttributes` (phone, email, both), the pool's SMS
verification text (`SmsVerificationMessage`, `VerificationMessageTemplate.SmsMessage`),
`ForgotPassword`/`ConfirmForgotPassword` by the pool's `AccountRecoverySetting` (and without it),
`GetUserAttributeVerificationCode`/`VerifyUserAttribute` of `phone_number`, `UpdateUserAttributes`
of a phone number, `AdminCreateUser` invitations by SMS (`DesiredDeliveryMediums`, the
`InviteMessageTemplate.SMSMessage`), and the simulated deliveries for unknown names.

Usage: sms_codes.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY OUTBOX_DIR

Everything is created through the admin API on an empty server, each pool by this script; codes
are read from the development outbox (OUTBOX_DIR, the server's `{data-dir}/outbox`), where emails
are `{millis}-{seq}-{address}.eml` and text messages `{millis}-{seq}-{phone}.sms`. Every raw
response is also checked against the output shape of the service model (common.py). Prints one
line per check and "N passed, 0 failed" at the end, or the failed checks and a non-zero exit (a
failed check does not stop the run; an unexpected exception ends its section, listed as a failure,
and the next section runs).
"""

import re
import sys
import time
import traceback
from pathlib import Path

import common
from common import as_dict, attrs, client, error_of, fails

check = common.check_on
summary = common.summary


ENDPOINT, KEY, SECRET, OUTBOX = sys.argv[1:5]
cognito = client(ENDPOINT, KEY, SECRET)
PW = "Passw0rd!"
NEW_PW = "N3w-Passw0rd!sms"
SNS = {"SnsCallerArn": "arn:aws:iam::000000000000:role/sns", "ExternalId": "userpool-tests"}
FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
DEFAULT_TEXT = "Your verification code is {####}. "
DEFAULT_INVITE = "Your username is {username} and temporary password is {####}. "
CODE_MISMATCH = ("CodeMismatchException", "Invalid verification code provided, please try again.")
BAD_LOGIN = ("NotAuthorizedException", "Incorrect username or password.")


# --- helpers ---------------------------------------------------------------------------------


def phone(n):
    """The n-th test phone number (E.164, 12 characters): one per user, so its messages are its own."""
    return f"+1555555{n:04d}"


def masked_phone(number):
    """Cognito's mask of a phone number: the plus, a star for each digit but the last four."""
    return "+" + "*" * (len(number) - 5) + number[-4:]


def masked_email(address):
    local, domain = address.split("@", 1)
    return f"{local[0]}***@{domain[0]}***"


def by_sms(number):
    return {"Destination": masked_phone(number), "DeliveryMedium": "SMS", "AttributeName": "phone_number"}


def by_email(address):
    return {"Destination": masked_email(address), "DeliveryMedium": "EMAIL", "AttributeName": "email"}


def wrong_code(*codes):
    """A 6-digit code that is none of `codes`."""
    n = int(codes[0])
    while f"{n:06d}" in codes:
        n = (n + 1) % 1000000
    return f"{n:06d}"


def outbox_files(address):
    """The outbox messages to `address`, oldest first (by millis, then sequence)."""
    found = []
    for p in Path(OUTBOX).glob("*"):
        if p.suffix not in (".eml", ".sms"):
            continue
        parts = p.name[:-4].split("-", 2)
        if len(parts) == 3 and parts[2] == address:
            found.append(((int(parts[0]), int(parts[1])), p.name))
    return [name for _, name in sorted(found)]


def last_message(address):
    """The file name of the newest outbox message to `address`, or None."""
    files = outbox_files(address)
    return files[-1] if files else None


def body_of(name):
    """The body of the text message `name` (a `.sms` file holds the body alone)."""
    return (Path(OUTBOX) / name).read_text()


def text_message(number, after, what):
    """The newest message to `number` after the file `after`: checked to be a text message; its
    code, file name and body."""
    code, name = common.newest_outbox_code(OUTBOX, number, after)
    check(name.endswith(".sms"), f"{what}: the code to {number} is a text message ({name})")
    return code, name, body_of(name) if name.endswith(".sms") else ""


def email_message(address, after, what):
    """The newest message to `address` after the file `after`: checked to be an email; its code
    and file name."""
    code, name = common.newest_outbox_code(OUTBOX, address, after)
    check(name.endswith(".eml"), f"{what}: the code to {address} is an email ({name})")
    return code, name


def newest_file(address, after, what, timeout=5):
    """The newest outbox file to `address` beyond `after` (waits up to `timeout` s), or None."""
    deadline = time.time() + timeout
    while True:
        name = last_message(address)
        if name is not None and name != after:
            return name
        if time.time() > deadline:
            check(False, f"{what}: no new message to {address}")
            return None
        time.sleep(0.1)


def nothing_new(address, since, what):
    """Checks that no message went to `address` beyond the file `since` (after a short wait, for a
    message sent in the background)."""
    time.sleep(0.3)
    got = last_message(address)
    check(got == since, f"{what}: nothing sent to {address} ({got})")


def make_pool(name, auto_verified, **settings):
    return cognito.create_user_pool(PoolName=name, AutoVerifiedAttributes=auto_verified, SmsConfiguration=SNS,
                                    **settings)["UserPool"]["Id"]


def make_app(pool, name="app"):
    return cognito.create_user_pool_client(UserPoolId=pool, ClientName=name, ExplicitAuthFlows=FLOWS,
                                           PreventUserExistenceErrors="ENABLED")["UserPoolClient"]["ClientId"]


def make_user(pool, name, email=None, email_verified=False, number=None, phone_verified=False):
    """A confirmed user made by the administrator, with PW, and the email and phone given (verified
    or not); no invitation."""
    attributes = {}
    if email:
        attributes.update({"email": email, "email_verified": "true" if email_verified else "false"})
    if number:
        attributes.update({"phone_number": number, "phone_number_verified": "true" if phone_verified else "false"})
    cognito.admin_create_user(UserPoolId=pool, Username=name, UserAttributes=attrs(attributes),
                              TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username=name, Password=PW, Permanent=True)


def user_of(pool, name):
    """(status, attributes) of a user, as the administrator reads them."""
    got = cognito.admin_get_user(UserPoolId=pool, Username=name)
    return got["UserStatus"], as_dict(got["UserAttributes"])


def password_sign_in(app, name, password):
    return cognito.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": name, "PASSWORD": password})


def signs_in(app, name, password, what):
    """Checks that USER_PASSWORD_AUTH with `password` ends with tokens; returns them."""
    try:
        result = password_sign_in(app, name, password)
    except Exception as e:  # noqa: BLE001 - the check lists it
        check(False, f"{what}: signing in failed: {e}")
        return None
    check("AccessToken" in result.get("AuthenticationResult", {}), f"{what}: tokens ({result.get('ChallengeName')})")
    return result.get("AuthenticationResult")


def sign_up(app, name, **attributes):
    return cognito.sign_up(ClientId=app, Username=name, Password=PW, UserAttributes=attrs(attributes))


def well_formed(details, what):
    """A CodeDeliveryDetails of a plausible shape: EMAIL to a masked address or SMS to a masked
    phone, with the matching attribute name."""
    medium, destination, attribute = (details or {}).get("DeliveryMedium"), \
        (details or {}).get("Destination", ""), (details or {}).get("AttributeName")
    ok = ((medium == "EMAIL" and attribute == "email" and re.fullmatch(r"[^@*]\*\*\*@[^@*]\*\*\*", destination))
          or (medium == "SMS" and attribute == "phone_number" and re.fullmatch(r"\+\*+\d{4}", destination)))
    check(bool(ok), f"{what}: a well-formed CodeDeliveryDetails {details}")


_sections = []


def section(fn):
    """A section of the run: an unexpected exception in it is listed as a failure and the next
    section runs."""
    _sections.append(fn)
    return fn


# --- set-up ----------------------------------------------------------------------------------

PHONE_POOL = make_pool("sms-verified", ["phone_number"])
PHONE_APP = make_app(PHONE_POOL)
BOTH_POOL = make_pool("email-and-sms", ["email", "phone_number"])
BOTH_APP = make_app(BOTH_POOL)
EMAIL_POOL = make_pool("email-verified", ["email"])
EMAIL_APP = make_app(EMAIL_POOL)


# --- 1. Sign-up confirmed by text message --------------------------------------------------------

@section
def sign_up_by_sms():
    number, address = phone(1), "alice@example.test"
    up = sign_up(PHONE_APP, "alice", phone_number=number, email=address)
    check(up["UserConfirmed"] is False, "SignUp (phone auto-verified): the user is unconfirmed")
    check(up.get("CodeDeliveryDetails") == by_sms(number),
          f"SignUp: the code goes by SMS to the masked phone {up.get('CodeDeliveryDetails')}")
    code, first, body = text_message(number, None, "SignUp")
    check(body == DEFAULT_TEXT.replace("{####}", code), f"SignUp: the default verification text {body!r}")
    nothing_new(address, None, "SignUp with phone auto-verified: no email")
    fails(lambda: password_sign_in(PHONE_APP, "alice", PW), "UserNotConfirmedException", "User is not confirmed.",
          "signing in before confirming")

    resent = cognito.resend_confirmation_code(ClientId=PHONE_APP, Username="alice")
    check(resent.get("CodeDeliveryDetails") == by_sms(number),
          f"ResendConfirmationCode: by SMS to the masked phone {resent.get('CodeDeliveryDetails')}")
    new_code, _, body = text_message(number, first, "ResendConfirmationCode")
    check(new_code != code, f"ResendConfirmationCode sends a new code ({code} then {new_code})")
    check(body == DEFAULT_TEXT.replace("{####}", new_code), f"ResendConfirmationCode: the default text {body!r}")
    fails(lambda: cognito.confirm_sign_up(ClientId=PHONE_APP, Username="alice",
                                          ConfirmationCode=wrong_code(code, new_code)),
          *CODE_MISMATCH, "ConfirmSignUp with a wrong code")
    check(user_of(PHONE_POOL, "alice")[0] == "UNCONFIRMED", "a wrong code confirms nothing")
    cognito.confirm_sign_up(ClientId=PHONE_APP, Username="alice", ConfirmationCode=new_code)
    status, got = user_of(PHONE_POOL, "alice")
    check(status == "CONFIRMED", f"ConfirmSignUp with the SMS code confirms the user {status}")
    check(got.get("phone_number_verified") == "true", f"and verifies the phone number {got}")
    check(got.get("email_verified") != "true", f"but not the email {got.get('email_verified')}")
    signs_in(PHONE_APP, "alice", PW, "the user confirmed by SMS")


@section
def sms_verification_texts():
    template_pool = make_pool("sms-template", ["phone_number"], VerificationMessageTemplate={
        "SmsMessage": "Acme code {####} - keep it to yourself",
        "EmailMessage": "Acme email code {####}", "EmailSubject": "Acme code"})
    app = make_app(template_pool)
    number = phone(2)
    up = sign_up(app, "tina", phone_number=number)
    check(up.get("CodeDeliveryDetails") == by_sms(number), f"SignUp (template pool): by SMS {up.get('CodeDeliveryDetails')}")
    code, first, body = text_message(number, None, "VerificationMessageTemplate.SmsMessage")
    check(body == f"Acme code {code} - keep it to yourself",
          f"VerificationMessageTemplate.SmsMessage is the text, the code in place of {{####}}: {body!r}")
    cognito.resend_confirmation_code(ClientId=app, Username="tina")
    code, _, body = text_message(number, first, "ResendConfirmationCode (template pool)")
    check(body == f"Acme code {code} - keep it to yourself", f"and the resent code's text too: {body!r}")
    cognito.confirm_sign_up(ClientId=app, Username="tina", ConfirmationCode=code)
    check(user_of(template_pool, "tina")[1].get("phone_number_verified") == "true", "the templated code confirms")

    legacy_pool = make_pool("sms-message", ["phone_number"], SmsVerificationMessage="Old-style code: {####}!")
    app = make_app(legacy_pool)
    number = phone(3)
    up = sign_up(app, "otto", phone_number=number)
    check(up.get("CodeDeliveryDetails") == by_sms(number), f"SignUp (SmsVerificationMessage pool): by SMS {up.get('CodeDeliveryDetails')}")
    code, _, body = text_message(number, None, "SmsVerificationMessage")
    check(body == f"Old-style code: {code}!", f"SmsVerificationMessage is the text, the code in place of {{####}}: {body!r}")


# --- 2. and 3. The medium by the pool's auto-verified attributes ---------------------------------

@section
def medium_by_auto_verified_attributes():
    # Email and phone auto-verified: a user with a phone gets a text.
    number, address = phone(4), "bella@example.test"
    up = sign_up(BOTH_APP, "bella", phone_number=number, email=address)
    check(up.get("CodeDeliveryDetails") == by_sms(number),
          f"SignUp (email and phone auto-verified), with a phone: by SMS {up.get('CodeDeliveryDetails')}")
    code, first, _ = text_message(number, None, "SignUp with email and phone auto-verified")
    nothing_new(address, None, "the user with a phone and an email gets no email")
    resent = cognito.resend_confirmation_code(ClientId=BOTH_APP, Username="bella")
    check(resent.get("CodeDeliveryDetails") == by_sms(number), f"ResendConfirmationCode: by SMS {resent.get('CodeDeliveryDetails')}")
    code, _, _ = text_message(number, first, "ResendConfirmationCode with email and phone auto-verified")
    nothing_new(address, None, "nor does the resend")
    cognito.confirm_sign_up(ClientId=BOTH_APP, Username="bella", ConfirmationCode=code)
    status, got = user_of(BOTH_POOL, "bella")
    check(status == "CONFIRMED" and got.get("phone_number_verified") == "true",
          f"ConfirmSignUp with the SMS code: confirmed, phone verified {status} {got}")
    check(got.get("email_verified") != "true", f"the email is not verified by the SMS code {got.get('email_verified')}")

    # A user with only an email: by email.
    address = "eddie@example.test"
    up = sign_up(BOTH_APP, "eddie", email=address)
    check(up.get("CodeDeliveryDetails") == by_email(address),
          f"SignUp (email and phone auto-verified), email only: by EMAIL {up.get('CodeDeliveryDetails')}")
    check(up.get("CodeDeliveryDetails", {}).get("Destination") == "e***@e***", "the masked address e***@e***")
    code, _ = email_message(address, None, "SignUp, email only")
    cognito.confirm_sign_up(ClientId=BOTH_APP, Username="eddie", ConfirmationCode=code)
    status, got = user_of(BOTH_POOL, "eddie")
    check(status == "CONFIRMED" and got.get("email_verified") == "true",
          f"ConfirmSignUp with the email code: confirmed, email verified {status} {got}")

    # Only the email auto-verified: by email, though the user has a phone.
    number, address = phone(5), "emma@example.test"
    up = sign_up(EMAIL_APP, "emma", phone_number=number, email=address)
    check(up.get("CodeDeliveryDetails") == by_email(address),
          f"SignUp (email auto-verified) with a phone: by EMAIL {up.get('CodeDeliveryDetails')}")
    code, first = email_message(address, None, "SignUp, email auto-verified")
    nothing_new(number, None, "email auto-verified: no text to the user's phone")
    resent = cognito.resend_confirmation_code(ClientId=EMAIL_APP, Username="emma")
    check(resent.get("CodeDeliveryDetails") == by_email(address),
          f"ResendConfirmationCode (email auto-verified): by EMAIL {resent.get('CodeDeliveryDetails')}")
    code, _ = email_message(address, first, "ResendConfirmationCode, email auto-verified")
    cognito.confirm_sign_up(ClientId=EMAIL_APP, Username="emma", ConfirmationCode=code)
    status, got = user_of(EMAIL_POOL, "emma")
    check(status == "CONFIRMED" and got.get("email_verified") == "true"
          and got.get("phone_number_verified") != "true",
          f"ConfirmSignUp: email verified, phone not {status} {got}")
    nothing_new(number, None, "still no text to the phone")


# --- 4. ForgotPassword by the pool's recovery mechanisms -----------------------------------------

def forgot_by_sms(app, name, number, what, confirm=True):
    """ForgotPassword that must go by SMS to `number`; with `confirm`, the code sets NEW_PW."""
    before = last_message(number)
    sent = cognito.forgot_password(ClientId=app, Username=name)
    check(sent.get("CodeDeliveryDetails") == by_sms(number),
          f"{what}: ForgotPassword by SMS to the masked phone {sent.get('CodeDeliveryDetails')}")
    code, _, _ = text_message(number, before, f"{what}: ForgotPassword")
    if confirm:
        fails(lambda: cognito.confirm_forgot_password(ClientId=app, Username=name, ConfirmationCode=wrong_code(code),
                                                      Password=NEW_PW),
              *CODE_MISMATCH, f"{what}: ConfirmForgotPassword with a wrong code")
        cognito.confirm_forgot_password(ClientId=app, Username=name, ConfirmationCode=code, Password=NEW_PW)
        fails(lambda: password_sign_in(app, name, PW), *BAD_LOGIN, f"{what}: the old password after the reset")
        signs_in(app, name, NEW_PW, f"{what}: the new password set with the SMS code")
    return code


def forgot_by_email(app, name, address, number, what, confirm=False):
    """ForgotPassword that must go by email to `address`, and send no text to `number`."""
    before_text = last_message(number) if number else None
    before = last_message(address)
    sent = cognito.forgot_password(ClientId=app, Username=name)
    check(sent.get("CodeDeliveryDetails") == by_email(address),
          f"{what}: ForgotPassword by EMAIL to the masked address {sent.get('CodeDeliveryDetails')}")
    code, _ = email_message(address, before, f"{what}: ForgotPassword")
    if number:
        nothing_new(number, before_text, f"{what}: no text")
    if confirm:
        cognito.confirm_forgot_password(ClientId=app, Username=name, ConfirmationCode=code, Password=NEW_PW)
        signs_in(app, name, NEW_PW, f"{what}: the new password set with the email code")
    return code


@section
def forgot_password_without_recovery_setting():
    pool = make_pool("recovery-legacy", ["email", "phone_number"])
    app = make_app(pool)
    make_user(pool, "lena", "lena@example.test", True, phone(6), True)
    make_user(pool, "liam", "liam@example.test", True, phone(7), False)
    make_user(pool, "lisa", "lisa@example.test", False, phone(21), True)
    before = last_message("lena@example.test")
    forgot_by_sms(app, "lena", phone(6), "no AccountRecoverySetting, phone and email verified")
    nothing_new("lena@example.test", before, "no AccountRecoverySetting, phone verified: no email")
    forgot_by_email(app, "liam", "liam@example.test", phone(7),
                    "no AccountRecoverySetting, phone unverified", confirm=True)
    forgot_by_sms(app, "lisa", phone(21), "no AccountRecoverySetting, only the phone verified", confirm=False)


@section
def forgot_password_phone_first():
    # Listed out of order: the Priority decides, not the position.
    pool = make_pool("recovery-phone-first", ["email", "phone_number"], AccountRecoverySetting={"RecoveryMechanisms": [
        {"Priority": 2, "Name": "verified_email"}, {"Priority": 1, "Name": "verified_phone_number"}]})
    app = make_app(pool)
    make_user(pool, "pia", "pia@example.test", True, phone(8), True)
    make_user(pool, "paco", "paco@example.test", True, phone(9), False)
    before = last_message("pia@example.test")
    forgot_by_sms(app, "pia", phone(8), "verified_phone_number first, both verified")
    nothing_new("pia@example.test", before, "verified_phone_number first: no email")
    forgot_by_email(app, "paco", "paco@example.test", phone(9),
                    "verified_phone_number first, phone unverified: the next mechanism")


@section
def forgot_password_email_first():
    pool = make_pool("recovery-email-first", ["email", "phone_number"], AccountRecoverySetting={"RecoveryMechanisms": [
        {"Priority": 1, "Name": "verified_email"}, {"Priority": 2, "Name": "verified_phone_number"}]})
    app = make_app(pool)
    make_user(pool, "erik", "erik@example.test", True, phone(10), True)
    make_user(pool, "ella", "ella@example.test", False, phone(11), True)
    forgot_by_email(app, "erik", "erik@example.test", phone(10), "verified_email first, both verified", confirm=True)
    before = last_message("ella@example.test")
    forgot_by_sms(app, "ella", phone(11), "verified_email first, email unverified: the next mechanism")
    nothing_new("ella@example.test", before, "the unverified email gets nothing")


@section
def forgot_password_admin_only():
    pool = make_pool("recovery-admin-only", ["email", "phone_number"], AccountRecoverySetting={"RecoveryMechanisms": [
        {"Priority": 1, "Name": "admin_only"}]})
    app = make_app(pool)
    make_user(pool, "adam", "adam@example.test", True, phone(12), True)
    fails(lambda: cognito.forgot_password(ClientId=app, Username="adam"), "NotAuthorizedException",
          "Contact administrator to reset password.", "admin_only: ForgotPassword")
    nothing_new(phone(12), None, "admin_only: no text")
    nothing_new("adam@example.test", None, "admin_only: no email")
    signs_in(app, "adam", PW, "admin_only: the password is unchanged")


# --- 5. Verifying a phone number: GetUserAttributeVerificationCode, VerifyUserAttribute -------

@section
def verify_phone_number():
    number, address = phone(13), "vick@example.test"
    make_user(BOTH_POOL, "vick", address, False, number, False)
    vick = signs_in(BOTH_APP, "vick", PW, "vick")["AccessToken"]
    sent = cognito.get_user_attribute_verification_code(AccessToken=vick, AttributeName="phone_number")
    check(sent.get("CodeDeliveryDetails") == by_sms(number),
          f"GetUserAttributeVerificationCode phone_number: by SMS {sent.get('CodeDeliveryDetails')}")
    phone_code, _, _ = text_message(number, None, "GetUserAttributeVerificationCode phone_number")
    nothing_new(address, None, "a phone code sends no email")
    sent = cognito.get_user_attribute_verification_code(AccessToken=vick, AttributeName="email")
    check(sent.get("CodeDeliveryDetails") == by_email(address),
          f"GetUserAttributeVerificationCode email: by EMAIL {sent.get('CodeDeliveryDetails')}")
    email_code, _ = email_message(address, None, "GetUserAttributeVerificationCode email")

    if email_code != phone_code:  # one in a million: the same digits
        fails(lambda: cognito.verify_user_attribute(AccessToken=vick, AttributeName="phone_number", Code=email_code),
              *CODE_MISMATCH, "the email's code does not verify the phone number")
        fails(lambda: cognito.verify_user_attribute(AccessToken=vick, AttributeName="email", Code=phone_code),
              *CODE_MISMATCH, "the phone's code does not verify the email")
        got = user_of(BOTH_POOL, "vick")[1]
        check(got.get("phone_number_verified") != "true" and got.get("email_verified") != "true",
              f"the crossed codes verified nothing {got}")
    cognito.verify_user_attribute(AccessToken=vick, AttributeName="phone_number", Code=phone_code)
    got = as_dict(cognito.get_user(AccessToken=vick)["UserAttributes"])
    check(got.get("phone_number_verified") == "true", f"VerifyUserAttribute phone_number verifies the phone {got}")
    check(got.get("email_verified") != "true", f"and not the email {got.get('email_verified')}")
    cognito.verify_user_attribute(AccessToken=vick, AttributeName="email", Code=email_code)
    got = as_dict(cognito.get_user(AccessToken=vick)["UserAttributes"])
    check(got.get("email_verified") == "true" and got.get("phone_number_verified") == "true",
          f"the email's own code verifies the email {got}")

    make_user(BOTH_POOL, "nora", "nora@example.test", True)
    nora = signs_in(BOTH_APP, "nora", PW, "nora")["AccessToken"]
    fails(lambda: cognito.get_user_attribute_verification_code(AccessToken=nora, AttributeName="phone_number"),
          "InvalidParameterException", None, "GetUserAttributeVerificationCode phone_number for a user with no phone")
    fails(lambda: cognito.verify_user_attribute(AccessToken=nora, AttributeName="phone_number", Code="123456"),
          "InvalidParameterException", None, "VerifyUserAttribute phone_number for a user with no phone")


# --- 6. UpdateUserAttributes of a phone number -----------------------------------------------------

@section
def update_phone_number():
    make_user(PHONE_POOL, "uma", "uma@example.test", True, phone(14), True)
    uma = signs_in(PHONE_APP, "uma", PW, "uma")["AccessToken"]
    first_number, second_number = phone(15), phone(16)
    answer = cognito.update_user_attributes(AccessToken=uma, UserAttributes=attrs({"phone_number": first_number}))
    listed = answer.get("CodeDeliveryDetailsList", [])
    check(by_sms(first_number) in listed,
          f"UpdateUserAttributes phone_number (auto-verified): an SMS entry for the new phone {listed}")
    check(all(d.get("DeliveryMedium") == "SMS" for d in listed), f"and no email entry: only the phone changed {listed}")
    got = user_of(PHONE_POOL, "uma")[1]
    check(got.get("phone_number") == first_number and got.get("phone_number_verified") == "false",
          f"the new phone is set, unverified {got.get('phone_number')} {got.get('phone_number_verified')}")
    first_code, _, body = text_message(first_number, None, "UpdateUserAttributes phone_number")
    check(body == DEFAULT_TEXT.replace("{####}", first_code), f"the default verification text {body!r}")
    nothing_new(phone(14), None, "nothing to the old phone")

    # A code sent to one phone does not verify another.
    answer = cognito.update_user_attributes(AccessToken=uma, UserAttributes=attrs({"phone_number": second_number}))
    check(by_sms(second_number) in answer.get("CodeDeliveryDetailsList", []),
          f"a second change: an SMS entry for that phone {answer.get('CodeDeliveryDetailsList')}")
    second_code, _, _ = text_message(second_number, None, "the second UpdateUserAttributes")
    if first_code != second_code:
        fails(lambda: cognito.verify_user_attribute(AccessToken=uma, AttributeName="phone_number", Code=first_code),
              "CodeMismatchException", None, "the first phone's code does not verify the second phone")
    check(user_of(PHONE_POOL, "uma")[1].get("phone_number_verified") == "false", "the second phone is still unverified")
    cognito.verify_user_attribute(AccessToken=uma, AttributeName="phone_number", Code=second_code)
    got = user_of(PHONE_POOL, "uma")[1]
    check(got.get("phone_number") == second_number and got.get("phone_number_verified") == "true",
          f"VerifyUserAttribute with its code verifies the new phone {got}")

    # A pool that does not auto-verify phone numbers sends no code for one.
    make_user(EMAIL_POOL, "ursula", "ursula@example.test", True)
    ursula = signs_in(EMAIL_APP, "ursula", PW, "ursula")["AccessToken"]
    answer = cognito.update_user_attributes(AccessToken=ursula, UserAttributes=attrs({"phone_number": phone(22)}))
    listed = answer.get("CodeDeliveryDetailsList", [])
    check(not any(d.get("DeliveryMedium") == "SMS" for d in listed),
          f"UpdateUserAttributes phone_number in a pool auto-verifying email only: no SMS entry {listed}")
    nothing_new(phone(22), None, "and no text")
    check(user_of(EMAIL_POOL, "ursula")[1].get("phone_number_verified") != "true", "the phone is not verified")


# --- 7. AdminCreateUser: invitations by text message ----------------------------------------------

def new_password_required(app, name, password, what):
    """Signing in with the temporary password asks for a new one; answering it gives tokens."""
    try:
        step = password_sign_in(app, name, password)
    except Exception as e:  # noqa: BLE001 - the check lists it
        check(False, f"{what}: signing in with the temporary password failed: {e}")
        return
    check(step.get("ChallengeName") == "NEW_PASSWORD_REQUIRED",
          f"{what}: the temporary password signs in, NEW_PASSWORD_REQUIRED {step.get('ChallengeName')}")
    if step.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        done = cognito.respond_to_auth_challenge(ClientId=app, ChallengeName="NEW_PASSWORD_REQUIRED",
                                                 Session=step["Session"],
                                                 ChallengeResponses={"USERNAME": name, "NEW_PASSWORD": NEW_PW})
        check("AccessToken" in done.get("AuthenticationResult", {}), f"{what}: the new password gives tokens")


@section
def invitations():
    pool = make_pool("invitations", ["email"])
    app = make_app(pool)

    # By SMS, the temporary password given.
    number, address, temporary = phone(17), "ivan@example.test", "Temp-Passw0rd-1!"
    created = cognito.admin_create_user(UserPoolId=pool, Username="ivan", DesiredDeliveryMediums=["SMS"],
                                        TemporaryPassword=temporary,
                                        UserAttributes=attrs({"phone_number": number, "email": address}))
    check(created["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD", f"AdminCreateUser: {created['User']['UserStatus']}")
    name = newest_file(number, None, "AdminCreateUser DesiredDeliveryMediums=[SMS]")
    if name:
        check(name.endswith(".sms"), f"the invitation is a text message to the phone {name}")
        body = body_of(name)
        expected = DEFAULT_INVITE.replace("{username}", "ivan").replace("{####}", temporary)
        check(body == expected, f"the default invitation text with the name and temporary password {body!r}")
    nothing_new(address, None, "an SMS invitation sends no email")
    new_password_required(app, "ivan", temporary, "SMS invitation")

    # By SMS, a generated temporary password: the one in the text signs in.
    number = phone(18)
    cognito.admin_create_user(UserPoolId=pool, Username="ines", DesiredDeliveryMediums=["SMS"],
                              UserAttributes=attrs({"phone_number": number}))
    name = newest_file(number, None, "AdminCreateUser, a generated temporary password")
    if name:
        body = body_of(name)
        found = re.fullmatch(r"Your username is ines and temporary password is (\S+)\. ", body)
        check(name.endswith(".sms") and found is not None, f"the text holds the generated password {name} {body!r}")
        if found:
            new_password_required(app, "ines", found.group(1), "a generated temporary password by SMS")

    # By email when asked, though the user has a phone; and by default.
    number, address = phone(19), "eric@example.test"
    cognito.admin_create_user(UserPoolId=pool, Username="eric", DesiredDeliveryMediums=["EMAIL"],
                              TemporaryPassword="Temp-Passw0rd-3!",
                              UserAttributes=attrs({"phone_number": number, "email": address}))
    name = newest_file(address, None, "AdminCreateUser DesiredDeliveryMediums=[EMAIL]")
    check(name is not None and name.endswith(".eml"), f"the invitation is an email {name}")
    nothing_new(number, None, "an EMAIL invitation sends no text")
    new_password_required(app, "eric", "Temp-Passw0rd-3!", "email invitation")
    address = "edna@example.test"
    cognito.admin_create_user(UserPoolId=pool, Username="edna", TemporaryPassword="Temp-Passw0rd-4!",
                              UserAttributes=attrs({"email": address}))
    name = newest_file(address, None, "AdminCreateUser without DesiredDeliveryMediums, an email only")
    check(name is not None and name.endswith(".eml"), f"the invitation is an email {name}")

    # The pool's own SMS invitation.
    pool = make_pool("sms-invitations", ["phone_number"], AdminCreateUserConfig={"InviteMessageTemplate": {
        "SMSMessage": "Welcome {username}! Temporary password: {####}",
        "EmailMessage": "Hello {username}, {####}", "EmailSubject": "Welcome"}})
    app = make_app(pool)
    number, temporary = phone(20), "Temp-Passw0rd-5!"
    cognito.admin_create_user(UserPoolId=pool, Username="carl", DesiredDeliveryMediums=["SMS"],
                              TemporaryPassword=temporary, UserAttributes=attrs({"phone_number": number}))
    name = newest_file(number, None, "AdminCreateUser with InviteMessageTemplate.SMSMessage")
    if name:
        body = body_of(name)
        check(name.endswith(".sms") and body == f"Welcome carl! Temporary password: {temporary}",
              f"InviteMessageTemplate.SMSMessage is the text, name and password in place {name} {body!r}")
    new_password_required(app, "carl", temporary, "templated SMS invitation")


# --- 8. Unknown names: a delivery of plausible shape -------------------------------------------------

@section
def unknown_names():
    for app, pool in ((PHONE_APP, "phone auto-verified"), (BOTH_APP, "email and phone auto-verified"),
                      (EMAIL_APP, "email auto-verified")):
        sent = cognito.forgot_password(ClientId=app, Username="nobody")
        well_formed(sent.get("CodeDeliveryDetails"), f"ForgotPassword for an unknown name ({pool})")
        sent = cognito.resend_confirmation_code(ClientId=app, Username="nobody")
        well_formed(sent.get("CodeDeliveryDetails"), f"ResendConfirmationCode for an unknown name ({pool})")


for run in _sections:
    try:
        run()
    except Exception as e:  # noqa: BLE001 - an unexpected answer ends the section, not the run
        traceback.print_exc()
        check(False, f"section {run.__name__} stopped: {type(e).__name__}: {e}")

summary()
