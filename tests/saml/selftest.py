# tests/saml/selftest.py — owns the stand-alone check of tests/saml/idp.py (pysaml2 client as the SP).
"""Exercise idp.py end to end without the Rust server.

Plays the SP with pysaml2's Saml2Client (entity urn:amazon:cognito:sp:us-east-1_TEST): SP-initiated
SSO (assertion-signed, response-signed, encrypted, each accepted by pysaml2's SP side and checked
with the xmlsec1 CLI), IdP-initiated SSO, both SLO directions, bad/missing Redirect signatures,
a signature over lowercase-escaped query bytes, and exit on stdin EOF / SIGTERM.
Exits non-zero on the first failure; cleans up its IdP processes and temp dir.
"""

import base64
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zlib

warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from lxml import etree  # noqa: E402
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402

import testkeys  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
XMLSEC1 = "/usr/bin/xmlsec1"
SP_ENTITY = "urn:amazon:cognito:sp:us-east-1_TEST"
ACS = "http://127.0.0.1:9/saml2/idpresponse"
SLO = "http://127.0.0.1:9/saml2/logout"
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
}
FORM_ACTION = re.compile(r'<form method="post" action="([^"]*)">')
FORM_FIELD = re.compile(r'name="(SAMLResponse|SAMLRequest|RelayState)" value="([^"]*)"')

results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond)))
    print(f"{'ok  ' if cond else 'FAIL'} {name}" + (f"  ({detail})" if detail and not cond else ""), flush=True)
    if not cond:
        raise SystemExit(1)


# --------------------------------------------------------------------------- SP keys and metadata


def make_keypair(directory, stem, cn):
    key, cert = testkeys.self_signed(cn, days=365)
    kp, cp = testkeys.write_pair(directory, stem, key, cert)
    b64der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return key, kp, cp, b64der


def sp_metadata(sign_b64, enc_b64):
    kd = lambda use, c: (  # noqa: E731
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{SP_ENTITY}">'
        '<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        + kd("signing", sign_b64)
        + (kd("encryption", enc_b64) if enc_b64 else "")
        + f'<md:SingleLogoutService Binding="{BINDING_HTTP_POST}" Location="{SLO}"/>'
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
        f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{ACS}" index="1" isDefault="true"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    )


def sp_client(tmp, idp_md_path, keys, want_assertions_signed=True, want_response_signed=False):
    cfg = {
        "entityid": SP_ENTITY,
        "xmlsec_binary": XMLSEC1,
        "key_file": keys["sign_key"],
        "cert_file": keys["sign_crt"],
        "encryption_keypairs": [{"key_file": keys["enc_key"], "cert_file": keys["enc_crt"]}],
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "accepted_time_diff": 60,
        "allow_unknown_attributes": True,  # keep the IdP's attribute names as-is
        "metadata": {"local": [idp_md_path]},
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(ACS, BINDING_HTTP_POST)],
                    "single_logout_service": [(SLO, BINDING_HTTP_POST)],
                },
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "want_assertions_signed": want_assertions_signed,
                "want_response_signed": want_response_signed,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": True,
            }
        },
    }
    conf = SPConfig()
    conf.load(cfg)
    return Saml2Client(config=conf)


# --------------------------------------------------------------------------- HTTP helpers


class Idp:
    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "idp.py"), "--port", str(self.port), "--dir", self.dir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(tmp, name + ".log"), "wb"),
        )
        line = self.proc.stdout.readline()
        if line != b"READY\n":
            raise SystemExit(f"idp did not start: {line!r}")
        self.entity_id = f"{self.base}/idp"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, ctype=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def parse_form(page):
    action = FORM_ACTION.search(page)
    fields = {k: html.unescape(v) for k, v in FORM_FIELD.findall(page)}
    return (html.unescape(action.group(1)) if action else None), fields


def state(idp):
    return json.loads(http("GET", idp.base + "/admin/state")[1])


def set_config(idp, **cfg):
    st, body = http("POST", idp.base + "/admin/config", json.dumps(cfg).encode(), "application/json")
    check(f"config {sorted(cfg)} accepted", st == 204, f"{st} {body}")


