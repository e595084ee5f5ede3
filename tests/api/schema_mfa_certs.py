"""Custom attributes, users' MFA preferences and the SAML signing certificate through userpool's
Cognito API, driven by boto3 as an application would drive Cognito: AddCustomAttributes (and
DescribeUserPool's SchemaAttributes, standard attributes included; the new attributes written on
users at once), AdminSetUserMFAPreference with its errors and AdminGetUser's
UserMFASettingList / PreferredMfaSetting, and GetSigningCertificate, the certificate our SAML SP
metadata publishes.

Usage: schema_mfa_certs.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY POOL_ID

POOL_ID is a seeded pool whose domain is the server's own address, with MFA ON and a user
`alice` who has set up TOTP at sign-in; the script leaves it with MFA OPTIONAL and alice's TOTP
turned off (the caller then checks that her sign-in asks for no code).

Every raw response is checked against the model's output shape (tests/api/common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import base64
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGION, check, client, error_of, summary  # noqa: E402

ENDPOINT, KEY, SECRET, SEEDED = sys.argv[1:5]
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)
missing_pool = f"{REGION}_Nope12345"


def schema_of(pool_id):
    """DescribeUserPool's SchemaAttributes by name."""
    attributes = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["SchemaAttributes"]
    return {a["Name"]: a for a in attributes}


def attributes_of(pool_id, username):
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def mfa_of(pool_id, username):
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    return user.get("UserMFASettingList"), user.get("PreferredMfaSetting")


def refused(what, call, code, message=None):
    got_code, got_message = error_of(call)
    check(got_code == code and (message is None or got_message == message),
          f"{what}: {got_code} {got_message!r}")


# --- DescribeUserPool lists the standard attributes as Cognito does ---------------------------
pool_id = cognito.create_user_pool(
    PoolName="schema",
    Schema=[{"Name": "email", "AttributeDataType": "String", "Mutable": True, "Required": True}],
)["UserPool"]["Id"]
schema = schema_of(pool_id)
check(list(schema)[:3] == ["sub", "name", "given_name"] and "identities" in schema
      and not any(n.startswith("custom:") for n in schema), f"the standard attributes first: {list(schema)}")
check(schema["sub"] == {"Name": "sub", "AttributeDataType": "String", "DeveloperOnlyAttribute": False,
                        "Mutable": False, "Required": True,
                        "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "2048"}}, "sub")
check(schema["email"]["Required"] is True and schema["email"]["Mutable"] is True
      and schema["email"]["StringAttributeConstraints"] == {"MinLength": "0", "MaxLength": "2048"},
      "email, required as the pool asked")
check(schema["given_name"]["Required"] is False, "given_name, not required")
check(schema["email_verified"] == {"Name": "email_verified", "AttributeDataType": "Boolean",
                                   "DeveloperOnlyAttribute": False, "Mutable": True, "Required": False},
      "email_verified, a Boolean without constraints")
check(schema["updated_at"]["AttributeDataType"] == "Number"
      and schema["updated_at"]["NumberAttributeConstraints"] == {"MinValue": "0"}, "updated_at, a Number")
check(schema["birthdate"]["StringAttributeConstraints"] == {"MinLength": "10", "MaxLength": "10"}, "birthdate")

# --- AddCustomAttributes ----------------------------------------------------------------------
check(cognito.add_custom_attributes(UserPoolId=pool_id, CustomAttributes=[
    {"Name": "team", "AttributeDataType": "String",
     "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}},
    {"Name": "level", "AttributeDataType": "Number", "Mutable": False,
     "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "10"}},
    {"Name": "secret", "AttributeDataType": "String", "DeveloperOnlyAttribute": True},
    {"Name": "joined", "AttributeDataType": "DateTime"},
])["ResponseMetadata"]["HTTPStatusCode"] == 200, "AddCustomAttributes")
schema = schema_of(pool_id)
check(schema["custom:team"] == {"Name": "custom:team", "AttributeDataType": "String",
                                "DeveloperOnlyAttribute": False, "Mutable": True, "Required": False,
                                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}},
      f"a custom attribute is listed with its prefix at once: {schema.get('custom:team')}")
check(schema["custom:level"]["Mutable"] is False
      and schema["custom:level"]["NumberAttributeConstraints"] == {"MinValue": "0", "MaxValue": "10"},
      "an immutable Number attribute")
check("dev:custom:secret" in schema and schema["dev:custom:secret"]["DeveloperOnlyAttribute"] is True
      and schema["dev:custom:secret"]["StringAttributeConstraints"] == {},
      "a developer-only attribute is named dev:custom:")
check(schema["custom:joined"]["AttributeDataType"] == "DateTime"
      and "StringAttributeConstraints" not in schema["custom:joined"], "a DateTime attribute")
check(list(schema)[-4:] == ["custom:team", "custom:level", "dev:custom:secret", "custom:joined"],
      "custom attributes after the standard ones, in the order added")

refused("a name the pool has", lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "team", "AttributeDataType": "String"}]),
    "InvalidParameterException", "custom:team: Existing attribute already has name custom:team.")
