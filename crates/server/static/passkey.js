// Passkeys, the provider's one script. It runs the WebAuthn ceremony that the page describes
// in its JSON block (#passkey-options) when the person presses the passkey form's button, and
// posts the authenticator's answer in the form's `credential` field. The form stays hidden
// without it; every other way on the page works without any script.
(function () {
  "use strict";
  var form = document.getElementById("passkey-form");
  var block = document.getElementById("passkey-options");
  if (!form || !block || !window.PublicKeyCredential || !navigator.credentials) return;
  var failed = document.getElementById("passkey-failed");
  function bytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function text(buffer) {
    var view = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < view.length; i++) raw += String.fromCharCode(view[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    (list || []).forEach(function (c) { c.id = bytes(c.id); });
  }
  form.hidden = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (failed) failed.hidden = true;
    var publicKey = JSON.parse(block.textContent).publicKey;
    publicKey.challenge = bytes(publicKey.challenge);
    var creating = form.getAttribute("data-ceremony") === "create";
    var asked;
    if (creating) {
      publicKey.user.id = bytes(publicKey.user.id);
      ids(publicKey.excludeCredentials);
      asked = navigator.credentials.create({ publicKey: publicKey });
    } else {
      ids(publicKey.allowCredentials);
      asked = navigator.credentials.get({ publicKey: publicKey });
    }
    asked.then(function (credential) {
      var r = credential.response;
      var response = { clientDataJSON: text(r.clientDataJSON) };
      if (creating) {
        response.attestationObject = text(r.attestationObject);
      } else {
        response.authenticatorData = text(r.authenticatorData);
        response.signature = text(r.signature);
        if (r.userHandle) response.userHandle = text(r.userHandle);
      }
      form.elements.credential.value = JSON.stringify({
        id: credential.id,
        rawId: text(credential.rawId),
        type: credential.type,
        response: response,
        extensions: credential.getClientExtensionResults()
      });
      form.submit();
    }, function () {
      if (failed) failed.hidden = false;
    });
  });
})();
