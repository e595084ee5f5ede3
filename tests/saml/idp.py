# tests/saml/idp.py — owns the loopback SAML 2.0 test IdP (pysaml2 Server) that the Rust e2e tests drive.
"""A real SAML 2.0 identity provider for end-to-end tests of the userpool SAML SP.

    python3 tests/saml/idp.py --port P --dir D [--entity-id URL] [--no-stdin-watch]

Writes D/idp.key, D/idp.crt, D/idp-metadata.xml, prints one line "READY", then serves
HTTP on 127.0.0.1:P until stdin reaches EOF or SIGTERM/SIGINT arrives. See README.md for
the endpoints. Only the SAML protocol work is delegated to pysaml2 (saml2.server.Server);
the Redirect-binding signature check is done here over the *received* query bytes,
because pysaml2 re-encodes the parameters before verifying (SM25).
"""

import argparse
import base64
import html
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

import testkeys

# pysaml2 touches cryptography's deprecated CFB mode at import time; keep stderr readable.
warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

import saml2  # noqa: E402
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp  # noqa: E402
from saml2.attribute_converter import AttributeConverter  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import create_metadata_string  # noqa: E402
from saml2.s_utils import decode_base64_and_inflate, factory  # noqa: E402
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.sigver import pre_encryption_part  # noqa: E402
from saml2.xmldsig import (  # noqa: E402
    DIGEST_SHA1,
    DIGEST_SHA256,
    DIGEST_SHA512,
    SIG_RSA_SHA1,
    SIG_RSA_SHA256,
    SIG_RSA_SHA512,
)

XMLSEC1 = "/usr/bin/xmlsec1"
NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
SP_SSO_DESCRIPTOR = "{urn:oasis:names:tc:SAML:2.0:metadata}SPSSODescriptor"

NAMEID_ALIASES = {
    "persistent": NAMEID_FORMAT_PERSISTENT,
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}
# Redirect-binding SigAlg URI -> hash (RSA PKCS#1 v1.5 only; the pool key is RSA).
REDIRECT_SIG_HASHES = {
    SIG_RSA_SHA1: hashes.SHA1,
    SIG_RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    SIG_RSA_SHA512: hashes.SHA512,
}
# XML signature algorithm knob -> (SignatureMethod, DigestMethod)
XML_SIG_ALGS = {
    "rsa-sha256": (SIG_RSA_SHA256, DIGEST_SHA256),
    "rsa-sha512": (SIG_RSA_SHA512, DIGEST_SHA512),
    "rsa-sha1": (SIG_RSA_SHA1, DIGEST_SHA1),
}
# Data-encryption knob -> (EncryptionMethod URI, xmlsec1 --session-key type).
# pysaml2's own default is tripledes-cbc; real IdPs (ADFS, Entra ID, Okta) default to AES-256-CBC.
DATA_ENC_ALGS = {
    "aes128-cbc": ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
    "aes256-cbc": ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
    "aes128-gcm": ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
    "aes256-gcm": ("http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256"),
    "tripledes-cbc": ("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", "des-192"),
}
KEY_TRANSPORT_ALGS = {
    "rsa-oaep-mgf1p": "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "rsa-1_5": "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
}
STATUS_CODES = {
    "Success": samlp.STATUS_SUCCESS,
    "Requester": samlp.STATUS_REQUESTER,
    "Responder": samlp.STATUS_RESPONDER,
}
AUTHN_CONTEXT = {"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}
ATTR_NAME_FORMAT_UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"

# POST /admin/config: every call starts again from these defaults (no merging), so a
# test only states what it needs and cannot inherit a previous test's knobs.
DEFAULT_CONFIG = {
    "sign_response": False,
    "sign_assertion": True,
    "encrypt_assertion": False,
    "name_id": "alice-persistent-id",
    "name_id_format": NAMEID_FORMAT_PERSISTENT,
    # None = "IdP entity ID" / "SP entity ID" for the persistent format, absent otherwise; "" = absent.
    "name_qualifier": None,
    "sp_name_qualifier": None,
    "attributes": {"email": ["alice@corp.test"], "name": ["Alice Corp"]},
    "attribute_name_format": ATTR_NAME_FORMAT_UNSPECIFIED,
    "session_index": None,  # None = a fresh random one per sign-in
    "signature_algorithm": "rsa-sha256",
    "data_encryption": "aes256-cbc",
    "key_transport": "rsa-oaep-mgf1p",
    "want_authn_requests_signed": False,
    "logout_response_status": "Success",
    "lifetime_seconds": 300,
}

# Keys whose default is None (or whose type differs from the default's).
CONFIG_TYPES = {
    "name_qualifier": (str, type(None)),
    "sp_name_qualifier": (str, type(None)),
    "session_index": (str, type(None)),
}

log = logging.getLogger("test-idp")


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- keys


def generate_key_and_cert(directory, common_name):
    key, cert = testkeys.self_signed(common_name)
    return testkeys.write_pair(directory, "idp", key, cert, serialization.PrivateFormat.TraditionalOpenSSL)


def cert_from_b64(text):
    return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))


