"""A passkey on soft-fido2's software authenticator (PyPI `soft-fido2`, a third-party FIDO2
authenticator), answering WebAuthn ceremonies in Cognito's JSON forms (unpadded base64url) as a
browser on `origin` would pass them on: what the API tests register and sign in with.
"""

import base64
import json

import soft_fido2


# base64url as Cognito writes it (no padding) from and to bytes; soft-fido2 pads its strings.
def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(text):
    return b64url(unb64url(text))


class Passkey:
    """One passkey on soft-fido2's software authenticator (a key pair of its own), answering the
    ceremonies as a browser on `origin` would pass them on."""

    def __init__(self, origin):
        self.device = soft_fido2.Fido2Authenticator(transports=["internal"])
        self.origin = origin
        self.id = None

    def register(self, options, origin=None, uv=True, rp_id=None, challenge=None):
        """The registration response (PublicKeyCredential.toJSON()) to CredentialCreationOptions."""
        request = dict(options, origin=origin or self.origin)
        if rp_id is not None:
            request["rp"] = dict(options["rp"], id=rp_id)
        if challenge is not None:
            request["challenge"] = challenge
        made = self.device.credential_create(request, atteStmtFmt="none", uv=uv)
        self.id = canonical(made["id"])
        return {"id": self.id, "rawId": canonical(made["rawId"]), "type": made["type"],
                "response": {"clientDataJSON": canonical(made["response"]["clientDataJSON"]),
                             "attestationObject": canonical(made["response"]["attestationObject"]),
                             "transports": made.get("getTransports", [])},
                "clientExtensionResults": made.get("getClientExtensionResults", {}),
                "authenticatorAttachment": "platform"}

    def assert_(self, options, origin=None, uv=True, rp_id=None):
        """The assertion (a JSON string, as CREDENTIAL takes it) to CREDENTIAL_REQUEST_OPTIONS."""
        request = {"challenge": options["challenge"], "rpId": rp_id or options["rpId"], "origin": origin or self.origin}
        made = self.device.credential_request(request, uv=uv)
        response = made["response"]
        return json.dumps({"id": canonical(made["id"]), "rawId": canonical(made["rawId"]), "type": made["type"],
                           "response": {"clientDataJSON": canonical(response["clientDataJSON"]),
                                        "authenticatorData": canonical(response["authenticatorData"]),
                                        "signature": canonical(response["signature"]),
                                        "userHandle": canonical(response["userHandle"])},
                           "clientExtensionResults": made.get("getClientExtensionResults", {}),
                           "authenticatorAttachment": "platform"})
