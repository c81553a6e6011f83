// The pages as people use them, in headless Chromium with JavaScript off (every page must
// work without it): sign-up, sign-in with PIN, a wrong PIN to lockout to recovery, a
// forgotten password reset with a code and the PIN, the
// account page (confirming an e-mail address, changing the PIN), sign-out, help and error
// pages, in English and in Spanish. Every page is scanned with axe-core (no serious or
// critical violation) and photographed into target/browser-artifacts/.
//
// Run by tests/browser/run, which starts nothing: this file starts the provider (the debug
// `idp` binary), a relying party of its own, and the browser, and stops them all.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHash, createHmac, createPublicKey, randomBytes, verify as cryptoVerify } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const ROOT = process.env.IDP_ROOT;
const IDP = join(ROOT, "target", "debug", "idp");
const ARTIFACTS = join(ROOT, "target", "browser-artifacts");
const AXE = readFileSync(join(process.cwd(), "node_modules", "axe-core", "axe.min.js"), "utf8");
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase for tax day";

let provider, workdir, env, issuer, rp, rpBase, client, browser;
const scanned = [];

function free() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function cli(...args) {
  return JSON.parse(execFileSync(IDP, args, { env, cwd: workdir, encoding: "utf8" }));
}

/** A person made with the command line (password, PIN, confirmed e-mail address). */
function createPerson(username) {
  execFileSync(IDP, ["user", "create", "--username", username, "--email", `${username}@example.com`,
    "--email-verified"], { env, cwd: workdir, encoding: "utf8", input: `${PASSWORD}\n482916\n` });
}

