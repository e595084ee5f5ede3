#!/usr/bin/env bash
# The Cognito API of userpool driven by the AWS CLI (`aws cognito-idp …`), as an operator would
# drive Cognito: every operation the server serves, at least once, and the service's errors as
# the CLI reports them. Outputs are checked with python3 (no jq needed).
#
# Usage: admin_plane.sh URL ACCESS_KEY_ID SECRET_ACCESS_KEY
#
# Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first
# failure.
set -euo pipefail

URL=${1:?usage: admin_plane.sh URL ACCESS_KEY_ID SECRET_ACCESS_KEY}
export AWS_ACCESS_KEY_ID=${2:?access key id}
export AWS_SECRET_ACCESS_KEY=${3:?secret access key}
# Nothing of the machine's own AWS set-up: no profile, no pager, one attempt per call.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export AWS_CONFIG_FILE=$scratch/config AWS_SHARED_CREDENTIALS_FILE=$scratch/credentials
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard
# AWS CLI v1 fetches a parameter that looks like a URL (a resource server's identifier) unless told.
printf '[default]\ncli_follow_urlparam = false\n' >"$AWS_CONFIG_FILE"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE

REGION=us-east-1
MISSING_POOL=us-east-1_Nope12345
passed=0
out=

# `aws … cognito-idp "$@"`, its JSON output in $out.
idp() {
    out=$(aws --endpoint-url "$URL" --region "$REGION" --output json cognito-idp "$@")
}

# check WHAT EXPR: EXPR, a python3 expression on `o` (the last output, parsed), must hold.
check() {
    if python3 -c '
import json, sys
o = json.loads(sys.stdin.read().strip() or "{}")
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$2" <<<"$out"; then
        passed=$((passed + 1))
        echo "ok: $1"
    else
        echo "FAILED: $1 ($2)"
        echo "$out"
        exit 1
    fi
}

# value EXPR: prints the python3 expression EXPR on `o` (the last output).
value() {
    python3 -c '
import json, sys
o = json.loads(sys.stdin.read().strip() or "{}")
print(eval(sys.argv[1]))
' "$1" <<<"$out"
}

# refused CODE WHAT ARGS…: `aws cognito-idp ARGS…` must fail with the service error CODE.
refused() {
    local code=$1 what=$2 err
    shift 2
    if err=$(aws --endpoint-url "$URL" --region "$REGION" --output json cognito-idp "$@" 2>&1); then
        echo "FAILED: $what: the call succeeded"
        echo "$err"
        exit 1
    fi
    if [[ $err != *"An error occurred ($code)"* ]]; then
        echo "FAILED: $what: not $code"
        echo "$err"
        exit 1
    fi
    passed=$((passed + 1))
    echo "ok: $what ($code)"
    out=$err
}

# The start: a pool, a client, a user, and the user found with a filter.
idp create-user-pool --pool-name cli-test --deletion-protection ACTIVE \
    --username-configuration CaseSensitive=false --user-pool-tags team=identity \
    --policies '{"PasswordPolicy": {"MinimumLength": 10, "RequireNumbers": true}}'
check "CreateUserPool" 'o["UserPool"]["Name"] == "cli-test" and o["UserPool"]["Id"].startswith("us-east-1_")'
pool=$(value 'o["UserPool"]["Id"]')
arn=$(value 'o["UserPool"]["Arn"]')
check "the pool has its ARN" "o['UserPool']['Arn'].endswith(':userpool/$pool')"

idp create-user-pool-client --user-pool-id "$pool" --client-name web --generate-secret
check "CreateUserPoolClient returns the secret" 'len(o["UserPoolClient"]["ClientSecret"]) >= 40'
client=$(value 'o["UserPoolClient"]["ClientId"]')

idp admin-create-user --user-pool-id "$pool" --username Alice --temporary-password Temp-Passw0rd1 \
    --message-action SUPPRESS \
    --user-attributes Name=email,Value=alice@example.test Name=email_verified,Value=true Name=name,Value=Alice
check "AdminCreateUser" 'o["User"]["Username"] == "alice" and o["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD"'

idp list-users --user-pool-id "$pool" --filter 'username = "alice"'
check "ListUsers with a filter" '[u["Username"] for u in o["Users"]] == ["alice"]'
idp list-users --user-pool-id "$pool" --filter 'email ^= "ALICE@"' --attributes-to-get email
check "ListUsers by an email prefix, one attribute" \
    '[(u["Username"], [a["Name"] for a in u["Attributes"]]) for u in o["Users"]] == [("alice", ["email"])]'

