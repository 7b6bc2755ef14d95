// Permits: the application form a permit type's page generates, and the applicant's answer,
// appeal and withdrawal on an application's page. Answers are checked here as the agency's vault
// checks them, sent to that vault with a request this browser's key signs (sealed there for
// the agency and for the applicant), and the application goes to the ledger as a transaction
// the same key signs. The answers never reach the ledger; documents are hashed here and never
// uploaded.
"use strict";

(() => {
  const { el, sha256Hex, loadKey, signedRead, submit, waitFor, setFieldError } = Civitas;
  const encoder = new TextEncoder();
  // How long the vault may take to answer.
  const VAULT_TIMEOUT_MS = 20000;

  // The answers of a form's generated fields, checked; null (each problem shown by its field)
  // if any is wrong.
  function readAnswers(form) {
    const answers = {};
    let first = null;
    for (const node of form.querySelectorAll("[data-field]")) {
      const kind = node.dataset.kind;
      let value;
      let error = "";
      if (kind === "yes_no") {
        const checked = node.querySelector("input:checked");
        if (checked) value = checked.value === "true";
      } else {
        const text = node.value.trim();
        if (node.validity && node.validity.badInput) {
          error = "Enter a complete date.";
        } else if (text !== "") {
          if (kind === "number") {
            const min = Number(node.dataset.min);
            const max = Number(node.dataset.max);
            const n = /^\d+$/.test(text) ? Number(text) : NaN;
            if (!Number.isSafeInteger(n)) error = "Enter a whole number, such as 40.";
            else if (n < min || n > max) error = "Enter a number from " + min + " to " + max + ".";
            else value = n;
          } else if (kind === "date") {
            if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) error = "Enter a date.";
            else value = text;
          } else if (kind === "text") {
            const bytes = encoder.encode(text).length;
            const max = Number(node.dataset.maxBytes);
            if (bytes > max) error = "At most " + max + " bytes; this is " + bytes + ".";
            else value = text;
          } else {
            value = text;
          }
        }
      }
      if (!error && value === undefined && node.dataset.required === "true") error = "This is required.";
      setFieldError(node, error);
      if (error && !first) first = node;
      if (!error && value !== undefined) answers[node.dataset.field] = value;
    }
    if (first) {
      (first.querySelector("input") || first).focus();
      return null;
    }
    return answers;
  }

  // The SHA-256 of each document chosen, in order; null if a required one is missing.
  async function readDocuments(form) {
    const hashes = [];
    let missing = null;
    for (const input of form.querySelectorAll("input[data-document]")) {
      const file = input.files[0];
      if (!file) {
        if (input.dataset.required === "true") {
          setFieldError(input, "Choose the document; it is hashed here and never uploaded.");
          missing = missing || input;
        }
        continue;
      }
      setFieldError(input, "");
      hashes.push(await sha256Hex(await file.arrayBuffer()));
    }
    if (missing) {
      missing.focus();
      return null;
    }
    return hashes;
  }

  // The id of each vault record the type requires, in order; null (each problem shown by its
  // field) if one is missing or not an id.
  function readRecords(form) {
    const ids = [];
    let first = null;
    for (const input of form.querySelectorAll("input[data-record]")) {
      const text = input.value.trim().toLowerCase();
      const error = text === "" ? "This is required." : /^[0-9a-f]{64}$/.test(text) ? "" : "Enter the record's id: 64 hexadecimal characters (0-9, a-f).";
      setFieldError(input, error);
      if (error && !first) first = input;
      ids.push(text);
    }
    if (first) {
      first.focus();
      return null;
    }
    return ids;
  }

  // A POST to an agency's vault, signed by this browser's key (the signed path names the
  // body's SHA-256); its answer, or an error with the vault's reason.
  async function vaultPost(entry, vault, path, body) {
    const text = JSON.stringify(body);
    const signed = path + "?sha256=" + (await sha256Hex(encoder.encode(text)));
    const headers = Object.assign({ "content-type": "application/json" }, await signedRead(entry, signed));
    const response = await fetch(vault.replace(/\/$/, "") + signed, {
      method: "POST",
      headers,
      body: text,
      credentials: "omit",
      signal: AbortSignal.timeout(VAULT_TIMEOUT_MS),
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (_) {
      /* not JSON */
    }
    if (!response.ok) {
      const error = answer && answer.error;
      const failure = new Error(error ? error.message : "the vault answered " + response.status);
      failure.code = error ? error.code : "http_" + response.status;
      throw failure;
    }
    return answer;
  }

  function say(result, kind, ...children) {
    const attributes = kind === "bad" ? { class: "verdict-bad", role: "alert" } : { class: "verdict-" + kind };
    result.replaceChildren(el("p", attributes, ...children));
  }

  // Signs and submits `instruction`, waits until it is final; its status, or an error with
  // the ledger's reason.
  async function send(entry, instruction, result) {
    say(result, "ok", "Signing in your browser and submitting…");
    const hash = await submit(entry, [instruction], "");
    const status = await waitFor(hash);
    if (status.status !== "finalized") {
      const outcome = status.receipt ? status.receipt.outcome : status;
      throw new Error("Refused by the ledger: " + (outcome.message || status.status) + (outcome.code ? " (" + outcome.code + ")" : ""));
    }
    status.hash = hash;
    return status;
  }

  async function signedInKey(result) {
    const entry = await loadKey();
    if (!entry) {
      say(result, "bad", "Sign in with your key first: ", el("a", { href: "/sign-in", text: "sign in" }), ".");
    }
    return entry;
  }

  // A vault POST, tried again for a few seconds while the vault is a block behind the ledger
  // (`form_out_of_step`).
  async function vaultPostPatiently(entry, vault, path, body) {
    const until = Date.now() + VAULT_TIMEOUT_MS;
    for (;;) {
      try {
        return await vaultPost(entry, vault, path, body);
      } catch (error) {
        if (error.code !== "form_out_of_step" || Date.now() > until) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  // ---- applying ----
  const applyForm = document.getElementById("apply-form");
  // The form the vault sealed for these answers, kept while the ledger has not filed it: a
  // second try files the same form rather than sealing another.
  let sealedFor = null;
  if (applyForm) {
    applyForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = applyForm.querySelector(".result");
      const answers = readAnswers(applyForm);
      if (!answers) return say(result, "bad", "Some answers need attention; each says what.");
      const documents = await readDocuments(applyForm);
      if (!documents) return say(result, "bad", "A document is missing.");
      const records = readRecords(applyForm);
      if (!records) return say(result, "bad", "A record is missing or its id is wrong.");
      const entry = await signedInKey(result);
      if (!entry) return;
      const button = applyForm.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const key = entry.account + " " + JSON.stringify(answers);
        if (!sealedFor || sealedFor.key !== key) {
          say(result, "ok", "Sending your answers to the agency's vault…");
          const sealed = await vaultPost(entry, applyForm.dataset.vault, "/v1/vault/forms", {
            permit_type: applyForm.dataset.type,
            answers,
          });
          sealedFor = { key, sealed };
        }
        const sealed = sealedFor.sealed;
        const instruction = {
          module: "permits",
          op: "apply",
          permit_type: applyForm.dataset.type,
          form: { seed: sealed.seed, commitment: sealed.commitment, subject: sealed.subject },
          documents,
          records,
        };
        if (applyForm.dataset.renews) instruction.renews = Number(applyForm.dataset.renews);
        const status = await send(entry, instruction, result);
        const events = (status.receipt && status.receipt.events) || [];
        const filed = events.find((e) => e.type === "application_filed");
        if (!filed) throw new Error("the ledger filed no application");
        sealedFor = null;
        const link = "/permits/applications/" + filed.application;
        say(result, "ok", "Filed as application " + filed.application + ". ",
          el("a", { href: link, id: "filed-link", text: "Follow it" }),
          filed.fee ? " — pay the fee with the reference APPLICATION-" + filed.application + "; the first step starts once it is recorded." : "");
        applyForm.reset();
      } catch (error) {
        say(result, "bad", "Not filed: " + (error.message || error));
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- the holder, on a licence's page: the way to renew it ----
  const renew = document.getElementById("licence-renew");
  if (renew) {
    loadKey().then((entry) => {
      if (entry && entry.account === renew.dataset.holder) renew.hidden = false;
    }).catch(() => {});
  }

  // ---- the applicant, on an application's page ----
  const actions = document.getElementById("applicant-actions");
  if (!actions) return;
  const data = actions.dataset;
  const application = Number(data.application);

  function reloadSoon() {
    setTimeout(() => window.location.reload(), 1500);
  }

  loadKey().then((entry) => {
    if (!entry || entry.account !== data.applicant) return;
    actions.hidden = false;
    document.getElementById("answer-form").hidden = data.awaiting !== "true";
    document.getElementById("withdraw-form").hidden = data.undecided !== "true";
    document.getElementById("appeal-form").hidden = data.refused !== "true";
  }).catch(() => {});

  const answerForm = document.getElementById("answer-form");
  // The revision the vault sealed, kept while the ledger has not recorded it (as for applying).
  let revisedFor = null;
  answerForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = answerForm.querySelector(".result");
    const documents = await readDocuments(answerForm);
    if (!documents) return;
    // The form is filled in again only if something in it changed.
    const touched = Array.from(answerForm.querySelectorAll("[data-field]")).some((node) =>
      node.dataset.kind === "yes_no" ? node.querySelector("input:checked") : node.value.trim() !== "");
    const answers = touched ? readAnswers(answerForm) : null;
    if (touched && !answers) return say(result, "bad", "Some answers need attention; each says what.");
    if (!touched && documents.length === 0) return say(result, "bad", "Give your corrected answers, a document, or both.");
    const entry = await signedInKey(result);
    if (!entry) return;
    try {
      let form;
      if (answers) {
        const key = entry.account + " " + JSON.stringify(answers);
        if (!revisedFor || revisedFor.key !== key) {
          say(result, "ok", "Sending your corrected answers to the agency's vault…");
          const sealed = await vaultPostPatiently(entry, data.vault, "/v1/vault/forms/" + data.form + "/versions", { application, answers });
          revisedFor = { key, commitment: sealed.commitment };
        }
        form = revisedFor.commitment;
      }
      const instruction = { module: "permits", op: "provide_information", application, documents };
      if (form) instruction.form = form;
      await send(entry, instruction, result);
      revisedFor = null;
      say(result, "ok", "Answered; the step's clock has started again.");
      reloadSoon();
    } catch (error) {
      say(result, "bad", "Not answered: " + (error.message || error));
    }
  });

  const withdrawForm = document.getElementById("withdraw-form");
  withdrawForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = withdrawForm.querySelector(".result");
    const entry = await signedInKey(result);
    if (!entry) return;
    try {
      await send(entry, { module: "permits", op: "withdraw", application }, result);
      say(result, "ok", "Withdrawn.");
      reloadSoon();
    } catch (error) {
      say(result, "bad", "Not withdrawn: " + (error.message || error));
    }
  });

  const appealForm = document.getElementById("appeal-form");
  appealForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = appealForm.querySelector(".result");
    const input = document.getElementById("appeal-grounds");
    const file = input.files[0];
    setFieldError(input, file ? "" : "Choose the file with your grounds of appeal.");
    if (!file) return input.focus();
    const entry = await signedInKey(result);
    if (!entry) return;
    try {
      const grounds = await sha256Hex(await file.arrayBuffer());
      await send(entry, { module: "permits", op: "appeal", application, grounds }, result);
      say(result, "ok", "Appealed; the supervisor decides.");
      reloadSoon();
    } catch (error) {
      say(result, "bad", "Not appealed: " + (error.message || error));
    }
  });
})();
