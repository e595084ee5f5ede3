"""ListUsers (Cognito's filter grammar, AttributesToGet, paging) and the Admin attribute
updates through userpool's Cognito API, driven by boto3 as an application would drive Cognito.

Usage: users_list.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY POOL_ID

POOL_ID is a seeded pool with case-insensitive usernames, a custom attribute `team`, and the
ten users albert, alice, bob, carol, dave, erin, frank, grace, heidi and ivan, each with an
email, given_name, family_name and name ("Given Family"); alice's email is Alice@Example.test
(verified), bob's and erin's are @other.test and they have phone numbers, carol has a
temporary password (FORCE_CHANGE_PASSWORD) and the family name O"Hara, dave is disabled, erin's
preferred_username is erin_p. Every raw response is also checked against the output shape of
the service model (common.py). Prints one line per check and "N passed, 0 failed" at the end;
exits non-zero on the first failure.
"""

import sys

from common import check, client, error_of, summary

ENDPOINT, KEY, SECRET, POOL = sys.argv[1:5]
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)
NO_POOL = "us-east-1_Nope12345"
EVERYONE = ["albert", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]


def attributes(user):
    return {a["Name"]: a["Value"] for a in user["Attributes"]}


def found(filter_text, **kwargs):
    """The usernames ListUsers finds with `filter_text` (every page)."""
    users, token = [], None
    while True:
        page = cognito.list_users(
            UserPoolId=POOL, Filter=filter_text, **kwargs, **({"PaginationToken": token} if token else {})
        )
        users += [u["Username"] for u in page["Users"]]
        token = page.get("PaginationToken")
        if not token:
            return users


def user(name):
    """The user as ListUsers shows it."""
    users = cognito.list_users(UserPoolId=POOL, Filter=f'username = "{name}"')["Users"]
    check(len(users) == 1, f"{name} is found by username")
    return users[0]


# Everyone, in username order.
listed = cognito.list_users(UserPoolId=POOL)
check([u["Username"] for u in listed["Users"]] == EVERYONE, "ListUsers lists every user by username")
check("PaginationToken" not in listed, "one page holds them all")
alice = next(u for u in listed["Users"] if u["Username"] == "alice")
check(
    alice["Enabled"] is True and alice["UserStatus"] == "CONFIRMED"
    and alice["Attributes"][0]["Name"] == "sub" and attributes(alice)["email"] == "Alice@Example.test",
    "a listed user is a UserType with sub first",
)
statuses = {u["Username"]: (u["UserStatus"], u["Enabled"]) for u in listed["Users"]}
check(statuses["carol"] == ("FORCE_CHANGE_PASSWORD", True) and statuses["dave"] == ("CONFIRMED", False),
      f"statuses and enabled flags: {statuses}")

# Each filter form.
check(found('username = "alice"') == ["alice"], "username =")
check(found('username = "ALICE"') == ["alice"], "username = in a case-insensitive pool ignores case")
check(found('username ^= "al"') == ["albert", "alice"], "username ^=")
check(found('email = "alice@example.test"') == ["alice"], "email = ignores case")
check(found('email ^= "A"') == ["albert", "alice"], "email ^= ignores case")
check(found('email ^= "bob@other"') == ["bob"], "email ^= a longer prefix")
check(found('phone_number = "+15550100002"') == ["erin"], "phone_number =")
check(found('phone_number ^= "+1555"') == ["bob", "erin"], "phone_number ^=")
check(found('name = "Alice Smith"') == ["alice"], "name =")
check(found('name ^= "G"') == ["grace"], "name ^=")
check(found('given_name = "Heidi"') == ["heidi"], "given_name =")
check(found('given_name ^= "A"') == ["albert", "alice"], "given_name ^=")
check(found('family_name = "Jones"') == ["bob", "dave"], "family_name =")
check(found('family_name ^= "Smith"') == ["albert", "alice"], "family_name ^=")
check(found('family_name = "smith"') == [], "family_name is compared exactly")
check(found('family_name = "O\\"Hara"') == ["carol"], "a quote escaped in the value")
check(found('preferred_username = "erin_p"') == ["erin"], "preferred_username =")
check(found('preferred_username ^= "erin"') == ["erin"], "preferred_username ^=")
check(found('cognito:user_status = "FORCE_CHANGE_PASSWORD"') == ["carol"], "cognito:user_status =")
check(found('cognito:user_status = "force_change_password"') == ["carol"], "cognito:user_status ignores case")
check(found('cognito:user_status ^= "CONF"') == [n for n in EVERYONE if n != "carol"], "cognito:user_status ^=")
check(found('status = "Disabled"') == ["dave"], "status = Disabled")
check(found('status = "Enabled"') == [n for n in EVERYONE if n != "dave"], "status = Enabled")
check(found('sub = "' + attributes(alice)["sub"] + '"') == ["alice"], "sub =")
check(found('"email" = "bob@other.test"') == ["bob"], "a quoted attribute name")
check(found('email="bob@other.test"') == ["bob"], "no spaces around the operator")
check(found('email = "nobody@example.test"') == [], "a filter that finds nobody")
check(found("") == EVERYONE, "an empty filter is no filter")