def pem_from_b64(text):
    body = "".join(text.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


# --------------------------------------------------------------------------- SP metadata


class SpInfo:
    """What this IdP needs from the SP metadata, read with a DTD-refusing parser."""

    def __init__(self, xml_bytes):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        root = etree.fromstring(xml_bytes, parser)
        if root.getroottree().docinfo.doctype:
            raise ValueError("SP metadata must not carry a DOCTYPE")
        eds = [root] if etree.QName(root).localname == "EntityDescriptor" else root.findall(".//md:EntityDescriptor", NS)
        ed = next((e for e in eds if e.find(SP_SSO_DESCRIPTOR) is not None), None)
        if ed is None:
            raise ValueError("no EntityDescriptor with an SPSSODescriptor")
        sp = ed.find(SP_SSO_DESCRIPTOR)
        self.entity_id = ed.get("entityID")
        self.acs_post = self._location(sp, "AssertionConsumerService", BINDING_HTTP_POST)
        self.slo_post = self._location(sp, "SingleLogoutService", BINDING_HTTP_POST)
        self.signing_certs = []
        self.encryption_certs = []  # base64 DER, as in the metadata
        for kd in sp.findall("md:KeyDescriptor", NS):
            use = kd.get("use")
            for c in kd.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS):
                b64 = "".join((c.text or "").split())
                cert_from_b64(b64)  # fail early on garbage
                if use in (None, "signing"):
                    self.signing_certs.append(b64)
                if use in (None, "encryption"):
                    self.encryption_certs.append(b64)
        if not self.entity_id or not self.acs_post:
            raise ValueError("SP metadata needs entityID and an HTTP-POST AssertionConsumerService")
        self.xml = xml_bytes.decode("utf-8") if isinstance(xml_bytes, bytes) else xml_bytes

    @staticmethod
    def _location(sp, element, binding):
        for el in sp.findall("md:" + element, NS):
            if el.get("Binding") == binding:
                return el.get("Location")
        return None


# --------------------------------------------------------------------------- Redirect binding


def parse_redirect_query(raw_query, message_param):
    """Split a Redirect-binding query without re-encoding anything.

    Returns (decoded values, signed octets or None). The octets are the raw
    `SAMLx=..&RelayState=..&SigAlg=..` pieces exactly as received (saml-bindings 3.4.4.1).
    """
    raw = {}
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name = urllib.parse.unquote_plus(piece.split("=", 1)[0])
        if name in raw:
            raise HttpError(400, f"duplicate query parameter {name}")
        raw[name] = piece
    if message_param not in raw:
        raise HttpError(400, f"missing {message_param}")
    values = {k: urllib.parse.unquote_plus(p.split("=", 1)[1] if "=" in p else "") for k, p in raw.items()}
    signed = None
    if "SigAlg" in raw:
        # http.server decoded the request line as latin-1, so this restores the exact bytes.
        signed = "&".join(raw[k] for k in (message_param, "RelayState", "SigAlg") if k in raw).encode("latin-1")
    return values, signed


def verify_redirect_signature(values, signed_octets, cert_b64_list):
    """True iff Signature verifies over the received octets with one of the SP's signing certs."""
    if signed_octets is None or "Signature" not in values:
        return False
    hash_cls = REDIRECT_SIG_HASHES.get(values.get("SigAlg"))
    if hash_cls is None:
        return False
    try:
        signature = base64.b64decode(values["Signature"], validate=False)
    except ValueError:
        return False
    for b64 in cert_b64_list:
        key = cert_from_b64(b64).public_key()
        try:
            key.verify(signature, signed_octets, padding.PKCS1v15(), hash_cls())
            return True
        except (InvalidSignature, TypeError, ValueError):
            continue
    return False


