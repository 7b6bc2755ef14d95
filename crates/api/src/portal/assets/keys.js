// The key manager: use a key file or create a key in this browser, sign in (a signed read of
// /portal/session), download the key as a file, sign out. The private key never leaves the
// browser.
"use strict";

(() => {
  const { el, loadKey, importKeyFile, createKey, exportKeyFile, forgetKey, signedRead, setFieldError } = Civitas;
  const status = document.getElementById("key-status");
  const result = document.getElementById("sign-in-result");
  const signInButton = document.getElementById("sign-in");
  const exportButton = document.getElementById("export-key");

  function describe(entry) {
    if (!status) return;
    if (!entry) {
      status.replaceChildren(el("p", { text: "This browser holds no key yet. Use a key file or create a key." }));
    } else {
      status.replaceChildren(el("p", {}, "This browser holds the key of account ",
        el("code", { text: entry.account }), entry.label ? " (" + entry.label + ")." : "."));
    }
    if (signInButton) signInButton.disabled = !entry;
    if (exportButton) exportButton.disabled = !entry;
  }

  async function signIn() {
    const entry = await loadKey();
    if (!entry) return;
    result.replaceChildren(el("p", { text: "Signing in…" }));
    const headers = await signedRead(entry, "/portal/session");
    const response = await fetch("/portal/session", { method: "POST", headers });
    const body = await response.json();
    if (!response.ok) {
      result.replaceChildren(el("p", { class: "verdict-bad", text: "Not signed in: " + body.error.message }));
      return;
    }
    const who = body.kind === "official" ? body.name + ", " + body.agency : "citizen";
    const links = el("p", {}, el("a", { href: "/account", text: "Go to your account" }));
    if (body.kind === "official") links.append(" · ", el("a", { href: "/console", text: "Open the agency console" }));
    result.replaceChildren(el("p", { class: "verdict-ok", text: "Signed in as " + who + "." }), links);
    const here = window.location.pathname;
    if (here === "/account" || here === "/console") window.location.reload();
  }

  const importForm = document.getElementById("import-form");
  if (importForm) {
    importForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = document.getElementById("key-file");
      setFieldError(input, "");
      const file = input.files[0];
      if (!file) {
        setFieldError(input, "Choose your key file first.");
        input.focus();
        return;
      }
      if (file.size > 64 * 1024) {
        setFieldError(input, "A key file is a few hundred bytes; this one is too large.");
        return;
      }
      try {
        describe(await importKeyFile(await file.text()));
        await signIn();
      } catch (error) {
        setFieldError(input, error.message || String(error));
      }
    });
  }

  const createForm = document.getElementById("create-form");
  if (createForm) {
    createForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const entry = await createKey("created in the portal");
        describe(entry);
        result.replaceChildren(
          el("p", { text: "A new key was created in this browser. Download it as a file to keep a copy, and give its account id to an agency to be registered:" }),
          el("p", {}, el("code", { text: entry.account })));
      } catch (error) {
        result.replaceChildren(el("p", { class: "verdict-bad", text: "This browser cannot create Ed25519 keys (" + (error.message || error) + "); use a key file instead." }));
      }
    });
  }

  if (signInButton) signInButton.addEventListener("click", () => signIn().catch((e) => {
    result.replaceChildren(el("p", { class: "verdict-bad", text: "Not signed in: " + (e.message || e) }));
  }));

  if (exportButton) {
    exportButton.addEventListener("click", async () => {
      const entry = await loadKey();
      if (!entry) return;
      const blob = new Blob([await exportKeyFile(entry)], { type: "application/json" });
      const a = el("a", { href: URL.createObjectURL(blob), download: "civitas-key-" + entry.account.slice(0, 8) + ".json" });
      document.body.append(a);
      a.click();
      a.remove();
    });
  }

  async function signOut(forget) {
    await fetch("/portal/session/end", { method: "POST" });
    if (forget) await forgetKey();
    window.location.href = "/sign-in";
  }

  const forgetButton = document.getElementById("forget-key");
  if (forgetButton) forgetButton.addEventListener("click", () => {
    if (window.confirm("Forget the key in this browser? Keep a key file if you will need it again.")) signOut(true);
  });
  const signOutButton = document.getElementById("sign-out");
  if (signOutButton) signOutButton.addEventListener("click", () => signOut(false));

  loadKey().then(describe).catch(() => describe(null));
})();
