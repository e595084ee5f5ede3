"""A pool's outside identity providers through userpool's Cognito API, driven by boto3.

Usage: identity_providers.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY POOL_ID ISSUER

On a pool of its own: CreateIdentityProvider with the seed's rules and Cognito's errors,
DescribeIdentityProvider (the client secret shown open), UpdateIdentityProvider (only what is
given changes; ProviderDetails merged), ListIdentityProviders with paging,
GetIdentityProviderByIdentifier, DeleteIdentityProvider (refused while a client lists the
provider). Then on POOL_ID (a pool with a domain): an OIDC provider "Fake" for the OpenID
provider at ISSUER and an app client "fed" that lists it, whose ID is printed as
"FED_CLIENT=<id>" for the federated sign-in the caller drives.

Every raw response is also checked against the output shape of the service model (common.py).
Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
"""

import base64
import json
import sys

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from common import check, client as new_client, error_of, summary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "saml"))
from testkeys import self_signed  # noqa: E402

ENDPOINT, KEY, SECRET, SEEDED_POOL, ISSUER = sys.argv[1:6]

cognito = new_client(ENDPOINT, KEY, SECRET)
unchecked = new_client(ENDPOINT, KEY, SECRET, validate=False)

pool = cognito.create_user_pool(PoolName="idp-test")["UserPool"]["Id"]

corp_details = {
    "client_id": "corp-client",
    "client_secret": "corp-s3cret",
    "authorize_scopes": "openid email",
    "oidc_issuer": ISSUER,
}
created = cognito.create_identity_provider(
    UserPoolId=pool,
    ProviderName="Corp",
    ProviderType="OIDC",
    ProviderDetails=corp_details,
    AttributeMapping={"email": "email", "name": "name"},
    IdpIdentifiers=["corp.test", "Corp.Example"],
)["IdentityProvider"]
check(created["ProviderName"] == "Corp" and created["ProviderType"] == "OIDC", "CreateIdentityProvider made Corp")
check(created["UserPoolId"] == pool, "the provider names its pool")
check(created["ProviderDetails"] == corp_details, "the details are answered as given")
check(created["IdpIdentifiers"] == ["corp.test", "Corp.Example"], "the identifiers are kept")
check("CreationDate" in created and "LastModifiedDate" in created, "the provider has its dates")

described = cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Corp")["IdentityProvider"]
check(described["ProviderDetails"]["client_secret"] == "corp-s3cret", "Describe shows the client secret open, as Cognito does")
check(described["AttributeMapping"] == {"email": "email", "name": "name"}, "the attribute mapping is kept")

code, message = error_of(lambda: cognito.create_identity_provider(
    UserPoolId=pool, ProviderName="Corp", ProviderType="OIDC", ProviderDetails=corp_details))
check(code == "DuplicateProviderException"
      and message == "A provider with the name Corp already exists in this user pool.", f"a second Corp is refused: {message}")


def refused(what, **request):
    code, message = error_of(lambda: unchecked.create_identity_provider(UserPoolId=pool, **request))
    check(code == "InvalidParameterException", f"{what} is refused: {code} {message}")
    return message


refused("a Google provider not named Google", ProviderName="MyGoogle", ProviderType="Google",
        ProviderDetails={"client_id": "g", "client_secret": "s", "authorize_scopes": "email"})
refused("an OIDC provider without the openid scope", ProviderName="NoOpenid", ProviderType="OIDC",
        ProviderDetails={**corp_details, "authorize_scopes": "email"})
refused("an OIDC provider without an issuer", ProviderName="NoIssuer", ProviderType="OIDC",
        ProviderDetails={k: v for k, v in corp_details.items() if k != "oidc_issuer"})
refused("an OIDC provider without its client secret", ProviderName="NoSecret", ProviderType="OIDC",
        ProviderDetails={k: v for k, v in corp_details.items() if k != "client_secret"})
