// The key manager: use a key file or create a key in this browser (downloading its file once,
// when it is made), sign in (a signed read of /portal/session with a one-time challenge), sign
// out. The private key never leaves the browser, and no script can read it back out.
"use strict";

(() => {
  const { el, loadKey, importKeyFile, createKey, forgetKey, signInWith, setFieldError } = Civitas;
  const status = document.getElementById("key-status");
  const result = document.getElementById("sign-in-result");
  const signInButton = document.getElementById("sign-in");

  function describe(entry) {
    if (!status) return;
    if (!entry) {
      status.replaceChildren(el("p", { text: "This browser holds no key yet. Use a key file or create a key." }));
    } else {
      status.replaceChildren(el("p", {}, "This browser holds the key of account ",
        el("code", { text: entry.account }), entry.label ? " (" + entry.label + ")." : "."));
    }
    if (signInButton) signInButton.disabled = !entry;
  }

  async function signIn() {
    const entry = await loadKey();
    if (!entry) return;
    result.replaceChildren(el("p", { text: "Signing in…" }));
    const { ok, body } = await signInWith(entry);
    if (!ok) {
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
        const { entry, file } = await createKey("created in the portal");
        describe(entry);
        const blob = new Blob([file], { type: "application/json" });
        const download = el("a", {
          href: URL.createObjectURL(blob),
          download: "civitas-key-" + entry.account.slice(0, 8) + ".json",
          id: "download-key",
          text: "Download the key file",
        });
        result.replaceChildren(
          el("p", { text: "A new key was created in this browser. Download its file now to keep a copy: this browser keeps the key so that no page can read it out, so the file cannot be made again later. Then give its account id to an agency to be registered:" }),
          el("p", {}, el("code", { text: entry.account })),
          el("p", {}, download));
      } catch (error) {
        result.replaceChildren(el("p", { class: "verdict-bad", text: "This browser cannot create Ed25519 keys (" + (error.message || error) + "); use a key file instead." }));
      }
    });
  }

  if (signInButton) signInButton.addEventListener("click", () => signIn().catch((e) => {
    result.replaceChildren(el("p", { class: "verdict-bad", text: "Not signed in: " + (e.message || e) }));
  }));

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
