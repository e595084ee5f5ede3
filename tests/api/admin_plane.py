"""The admin plane of userpool's Cognito API, driven by boto3 as an application would drive Cognito.

Usage: admin_plane.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY

Every raw response is also checked against the output shape of the service model (common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import json
import sys
import urllib.error
import urllib.request

from common import REGION, check, client as new_client, error_of, raw as raw_to, summary

ENDPOINT, KEY, SECRET = sys.argv[1:4]


def client(validate=True):
    return new_client(ENDPOINT, KEY, SECRET, validate)


def raw(target, body):
    return raw_to(ENDPOINT, target, body)


cognito = client()
unchecked = client(validate=False)

before = cognito.list_user_pools(MaxResults=60)["UserPools"]
created = cognito.create_user_pool(
    PoolName="api-test",
    Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireNumbers": True}},
    MfaConfiguration="OFF",
    DeletionProtection="ACTIVE",
    UsernameConfiguration={"CaseSensitive": False},
)["UserPool"]
pool_id = created["Id"]
check(pool_id.startswith(REGION + "_") and created["Name"] == "api-test", f"CreateUserPool made {pool_id}")
check(created["Arn"].endswith(f":userpool/{pool_id}"), "the pool has an ARN")
check(created["Policies"]["PasswordPolicy"]["MinimumLength"] == 10, "the password policy is kept")
check(created["EstimatedNumberOfUsers"] == 0, "a new pool has no users")
described = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
check(described["Id"] == pool_id and described["DeletionProtection"] == "ACTIVE", "DescribeUserPool")
second = cognito.create_user_pool(PoolName="api-test-2")["UserPool"]["Id"]
listed = cognito.list_user_pools(MaxResults=60)["UserPools"]
check(len(listed) == len(before) + 2, "ListUserPools lists both")
first_page = cognito.list_user_pools(MaxResults=1)
check(len(first_page["UserPools"]) == 1 and "NextToken" in first_page, "ListUserPools pages")
rest = cognito.list_user_pools(MaxResults=60, NextToken=first_page["NextToken"])["UserPools"]
check(len(rest) == len(listed) - 1, "the next page holds the rest")

code, message = error_of(lambda: unchecked.create_user_pool(PoolName=""))
check(code == "InvalidParameterException" and "poolName" in message, f"an empty name is refused: {message}")
code, _ = error_of(lambda: cognito.describe_user_pool(UserPoolId="us-east-1_Nope12345"))
check(code == "ResourceNotFoundException", "an unknown pool is not found")

made = cognito.create_user_pool_client(
    UserPoolId=pool_id,
    ClientName="web",
    GenerateSecret=True,
    AllowedOAuthFlowsUserPoolClient=True,
    AllowedOAuthFlows=["code"],
    AllowedOAuthScopes=["openid", "email"],
    CallbackURLs=["https://app.example/cb"],
    SupportedIdentityProviders=["COGNITO"],
)["UserPoolClient"]
client_id = made["ClientId"]
check(len(made.get("ClientSecret", "")) >= 40, "CreateUserPoolClient returns the secret once")
shown = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
check(shown["ClientName"] == "web" and shown["CallbackURLs"] == ["https://app.example/cb"], "DescribeUserPoolClient")
code, message = error_of(
    lambda: cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="bad", AllowedOAuthFlows=["code"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=["http://evil.example/cb"],
    )
)
check(code == "InvalidParameterException", f"a plain-http callback is refused: {message}")
clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
check([c["ClientId"] for c in clients] == [client_id], "ListUserPoolClients")

# The pool serves OIDC at once: its keys were made with it.
with urllib.request.urlopen(f"{ENDPOINT}/{pool_id}/.well-known/jwks.json") as r:
    check(len(json.loads(r.read())["keys"]) == 2, "the new pool publishes its two signing keys")

cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
code, _ = error_of(lambda: cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id))
check(code == "ResourceNotFoundException", "DeleteUserPoolClient")
code, message = error_of(lambda: cognito.delete_user_pool(UserPoolId=pool_id))
check(code == "InvalidParameterException" and "deletion protection" in message, "deletion protection holds")
cognito.delete_user_pool(UserPoolId=second)
code, _ = error_of(lambda: cognito.describe_user_pool(UserPoolId=second))
check(code == "ResourceNotFoundException", "DeleteUserPool")

code, message = error_of(lambda: cognito.describe_risk_configuration(UserPoolId=pool_id))
check(code == "UnsupportedOperationException", f"an operation not served yet says so: {message}")
status, body = raw("AWSCognitoIdentityProviderService.NoSuchOperation", b"{}")
check(status == 400 and body["__type"] == "UnknownOperationException", "an unknown target")
status, body = raw("AWSCognitoIdentityProviderService.SignUp", b"{not json")
check(status == 400 and body["__type"] == "SerializationException", "a malformed body")

# An oversized body (over 1 MiB) is refused without being read into an answer, and the server
# goes on serving.
big = urllib.request.Request(
    ENDPOINT + "/",
    data=b'{"PoolName": "' + b"x" * (3 * 1024 * 1024) + b'"}',
    headers={"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": "AWSCognitoIdentityProviderService.CreateUserPool"},
    method="POST",
)
try:
    urllib.request.urlopen(big)
    refused = None
except urllib.error.HTTPError as e:
    refused = e.code
check(refused in (400, 413), f"an oversized body is refused ({refused})")
check(cognito.list_user_pools(MaxResults=1)["UserPools"] is not None, "and the server still answers")

summary()