# AttributesToGet.
only = cognito.list_users(UserPoolId=POOL, Filter='username ^= "al"', AttributesToGet=["email", "given_name"])["Users"]
check(
    [sorted(attributes(u)) for u in only] == [["email", "given_name"], ["email", "given_name"]],
    f"AttributesToGet keeps only those attributes: {only}",
)
check(
    cognito.list_users(UserPoolId=POOL, Filter='username = "bob"', AttributesToGet=["phone_number"])["Users"][0]["Attributes"]
    == [{"Name": "phone_number", "Value": "+15550100001"}],
    "AttributesToGet with one attribute",
)

# Paging.
pages, token = [], None
while True:
    page = cognito.list_users(UserPoolId=POOL, Limit=3, **({"PaginationToken": token} if token else {}))
    pages.append([u["Username"] for u in page["Users"]])
    token = page.get("PaginationToken")
    if not token:
        break
check([len(p) for p in pages] == [3, 3, 3, 1] and sum(pages, []) == EVERYONE, f"Limit 3 pages through everyone: {pages}")
check(found('family_name ^= "Smith"', Limit=1) == ["albert", "alice"], "a filtered listing pages too")
page = cognito.list_users(UserPoolId=POOL, Limit=10)
check(len(page["Users"]) == 10 and "PaginationToken" not in page, "no token when the page holds the rest")
code, message = error_of(lambda: cognito.list_users(UserPoolId=POOL, PaginationToken="not-a-token"))
check(code == "InvalidParameterException", f"a forged PaginationToken: {message}")
code, message = error_of(lambda: unchecked.list_users(UserPoolId=POOL, Limit=61))
check(code == "InvalidParameterException" and "limit" in message, f"a Limit over 60: {message}")

# Bad filters.
code, message = error_of(lambda: cognito.list_users(UserPoolId=POOL, Filter='custom:team = "x"'))
check(code == "InvalidParameterException" and message == "Invalid search attribute: custom:team", f"a custom attribute: {message}")
code, message = error_of(lambda: cognito.list_users(UserPoolId=POOL, Filter='locale = "x"'))
check(code == "InvalidParameterException" and message == "Invalid search attribute: locale", f"an unsearchable attribute: {message}")
for bad in ['email = alice', 'email == "x"', 'email ~= "x"', 'email = "x', 'email = "x" and name = "y"']:
    code, message = error_of(lambda: cognito.list_users(UserPoolId=POOL, Filter=bad))
    check(code == "InvalidParameterException" and message == "Error while parsing filter.", f"{bad!r}: {message}")
code, _ = error_of(lambda: cognito.list_users(UserPoolId=NO_POOL))
check(code == "ResourceNotFoundException", "ListUsers of an unknown pool")

# Attribute updates, seen by ListUsers and AdminGetUser.
def got(name):
    return attributes({"Attributes": cognito.admin_get_user(UserPoolId=POOL, Username=name)["UserAttributes"]})


cognito.admin_update_user_attributes(
    UserPoolId=POOL, Username="ALICE",
    UserAttributes=[{"Name": "given_name", "Value": "Alicia"}, {"Name": "custom:team", "Value": "red"}],
)
check(found('given_name = "Alicia"') == ["alice"] and found('given_name = "Alice"') == [], "an updated given_name is searched")
check(attributes(user("alice"))["custom:team"] == "red", "a custom attribute is set")
check(got("alice")["given_name"] == "Alicia" and got("alice")["email_verified"] == "true", "AdminGetUser shows the update")
cognito.admin_update_user_attributes(
    UserPoolId=POOL, Username="bob", UserAttributes=[{"Name": "email", "Value": "Robert@Other.test"}]
)
check(found('email = "robert@other.test"') == ["bob"] and found('email = "bob@other.test"') == [], "an updated email is searched")
check(got("bob")["email"] == "Robert@Other.test" and got("bob")["email_verified"] == "false",
      "a changed email is unverified")
cognito.admin_update_user_attributes(
    UserPoolId=POOL, Username="bob",
    UserAttributes=[{"Name": "email", "Value": "rob@other.test"}, {"Name": "email_verified", "Value": "true"}],
)
check(got("bob")["email"] == "rob@other.test" and got("bob")["email_verified"] == "true",
      "email_verified given with the email is kept")
cognito.admin_update_user_attributes(
    UserPoolId=POOL, Username="frank", UserAttributes=[{"Name": "family_name", "Value": "Smithson"}]
)
check(found('family_name ^= "Smith"') == ["albert", "alice", "frank"], "an updated family_name is found by prefix")
code, message = error_of(lambda: cognito.admin_update_user_attributes(
    UserPoolId=POOL, Username="alice", UserAttributes=[{"Name": "sub", "Value": "x"}]))
