// The agency console: each form builds one instruction, checks its fields here (errors shown
// beside each field), then the browser signs the transaction with the stored key and submits
// it; the result appears when the transaction is in a block.
"use strict";

(() => {
  const { el, loadKey, submit, waitFor, sha256Hex, setFieldError } = Civitas;
  const submitted = document.getElementById("submitted");
  // Co-signers' keys, held in this page's memory only (never stored).
  const cosigners = [];
  const cosignerList = document.getElementById("cosigners");
  const cosignerInput = document.getElementById("cosigner-file");

  function showCosigners() {
    if (!cosignerList) return;
    if (cosigners.length === 0) {
      cosignerList.replaceChildren(el("li", { class: "empty", text: "None: actions are signed by your key alone." }));
      return;
    }
    cosignerList.replaceChildren(...cosigners.map((c, n) => {
      const remove = el("button", { type: "button", class: "secondary", text: "Remove" });
      remove.addEventListener("click", () => {
        cosigners.splice(n, 1);
        showCosigners();
      });
      return el("li", {}, "Co-signing: ", el("code", { text: c.account }), c.label ? " (" + c.label + ") " : " ", remove);
    }));
  }

  const cosignerForm = document.getElementById("cosigner-form");
  if (cosignerForm) {
    cosignerForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      setFieldError(cosignerInput, "");
      const file = cosignerInput.files[0];
      if (!file) {
        setFieldError(cosignerInput, "Choose the co-signer's key file first.");
        cosignerInput.focus();
        return;
      }
      try {
        const entry = await Civitas.importKeyFile(await file.text(), false);
        if (!cosigners.some((c) => c.publicKey === entry.publicKey)) cosigners.push(entry);
        cosignerInput.value = "";
        showCosigners();
      } catch (error) {
        setFieldError(cosignerInput, error.message || String(error));
      }
    });
    showCosigners();
  }
  // ISO 4217 minor-unit digits where they are not 2.
  const MINOR_DIGITS = { BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0,
    RWF: 0, UGX: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0, BHD: 3, IQD: 3, JOD: 3, KWD: 3,
    LYD: 3, OMR: 3, TND: 3 };
  const HEX32 = /^[0-9a-fA-F]{64}$/;

  class FieldError extends Error {}

  function setPath(target, path, value) {
    const parts = path.split(".");
    let node = target;
    for (const part of parts.slice(0, -1)) node = node[part] = node[part] || {};
    node[parts[parts.length - 1]] = value;
  }

  function list(text) {
    return text.split(/[,\n]/).map((s) => s.trim()).filter((s) => s.length > 0);
  }

  function wholeNumber(text, max) {
    if (!/^\d+$/.test(text)) throw new FieldError("Enter a whole number, such as 3.");
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n > max) throw new FieldError("This number is too large.");
    return n;
  }

  // "1250.5" in EUR is 125050 minor units; exact, no floating point.
  function minorUnits(text, currency) {
    const digits = MINOR_DIGITS[currency] ?? 2;
    const match = /^(\d+)(?:\.(\d+))?$/.exec(text.replace(/[\s_]/g, ""));
    if (!match) throw new FieldError("Enter an amount such as 2500.00, with a dot for decimals.");
    const fraction = match[2] || "";
    if (fraction.length > digits) throw new FieldError(currency + " has " + digits + " decimal places.");
    const minor = BigInt(match[1]) * 10n ** BigInt(digits) + BigInt((fraction + "0".repeat(digits)).slice(0, digits) || "0");
    if (minor > 10n ** 15n) throw new FieldError("One instruction moves at most 10^15 minor units.");
    return Number(minor);
  }

  async function read(input, form) {
    const kind = input.dataset.kind;
    if (kind === "json") return JSON.parse(input.value);
    // An optional field left empty is left out of the instruction.
    const optional = input.dataset.optional === "true";
    if (kind === "filehash") {
      const file = input.files[0];
      if (!file && optional) return undefined;
      if (!file) throw new FieldError("Choose the document; it is hashed here and never uploaded.");
      return sha256Hex(await file.arrayBuffer());
    }
    const text = input.value.trim();
    // A date typed halfway reads as empty: say so rather than leave the field out.
    if (input.validity && input.validity.badInput) throw new FieldError("Enter a complete date and time.");
    if (text === "" && optional) return undefined;
    if (text === "") throw new FieldError("This field is required.");
    switch (kind) {
      case "text":
        return text;
      case "yesno":
        return text === "true";
      case "hex32":
        if (!HEX32.test(text)) throw new FieldError("Enter 64 hexadecimal characters (0-9, a-f).");
        return text.toLowerCase();
      case "u64":
        return wholeNumber(text, Number.MAX_SAFE_INTEGER);
      case "currency":
        if (!/^[A-Z]{3}$/.test(text)) throw new FieldError("Enter a three-letter ISO 4217 code, such as EUR.");
        return text;
      case "amount": {
        const currencyPath = input.dataset.path.replace(/\.amount$/, ".currency");
        const currency = form.querySelector('[data-path="' + currencyPath + '"]').value.trim() || "EUR";
        return minorUnits(text, currency);
      }
      case "list":
        return list(text);
      case "hexlist": {
        const items = list(text);
        const bad = items.find((item) => !HEX32.test(item));
        if (bad) throw new FieldError("\"" + bad.slice(0, 20) + "\" is not 64 hexadecimal characters.");
        return items.map((item) => item.toLowerCase());
      }
      case "bytes":
        return list(text).map((item) => wholeNumber(item, 100));
      case "criteria": {
        const criteria = list(text).map((item) => {
          const match = /^(.+?)\s*:\s*(\d+)$/.exec(item);
          if (!match) throw new FieldError("Write each criterion as name: weight, such as price: 60.");
          return { name: match[1], weight: wholeNumber(match[2], 100) };
        });
        const sum = criteria.reduce((total, c) => total + c.weight, 0);
        if (sum !== 100) throw new FieldError("The weights add up to " + sum + "; they must add up to 100.");
        return criteria;
      }
      case "datetime": {
        const ms = new Date(text).getTime();
        if (Number.isNaN(ms)) throw new FieldError("Enter a date and time.");
        if (ms <= Date.now()) throw new FieldError("Enter a time in the future.");
        return ms;
      }
      default:
        return text;
    }
  }

  function note(form, ...children) {
    form.querySelector(".result").replaceChildren(...children);
  }

  function record(hash, title) {
    if (!submitted) return null;
    const empty = submitted.querySelector(".empty");
    if (empty) empty.remove();
    const item = el("li", {}, title + ": ", el("a", { href: "/explorer/transactions/" + hash, text: hash.slice(0, 16) + "…" }), " ");
    const state = el("span", { text: "pending" });
    item.append(state);
    submitted.prepend(item);
    return state;
  }

  async function onSubmit(form) {
    const inputs = Array.from(form.querySelectorAll("[data-path]"));
    const instruction = { module: form.dataset.module, op: form.dataset.op };
    let firstInvalid = null;
    for (const input of inputs) {
      if (input.type !== "hidden") setFieldError(input, "");
      try {
        const value = await read(input, form);
        if (value !== undefined) setPath(instruction, input.dataset.path, value);
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        setFieldError(input, error.message);
        firstInvalid = firstInvalid || input;
      }
    }
    if (firstInvalid) {
      note(form, el("p", { class: "verdict-bad", text: "Please correct the fields marked above." }));
      firstInvalid.focus();
      return;
    }
    const entry = await loadKey();
    if (!entry) {
      note(form, el("p", { class: "verdict-bad" }, "No key in this browser. ", el("a", { href: "/sign-in", text: "Sign in" }), " first."));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      note(form, el("p", { text: "Signing in your browser and submitting…" }));
      const hash = await submit(entry, [instruction], "", cosigners);
      const title = form.dataset.title;
      const listed = record(hash, title);
      const link = el("a", { href: "/explorer/transactions/" + hash, text: hash });
      note(form, el("p", {}, "Submitted as ", link, ". Waiting for a block…"));
      const status = await waitFor(hash);
      if (status.status === "finalized") {
        note(form, el("p", { class: "verdict-ok" }, "Finalized in block ",
          el("a", { href: "/explorer/blocks/" + status.height, text: String(status.height) }), ". ",
          el("a", { href: "/explorer/transactions/" + hash, text: "See the receipt" })));
        if (listed) listed.textContent = "finalized in block " + status.height;
      } else {
        const outcome = status.receipt ? status.receipt.outcome : status;
        const message = outcome.message || status.message || status.status;
        const code = outcome.code || status.code || "";
        const refusal = el("p", { class: "verdict-bad", role: "alert" }, "Refused by the ledger: " + message + (code ? " (" + code + ")" : ""));
        note(form, refusal);
        if (listed) listed.textContent = "refused: " + message;
      }
    } catch (error) {
      note(form, el("p", { class: "verdict-bad", role: "alert", text: "Not submitted: " + (error.message || error) }));
    } finally {
      button.disabled = false;
    }
  }

  for (const form of document.querySelectorAll(".console-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit(form).catch((error) => note(form, el("p", { class: "verdict-bad", role: "alert", text: String(error.message || error) })));
    });
  }

  // Opening a bid: fill the form from the bid's secret file (`civitas tx procurement bid`).
  for (const input of document.querySelectorAll(".bid-secret")) {
    input.addEventListener("change", async () => {
      const form = input.closest("form");
      setFieldError(input, "");
      try {
        const secret = JSON.parse(await input.files[0].text());
        const digits = MINOR_DIGITS[secret.price.currency] ?? 2;
        const whole = String(secret.price.amount).padStart(digits + 1, "0");
        const values = {
          tender: String(secret.tender),
          bidder: secret.bidder,
          "price.amount": digits ? whole.slice(0, -digits) + "." + whole.slice(-digits) : whole,
          "price.currency": secret.price.currency,
          proposal: secret.proposal,
          salt: secret.salt,
        };
        for (const [path, value] of Object.entries(values)) {
          form.querySelector('[data-path="' + path + '"]').value = value;
        }
      } catch (_) {
        setFieldError(input, "This is not a bid secret file (it has tender, bidder, price, proposal and salt).");
      }
    });
  }
})();