# The service's errors.
refused ResourceNotFoundException "an unknown pool" describe-user-pool --user-pool-id "$MISSING_POOL"
refused UsernameExistsException "a taken username" \
    admin-create-user --user-pool-id "$pool" --username ALICE --message-action SUPPRESS
refused InvalidParameterException "a filter on an attribute that cannot be searched" \
    list-users --user-pool-id "$pool" --filter 'shoe_size = "9"'

# Pools.
idp describe-user-pool --user-pool-id "$pool"
check "DescribeUserPool" 'o["UserPool"]["DeletionProtection"] == "ACTIVE" and o["UserPool"]["EstimatedNumberOfUsers"] == 1'
idp list-user-pools --max-results 10
check "ListUserPools" "'$pool' in [p['Id'] for p in o['UserPools']]"
idp update-user-pool --user-pool-id "$pool" --deletion-protection ACTIVE \
    --user-pool-tags team=identity,env=test
idp add-custom-attributes --user-pool-id "$pool" \
    --custom-attributes Name=tier,AttributeDataType=String,Mutable=true
idp describe-user-pool --user-pool-id "$pool"
check "UpdateUserPool" 'o["UserPool"]["UserPoolTags"] == {"team": "identity", "env": "test"}'
check "AddCustomAttributes" '"custom:tier" in [a["Name"] for a in o["UserPool"]["SchemaAttributes"]]'
idp get-signing-certificate --user-pool-id "$pool"
check "GetSigningCertificate" '__import__("base64").b64decode(o["Certificate"])[0] == 0x30'

# App clients and their secrets.
idp describe-user-pool-client --user-pool-id "$pool" --client-id "$client"
check "DescribeUserPoolClient" 'o["UserPoolClient"]["ClientName"] == "web"'
idp update-user-pool-client --user-pool-id "$pool" --client-id "$client" --client-name web-2 \
    --refresh-token-validity 10
check "UpdateUserPoolClient" 'o["UserPoolClient"]["ClientName"] == "web-2" and o["UserPoolClient"]["RefreshTokenValidity"] == 10'
idp add-user-pool-client-secret --user-pool-id "$pool" --client-id "$client"
check "AddUserPoolClientSecret shows the new secret" 'len(o["ClientSecretDescriptor"]["ClientSecretValue"]) >= 24'
secret_id=$(value 'o["ClientSecretDescriptor"]["ClientSecretId"]')
idp list-user-pool-client-secrets --user-pool-id "$pool" --client-id "$client"
check "ListUserPoolClientSecrets" "len(o['ClientSecrets']) == 2 and '$secret_id' in [s['ClientSecretId'] for s in o['ClientSecrets']]"
idp delete-user-pool-client-secret --user-pool-id "$pool" --client-id "$client" --client-secret-id "$secret_id"
idp list-user-pool-client-secrets --user-pool-id "$pool" --client-id "$client"
check "DeleteUserPoolClientSecret" "len(o['ClientSecrets']) == 1 and o['ClientSecrets'][0]['ClientSecretId'] != '$secret_id'"
idp create-user-pool-client --user-pool-id "$pool" --client-name spare
spare=$(value 'o["UserPoolClient"]["ClientId"]')
idp list-user-pool-clients --user-pool-id "$pool" --max-results 10
check "ListUserPoolClients" "sorted(c['ClientId'] for c in o['UserPoolClients']) == sorted(['$client', '$spare'])"
idp delete-user-pool-client --user-pool-id "$pool" --client-id "$spare"
refused ResourceNotFoundException "DeleteUserPoolClient" \
    describe-user-pool-client --user-pool-id "$pool" --client-id "$spare"

# Domains.
prefix=cli-$(python3 -c 'import secrets; print(secrets.token_hex(4))')
idp create-user-pool-domain --user-pool-id "$pool" --domain "$prefix"
check "CreateUserPoolDomain" 'o.get("ManagedLoginVersion") == 1'
idp describe-user-pool-domain --domain "$prefix"
check "DescribeUserPoolDomain" "o['DomainDescription']['UserPoolId'] == '$pool'"
idp update-user-pool-domain --user-pool-id "$pool" --domain "$prefix" --managed-login-version 2
check "UpdateUserPoolDomain" 'o.get("ManagedLoginVersion") == 2'
idp delete-user-pool-domain --user-pool-id "$pool" --domain "$prefix"
idp describe-user-pool-domain --domain "$prefix"
check "DeleteUserPoolDomain" 'o["DomainDescription"] == {}'