refused("a name twice in one request", lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "twice", "AttributeDataType": "String"},
                                          {"Name": "twice", "AttributeDataType": "Number"}]),
    "InvalidParameterException", "custom:twice: Existing attribute already has name custom:twice.")
check("custom:twice" not in schema_of(pool_id), "a refused request adds nothing")
refused("a required custom attribute", lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "must", "AttributeDataType": "String", "Required": True}]),
    "InvalidParameterException", "Required custom attributes are not supported currently.")
refused("a minimum length above the maximum", lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "short", "AttributeDataType": "String",
                                           "StringAttributeConstraints": {"MinLength": "9", "MaxLength": "3"}}]),
    "InvalidParameterException", "user.custom:short: Max length cannot be less than min length.")
refused("a length over 2048", lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "long", "AttributeDataType": "String",
                                           "StringAttributeConstraints": {"MaxLength": "4096"}}]),
    "InvalidParameterException", "user.custom:long: String attributes cannot have a length of more than 2048")
refused("a minimum value above the maximum", lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "n", "AttributeDataType": "Number",
                                           "NumberAttributeConstraints": {"MinValue": "5", "MaxValue": "1"}}]),
    "InvalidParameterException", "user.custom:n: Max value cannot be less than min value.")
code, message = error_of(lambda: unchecked.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "x" * 21, "AttributeDataType": "String"}]))
check(code == "InvalidParameterException" and "customAttributes.1.member.name" in message,
      f"a name over 20 characters, in the shape's words: {message}")
refused("an unknown pool", lambda: cognito.add_custom_attributes(
    UserPoolId=missing_pool, CustomAttributes=[{"Name": "x", "AttributeDataType": "String"}]),
    "ResourceNotFoundException")
# The prefix is always added: a name given with it gets it twice, as Cognito does.
cognito.add_custom_attributes(UserPoolId=pool_id, CustomAttributes=[
    {"Name": "custom:team", "AttributeDataType": "String"}])
check("custom:custom:team" in schema_of(pool_id), "a prefixed name is prefixed again")

# At most 50 custom attributes (five so far).
for names in (range(0, 25), range(25, 45)):
    cognito.add_custom_attributes(UserPoolId=pool_id, CustomAttributes=[
        {"Name": f"a{i}", "AttributeDataType": "String"} for i in names])
check(sum(n.startswith(("custom:", "dev:custom:")) for n in schema_of(pool_id)) == 50, "fifty custom attributes")
code, message = error_of(lambda: cognito.add_custom_attributes(
    UserPoolId=pool_id, CustomAttributes=[{"Name": "fiftyfirst", "AttributeDataType": "String"}]))
check(code == "InvalidParameterException" and "50" in message, f"not a fifty-first: {message}")

# The new attributes are users' attributes at once.
cognito.admin_create_user(UserPoolId=pool_id, Username="carol", MessageAction="SUPPRESS", UserAttributes=[
    {"Name": "email", "Value": "carol@example.test"}, {"Name": "custom:team", "Value": "blue"},
    {"Name": "custom:level", "Value": "3"}])
check(attributes_of(pool_id, "carol")["custom:team"] == "blue", "AdminCreateUser takes a new custom attribute")
cognito.admin_update_user_attributes(UserPoolId=pool_id, Username="carol", UserAttributes=[
    {"Name": "custom:team", "Value": "red"}, {"Name": "dev:custom:secret", "Value": "s3"},
    {"Name": "custom:a7", "Value": "seven"}])
attrs = attributes_of(pool_id, "carol")
check(attrs["custom:team"] == "red" and attrs["dev:custom:secret"] == "s3" and attrs["custom:a7"] == "seven",
      "AdminUpdateUserAttributes writes them")
refused("an immutable custom attribute", lambda: cognito.admin_update_user_attributes(
    UserPoolId=pool_id, Username="carol", UserAttributes=[{"Name": "custom:level", "Value": "4"}]),
    "InvalidParameterException", "user.custom:level: Attribute cannot be updated.")
refused("a developer-only attribute under its plain name", lambda: cognito.admin_update_user_attributes(
    UserPoolId=pool_id, Username="carol", UserAttributes=[{"Name": "custom:secret", "Value": "x"}]),
    "InvalidParameterException", "Attribute does not exist in the schema.")
refused("a custom attribute the pool does not have", lambda: cognito.admin_update_user_attributes(
    UserPoolId=pool_id, Username="carol", UserAttributes=[{"Name": "custom:nope", "Value": "x"}]),
    "InvalidParameterException", "Attribute does not exist in the schema.")
# Values keep to their attribute's type and constraints.
for what, value in [("a number off its type", "three"), ("a number over MaxValue", "11")]:
    code, message = error_of(lambda: cognito.admin_create_user(
        UserPoolId=pool_id, Username="dave", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "custom:level", "Value": value}]))
    check(code == "InvalidParameterException" and "custom:level" in message, f"{what} is refused: {message}")
