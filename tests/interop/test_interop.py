"""Interoperability: the provider driven by Authlib, a Python OAuth/OpenID Connect library
written independently of it, the way a Python relying party would use it.

Starts `target/debug/idp` (or $IDP_BIN) on a free port with a fresh database, registers a
client over HTTP, and covers discovery, registration, code + PKCE, ID token validation,
refresh, revocation, introspection, logout, step-up, a client that signs its request (a
request object) and authenticates with private_key_jwt, and DPoP proofs Authlib signs; then,
on a provider with the implicit and hybrid response types on, the form post response mode and
those response types; then, on a provider with every client under the FAPI 2.0 Security
Profile, a pushed sign-in.
"""

import base64
import html
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import ECKey

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken, HybridIDToken, ImplicitIDToken

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the provider runs on http://127.0.0.1

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IDP = os.environ.get("IDP_BIN", os.path.join(ROOT, "target", "debug", "idp"))
REDIRECT = "http://127.0.0.1:9/callback"
AFTER_LOGOUT = "http://127.0.0.1:9/bye"
PASSWORD = "correct horse battery staple"
PIN = "482916"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def full_jwk(key, is_private=False):
    """`key` as a JWK whose EC coordinates (and private value) are full length, as RFC 7518
    §6.2.1.2 requires: Authlib drops their leading zero bytes (about one key in 250), and
    the provider refuses such a key, as the RFC has it."""
    jwk = key.as_dict(is_private=is_private)
    if jwk.get("kty") == "EC":
        size = {"P-256": 32, "P-384": 48, "P-521": 66}[jwk["crv"]]
        for name in ("x", "y", "d"):
            if name in jwk:
                raw = base64.urlsafe_b64decode(jwk[name] + "=" * (-len(jwk[name]) % 4))
                jwk[name] = base64.urlsafe_b64encode(raw.rjust(size, b"\0")).rstrip(b"=").decode()
    return jwk


