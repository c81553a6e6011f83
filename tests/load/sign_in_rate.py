"""Sign-ins per second per core: the sizing figure of the README.

Starts the release `idp` (or $IDP_BIN) pinned to one CPU core (`taskset`), on SQLite, with the
default Argon2id parameters, and drives complete sign-ins from the other cores: authorization
request, password, PIN, code exchange. Prints the rate and the latency percentiles.

    cargo build --release -p idp-server --bin idp
    python3 tests/load/sign_in_rate.py [--seconds 20] [--workers 4] [--core 0]

Needs Python 3 with `requests` (tests/interop/requirements.txt) and util-linux's `taskset`.
"""

import argparse
import base64
import hashlib
import html
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IDP = os.environ.get("IDP_BIN", os.path.join(ROOT, "target", "release", "idp"))
REDIRECT = "http://127.0.0.1:9/callback"
PASSWORD = "correct horse battery staple"
PIN = "482916"
FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"(.*?)</form>", re.S)
INPUT = re.compile(r"<input[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def submit(http, base, page, **answers):
    form = FORM.search(page.text)
    fields = {name: html.unescape(value) for name, value in INPUT.findall(form.group(2))}
    fields.update(answers)
    response = http.post(urljoin(base, html.unescape(form.group(1))), data=fields,
                         allow_redirects=False)
    while response.is_redirect and response.headers["location"].startswith(("/", base)):
        response = http.get(urljoin(base, response.headers["location"]), allow_redirects=False)
    return response


def sign_in(issuer, client_id, secret):
    """One complete sign-in in a fresh browser; raises unless it ends with tokens."""
    http = requests.Session()
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
        "scope": "openid", "state": os.urandom(8).hex(), "nonce": os.urandom(8).hex(),
        "code_challenge": challenge.decode(), "code_challenge_method": "S256",
    })
    page = http.get(f"{issuer}/authorize?{query}", allow_redirects=False)
    while page.is_redirect:
        page = http.get(urljoin(issuer, page.headers["location"]), allow_redirects=False)
    page = submit(http, issuer, page, username="alice", password=PASSWORD)
    done = submit(http, issuer, page, pin=PIN)
    code = parse_qs(urlparse(done.headers["location"]).query)["code"][0]
    token = http.post(f"{issuer}/token", auth=(client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    })
    token.raise_for_status()
    assert "id_token" in token.json()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--core", type=int, default=0, help="the CPU core the server gets")
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_ISSUER=issuer, IDP_LISTEN=f"127.0.0.1:{port}",
               IDP_DATA_DIR=os.path.join(workdir.name, "data"),
               IDP_DATABASE_URL=f"sqlite://{workdir.name}/data/idp.db",
               IDP_LOG="warn", IDP_NEW_DEVICE__ENABLED="false",
               # One core: one hash at a time, and a queue long enough for the workers.
               IDP_HASHING__MAX_CONCURRENT="1", IDP_HASHING__QUEUE_TIMEOUT_SECS="60")

    def cli(*argv, stdin=""):
        out = subprocess.run([IDP, *argv], env=env, cwd=workdir.name, input=stdin,
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    server = subprocess.Popen(["taskset", "-c", str(args.core), IDP, "serve"], env=env,
                              cwd=workdir.name)
    try:
        for _ in range(300):
            try:
                if requests.get(f"{issuer}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        cli("user", "create", "--username", "alice", "--email", "alice@example.com",
            stdin=f"{PASSWORD}\n{PIN}\n")
        client = cli("client", "create", "--name", "Load", "--redirect-uri", REDIRECT)
        sign_in(issuer, client["client_id"], client["client_secret"])  # warm up

        latencies, errors = [], []
        deadline = time.monotonic() + args.seconds

        def worker():
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    sign_in(issuer, client["client_id"], client["client_secret"])
                    latencies.append(time.monotonic() - started)
                except Exception as error:  # counted and shown, never hidden
                    errors.append(repr(error))

        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
        workdir.cleanup()

    rate = len(latencies) / elapsed
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"sign-ins: {len(latencies)} in {elapsed:.1f} s on one core = {rate:.1f} per second")
    print(f"latency: p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms")
    if errors:
        print(f"errors: {len(errors)}, first: {errors[0]}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