# Users.
idp admin-get-user --user-pool-id "$pool" --username ALICE
check "AdminGetUser" 'o["Username"] == "alice" and {a["Name"]: a["Value"] for a in o["UserAttributes"]}["name"] == "Alice"'
idp admin-update-user-attributes --user-pool-id "$pool" --username alice \
    --user-attributes Name=family_name,Value=A Name=name,Value=Alice-A Name=custom:tier,Value=gold
idp admin-get-user --user-pool-id "$pool" --username alice
check "AdminUpdateUserAttributes" '{a["Name"]: a["Value"] for a in o["UserAttributes"]}["custom:tier"] == "gold"'
idp admin-delete-user-attributes --user-pool-id "$pool" --username alice --user-attribute-names family_name
idp admin-set-user-password --user-pool-id "$pool" --username alice --password Str0ng-Passw0rd --permanent
idp admin-get-user --user-pool-id "$pool" --username alice
check "AdminDeleteUserAttributes" '"family_name" not in [a["Name"] for a in o["UserAttributes"]]'
check "AdminSetUserPassword" 'o["UserStatus"] == "CONFIRMED"'
# No UNCONFIRMED user without self-registration: the CLI's request is checked by the refusal.
refused NotAuthorizedException "AdminConfirmSignUp of a confirmed user" \
    admin-confirm-sign-up --user-pool-id "$pool" --username alice
idp admin-disable-user --user-pool-id "$pool" --username alice
idp admin-get-user --user-pool-id "$pool" --username alice
check "AdminDisableUser" 'o["Enabled"] is False'
idp admin-enable-user --user-pool-id "$pool" --username alice
idp admin-user-global-sign-out --user-pool-id "$pool" --username alice
check "AdminUserGlobalSignOut" 'o == {}'
idp admin-reset-user-password --user-pool-id "$pool" --username alice
idp admin-get-user --user-pool-id "$pool" --username alice
check "AdminResetUserPassword" 'o["UserStatus"] == "RESET_REQUIRED"'
check "AdminEnableUser" 'o["Enabled"] is True'
idp admin-create-user --user-pool-id "$pool" --username temp --message-action SUPPRESS
idp admin-delete-user --user-pool-id "$pool" --username temp
refused UserNotFoundException "AdminDeleteUser" admin-get-user --user-pool-id "$pool" --username temp

# Groups.
idp create-group --user-pool-id "$pool" --group-name admins --precedence 1
check "CreateGroup" 'o["Group"]["GroupName"] == "admins"'
idp get-group --user-pool-id "$pool" --group-name admins
check "GetGroup" 'o["Group"]["Precedence"] == 1'
idp update-group --user-pool-id "$pool" --group-name admins --description Admins
check "UpdateGroup" 'o["Group"]["Description"] == "Admins" and o["Group"]["Precedence"] == 1'
idp list-groups --user-pool-id "$pool"
check "ListGroups" '[g["GroupName"] for g in o["Groups"]] == ["admins"]'
idp admin-add-user-to-group --user-pool-id "$pool" --group-name admins --username alice
idp admin-list-groups-for-user --user-pool-id "$pool" --username alice
check "AdminAddUserToGroup, AdminListGroupsForUser" '[g["GroupName"] for g in o["Groups"]] == ["admins"]'
idp list-users-in-group --user-pool-id "$pool" --group-name admins
check "ListUsersInGroup" '[u["Username"] for u in o["Users"]] == ["alice"]'
idp admin-remove-user-from-group --user-pool-id "$pool" --group-name admins --username alice
idp list-users-in-group --user-pool-id "$pool" --group-name admins
check "AdminRemoveUserFromGroup" 'o["Users"] == []'
idp delete-group --user-pool-id "$pool" --group-name admins
refused ResourceNotFoundException "DeleteGroup" get-group --user-pool-id "$pool" --group-name admins

# Identity providers.
idp create-identity-provider --user-pool-id "$pool" --provider-name Corp --provider-type OIDC \
    --provider-details client_id=corp,client_secret=corp-s3cret,authorize_scopes=openid,oidc_issuer=https://idp.example.test \
    --attribute-mapping email=email --idp-identifiers corp.test