class Provider:
    """A provider process of its own."""

    def __init__(self, **settings):
        self.dir = tempfile.TemporaryDirectory()
        port = free_port()
        self.issuer = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        self.env.update(
            IDP_ISSUER=self.issuer,
            IDP_LISTEN=f"127.0.0.1:{port}",
            IDP_DATA_DIR=os.path.join(self.dir.name, "data"),
            IDP_DATABASE_URL=f"sqlite://{self.dir.name}/data/idp.db",
            IDP_LOG="warn",
            # No SMTP here: the device check would need its code from the outbox.
            IDP_NEW_DEVICE__ENABLED="false",
        )
        self.env.update(settings)
        self.process = subprocess.Popen([IDP, "serve"], env=self.env, cwd=self.dir.name)
        for _ in range(300):
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("idp serve did not start")

    def cli(self, *args, stdin=""):
        done = subprocess.run([IDP, *args], env=self.env, cwd=self.dir.name, input=stdin,
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.dir.cleanup()


class Browser:
    """Fills the provider's forms as a person would: hidden inputs as found, plus answers."""

    def __init__(self, base):
        self.base = base
        self.http = requests.Session()

    def get(self, url):
        return self.http.get(urljoin(self.base, url), allow_redirects=False)

    def follow(self, response):
        while response.is_redirect and response.headers["location"].startswith(("/", self.base)):
            response = self.get(response.headers["location"])
        return response

    def hidden(self, page):
        """The inputs of the page's first form, as found."""
        form = re.search(r"<form[^>]*action=\"([^\"]*)\"(.*?)</form>", page.text, re.S)
        fields = {name: html.unescape(value)
                  for name, value in re.findall(r"<input[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"", form.group(2))}
        return html.unescape(form.group(1)), fields

    def submit(self, page, **answers):
        action, fields = self.hidden(page)
        fields.update(answers)
        return self.follow(self.http.post(urljoin(self.base, action), data=fields, allow_redirects=False))


class AuthlibInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = Provider()
        cls.alice = cls.idp.cli("user", "create", "--username", "alice", "--email", "alice@example.com",
                                stdin=f"{PASSWORD}\n{PIN}\n")["sub"]
        cls.metadata = requests.get(cls.idp.issuer + "/.well-known/openid-configuration").json()
        cls.jwks = JsonWebKey.import_key_set(requests.get(cls.metadata["jwks_uri"]).json())
        token = cls.idp.cli("registration-token", "create")["initial_access_token"]
        registered = requests.post(
            cls.metadata["registration_endpoint"],
            headers={"Authorization": f"Bearer {token}"},
            json={"client_name": "Python RP", "redirect_uris": [REDIRECT],
                  "grant_types": ["authorization_code", "refresh_token"],
                  "post_logout_redirect_uris": [AFTER_LOGOUT]},
        )
        assert registered.status_code == 201, registered.text
        cls.client = registered.json()

    @classmethod
    def tearDownClass(cls):
        cls.idp.stop()

    def session(self, client=None, **kwargs):
        client = client or self.client
        return OAuth2Session(client["client_id"], client["client_secret"],
                             scope="openid profile offline_access", redirect_uri=REDIRECT,
                             code_challenge_method="S256", **kwargs)

    def sign_in(self, browser, extra=None, expect_password=True, client=None):
        """The authorization code flow with PKCE: returns the token response and the nonce."""
        session = self.session(client)
        verifier = "v" * 20 + os.urandom(24).hex()
        nonce = os.urandom(12).hex()
        url, state = session.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **(extra or {}))
        page = browser.follow(browser.get(url))
        if expect_password:
            self.assertIn('name="password"', page.text)
            page = browser.submit(page, username="alice", password=PASSWORD)
        else:
            self.assertNotIn('name="password"', page.text)
        self.assertIn('name="pin"', page.text)
        page = browser.submit(page, pin=PIN)
        if 'name="decision"' in page.text:
            page = browser.submit(page, decision="allow")
        self.assertTrue(page.is_redirect, page.text)
        location = page.headers["location"]
        self.assertTrue(location.startswith(REDIRECT), location)
        self.assertEqual(parse_qs(urlparse(location).query)["state"], [state])
        token = session.fetch_token(self.metadata["token_endpoint"], authorization_response=location,
                                    code_verifier=verifier)
        return token, nonce

    def id_claims(self, token, nonce, client_id=None):
        claims = jwt.decode(token["id_token"], self.jwks, claims_cls=CodeIDToken,
                            claims_options={"iss": {"value": self.idp.issuer}},
                            claims_params={"nonce": nonce,
                                           "client_id": client_id or self.client["client_id"],
                                           "access_token": token["access_token"]})
        claims.validate()
        return claims

    def test_discovery_document_is_valid(self):
        OpenIDProviderMetadata(self.metadata).validate()
        self.assertIn("S256", self.metadata["code_challenge_methods_supported"])

    def test_code_flow_refresh_introspection_and_revocation(self):
        browser = Browser(self.idp.issuer)
        token, nonce = self.sign_in(browser)
        claims = self.id_claims(token, nonce)
        self.assertIn("pwd", claims["amr"])
        self.assertIn("pin", claims["amr"])
        session = self.session(token=token)
        info = session.get(self.metadata["userinfo_endpoint"]).json()
        self.assertEqual(info["preferred_username"], "alice")

        refreshed = session.refresh_token(self.metadata["token_endpoint"], refresh_token=token["refresh_token"])
        self.assertNotEqual(refreshed["refresh_token"], token["refresh_token"])
        introspected = session.introspect_token(self.metadata["introspection_endpoint"],
                                                token=refreshed["access_token"]).json()
        self.assertTrue(introspected["active"])
        self.assertEqual(introspected["acr"], claims["acr"])

        session.revoke_token(self.metadata["revocation_endpoint"], token=refreshed["refresh_token"],
                             token_type_hint="refresh_token")
        after = session.introspect_token(self.metadata["introspection_endpoint"],
                                         token=refreshed["access_token"]).json()
        self.assertFalse(after["active"])

    def test_step_up_asks_only_for_the_pin(self):
        browser = Browser(self.idp.issuer)
        first, nonce = self.sign_in(browser)
        before = self.id_claims(first, nonce)["auth_time"]
        time.sleep(1.1)
        stepped, nonce = self.sign_in(browser, extra={"max_age": 0}, expect_password=False)
        self.assertGreater(self.id_claims(stepped, nonce)["auth_time"], before)

    def test_logout_returns_to_the_registered_address(self):
        browser = Browser(self.idp.issuer)
        token, _ = self.sign_in(browser)
        page = browser.get(self.metadata["end_session_endpoint"] + "?" + requests.compat.urlencode({
            "id_token_hint": token["id_token"], "post_logout_redirect_uri": AFTER_LOGOUT, "state": "s1"}))
        self.assertEqual(page.status_code, 200)
        done = browser.submit(page)
        self.assertEqual(done.headers["location"], AFTER_LOGOUT + "?state=s1")
        silent = self.session().create_authorization_url(self.metadata["authorization_endpoint"],
                                                        code_verifier="x" * 43, prompt="none")[0]
        answer = browser.get(silent)
        self.assertIn("error=login_required", answer.headers["location"])

    def test_signed_request_object_and_private_key_jwt(self):
        key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "py-key"})
        public = full_jwk(key)
        token = self.idp.cli("registration-token", "create")["initial_access_token"]
        registered = requests.post(
            self.metadata["registration_endpoint"],
            headers={"Authorization": f"Bearer {token}"},
            json={"client_name": "Python RP", "redirect_uris": [REDIRECT],
                  "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [public]},
                  "request_object_signing_alg": "PS256"},
        )
        self.assertEqual(registered.status_code, 201, registered.text)
        client_id = registered.json()["client_id"]
        self.assertNotIn("client_secret", registered.json())
        self.assertIn("PS256", self.metadata["request_object_signing_alg_values_supported"])

        verifier = "v" * 20 + os.urandom(24).hex()
        nonce, state = os.urandom(12).hex(), os.urandom(12).hex()
        claims = {"iss": client_id, "aud": self.idp.issuer, "exp": int(time.time()) + 300,
                  "client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT,
                  "scope": "openid profile", "state": state, "nonce": nonce,
                  "code_challenge": create_s256_code_challenge(verifier),
                  "code_challenge_method": "S256"}
        header = {"alg": "PS256", "kid": "py-key", "typ": "oauth-authz-req+jwt"}
        request_object = jwt.encode(header, claims, key).decode()
        url = self.metadata["authorization_endpoint"] + "?" + requests.compat.urlencode({
            "client_id": client_id, "response_type": "code", "scope": "openid",
            "request": request_object})
        browser = Browser(self.idp.issuer)
        page = browser.follow(browser.get(url))
        page = browser.submit(page, username="alice", password=PASSWORD)
        page = browser.submit(page, pin=PIN)
        if "Allow Python RP?" in page.text:
            page = browser.submit(page, decision="allow")
        self.assertTrue(page.is_redirect, page.text)
        location = page.headers["location"]
        self.assertEqual(parse_qs(urlparse(location).query)["state"], [state])

        session = OAuth2Session(client_id, full_jwk(key, is_private=True),
                                token_endpoint_auth_method="private_key_jwt",
                                redirect_uri=REDIRECT)
        # Authlib's assertions live an hour unless told; the provider takes at most ten minutes.
        short = {"exp": int(time.time()) + 60}
        session.register_client_auth_method(PrivateKeyJWT(self.metadata["token_endpoint"], claims=short))
        token = session.fetch_token(self.metadata["token_endpoint"], authorization_response=location,
                                    code_verifier=verifier)
        self.assertEqual(self.id_claims(token, nonce, client_id)["nonce"], nonce)

        # A request object signed with an algorithm other than the registered one is refused.
        other = jwt.encode({"alg": "RS256", "kid": "py-key"}, claims, key).decode()
        refused = browser.get(self.metadata["authorization_endpoint"] + "?" + requests.compat.urlencode({
            "client_id": client_id, "response_type": "code", "scope": "openid", "request": other}))
        self.assertIn("error=invalid_request_object", refused.headers["location"])
    def test_a_registered_client_gets_rs256_and_its_hint_and_prompts_are_honoured(self):
        # OpenID Connect Dynamic Registration §2: RS256 unless the client named another.
        self.assertEqual(self.client["id_token_signed_response_alg"], "RS256")
        browser = Browser(self.idp.issuer)
        token, nonce = self.sign_in(browser)
        header = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[0] + "=="))
        self.assertEqual(header["alg"], "RS256")
        self.id_claims(token, nonce)
        # The person's own ID token as a hint answers silently.
        url = self.session().create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier="h" * 43, prompt="none",
            id_token_hint=token["id_token"], nonce="n1")[0]
        self.assertIn("code=", browser.get(url).headers["location"])
        # prompt=consent asks again, though the person allowed this client before.
        url = self.session().create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier="c" * 43, prompt="consent",
            nonce="n2")[0]
        self.assertIn("Allow Python RP?", browser.follow(browser.get(url)).text)

    def test_signed_userinfo_of_a_pairwise_client(self):
        token = self.idp.cli("registration-token", "create")["initial_access_token"]
        registered = requests.post(
            self.metadata["registration_endpoint"],
            headers={"Authorization": f"Bearer {token}"},
            json={"client_name": "Signed RP", "redirect_uris": [REDIRECT],
                  "grant_types": ["authorization_code"], "subject_type": "pairwise",
                  "userinfo_signed_response_alg": "RS256"},
        )
        self.assertEqual(registered.status_code, 201, registered.text)
        client = registered.json()
        self.assertEqual(client["subject_type"], "pairwise")
        self.assertIn("pairwise", self.metadata["subject_types_supported"])
        self.assertIn("RS256", self.metadata["userinfo_signing_alg_values_supported"])
        browser = Browser(self.idp.issuer)
        token, nonce = self.sign_in(browser, client=client)
        sub = self.id_claims(token, nonce, client["client_id"])["sub"]
        self.assertNotEqual(sub, self.alice)
        answer = self.session(client, token=token).get(self.metadata["userinfo_endpoint"])
        self.assertEqual(answer.headers["content-type"], "application/jwt")
        info = jwt.decode(answer.text, self.jwks, claims_options={
            "iss": {"essential": True, "value": self.idp.issuer},
            "aud": {"essential": True, "value": client["client_id"]},
            "sub": {"essential": True, "value": sub}})
        info.validate()
        self.assertEqual(info.header["alg"], "RS256")
        self.assertEqual(info["preferred_username"], "alice")


    def test_dpop_binds_a_token_to_the_key_authlib_made(self):
        """RFC 9449: proofs signed by Authlib; the key's thumbprint computed by Authlib."""
        token = self.idp.cli("registration-token", "create")["initial_access_token"]
        registered = requests.post(
            self.metadata["registration_endpoint"], headers={"Authorization": f"Bearer {token}"},
            json={"client_name": "Batch", "redirect_uris": [REDIRECT], "grant_types": ["client_credentials"],
                  "dpop_bound_access_tokens": True})
        self.assertEqual(registered.status_code, 201, registered.text)
        client = registered.json()
        self.assertTrue(client["dpop_bound_access_tokens"])
        self.assertEqual(self.metadata["dpop_signing_alg_values_supported"], ["ES256", "PS256", "EdDSA"])
        key = JsonWebKey.generate_key("EC", "P-256", is_private=True)

        def proof(method, url):
            return dpop_proof(key, method, url)

        endpoint = self.metadata["token_endpoint"]
        auth = (client["client_id"], client["client_secret"])
        form = {"grant_type": "client_credentials"}
        refused = requests.post(endpoint, auth=auth, data=form)
        self.assertEqual((refused.status_code, refused.json()["error"]), (400, "invalid_dpop_proof"))
        good = proof("POST", endpoint)
        answer = requests.post(endpoint, auth=auth, data=form, headers={"DPoP": good})
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertEqual(answer.json()["token_type"], "DPoP")
        replayed = requests.post(endpoint, auth=auth, data=form, headers={"DPoP": good})
        self.assertEqual((replayed.status_code, replayed.json()["error"]), (400, "invalid_dpop_proof"))
        introspected = requests.post(self.metadata["introspection_endpoint"], auth=auth,
                                     data={"token": answer.json()["access_token"]}).json()
        self.assertEqual(introspected["token_type"], "DPoP")
        self.assertEqual(introspected["cnf"], {"jkt": key.thumbprint()})


