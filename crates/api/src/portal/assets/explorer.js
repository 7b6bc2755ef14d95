// Live updates from the node's event stream (/v1/events, server-sent events): the latest
// height, new blocks and transactions on the explorer, and a pending transaction's page.
"use strict";

(() => {
  const blocksBody = document.getElementById("blocks-body");
  const txsBody = document.getElementById("txs-body");
  const pending = document.querySelector("[data-pending]");
  const ROWS_MAX = 15;

  function shortHex(hex) {
    const code = Civitas.el("code", { title: hex });
    code.append(Civitas.el("span", { class: "visually-hidden", text: hex }));
    code.append(Civitas.el("span", { "aria-hidden": "true", text: hex.slice(0, 8) + "…" + hex.slice(-6) }));
    return code;
  }

  function link(href, content) {
    const a = Civitas.el("a", { href });
    a.append(content);
    return a;
  }

  function prepend(body, cells) {
    const empty = body.querySelector("td[colspan]");
    if (empty) empty.parentElement.remove();
    const row = Civitas.el("tr", { class: "fresh" });
    for (const cell of cells) row.append(Civitas.el("td", {}, cell));
    body.prepend(row);
    while (body.rows.length > ROWS_MAX) body.deleteRow(body.rows.length - 1);
  }

  function time(ms) {
    const iso = new Date(ms).toISOString();
    return Civitas.el("time", { datetime: iso, text: iso.slice(0, 16).replace("T", " ") + " UTC" });
  }

  if (!window.EventSource) return;
  const source = new EventSource("/v1/events");

  // The height of the newest block shown, so blocks finalized between the page's rendering and
  // the stream's start are fetched rather than skipped.
  let shown = blocksBody && blocksBody.rows.length ? parseInt(blocksBody.rows[0].cells[0].textContent, 10) : null;
  let queue = Promise.resolve();

  async function showBlock(height, summary) {
    const needBody = txsBody && (summary === null || summary.tx_count > 0);
    const full = summary === null || needBody ? await Civitas.getJSON("/v1/blocks/" + height) : null;
    const block = summary || { height, timestamp: full.header.timestamp, tx_count: full.header.tx_count, digest: full.digest };
    if (blocksBody && !(blocksBody.dataset.hideEmpty === "true" && block.tx_count === 0)) {
      prepend(blocksBody, [
        link("/explorer/blocks/" + block.height, String(block.height)),
        time(block.timestamp),
        String(block.tx_count),
        shortHex(block.digest),
      ]);
    }
    if (txsBody && full) {
      for (const tx of full.transactions) {
        const actions = tx.body.instructions.map((i) => i.module + "." + i.op).join(", ");
        prepend(txsBody, [
          link("/explorer/transactions/" + tx.hash, shortHex(tx.hash)),
          link("/explorer/blocks/" + height, String(height)),
          actions,
          shortHex(tx.body.signer),
        ]);
      }
    }
    shown = height;
  }

  source.addEventListener("block", (message) => {
    const block = JSON.parse(message.data);
    for (const node of document.querySelectorAll("[data-live=height]")) {
      node.textContent = String(block.height);
      node.setAttribute("href", "/explorer/blocks/" + block.height);
    }
    if (!blocksBody && !txsBody) return;
    queue = queue.then(async () => {
      if (shown !== null && block.height <= shown) return;
      if (shown !== null) {
        for (let h = Math.max(shown + 1, block.height - ROWS_MAX + 1); h < block.height; h++) {
          await showBlock(h, null);
        }
      }
      await showBlock(block.height, block);
    }).catch(() => {
      /* the next block event tries again */
    });
  });

  source.addEventListener("receipt", (message) => {
    const receipt = JSON.parse(message.data);
    if (pending && pending.dataset.pending === receipt.tx) {
      pending.textContent = "Finalized in block " + receipt.height + ". Loading the receipt…";
      window.location.reload();
    }
  });
})();
