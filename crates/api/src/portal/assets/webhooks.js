// The console's webhook subscriptions: subscribe (the secret is shown once), replay dead
// deliveries, delete. Each is a POST with the session; the node checks the same rules as for
// the API's signed requests.
"use strict";

(() => {
  const { el, setFieldError } = Civitas;
  const form = document.getElementById("webhook-form");
  const result = document.getElementById("webhook-result");

  async function post(url) {
    const response = await fetch(url, { method: "POST" });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      /* not JSON */
    }
    if (!response.ok) {
      const error = (body && body.error) || { code: "http_" + response.status, message: "the node answered " + response.status };
      throw error;
    }
    return body;
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = ["url", "account", "module", "type"].map((name) => form.elements[name]);
      let valid = true;
      for (const input of fields) {
        setFieldError(input, "");
        if (!input.checkValidity()) {
          valid = false;
          setFieldError(input, input.validity.valueMissing ? "Give the URL to post to." : "This does not have the form asked for.");
        }
      }
      if (!valid) {
        form.querySelector("[aria-invalid=true]").focus();
        return;
      }
      const query = new URLSearchParams();
      for (const input of fields) if (input.value.trim()) query.set(input.name, input.value.trim());
      try {
        const made = await post("/portal/webhooks?" + query.toString());
        if (!made.secret) {
          result.replaceChildren(el("p", { class: "verdict-ok", text: "This subscription exists already: " + made.webhook.id + ". Its secret was shown when it was made; delete it and subscribe again for a new one." }));
          return;
        }
        result.replaceChildren(
          el("p", { class: "verdict-ok", text: "Subscribed: " + made.webhook.id + "." }),
          el("p", { text: "Its signing secret, shown here once (keep it with the receiver; it checks each delivery's webhook-signature with it):" }),
          el("pre", { id: "webhook-secret", text: made.secret }),
          el("p", {}, el("a", { href: "/console/webhooks", text: "Refresh the list" })),
        );
      } catch (e) {
        const target = e.code === "bad_url" ? form.elements.url : null;
        if (target) setFieldError(target, e.message);
        result.replaceChildren(el("p", { class: "verdict-bad", text: "Not subscribed: " + e.message }));
      }
    });
  }

  document.addEventListener("click", async (event) => {
    const replay = event.target.closest(".webhook-replay");
    const remove = event.target.closest(".webhook-delete");
    const button = replay || remove;
    if (!button) return;
    const id = button.dataset.id;
    if (remove && !window.confirm("Delete subscription " + id + " and its delivery log?")) return;
    try {
      const done = await post("/portal/webhooks/" + encodeURIComponent(id) + (replay ? "/replay" : "/delete"));
      result.replaceChildren(el("p", { class: "verdict-ok", text: replay ? done.replayed + " deliveries of " + id + " will be sent again." : id + " is deleted." }));
      if (remove) button.closest("tr").remove();
      else button.disabled = true;
    } catch (e) {
      result.replaceChildren(el("p", { class: "verdict-bad", text: e.message }));
    }
  });
})();