class AuthlibResponseModes(unittest.TestCase):
    """A provider with `protocol.implicit_and_hybrid` on, and a client registered for the code,
    hybrid and implicit response types."""

    @classmethod
    def setUpClass(cls):
        cls.idp = Provider(IDP_PROTOCOL__IMPLICIT_AND_HYBRID="true")
        cls.idp.cli("user", "create", "--username", "alice", "--email", "alice@example.com",
                    stdin=f"{PASSWORD}\n{PIN}\n")
        cls.metadata = requests.get(cls.idp.issuer + "/.well-known/openid-configuration").json()
        cls.jwks = JsonWebKey.import_key_set(requests.get(cls.metadata["jwks_uri"]).json())
        token = cls.idp.cli("registration-token", "create")["initial_access_token"]
        registered = requests.post(
            cls.metadata["registration_endpoint"],
            headers={"Authorization": f"Bearer {token}"},
            json={"client_name": "Python RP", "redirect_uris": [REDIRECT],
                  "grant_types": ["authorization_code", "implicit"],
                  "response_types": ["code", "code id_token token", "id_token token"]},
        )
        assert registered.status_code == 201, registered.text
        cls.client = registered.json()

    @classmethod
    def tearDownClass(cls):
        cls.idp.stop()

    def authorize(self, browser, response_type, **extra):
        """Signs in (or answers from the session) for `response_type`: the last answer, the
        Authlib session, its state, nonce and PKCE verifier."""
        session = OAuth2Session(self.client["client_id"], self.client["client_secret"],
                                scope="openid profile", redirect_uri=REDIRECT,
                                code_challenge_method="S256")
        verifier = "v" * 20 + os.urandom(24).hex()
        nonce = os.urandom(12).hex()
        url, state = session.create_authorization_url(
            self.metadata["authorization_endpoint"], response_type=response_type,
            code_verifier=verifier, nonce=nonce, **extra)
        page = browser.follow(browser.get(url))
        if 'name="password"' in page.text:
            page = browser.submit(page, username="alice", password=PASSWORD)
            page = browser.submit(page, pin=PIN)
        if "Allow Python RP?" in page.text:
            page = browser.submit(page, decision="allow")
        return page, session, state, nonce, verifier

    def claims(self, id_token, claims_cls, nonce, **params):
        claims = jwt.decode(id_token, self.jwks, claims_cls=claims_cls,
                            claims_options={"iss": {"value": self.idp.issuer}},
                            claims_params={"nonce": nonce, "client_id": self.client["client_id"],
                                           **params})
        claims.validate()
        return claims

    def test_discovery_lists_the_modes_and_types(self):
        OpenIDProviderMetadata(self.metadata).validate()
        self.assertIn("form_post", self.metadata["response_modes_supported"])
        self.assertIn("code id_token token", self.metadata["response_types_supported"])
        self.assertIn("implicit", self.metadata["grant_types_supported"])

    def test_form_post_delivers_a_code_that_exchanges(self):
        browser = Browser(self.idp.issuer)
        page, session, state, nonce, verifier = self.authorize(browser, "code", response_mode="form_post")
        self.assertEqual(page.status_code, 200, page.text)
        self.assertEqual(page.headers["cache-control"], "no-store")
        self.assertIn("form-action http://127.0.0.1:9", page.headers["content-security-policy"])
        action, fields = browser.hidden(page)
        self.assertEqual(action, REDIRECT)
        self.assertEqual(fields["state"], state)
        self.assertEqual(fields["iss"], self.idp.issuer)
        token = session.fetch_token(self.metadata["token_endpoint"], code=fields["code"],
                                    code_verifier=verifier)
        self.claims(token["id_token"], CodeIDToken, nonce, access_token=token["access_token"])

    def test_hybrid_in_the_fragment_with_c_hash_and_at_hash(self):
        browser = Browser(self.idp.issuer)
        page, session, state, nonce, _ = self.authorize(browser, "code id_token token")
        self.assertTrue(page.is_redirect, page.text)
        location = urlparse(page.headers["location"])
        self.assertEqual(location.query, "")
        answer = {k: v[0] for k, v in parse_qs(location.fragment).items()}
        self.assertEqual(answer["state"], state)
        self.assertEqual(answer["token_type"], "Bearer")
        self.claims(answer["id_token"], HybridIDToken, nonce,
                    access_token=answer["access_token"], code=answer["code"])
        info = requests.get(self.metadata["userinfo_endpoint"],
                            headers={"Authorization": f"Bearer {answer['access_token']}"})
        self.assertEqual(info.json()["preferred_username"], "alice")
        # Authlib sends PKCE with response_type=code only: this confidential client's code has
        # no challenge, so the exchange has no verifier.
        token = session.fetch_token(self.metadata["token_endpoint"], code=answer["code"])
        self.claims(token["id_token"], CodeIDToken, nonce, access_token=token["access_token"])

    def test_implicit_by_form_post(self):
        browser = Browser(self.idp.issuer)
        page, _, state, nonce, _ = self.authorize(browser, "id_token token", response_mode="form_post")
        self.assertEqual(page.status_code, 200, page.text)
        _, fields = browser.hidden(page)
        self.assertEqual(fields["state"], state)
        self.claims(fields["id_token"], ImplicitIDToken, nonce, access_token=fields["access_token"])

    def test_an_id_token_needs_a_nonce(self):
        browser = Browser(self.idp.issuer)
        url = self.metadata["authorization_endpoint"] + "?" + requests.compat.urlencode({
            "client_id": self.client["client_id"], "redirect_uri": REDIRECT,
            "response_type": "id_token", "scope": "openid", "state": "s1"})
        answer = browser.get(url)
        fragment = parse_qs(urlparse(answer.headers["location"]).fragment)
        self.assertEqual(fragment["error"], ["invalid_request"])
        self.assertEqual(fragment["state"], ["s1"])


