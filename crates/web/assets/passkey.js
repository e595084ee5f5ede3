// userpool's passkey pages: runs the WebAuthn ceremony whose options the page carries
// (navigator.credentials.get to sign in, .create to add a passkey) and posts the result as
// JSON in the page's form. Everything else on the pages works without this script.
(function () {
  'use strict';
  var form = document.getElementById('passkey-form');
  var data = document.getElementById('passkey-options');
  var status = document.getElementById('passkey-status');
  if (!form || !data) return;
  var button = form.querySelector('button[type="submit"]');

  function say(text) {
    if (status) status.textContent = text;
  }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    say('This browser cannot use passkeys. Go back and choose another way to sign in.');
    if (button) button.disabled = true;
    return;
  }

  // base64url <-> bytes (WebAuthn's JSON forms carry binary fields as base64url).
  function bytes(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function text(buffer) {
    var view = new Uint8Array(buffer);
    var raw = '';
    for (var i = 0; i < view.length; i++) raw += String.fromCharCode(view[i]);
    return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: bytes(d.id), transports: d.transports };
    });
  }

  var options = JSON.parse(data.textContent);
  var creating = form.getAttribute('data-ceremony') === 'create';

  function publicKey() {
    var o = Object.assign({}, options);
    o.challenge = bytes(o.challenge);
    if (creating) {
      o.user = Object.assign({}, o.user, { id: bytes(o.user.id) });
      o.excludeCredentials = descriptors(o.excludeCredentials);
    } else {
      o.allowCredentials = descriptors(o.allowCredentials);
    }
    return o;
  }

  function serialize(credential) {
    var r = credential.response;
    var response = { clientDataJSON: text(r.clientDataJSON) };
    if (creating) {
      response.attestationObject = text(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = text(r.authenticatorData);
      response.signature = text(r.signature);
      if (r.userHandle) response.userHandle = text(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  }

  form.addEventListener('submit', function (event) {
    if (form.elements.credential.value) return;
    event.preventDefault();
    if (button) button.disabled = true;
    say(creating ? 'Follow your browser to create the passkey…' : 'Follow your browser to use your passkey…');
    var ceremony = creating
      ? navigator.credentials.create({ publicKey: publicKey() })
      : navigator.credentials.get({ publicKey: publicKey() });
    ceremony.then(function (credential) {
      form.elements.credential.value = serialize(credential);
      form.submit();
    }, function (error) {
      if (button) button.disabled = false;
      say('The passkey was not used (' + (error && error.name ? error.name : 'cancelled') + '). Try again, or go back and choose another way.');
    });
  });
})();