refused("the reserved name COGNITO", ProviderName="COGNITO", ProviderType="OIDC", ProviderDetails=corp_details)
refused("a SAML provider with no metadata", ProviderName="Saml0", ProviderType="SAML", ProviderDetails={})
refused("a SAML provider with plain-http metadata", ProviderName="Saml0", ProviderType="SAML",
        ProviderDetails={"MetadataURL": "http://idp.example.test/metadata"})
message = refused("an identifier another provider has (without case)", ProviderName="Other", ProviderType="OIDC",
                  ProviderDetails=corp_details, IdpIdentifiers=["CORP.TEST"])
check("CORP.TEST" in message, f"the error names the identifier: {message}")
code, _ = error_of(lambda: cognito.create_identity_provider(
    UserPoolId="us-east-1_nothere", ProviderName="Corp2", ProviderType="OIDC", ProviderDetails=corp_details))
check(code == "ResourceNotFoundException", "an unknown pool is ResourceNotFoundException")
check(error_of(lambda: cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Nobody"))[0]
      == "ResourceNotFoundException", "an unknown provider is ResourceNotFoundException")

cognito.create_identity_provider(
    UserPoolId=pool, ProviderName="Google", ProviderType="Google",
    ProviderDetails={"client_id": "g-id", "client_secret": "g-secret", "authorize_scopes": "openid email"},
    AttributeMapping={"email": "email"},
)
saml = cognito.create_identity_provider(
    UserPoolId=pool, ProviderName="Saml1", ProviderType="SAML",
    ProviderDetails={"MetadataURL": "https://idp.example.test/metadata", "IDPSignout": "true"},
    IdpIdentifiers=["saml.test"],
)["IdentityProvider"]
check(saml["ProviderDetails"]["MetadataURL"] == "https://idp.example.test/metadata", "a SAML provider by metadata URL")

google = cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Google")["IdentityProvider"]["ProviderDetails"]
check(google.get("authorize_url") == "https://accounts.google.com/o/oauth2/v2/auth"
      and google.get("token_request_method") == "POST" and google.get("oidc_issuer") == "https://accounts.google.com",
      f"Describe adds a social provider's endpoints: {sorted(google)}")

# A SAML provider by metadata file: Describe derives its SSO and SLO locations and, with
# EncryptedResponses, the certificate it must encrypt to.
_, idp_cert = self_signed("idp.example.test")
der = base64.b64encode(idp_cert.public_bytes(serialization.Encoding.DER)).decode()
metadata = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/slo"/>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>"""
by_file = cognito.create_identity_provider(
    UserPoolId=pool, ProviderName="Saml2", ProviderType="SAML",
    ProviderDetails={"MetadataFile": metadata, "EncryptedResponses": "true"},
)["IdentityProvider"]["ProviderDetails"]
check(by_file.get("SSORedirectBindingURI") == "https://idp.example.test/sso"
      and by_file.get("SLORedirectBindingURI") == "https://idp.example.test/slo",
      "the SSO and SLO locations are read from the metadata")
active = by_file.get("ActiveEncryptionCertificate", "")
check(x509.load_der_x509_certificate(base64.b64decode(active)).public_key().key_size == 2048,
      "ActiveEncryptionCertificate is an RSA-2048 certificate of ours")
again = cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Saml2")["IdentityProvider"]["ProviderDetails"]
check(again["ActiveEncryptionCertificate"] == active, "the same certificate until it is renewed")
written_back = cognito.update_identity_provider(UserPoolId=pool, ProviderName="Saml2", ProviderDetails=again)
check(written_back["IdentityProvider"]["ProviderDetails"] == again, "details read and written back change nothing")
code, message = error_of(lambda: cognito.create_identity_provider(
    UserPoolId=pool, ProviderName="Saml3", ProviderType="SAML", ProviderDetails={"MetadataFile": "<not-metadata/>"}))
check(code == "InvalidParameterException", f"a metadata file that does not parse is refused: {message}")
cognito.delete_identity_provider(UserPoolId=pool, ProviderName="Saml2")

first = cognito.list_identity_providers(UserPoolId=pool, MaxResults=2)
check([p["ProviderName"] for p in first["Providers"]] == ["Corp", "Google"], "ListIdentityProviders pages in creation order")
check("NextToken" in first, "a first page says there is more")
check(set(first["Providers"][0]) == {"ProviderName", "ProviderType", "CreationDate", "LastModifiedDate"},
      "a listed provider is a ProviderDescription")
second = cognito.list_identity_providers(UserPoolId=pool, MaxResults=2, NextToken=first["NextToken"])
check([p["ProviderName"] for p in second["Providers"]] == ["Saml1"] and "NextToken" not in second, "the last page")
every = cognito.list_identity_providers(UserPoolId=pool)["Providers"]
check(len(every) == 3, "without MaxResults every provider is listed")
code, _ = error_of(lambda: cognito.list_identity_providers(UserPoolId=pool, NextToken="bogus"))
check(code == "InvalidParameterException", "a bad token is InvalidParameterException")

by_id = cognito.get_identity_provider_by_identifier(UserPoolId=pool, IdpIdentifier="CORP.example")["IdentityProvider"]
check(by_id["ProviderName"] == "Corp" and by_id["ProviderDetails"]["client_secret"] == "corp-s3cret",
      "GetIdentityProviderByIdentifier finds Corp, without case")
code, _ = error_of(lambda: cognito.get_identity_provider_by_identifier(UserPoolId=pool, IdpIdentifier="nobody.test"))
check(code == "ResourceNotFoundException", "an unknown identifier is ResourceNotFoundException")

updated = cognito.update_identity_provider(
    UserPoolId=pool, ProviderName="Corp",
    ProviderDetails={"authorize_scopes": "openid email profile"},
)["IdentityProvider"]
check(updated["ProviderDetails"] == {**corp_details, "authorize_scopes": "openid email profile"},
      "UpdateIdentityProvider merges the details given into the stored ones")
check(updated["AttributeMapping"] == {"email": "email", "name": "name"}
      and updated["IdpIdentifiers"] == ["corp.test", "Corp.Example"], "what was not given stays")
updated = cognito.update_identity_provider(
    UserPoolId=pool, ProviderName="Corp",
    ProviderDetails={"client_secret": "rotated"},
    AttributeMapping={"email": "mail"},
    IdpIdentifiers=["corp2.test"],
)["IdentityProvider"]
check(updated["AttributeMapping"] == {"email": "mail"} and updated["IdpIdentifiers"] == ["corp2.test"],
      "a mapping and identifiers given replace the old ones")
described = cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Corp")["IdentityProvider"]
check(described["ProviderDetails"]["client_secret"] == "rotated"
      and described["ProviderDetails"]["client_id"] == "corp-client", "the new secret is read back, open")
check(described["ProviderType"] == "OIDC", "the type stays")
code, _ = error_of(lambda: cognito.get_identity_provider_by_identifier(UserPoolId=pool, IdpIdentifier="corp.test"))
check(code == "ResourceNotFoundException", "an identifier taken away no longer finds the provider")
code, message = error_of(lambda: cognito.update_identity_provider(
    UserPoolId=pool, ProviderName="Corp", ProviderDetails={"authorize_scopes": "email"}))
check(code == "InvalidParameterException", f"an update breaking the rules is refused: {message}")
code, message = error_of(lambda: cognito.update_identity_provider(
    UserPoolId=pool, ProviderName="Google", IdpIdentifiers=["saml.test"]))
check(code == "InvalidParameterException", f"an update taking another provider's identifier is refused: {message}")
check(cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Corp")["IdentityProvider"]
      ["ProviderDetails"]["authorize_scopes"] == "openid email profile", "a refused update changes nothing")
code, _ = error_of(lambda: cognito.update_identity_provider(UserPoolId=pool, ProviderName="Nobody", IdpIdentifiers=[]))
check(code == "ResourceNotFoundException", "updating an unknown provider is ResourceNotFoundException")
saml = cognito.update_identity_provider(
    UserPoolId=pool, ProviderName="Saml1",
    ProviderDetails={"MetadataURL": "https://idp.example.test/v2/metadata"},
)["IdentityProvider"]
check(saml["ProviderDetails"] == {"MetadataURL": "https://idp.example.test/v2/metadata", "IDPSignout": "true"},
      "a SAML metadata URL is replaced, the other details kept")
check(saml["LastModifiedDate"] >= saml["CreationDate"], "the provider has its dates")
# A provider that starts sign-ins itself (IDPInit) stands beside SAML providers only.
beside = cognito.create_user_pool_client(
    UserPoolId=pool, ClientName="beside-cognito", SupportedIdentityProviders=["COGNITO", "Saml1"],
    AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"],
    CallbackURLs=["https://app.test/cb"],
)["UserPoolClient"]["ClientId"]
code, message = error_of(lambda: cognito.update_identity_provider(
    UserPoolId=pool, ProviderName="Saml1", ProviderDetails={"IDPInit": "true"}))
check(code == "InvalidParameterException" and beside in message,
      f"IDPInit is refused while a client lists the provider beside COGNITO: {message}")
cognito.delete_user_pool_client(UserPoolId=pool, ClientId=beside)
cognito.update_identity_provider(UserPoolId=pool, ProviderName="Saml1", ProviderDetails={"IDPInit": "true"})
code, message = error_of(lambda: cognito.create_user_pool_client(
    UserPoolId=pool, ClientName="bad", SupportedIdentityProviders=["COGNITO", "Saml1"],
    AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"],
    CallbackURLs=["https://app.test/cb"]))
check(code == "InvalidParameterException", f"then a client cannot list it beside COGNITO: {message}")
cognito.update_identity_provider(UserPoolId=pool, ProviderName="Saml1", ProviderDetails={"IDPInit": "false"})

app = cognito.create_user_pool_client(
    UserPoolId=pool, ClientName="uses-corp", SupportedIdentityProviders=["COGNITO", "Corp"],
    AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"],
    CallbackURLs=["https://app.test/cb"],
)["UserPoolClient"]["ClientId"]
code, message = error_of(lambda: cognito.delete_identity_provider(UserPoolId=pool, ProviderName="Corp"))
check(code == "InvalidParameterException" and app in message,
      f"a provider an app client lists is not deleted: {message}")
cognito.delete_user_pool_client(UserPoolId=pool, ClientId=app)
cognito.delete_identity_provider(UserPoolId=pool, ProviderName="Corp")
check(error_of(lambda: cognito.describe_identity_provider(UserPoolId=pool, ProviderName="Corp"))[0]
      == "ResourceNotFoundException", "DeleteIdentityProvider removed Corp")
check(error_of(lambda: cognito.delete_identity_provider(UserPoolId=pool, ProviderName="Corp"))[0]
      == "ResourceNotFoundException", "deleting it again is ResourceNotFoundException")
check([p["ProviderName"] for p in cognito.list_identity_providers(UserPoolId=pool)["Providers"]] == ["Google", "Saml1"],
      "the others stay")
cognito.create_identity_provider(UserPoolId=pool, ProviderName="Corp", ProviderType="OIDC", ProviderDetails=corp_details,
                                 IdpIdentifiers=["corp.test"])
check(cognito.get_identity_provider_by_identifier(UserPoolId=pool, IdpIdentifier="corp.test")["IdentityProvider"]
      ["ProviderName"] == "Corp", "a deleted name and its identifiers can be used again")
cognito.delete_user_pool(UserPoolId=pool)

# A local user whose name looks federated, made before the provider existed.
cognito.admin_create_user(UserPoolId=SEEDED_POOL, Username="Fake_early", MessageAction="SUPPRESS")

# The seeded pool: a provider for the OpenID provider at ISSUER, and a client that lists it.
cognito.create_identity_provider(
    UserPoolId=SEEDED_POOL, ProviderName="Fake", ProviderType="OIDC",
    ProviderDetails={"client_id": "userpool-rp", "client_secret": "fake-secret",
                     "authorize_scopes": "openid email", "oidc_issuer": ISSUER},
    AttributeMapping={"email": "email", "name": "name"},
    IdpIdentifiers=["fake.test"],
)
fed = cognito.create_user_pool_client(
    UserPoolId=SEEDED_POOL, ClientName="fed", SupportedIdentityProviders=["COGNITO", "Fake"],
    AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email"],
    CallbackURLs=["https://app.test/cb"],
)["UserPoolClient"]["ClientId"]
check(bool(fed), "a client listing Fake")

# Links: an identity of Fake signs in as alice (the Rust side signs in with it).
def link(subject, username="alice", provider="Fake", attribute="Cognito_Subject", destination="Cognito"):
    return cognito.admin_link_provider_for_user(
        UserPoolId=SEEDED_POOL,
        DestinationUser={"ProviderName": destination, "ProviderAttributeValue": username},
        SourceUser={"ProviderName": provider, "ProviderAttributeName": attribute, "ProviderAttributeValue": subject})


def identities_of(username):
    attrs = cognito.admin_get_user(UserPoolId=SEEDED_POOL, Username=username)["UserAttributes"]
    return json.loads(next((a["Value"] for a in attrs if a["Name"] == "identities"), "[]"))


link("linked-by-api")
linked = identities_of("alice")
check([(i["providerName"], i["userId"], i["primary"]) for i in linked] == [("Fake", "linked-by-api", "false")],
      f"AdminLinkProviderForUser lists the identity on the user: {linked}")
code, message = error_of(lambda: link("linked-by-api", username="bob"))
check(code == "InvalidParameterException", f"an identity linked already is refused: {message}")
code, message = error_of(lambda: link("x", provider="Nope"))
check(code == "InvalidParameterException", f"an unknown provider is refused: {message}")
code, message = error_of(lambda: link("x", attribute="email"))
check(code == "InvalidParameterException", f"a link on another attribute is refused: {message}")
code, message = error_of(lambda: link("x", destination="Fake"))
check(code == "InvalidParameterException", f"the destination must be a Cognito user: {message}")
code, _ = error_of(lambda: link("x", username="nobody"))
check(code == "UserNotFoundException", "an unknown destination user")
for n in range(4):
    link(f"extra-{n}")
code, message = error_of(lambda: link("one-too-many"))
check(code == "LimitExceededException", f"at most five identities per user: {message}")
for n in range(4):
    cognito.admin_disable_provider_for_user(
        UserPoolId=SEEDED_POOL,
        User={"ProviderName": "Fake", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": f"extra-{n}"})
check([i["userId"] for i in identities_of("alice")] == ["linked-by-api"],
      "AdminDisableProviderForUser ends the links and takes them off the user")
link("extra-0")
cognito.admin_disable_provider_for_user(
    UserPoolId=SEEDED_POOL, User={"ProviderName": "Fake", "ProviderAttributeValue": "extra-0"})
code, _ = error_of(lambda: cognito.admin_disable_provider_for_user(
    UserPoolId=SEEDED_POOL, User={"ProviderName": "Fake", "ProviderAttributeValue": "never-seen"}))
check(code == "UserNotFoundException", "an identity neither linked nor signed in is not found")
code, _ = error_of(lambda: cognito.admin_disable_provider_for_user(
    UserPoolId=SEEDED_POOL, User={"ProviderName": "Fake", "ProviderAttributeValue": "early"}))
check(code == "UserNotFoundException"
      and cognito.admin_get_user(UserPoolId=SEEDED_POOL, Username="Fake_early")["Enabled"],
      "a local account named like the identity's federated user is not disabled")
code, _ = error_of(lambda: cognito.admin_link_provider_for_user(
    UserPoolId="us-east-1_nothere",
    DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": "alice"},
    SourceUser={"ProviderName": "Fake", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": "y"}))
check(code == "ResourceNotFoundException", "an unknown pool")
print(f"FED_CLIENT={fed}")
summary()