/** The code an authenticator app with the base32 `key` shows at `seconds` (RFC 6238). */
function appCode(key, seconds = Date.now() / 1000) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of key.replace(/\s/g, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac("sha1", bytes).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return ((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

/** The newest one-time code sent to `recipient`, from the outbox (no SMTP is configured). */
function codeFor(recipient) {
  const codes = cli("outbox", "list")
    .filter((m) => m.to === recipient)
    .map((m) => m.body.match(/\b(\d{6})\b/))
    .filter(Boolean);
  assert.ok(codes.length, `no code sent to ${recipient}`);
  return codes[codes.length - 1][1];
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  workdir = mkdtempSync(join(tmpdir(), "idp-browser-"));
  const port = await free();
  // A host name, not an address: passkeys are scoped to a domain (`localhost` counts).
  issuer = `http://localhost:${port}`;
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IDP_")));
  Object.assign(env, {
    IDP_ISSUER: issuer,
    IDP_LISTEN: `127.0.0.1:${port}`,
    IDP_DATA_DIR: join(workdir, "data"),
    IDP_DATABASE_URL: `sqlite://${workdir}/data/idp.db`,
    IDP_LOG: "warn",
  });
  // The relying party: its callback shows what it got, after exchanging the code.
  const rpPort = await free();
  rpBase = `http://127.0.0.1:${rpPort}`;
  rp = createServer(async (request, response) => {
    const url = new URL(request.url, rpBase);
    const code = url.searchParams.get("code");
    const { verifier, by } = rp.verifiers.get(url.searchParams.get("state")) ?? {};
    let outcome = `error: ${url.searchParams.get("error")}`;
    if (code && verifier) {
      const answer = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${by.client_id}:${by.client_secret}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: `${rpBase}/callback`,
          code_verifier: verifier,
        }),
      }).then((r) => r.json());
      rp.lastIdToken = answer.id_token;
      const claims = JSON.parse(Buffer.from(answer.id_token.split(".")[1], "base64url"));
      outcome = `signed in: ${claims.amr.join(",")} ${claims.acr}`;
    }
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(`<!doctype html><html lang="en"><title>Tax portal</title><main><h1>Tax portal</h1><p id="outcome">${outcome}</p></main></html>`);
  });
  rp.verifiers = new Map();
  await new Promise((resolve) => rp.listen(rpPort, "127.0.0.1", resolve));

  provider = spawn(IDP, ["serve"], { env, cwd: workdir, stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${issuer}/readyz`)).ok) break;
    } catch {}
    assert.ok(i < 300, "the provider did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  client = cli("client", "create", "--name", "Tax Portal", "--redirect-uri", `${rpBase}/callback`,
    "--third-party");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
});

after(async () => {
  await browser?.close();
  provider?.kill("SIGTERM");
  rp?.close();
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

// The narrowest screen the pages are made for.
const SCREEN = { width: 320, height: 720 };

/** A browser of its own: JavaScript off, the narrowest screen, speaking `language`. */
async function person(language) {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    locale: language === "es" ? "es-ES" : "en-GB",
    viewport: SCREEN,
  });
  return { context, page: await context.newPage() };
}

/** Scans the page the browser shows with axe-core, in a second, scripted copy of it (the
 * person's own browser runs no script), and keeps a screenshot of it. */
async function check(page, name, language) {
  const html = await page.content();
  const url = page.url();
  await page.screenshot({ path: join(ARTIFACTS, `${language}-${name}.png`), fullPage: true });
  const lang = await page.getAttribute("html", "lang");
  assert.equal(lang, language, `${name} is not in ${language}`);
  // The copy: same markup and stylesheet, with script allowed only for the scan.
  const scanner = await browser.newContext({ bypassCSP: true, viewport: SCREEN });
  const copy = await scanner.newPage();
  await copy.route(url, (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
  await copy.goto(url);
  await copy.addScriptTag({ content: AXE });
  const results = await copy.evaluate(() =>
    window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }));
  // Nothing wider than the screen: no sideways scrolling on a 320-pixel phone.
  const [width, height] = await copy.evaluate(() =>
    [document.documentElement.scrollWidth, document.documentElement.scrollHeight]);
  await scanner.close();
  assert.ok(width <= SCREEN.width, `${language}/${name} is ${width} pixels wide`);
  const serious = results.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `${language}/${name} has accessibility violations`,
  );
  scanned.push(`${language}/${name}`);
  return height;
}

/** An authorization request of the relying party, as the client `by` (the one made at the
 * start unless another is given). */
function authorizeUrl(extra = {}, by = client) {
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(8).toString("base64url");
  rp.verifiers.set(state, { verifier, by });
  const params = new URLSearchParams({
    response_type: "code",
    client_id: by.client_id,
    redirect_uri: `${rpBase}/callback`,
    scope: "openid email",
    state,
    nonce: randomBytes(8).toString("base64url"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...extra,
  });
  return `${issuer}/authorize?${params}`;
}

/** Submits the form that holds `field` (or the page's only form). */
async function submit(page, field) {
  const form = field ? page.locator(`form:has([name="${field}"])`) : page.locator("main form").first();
  await form.locator('button[type="submit"]').first().click();
}

for (const language of ["en", "es"]) {
  test(`sign-up, account, sign-out, sign-in with lockout and recovery (${language})`, async () => {
    const username = `ana${language}${randomBytes(3).toString("hex")}`;
    const email = `${username}@example.com`;
    const ui = language === "es" ? { ui_locales: "es-MX en" } : {};
    const first = await person(language);
    let page = first.page;

    // Sign-up, from the sign-in page the relying party sent the person to.
    await page.goto(authorizeUrl(ui));
    await check(page, "login", language);
    await page.locator('a[href^="/signup"]').click();
    await check(page, "signup", language);
    await page.fill("#username", username);
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.fill("#password_confirm", "something else entirely");
    await submit(page, "username");
    assert.equal(await page.getAttribute("#password_confirm", "aria-invalid"), "true");
    assert.ok(await page.locator('.error-summary a[href="#password_confirm"]').count());
    await check(page, "signup-error", language);
    await page.fill("#password", PASSWORD);
    await page.fill("#password_confirm", PASSWORD);
    await submit(page, "username");

    // The PIN, with its rules said before typing; a weak one is refused.
    assert.ok(await page.getAttribute("#pin", "aria-describedby"));
    await check(page, "pin-create", language);
    await page.fill("#pin", "123456");
    await page.fill("#pin_confirm", "123456");
    await submit(page, "pin");
    assert.equal(await page.getAttribute("#pin", "aria-invalid"), "true");
    await check(page, "pin-create-error", language);
    await page.fill("#pin", "482916");
    await page.fill("#pin_confirm", "482916");
    await submit(page, "pin");

    // Consent for the third-party relying party, then back to it, signed in.
    await check(page, "consent", language);
    await page.locator('button[value="allow"]').click();
    assert.match(await page.locator("#outcome").innerText(), /signed in: pwd,pin/);

    // The account page: confirm the e-mail address (recovery needs it), change the PIN.
    // Its sections fit in two screens of the narrowest phone with every form folded; a form
    // opens from its summary.
    await page.goto(`${issuer}/account`);
    const height = await check(page, "account", language);
    assert.ok(height <= 2 * SCREEN.height, `${language}/account is ${height} pixels tall`);
    await page.locator("#contact-change > summary").click();
    await page.fill("#contact_password", PASSWORD);
    await submit(page, "value");
    await check(page, "account-code", language);
    await page.fill("#code", codeFor(email));
    await submit(page, "code");
    assert.ok(await page.locator(".notice").count());
    await page.locator("#pin-section > summary").click();
    await page.fill("#current_pin", "000000");
    await page.fill("#new_pin", "739154");
    await page.fill("#new_pin_confirm", "739154");
    await submit(page, "current_pin");
    assert.equal(await page.getAttribute("#current_pin", "aria-invalid"), "true");
    await check(page, "account-error", language);
    await page.fill("#current_pin", "482916");
    await page.fill("#new_pin", "739154");
    await page.fill("#new_pin_confirm", "739154");
    await submit(page, "current_pin");
    assert.ok(await page.locator(".notice").count());
    await check(page, "account-notice", language);

    // Sign-out, confirmed.
    await page.goto(`${issuer}/logout`);
    await check(page, "logout", language);
    await submit(page);
    await check(page, "signed-out", language);
    await first.context.close();

    // A new browser: wrong password, then wrong PINs until the PIN locks.
    const second = await person(language);
    page = second.page;
    await page.goto(authorizeUrl(ui));
    await page.fill("#username", username);
    await page.fill("#password", "not my password");
    await submit(page, "username");
    assert.equal(await page.getAttribute("#password", "aria-invalid"), "true");
    await check(page, "login-error", language);
    await page.fill("#username", username);
    await page.fill("#password", PASSWORD);
    await submit(page, "username");
    await check(page, "pin", language);
    await page.fill("#pin", "my password");
    await submit(page, "pin");
    await check(page, "pin-not-digits", language);
    for (let wrong = 0; wrong < 5; wrong++) {
      await page.fill("#pin", "111222");
      await submit(page, "pin");
      if (wrong === 0) await check(page, "pin-error", language);
    }
    await check(page, "locked", language);

    // Recovery: a code to the confirmed address, then a new PIN, then the new browser's code.
    await page.locator('a[href$="/recover"]').click();
    await check(page, "recover-choose", language);
    await submit(page, "channel");
    await check(page, "recover-code", language);
    await page.fill("#code", "000000");
    await submit(page, "code");
    await check(page, "recover-code-error", language);
    await page.fill("#code", codeFor(email));
    await submit(page, "code");
    await check(page, "new-pin", language);
    await page.fill("#pin", "583926");
    await page.fill("#pin_confirm", "583926");
    await submit(page, "pin");
    // The recovery code also proved this browser's owner: no new-device code is asked.
    assert.match(await page.locator("#outcome").innerText(), /signed in: pwd,pin,otp/);
    await second.context.close();

    // Yet another browser, with the right password and the new PIN: a new-device code.
    const fourth = await person(language);
    page = fourth.page;
    await page.goto(authorizeUrl(ui));
    await page.fill("#username", username);
    await page.fill("#password", PASSWORD);
    await submit(page, "username");
    await page.fill("#pin", "583926");
    await submit(page, "pin");
    await check(page, "device", language);
    await page.fill("#code", "000000");
    await submit(page, "code");
    assert.equal(await page.getAttribute("#code", "aria-invalid"), "true");
    await check(page, "device-error", language);
    await page.fill("#code", codeFor(email));
    await submit(page, "code");
    assert.match(await page.locator("#outcome").innerText(), /signed in: pwd,pin,otp/);
    await fourth.context.close();

    // A forgotten password: a code to the confirmed address, the PIN, then a new password.
    const fifth = await person(language);
    page = fifth.page;
    await page.goto(authorizeUrl(ui));
    await page.locator("#forgot-password").click();
    await check(page, "reset-username", language);
    await page.fill("#username", username);
    await submit(page, "username");
    await check(page, "reset-choose", language);
    await submit(page, "channel");
    await check(page, "reset-code", language);
    await page.fill("#code", "000000");
    await submit(page, "code");
    assert.equal(await page.getAttribute("#code", "aria-invalid"), "true");
    await check(page, "reset-code-error", language);
    await page.fill("#code", codeFor(email));
    await submit(page, "code");
    await check(page, "reset-pin", language);
    await page.fill("#pin", "583926");
    await submit(page, "pin");
    await check(page, "reset-password", language);
    await page.fill("#password", NEW_PASSWORD);
    await page.fill("#password_confirm", "not the same at all");
    await submit(page, "password");
    assert.equal(await page.getAttribute("#password_confirm", "aria-invalid"), "true");
    await check(page, "reset-password-error", language);
    await page.fill("#password", NEW_PASSWORD);
    await page.fill("#password_confirm", NEW_PASSWORD);
    await submit(page, "password");
    assert.match(await page.locator("#outcome").innerText(), /signed in: pwd,pin,otp/);
    await fifth.context.close();

    // Help, an untrusted request and an unknown address.
    const third = await person(language);
    page = third.page;
    // A sign-up that did not come from a relying party ends on a page of its own.
    await page.goto(`${issuer}/signup`);
    await page.fill("#username", `${username}b`);
    await page.fill("#email", `b.${email}`);
    await page.fill("#password", PASSWORD);
    await page.fill("#password_confirm", PASSWORD);
    await submit(page, "username");
    await page.fill("#pin", "640271");
    await page.fill("#pin_confirm", "640271");
    await submit(page, "pin");
    await check(page, "signed-up", language);
    await page.goto(`${issuer}/help`);
    await check(page, "help", language);
    await page.goto(`${issuer}/`);
    await check(page, "front", language);
    await page.locator('main a[href="/signup"]').first().click();
    assert.equal(await page.locator("main").getAttribute("data-page"), "signup");
    await page.goto(`${issuer}/authorize?client_id=nobody&response_type=code`);
    await check(page, "error", language);
    await page.goto(`${issuer}/no-such-page`);
    await check(page, "not-found", language);
    await third.context.close();
  });
}

for (const language of ["en", "es"]) {
  test(`a relying party asks for aal2: an authenticator app after the PIN (${language})`, async () => {
    const username = `eva${language}${randomBytes(3).toString("hex")}`;
    createPerson(username);
    const ui = language === "es" ? { ui_locales: "es" } : {};
    const aal2 = { acr_values: "urn:idp:acr:aal2", ...ui };
    const { context, page } = await person(language);
    await page.goto(authorizeUrl(aal2));
    await page.fill("#username", username);
    await page.fill("#password", PASSWORD);
    await submit(page, "username");
    await page.fill("#pin", "482916");
    await submit(page, "pin");
    // A new browser passes its code first; only then can a factor be added here.
    await page.fill("#code", codeFor(`${username}@example.com`));
    await submit(page, "code");
    await check(page, "second-factor-none", language);
    await page.locator('a[href$="/second-factor/add-app"]').click();
    await check(page, "add-app", language);
    const key = await page.locator("#secret").innerText();
    await page.fill("#otp", "000000");
    await submit(page, "otp");
    assert.equal(await page.getAttribute("#otp", "aria-invalid"), "true");
    await check(page, "add-app-error", language);
    await page.fill("#otp", appCode(key));
    await page.fill("#name", "Phone");
    await submit(page, "otp");
    // The relying party is a third party: the person allows it once.
    await page.locator('button[value="allow"]').click();
    assert.match(await page.locator("#outcome").innerText(), /signed in: pwd,pin,otp,mfa urn:idp:acr:aal2$/);

    // Next time the app is asked; the code already used is not taken again.
    await page.goto(authorizeUrl({ ...aal2, prompt: "login" }));
    await page.fill("#username", username);
    await page.fill("#password", PASSWORD);
    await submit(page, "username");
    await page.fill("#pin", "482916");
    await submit(page, "pin");
    await check(page, "second-factor", language);
    await page.fill("#otp", appCode(key, Date.now() / 1000 + 30));
    await submit(page, "otp");
    assert.match(await page.locator("#outcome").innerText(), /urn:idp:acr:aal2$/);
    await context.close();
  });
}

for (const language of ["en", "es"]) {
  test(`a relying party asks for a passkey: added after the PIN, then used (${language})`, async () => {
    const username = `pia${language}${randomBytes(3).toString("hex")}`;
    createPerson(username);
    const ui = language === "es" ? { ui_locales: "es" } : {};
    const claims = JSON.stringify({ id_token: { acr: { essential: true,
      values: ["urn:idp:acr:aal2-phishing-resistant"] } } });
    // The passkey step is the one page with a script: this browser runs it, with Chromium's
    // virtual authenticator (a key held by the device, with a screen lock).
    const context = await browser.newContext({
      locale: language === "es" ? "es-ES" : "en-GB",
      viewport: SCREEN,
    });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", { options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    } });
    const signIn = async (extra) => {
      await page.goto(authorizeUrl({ claims, ...ui, ...extra }));
      await page.fill("#username", username);
      await page.fill("#password", PASSWORD);
      await submit(page, "username");
      await page.fill("#pin", "482916");
      await submit(page, "pin");
    };
    await signIn({});
    await page.fill("#code", codeFor(`${username}@example.com`));
    await submit(page, "code");
    await check(page, "second-factor-add-passkey", language);
    await page.fill("#passkey_name", "Laptop");
    await page.locator("#passkey-form button").click();
    await page.locator('button[value="allow"]').click();
    assert.match(await page.locator("#outcome").innerText(),
      /signed in: pwd,pin,otp,hwk,mfa urn:idp:acr:aal2-phishing-resistant$/);

    await signIn({ prompt: "login" });
    await check(page, "second-factor-passkey", language);
    await page.locator("#passkey-form button").click();
    assert.match(await page.locator("#outcome").innerText(),
      /signed in: pwd,pin,hwk,mfa urn:idp:acr:aal2-phishing-resistant$/);
    await context.close();
  });
}

for (const language of ["en", "es"]) {
  test(`support unlocks a locked PIN from the console, and the person sets a new one (${language})`, async () => {
    const suffix = `${language}${randomBytes(3).toString("hex")}`;
    const staff = `sam${suffix}`;
    const locked = `lou${suffix}`;
    createPerson(staff);
    createPerson(locked);
    const given = cli("user", "role", staff, "--grant", "support", "--reason", "on call");
    assert.deepEqual(given.roles, ["support"]);
    const ui = language === "es" ? { ui_locales: "es" } : {};

    // Lou locks the PIN.
    const lou = await person(language);
    await lou.page.goto(authorizeUrl(ui));
    await lou.page.fill("#username", locked);
    await lou.page.fill("#password", PASSWORD);
    await submit(lou.page, "username");
    for (let i = 0; i < 5; i++) {
      await lou.page.fill("#pin", "909192");
      await submit(lou.page, "pin");
    }

    // Someone without the role is refused.
    const other = await person(language);
    createPerson(`ola${suffix}`);
    await other.page.goto(`${issuer}/admin`);
    await other.page.fill("#username", `ola${suffix}`);
    await other.page.fill("#password", PASSWORD);
    await submit(other.page, "username");
    await other.page.fill("#pin", "482916");
    await submit(other.page, "pin");
    await other.page.fill("#code", codeFor(`ola${suffix}@example.com`));
    await submit(other.page, "code");
    assert.match(await other.page.getAttribute("main", "data-page"), /^error-/);
    await check(other.page, "admin-forbidden", language);
    await other.context.close();

    // Sam signs in at the console, then steps up to aal2, adding an authenticator app.
    const { context, page } = await person(language);
    await consoleSignIn(page, staff, () => check(page, "console-step-up", language));
    await check(page, "admin", language);
    await page.fill("#q", locked.slice(0, 6));
    await page.locator("#admin-search").click();
    await check(page, "admin-search", language);
    await page.locator(`#person-${locked}`).click();
    assert.equal(await page.getAttribute("main", "data-page"), "admin-person");
    await check(page, "admin-person", language);
    await page.locator("#admin-unlock").click();
    assert.equal(await page.getAttribute("#unlock-reason", "aria-invalid"), "true");
    await check(page, "admin-person-error", language);
    await page.fill("#unlock-reason", "called in; identity checked");
    await page.locator("#admin-unlock").click();
    assert.ok(await page.locator("#console-notice").count(), "the unlock is confirmed");
    await check(page, "admin-person-unlocked", language);
    await context.close();

    // Lou proves it is them with a code and chooses a new PIN.
    await lou.page.goto(authorizeUrl(ui));
    await lou.page.fill("#username", locked);
    await lou.page.fill("#password", PASSWORD);
    await submit(lou.page, "username");
    await submit(lou.page, "channel");
    await lou.page.fill("#code", codeFor(`${locked}@example.com`));
    await submit(lou.page, "code");
    await lou.page.fill("#pin", "602717");
    await lou.page.fill("#pin_confirm", "602717");
    await submit(lou.page, "pin");
    if (await lou.page.locator("#code").count()) {
      await lou.page.fill("#code", codeFor(`${locked}@example.com`));
      await submit(lou.page, "code");
    }
    await lou.page.locator('button[value="allow"]').click();
    assert.match(await lou.page.locator("#outcome").innerText(), /signed in: /);
    const told = cli("outbox", "list")
      .filter((m) => m.to === `${locked}@example.com` && /support|soporte/i.test(m.subject));
    assert.equal(told.length, 1, "the person is told of the unlock");
    await lou.context.close();
  });
}