# --------------------------------------------------------------------------- pysaml2


class VerbatimAttributes(AttributeConverter):
    """Emit attribute names exactly as configured (pysaml2's maps would rename/lowercase them)."""

    def to_(self, attrvals):
        return [
            factory(
                saml2.saml.Attribute,
                name=name,
                name_format=self.name_format,
                attribute_value=[saml2.saml.AttributeValue(text=v) for v in values],
            )
            for name, values in attrvals.items()
        ]


class IdpServer(Server):
    """pysaml2 Server with two knobs its public API lacks: SessionIndex and encryption algorithms."""

    next_session_index = None
    last_assertion_id = None
    data_encryption = "aes256-cbc"
    key_transport = "rsa-oaep-mgf1p"
    encryption_certs = ()

    def setup_assertion(self, *args, **kwargs):
        assertion = super().setup_assertion(*args, **kwargs)
        if isinstance(assertion, saml2.saml.Assertion):
            self.last_assertion_id = assertion.id
            if self.next_session_index and assertion.authn_statement:
                assertion.authn_statement[0].session_index = self.next_session_index
        return assertion

    def _encrypt_assertion(self, encrypt_cert, sp_entity_id, response, node_xpath=None):
        if not self.encryption_certs:
            raise HttpError(409, "encrypt_assertion is on but the SP metadata has no encryption certificate")
        msg_enc, session_key = DATA_ENC_ALGS[self.data_encryption]
        cert_b64 = self.encryption_certs[0]
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as tmp:
            tmp.write(pem_from_b64(cert_b64))
            tmp.flush()
            template = pre_encryption_part(
                msg_enc=msg_enc, key_enc=KEY_TRANSPORT_ALGS[self.key_transport], encrypt_cert=cert_b64
            )
            return self.sec.encrypt_assertion(response, tmp.name, template, session_key, node_xpath=node_xpath)


def idp_metadata(config):
    """pysaml2's metadata minus the md:Extensions algorithm list (it advertises md5 and dsa-sha1)."""
    root = etree.fromstring(create_metadata_string(None, config=config, sign=False))
    for ext in root.findall("md:Extensions", NS):
        root.remove(ext)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def html_post_form(action, field, b64_message, relay_state):
    esc = lambda s: html.escape(s, quote=True)  # noqa: E731
    relay = ""
    if relay_state is not None:
        relay = f'\n<input type="hidden" name="RelayState" value="{esc(relay_state)}"/>'
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>SAML POST</title></head>\n"
        '<body onload="document.forms[0].submit()">\n'
        f'<form method="post" action="{esc(action)}">\n'
        f'<input type="hidden" name="{field}" value="{esc(b64_message)}"/>{relay}\n'
        '<noscript><input type="submit" value="Continue"/></noscript>\n'
        "</form>\n</body></html>\n"
    )


def b64(xml):
    return base64.b64encode(xml.encode("utf-8") if isinstance(xml, str) else xml).decode("ascii")


def xml_text(message):
    if isinstance(message, str):
        return message
    if isinstance(message, bytes):
        return message.decode("utf-8")
    return message.to_string().decode("utf-8")


