"""Resource servers and pool settings of userpool's Cognito API, driven by boto3 as an application
would drive Cognito: Create/Describe/Update/Delete/ListResourceServers (a new scope is grantable
by client_credentials at once), Get/SetUserPoolMfaConfig (TOTP; SMS and email MFA refused for
now), and TagResource/UntagResource/ListTagsForResource on the pool's ARN.

Usage: resource_servers_and_config.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY

Every raw response is checked against the model's output shape (tests/api/common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import base64
import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGION, check, client, client_credentials, error_of, summary  # noqa: E402

ENDPOINT, KEY, SECRET = sys.argv[1:4]
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)


def token(host, client_id, client_secret, scope):
    """POST /oauth2/token (client_credentials, Basic auth) on a pool domain: (status, body)."""
    return client_credentials(ENDPOINT, host, client_id, client_secret, scope)


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


pool = cognito.create_user_pool(PoolName="resources")["UserPool"]
pool_id = pool["Id"]
missing_pool = f"{REGION}_Nope12345"

# --- Resource servers -----------------------------------------------------------------------
api_id = "https://api.example"
created = cognito.create_resource_server(
    UserPoolId=pool_id, Identifier=api_id, Name="api",
    Scopes=[{"ScopeName": "read", "ScopeDescription": "Read things"}],
)["ResourceServer"]
check(created == {"UserPoolId": pool_id, "Identifier": api_id, "Name": "api",
                  "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read things"}]}, "CreateResourceServer")
check(cognito.describe_resource_server(UserPoolId=pool_id, Identifier=api_id)["ResourceServer"] == created,
      "DescribeResourceServer")
code, message = error_of(lambda: cognito.create_resource_server(UserPoolId=pool_id, Identifier=api_id, Name="again"))
check(code == "InvalidParameterException", f"a taken identifier is refused: {message}")
code, message = error_of(lambda: cognito.create_resource_server(
    UserPoolId=pool_id, Identifier="other", Name="bad/name"))
check(code == "InvalidParameterException", f"a bad name is refused: {message}")
code, message = error_of(lambda: cognito.create_resource_server(
    UserPoolId=pool_id, Identifier="other", Name="other",
    Scopes=[{"ScopeName": "a/b", "ScopeDescription": "slash"}]))
check(code == "InvalidParameterException", f"a scope name with '/' is refused: {message}")
code, message = error_of(lambda: unchecked.create_resource_server(UserPoolId=pool_id, Identifier="", Name="x"))
check(code == "InvalidParameterException" and "identifier" in message, f"the shape is checked: {message}")
code, _ = error_of(lambda: cognito.create_resource_server(UserPoolId=missing_pool, Identifier="x", Name="x"))
check(code == "ResourceNotFoundException", "a resource server of an unknown pool")
code, _ = error_of(lambda: cognito.describe_resource_server(UserPoolId=pool_id, Identifier="nothing"))
check(code == "ResourceNotFoundException", "an unknown resource server is not found")
check(cognito.list_resource_servers(UserPoolId=pool_id, MaxResults=10)["ResourceServers"] == [created],
      "ListResourceServers")

# A new scope is grantable at once: a client is given it, and client_credentials issues it.
prefix = "rs-" + secrets.token_hex(4)
host = f"{prefix}.auth.{REGION}.localhost"
cognito.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
code, message = error_of(lambda: cognito.create_user_pool_client(
    UserPoolId=pool_id, ClientName="m2m", GenerateSecret=True, AllowedOAuthFlowsUserPoolClient=True,
    AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=[f"{api_id}/write"]))
check(code == "ScopeDoesNotExistException", f"a client cannot be given a scope no resource server has: {message}")
cognito.update_resource_server(
    UserPoolId=pool_id, Identifier=api_id, Name="api",
    Scopes=[{"ScopeName": "read", "ScopeDescription": "Read things"},
            {"ScopeName": "write", "ScopeDescription": "Write things"}],
)
m2m = cognito.create_user_pool_client(
    UserPoolId=pool_id, ClientName="m2m", GenerateSecret=True, AllowedOAuthFlowsUserPoolClient=True,
    AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=[f"{api_id}/write"],
)["UserPoolClient"]
check(m2m["AllowedOAuthScopes"] == [f"{api_id}/write"], "a scope added by UpdateResourceServer is given to a client")
status, body = token(host, m2m["ClientId"], m2m["ClientSecret"], f"{api_id}/write")
check(status == 200 and claims(body.get("access_token", "a.e30.c"))["scope"] == f"{api_id}/write",
      f"client_credentials issues the new scope at once ({status} {body.get('error')})")
status, body = token(host, m2m["ClientId"], m2m["ClientSecret"], f"{api_id}/read")
check(status == 400 and body.get("error") == "invalid_scope", "a scope the client was not given is refused")

# UpdateResourceServer replaces the name and the scopes; the identifier stays.
updated = cognito.update_resource_server(UserPoolId=pool_id, Identifier=api_id, Name="renamed")["ResourceServer"]
check(updated["Name"] == "renamed" and not updated.get("Scopes") and updated["Identifier"] == api_id,
      "UpdateResourceServer replaces the name and the scopes")
check(cognito.describe_resource_server(UserPoolId=pool_id, Identifier=api_id)["ResourceServer"] == updated,
      "the update is described")
# Its dropped scopes leave the clients too: no token carries a scope that no longer exists.
kept = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=m2m["ClientId"])["UserPoolClient"]
check(not kept.get("AllowedOAuthScopes"), "a dropped scope is taken from the clients that had it")
status, body = token(host, m2m["ClientId"], m2m["ClientSecret"], f"{api_id}/write")
check(status == 400 and body.get("error") == "invalid_scope", "and is no longer issued")
code, _ = error_of(lambda: cognito.update_resource_server(UserPoolId=pool_id, Identifier="nothing", Name="x"))
check(code == "ResourceNotFoundException", "updating an unknown resource server")
code, message = error_of(lambda: cognito.update_resource_server(UserPoolId=pool_id, Identifier=api_id, Name="a/b"))
check(code == "InvalidParameterException", f"an update is checked as a create is: {message}")

# Paging, in identifier order.
for i in range(3):
    cognito.create_resource_server(UserPoolId=pool_id, Identifier=f"svc-{i}", Name=f"svc{i}")
first = cognito.list_resource_servers(UserPoolId=pool_id, MaxResults=2)
check(len(first["ResourceServers"]) == 2 and "NextToken" in first, "ListResourceServers pages")
rest = cognito.list_resource_servers(UserPoolId=pool_id, MaxResults=50, NextToken=first["NextToken"])
names = [r["Identifier"] for r in first["ResourceServers"] + rest["ResourceServers"]]
check(sorted(names) == sorted([api_id, "svc-0", "svc-1", "svc-2"]) and "NextToken" not in rest,
      "the next page holds the rest")
code, _ = error_of(lambda: cognito.list_resource_servers(UserPoolId=pool_id, MaxResults=2, NextToken="garbage"))
check(code == "InvalidParameterException", "a bad pagination token is refused")
code, _ = error_of(lambda: cognito.list_resource_servers(UserPoolId=missing_pool, MaxResults=2))
check(code == "ResourceNotFoundException", "listing an unknown pool's resource servers")

cognito.delete_resource_server(UserPoolId=pool_id, Identifier="svc-1")
code, _ = error_of(lambda: cognito.describe_resource_server(UserPoolId=pool_id, Identifier="svc-1"))
check(code == "ResourceNotFoundException", "DeleteResourceServer")
code, _ = error_of(lambda: cognito.delete_resource_server(UserPoolId=pool_id, Identifier="svc-1"))
check(code == "ResourceNotFoundException", "deleting it again")

# --- MFA configuration ----------------------------------------------------------------------
got = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
check(got["MfaConfiguration"] == "OFF" and got["SoftwareTokenMfaConfiguration"] == {"Enabled": False},
      "GetUserPoolMfaConfig of a new pool: OFF")
made = cognito.set_user_pool_mfa_config(
    UserPoolId=pool_id, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True})
check(made["MfaConfiguration"] == "OPTIONAL" and made["SoftwareTokenMfaConfiguration"]["Enabled"],
      "SetUserPoolMfaConfig turns TOTP on")
check(cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OPTIONAL",
      "DescribeUserPool shows the new MFA configuration")
cognito.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON")
check(cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "ON", "MFA ON")
with_codes = cognito.set_user_pool_mfa_config(
    UserPoolId=pool_id, MfaConfiguration="ON",
    SmsMfaConfiguration={"SmsAuthenticationMessage": "Code {####}"},
    EmailMfaConfiguration={"Message": "Code {####}", "Subject": "Code"})
check(with_codes["SmsMfaConfiguration"] == {"SmsAuthenticationMessage": "Code {####}"}
      and with_codes["EmailMfaConfiguration"] == {"Message": "Code {####}", "Subject": "Code"},
      "SetUserPoolMfaConfig offers codes by SMS and email")
check(cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["EmailMfaConfiguration"]["Subject"] == "Code",
      "GetUserPoolMfaConfig shows them")
code, message = error_of(lambda: cognito.set_user_pool_mfa_config(
    UserPoolId=pool_id, MfaConfiguration="ON", SmsMfaConfiguration={"SmsAuthenticationMessage": "no code"}))
check(code == "InvalidParameterException" and "####" in message, f"a message without the code: {message}")
code, message = error_of(lambda: cognito.set_user_pool_mfa_config(
    UserPoolId=pool_id, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": False}))
check(code == "InvalidParameterException", f"MFA without its only factor is refused: {message}")
check(cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "ON", "a refusal writes nothing")
off = cognito.set_user_pool_mfa_config(
    UserPoolId=pool_id, MfaConfiguration="OFF", SmsMfaConfiguration={}, EmailMfaConfiguration={})
check(off["MfaConfiguration"] == "OFF" and not off["SoftwareTokenMfaConfiguration"]["Enabled"]
      and "SmsMfaConfiguration" not in off and "EmailMfaConfiguration" not in off,
      "MFA OFF, with SMS and email stated empty (turned off)")
code, _ = error_of(lambda: cognito.get_user_pool_mfa_config(UserPoolId=missing_pool))
check(code == "ResourceNotFoundException", "the MFA configuration of an unknown pool")

# --- Tags -----------------------------------------------------------------------------------
arn = pool["Arn"]
check(cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}, "a new pool has no tags")
cognito.tag_resource(ResourceArn=arn, Tags={"team": "identity", "env": "test"})
cognito.tag_resource(ResourceArn=arn, Tags={"env": "prod"})
check(cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "identity", "env": "prod"},
      "TagResource adds and replaces tags")
check(cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UserPoolTags"] == {"team": "identity", "env": "prod"},
      "DescribeUserPool shows the tags")
cognito.untag_resource(ResourceArn=arn, TagKeys=["team", "absent"])
check(cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "prod"}, "UntagResource")
other_arn = arn.replace(pool_id, missing_pool)
code, _ = error_of(lambda: cognito.tag_resource(ResourceArn=other_arn, Tags={"a": "b"}))
check(code == "ResourceNotFoundException", "tagging an unknown pool's ARN")
code, _ = error_of(lambda: cognito.list_tags_for_resource(
    ResourceArn=f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{pool_id}"))
check(code == "ResourceNotFoundException", "an ARN of another account names nothing here")
code, message = error_of(lambda: cognito.untag_resource(ResourceArn="arn:aws:s3:::bucket-of-someone", TagKeys=["a"]))
check(code == "InvalidParameterException" and "regular expression pattern" in message,
      f"an ARN without an account is off the model's pattern: {message}")
code, _ = error_of(lambda: cognito.untag_resource(
    ResourceArn=f"arn:aws:s3:{REGION}:123456789012:bucket/someone", TagKeys=["a"]))
check(code == "ResourceNotFoundException", "an ARN of another service names nothing here")

cognito.delete_user_pool(UserPoolId=pool_id)
summary()