/** Whether `jwt` verifies with a key the provider's JWKS publishes now (ES256), as a relying
 * party checks an ID token. */
async function verifiesNow(jwt) {
  const [head, body, signature] = jwt.split(".");
  const { kid } = JSON.parse(Buffer.from(head, "base64url"));
  const { keys } = await fetch(`${issuer}/jwks`).then((r) => r.json());
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) return false;
  const key = createPublicKey({ key: jwk, format: "jwk" });
  return cryptoVerify("sha256", Buffer.from(`${head}.${body}`), { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"));
}

/** Signs `username` in at the console at `path` and steps up to aal2, adding an
 * authenticator app; `atStepUp` runs on the page that offers the step-up. */
async function consoleSignIn(page, username, atStepUp = async () => {}, path = "/admin") {
  await page.goto(`${issuer}${path}`);
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  await submit(page, "username");
  await page.fill("#pin", "482916");
  await submit(page, "pin");
  await page.fill("#code", codeFor(`${username}@example.com`));
  await submit(page, "code");
  assert.equal(await page.getAttribute("main", "data-page"), "console-step-up");
  await atStepUp();
  await page.locator("#console-step-up").click();
  await page.fill("#pin", "482916");
  await submit(page, "pin");
  await page.locator('a[href$="/second-factor/add-app"]').click();
  const key = await page.locator("#secret").innerText();
  await page.fill("#otp", appCode(key));
  await page.fill("#name", "Phone");
  await submit(page, "otp");
  assert.equal(await page.getAttribute("main", "data-page"), path.slice(1));
}

for (const language of ["en", "es"]) {
  test(`an admin rotates the signing keys, registers a client and checks the audit log (${language})`, async () => {
    const suffix = `${language}${randomBytes(3).toString("hex")}`;
    const admin = `ada${suffix}`;
    const rita = `rit${suffix}`;
    createPerson(admin);
    createPerson(rita);
    cli("user", "role", admin, "--grant", "admin");
    const ui = language === "es" ? { ui_locales: "es" } : {};

    // A relying party holds an ID token signed before the rotation.
    const rp1 = await person(language);
    await rp1.page.goto(authorizeUrl(ui));
    await rp1.page.fill("#username", rita);
    await rp1.page.fill("#password", PASSWORD);
    await submit(rp1.page, "username");
    await rp1.page.fill("#pin", "482916");
    await submit(rp1.page, "pin");
    await rp1.page.fill("#code", codeFor(`${rita}@example.com`));
    await submit(rp1.page, "code");
    await rp1.page.locator('button[value="allow"]').click();
    assert.match(await rp1.page.locator("#outcome").innerText(), /signed in: /);
    const before = rp.lastIdToken;
    assert.ok(await verifiesNow(before));
    await rp1.context.close();

    const { context, page } = await person(language);
    await consoleSignIn(page, admin);
    await page.locator("#admin-keys-link").click();
    await check(page, "admin-keys", language);
    await page.fill("#rotate-reason", "yearly rotation");
    await page.locator("#admin-keys-rotate").click();
    assert.ok(await page.locator("#console-notice").count(), "the rotation is confirmed");
    await check(page, "admin-keys-rotated", language);
    assert.ok(await verifiesNow(before), "what the old key signed still verifies");

    await page.goto(`${issuer}/admin`);
    await page.locator("#admin-clients-link").click();
    await check(page, "admin-clients", language);
    await page.fill("#name", `Portal ${suffix}`);
    await page.fill("#redirect_uris", "https://portal.example/callback");
    await page.fill("#new-reason", "a new portal");
    await page.locator("#more-options > summary").click();
    await page.locator("#third_party").check();
    await check(page, "admin-clients-more", language);
    await page.locator("#admin-client-create").click();
    assert.equal(await page.getAttribute("main", "data-page"), "admin-client-created");
    assert.ok((await page.locator("#client-secret").innerText()).length >= 40);
    await check(page, "admin-client-created", language);

    await page.goto(`${issuer}/admin`);
    await page.locator("#admin-registration-link").click();
    await check(page, "admin-registration", language);
    await page.fill("#uses", "3");
    await page.fill("#reason", "partner onboarding");
    await page.locator("#admin-registration-make").click();
    assert.ok((await page.locator("#registration-token").innerText()).length >= 40);
    await check(page, "admin-registration-made", language);

    await page.goto(`${issuer}/admin/audit-log?kind=admin_action`);
    await check(page, "admin-audit", language);
    await page.locator("#audit-verify").click();
    assert.ok(await page.locator("#audit-intact").count(), "the chain is intact");
    await check(page, "admin-audit-verified", language);
    await context.close();
  });
}

for (const language of ["en", "es"]) {
  test(`a developer registers a client and signs someone in with it (${language})`, async () => {
    const suffix = `${language}${randomBytes(3).toString("hex")}`;
    const dev = `dev${suffix}`;
    const rita = `rdv${suffix}`;
    createPerson(dev);
    createPerson(rita);
    cli("user", "role", dev, "--grant", "developer");
    const { context, page } = await person(language);
    await consoleSignIn(page, dev, async () => {}, "/developer");
    await check(page, "developer", language);
    await page.fill("#name", `Budget app ${suffix}`);
    await page.fill("#redirect_uris", `${rpBase}/callback`);
    await page.locator("#admin-client-create").click();
    assert.equal(await page.getAttribute("main", "data-page"), "developer-client-created");
    await check(page, "developer-client-created", language);
    const mine = {
      client_id: await page.locator("#client-id").innerText(),
      client_secret: await page.locator("#client-secret").innerText(),
    };
    assert.match(await page.locator("#snippet-rust").innerText(), new RegExp(mine.client_id));
    await context.close();

    // Someone signs in to the new client, and its callback exchanges the code.
    const her = await person(language);
    const ui = language === "es" ? { ui_locales: "es" } : {};
    await her.page.goto(authorizeUrl(ui, mine));
    await her.page.fill("#username", rita);
    await her.page.fill("#password", PASSWORD);
    await submit(her.page, "username");
    await her.page.fill("#pin", "482916");
    await submit(her.page, "pin");
    await her.page.fill("#code", codeFor(`${rita}@example.com`));
    await submit(her.page, "code");
    await her.page.locator('button[value="allow"]').click();
    assert.match(await her.page.locator("#outcome").innerText(), /signed in: pwd,pin/);
    await her.context.close();
  });
}

test("the language switch on every page changes the language and is remembered", async () => {
  const { context, page } = await person("en");
  await page.goto(`${issuer}/help`);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.locator('nav a[hreflang="es"]').click();
  assert.equal(await page.getAttribute("html", "lang"), "es");
  // Remembered: over the browser's English, and over a relying party's ui_locales.
  await page.goto(authorizeUrl({ ui_locales: "en" }));
  assert.equal(await page.getAttribute("html", "lang"), "es");
  await page.locator('nav a[hreflang="en"]').click();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.ok(await page.locator("#username").count(), "the switch kept the sign-in page");
  await context.close();
});

test("every page was scanned in both languages", () => {
  for (const language of ["en", "es"]) {
    assert.ok(scanned.filter((name) => name.startsWith(`${language}/`)).length >= 46,
      `${language}: only ${scanned.join(", ")}`);
  }
});