class ShortPrivateKeyJWT(PrivateKeyJWT):
    """Assertions that live a minute, each with a jti of its own: Authlib adds its jti to the
    `claims` it was given and so would send it again with the next one (a replay, refused)."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def dpop_proof(key, method, url):
    """A DPoP proof (RFC 9449) that Authlib signs with the EC `key`, for `method` at `url`."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": full_jwk(key)}
    claims = {"jti": os.urandom(12).hex(), "htm": method, "htu": url, "iat": int(time.time())}
    return jwt.encode(header, claims, key).decode()


class FapiInterop(unittest.TestCase):
    """A provider with every client under the FAPI 2.0 Security Profile (`fapi2.all_clients`),
    driven by Authlib: PAR, PKCE, private_key_jwt signed ES256 for the issuer, DPoP-bound
    tokens, refresh."""

    BANK = "https://bank.example/callback"

    @classmethod
    def setUpClass(cls):
        cls.idp = Provider(IDP_FAPI2__ALL_CLIENTS="true")
        cls.idp.cli("user", "create", "--username", "alice", "--email", "alice@example.com",
                    stdin=f"{PASSWORD}\n{PIN}\n")
        cls.metadata = requests.get(cls.idp.issuer + "/.well-known/openid-configuration").json()
        cls.jwks = JsonWebKey.import_key_set(requests.get(cls.metadata["jwks_uri"]).json())
        cls.key = JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": "bank"})
        cls.client_id = cls.idp.cli(
            "client", "create", "--name", "Bank", "--redirect-uri", cls.BANK, "--fapi2",
            "--token-endpoint-auth-method", "private_key_jwt",
            "--jwks", json.dumps({"keys": [full_jwk(cls.key)]}))["client_id"]

    @classmethod
    def tearDownClass(cls):
        cls.idp.stop()

    def session(self, audience):
        """An Authlib session whose assertions (ES256, a minute long) name `audience`."""
        # Authlib takes a key other than RSA as a joserfc key (joserfc comes with it).
        key = ECKey.import_key(full_jwk(self.key, is_private=True))
        session = OAuth2Session(self.client_id, key,
                                token_endpoint_auth_method="private_key_jwt",
                                redirect_uri=self.BANK, scope="openid offline_access")
        session.register_client_auth_method(ShortPrivateKeyJWT(audience, alg="ES256"))
        return session

    def test_discovery_says_what_the_profile_asks(self):
        OpenIDProviderMetadata(self.metadata).validate()
        self.assertTrue(self.metadata["require_pushed_authorization_requests"])
        self.assertEqual(self.metadata["token_endpoint_auth_methods_supported"], ["private_key_jwt"])
        self.assertNotIn("RS256", self.metadata["token_endpoint_auth_signing_alg_values_supported"])
        self.assertEqual(self.metadata["response_types_supported"], ["code"])

    def test_pushed_sign_in_code_exchange_and_a_refresh_that_keeps_its_token(self):
        session = self.session(self.idp.issuer)
        verifier = "v" * 20 + os.urandom(24).hex()
        nonce, state = os.urandom(12).hex(), os.urandom(12).hex()
        pushed = session.post(
            self.metadata["pushed_authorization_request_endpoint"], withhold_token=True,
            auth=session.client_auth("private_key_jwt"),
            data={"client_id": self.client_id, "response_type": "code", "redirect_uri": self.BANK,
                  "scope": "openid offline_access", "state": state, "nonce": nonce,
                  "code_challenge": create_s256_code_challenge(verifier),
                  "code_challenge_method": "S256"})
        self.assertEqual(pushed.status_code, 201, pushed.text)
        self.assertLessEqual(pushed.json()["expires_in"], 600)
        browser = Browser(self.idp.issuer)
        page = browser.follow(browser.get(self.metadata["authorization_endpoint"] + "?" +
                                          requests.compat.urlencode({
                                              "client_id": self.client_id,
                                              "request_uri": pushed.json()["request_uri"]})))
        page = browser.submit(page, username="alice", password=PASSWORD)
        page = browser.submit(page, pin=PIN)
        self.assertTrue(page.is_redirect, page.text)
        answer = parse_qs(urlparse(page.headers["location"]).query)
        self.assertEqual(answer["state"], [state])
        self.assertEqual(answer["iss"], [self.idp.issuer])

        # Authlib's default audience, the token endpoint, is refused; so is a request without
        # a DPoP proof (the profile's tokens are sender-constrained); the code stays good.
        endpoint = self.metadata["token_endpoint"]
        dpop_key = JsonWebKey.generate_key("EC", "P-256", is_private=True)
        with self.assertRaises(Exception) as refused:
            self.session(endpoint).fetch_token(
                endpoint, code=answer["code"][0], code_verifier=verifier,
                headers={"DPoP": dpop_proof(dpop_key, "POST", endpoint)})
        self.assertIn("invalid_client", str(refused.exception))
        with self.assertRaises(Exception) as refused:
            session.fetch_token(endpoint, code=answer["code"][0], code_verifier=verifier)
        self.assertIn("invalid_dpop_proof", str(refused.exception))
        token = session.fetch_token(endpoint, code=answer["code"][0], code_verifier=verifier,
                                    headers={"DPoP": dpop_proof(dpop_key, "POST", endpoint)})
        self.assertEqual(token["token_type"], "DPoP")
        claims = jwt.decode(token["id_token"], self.jwks, claims_cls=CodeIDToken,
                            claims_options={"iss": {"value": self.idp.issuer}},
                            claims_params={"nonce": nonce, "client_id": self.client_id,
                                           "access_token": token["access_token"]})
        claims.validate()
        for _ in range(2):
            refreshed = session.refresh_token(
                endpoint, refresh_token=token["refresh_token"],
                headers={"DPoP": dpop_proof(dpop_key, "POST", endpoint)})
            self.assertEqual(refreshed["refresh_token"], token["refresh_token"])


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"interop: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
