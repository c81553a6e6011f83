"""Smoke test of the benchmark peer (node-oidc-provider), and rough single-request latencies.

    python3 bench/peer/smoke.py                 # starts bench/peer/start on a free port, stops it
    python3 bench/peer/smoke.py http://127.0.0.1:PORT   # against a peer already running

Drives every exchange that README.md documents, one request at a time (no load), checks the
answers, and then times each exchange sequentially over one keep-alive connection (--repeat,
50 by default) and prints the median and 90th percentile. Needs Python 3 with `requests`
(tests/interop/requirements.txt); with `cryptography` it also verifies the ES256 signatures.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = ("bench", "bench-secret")
REDIRECT = "http://127.0.0.1:9/callback"
OPAQUE = "urn:bench:opaque"
FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"")


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwt_parts(token):
    header, payload, _ = token.split(".")
    return b64url_json(header), b64url_json(payload)


def verify_es256(token, jwks):
    """True when the signature checks out, None when `cryptography` is missing."""
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    except ImportError:
        return None
    header, _ = jwt_parts(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    num = lambda s: int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")
    public = ec.EllipticCurvePublicNumbers(num(key["x"]), num(key["y"]), ec.SECP256R1()).public_key()
    signing_input, signature = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    return True


def pkce():
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def expect(response, status, what):
    if response.status_code != status:
        raise AssertionError(f"{what}: HTTP {response.status_code}, expected {status}: {response.text[:300]}")
    return response


def sign_in(base, http=None, offline=True, trace=None, scope=None):
    """authorize -> login form -> POST -> resume -> code. Returns (http, code, verifier, nonce).

    `scope` replaces the scope `offline` chooses (`openid offline_access` or `openid`)."""
    http = http or requests.Session()
    verifier, challenge = pkce()
    state, nonce = os.urandom(8).hex(), os.urandom(8).hex()
    params = {
        "response_type": "code", "client_id": CLIENT[0], "redirect_uri": REDIRECT,
        "scope": scope or ("openid offline_access" if offline else "openid"),
        "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    }
    if offline:
        params["prompt"] = "consent"  # the package drops offline_access without it
    response = expect(http.get(f"{base}/authorize?{urlencode(params)}", allow_redirects=False),
                      303, "GET /authorize")
    hops = 1
    while response.headers["location"].startswith("/") or response.headers["location"].startswith(base):
        location = response.headers["location"]
        if trace is not None:
            trace.append(f"{response.request.method} {urlparse(response.request.url).path} -> "
                         f"{response.status_code} {location}")
        page = http.get(urljoin(base, location), allow_redirects=False)
        hops += 1
        if page.status_code == 200:
            action = FORM.search(page.text).group(1)
            if trace is not None:
                trace.append(f"GET {urlparse(page.request.url).path} -> 200 form action={action}")
            response = expect(http.post(urljoin(base, action),
                                        data={"username": "alice", "password": "anything"},
                                        allow_redirects=False), 303, "POST login form")
            hops += 1
        else:
            response = expect(page, 303, f"GET {location}")
    location = response.headers["location"]
    if trace is not None:
        trace.append(f"{response.request.method} {urlparse(response.request.url).path} -> "
                     f"{response.status_code} {location}")
    assert location.startswith(REDIRECT + "?"), location
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state], query
    assert query["iss"] == [base], query
    return http, query["code"][0], verifier, nonce, hops


def exchange(http, base, code, verifier):
    return expect(http.post(f"{base}/token", auth=CLIENT, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }), 200, "code exchange").json()


def check(base):
    http = requests.Session()
    say = lambda *a: print(" ", *a)

    meta = expect(http.get(f"{base}/.well-known/openid-configuration"), 200, "discovery").json()
    assert meta["issuer"] == base, meta["issuer"]
    for name, path in [("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("jwks_uri", "/jwks"), ("introspection_endpoint", "/introspect"),
                       ("revocation_endpoint", "/revoke"), ("userinfo_endpoint", "/userinfo")]:
        assert meta[name] == base + path, (name, meta[name])
    say("discovery: issuer and endpoints as documented")

    jwks = expect(http.get(meta["jwks_uri"]), 200, "jwks").json()
    algs = sorted(k["alg"] for k in jwks["keys"])
    assert algs == ["ES256", "EdDSA", "RS256"], algs
    say("jwks:", ", ".join(f"{k['alg']} {k['kid']}" for k in jwks["keys"]))

    # client_credentials, JWT access token (audience: the issuer, the default resource).
    cc = expect(http.post(f"{base}/token", auth=CLIENT, data={"grant_type": "client_credentials"}),
                200, "client_credentials").json()
    header, claims = jwt_parts(cc["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt", header
    assert claims["aud"] == base and claims["client_id"] == "bench" and claims["iss"] == base, claims
    assert cc["expires_in"] == 600 and "refresh_token" not in cc, cc
    verified = verify_es256(cc["access_token"], jwks)
    say("client_credentials: JWT access token", header, "signature",
        {True: "verified", None: "not checked (no cryptography)"}[verified])

    introspect = lambda token: expect(http.post(f"{base}/introspect", auth=CLIENT,
                                                data={"token": token}), 200, "introspect").json()
    refused = http.post(f"{base}/introspect", auth=CLIENT, data={"token": cc["access_token"]})
    assert refused.status_code == 400 and refused.json()["error"] == "unsupported_token_type"
    say("introspection of a JWT access token: 400 unsupported_token_type (as expected)")

    # client_credentials, opaque access token: the one to introspect.
    opaque = expect(http.post(f"{base}/token", auth=CLIENT, data={
        "grant_type": "client_credentials", "resource": OPAQUE}), 200, "client_credentials opaque").json()
    assert "." not in opaque["access_token"], opaque
    active = introspect(opaque["access_token"])
    assert active["active"] is True and active["client_id"] == "bench" and active["aud"] == OPAQUE, active
    say("introspection of an opaque client_credentials token:", active)
    expect(http.post(f"{base}/revoke", auth=CLIENT, data={"token": opaque["access_token"]}), 200, "revoke")
    assert introspect(opaque["access_token"]) == {"active": False}
    say("revocation of it: 200, then introspection says active false")

    # The sign-in, step by step, then the code exchange.
    trace = []
    browser, code, verifier, nonce, hops = sign_in(base, trace=trace)
    for line in trace:
        say("sign-in:", line)
    tokens = exchange(http, base, code, verifier)
    header, claims = jwt_parts(tokens["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and claims["sub"] == "alice", claims
    assert claims["aud"] == base, claims
    id_header, id_claims = jwt_parts(tokens["id_token"])
    assert id_header["alg"] == "ES256" and id_claims["nonce"] == nonce and id_claims["aud"] == "bench"
    verify_es256(tokens["id_token"], jwks)
    assert tokens["refresh_token"] and "." not in tokens["refresh_token"], tokens
    say(f"code exchange: JWT access token, ES256 ID token, opaque refresh token ({hops} requests before it)")
    rt_info = introspect(tokens["refresh_token"])
    assert rt_info["active"] is True and rt_info["scope"] == "openid offline_access", rt_info
    say("introspection of the refresh token:", rt_info)

    refreshed = expect(http.post(f"{base}/token", auth=CLIENT, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}), 200, "refresh").json()
    assert refreshed["refresh_token"] != tokens["refresh_token"], "refresh token not rotated"
    assert jwt_parts(refreshed["access_token"])[0]["typ"] == "at+jwt"
    say("refresh: new JWT access token, ID token, rotated refresh token")

    # A refresh token used twice: the grant is revoked (as ours does).
    again = http.post(f"{base}/token", auth=CLIENT, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    after = http.post(f"{base}/token", auth=CLIENT, data={
        "grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]})
    assert after.status_code == 400, after.text
    say("refresh token reuse: 400 invalid_grant, and the rotated one is revoked with the grant")

    # UserInfo: refused to a JWT access token (it has an audience); served to the opaque token
    # of a request for the person's claims (email, profile), which names no resource.
    jwt_at = refreshed["access_token"]
    refused = http.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {jwt_at}"})
    assert refused.status_code == 401, refused.text
    _, code4, verifier4, _, _ = sign_in(base, offline=False, scope="openid email profile")
    person = exchange(http, base, code4, verifier4)
    assert "." not in person["access_token"], person
    info = expect(http.get(f"{base}/userinfo",
                           headers={"Authorization": f"Bearer {person['access_token']}"}),
                  200, "userinfo").json()
    assert info == {"sub": "alice", "email": "alice@example.com", "email_verified": False,
                    "preferred_username": "alice"}, info
    say("userinfo: 401 to a JWT access token; with the opaque token of scope openid email "
        "profile:", info)


    # The same browser again: its session skips the form. prompt=consent still asks for
    # consent, which the peer grants without a page; scope openid alone goes straight back.
    # (The grant of the first sign-in is revoked by now, so the second one makes a new grant.)
    trace = []
    _, code2, verifier2, _, hops2 = sign_in(base, http=browser, trace=trace)
    for line in trace:
        say("signed-in browser, prompt=consent:", line)
    exchange(http, base, code2, verifier2)
    trace = []
    _, code3, verifier3, _, hops3 = sign_in(base, http=browser, offline=False, trace=trace)
    for line in trace:
        say("signed-in browser, scope openid:", line)
    assert "refresh_token" not in exchange(http, base, code3, verifier3)
    say(f"signed-in browser: {hops2} requests with prompt=consent, {hops3} with scope openid alone "
        "(no refresh token then)")

    # A code used twice: refused, and the grant goes with it.
    replay = http.post(f"{base}/token", auth=CLIENT, data={
        "grant_type": "authorization_code", "code": code3, "redirect_uri": REDIRECT,
        "code_verifier": verifier3})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    say("a code used twice: 400 invalid_grant")


def timings(base, repeat):
    http = requests.Session()
    post = lambda data: http.post(f"{base}/token", auth=CLIENT, data=data)
    opaque = post({"grant_type": "client_credentials", "resource": OPAQUE}).json()["access_token"]
    _, code, verifier, _, _ = sign_in(base)
    chain = [exchange(http, base, code, verifier)["refresh_token"]]

    def refresh():
        response = post({"grant_type": "refresh_token", "refresh_token": chain[-1]})
        chain.append(response.json()["refresh_token"])
        return response

    pending = []

    def prepare_code():
        pending.append(sign_in(base)[1:3])

    def code_exchange():
        code, verifier = pending.pop()
        return post({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                     "code_verifier": verifier})

    scenarios = [
        ("discovery", lambda: http.get(f"{base}/.well-known/openid-configuration"), None),
        ("jwks", lambda: http.get(f"{base}/jwks"), None),
        ("client_credentials (JWT)", lambda: post({"grant_type": "client_credentials"}), None),
        ("introspect (opaque access token)",
         lambda: http.post(f"{base}/introspect", auth=CLIENT, data={"token": opaque}), None),
        ("refresh (rotating)", refresh, None),
        ("code exchange", code_exchange, prepare_code),
        ("sign-in, authorize to code (4 requests)", lambda: sign_in(base, http=requests.Session()), None),
    ]
    print(f"latencies over {repeat} sequential requests each (ms):")
    for name, call, prepare in scenarios:
        call() if prepare is None else None  # warm up
        samples = []
        for _ in range(repeat):
            if prepare:
                prepare()
            start = time.perf_counter()
            result = call()
            samples.append((time.perf_counter() - start) * 1000)
            if isinstance(result, requests.Response) and result.status_code != 200:
                raise AssertionError(f"{name}: HTTP {result.status_code} {result.text[:200]}")
        samples.sort()
        p90 = samples[int(len(samples) * 0.9) - 1]
        print(f"  {name:42} median {statistics.median(samples):6.2f}   p90 {p90:6.2f}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", help="a running peer, e.g. http://127.0.0.1:18080")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    process = None
    base = args.base.rstrip("/") if args.base else None
    if base is None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen([os.path.join(HERE, "start"), str(port)])
        deadline = time.monotonic() + 300
        while True:
            try:
                if requests.get(f"{base}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("the peer did not start")
            time.sleep(0.1)
    try:
        print(f"peer at {base}")
        check(base)
        timings(base, args.repeat)
        print("smoke: all checks passed")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
