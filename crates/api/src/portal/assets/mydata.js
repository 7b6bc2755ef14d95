// "My data": the records agencies' vaults hold about the person whose key is in this browser,
// fetched from each vault with a signed read, opened here with the person's encryption key
// (HPKE, RFC 9180, then AES-256-GCM) and checked against the commitment on the ledger; each
// record's log (who read or received it, for what, on which legal basis); consents given and
// withdrawn; erasure requests; and a download of everything as JSON. Nothing opened here
// leaves the browser. The formats are in docs/PERSONAL-DATA.md.
"use strict";

(() => {
  const { el, toHex, fromHex, loadKey, signedRead, submit, waitFor, setFieldError } = Civitas;
  const vaultList = document.getElementById("vaults");
  const openButton = document.getElementById("open-records");
  const output = document.getElementById("records");
  const status = document.getElementById("records-status");
  if (!vaultList || !openButton || !output) return;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const HEX64 = /^[0-9a-f]{64}$/;
  // The ledger's rule for a schema name (docs/PERSONAL-DATA.md): what a vault sends is checked
  // against it before its length is written in a single byte.
  const SCHEMA = /^[a-z][a-z0-9._\/-]{0,63}$/;
  // How long a vault may take to answer, and the most records one may give.
  const VAULT_TIMEOUT_MS = 20000;
  const RECORDS_MAX = 500;

  function concat(parts) {
    const bytes = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : Uint8Array.from(p)));
    const out = new Uint8Array(bytes.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const p of bytes) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  const be = (n, width) => {
    const out = new Uint8Array(width);
    for (let i = width - 1; i >= 0; i--) {
      out[i] = n & 0xff;
      n = Math.floor(n / 256);
    }
    return out;
  };

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // SHA-256 over len(tag) || tag || parts: the ledger's tagged hash.
  async function tagged(tag, parts) {
    const t = encoder.encode(tag);
    return toHex(await sha256(concat([[t.length], t, ...parts])));
  }

  // ---- HPKE (RFC 9180), base mode, open only: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
  // AES-256-GCM, on WebCrypto's X25519, HMAC and AES-GCM. ----
  const KEM_SUITE = concat(["KEM", [0x00, 0x20]]);
  const HPKE_SUITE = concat(["HPKE", [0x00, 0x20, 0x00, 0x01, 0x00, 0x02]]);

  async function hmac(key, data) {
    // An empty salt is HashLen zero bytes (RFC 5869), which HMAC pads the same way.
    const raw = key.length > 0 ? key : new Uint8Array(32);
    const k = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
  }

  async function expand(prk, info, length) {
    const out = [];
    let block = new Uint8Array(0);
    for (let i = 1; out.length < length; i++) {
      block = await hmac(prk, concat([block, info, [i]]));
      out.push(...block);
    }
    return Uint8Array.from(out.slice(0, length));
  }

  const labeledExtract = (suite, salt, label, ikm) => hmac(salt, concat(["HPKE-v1", suite, label, ikm]));
  const labeledExpand = (suite, prk, label, info, length) =>
    expand(prk, concat([be(length, 2), "HPKE-v1", suite, label, info]), length);

  // Opens `sealed` (the 32-byte encapsulated key, then the ciphertext and tag) with one of the
  // person's decryption keys; null if none opens it.
  async function hpkeOpen(keys, info, aad, sealed) {
    if (sealed.length < 48) return null;
    const enc = sealed.slice(0, 32);
    const ciphertext = sealed.slice(32);
    const ephemeral = await crypto.subtle.importKey("raw", enc, { name: "X25519" }, false, []);
    for (const key of [...keys].reverse()) {
      try {
        const dh = new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: ephemeral }, key.privateKey, 256));
        const eae = await labeledExtract(KEM_SUITE, new Uint8Array(0), "eae_prk", dh);
        const shared = await labeledExpand(KEM_SUITE, eae, "shared_secret", concat([enc, fromHex(key.publicKey)]), 32);
        const pskIdHash = await labeledExtract(HPKE_SUITE, new Uint8Array(0), "psk_id_hash", new Uint8Array(0));
        const infoHash = await labeledExtract(HPKE_SUITE, new Uint8Array(0), "info_hash", info);
        const context = concat([[0], pskIdHash, infoHash]);
        const secret = await labeledExtract(HPKE_SUITE, shared, "secret", new Uint8Array(0));
        const aeadKey = await labeledExpand(HPKE_SUITE, secret, "key", context, 32);
        const nonce = await labeledExpand(HPKE_SUITE, secret, "base_nonce", context, 12);
        return await aesOpen(aeadKey, nonce, aad, ciphertext);
      } catch (_) {
        /* not this key */
      }
    }
    return null;
  }

  async function aesOpen(rawKey, nonce, aad, ciphertext) {
    const key = await crypto.subtle.importKey("raw", rawKey, { name: "AES-GCM" }, false, ["decrypt"]);
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 }, key, ciphertext));
  }

  // ---- one record, as the vault gave it (docs/PERSONAL-DATA.md, "The vault's formats") ----
  async function openCopy(copy, subject, keys) {
    if (!SCHEMA.test(copy.schema) || !Number.isInteger(copy.version) || copy.version < 1 || copy.version > 0xffffffff) {
      throw new Error("the vault sent a record whose schema or version is not valid");
    }
    const id = fromHex(copy.id);
    const schema = encoder.encode(copy.schema);
    const version = be(copy.version, 4);
    if (!copy.wrapped) throw new Error("the vault holds no key for you for this record (you had no encryption key when it was sealed)");
    const dataKey = await hpkeOpen(keys, encoder.encode("civitas/vault/wrap/v1"), concat([id, version]), fromHex(copy.wrapped));
    if (!dataKey || dataKey.length !== 32) throw new Error("none of your encryption keys opens this record's key");
    const aad = concat(["civitas/vault/record/v1", id, version, fromHex(subject), [schema.length], schema]);
    let plain;
    try {
      plain = await aesOpen(dataKey, fromHex(copy.nonce), aad, fromHex(copy.ciphertext));
    } catch (_) {
      throw new Error("the record does not open: it was altered, or is not about you");
    }
    if (plain.length < 32) throw new Error("the record is shorter than its salt");
    const salt = plain.slice(0, 32);
    const body = plain.slice(32);
    const commitment = await tagged("civitas/vault/commitment/v1", [salt, id, version, fromHex(subject), [schema.length], schema, body]);
    const subjectSalt = await tagged("civitas/vault/subject-salt/v1", [salt]);
    let data;
    try {
      data = JSON.parse(decoder.decode(body));
    } catch (_) {
      data = toHex(body);
    }
    return { commitment, subjectSalt, data };
  }

  // A public read of this node, without the session cookie: the node is not told which
  // signed-in account asks about which record (it still sees the browser's address).
  async function publicJSON(path) {
    const response = await fetch(path, { credentials: "omit", headers: { accept: "application/json" } });
    const body = await response.json().catch(() => null);
    return { status: response.status, body };
  }

  // The ledger's entry of a record: { entry } (null when no such record is registered), or
  // { error } when it cannot be read now.
  async function ledgerEntry(id) {
    try {
      const { status, body } = await publicJSON("/v1/sharing/records/" + id);
      if (status === 404) return { entry: null };
      if (status !== 200 || !body) return { error: "the node answered " + status };
      return { entry: body.value || null };
    } catch (error) {
      return { error: error.message || String(error) };
    }
  }

  // Checks an opened record against the ledger's entry: { ok, words }. Only a record whose
  // commitment, schema, holder (and, for a first version, subject tag) are the ledger's is ok.
  async function verify(copy, agency, opened, subject) {
    const found = await ledgerEntry(copy.id);
    if (found.error) return { ok: false, words: "Not checked: the ledger cannot be read now (" + found.error + "). Open your records again later." };
    const entry = found.entry;
    if (!entry) return { ok: false, words: "Not on the ledger: no record " + copy.id.slice(0, 12) + "… is registered. Do not rely on it, and tell the agency." };
    if (entry.schema !== copy.schema || entry.holder !== (copy.origin || agency)) {
      return { ok: false, words: "Does not match the ledger: it says this record is a " + entry.schema + " held by " + entry.holder + ". Do not rely on it, and tell the agency." };
    }
    if (entry.erasure) return { ok: false, words: "The ledger says this record was erased; a vault still gave it. Tell the agency." };
    if (copy.version === 1) {
      const tag = await tagged("civitas/sharing/subject/v1", [fromHex(copy.id), fromHex(opened.subjectSalt), fromHex(subject)]);
      if (tag !== entry.subject) return { ok: false, words: "The ledger did not register this record about you. Do not rely on it, and tell the agency." };
    }
    if (entry.version === copy.version) {
      return opened.commitment === entry.commitment
        ? { ok: true, words: "Opened in this browser; matches the commitment on the ledger." }
        : { ok: false, words: "Does not match its commitment on the ledger. Do not rely on it, and tell the agency." };
    }
    if (copy.version < entry.version && opened.commitment === copy.commitment) {
      return { ok: false, words: "Version " + copy.version + ", since corrected (the ledger's is version " + entry.version + "): the ledger keeps only the current version's commitment, so this one is checked only against the vault's." };
    }
    return { ok: false, words: "The ledger's version of this record is " + entry.version + ", not " + copy.version + ". Do not rely on it." };
  }

  const LOG_WORDS = {
    registered: "registered by", rectified: "corrected by", shared: "shared with", accessed: "read by",
    consent_given: "consent given to", consent_revoked: "consent withdrawn from", erased: "erased by",
  };

  function when(ms) {
    return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }

  function seenKey(id) {
    return "civitas-seen-" + id;
  }

  // The record's log, entries newer than this browser last showed marked new.
  async function logTable(id) {
    const { status, body: log } = await publicJSON("/v1/sharing/records/" + id + "/log?order=newest&limit=100");
    if (status !== 200 || !log || !Array.isArray(log.items)) throw new Error("the node answered " + status);
    const seen = Number(localStorage.getItem(seenKey(id)) || "0");
    let fresh = 0;
    const rows = log.items.map((e) => {
      const isNew = seen > 0 && e.height > seen;
      if (isNew) fresh++;
      return el("tr", { class: isNew ? "new" : "" },
        el("td", { text: when(e.timestamp_ms) }),
        el("td", {}, (isNew ? "New: " : "") + (LOG_WORDS[e.kind] || e.kind) + " ", el("strong", { text: e.agency }),
          e.consent ? " (consent " + e.consent + ")" : ""),
        el("td", {}, el("code", { title: e.official, text: e.official.slice(0, 12) + "…" })),
        el("td", { text: e.purpose || "" }),
        el("td", { text: e.basis || "" }),
        el("td", {}, el("a", { href: "/explorer/transactions/" + e.tx, text: "receipt" }), " · ",
          el("a", { href: e.proof_bundle, text: "proof" })));
    });
    if (log.items.length > 0) localStorage.setItem(seenKey(id), String(Math.max(...log.items.map((e) => e.height))));
    const caption = "Who registered, read, received or erased it" + (fresh ? " (" + fresh + " new since your last visit)" : "");
    // Scrolls sideways on a narrow screen, as the site's other tables do.
    const table = el("div", { class: "scroll", role: "region", "aria-label": caption, tabindex: "0" },
      el("table", { class: "log" },
        el("caption", { text: caption }),
        el("thead", {}, el("tr", {}, ...["When", "What", "Official", "Purpose", "Legal basis", "Proof"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...rows)));
    return { table, fresh };
  }

  let opened = [];

  async function openAll() {
    const entry = await loadKey();
    if (!entry) {
      status.replaceChildren(el("p", { class: "verdict-bad" }, "No key in this browser. ", el("a", { href: "/sign-in", text: "Use your key file" }), " first."));
      return;
    }
    const keys = entry.decryptionKeys || [];
    if (keys.length === 0) {
      status.replaceChildren(el("p", { class: "verdict-bad", text: "The key in this browser has no encryption key, so nothing sealed to you can be opened here. Use a key file made by `civitas keys new` (it has encryption_keys), or create a key on the sign-in page." }));
      return;
    }
    status.replaceChildren(el("p", { text: "Asking each agency's vault…" }));
    opened = [];
    output.replaceChildren();
    let asked = 0;
    let failed = 0;
    let fresh = 0;
    // Every vault at once, each with a time limit: one slow vault holds up no other.
    const vaults = Array.from(vaultList.querySelectorAll("li[data-agency]"));
    const answers = await Promise.all(vaults.map(async (vault) => {
      const agency = vault.dataset.agency;
      const path = "/v1/vault/mine?vault=" + encodeURIComponent(agency);
      try {
        const url = vault.dataset.url.replace(/\/$/, "") + path;
        const response = await fetch(url, { headers: await signedRead(entry, path), credentials: "omit", signal: AbortSignal.timeout(VAULT_TIMEOUT_MS) });
        const answer = await response.json();
        if (!response.ok) throw new Error(answer && answer.error ? answer.error.message : "the vault answered " + response.status);
        if (!answer || !Array.isArray(answer.records)) throw new Error("the vault's answer has no list of records");
        return { vault, agency, answer };
      } catch (error) {
        return { vault, agency, error: error.name === "TimeoutError" ? "it did not answer within " + VAULT_TIMEOUT_MS / 1000 + " s" : (error.message || String(error)) };
      }
    }));
    for (const { vault, agency, answer, error } of answers) {
      asked++;
      if (error) {
        failed++;
        output.append(el("p", { class: "verdict-bad", text: "The vault of " + agency + " could not be read: " + error }));
        continue;
      }
      if (answer.records.length > RECORDS_MAX) {
        output.append(el("p", { class: "verdict-bad", text: "The vault of " + agency + " sent " + answer.records.length + " records; the first " + RECORDS_MAX + " are shown." }));
      }
      for (const copy of answer.records.slice(0, RECORDS_MAX)) {
        if (!copy || typeof copy.id !== "string" || !HEX64.test(copy.id) || typeof copy.schema !== "string") {
          output.append(el("p", { class: "verdict-bad", text: "The vault of " + agency + " sent a record that is not well formed; it is left out." }));
          continue;
        }
        const card = el("section", { class: "record", "data-record": copy.id });
        const heading = el("h3", {}, copy.schema + " · version " + copy.version + " · held by " + (copy.origin || agency) +
          (copy.origin ? " · the copy " + agency + " was given" : ""));
        card.append(heading);
        const item = { agency, record: copy.id, version: copy.version, schema: copy.schema, status: copy.status, held_by: copy.origin || agency };
        try {
          if (copy.status === "erased") throw new Error("erased: its key was destroyed, so no one can open it any more");
          const result = await openCopy(copy, entry.account, keys);
          const check = await verify(copy, agency, result, entry.account);
          item.data = result.data;
          item.checked = check.ok ? "against the ledger" : check.words;
          // Only a record the ledger vouches for is offered for a consent.
          if (copy.version === 1 && check.ok) item.subject_salt = result.subjectSalt;
          card.append(el("p", { class: check.ok ? "verdict-ok" : "verdict-bad", text: check.words }),
            el("pre", { class: "record-data", text: JSON.stringify(result.data, null, 2) }));
        } catch (error) {
          item.error = error.message || String(error);
          card.append(el("p", { class: "verdict-bad", text: item.error }));
        }
        if (!copy.origin) {
          try {
            const { table, fresh: n } = await logTable(copy.id);
            fresh += n;
            card.append(table);
          } catch (error) {
            card.append(el("p", { text: "Its log cannot be shown now: " + (error.message || error) }));
          }
          const request = copy.erasure_request;
          const time = (ms) => (Number.isSafeInteger(ms) && ms > 0 ? when(ms) : "an unknown date");
          const waiting = request && !request.declined_ms;
          if (request) {
            item.erasure_request = request;
            card.append(el("p", { text: waiting
              ? "You asked " + agency + " to erase it on " + time(request.requested_ms) + "; its records officers decide on it."
              : "You asked " + agency + " to erase it on " + time(request.requested_ms) + "; it declined on " + time(request.declined_ms) +
                ": " + String(request.reason_text || request.reason || "no reason given") + ". You may ask again, or complain to the data protection authority." }));
          }
          if (!waiting && copy.status !== "erased" && item.subject_salt) {
            const erase = el("button", { type: "button", class: "secondary erase-request", text: (request ? "Ask " + agency + " again to erase it" : "Ask " + agency + " to erase it") });
            const said = el("span", { class: "result", role: "status" });
            erase.addEventListener("click", () => requestErasure(entry, vault.dataset.url, agency, copy.id, said));
            card.append(el("p", {}, erase, " ", said));
          }
        }
        opened.push(item);
        output.append(card);
      }
    }
    const count = opened.length;
    status.replaceChildren(el("p", { class: failed ? "verdict-bad" : "verdict-ok" },
      count + (count === 1 ? " record" : " records") + " from " + (asked - failed) + " of " + asked + " vaults" +
      (fresh ? "; " + fresh + " new log entries since your last visit" : "") + "."));
    if (count === 0 && !failed) output.append(el("p", { text: "No vault holds a record about you." }));
    offerDownload();
    await offerWatch();
    fillConsentForm();
  }

  // Notifications: watching the records' topics puts every new entry of their logs in the
  // person's inbox on this node (account page, live stream), never in the public lists of what
  // names the account. It tells this node's operator that the records are the person's, which
  // the page says first. Only records the ledger vouched for are offered.
  async function answerOf(response) {
    if (response.status === 401) throw new Error("sign in on this node first (notifications are kept for your account)");
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error(body && body.error ? body.error.message : "the node answered " + response.status);
    return body;
  }

  // Sends `topics` to `path` (watch or remove), at most 100 a request.
  async function postTopics(path, topics) {
    for (let i = 0; i < topics.length; i += 100) {
      await answerOf(await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topics: topics.slice(i, i + 100) }),
      }));
    }
  }

  async function offerWatch() {
    const place = document.getElementById("watch");
    if (!place) return;
    const topics = opened.filter((r) => r.checked === "against the ledger").map((r) => "sharing/record/" + r.record);
    if (topics.length === 0) {
      place.replaceChildren();
      return;
    }
    const said = el("span", { class: "result", role: "status" });
    let watched = [];
    try {
      watched = (await answerOf(await fetch("/portal/watches", { headers: { accept: "application/json" } }))).topics || [];
    } catch (_) {
      /* not signed in: the button says so when pressed */
    }
    const all = topics.every((t) => watched.includes(t));
    const button = el("button", { type: "button", class: "secondary", id: "watch-records",
      text: all ? "Stop notifying me about these records" : "Notify me of every new read, share or erasure" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      said.textContent = "Asking this node…";
      try {
        if (all) {
          await postTopics("/portal/watches/remove", topics);
          said.textContent = "Done: this node no longer notifies you about these records.";
        } else {
          await postTopics("/portal/watches", topics);
          said.replaceChildren("Done: new entries of these records' logs will be in ", el("a", { href: "/account", text: "your notifications" }), ".");
        }
      } catch (error) {
        said.textContent = "Not done: " + (error.message || error);
        button.disabled = false;
      }
    });
    place.replaceChildren(el("p", { text: all
      ? "This node notifies you of every new read, share or erasure of these records."
      : "This node can notify you when one of these records is read, shared or erased. Its operator then knows that these records are yours (the agencies that hold them know already); no one else is shown it." }),
      el("p", {}, button, " ", said));
  }

  function offerDownload() {
    const place = document.getElementById("download");
    if (!place) return;
    const blob = new Blob([JSON.stringify({ exported: new Date().toISOString(), records: opened }, null, 2)], { type: "application/json" });
    place.replaceChildren(el("a", { href: URL.createObjectURL(blob), download: "my-data.json", id: "download-data", text: "Download all of it (JSON)" }));
  }

  // A request to erase: signed by the person, kept by the holding vault, which lists it to its
  // records officers until the record is erased (the erasure itself is on the ledger).
  async function requestErasure(entry, url, agency, record, said) {
    const path = "/v1/vault/erasure-requests?vault=" + encodeURIComponent(agency) + "&record=" + record;
    said.textContent = "Sending…";
    try {
      const response = await fetch(url.replace(/\/$/, "") + path, { method: "POST", headers: await signedRead(entry, path), credentials: "omit", signal: AbortSignal.timeout(VAULT_TIMEOUT_MS) });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ? body.error.message : "the vault answered " + response.status);
      said.textContent = "Asked on " + when(body.requested_ms) + ". The agency's records officers see your request; its erasure will appear in the log above.";
    } catch (error) {
      said.textContent = "Not sent: " + (error.message || error);
    }
  }

  // ---- consents ----
  function fillConsentForm() {
    const select = document.getElementById("consent-record");
    if (!select) return;
    const mine = opened.filter((r) => r.subject_salt && r.status !== "erased" && r.held_by === r.agency);
    select.replaceChildren(...mine.map((r) => el("option", { value: r.record, text: r.schema + " held by " + r.agency + " (" + r.record.slice(0, 8) + "…)" })));
    document.getElementById("consent-form").hidden = mine.length === 0;
  }

  const consentForm = document.getElementById("consent-form");
  if (consentForm) {
    consentForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = consentForm.querySelector(".result");
      const record = document.getElementById("consent-record").value;
      const recipient = document.getElementById("consent-recipient");
      const purpose = document.getElementById("consent-purpose");
      const days = document.getElementById("consent-days");
      for (const input of [recipient, purpose, days]) setFieldError(input, "");
      const item = opened.find((r) => r.record === record);
      let bad = null;
      if (!/^[a-z0-9][a-z0-9._-]*$/.test(purpose.value.trim())) bad = bad || [purpose, "Enter the purpose's code, such as permit-application (lowercase letters, digits, '.', '_', '-')."];
      if (!recipient.value) bad = bad || [recipient, "Choose the agency that may receive it."];
      const n = Number(days.value);
      if (!Number.isInteger(n) || n < 1 || n > 366) bad = bad || [days, "Enter a number of days from 1 to 366."];
      if (bad) {
        setFieldError(bad[0], bad[1]);
        bad[0].focus();
        return;
      }
      const entry = await loadKey();
      const instruction = {
        module: "sharing", op: "consent", record, salt: item.subject_salt,
        recipient: recipient.value, purpose: purpose.value.trim(), expires: Date.now() + n * 86400000,
      };
      await sendAndShow(entry, instruction, result, (s) => "Consent given in block " + s.height + ". " + recipient.value + " may now ask for it for " + instruction.purpose + ".");
    });
  }

  async function sendAndShow(entry, instruction, result, ok) {
    try {
      result.replaceChildren(el("p", { text: "Signing in your browser and submitting…" }));
      const hash = await submit(entry, [instruction], "");
      const status = await waitFor(hash);
      if (status.status === "finalized") {
        result.replaceChildren(el("p", { class: "verdict-ok" }, ok(status) + " ", el("a", { href: "/explorer/transactions/" + hash, text: "See the receipt" })));
      } else {
        const outcome = status.receipt ? status.receipt.outcome : status;
        result.replaceChildren(el("p", { class: "verdict-bad", role: "alert", text: "Refused by the ledger: " + (outcome.message || status.status) + (outcome.code ? " (" + outcome.code + ")" : "") }));
      }
    } catch (error) {
      result.replaceChildren(el("p", { class: "verdict-bad", role: "alert", text: "Not submitted: " + (error.message || error) }));
    }
  }

  const revokeForm = document.getElementById("revoke-form");
  if (revokeForm) {
    revokeForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = document.getElementById("revoke-consent");
      setFieldError(input, "");
      if (!/^\d+$/.test(input.value.trim())) {
        setFieldError(input, "Enter the consent's number, as its log entry shows it.");
        input.focus();
        return;
      }
      const consent = Number(input.value.trim());
      await sendAndShow(await loadKey(), { module: "sharing", op: "revoke_consent", consent }, revokeForm.querySelector(".result"),
        (s) => "Consent " + consent + " withdrawn in block " + s.height + "; a copy given on it is erased.");
    });
  }

  openButton.addEventListener("click", () => {
    openButton.disabled = true;
    openAll().catch((error) => status.replaceChildren(el("p", { class: "verdict-bad", text: String(error.message || error) })))
      .finally(() => { openButton.disabled = false; });
  });
})();
