"""Groups and memberships through userpool's Cognito API, driven by boto3 as an application
would drive Cognito.

Usage: groups.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY POOL_ID

POOL_ID is a seeded pool with case-insensitive usernames, email as an alias, the users Alice
(in the seeded group "seeded"), bob (verified email bob@example.test) and carol, and no other
groups. Every raw response is also checked against the output shape of the service model
(common.py). Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on
the first failure.
"""

import datetime
import time
import sys

from common import check, client, error_of, summary

ENDPOINT, KEY, SECRET, POOL = sys.argv[1:5]
cognito = client(ENDPOINT, KEY, SECRET)
unchecked = client(ENDPOINT, KEY, SECRET, validate=False)
NO_POOL = "us-east-1_Nope12345"


def names(groups):
    return [g["GroupName"] for g in groups]


def every_page(call, key, **kwargs):
    """All items of a paged listing, one `Limit`-sized page at a time, and the pages' sizes."""
    items, sizes, token = [], [], None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        items += page[key]
        sizes.append(len(page[key]))
        token = page.get("NextToken")
        if not token:
            return items, sizes


# Groups.
check(names(cognito.list_groups(UserPoolId=POOL)["Groups"]) == ["seeded"], "ListGroups lists the seeded group")
role = "arn:aws:iam::000000000000:role/admins"
made = cognito.create_group(
    UserPoolId=POOL, GroupName="admins", Description="Admins", Precedence=1, RoleArn=role
)["Group"]
check(
    made["GroupName"] == "admins" and made["UserPoolId"] == POOL and made["Description"] == "Admins"
    and made["Precedence"] == 1 and made["RoleArn"] == role,
    "CreateGroup returns the group",
)
check(isinstance(made["CreationDate"], datetime.datetime) and "LastModifiedDate" in made, "the group has its dates")
code, message = error_of(lambda: cognito.create_group(UserPoolId=POOL, GroupName="admins"))
check(code == "GroupExistsException" and message == "A group with the name already exists.", f"a duplicate group: {message}")
code, _ = error_of(lambda: cognito.create_group(UserPoolId=NO_POOL, GroupName="x"))
check(code == "ResourceNotFoundException", "CreateGroup in an unknown pool")
code, message = error_of(lambda: unchecked.create_group(UserPoolId=POOL, GroupName=""))
check(code == "InvalidParameterException" and "groupName" in message, f"an empty group name: {message}")
got = cognito.get_group(UserPoolId=POOL, GroupName="admins")["Group"]
check(got["Description"] == "Admins" and got["Precedence"] == 1, "GetGroup")
code, message = error_of(lambda: cognito.get_group(UserPoolId=POOL, GroupName="nobody"))
check(code == "ResourceNotFoundException" and message == "Group not found.", f"GetGroup of an unknown group: {message}")

before = cognito.get_group(UserPoolId=POOL, GroupName="admins")["Group"]
time.sleep(1.1)
updated = cognito.update_group(UserPoolId=POOL, GroupName="admins", Description="Operators")["Group"]
check(updated["LastModifiedDate"] > before["LastModifiedDate"] and updated["CreationDate"] == before["CreationDate"],
      "UpdateGroup moves LastModifiedDate")
check(
    updated["Description"] == "Operators" and updated["Precedence"] == 1 and updated["RoleArn"] == role,
    "UpdateGroup changes only the members given",
)
updated = cognito.update_group(UserPoolId=POOL, GroupName="admins", Precedence=5)["Group"]
check(updated["Description"] == "Operators" and updated["Precedence"] == 5, "UpdateGroup of the precedence alone")
check(cognito.get_group(UserPoolId=POOL, GroupName="admins")["Group"]["Precedence"] == 5, "the update is stored")
code, _ = error_of(lambda: cognito.update_group(UserPoolId=POOL, GroupName="nobody", Description="x"))
check(code == "ResourceNotFoundException", "UpdateGroup of an unknown group")

for n in ["g1", "g2", "g3"]:
    cognito.create_group(UserPoolId=POOL, GroupName=n)
everything = names(cognito.list_groups(UserPoolId=POOL)["Groups"])
check(sorted(everything) == ["admins", "g1", "g2", "g3", "seeded"], f"ListGroups lists them all: {everything}")
paged, sizes = every_page(cognito.list_groups, "Groups", UserPoolId=POOL, Limit=2)
check(names(paged) == everything and sizes == [2, 2, 1], f"ListGroups pages by Limit: {sizes}")
code, message = error_of(lambda: unchecked.list_groups(UserPoolId=POOL, Limit=61))
check(code == "InvalidParameterException", f"a Limit over 60: {message}")
code, _ = error_of(lambda: cognito.list_groups(UserPoolId=NO_POOL))
check(code == "ResourceNotFoundException", "ListGroups of an unknown pool")