check(code == "InvalidParameterException" and message == "user.sub: Attribute cannot be updated.", f"sub cannot change: {message}")
for unknown in ["team", "custom:nope", "shoe_size"]:
    code, message = error_of(lambda: cognito.admin_update_user_attributes(
        UserPoolId=POOL, Username="alice", UserAttributes=[{"Name": unknown, "Value": "x"}]))
    check(code == "InvalidParameterException" and message == "Attribute does not exist in the schema.",
          f"{unknown} is refused: {message}")
check(attributes(user("alice"))["custom:team"] == "red", "a refused update changes nothing")
code, message = error_of(lambda: cognito.admin_update_user_attributes(
    UserPoolId=POOL, Username="nobody", UserAttributes=[{"Name": "name", "Value": "x"}]))
check(code == "UserNotFoundException" and message == "User does not exist.", f"an unknown user: {message}")
code, _ = error_of(lambda: cognito.admin_update_user_attributes(
    UserPoolId=NO_POOL, Username="alice", UserAttributes=[{"Name": "name", "Value": "x"}]))
check(code == "ResourceNotFoundException", "AdminUpdateUserAttributes in an unknown pool")

cognito.admin_delete_user_attributes(UserPoolId=POOL, Username="alice", UserAttributeNames=["custom:team", "given_name"])
left = got("alice")
check("custom:team" not in left and "given_name" not in left and left["family_name"] == "Smith", "AdminDeleteUserAttributes")
check(found('given_name ^= "Ali"') == [], "a deleted given_name is no longer searched")
cognito.admin_delete_user_attributes(UserPoolId=POOL, Username="alice", UserAttributeNames=["given_name"])
check(True, "deleting an attribute the user does not have is no error")
code, message = error_of(lambda: cognito.admin_delete_user_attributes(
    UserPoolId=POOL, Username="alice", UserAttributeNames=["sub"]))
check(code == "InvalidParameterException" and message == "user.sub: Attribute cannot be updated.", f"sub cannot go: {message}")
code, message = error_of(lambda: cognito.admin_delete_user_attributes(
    UserPoolId=POOL, Username="nobody", UserAttributeNames=["name"]))
check(code == "UserNotFoundException" and message == "User does not exist.", f"an unknown user: {message}")

# An update never gives a user what another user signs in with.
by_email = cognito.create_user_pool(PoolName="aliases-by-email", UsernameAttributes=["email"])["UserPool"]["Id"]
for address in ["ann@alias.test", "ben@alias.test"]:
    cognito.admin_create_user(UserPoolId=by_email, Username=address, MessageAction="SUPPRESS")
code, message = error_of(lambda: cognito.admin_update_user_attributes(
    UserPoolId=by_email, Username="ben@alias.test", UserAttributes=[{"Name": "email", "Value": "ann@alias.test"}]))
check(code == "AliasExistsException" and message == "An account with the given email already exists.",
      f"a pool signing in by email keeps emails unique: {code} {message}")
cognito.admin_update_user_attributes(
    UserPoolId=by_email, Username="ben@alias.test", UserAttributes=[{"Name": "email", "Value": "benjamin@alias.test"}])
check(cognito.admin_get_user(UserPoolId=by_email, Username="benjamin@alias.test")["Username"], "a free email is taken")

aliased = cognito.create_user_pool(PoolName="aliases", AliasAttributes=["email"])["UserPool"]["Id"]
for name, verified in [("carl", "true"), ("dora", "false")]:
    cognito.admin_create_user(UserPoolId=aliased, Username=name, MessageAction="SUPPRESS", UserAttributes=[
        {"Name": "email", "Value": f"{name}@alias.test"}, {"Name": "email_verified", "Value": verified}])
cognito.admin_update_user_attributes(
    UserPoolId=aliased, Username="dora", UserAttributes=[{"Name": "email", "Value": "carl@alias.test"}])
check(True, "an unverified email may repeat another user's alias")
code, message = error_of(lambda: cognito.admin_update_user_attributes(
    UserPoolId=aliased, Username="dora", UserAttributes=[{"Name": "email_verified", "Value": "true"}]))
check(code == "AliasExistsException", f"verifying it would take carl's alias: {code} {message}")
code, message = error_of(lambda: cognito.admin_update_user_attributes(
    UserPoolId=aliased, Username="dora",
    UserAttributes=[{"Name": "email", "Value": "carl@alias.test"}, {"Name": "email_verified", "Value": "true"}]))
check(code == "AliasExistsException", f"so would setting it verified: {code} {message}")
cognito.admin_update_user_attributes(
    UserPoolId=aliased, Username="dora",
    UserAttributes=[{"Name": "email", "Value": "dora@alias.test"}, {"Name": "email_verified", "Value": "true"}])
check(True, "a free verified alias is taken")
cognito.admin_create_user(UserPoolId=aliased, Username="eve", MessageAction="SUPPRESS", UserAttributes=[
    {"Name": "email", "Value": "eve@alias.test"}, {"Name": "email_verified", "Value": "true"}])
cognito.admin_update_user_attributes(
    UserPoolId=aliased, Username="eve", UserAttributes=[{"Name": "email", "Value": "carl@alias.test"}])
check(True, "a verified user may take another's address unverified (the change unverifies it)")

summary()
