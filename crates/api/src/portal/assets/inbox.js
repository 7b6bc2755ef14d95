// The account page's notifications: live from the node's stream of this account's inbox
// (/portal/inbox/stream, server-sent events, with the session), and marking them read.
"use strict";

(() => {
  const list = document.getElementById("notifications");
  const count = document.getElementById("unread-count");
  const markAll = document.getElementById("mark-all-read");
  if (!list) return;
  const SHOWN_MAX = 50;

  function link(href, text) {
    return Civitas.el("a", { href, text });
  }

  function setUnread(unread) {
    if (count && typeof unread === "number") count.textContent = unread >= 1000 ? unread + " or more" : String(unread);
  }

  async function mark(query) {
    const response = await fetch("/portal/inbox/read?" + query, { method: "POST" });
    if (!response.ok) throw new Error("the node did not mark it read (" + response.status + ")");
    const body = await response.json();
    setUnread(body.unread);
  }

  function markedRead(item) {
    item.classList.remove("unread");
    item.classList.add("read");
    const hidden = item.querySelector(".visually-hidden");
    if (hidden) hidden.textContent = "Read: ";
    const button = item.querySelector(".mark-read");
    if (button) button.remove();
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest(".mark-read");
    if (!button) return;
    const item = button.closest("li");
    mark("ids=" + encodeURIComponent(button.dataset.id)).then(() => markedRead(item)).catch((e) => {
      button.textContent = "Try again";
      button.title = e.message;
    });
  });

  if (markAll) {
    markAll.addEventListener("click", () => {
      const newest = list.querySelector("li[data-id]");
      const through = newest ? newest.dataset.id : markAll.dataset.through;
      if (!through) return;
      mark("through=" + encodeURIComponent(through)).then(() => {
        for (const item of list.querySelectorAll("li.unread")) markedRead(item);
      }).catch((e) => {
        markAll.title = e.message;
      });
    });
  }

  // As the page words them on the server: a use of personal data says who and what for.
  function words(event, module) {
    const kind = (event.type || module || "event").replace(/_/g, " ");
    const who = event.agency || event.recipient;
    if (event.purpose && who) return kind + ": " + who + ", for " + event.purpose;
    const detail = event.title || event.name || event.reason || event.note || "";
    return kind + (detail ? ": " + detail : "");
  }

  if (!window.EventSource) return;
  // From the page's own height on, so nothing finalized meanwhile is missed; on reconnection
  // the browser sends the last id it received.
  const after = list.dataset.after ? "?after=" + encodeURIComponent(list.dataset.after) : "";
  const source = new EventSource("/portal/inbox/stream" + after);
  source.addEventListener("notification", (message) => {
    const item = JSON.parse(message.data);
    if (list.querySelector('li[data-id="' + CSS.escape(item.id) + '"]')) return;
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = Civitas.el("li", { class: (item.read ? "read" : "unread") + " fresh", "data-id": item.id });
    li.append(Civitas.el("span", { class: "visually-hidden", text: item.read ? "Read: " : "Unread: " }),
      "Block ", link("/explorer/blocks/" + item.height, String(item.height)),
      ": " + words(item.event) + " ", link("/explorer/transactions/" + item.tx, "details"));
    if (!item.read) {
      li.append(" ", Civitas.el("button", { type: "button", class: "secondary mark-read", "data-id": item.id, text: "Mark read" }));
    }
    list.prepend(li);
    while (list.children.length > SHOWN_MAX) list.lastElementChild.remove();
    if (count && !item.read) {
      const now = parseInt(count.textContent, 10);
      if (!Number.isNaN(now) && !count.textContent.includes("more")) setUnread(now + 1);
    }
  });
})();
