"""The admin plane of userpool's Cognito API, driven by boto3 as an application would drive Cognito.

Usage: admin_plane.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY

Every raw response is also checked against the output shape of the service model (the one in
crates/api/model, read here by separate code): a member
Cognito would not send, a missing required member, or a value of the wrong type fails the run.
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT, KEY, SECRET = sys.argv[1:4]
REGION = "us-east-1"
passed = 0


def check(ok, what):
    global passed
    if not ok:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    passed += 1
    print(f"ok: {what}", flush=True)


MODEL = json.load(open(Path(__file__).resolve().parents[2] / "crates/api/model/cognito-idp.json"))


def shape_problems(name, value, path="output"):
    """What in `value` does not fit the model's shape `name` (the service model in the repo, a
    newer one than the installed botocore may carry)."""
    shape = MODEL["shapes"][name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        members = shape.get("members", {})
        problems = [f"{path}.{m}: not in the model" for m in value if m not in members]
        problems += [f"{path}.{m}: required, missing" for m in shape.get("required", []) if m not in value]
        for m, v in value.items():
            if m in members:
                problems += shape_problems(members[m]["shape"], v, f"{path}.{m}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [p for i, v in enumerate(value) for p in shape_problems(shape["member"]["shape"], v, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        return [p for k, v in value.items() for p in shape_problems(shape["value"]["shape"], v, f"{path}.{k}")]
    expected = {
        "string": str,
        "integer": int,
        "long": int,
        "boolean": bool,
        "timestamp": (int, float),
        "blob": str,
    }.get(kind)
    if expected and (not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool))):
        return [f"{path}: {value!r} is not a {kind}"]
    if kind == "string" and "enum" in shape and value not in shape["enum"]:
        return [f"{path}: {value!r} not one of {shape['enum']}"]
    return []


def check_shape(http_response, model, **_):
    """botocore's after-call hook: the raw body against the operation's output shape."""
    output = MODEL["operations"][model.name]["output"]
    if http_response.status_code != 200 or output is None:
        return
    body = json.loads(http_response.content or b"{}")
    problems = shape_problems(output, body)
    check(not problems, f"{model.name} answers in the model's shape {problems}")


def client(validate=True):
    c = boto3.client(
        "cognito-idp",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
    )
    c.meta.events.register("after-call.cognito-idp", check_shape)
    return c


def error_of(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


def raw(target, body):
    """A request boto3 would never send, signed with nothing: the protocol's own errors."""
    req = urllib.request.Request(
        ENDPOINT + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


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

code, message = error_of(lambda: cognito.admin_get_user(UserPoolId=pool_id, Username="x"))
check(code == "UnsupportedOperationException", f"an operation not served yet says so: {message}")
status, body = raw("AWSCognitoIdentityProviderService.NoSuchOperation", b"{}")
check(status == 400 and body["__type"] == "UnknownOperationException", "an unknown target")
status, body = raw("AWSCognitoIdentityProviderService.SignUp", b"{not json")
check(status == 400 and body["__type"] == "SerializationException", "a malformed body")

print(f"{passed} passed, 0 failed")
