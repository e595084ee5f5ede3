"""Updates and domains of userpool's Cognito API, driven by boto3 as an application would drive
Cognito: UpdateUserPool, UpdateUserPoolClient (a member not given returns to its default; what
cannot change stays), LastModifiedDate, and Create/Describe/Update/DeleteUserPoolDomain, with the
pool's managed login answering on a new domain at once.

Usage: updates_and_domains.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY

Every raw response is checked against the model's output shape (tests/api/common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGION, check, client, error_of, summary  # noqa: E402

ENDPOINT, KEY, SECRET = sys.argv[1:4]
PORT = urllib.parse.urlparse(ENDPOINT).port
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)


def login_on(host, client_id):
    """GET /login on this server with the Host header of a pool domain: (status, body)."""
    query = urllib.parse.urlencode(
        {"client_id": client_id, "response_type": "code", "redirect_uri": "https://app.example/cb", "scope": "openid"}
    )
    req = urllib.request.Request(f"{ENDPOINT}/login?{query}", headers={"Host": host})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


# --- UpdateUserPool -------------------------------------------------------------------------
pool = cognito.create_user_pool(
    PoolName="updates",
    Policies={"PasswordPolicy": {"MinimumLength": 10}},
    DeletionProtection="ACTIVE",
    UsernameAttributes=["email"],
    AutoVerifiedAttributes=["email"],
    EmailVerificationSubject="Your code",
)["UserPool"]
pool_id = pool["Id"]
check(pool["LastModifiedDate"] == pool["CreationDate"], "a new pool was last modified when it was made")
time.sleep(1.1)
cognito.update_user_pool(UserPoolId=pool_id, Policies={"PasswordPolicy": {"MinimumLength": 12}})
after = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
check(after["Policies"]["PasswordPolicy"]["MinimumLength"] == 12, "UpdateUserPool changes what it is given")
check(after["Name"] == "updates", "the name stays when it is not given")
check(after.get("DeletionProtection", "INACTIVE") == "INACTIVE", "a member not given returns to its default")
check(not after.get("AutoVerifiedAttributes") and "EmailVerificationSubject" not in after,
      "every member not given returns to its default")
check(after["UsernameAttributes"] == ["email"], "UsernameAttributes cannot be changed by an update")
check(after["CreationDate"] == pool["CreationDate"], "the creation date stays")
check(after["LastModifiedDate"] > after["CreationDate"], "LastModifiedDate moves with the update")
listed = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Id"] == pool_id]
check(listed and listed[0]["LastModifiedDate"] == after["LastModifiedDate"], "ListUserPools shows LastModifiedDate")
cognito.update_user_pool(UserPoolId=pool_id, PoolName="updates-renamed", DeletionProtection="ACTIVE")
after = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
check(after["Name"] == "updates-renamed" and after["DeletionProtection"] == "ACTIVE",
      "PoolName, a member of UpdateUserPoolRequest, renames")
code, message = error_of(lambda: cognito.update_user_pool(UserPoolId=pool_id, PoolName="bad/name"))
check(code == "InvalidParameterException" and "poolName" in message, f"update is checked as create is: {message}")
code, message = error_of(
    lambda: unchecked.update_user_pool(UserPoolId=pool_id, Policies={"PasswordPolicy": {"MinimumLength": 5}})
)
check(code == "InvalidParameterException" and "minimumLength" in message, f"the shape is checked: {message}")
code, _ = error_of(lambda: cognito.update_user_pool(UserPoolId=f"{REGION}_Nope12345"))
check(code == "ResourceNotFoundException", "updating an unknown pool")
check(cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Name"] == "updates-renamed",
      "a refused update writes nothing")

# --- UpdateUserPoolClient -------------------------------------------------------------------
made = cognito.create_user_pool_client(
    UserPoolId=pool_id,
    ClientName="web",
    GenerateSecret=True,
    AllowedOAuthFlowsUserPoolClient=True,
    AllowedOAuthFlows=["code"],
    AllowedOAuthScopes=["openid", "email"],
    CallbackURLs=["https://app.example/cb"],
    LogoutURLs=["https://app.example/bye"],
    SupportedIdentityProviders=["COGNITO"],
    AccessTokenValidity=2,
)["UserPoolClient"]
client_id = made["ClientId"]
check(made["LastModifiedDate"] == made["CreationDate"], "a new client was last modified when it was made")
time.sleep(1.1)
updated = cognito.update_user_pool_client(
    UserPoolId=pool_id,
    ClientId=client_id,
    AllowedOAuthFlowsUserPoolClient=True,
    AllowedOAuthFlows=["code"],
    AllowedOAuthScopes=["openid"],
    CallbackURLs=["https://app.example/cb", "https://app.example/cb2"],
    SupportedIdentityProviders=["COGNITO"],
)["UserPoolClient"]
check(updated["ClientId"] == client_id and updated["ClientName"] == "web", "the ID stays, and the name when not given")
check(updated["CallbackURLs"] == ["https://app.example/cb", "https://app.example/cb2"], "UpdateUserPoolClient changes")
check(not updated.get("LogoutURLs") and updated.get("AccessTokenValidity") is None,
      "members not given return to their defaults")
check(updated.get("ClientSecret") == made["ClientSecret"], "the secret stays, and is shown as Cognito shows it")
check(updated["LastModifiedDate"] > updated["CreationDate"] == made["CreationDate"], "LastModifiedDate moves")
shown = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
check(shown == updated, "DescribeUserPoolClient shows the update")
renamed = cognito.update_user_pool_client(
    UserPoolId=pool_id, ClientId=client_id, ClientName="web2",
    AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"],
    CallbackURLs=["https://app.example/cb"], SupportedIdentityProviders=["COGNITO"],
)["UserPoolClient"]
check(renamed["ClientName"] == "web2", "ClientName renames")
code, message = error_of(
    lambda: cognito.update_user_pool_client(
        UserPoolId=pool_id, ClientId=client_id, AllowedOAuthFlows=["code"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=["http://evil.example/cb"],
    )
)
check(code == "InvalidParameterException", f"a plain-http callback is refused on update too: {message}")
check(cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]["ClientName"]
      == "web2", "a refused client update writes nothing")
code, _ = error_of(lambda: cognito.update_user_pool_client(UserPoolId=pool_id, ClientId="nope" * 5))
check(code == "ResourceNotFoundException", "updating an unknown client")

# --- Domains --------------------------------------------------------------------------------
prefix = "upd-" + secrets.token_hex(4)
host = f"{prefix}.auth.{REGION}.localhost"
status, _ = login_on(host, client_id)
check(status == 404, "no pool answers on a domain not yet created")
created = cognito.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
check(created.get("ManagedLoginVersion") == 1, "CreateUserPoolDomain (classic managed login by default)")
status, body = login_on(host, client_id)
check(status == 200, f"the pool's managed login answers on the new domain at once ({status})")
described = cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"]
check(
    described["UserPoolId"] == pool_id and described["Domain"] == prefix and described["Status"] == "ACTIVE"
    and described["AWSAccountId"] == "000000000000" and described["ManagedLoginVersion"] == 1
    and "S3Bucket" not in described and "CloudFrontDistribution" not in described,
    "DescribeUserPoolDomain",
)
check(cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"] == prefix, "the pool names its domain")
check(cognito.describe_user_pool_domain(Domain="no-such-" + prefix)["DomainDescription"] == {},
      "an unknown domain is described as nothing")
code, message = error_of(lambda: cognito.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix + "-2"))
check(code == "InvalidParameterException", f"one prefix domain per pool: {message}")
other = cognito.create_user_pool(PoolName="updates-other")["UserPool"]["Id"]
code, message = error_of(lambda: cognito.create_user_pool_domain(UserPoolId=other, Domain=prefix))
check(code == "InvalidParameterException" and message == "Domain already associated with another user pool.",
      f"a taken domain: {message}")
code, message = error_of(lambda: cognito.create_user_pool_domain(UserPoolId=other, Domain="Bad_Prefix"))
check(code == "InvalidParameterException", f"a bad prefix is refused: {message}")
code, _ = error_of(lambda: cognito.create_user_pool_domain(UserPoolId=f"{REGION}_Nope12345", Domain="x" + prefix))
check(code == "ResourceNotFoundException", "a domain for an unknown pool")

changed = cognito.update_user_pool_domain(UserPoolId=pool_id, Domain=prefix, ManagedLoginVersion=2)
check(changed.get("ManagedLoginVersion") == 2, "UpdateUserPoolDomain")
check(cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["ManagedLoginVersion"] == 2,
      "the new managed login version is described")
code, message = error_of(lambda: cognito.update_user_pool_domain(UserPoolId=other, Domain=prefix, ManagedLoginVersion=1))
check(code == "InvalidParameterException", f"another pool cannot update the domain: {message}")

custom = f"auth-{secrets.token_hex(4)}.example.test"
cert = f"arn:aws:acm:{REGION}:000000000000:certificate/one"
cognito.create_user_pool_domain(UserPoolId=pool_id, Domain=custom, CustomDomainConfig={"CertificateArn": cert})
check(cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["CustomDomain"] == custom,
      "a pool has a prefix and a custom domain")
check(cognito.describe_user_pool_domain(Domain=custom)["DomainDescription"]["CustomDomainConfig"]["CertificateArn"]
      == cert, "the custom domain's certificate is described")
new_cert = cert.replace("/one", "/two")
cognito.update_user_pool_domain(UserPoolId=pool_id, Domain=custom, CustomDomainConfig={"CertificateArn": new_cert})
check(cognito.describe_user_pool_domain(Domain=custom)["DomainDescription"]["CustomDomainConfig"]["CertificateArn"]
      == new_cert, "UpdateUserPoolDomain changes the certificate")
status, _ = login_on(custom, client_id)
check(status == 200, "the managed login answers on the custom domain")

code, message = error_of(lambda: cognito.delete_user_pool_domain(UserPoolId=other, Domain=prefix))
check(code == "InvalidParameterException", f"another pool cannot delete the domain: {message}")
cognito.delete_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
check(cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}, "DeleteUserPoolDomain")
status, _ = login_on(host, client_id)
check(status == 404, "a deleted domain stops answering at once")
check("Domain" not in cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"], "the pool has no prefix domain")
cognito.create_user_pool_domain(UserPoolId=other, Domain=prefix)
check(cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["UserPoolId"] == other,
      "a freed domain can be taken by another pool")
code, _ = error_of(lambda: cognito.delete_user_pool_domain(UserPoolId=pool_id, Domain=prefix))
check(code == "InvalidParameterException", "deleting a domain the pool does not have")
cognito.delete_user_pool_domain(UserPoolId=pool_id, Domain=custom)

cognito.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
cognito.delete_user_pool(UserPoolId=pool_id)
cognito.delete_user_pool(UserPoolId=other)
check(cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}, "a deleted pool takes its domain")

summary()
