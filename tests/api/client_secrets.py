"""App client secrets in userpool's Cognito API, driven by boto3: DescribeUserPoolClient shows a
confidential client's secret (kept sealed, not hashed), and AddUserPoolClientSecret /
ListUserPoolClientSecrets / DeleteUserPoolClientSecret rotate it while the token endpoint
accepts exactly the client's current secrets.

Usage: client_secrets.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY

Every raw response is checked against the model's output shape (tests/api/common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGION, check, client, client_credentials, error_of, summary  # noqa: E402

ENDPOINT, KEY, SECRET = sys.argv[1:4]
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)


def token_status(host, client_id, client_secret):
    """The status of a client_credentials request with these credentials."""
    return client_credentials(ENDPOINT, host, client_id, client_secret)


pool_id = cognito.create_user_pool(PoolName="secrets")["UserPool"]["Id"]
prefix = "sec-" + secrets.token_hex(4)
host = f"{prefix}.auth.{REGION}.localhost"
cognito.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
api_id = "https://api.example"
cognito.create_resource_server(UserPoolId=pool_id, Identifier=api_id, Name="api",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "Read"}])
m2m = cognito.create_user_pool_client(
    UserPoolId=pool_id, ClientName="m2m", GenerateSecret=True,
    AllowedOAuthFlows=["client_credentials"], AllowedOAuthFlowsUserPoolClient=True,
    AllowedOAuthScopes=[f"{api_id}/read"],
)["UserPoolClient"]
client_id, first = m2m["ClientId"], m2m["ClientSecret"]
shown = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
check(shown.get("ClientSecret") == first, "DescribeUserPoolClient shows the secret again")
check(token_status(host, client_id, first)[0] == 200, "the secret authenticates at the token endpoint")
check(token_status(host, client_id, first + "x")[0] == 401, "a wrong secret does not")

given = "given0secret0of0thirty0two0chars"
code, message = error_of(lambda: cognito.create_user_pool_client(
    UserPoolId=pool_id, ClientName="both", GenerateSecret=True, ClientSecret=given))
check(code == "InvalidParameterException", f"GenerateSecret with ClientSecret is refused: {message}")
supplied = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="supplied", ClientSecret=given)
check(supplied["UserPoolClient"]["ClientSecret"] == given, "a supplied secret is kept")

# --- Rotation -------------------------------------------------------------------------------
listed = cognito.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId=client_id)["ClientSecrets"]
check(len(listed) == 1 and "ClientSecretValue" not in listed[0] and listed[0]["ClientSecretId"],
      "ListUserPoolClientSecrets lists the secret without its value")
first_id = listed[0]["ClientSecretId"]
added = cognito.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=client_id)["ClientSecretDescriptor"]
second = added["ClientSecretValue"]
check(len(second) >= 40 and added["ClientSecretId"] != first_id, "AddUserPoolClientSecret makes a second secret")
check(token_status(host, client_id, first)[0] == 200 and token_status(host, client_id, second)[0] == 200,
      "both secrets authenticate during the rotation")
listed = cognito.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId=client_id)["ClientSecrets"]
check([s["ClientSecretId"] for s in listed] == [first_id, added["ClientSecretId"]], "both are listed, oldest first")
code, message = error_of(lambda: cognito.add_user_pool_client_secret(
    UserPoolId=pool_id, ClientId=client_id, ClientSecret=given))
check(code == "LimitExceededException", f"a third secret is refused: {message}")

cognito.delete_user_pool_client_secret(UserPoolId=pool_id, ClientId=client_id, ClientSecretId=first_id)
check(token_status(host, client_id, first)[0] == 401, "a deleted secret no longer authenticates")
check(token_status(host, client_id, second)[0] == 200, "the remaining one still does")
shown = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
check(shown.get("ClientSecret") == second, "Describe shows the remaining secret")
code, message = error_of(lambda: cognito.delete_user_pool_client_secret(
    UserPoolId=pool_id, ClientId=client_id, ClientSecretId=added["ClientSecretId"]))
check(code == "InvalidParameterException", f"the only secret cannot be deleted: {message}")
code, _ = error_of(lambda: cognito.delete_user_pool_client_secret(
    UserPoolId=pool_id, ClientId=client_id, ClientSecretId=first_id))
check(code == "ResourceNotFoundException", "an unknown secret ID is not found")
supplied_again = cognito.add_user_pool_client_secret(
    UserPoolId=pool_id, ClientId=client_id, ClientSecret="another0given0secret0of0thirty")
check(supplied_again["ClientSecretDescriptor"]["ClientSecretValue"] == "another0given0secret0of0thirty",
      "a supplied secret can be added")
code, message = error_of(lambda: unchecked.add_user_pool_client_secret(
    UserPoolId=pool_id, ClientId=client_id, ClientSecret="short"))
check(code == "InvalidParameterException", f"a short secret is refused: {message}")

public = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="public")["UserPoolClient"]
check("ClientSecret" not in public, "a public client has no secret")
code, message = error_of(lambda: cognito.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=public["ClientId"]))
check(code == "InvalidParameterException", f"a public client is not given a secret: {message}")
check(cognito.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId=public["ClientId"])["ClientSecrets"] == [],
      "a public client lists no secrets")
code, _ = error_of(lambda: cognito.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId="nope"))
check(code == "ResourceNotFoundException", "an unknown client is not found")

summary()
