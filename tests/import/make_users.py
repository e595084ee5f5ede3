#!/usr/bin/env python3
"""Write user-import fixtures whose password hashes come from real third-party libraries.

    python3 tests/import/make_users.py --count N --out DIR [--seed S] [--fast]
    python3 tests/import/make_users.py --self-test

See tests/import/README.md for the files and every hash format's exact shape.
"""
import argparse, base64, csv, hashlib, json, multiprocessing, os, random, string, sys, time, uuid
from collections import Counter

import argon2, bcrypt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FORMATS = ["bcrypt", "argon2id", "argon2i", "scrypt", "pbkdf2-sha256", "django-pbkdf2-sha256", "firebase-scrypt"]
GROUPS = ["admins", "staff", "beta"]
TIERS = ["free", "pro", "enterprise"]
FIRST = ["Ada", "Bo", "Chen", "Dana", "Élodie", "Farah", "Gus", "Hiro", "Ines", "Jon", "Kemal", "Lena", "Mō", "Nia", "Oskar", "Priya"]
LAST = ["Ng", "O'Brien", "Smith", "García", "Kowalski", "Müller", "Okafor", "Tanaka", "Ivanova", "Silva", "Haddad", "Lee"]
COGNITO_HEADER = ("name,given_name,family_name,middle_name,nickname,preferred_username,profile,picture,website,email,"
                  "email_verified,gender,birthdate,zoneinfo,locale,phone_number,phone_number_verified,address,updated_at,"
                  "cognito:mfa_enabled,cognito:username").split(",")
ALNUM = string.ascii_letters + string.digits
COSTS = {  # realistic vs --fast (cheapest each library accepts)
    False: dict(bcrypt=10, argon2=None, scrypt_ln=15, pbkdf2=600_000, fb_mem=14, fb_rounds=8),
    True: dict(bcrypt=4, argon2=(8, 16, 32, 64), scrypt_ln=4, pbkdf2=1000, fb_mem=4, fb_rounds=8),
}
FB_SEPARATOR = base64.b64decode("Bw==")
B64_STD = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
B64_BCRYPT = "./" + string.ascii_uppercase + string.ascii_lowercase + string.digits


def b64(raw, pad=True):
    s = base64.b64encode(raw).decode()
    return s if pad else s.rstrip("=")


def firebase_hash(password, salt, separator, signer_key, mem_cost, rounds):
    """Firebase's modified scrypt: AES-256-CTR(scrypt(...)[:32], zero IV) over the signer key."""
    dk = hashlib.scrypt(password.encode(), salt=salt + separator, n=2**mem_cost, r=rounds, p=1, dklen=64, maxmem=2**27)
    enc = Cipher(algorithms.AES(dk[:32]), modes.CTR(bytes(16))).encryptor()
    return enc.update(signer_key) + enc.finalize()


def make_hash(fmt, password, rng, fast, signer_key):
    """Return (PasswordHash, exact format label) for one password; all salts come from rng."""
    c, pw = COSTS[fast], password.encode()
    if fmt == "bcrypt":
        salt = b64(rng.randbytes(16), pad=False).translate(str.maketrans(B64_STD, B64_BCRYPT))
        h = bcrypt.hashpw(pw, f"$2b${c['bcrypt']:02d}${salt}".encode()).decode()
        prefix = rng.choice(["2b"] * 8 + ["2a", "2y"])  # same hash; bcrypt treats the prefixes alike
        return f"${prefix}$" + h[4:], f"bcrypt-{prefix}"
    if fmt in ("argon2id", "argon2i"):
        kind = argon2.Type.ID if fmt == "argon2id" else argon2.Type.I
        ph = (argon2.PasswordHasher(time_cost=1, memory_cost=rng.choice(c["argon2"]), parallelism=1, type=kind)
              if fast else argon2.PasswordHasher(type=kind))
        return ph.hash(password, salt=rng.randbytes(16)), fmt
    if fmt == "scrypt":
        salt = rng.randbytes(16)
        dk = hashlib.scrypt(pw, salt=salt, n=2 ** c["scrypt_ln"], r=8, p=1, dklen=32, maxmem=2**27)
        return f"$scrypt$ln={c['scrypt_ln']},r=8,p=1${b64(salt, False)}${b64(dk, False)}", fmt
    if fmt == "pbkdf2-sha256":
        salt = rng.randbytes(16)
        dk = hashlib.pbkdf2_hmac("sha256", pw, salt, c["pbkdf2"], dklen=32)
        return f"$pbkdf2-sha256$i={c['pbkdf2']}${b64(salt, False)}${b64(dk, False)}", fmt
    if fmt == "django-pbkdf2-sha256":
        salt = "".join(rng.choices(ALNUM, k=22))  # Django's salt is text, used as its UTF-8 bytes
        dk = hashlib.pbkdf2_hmac("sha256", pw, salt.encode(), c["pbkdf2"], dklen=32)
        return f"pbkdf2_sha256${c['pbkdf2']}${salt}${b64(dk)}", fmt
    salt = rng.randbytes(10)
    h = firebase_hash(password, salt, FB_SEPARATOR, signer_key, c["fb_mem"], c["fb_rounds"])
    return (f"$firebase-scrypt$ln={c['fb_mem']},r={c['fb_rounds']}${b64(salt)}${b64(FB_SEPARATOR)}"
            f"${b64(signer_key)}${b64(h)}"), fmt