check "CreateIdentityProvider" 'o["IdentityProvider"]["ProviderName"] == "Corp"'
idp describe-identity-provider --user-pool-id "$pool" --provider-name Corp
check "DescribeIdentityProvider" 'o["IdentityProvider"]["ProviderDetails"]["client_secret"] == "corp-s3cret"'
idp update-identity-provider --user-pool-id "$pool" --provider-name Corp --attribute-mapping email=email,name=name
check "UpdateIdentityProvider" 'o["IdentityProvider"]["AttributeMapping"] == {"email": "email", "name": "name"}'
idp list-identity-providers --user-pool-id "$pool"
check "ListIdentityProviders" '[p["ProviderName"] for p in o["Providers"]] == ["Corp"]'
idp get-identity-provider-by-identifier --user-pool-id "$pool" --idp-identifier CORP.test
check "GetIdentityProviderByIdentifier" 'o["IdentityProvider"]["ProviderName"] == "Corp"'
corp_user=ProviderName=Corp,ProviderAttributeName=Cognito_Subject,ProviderAttributeValue=corp-sub-1
idp admin-link-provider-for-user --user-pool-id "$pool" \
    --destination-user ProviderName=Cognito,ProviderAttributeValue=alice --source-user "$corp_user"
idp admin-get-user --user-pool-id "$pool" --username alice
check "AdminLinkProviderForUser" '"corp-sub-1" in {a["Name"]: a["Value"] for a in o["UserAttributes"]}.get("identities", "")'
idp admin-disable-provider-for-user --user-pool-id "$pool" --user "$corp_user"
check "AdminDisableProviderForUser" 'o == {}'
idp delete-identity-provider --user-pool-id "$pool" --provider-name Corp
refused ResourceNotFoundException "DeleteIdentityProvider" \
    describe-identity-provider --user-pool-id "$pool" --provider-name Corp

# Resource servers.
api=https://api.example.test
idp create-resource-server --user-pool-id "$pool" --identifier "$api" --name api \
    --scopes ScopeName=read,ScopeDescription=Read
check "CreateResourceServer" 'o["ResourceServer"]["Scopes"] == [{"ScopeName": "read", "ScopeDescription": "Read"}]'
idp describe-resource-server --user-pool-id "$pool" --identifier "$api"
check "DescribeResourceServer" 'o["ResourceServer"]["Name"] == "api"'
idp update-resource-server --user-pool-id "$pool" --identifier "$api" --name api2 \
    --scopes ScopeName=write,ScopeDescription=Write
check "UpdateResourceServer" 'o["ResourceServer"]["Name"] == "api2"'
idp list-resource-servers --user-pool-id "$pool" --max-results 10
check "ListResourceServers" "[r['Identifier'] for r in o['ResourceServers']] == ['$api']"
idp delete-resource-server --user-pool-id "$pool" --identifier "$api"
refused ResourceNotFoundException "DeleteResourceServer" \
    describe-resource-server --user-pool-id "$pool" --identifier "$api"

# MFA configuration and tags.
idp set-user-pool-mfa-config --user-pool-id "$pool" --mfa-configuration OPTIONAL \
    --software-token-mfa-configuration Enabled=true
check "SetUserPoolMfaConfig" 'o["MfaConfiguration"] == "OPTIONAL" and o["SoftwareTokenMfaConfiguration"]["Enabled"] is True'
idp get-user-pool-mfa-config --user-pool-id "$pool"
check "GetUserPoolMfaConfig" 'o["MfaConfiguration"] == "OPTIONAL"'
idp admin-set-user-mfa-preference --user-pool-id "$pool" --username alice \
    --software-token-mfa-settings Enabled=false,PreferredMfa=false
check "AdminSetUserMFAPreference" 'o == {}'
idp tag-resource --resource-arn "$arn" --tags env=prod,owner=me
idp untag-resource --resource-arn "$arn" --tag-keys owner
idp list-tags-for-resource --resource-arn "$arn"
check "TagResource, UntagResource, ListTagsForResource" 'o["Tags"] == {"team": "identity", "env": "prod"}'

# The signature is checked (the server must not run with --accept-any-credentials): a wrong
# secret is refused.
AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY}x" refused InvalidSignatureException "a wrong secret" \
    list-user-pools --max-results 1

# Deleting the pool: refused under deletion protection, then done.
refused InvalidParameterException "deletion protection holds" delete-user-pool --user-pool-id "$pool"
[[ $out == *"deletion protection"* ]] || { echo "FAILED: the refusal names deletion protection: $out"; exit 1; }
idp update-user-pool --user-pool-id "$pool"
idp delete-user-pool --user-pool-id "$pool"
refused ResourceNotFoundException "DeleteUserPool" describe-user-pool --user-pool-id "$pool"

echo "$passed passed, 0 failed"
