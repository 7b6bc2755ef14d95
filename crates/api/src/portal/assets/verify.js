// Verify a document (hashed here, never uploaded) and a proof bundle (checked by the node
// against the network's genesis; the same file checks offline with `civitas verify`).
"use strict";

(() => {
  const FILE_MAX_BYTES = 1024 * 1024 * 1024;
  const BUNDLE_MAX_BYTES = 4 * 1024 * 1024;
  const { el, getJSON, sha256Hex, setFieldError } = Civitas;

  function show(region, ...children) {
    region.replaceChildren(...children);
  }

  function when(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  async function checkDocument(file, region) {
    show(region, el("p", { text: "Computing the fingerprint of " + file.name + " in your browser…" }));
    await lookUp(await sha256Hex(await file.arrayBuffer()), region);
  }

  // What the ledger says about the document with SHA-256 `hash`.
  async function lookUp(hash, region) {
    let record;
    try {
      record = (await getJSON("/v1/notary/documents/" + hash)).value;
    } catch (error) {
      if (error.code === "not_found") {
        show(region,
          el("p", { class: "verdict-bad", text: "Not notarised." }),
          el("p", { text: "No document with this fingerprint is on the ledger. A file that differs by a single byte has a different fingerprint." }),
          el("p", {}, "SHA-256: ", el("code", { text: hash })));
        return;
      }
      throw error;
    }
    let issuer = record.issuer;
    try {
      const account = (await getJSON("/v1/accounts/" + record.issuer)).value;
      if (account.name) issuer = account.name + " (" + record.issuer.slice(0, 8) + "…)";
    } catch (_) {
      /* keep the id */
    }
    const facts = el("dl", { class: "facts" });
    const add = (label, value) => facts.append(el("dt", { text: label }), el("dd", {}, value));
    add("Title", record.title);
    add("Notarised by", "agency " + record.agency + ", official " + issuer);
    add("When", when(record.time) + ", block " + record.height);
    add("SHA-256", el("code", { text: hash }));
    const revoked = record.revocation;
    const verdict = revoked
      ? el("p", { class: "verdict-bad", text: "Notarised, then REVOKED on " + when(revoked.time) + ": " + revoked.reason })
      : el("p", { class: "verdict-ok", text: "Notarised and not revoked." });
    const proof = el("a", { href: "/v1/proofs/notary/" + hash, download: "document-" + hash.slice(0, 12) + ".cvpb", class: "proof" });
    proof.append("Download its proof bundle");
    const tx = el("a", { href: "/explorer/transactions/" + record.tx, text: "the notarising transaction" });
    show(region, verdict, facts, el("p", {}, proof, " (checks offline with civitas verify) · see ", tx));
  }

  async function checkBundle(file, region) {
    show(region, el("p", { text: "Checking " + file.name + "…" }));
    const response = await fetch("/v1/proofs/verify", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: await file.arrayBuffer(),
    });
    const verdict = await response.json();
    if (!response.ok) throw verdict.error || { message: "the node answered " + response.status };
    if (!verdict.valid) {
      show(region,
        el("p", { class: "verdict-bad", text: "NOT VALID." }),
        el("p", { text: "This bundle does not prove anything about this ledger: " + verdict.reason }));
      return;
    }
    show(region,
      el("p", { class: "verdict-ok", text: "Valid." }),
      el("p", { text: verdict.statement + "." }),
      el("p", { text: "Checked: " + verdict.signers + " of " + verdict.validators + " validators of epoch " + verdict.epoch + " signed block " + verdict.height + ", whose roots prove this; the chain of validator sets from genesis was followed through " + verdict.handovers + " hand-over(s)." }),
      el("p", {}, "Against the genesis document of chain " + verdict.chain_id + ", SHA-256 ", el("code", { text: verdict.genesis_hash }), ": compare it with the one the agencies publish."));
  }

  function wire(formId, inputId, resultId, limit, check) {
    const form = document.getElementById(formId);
    const input = document.getElementById(inputId);
    const region = document.getElementById(resultId);
    if (!form) return;
    const run = async (file) => {
      setFieldError(input, "");
      if (!file) {
        setFieldError(input, "Choose a file first.");
        input.focus();
        return;
      }
      if (file.size > limit) {
        setFieldError(input, "This file is larger than " + limit / (1024 * 1024) + " MiB.");
        return;
      }
      try {
        await check(file, region);
      } catch (error) {
        show(region, el("p", { class: "verdict-bad", text: "Could not check: " + (error.message || error) }));
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(input.files[0]);
    });
    return run;
  }

  wire("doc-form", "doc-file", "doc-result", FILE_MAX_BYTES, checkDocument);
  // `/verify?document=<sha256>`: links from other pages name a document by its fingerprint.
  const named = new URLSearchParams(window.location.search).get("document");
  const docResult = document.getElementById("doc-result");
  if (named && docResult) {
    if (/^[0-9a-fA-F]{64}$/.test(named)) {
      lookUp(named.toLowerCase(), docResult).catch((error) => {
        show(docResult, el("p", { class: "verdict-bad", text: "Could not check: " + (error.message || error) }));
      });
    } else {
      show(docResult, el("p", { class: "verdict-bad", text: "The address names no document: a SHA-256 fingerprint is 64 hexadecimal characters." }));
    }
  }
  const runBundle = wire("bundle-form", "bundle-file", "bundle-result", BUNDLE_MAX_BYTES, checkBundle);
  const drop = document.getElementById("bundle-drop");
  if (drop && runBundle) {
    drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      runBundle(event.dataTransfer.files[0]);
    });
  }
})();
