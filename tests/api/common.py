"""What the boto3 scripts of the Cognito API share: the pass/fail counter, the boto3 client, and
the check of every raw response against the output shape of the service model (the one in
crates/api/model, read here by separate code): a member Cognito would not send, a missing
required member, or a value of the wrong type fails the run.
"""

import base64
import email
import email.policy
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
MODEL = json.load(open(Path(__file__).resolve().parents[2] / "crates/api/model/cognito-idp.json"))
_passed = 0


def check(ok, what):
    """Counts a passed check; prints the failure and exits non-zero on the first failed one."""
    global _passed
    if not ok:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    _passed += 1
    print(f"ok: {what}", flush=True)


_failed = []


def check_on(ok, what):
    """`check` that lists a failed check and goes on, so one wrong answer does not hide the
    others; `summary` then fails the run with the list."""
    if not ok:
        _failed.append(what)
        print(f"FAILED: {what}", flush=True)
        return
    check(ok, what)


def attrs(pairs):
    """Cognito's `AttributeType` list of a dict."""
    return [{"Name": k, "Value": v} for k, v in pairs.items()]


def as_dict(attributes):
    return {a["Name"]: a["Value"] for a in attributes}


def fails(call, code, message=None, what=""):
    """Checks (going on) that `call` fails with `code` (and `message`, when it is fixed)."""
    got_code, got_message = error_of(call)
    ok = got_code == code and (message is None or got_message == message)
    check_on(ok, f"{what}: {got_code} {got_message!r} (expected {code} {message!r})")
    return got_message


def summary():
    if _failed:
        print(f"{_passed} passed, {len(_failed)} failed:\n" + "\n".join(_failed))
        sys.exit(1)
    print(f"{_passed} passed, 0 failed")


def shape_problems(name, value, path="output"):
    """What in `value` does not fit the model's shape `name` (the service model in the repo, a
    newer one than the installed botocore may carry)."""
    shape = MODEL["shapes"][name]
    if shape.get("document"):
        return []  # a JSON document (the WebAuthn options and credentials): any value
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        members = shape.get("members", {})
        problems = [f"{path}.{m}: not in the model" for m in value if m not in members]
        problems += [f"{path}.{m}: required, missing" for m in shape.get("required", []) if m not in value]
        for m, v in value.items():
            if m in members:
                problems += shape_problems(members[m]["shape"], v, f"{path}.{m}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [p for i, v in enumerate(value) for p in shape_problems(shape["member"]["shape"], v, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        return [p for k, v in value.items() for p in shape_problems(shape["value"]["shape"], v, f"{path}.{k}")]
    expected = {
        "string": str,
        "integer": int,
        "long": int,
        "boolean": bool,
        "timestamp": (int, float),
        "blob": str,
    }.get(kind)
    if expected and (not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool))):
        return [f"{path}: {value!r} is not a {kind}"]
    if kind == "string" and "enum" in shape and value not in shape["enum"]:
        return [f"{path}: {value!r} not one of {shape['enum']}"]
    return []


def check_shape(http_response, model, **_):
    """botocore's after-call hook: the raw body against the operation's output shape."""
    output = MODEL["operations"][model.name]["output"]
    if http_response.status_code != 200 or output is None:
        return
    body = json.loads(http_response.content or b"{}")
    problems = shape_problems(output, body)
    check(not problems, f"{model.name} answers in the model's shape {problems}")


def client(endpoint, key, secret, validate=True):
    """A cognito-idp client of the server at `endpoint` whose every answer is shape-checked."""
    c = boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
    )
    c.meta.events.register("after-call.cognito-idp", check_shape)
    return c


def error_of(call):
    """The error code and message `call` fails with, or (None, None)."""
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


def raw(endpoint, target, body):
    """A request boto3 would never send, signed with nothing: the protocol's own errors."""
    req = urllib.request.Request(
        endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def client_credentials(endpoint, host, client_id, client_secret, scope=None):
    """POST /oauth2/token (client_credentials, Basic auth) on the pool domain `host`, served at
    `endpoint`: (status, body)."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    req = urllib.request.Request(
        f"{endpoint}/oauth2/token",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Host": host, "Authorization": f"Basic {basic}",
                 "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def newest_outbox_code(outbox, address, after=None):
    """The newest outbox message to `address` (newer than the file `after`): its 6-digit code and
    file name. Names are `{millis}-{seq}-{to}.eml` (`.sms` for text messages)."""
    deadline = time.time() + 5
    while True:
        found = []
        for p in [*Path(outbox).glob("*.eml"), *Path(outbox).glob("*.sms")]:
            millis, seq, to = p.name[:-4].split("-", 2)
            if to == address:
                found.append(((int(millis), int(seq)), p))
        found.sort()
        if found and found[-1][1].name != after:
            break
        if time.time() > deadline:
            raise AssertionError(f"no new message to {address} in {outbox}")
        time.sleep(0.1)
    path = found[-1][1]
    if path.suffix == ".sms":
        body = path.read_text()
    else:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain", "html")).get_content()
    return re.search(r"\b(\d{6})\b", body).group(1), path.name