refused("a string over MaxLength", lambda: cognito.admin_update_user_attributes(
    UserPoolId=pool_id, Username="carol", UserAttributes=[{"Name": "custom:team", "Value": "t" * 65}]),
    "InvalidParameterException", "user.custom:team: Attribute value must be at most 64 characters long.")
refused("a string under MinLength", lambda: cognito.admin_update_user_attributes(
    UserPoolId=pool_id, Username="carol", UserAttributes=[{"Name": "custom:team", "Value": ""}]),
    "InvalidParameterException", "user.custom:team: Attribute value must be at least 1 characters long.")
check(attributes_of(pool_id, "carol")["custom:team"] == "red", "a refused value changes nothing")

# --- AdminSetUserMFAPreference ----------------------------------------------------------------
TOTP_ON = {"Enabled": True, "PreferredMfa": True}
OFF = {"Enabled": False, "PreferredMfa": False}
check(mfa_of(pool_id, "carol") == (None, None), "no MFA settings at first")
refused("turning a factor on while the pool's MFA is OFF", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=pool_id, Username="carol", SoftwareTokenMfaSettings=TOTP_ON), "InvalidParameterException")
cognito.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="carol", SoftwareTokenMfaSettings=OFF,
                                      SMSMfaSettings=OFF, EmailMfaSettings=OFF)
check(mfa_of(pool_id, "carol") == (None, None), "turning factors off is always allowed")
cognito.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
refused("TOTP before an authenticator is verified", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=pool_id, Username="carol", SoftwareTokenMfaSettings=TOTP_ON),
    "InvalidParameterException", "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA")
refused("SMS without a phone number", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=pool_id, Username="carol", SMSMfaSettings=TOTP_ON),
    "InvalidParameterException", "User does not have delivery config set to turn on SMS_MFA")
code, message = error_of(lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=pool_id, Username="carol", EmailMfaSettings=TOTP_ON))
check(code == "InvalidParameterException" and "EMAIL_OTP" in message,
      f"email codes need the pool's EmailMfaConfiguration: {message}")
check(mfa_of(pool_id, "carol") == (None, None), "refused choices change nothing")
refused("an unknown user", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=pool_id, Username="nobody", SoftwareTokenMfaSettings=OFF), "UserNotFoundException")
refused("an unknown pool", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=missing_pool, Username="carol", SoftwareTokenMfaSettings=OFF), "ResourceNotFoundException")
cognito.delete_user_pool(UserPoolId=pool_id)

# A user who set up TOTP at sign-in (in the seeded pool, MFA ON).
check(mfa_of(SEEDED, "alice") == (["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA"),
      "TOTP set up at sign-in is on and preferred")
cognito.set_user_pool_mfa_config(UserPoolId=SEEDED, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
cognito.admin_set_user_mfa_preference(UserPoolId=SEEDED, Username="alice",
                                      SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False})
check(mfa_of(SEEDED, "alice") == (["SOFTWARE_TOKEN_MFA"], None), "on, not preferred")
refused("email without an email address", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=SEEDED, Username="bob", EmailMfaSettings=TOTP_ON),
    "InvalidParameterException", "User does not have delivery config set to turn on EMAIL_OTP")
refused("preferred but not on", lambda: cognito.admin_set_user_mfa_preference(
    UserPoolId=SEEDED, Username="alice", SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": True}),
    "InvalidParameterException")
cognito.admin_set_user_mfa_preference(UserPoolId=SEEDED, Username="ALICE", SoftwareTokenMfaSettings=TOTP_ON)
check(mfa_of(SEEDED, "alice") == (["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA"),
      "a verified authenticator is turned on and preferred (by any case of the name)")
cognito.admin_set_user_mfa_preference(UserPoolId=SEEDED, Username="alice", SoftwareTokenMfaSettings=OFF)
check(mfa_of(SEEDED, "alice") == (None, None), "TOTP turned off")

# --- GetSigningCertificate --------------------------------------------------------------------
certificate = cognito.get_signing_certificate(UserPoolId=SEEDED)["Certificate"]
der = base64.b64decode(certificate, validate=True)
check(der[0] == 0x30 and len(der) > 500, "a base64 DER certificate")
check(cognito.get_signing_certificate(UserPoolId=SEEDED)["Certificate"] == certificate,
      "the same certificate every time")
refused("an unknown pool", lambda: cognito.get_signing_certificate(UserPoolId=missing_pool),
        "ResourceNotFoundException")
# Our SP metadata (served once the pool has a SAML provider) publishes the same certificate.
idp_metadata = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
  xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.test/entity">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{certificate}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
      Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""
cognito.create_identity_provider(UserPoolId=SEEDED, ProviderName="Corp", ProviderType="SAML",
                                 ProviderDetails={"MetadataFile": idp_metadata})
with urllib.request.urlopen(f"{ENDPOINT}/saml2/metadata") as r:
    sp_metadata = r.read().decode()
published = sp_metadata.split("<ds:X509Certificate>")[1].split("</ds:X509Certificate>")[0]
check(published == certificate, "the SP metadata's signing certificate is GetSigningCertificate's")
cognito.delete_identity_provider(UserPoolId=SEEDED, ProviderName="Corp")

summary()