def password_for(rng):
    return "Pw-" + "".join(rng.choices(ALNUM, k=10)) + "9a!"


def person(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return first, last, f"{first} {last}"


def make_user(job):
    """One users.jsonl record (and its passwords.jsonl line), fully determined by (seed, i)."""
    seed, i, fast, signer_key = job
    rng = random.Random(f"{seed}:user:{i}")
    username, email, password = f"u{i:06d}", f"u{i:06d}@import.test", password_for(rng)
    roll = rng.random()
    status = ("RESET_REQUIRED" if roll < 0.01 else "FORCE_CHANGE_PASSWORD" if roll < 0.015
              else "UNCONFIRMED" if roll < 0.02 else "CONFIRMED")
    attrs = [("email", email), ("email_verified", "false" if status == "UNCONFIRMED" else "true")]
    if rng.random() < 0.6:
        attrs.append(("name", person(rng)[2]))
    if rng.random() < 0.4:
        attrs.append(("phone_number", f"+1555{i:07d}"))
    attrs.append(("custom:tier", rng.choice(TIERS)))
    pw_hash, label = make_hash(FORMATS[i % len(FORMATS)], password, rng, fast, signer_key)
    user = {"Username": username, "Sub": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "UserStatus": status,
            "Enabled": rng.random() >= 0.01, "UserCreateDate": rng.randint(1546300800, 1735689600),
            "Attributes": [{"Name": n, "Value": v} for n, v in attrs],
            "Groups": sorted(rng.sample(GROUPS, rng.choice([0, 0, 0, 1, 1, 2]))), "PasswordHash": pw_hash}
    return user, {"Username": username, "Email": email, "Password": password, "Format": label}


def make_firebase_user(job):
    """One user of a Firebase `auth:export --format=json` file, hashed with the project's parameters."""
    seed, i, fast, signer_key = job
    rng, c = random.Random(f"{seed}:firebase:{i}"), COSTS[fast]
    local_id, email, password = "".join(rng.choices(ALNUM, k=28)), f"fb{i:05d}@firebase.import.test", password_for(rng)
    salt, name = rng.randbytes(10), person(rng)[2]
    created = rng.randint(1546300800000, 1735689600000)
    user = {"localId": local_id, "email": email, "emailVerified": rng.random() < 0.9,
            "passwordHash": b64(firebase_hash(password, salt, FB_SEPARATOR, signer_key, c["fb_mem"], c["fb_rounds"])),
            "salt": b64(salt), "displayName": name}
    if rng.random() < 0.3:
        user["phoneNumber"] = f"+1555{9_000_000 + i:07d}"
    user.update({"disabled": rng.random() < 0.01, "createdAt": str(created),
                 "lastSignedInAt": str(rng.randint(created, 1767225600000)),
                 "providerUserInfo": [{"providerId": "password", "rawId": email, "email": email, "displayName": name}]})
    return user, {"LocalId": local_id, "Email": email, "Password": password}


def cognito_rows(seed, n):
    rng = random.Random(f"{seed}:cognito")
    for i in range(n):
        first, last, name = person(rng)
        row = dict.fromkeys(COGNITO_HEADER, "")
        row.update({"name": name, "given_name": first, "family_name": last, "email": f"csv{i:05d}@import.test",
                    "email_verified": "TRUE" if rng.random() < 0.95 else "FALSE", "locale": rng.choice(["en", "de", "ja", ""]),
                    "phone_number": f"+1555{8_000_000 + i:07d}" if rng.random() < 0.4 else "",
                    "phone_number_verified": "FALSE", "updated_at": str(rng.randint(1546300800, 1735689600)),
                    "cognito:mfa_enabled": "FALSE", "cognito:username": f"csv{i:05d}"})
        yield row


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def generate(count, out, seed, fast):
    start = time.monotonic()
    os.makedirs(out, exist_ok=True)
    signer_key = random.Random(f"{seed}:signer-key").randbytes(64)
    n_fb, n_csv = min(count, 1000), min(count, 500)
    with multiprocessing.Pool(2) as pool:
        users = pool.map(make_user, [(seed, i, fast, signer_key) for i in range(count)], chunksize=256)
        fb = pool.map(make_firebase_user, [(seed, i, fast, signer_key) for i in range(n_fb)], chunksize=16)
    for pws in ([p for _, p in users], [p for _, p in fb]):
        if len({p["Password"] for p in pws}) != len(pws):
            sys.exit("duplicate password generated; try another --seed")
    write_jsonl(os.path.join(out, "users.jsonl"), (u for u, _ in users))
    write_jsonl(os.path.join(out, "passwords.jsonl"), (p for _, p in users))
    with open(os.path.join(out, "firebase.json"), "w", encoding="utf-8") as f:
        json.dump({"users": [u for u, _ in fb]}, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "firebase-params.json"), "w") as f:
        c = COSTS[fast]
        json.dump({"signerKey": b64(signer_key), "saltSeparator": b64(FB_SEPARATOR),
                   "rounds": c["fb_rounds"], "memCost": c["fb_mem"]}, f, indent=1)
    write_jsonl(os.path.join(out, "firebase-passwords.jsonl"), (p for _, p in fb))
    with open(os.path.join(out, "cognito.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COGNITO_HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(cognito_rows(seed, n_csv))
    counts = Counter(p["Format"] for _, p in users)
    print(f"users={count} ({', '.join(f'{k}={v}' for k, v in sorted(counts.items()))}) firebase={n_fb} "
          f"cognito_csv={n_csv} fast={fast} seconds={time.monotonic() - start:.1f} out={out}")


def rederive(h, password):
    """Parse a scrypt / PBKDF2 / Django / Firebase string and recompute it from its own fields."""
    d, pw = (lambda t: base64.b64decode(t + "=" * (-len(t) % 4))), password.encode()
    if h.startswith("pbkdf2_sha256$"):
        _, it, salt, _ = h.split("$")
        return f"pbkdf2_sha256${it}${salt}${b64(hashlib.pbkdf2_hmac('sha256', pw, salt.encode(), int(it), 32))}"
    _, kind, params, *fields = h.split("$")
    kv = dict(x.split("=") for x in params.split(","))
    if kind == "scrypt":
        dk = hashlib.scrypt(pw, salt=d(fields[0]), n=2 ** int(kv["ln"]), r=int(kv["r"]), p=int(kv["p"]), dklen=32)
        return f"${kind}${params}${fields[0]}${b64(dk, False)}"
    if kind == "pbkdf2-sha256":
        return f"${kind}${params}${fields[0]}${b64(hashlib.pbkdf2_hmac('sha256', pw, d(fields[0]), int(kv['i']), 32), False)}"
    salt, sep, key, _ = map(d, fields)
    return f"${kind}${params}${'$'.join(fields[:3])}${b64(firebase_hash(password, salt, sep, key, int(kv['ln']), int(kv['r'])))}"


def self_test():
    d = base64.b64decode
    got = firebase_hash("user1password", d("42xEC+ixf3L2lw=="), d("Bw=="),
                        d("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="), 14, 8)
    assert b64(got) == ("lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="), b64(got)
    # Round-trip every format through the producing library (bcrypt, argon2) or a re-derivation.
    for i in range(len(FORMATS) * 3):
        user, pw = make_user(("self-test", i, True, bytes(range(64))))
        h, p = user["PasswordHash"], pw["Password"]
        if h.startswith("$2"):
            assert bcrypt.checkpw(p.encode(), h.encode()) and not bcrypt.checkpw(b"wrong", h.encode())
        elif h.startswith("$argon2"):
            assert argon2.PasswordHasher().verify(h, p)
        else:
            assert rederive(h, p) == h, h
        assert make_user(("self-test", i, True, bytes(range(64))))[0] == user, "not deterministic"
    print("ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int)
    ap.add_argument("--out")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--fast", action="store_true", help="cheapest parameters each library accepts")
    ap.add_argument("--self-test", action="store_true", help="check the Firebase vector and round-trips, print ok")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if a.count is None or a.out is None:
        ap.error("--count and --out are required (or --self-test)")
    generate(a.count, a.out, a.seed, a.fast)


if __name__ == "__main__":
    main()
