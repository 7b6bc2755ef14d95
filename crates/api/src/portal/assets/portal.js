// Civitas portal: helpers every page shares. No build step, no dependencies.
// Keys live in this browser's IndexedDB as WebCrypto Ed25519 keys; nothing here sends a
// private key anywhere.
"use strict";

const Civitas = (() => {
  const encoder = new TextEncoder();

  function toHex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text) {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error("not hexadecimal");
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  function base64url(bytes) {
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(plain, (c) => c.charCodeAt(0));
  }

  // Browsers give WebCrypto to secure origins only: https, or http on 127.0.0.1 and localhost.
  function subtle() {
    if (!window.crypto || !window.crypto.subtle) {
      throw new Error("this browser offers no WebCrypto here; open the portal over https (or on 127.0.0.1)");
    }
    return window.crypto.subtle;
  }

  async function sha256Hex(buffer) {
    return toHex(await subtle().digest("SHA-256", buffer));
  }

  // Unsigned LEB128, as the ledger's codec writes lengths.
  function varint(n) {
    const out = [];
    do {
      let byte = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      out.push(byte);
    } while (n > 0);
    return out;
  }

  function concat(parts) {
    const length = parts.reduce((sum, p) => sum + p.length, 0);
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  // A length-prefixed string, as the ledger's codec writes it.
  function str(text) {
    const bytes = encoder.encode(text);
    return concat([Uint8Array.from(varint(bytes.length)), bytes]);
  }

  function be64(n) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n));
    return out;
  }

  async function readError(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch (_) {
      /* not JSON */
    }
    return { code: "http_" + response.status, message: "the node answered " + response.status };
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { accept: "application/json" } });
    if (!response.ok) throw await readError(response);
    return response.json();
  }

  async function postJSON(url, body, headers) {
    const response = await fetch(url, {
      method: "POST",
      headers: Object.assign({ "content-type": "application/json" }, headers || {}),
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await readError(response);
    return response.status === 204 ? null : response.json();
  }

  // ---- the key store (IndexedDB, one current key) ----
  function db() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open("civitas", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("keys");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function store(mode, action) {
    const handle = await db();
    return new Promise((resolve, reject) => {
      const tx = handle.transaction("keys", mode);
      const request = action(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(request && request.result);
      tx.onerror = () => reject(tx.error);
    });
  }

  // The key kept in this browser. A key kept by an older portal, when keys were extractable, is
  // made unextractable the first time it is loaded.
  async function loadKey() {
    const entry = await store("readonly", (s) => s.get("current"));
    if (entry && entry.privateKey && entry.privateKey.extractable) {
      const jwk = await crypto.subtle.exportKey("jwk", entry.privateKey);
      entry.privateKey = await subtle().importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
      await saveKey(entry);
    }
    return entry;
  }
  const saveKey = (entry) => store("readwrite", (s) => s.put(entry, "current"));
  // Forgetting the key forgets what "My data" kept of the person's records too (which log
  // entries it showed: their ids).
  async function forgetKey() {
    for (const name of Object.keys(localStorage)) {
      if (name.startsWith("civitas-seen-")) localStorage.removeItem(name);
    }
    return store("readwrite", (s) => s.delete("current"));
  }

  // A key from a `civitas-key` file: { kind, version, public_key, secret_key, account? }.
  // Kept as this browser's key unless `keep` is false (a co-signer held for one page only).
  async function importKeyFile(text, keep = true) {
    let file;
    try {
      file = JSON.parse(text);
    } catch (_) {
      throw new Error("this file is not JSON; choose a key file made by `civitas keys new`");
    }
    if (file.kind !== "civitas-key" || file.version !== 1) {
      throw new Error("this is not a civitas key file (kind civitas-key, version 1)");
    }
    if (!/^[0-9a-f]{64}$/i.test(file.public_key || "") || !/^[0-9a-f]{64}$/i.test(file.secret_key || "")) {
      throw new Error("the key file's public_key and secret_key must each be 64 hexadecimal characters");
    }
    const jwk = {
      kty: "OKP",
      crv: "Ed25519",
      x: base64url(fromHex(file.public_key)),
      d: base64url(fromHex(file.secret_key)),
      ext: true,
    };
    // Not extractable: a script that runs in this page later cannot read the secret back out.
    const privateKey = await subtle().importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
    // Check the secret matches the public key before keeping it.
    const probe = encoder.encode("civitas key check");
    const signature = await crypto.subtle.sign("Ed25519", privateKey, probe);
    const publicKey = await crypto.subtle.importKey("raw", fromHex(file.public_key), { name: "Ed25519" }, true, ["verify"]);
    if (!(await crypto.subtle.verify("Ed25519", publicKey, signature, probe))) {
      throw new Error("the key file's secret_key does not match its public_key");
    }
    const encryption = file.encryption_keys || [];
    if (!Array.isArray(encryption) || encryption.some((k) => !/^[0-9a-f]{64}$/i.test(k))) {
      throw new Error("the key file's encryption_keys must each be 64 hexadecimal characters");
    }
    const entry = {
      publicKey: file.public_key.toLowerCase(),
      account: (file.account || file.public_key).toLowerCase(),
      label: file.label || "",
      privateKey,
      // The X25519 keys what is sealed to this person opens with, the newest last.
      decryptionKeys: await Promise.all(encryption.map((k) => importDecryptionKey(fromHex(k)))),
    };
    if (keep) await saveKey(entry);
    return entry;
  }

  // An X25519 secret (32 bytes, as in a key file) as a WebCrypto key that derives but cannot be
  // read back out, with its public half in hex (HPKE binds it into every key it derives).
  async function importDecryptionKey(secret) {
    // PKCS#8 of an X25519 private key (RFC 8410): a fixed 16-byte header, then the secret.
    const header = fromHex("302e020100300506032b656e04220420");
    const probe = await subtle().importKey("pkcs8", concat([header, secret]), { name: "X25519" }, true, ["deriveBits"]);
    const jwk = await crypto.subtle.exportKey("jwk", probe);
    const privateKey = await subtle().importKey("jwk", jwk, { name: "X25519" }, false, ["deriveBits"]);
    return { privateKey, publicKey: toHex(fromBase64url(jwk.x)) };
  }

  // A new key. Its `civitas-key` file is made once, now, for the person to download; the key
  // kept in this browser is then re-imported as not extractable, so no script can read it out.
  async function createKey(label) {
    const pair = await subtle().generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const publicKey = toHex(await crypto.subtle.exportKey("raw", pair.publicKey));
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    // An encryption key too, as `civitas keys new` makes: what agencies seal to this person.
    const exchange = await subtle().generateKey({ name: "X25519" }, true, ["deriveBits"]);
    const exchangeSecret = fromBase64url((await crypto.subtle.exportKey("jwk", exchange.privateKey)).d);
    const file = JSON.stringify({
      kind: "civitas-key",
      version: 1,
      label: label || "",
      public_key: publicKey,
      secret_key: toHex(fromBase64url(jwk.d)),
      encryption_keys: [toHex(exchangeSecret)],
    }, null, 2);
    const privateKey = await subtle().importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
    const decryptionKeys = [await importDecryptionKey(exchangeSecret)];
    const entry = { publicKey, account: publicKey, label: label || "", privateKey, decryptionKeys };
    await saveKey(entry);
    return { entry, file };
  }

  // Signs `message` in `namespace` the way the ledger checks it:
  // Ed25519 over varint(len(namespace)) || namespace || message.
  async function sign(entry, namespace, message) {
    const ns = encoder.encode(namespace);
    const payload = concat([Uint8Array.from(varint(ns.length)), ns, message]);
    return toHex(await crypto.subtle.sign("Ed25519", entry.privateKey, payload));
  }

  let chainId = null;
  async function chain() {
    if (!chainId) chainId = (await getJSON("/v1/status")).chain_id;
    return chainId;
  }

  // Signs in: asks for a one-time challenge, signs a read of /portal/session?challenge=<it>,
  // and sends it; the node answers with a session cookie, or says why not.
  async function signInWith(entry) {
    const issued = await fetch("/portal/session/challenge", { method: "POST" });
    const challenge = await issued.json();
    if (!issued.ok) return { ok: false, body: challenge };
    const headers = await signedRead(entry, challenge.sign);
    headers["civitas-challenge"] = challenge.challenge;
    const response = await fetch("/portal/session", { method: "POST", headers });
    return { ok: response.ok, body: await response.json() };
  }

  // The three headers of a signed read of `path` (see docs/API.md).
  async function signedRead(entry, path) {
    const time = Date.now();
    const message = concat([str(await chain()), str(path), be64(time)]);
    const signature = await sign(entry, "civitas/read/v1", message);
    return {
      "civitas-account": entry.account,
      "civitas-time": String(time),
      "civitas-signature": entry.publicKey + ":" + signature,
    };
  }

  // Prepares, signs and submits `instructions` for the stored key, co-signed by `cosigners`
  // (more keys of a k-of-n account, or officials a policy asks to co-sign); returns the hash.
  async function submit(entry, instructions, memo, cosigners = []) {
    const prepared = await postJSON("/v1/transactions/prepare", {
      signer: entry.account,
      instructions,
      memo: memo || "",
    });
    const signature = await sign(entry, prepared.signing_namespace, fromHex(prepared.body_hex));
    const result = await postJSON("/v1/transactions", {
      body: prepared.body,
      signatures: [{ key: entry.publicKey, signature }].concat(await Promise.all(cosigners
        .filter((c) => c.publicKey !== entry.publicKey)
        .map(async (c) => ({ key: c.publicKey, signature: await sign(c, prepared.signing_namespace, fromHex(prepared.body_hex)) })))),
    });
    return result.hash;
  }

  // Resolves when the transaction is in a block (or refused), polling its status.
  async function waitFor(hash, onUpdate) {
    for (let i = 0; i < 600; i++) {
      let status;
      try {
        status = await getJSON("/v1/transactions/" + hash);
      } catch (e) {
        status = { status: "unknown", message: e.message };
      }
      if (onUpdate) onUpdate(status);
      if (status.status !== "pending" && status.status !== "unknown") return status;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    throw new Error("the transaction was not finalized within three minutes");
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function setFieldError(input, message) {
    const error = document.getElementById(input.id + "-error");
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    if (error) error.textContent = message || "";
  }

  return {
    toHex, fromHex, sha256Hex, getJSON, postJSON, loadKey, saveKey, forgetKey, importKeyFile,
    createKey, sign, signedRead, signInWith, submit, waitFor, el, setFieldError,
  };
})();