class LoopbackIdp:
    def __init__(self, port, directory, entity_id):
        self.port = port
        self.dir = directory
        self.entity_id = entity_id
        base = f"http://127.0.0.1:{port}"
        self.sso_url = base + "/sso/redirect"
        self.slo_url = base + "/slo/redirect"
        self.key_path, self.cert_path = generate_key_and_cert(directory, "userpool test IdP")
        self.lock = threading.Lock()  # guards config, state, sp and the pysaml2 server
        self.config = dict(DEFAULT_CONFIG)
        self.state = {}
        self.sp = None
        self.server = self._build_server()
        self.metadata_xml = idp_metadata(self.server.config)
        with open(os.path.join(directory, "idp-metadata.xml"), "wb") as f:
            f.write(self.metadata_xml)

    # pysaml2 reads SP metadata only at config load, so a new SP means a new Server.
    def _build_server(self):
        cfg = {
            "entityid": self.entity_id,
            "xmlsec_binary": XMLSEC1,
            "key_file": self.key_path,
            "cert_file": self.cert_path,
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "accepted_time_diff": 60,
            "delete_tmpfiles": True,
            "service": {
                "idp": {
                    "name": "userpool test IdP",
                    "endpoints": {
                        "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(self.slo_url, BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_ALIASES["emailAddress"]],
                    "want_authn_requests_signed": False,  # checked here, over the raw query bytes
                    "policy": {
                        "default": {
                            "lifetime": {"seconds": self.config["lifetime_seconds"]},
                            "attribute_restrictions": None,
                            "name_form": self.config["attribute_name_format"],
                        }
                    },
                }
            },
            "metadata": {"inline": [self.sp.xml]} if self.sp else {},
        }
        conf = IdPConfig()
        conf.load(cfg)
        conf.attribute_converters = [VerbatimAttributes(self.config["attribute_name_format"])]
        server = IdpServer(config=conf)
        server.data_encryption = self.config["data_encryption"]
        server.key_transport = self.config["key_transport"]
        server.encryption_certs = tuple(self.sp.encryption_certs) if self.sp else ()
        return server

    def _require_sp(self):
        if self.sp is None:
            raise HttpError(409, "no SP metadata loaded (POST /admin/sp-metadata first)")

    # ----------------------------------------------------------------- admin

    def load_sp_metadata(self, body):
        try:
            sp = SpInfo(body)
        except (etree.XMLSyntaxError, ValueError) as e:
            raise HttpError(400, f"bad SP metadata: {e}")
        with self.lock:
            self.sp = sp
            self.server = self._build_server()

    def set_config(self, body):
        try:
            given = json.loads(body or b"{}")
        except ValueError as e:
            raise HttpError(400, f"bad JSON: {e}")
        if not isinstance(given, dict):
            raise HttpError(400, "config must be a JSON object")
        unknown = set(given) - set(DEFAULT_CONFIG)
        if unknown:
            raise HttpError(400, f"unknown config keys: {sorted(unknown)}")
        cfg = dict(DEFAULT_CONFIG)
        cfg.update(given)
        for k, v in cfg.items():
            want = CONFIG_TYPES.get(k, type(DEFAULT_CONFIG[k]))
            if not isinstance(v, want) or (want is int and isinstance(v, bool)):
                raise HttpError(400, f"{k} has the wrong type")
        if cfg["lifetime_seconds"] <= 0:
            raise HttpError(400, "lifetime_seconds must be positive")
        cfg["name_id_format"] = NAMEID_ALIASES.get(cfg["name_id_format"], cfg["name_id_format"])
        attrs = cfg["attributes"]
        if not isinstance(attrs, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in attrs.values()
        ):
            raise HttpError(400, "attributes must be {name: [string, ...]}")
        for k, table in (
            ("signature_algorithm", XML_SIG_ALGS),
            ("data_encryption", DATA_ENC_ALGS),
            ("key_transport", KEY_TRANSPORT_ALGS),
            ("logout_response_status", STATUS_CODES),
        ):
            if cfg[k] not in table:
                raise HttpError(400, f"{k} must be one of {sorted(table)}")
        with self.lock:
            self.config = cfg
            self.server = self._build_server()

    def state_json(self):
        with self.lock:
            return json.dumps(self.state, indent=1, sort_keys=True)

    def _record(self, key, value):
        self.state[key] = value

    # ----------------------------------------------------------------- SSO

    def _name_id(self, cfg, sp_entity_id):
        persistent = cfg["name_id_format"] == NAMEID_FORMAT_PERSISTENT
        nq = cfg["name_qualifier"] if cfg["name_qualifier"] is not None else (self.entity_id if persistent else "")
        spq = cfg["sp_name_qualifier"] if cfg["sp_name_qualifier"] is not None else (sp_entity_id if persistent else "")
        return NameID(
            format=cfg["name_id_format"],
            text=cfg["name_id"],
            name_qualifier=nq or None,
            sp_name_qualifier=spq or None,
        )

    def _login_response(self, in_response_to, acs, sp_entity_id, relay_state):
        """Caller holds self.lock. Returns the HTML auto-post form."""
        cfg = self.config
        srv = self.server
        session_index = cfg["session_index"] or "_sess_" + secrets.token_hex(16)
        srv.next_session_index = session_index
        srv.last_assertion_id = None
        sign_alg, digest_alg = XML_SIG_ALGS[cfg["signature_algorithm"]]
        if cfg["encrypt_assertion"] and not srv.encryption_certs:
            raise HttpError(409, "encrypt_assertion is on but the SP metadata has no encryption certificate")
        name_id = self._name_id(cfg, sp_entity_id)
        resp = srv.create_authn_response(
            identity={k: list(v) for k, v in cfg["attributes"].items()},
            in_response_to=in_response_to,
            destination=acs,
            sp_entity_id=sp_entity_id,
            name_id=name_id,
            authn=AUTHN_CONTEXT,
            sign_response=cfg["sign_response"],
            sign_assertion=cfg["sign_assertion"],
            encrypt_assertion=cfg["encrypt_assertion"],
            sign_alg=sign_alg,
            digest_alg=digest_alg,
        )
        if isinstance(resp, list):  # pysaml2 returns str.split() lines on some internal errors
            raise HttpError(500, "pysaml2 failed to build the response: " + "\n".join(resp))
        xml = xml_text(resp)
        self._record(
            "last_response",
            {
                "id": etree.fromstring(xml.encode("utf-8")).get("ID"),
                "assertion_id": srv.last_assertion_id,
                "in_response_to": in_response_to,
                "destination": acs,
                "audience": sp_entity_id,
                "name_id": name_id.text,
                "name_id_format": name_id.format,
                "name_qualifier": name_id.name_qualifier,
                "sp_name_qualifier": name_id.sp_name_qualifier,
                "session_index": session_index,
                "signed_response": cfg["sign_response"],
                "signed_assertion": cfg["sign_assertion"],
                "encrypted": cfg["encrypt_assertion"],
                "relay_state": relay_state,
            },
        )
        return html_post_form(acs, "SAMLResponse", b64(xml), relay_state)

    def sso_redirect(self, raw_query):
        values, signed_octets = parse_redirect_query(raw_query, "SAMLRequest")
        with self.lock:
            self._require_sp()
            srv = self.server
            try:
                req = srv.parse_authn_request(values["SAMLRequest"], BINDING_HTTP_REDIRECT)
            except Exception as e:  # pysaml2 raises many unrelated types for bad input
                self._record("last_error", f"AuthnRequest rejected: {e!r}")
                raise HttpError(400, f"bad AuthnRequest: {e}")
            if req is None:
                raise HttpError(400, "bad AuthnRequest")
            msg = req.message
            has_sig = "Signature" in values or "SigAlg" in values
            valid = has_sig and verify_redirect_signature(values, signed_octets, self.sp.signing_certs)
            issuer = msg.issuer.text.strip() if msg.issuer is not None else None
            record = {
                "id": msg.id,
                "signed": has_sig,
                "signature_valid": valid,
                "sig_alg": values.get("SigAlg"),
                "acs_url": msg.assertion_consumer_service_url,
                "protocol_binding": msg.protocol_binding,
                "issuer": issuer,
                "destination": msg.destination,
                "relay_state": values.get("RelayState"),
                "force_authn": msg.force_authn,
                "is_passive": msg.is_passive,
                "name_id_policy_format": msg.name_id_policy.format if msg.name_id_policy is not None else None,
                "xml": req.xmlstr.decode("utf-8") if isinstance(req.xmlstr, bytes) else req.xmlstr,
            }
            self._record("last_authn_request", record)
            if has_sig and not valid:
                raise HttpError(400, "AuthnRequest signature invalid")
            if not has_sig and self.config["want_authn_requests_signed"]:
                raise HttpError(400, "AuthnRequest must be signed")
            if issuer != self.sp.entity_id:
                raise HttpError(400, f"unknown SP {issuer!r}")
            try:
                _binding, acs = srv.pick_binding(
                    "assertion_consumer_service", bindings=[BINDING_HTTP_POST], request=msg, entity_id=issuer
                )
            except saml2.SAMLError as e:
                raise HttpError(400, f"ACS not in SP metadata: {e}")
            return self._login_response(msg.id, acs, issuer, values.get("RelayState"))

    def idp_initiated(self, query):
        with self.lock:
            self._require_sp()
            relay = query.get("relay_state", [None])[0]
            return self._login_response(None, self.sp.acs_post, self.sp.entity_id, relay)

    # ----------------------------------------------------------------- SLO

    def slo_redirect(self, raw_query):
        """Returns (body, content type): a LogoutRequest gets a form, a LogoutResponse a text."""
        names = {urllib.parse.unquote_plus(p.split("=", 1)[0]) for p in raw_query.split("&") if p}
        if "SAMLRequest" in names:
            return self._sp_logout_request(raw_query)
        if "SAMLResponse" in names:
            return self._sp_logout_response(raw_query)
        raise HttpError(400, "need SAMLRequest or SAMLResponse")

    def _sp_logout_request(self, raw_query):
        values, signed_octets = parse_redirect_query(raw_query, "SAMLRequest")
        with self.lock:
            self._require_sp()
            srv = self.server
            try:
                req = srv.parse_logout_request(values["SAMLRequest"], BINDING_HTTP_REDIRECT)
            except Exception as e:
                self._record("last_error", f"LogoutRequest rejected: {e!r}")
                raise HttpError(400, f"bad LogoutRequest: {e}")
            msg = req.message
            valid = verify_redirect_signature(values, signed_octets, self.sp.signing_certs)
            nid = msg.name_id
            self._record(
                "last_logout_request",
                {
                    "id": msg.id,
                    "name_id": nid.text if nid is not None else None,
                    "name_id_format": nid.format if nid is not None else None,
                    "name_qualifier": nid.name_qualifier if nid is not None else None,
                    "sp_name_qualifier": nid.sp_name_qualifier if nid is not None else None,
                    "session_index": msg.session_index[0].text if msg.session_index else None,
                    "session_indexes": [s.text for s in msg.session_index],
                    "signed": "Signature" in values,
                    "signature_valid": valid,
                    "sig_alg": values.get("SigAlg"),
                    "issuer": msg.issuer.text.strip() if msg.issuer is not None else None,
                    "destination": msg.destination,
                    "relay_state": values.get("RelayState"),
                    "xml": req.xmlstr.decode("utf-8") if isinstance(req.xmlstr, bytes) else req.xmlstr,
                },
            )
            if not valid:
                raise HttpError(400, "LogoutRequest signature missing or invalid")
            if msg.issuer is None or msg.issuer.text.strip() != self.sp.entity_id:
                raise HttpError(400, "LogoutRequest Issuer is not the SP")
            status = samlp.Status(status_code=samlp.StatusCode(value=STATUS_CODES[self.config["logout_response_status"]]))
            if not self.sp.slo_post:
                raise HttpError(409, "SP metadata has no HTTP-POST SingleLogoutService")
            sign_alg, digest_alg = XML_SIG_ALGS[self.config["signature_algorithm"]]
            resp = srv.create_logout_response(
                msg, bindings=[BINDING_HTTP_POST], status=status, sign=True, sign_alg=sign_alg, digest_alg=digest_alg
            )
            xml = xml_text(resp)
            self._record("sent_logout_response_id", etree.fromstring(xml.encode("utf-8")).get("ID"))
            form = html_post_form(self.sp.slo_post, "SAMLResponse", b64(xml), values.get("RelayState"))
            return form, "text/html; charset=utf-8"

    def _sp_logout_response(self, raw_query):
        values, signed_octets = parse_redirect_query(raw_query, "SAMLResponse")
        with self.lock:
            self._require_sp()
            try:
                xml = decode_base64_and_inflate(values["SAMLResponse"])
                msg = samlp.logout_response_from_string(xml)
            except Exception as e:
                self._record("last_error", f"LogoutResponse rejected: {e!r}")
                raise HttpError(400, f"bad LogoutResponse: {e}")
            if msg is None:
                raise HttpError(400, "not a LogoutResponse")
            valid = verify_redirect_signature(values, signed_octets, self.sp.signing_certs)
            status = msg.status.status_code.value if msg.status is not None and msg.status.status_code else None
            self._record(
                "last_logout_response",
                {
                    "id": msg.id,
                    "in_response_to": msg.in_response_to,
                    "matches_sent_request": msg.in_response_to == self.state.get("sent_logout_request_id"),
                    "status": status,
                    "signed": "Signature" in values,
                    "signature_valid": valid,
                    "sig_alg": values.get("SigAlg"),
                    "issuer": msg.issuer.text.strip() if msg.issuer is not None else None,
                    "destination": msg.destination,
                    "relay_state": values.get("RelayState"),
                    "xml": xml.decode("utf-8") if isinstance(xml, bytes) else xml,
                },
            )
            if not valid:
                raise HttpError(400, "LogoutResponse signature missing or invalid")
            if msg.issuer is None or msg.issuer.text.strip() != self.sp.entity_id:
                raise HttpError(400, "LogoutResponse Issuer is not the SP")
            if msg.destination is not None and msg.destination != self.slo_url:
                raise HttpError(400, "LogoutResponse Destination is not this IdP's SLO endpoint")
            return "logged out\n", "text/plain; charset=utf-8"

    def idp_logout(self, query):
        with self.lock:
            self._require_sp()
            if not self.sp.slo_post:
                raise HttpError(409, "SP metadata has no HTTP-POST SingleLogoutService")
            cfg = dict(self.config)
            last = self.state.get("last_response") or {}
            cfg["name_id"] = query.get("name_id", [last.get("name_id") or cfg["name_id"]])[0]
            session_index = query.get("session_index", [last.get("session_index")])[0]
            relay = query.get("relay_state", ["idp-relay"])[0]
            sign = query.get("sign", ["1"])[0] not in ("0", "false")
            sign_alg, digest_alg = XML_SIG_ALGS[cfg["signature_algorithm"]]
            req_id, req = self.server.create_logout_request(
                destination=self.sp.slo_post,
                issuer_entity_id=self.sp.entity_id,
                name_id=self._name_id(cfg, self.sp.entity_id),
                session_indexes=[session_index] if session_index else None,
                sign=sign,
                sign_alg=sign_alg,
                digest_alg=digest_alg,
            )
            self._record("sent_logout_request_id", req_id)
            return html_post_form(self.sp.slo_post, "SAMLRequest", b64(xml_text(req)), relay)


# --------------------------------------------------------------------------- HTTP


def make_handler(idp):
    class Handler(BaseHTTPRequestHandler):
        server_version = "userpool-test-idp"

        def log_message(self, fmt, *args):
            log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status, body=b"", ctype="text/plain; charset=utf-8"):
            if isinstance(body, str):
                body = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Cache-Control", "no-store")
            if status != 204:
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204:
                self.wfile.write(body)

        def _run(self, fn):
            try:
                fn()
            except HttpError as e:
                log.warning("%s -> %s %s", self.path.split("?")[0], e.status, e)
                self._send(e.status, str(e) + "\n")
            except Exception as e:  # report, never kill the server
                log.exception("internal error")
                self._send(500, f"internal error: {e!r}\n")

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1_000_000:
                raise HttpError(413, "body too large")
            return self.rfile.read(length)

        def do_GET(self):
            path, _, raw_query = self.path.partition("?")
            query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
            page = lambda body: self._send(200, body, "text/html; charset=utf-8")  # noqa: E731
            routes = {
                "/sso/redirect": lambda: page(idp.sso_redirect(raw_query)),
                "/idp-initiated": lambda: page(idp.idp_initiated(query)),
                "/slo/redirect": lambda: self._send(200, *idp.slo_redirect(raw_query)),
                "/admin/idp-logout": lambda: page(idp.idp_logout(query)),
                "/admin/state": lambda: self._send(200, idp.state_json(), "application/json"),
                "/metadata": lambda: self._send(200, idp.metadata_xml, "application/samlmetadata+xml"),
            }
            route = routes.get(path)
            self._run(route if route else lambda: self._send(404, "not found\n"))

        def do_POST(self):
            path = self.path.partition("?")[0]

            def sp_metadata():
                idp.load_sp_metadata(self._body())
                self._send(204)

            def config():
                idp.set_config(self._body())
                self._send(204)

            routes = {"/admin/sp-metadata": sp_metadata, "/admin/config": config}
            route = routes.get(path)
            self._run(route if route else lambda: self._send(404, "not found\n"))

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--entity-id")
    ap.add_argument("--no-stdin-watch", action="store_true", help="do not exit on stdin EOF (manual runs)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO if args.verbose else logging.WARNING, format="idp: %(message)s"
    )
    os.makedirs(args.dir, exist_ok=True)

    # Bind first so a taken port fails before READY.
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), None)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    idp = LoopbackIdp(port, args.dir, args.entity_id or f"http://127.0.0.1:{port}/idp")
    httpd.RequestHandlerClass = make_handler(idp)

    def stop(*_):
        # serve_forever() runs on this (main) thread; shutdown() must come from another.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not args.no_stdin_watch:

        def watch_stdin():
            try:
                while sys.stdin.buffer.raw.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            httpd.shutdown()

        threading.Thread(target=watch_stdin, daemon=True).start()

    sys.stdout.write("READY\n")
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