# Memberships.
cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="admins", Username="ALICE")
cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="admins", Username="alice")
check(True, "AdminAddUserToGroup takes the username in any case, and twice")
cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="admins", Username="bob@example.test")
check(True, "AdminAddUserToGroup takes a verified email alias")
cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="g1", Username="alice")
code, message = error_of(lambda: cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="admins", Username="nobody"))
check(code == "UserNotFoundException" and message == "User does not exist.", f"an unknown user: {message}")
code, message = error_of(lambda: cognito.admin_add_user_to_group(UserPoolId=POOL, GroupName="nobody", Username="alice"))
check(code == "ResourceNotFoundException" and message == "Group not found.", f"an unknown group: {message}")
code, _ = error_of(lambda: cognito.admin_add_user_to_group(UserPoolId=NO_POOL, GroupName="admins", Username="alice"))
check(code == "ResourceNotFoundException", "AdminAddUserToGroup in an unknown pool")

mine = names(cognito.admin_list_groups_for_user(UserPoolId=POOL, Username="Alice")["Groups"])
check(mine == ["admins", "g1", "seeded"], f"AdminListGroupsForUser: {mine}")
paged, sizes = every_page(cognito.admin_list_groups_for_user, "Groups", UserPoolId=POOL, Username="alice", Limit=2)
check(names(paged) == mine and sizes == [2, 1], "AdminListGroupsForUser pages")
check(cognito.admin_list_groups_for_user(UserPoolId=POOL, Username="carol")["Groups"] == [], "carol is in no group")
code, _ = error_of(lambda: cognito.admin_list_groups_for_user(UserPoolId=POOL, Username="nobody"))
check(code == "UserNotFoundException", "AdminListGroupsForUser of an unknown user")

members = cognito.list_users_in_group(UserPoolId=POOL, GroupName="admins")["Users"]
check([u["Username"] for u in members] == ["alice", "bob"], "ListUsersInGroup lists the members by username")
bob = members[1]
attributes = {a["Name"]: a["Value"] for a in bob["Attributes"]}
check(
    bob["Enabled"] is True and bob["UserStatus"] == "CONFIRMED" and attributes.get("email") == "bob@example.test"
    and len(attributes.get("sub", "")) > 0,
    "a member is a UserType with its attributes and sub",
)
check(isinstance(bob["UserCreateDate"], datetime.datetime) and "UserLastModifiedDate" in bob, "a member has its dates")
paged, sizes = every_page(cognito.list_users_in_group, "Users", UserPoolId=POOL, GroupName="admins", Limit=1)
check([u["Username"] for u in paged] == ["alice", "bob"] and sizes == [1, 1], f"ListUsersInGroup pages: {sizes}")
code, _ = error_of(lambda: cognito.list_users_in_group(UserPoolId=POOL, GroupName="admins", NextToken="not-a-token"))
check(code == "InvalidParameterException", "a forged NextToken is refused")
code, message = error_of(lambda: cognito.list_users_in_group(UserPoolId=POOL, GroupName="nobody"))
check(code == "ResourceNotFoundException" and message == "Group not found.", "ListUsersInGroup of an unknown group")

cognito.admin_remove_user_from_group(UserPoolId=POOL, GroupName="admins", Username="Alice")
members = cognito.list_users_in_group(UserPoolId=POOL, GroupName="admins")["Users"]
check([u["Username"] for u in members] == ["bob"], "AdminRemoveUserFromGroup")
cognito.admin_remove_user_from_group(UserPoolId=POOL, GroupName="admins", Username="alice")
check(True, "removing a user who is not a member is no error")
code, _ = error_of(lambda: cognito.admin_remove_user_from_group(UserPoolId=POOL, GroupName="admins", Username="nobody"))
check(code == "UserNotFoundException", "AdminRemoveUserFromGroup of an unknown user")
code, _ = error_of(lambda: cognito.admin_remove_user_from_group(UserPoolId=POOL, GroupName="nobody", Username="bob"))
check(code == "ResourceNotFoundException", "AdminRemoveUserFromGroup of an unknown group")

cognito.delete_group(UserPoolId=POOL, GroupName="admins")
code, _ = error_of(lambda: cognito.get_group(UserPoolId=POOL, GroupName="admins"))
check(code == "ResourceNotFoundException", "DeleteGroup")
check(cognito.admin_list_groups_for_user(UserPoolId=POOL, Username="bob")["Groups"] == [], "its memberships went with it")
code, message = error_of(lambda: cognito.delete_group(UserPoolId=POOL, GroupName="admins"))
check(code == "ResourceNotFoundException" and message == "Group not found.", "DeleteGroup of an unknown group")
again = cognito.create_group(UserPoolId=POOL, GroupName="admins")["Group"]
check("Description" not in again and cognito.list_users_in_group(UserPoolId=POOL, GroupName="admins")["Users"] == [],
      "a group made again under the name starts empty")

summary()