def redirect_query(param, xml, relay_state, key, lowercase_escapes=False):
    """Hand-made Redirect-binding query; optionally with lowercase %xx escapes (still valid)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = c.compress(xml.encode("utf-8")) + c.flush()
    enc = lambda v: urllib.parse.quote(v, safe="")  # noqa: E731
    if lowercase_escapes:
        enc0 = enc
        enc = lambda v: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), enc0(v))  # noqa: E731
    parts = [f"{param}={enc(base64.b64encode(deflated).decode())}"]
    if relay_state is not None:
        parts.append(f"RelayState={enc(relay_state)}")
    parts.append(f"SigAlg={enc(SIG_RSA_SHA256)}")
    signed = "&".join(parts).encode()
    sig = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return "&".join(parts + [f"Signature={enc(base64.b64encode(sig).decode())}"])


def xmlsec_verify(xml, cert_path, id_node):
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(xml)
    try:
        r = subprocess.run(
            [XMLSEC1, "--verify", "--pubkey-cert-pem", cert_path, "--id-attr:ID", id_node, f.name],
            capture_output=True,
        )
        return r.returncode == 0
    finally:
        os.unlink(f.name)


# --------------------------------------------------------------------------- scenarios


def sp_initiated(idp, tmp, keys, label, cfg, want_assertions_signed, want_response_signed):
    set_config(idp, **cfg)
    client = sp_client(tmp, keys["idp_md"], keys, want_assertions_signed, want_response_signed)
    relay = "opaque-relay-" + "x" * 90  # Cognito: RelayState > 80 bytes must work
    req_id, info = client.prepare_for_authenticate(
        entityid=idp.entity_id, relay_state=relay, binding=BINDING_HTTP_REDIRECT, sign=True, sigalg=SIG_RSA_SHA256
    )
    location = dict(info["headers"])["Location"]
    check(f"{label}: AuthnRequest carries SigAlg+Signature", "SigAlg=" in location and "Signature=" in location)
    st, page = http("GET", idp.base + "/sso/redirect?" + location.split("?", 1)[1])
    check(f"{label}: /sso/redirect 200", st == 200, page[:300])
    action, fields = parse_form(page)
    check(f"{label}: form posts to ACS", action == ACS, action)
    check(f"{label}: RelayState echoed verbatim", fields.get("RelayState") == relay)
    s = state(idp)["last_authn_request"]
    check(
        f"{label}: state.last_authn_request",
        s["id"] == req_id and s["signed"] and s["signature_valid"] and s["issuer"] == SP_ENTITY and s["acs_url"] == ACS,
        s,
    )
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    root = etree.fromstring(xml.encode())
    check(f"{label}: Response InResponseTo/Destination", root.get("InResponseTo") == req_id and root.get("Destination") == ACS)
    resp = client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={req_id: "/"})
    check(f"{label}: pysaml2 SP accepts the Response", resp is not None)
    ava = resp.ava
    check(f"{label}: attributes", ava.get("email") == ["alice@corp.test"] and ava.get("name") == ["Alice Corp"], f"{ava} {xml}")
    check(f"{label}: NameID", resp.name_id.text == cfg.get("name_id", "alice-persistent-id"), resp.name_id)
    si = resp.assertion.authn_statement[0].session_index
    check(f"{label}: SessionIndex recorded", si == state(idp)["last_response"]["session_index"])
    return root, resp


def main():
    tmp = tempfile.mkdtemp(prefix="saml-selftest-")
    idps = []
    t0 = time.time()
    try:
        sign_key, sk, sc, sign_b64 = make_keypair(tmp, "sp-signing", "test SP signing")
        _enc, ek, ec, enc_b64 = make_keypair(tmp, "sp-encryption", "test SP encryption")
        idp = Idp(tmp, "idp")
        idps.append(idp)
        keys = {"sign_key": sk, "sign_crt": sc, "enc_key": ek, "enc_crt": ec, "idp_md": os.path.join(idp.dir, "idp-metadata.xml")}
        idp_crt = os.path.join(idp.dir, "idp.crt")
        check("idp wrote idp.key/idp.crt/idp-metadata.xml", all(os.path.exists(os.path.join(idp.dir, f)) for f in ("idp.key", "idp.crt", "idp-metadata.xml")))
        md = etree.parse(keys["idp_md"]).getroot()
        mdns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
        check("idp metadata endpoints", md.find(".//md:SingleSignOnService", mdns).get("Location") == idp.base + "/sso/redirect"
              and md.find(".//md:SingleLogoutService", mdns).get("Location") == idp.base + "/slo/redirect")

        st, _ = http("GET", idp.base + "/idp-initiated")
        check("no SP metadata -> 409", st == 409)
        st, _ = http("POST", idp.base + "/admin/sp-metadata", sp_metadata(sign_b64, enc_b64).encode(), "application/xml")
        check("POST /admin/sp-metadata 204", st == 204)
        st, _ = http("POST", idp.base + "/admin/config", b'{"sign_respons": true}', "application/json")
        check("unknown config key -> 400", st == 400)

        # 1. default: assertion signed, response not.
        root, _ = sp_initiated(idp, tmp, keys, "assertion-signed", {}, True, False)
        a = root.find("saml:Assertion", NS)
        check("assertion-signed: Signature in Assertion only", a.find("ds:Signature", NS) is not None and root.find("ds:Signature", NS) is None)
        check("assertion-signed: xmlsec1 verifies Assertion", xmlsec_verify(etree.tostring(root).decode(), idp_crt, "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"))

        # 2. response signed only.
        root, _ = sp_initiated(idp, tmp, keys, "response-signed", {"sign_response": True, "sign_assertion": False, "name_id": "Bob"}, False, True)
        check("response-signed: Signature in Response only", root.find("ds:Signature", NS) is not None and root.find("saml:Assertion/ds:Signature", NS) is None)
        check("response-signed: xmlsec1 verifies Response", xmlsec_verify(etree.tostring(root).decode(), idp_crt, "urn:oasis:names:tc:SAML:2.0:protocol:Response"))

        # 3. encrypted (+ both signatures); every data-encryption choice decrypts in pysaml2's SP.
        for alg in ("aes256-cbc", "aes128-gcm", "aes256-gcm", "tripledes-cbc"):
            cfg = {"encrypt_assertion": True, "sign_response": True, "data_encryption": alg, "session_index": "sess-" + alg}
            root, resp = sp_initiated(idp, tmp, keys, f"encrypted {alg}", cfg, True, True)
            em = root.find("saml:EncryptedAssertion/xenc:EncryptedData/xenc:EncryptionMethod", NS)
            check(f"encrypted {alg}: EncryptedAssertion, no plaintext Assertion", em is not None and root.find("saml:Assertion", NS) is None)
            check(f"encrypted {alg}: EncryptionMethod", em.get("Algorithm").endswith(alg), em.get("Algorithm"))
            check(f"encrypted {alg}: configured SessionIndex", resp.assertion.authn_statement[0].session_index == "sess-" + alg)

        # Knobs for SP-side negative tests with a real IdP: SHA-1 signatures, no signatures, wrong types.
        set_config(idp, signature_algorithm="rsa-sha1")
        xml = base64.b64decode(parse_form(http("GET", idp.base + "/idp-initiated")[1])[1]["SAMLResponse"]).decode()
        check("signature_algorithm=rsa-sha1 signs with rsa-sha1/sha1", "xmldsig#rsa-sha1" in xml and "xmldsig#sha1" in xml)
        set_config(idp, sign_assertion=False)
        xml = base64.b64decode(parse_form(http("GET", idp.base + "/idp-initiated")[1])[1]["SAMLResponse"]).decode()
        check("sign_assertion=false, sign_response=false gives an unsigned Response", "Signature" not in xml)
        st, _ = http("POST", idp.base + "/admin/config", b'{"sign_response": "yes"}', "application/json")
        check("wrongly typed config value -> 400", st == 400)

        # 4. SP metadata without an encryption key + encrypt on -> loud 409, not silent plaintext.
        http("POST", idp.base + "/admin/sp-metadata", sp_metadata(sign_b64, None).encode(), "application/xml")
        set_config(idp, encrypt_assertion=True)
        st, body = http("GET", idp.base + "/idp-initiated?relay_state=x")
        check("encrypt without SP encryption cert -> 409", st == 409, f"{st} {body}")
        http("POST", idp.base + "/admin/sp-metadata", sp_metadata(sign_b64, enc_b64).encode(), "application/xml")
        set_config(idp)

        client = sp_client(tmp, keys["idp_md"], keys)
        # 5. Redirect signature: tampered, missing (allowed unless want_authn_requests_signed), lowercase escapes.
        authn_xml = str(client.create_authn_request(idp.base + "/sso/redirect", binding=BINDING_HTTP_POST)[1])
        q = redirect_query("SAMLRequest", authn_xml, "rs1", sign_key)
        bad = re.sub(r"Signature=([A-Za-z0-9%]{8})", lambda m: "Signature=" + ("B" if m.group(1)[0] != "B" else "C") + m.group(1)[1:], q)
        st, _ = http("GET", idp.base + "/sso/redirect?" + bad)
        s = state(idp)["last_authn_request"]
        check("tampered AuthnRequest signature -> 400, recorded", st == 400 and s["signed"] and not s["signature_valid"], s)
        st, _ = http("GET", idp.base + "/sso/redirect?" + q.replace("RelayState=rs1", "RelayState=rs2"))
        check("RelayState changed after signing -> 400", st == 400)
        st, _ = http("GET", idp.base + "/sso/redirect?" + q.split("&SigAlg=")[0])
        s = state(idp)["last_authn_request"]
        check("unsigned AuthnRequest accepted by default, recorded unsigned", st == 200 and not s["signed"] and not s["signature_valid"])
        set_config(idp, want_authn_requests_signed=True)
        st, _ = http("GET", idp.base + "/sso/redirect?" + q.split("&SigAlg=")[0])
        check("unsigned AuthnRequest with want_authn_requests_signed -> 400", st == 400)
        set_config(idp)
        ql = redirect_query("SAMLRequest", authn_xml, "rs/ü?&=", sign_key, lowercase_escapes=True)
        check("lowercase-escaped query differs from pysaml2's re-encoding", re.search(r"%[0-9a-f][a-f]", ql) is not None)
        st, page = http("GET", idp.base + "/sso/redirect?" + ql)
        check("signature over received (lowercase-escaped) bytes verifies", st == 200 and state(idp)["last_authn_request"]["signature_valid"])
        check("RelayState with & ü ? = round-trips", parse_form(page)[1].get("RelayState") == "rs/ü?&=")

        # 6. IdP-initiated SSO: no InResponseTo anywhere, RelayState verbatim.
        relay = "identity_provider=MySAMLIdP&client_id=1example23456789&redirect_uri=https://www.example.com&response_type=code"
        st, page = http("GET", idp.base + "/idp-initiated?relay_state=" + urllib.parse.quote(relay, safe=""))
        action, fields = parse_form(page)
        check("idp-initiated: 200, posts to ACS, RelayState verbatim", st == 200 and action == ACS and fields.get("RelayState") == relay)
        xml = base64.b64decode(fields["SAMLResponse"]).decode()
        check("idp-initiated: no InResponseTo", "InResponseTo" not in xml)
        resp = client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={})
        check("idp-initiated: pysaml2 SP accepts unsolicited Response", resp is not None and resp.name_id.text == "alice-persistent-id")
        name_id = resp.name_id
        check("NameID persistent with NameQualifier/SPNameQualifier", name_id.format.endswith(":persistent") and name_id.name_qualifier == idp.entity_id and name_id.sp_name_qualifier == SP_ENTITY, name_id)
        session_index = resp.assertion.authn_statement[0].session_index

        # 7. SP-initiated SLO: signed LogoutRequest via Redirect -> signed LogoutResponse via POST.
        lr_id, lr = client.create_logout_request(
            idp.base + "/slo/redirect", idp.entity_id, name_id=name_id, session_indexes=[session_index], sign=False
        )
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(lr), idp.base + "/slo/redirect", "sp-logout-rs", sign=True, sigalg=SIG_RSA_SHA256)
        loc = dict(info["headers"])["Location"]
        st, page = http("GET", idp.base + "/slo/redirect?" + loc.split("?", 1)[1])
        check("SP-initiated SLO: 200", st == 200, page[:300])
        action, fields = parse_form(page)
        check("SP-initiated SLO: posts SAMLResponse to SP SLO with same RelayState", action == SLO and fields.get("RelayState") == "sp-logout-rs" and "SAMLResponse" in fields)
        s = state(idp)["last_logout_request"]
        check("SP-initiated SLO: state", s["id"] == lr_id and s["signature_valid"] and s["name_id"] == name_id.text
              and s["session_index"] == session_index and s["issuer"] == SP_ENTITY and s["sp_name_qualifier"] == SP_ENTITY, s)
        lo_xml = base64.b64decode(fields["SAMLResponse"]).decode()
        check("LogoutResponse signed (xmlsec1)", xmlsec_verify(lo_xml, idp_crt, "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse"))
        lo = client.parse_logout_request_response(fields["SAMLResponse"], BINDING_HTTP_POST)
        check("LogoutResponse: pysaml2 SP accepts, InResponseTo, Destination, Success",
              lo is not None and lo.response.in_response_to == lr_id and lo.response.destination == SLO
              and lo.response.status.status_code.value.endswith(":Success"))
        unsigned = loc.split("?", 1)[1].split("&SigAlg=")[0]
        st, _ = http("GET", idp.base + "/slo/redirect?" + unsigned)
        check("unsigned LogoutRequest -> 400, recorded", st == 400 and not state(idp)["last_logout_request"]["signature_valid"])

        # 8. IdP-initiated SLO: signed LogoutRequest via POST -> signed LogoutResponse via Redirect.
        st, page = http("GET", idp.base + f"/admin/idp-logout?name_id={urllib.parse.quote(name_id.text)}&session_index={session_index}")
        action, fields = parse_form(page)
        check("idp-logout: form to SP SLO with RelayState=idp-relay", st == 200 and action == SLO and fields.get("RelayState") == "idp-relay")
        ilr_xml = base64.b64decode(fields["SAMLRequest"]).decode()
        check("idp-logout: LogoutRequest signed (xmlsec1)", xmlsec_verify(ilr_xml, idp_crt, "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest"))
        ilr = client.parse_logout_request(fields["SAMLRequest"], BINDING_HTTP_POST)
        sent_id = state(idp)["sent_logout_request_id"]
        check("idp-logout: pysaml2 SP accepts; ID/NameID/SessionIndex/Destination",
              ilr.message.id == sent_id and ilr.message.name_id.text == name_id.text
              and ilr.message.session_index[0].text == session_index and ilr.message.destination == SLO)
        lresp = client.create_logout_response(ilr.message, bindings=[BINDING_HTTP_REDIRECT], sign=False)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(lresp), idp.base + "/slo/redirect", "idp-relay", response=True, sign=True, sigalg=SIG_RSA_SHA256)
        loc = dict(info["headers"])["Location"]
        st, body = http("GET", idp.base + "/slo/redirect?" + loc.split("?", 1)[1])
        s = state(idp)["last_logout_response"]
        check("SP LogoutResponse via Redirect: 200 logged out", st == 200 and body.strip() == "logged out", body)
        check("SP LogoutResponse recorded", s["in_response_to"] == sent_id and s["matches_sent_request"] and s["signature_valid"]
              and s["status"].endswith(":Success") and s["issuer"] == SP_ENTITY, s)
        st, _ = http("GET", idp.base + "/slo/redirect?" + loc.split("?", 1)[1].replace("Signature=", "Signature=AA"))
        check("tampered LogoutResponse signature -> 400", st == 400 and not state(idp)["last_logout_response"]["signature_valid"])
        st, page = http("GET", idp.base + "/admin/idp-logout?sign=0&relay_state=r2")
        check("idp-logout sign=0 gives an unsigned LogoutRequest", "Signature" not in base64.b64decode(parse_form(page)[1]["SAMLRequest"]).decode())

        # 9. Lifecycle: stdin EOF and SIGTERM both stop the process.
        idp.proc.stdin.close()
        try:
            idp.proc.wait(5)
            check("exit on stdin EOF", True)
        except subprocess.TimeoutExpired:
            check("exit on stdin EOF", False)
        idp2 = Idp(tmp, "idp2")
        idps.append(idp2)
        idp2.proc.send_signal(signal.SIGTERM)
        try:
            idp2.proc.wait(5)
            check("exit on SIGTERM", True)
        except subprocess.TimeoutExpired:
            check("exit on SIGTERM", False)
    finally:
        for i in idps:
            i.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(results)} passed, 0 failed ({time.time() - t0:.1f}s)")


if __name__ == "__main__":
    main()
