// Browser tests of the Civitas portal, run against a live `civitas devnet` with its sample data
// by crates/civitas/tests/portal.rs. Playwright (playwright-core) drives Debian's headless
// Chromium; axe-core checks each main page against WCAG 2.1 A and AA rules.
//
//   CIVITAS_PORTAL_URL   the node's address, such as http://127.0.0.1:8080
//   CIVITAS_DEVNET_DIR   the devnet directory (keys/ and samples/)
//   CIVITAS_SCREENSHOTS  where screenshots are written
//   CIVITAS_BIN          the civitas executable (an official's read, from the command line)
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const BASE = process.env.CIVITAS_PORTAL_URL;
const DEVNET = process.env.CIVITAS_DEVNET_DIR;
const SHOTS = process.env.CIVITAS_SCREENSHOTS || "portal-screenshots";
assert.ok(BASE && DEVNET, "set CIVITAS_PORTAL_URL and CIVITAS_DEVNET_DIR");
mkdirSync(SHOTS, { recursive: true });

let browser;
let year;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const status = await (await fetch(BASE + "/v1/status")).json();
  year = new Date(status.timestamp).getUTCFullYear();
});

after(async () => {
  if (browser) await browser.close();
});

async function newPage(options) {
  const context = await browser.newContext(Object.assign({ baseURL: BASE, acceptDownloads: true }, options || {}));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    // A lookup that answers 404 (a document never notarised) is logged by the browser too;
    // responses are checked below instead.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      errors.push(message.text());
    }
  });
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (!path.startsWith("/v1/") && response.status() >= 400) errors.push(response.status() + " " + path);
  });
  page.errors = errors;
  return page;
}

// Signs in on /sign-in with a devnet key file.
async function signIn(page, keyFile) {
  await page.goto("/sign-in");
  await page.setInputFiles("#key-file", join(DEVNET, "keys", keyFile));
  await page.getByRole("button", { name: "Use this key file" }).click();
  await page.getByText(/Signed in as/).waitFor();
}

async function axe(page) {
  // Evaluated through the devtools protocol: the pages' policy forbids inline scripts.
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name + ".png"), fullPage: true });
}

const MAIN_PAGES = () => [
  ["home", "/"],
  ["explorer", "/explorer"],
  ["epoch-0", "/explorer/epochs/0"],
  ["verify", "/verify"],
  ["spending", "/spending/" + year],
  ["spending-health", "/spending/" + year + "/agency/health"],
  ["procurement", "/procurement"],
  ["tender-1", "/procurement/tenders/1"],
  ["notices", "/notices"],
  ["notice-3", "/notices/3"],
  ["sign-in", "/sign-in"],
  ["my-data", "/my-data"],
  ["permits", "/permits"],
  ["permit-type", "/permits/types/business-licence"],
  ["building-permit", "/permits/types/building-permit"],
  ["application-1", "/permits/applications/1"],
  ["application-3", "/permits/applications/3"],
  ["licence-1", "/permits/licences/1"],
  ["register", "/permits/register"],
  ["permit-statistics", "/permits/statistics"],
];

test("every main page meets WCAG 2.1 AA (axe-core) and renders on a desktop and a phone", async () => {
  for (const [viewport, size] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    const page = await newPage({ viewport: size });
    for (const [name, path] of MAIN_PAGES()) {
      const response = await page.goto(path);
      assert.equal(response.status(), 200, path);
      const csp = response.headers()["content-security-policy"] || "";
      assert.match(csp, /script-src 'self'/, "pages forbid inline scripts");
      await page.waitForLoadState("networkidle").catch(() => {});
      const violations = await axe(page);
      assert.deepEqual(violations, [], name + " (" + viewport + "): " + JSON.stringify(violations, null, 1));
      if (viewport === "phone") {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 1, name + " scrolls sideways on a phone by " + overflow + " px");
      }
      await shot(page, name + "-" + viewport);
    }
    assert.deepEqual(page.errors, [], "no script errors");
    await page.context().close();
  }
});

test("verify a document: hashed in the browser, never uploaded, verdict in words", async () => {
  const page = await newPage();
  const sent = [];
  page.on("request", (request) => sent.push({ method: request.method(), url: request.url(), body: request.postData() }));
  await page.goto("/verify");
  await page.setInputFiles("#doc-file", join(DEVNET, "samples", "budget-law-2026.txt"));
  await page.getByRole("button", { name: "Check the document" }).click();
  const result = page.locator("#doc-result");
  await result.getByText("Notarised and not revoked.").waitFor();
  assert.match(await result.innerText(), /Budget Law 2026/);
  assert.match(await result.innerText(), /agency finance/);
  await shot(page, "verify-document");
  const content = readFileSync(join(DEVNET, "samples", "budget-law-2026.txt"), "utf8");
  assert.ok(sent.every((r) => r.method === "GET" && !(r.body || "").includes(content.trim())), "the file was not uploaded");

  await page.setInputFiles("#doc-file", join(DEVNET, "samples", "permit-draft.txt"));
  await page.getByRole("button", { name: "Check the document" }).click();
  await result.getByText(/REVOKED/).waitFor();
  assert.match(await result.innerText(), /issued in error/);

  await page.setInputFiles("#doc-file", { name: "other.txt", mimeType: "text/plain", buffer: Buffer.from("never notarised " + Date.now()) });
  await page.getByRole("button", { name: "Check the document" }).click();
  await result.getByText("Not notarised.").waitFor();

  // The bundle offered for the document verifies, and a tampered copy does not.
  await page.setInputFiles("#doc-file", join(DEVNET, "samples", "budget-law-2026.txt"));
  await page.getByRole("button", { name: "Check the document" }).click();
  const download = page.waitForEvent("download");
  await result.getByRole("link", { name: /proof bundle/i }).click();
  const bundlePath = await (await download).path();
  await page.setInputFiles("#bundle-file", bundlePath);
  await page.getByRole("button", { name: "Check the bundle" }).click();
  const verdict = page.locator("#bundle-result");
  await verdict.getByText("Valid.").waitFor();
  assert.match(await verdict.innerText(), /titled "Budget Law 2026" was notarised by finance/);
  await shot(page, "verify-bundle");
  const bytes = readFileSync(bundlePath);
  bytes[bytes.length - 40] ^= 0xff;
  await page.setInputFiles("#bundle-file", { name: "tampered.cvpb", mimeType: "application/octet-stream", buffer: bytes });
  await page.getByRole("button", { name: "Check the bundle" }).click();
  await verdict.getByText("NOT VALID.").waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("follow a payment from the spending dashboard to its records and its proof", async () => {
  const page = await newPage();
  await page.goto("/spending");
  assert.match(page.url(), new RegExp("/spending/" + year + "$"));
  const agencies = page.getByRole("table", { name: "By agency" });
  const health = agencies.getByRole("row", { name: /Ministry of Health/ });
  assert.match(await health.innerText(), /65,000\.00 EUR/, "health has paid 65,000.00 EUR");
  await health.getByRole("link", { name: "Ministry of Health", exact: true }).click();
  await page.waitForURL(/\/spending\/\d+\/agency\/health$/);
  await page.getByText(/their amounts add up to it/).waitFor();
  const records = page.getByRole("table", { name: "Records, newest first" });
  const paid = records.getByRole("row").filter({ hasText: "paid" }).first();
  assert.match(await paid.innerText(), /40,000\.00 EUR/);
  await shot(page, "spending-records");
  const download = page.waitForEvent("download");
  await paid.getByRole("link", { name: /Proof bundle/ }).click();
  const bundlePath = await (await download).path();
  // Check the downloaded proof on the portal's own verify page.
  await page.goto("/verify");
  await page.setInputFiles("#bundle-file", bundlePath);
  await page.getByRole("button", { name: "Check the bundle" }).click();
  const verdict = page.locator("#bundle-result");
  await verdict.getByText("Valid.").waitFor();
  assert.match(await verdict.innerText(), /treasury\/entry/);
  assert.match(await verdict.innerText(), /"kind":"paid"/);
  // And the payment's transaction is in the explorer.
  await page.goBack();
  await paid.getByRole("link").nth(0).isVisible();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("sign in with a key file, sign and submit a transaction in the console, watch it appear", async () => {
  const explorer = await newPage();
  await explorer.goto("/explorer");
  const page = await newPage();
  await signIn(page, "finance-notary.json");
  await page.getByText("Signed in as Ada Lovelace, finance.").waitFor();
  await page.getByRole("link", { name: "Open the agency console" }).click();
  await page.waitForURL(/\/console$/);
  await page.getByText(/Signed in as Ada Lovelace/).waitFor();

  // Inline validation: a malformed hash is refused beside its field, before anything is signed.
  const revoke = page.locator("#notary-revoke");
  await revoke.locator("summary").click();
  await revoke.getByLabel("Document SHA-256").fill("not-a-hash");
  await revoke.getByLabel("Reason").fill("test");
  await revoke.getByRole("button", { name: "Sign and submit" }).click();
  await revoke.getByText("Enter 64 hexadecimal characters (0-9, a-f).").waitFor();
  assert.equal(await revoke.getByLabel("Document SHA-256").getAttribute("aria-invalid"), "true");
  await shot(page, "console-validation");

  // A refusal by the ledger's policies is shown with its reason.
  const pay = page.locator("#treasury-pay");
  await pay.locator("summary").click();
  await pay.getByLabel("Commitment number").fill("1");
  await pay.getByLabel("Amount").fill("10.00");
  await pay.getByLabel("Payment reference").fill("INV-1");
  await pay.getByRole("button", { name: "Sign and submit" }).click();
  await pay.getByText(/Refused by the ledger/).waitFor({ timeout: 60000 });

  // Notarise a new document: signed in the browser, finalized, visible in the explorer.
  const anchor = page.locator("#notary-anchor");
  await anchor.locator("summary").click();
  const document = "portal test document " + Date.now();
  await anchor.getByLabel("Document").setInputFiles({ name: "memo.txt", mimeType: "text/plain", buffer: Buffer.from(document) });
  await anchor.getByLabel("Title").fill("Memo signed in the browser");
  await anchor.getByRole("button", { name: "Sign and submit" }).click();
  await anchor.getByText(/Finalized in block/).waitFor({ timeout: 60000 });
  const hash = (await anchor.getByRole("link").first().getAttribute("href")) || "";
  await shot(page, "console-submitted");
  // The explorer opened before the submission shows it live.
  const txHash = (await page.locator("#submitted a").first().getAttribute("href")).split("/").pop();
  await explorer.locator("#txs-body a[href='/explorer/transactions/" + txHash + "']").waitFor({ timeout: 30000 });
  await shot(explorer, "explorer-live");
  await anchor.getByRole("link", { name: "See the receipt" }).click();
  await page.getByText("Succeeded.").waitFor();
  assert.match(await page.locator("main").innerText(), /Memo signed in the browser/);
  assert.ok(hash.length > 0);
  // The new document verifies on the verify page.
  await page.goto("/verify");
  await page.setInputFiles("#doc-file", { name: "memo.txt", mimeType: "text/plain", buffer: Buffer.from(document) });
  await page.getByRole("button", { name: "Check the document" }).click();
  await page.locator("#doc-result").getByText("Notarised and not revoked.").waitFor();
  assert.deepEqual(page.errors, []);
  assert.deepEqual(explorer.errors, []);
  await page.context().close();
  await explorer.context().close();
});

test("a publisher publishes a notice in the console, leaving its optional expiry empty", async () => {
  const page = await newPage();
  await signIn(page, "finance-publisher.json");
  await page.getByText(/Signed in as Hedy Lamarr/).waitFor();
  await page.goto("/console");
  const publish = page.locator("#notices-publish");
  await publish.locator("summary").click();
  await publish.getByText("Stops applying (optional)").waitFor();
  const title = "Road works on the harbour bridge " + Date.now();
  await publish.getByLabel("Category").fill("decision");
  await publish.getByLabel("Title").fill(title);
  await publish.getByLabel("Full text").setInputFiles({ name: "decision.txt", mimeType: "text/plain", buffer: Buffer.from(title) });
  // A week from now, as the datetime-local field takes it (local time).
  const soon = new Date(Date.now() + 7 * 86400000);
  const local = new Date(soon.getTime() - soon.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await publish.getByLabel("Takes effect").fill(local);
  await publish.getByRole("button", { name: "Sign and submit" }).click();
  await publish.getByText(/Finalized in block/).waitFor({ timeout: 60000 });
  await page.goto("/notices");
  await page.getByText(title).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a citizen signs in and sees their account and notifications", async () => {
  const page = await newPage();
  await page.goto("/account");
  await page.getByText("Sign in with your key to see your account").waitFor();
  await page.setInputFiles("#key-file", join(DEVNET, "keys", "citizen-alice.json"));
  await page.getByRole("button", { name: "Use this key file" }).click();
  await page.waitForURL(/\/account$/);
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  const main = await page.locator("main").innerText();
  assert.match(main, /citizen/);
  // The account's transactions come from the read model, which says how recent it is; the
  // citizen's registration names them.
  assert.match(main, /Your latest transactions, as of block \d+/);
  assert.match(main, /identity\.register_citizen\s+names you/);
  const violations = await axe(page);
  assert.deepEqual(violations, [], JSON.stringify(violations));
  await shot(page, "account");
  // The key this browser keeps cannot be read back out by any script.
  const extractable = await page.evaluate(async () => (await Civitas.loadKey()).privateKey.extractable);
  assert.equal(extractable, false);
  // A citizen has no console.
  await page.goto("/console");
  await page.getByText(/this account is a citizen's/).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("an official's inbox fills live and is marked read; the console subscribes a webhook", async () => {
  const page = await newPage();
  await signIn(page, "finance-notary.json");
  await page.goto("/account");
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  // Anchor a document from the console in another tab of the same session.
  const console_ = await page.context().newPage();
  await console_.goto("/console");
  const anchor = console_.locator("#notary-anchor");
  await anchor.locator("summary").click();
  const title = "Inbox live test " + Date.now();
  await anchor.getByLabel("Document").setInputFiles({ name: "inbox.txt", mimeType: "text/plain", buffer: Buffer.from(title) });
  await anchor.getByLabel("Title").fill(title);
  await anchor.getByRole("button", { name: "Sign and submit" }).click();
  await anchor.getByText(/Finalized in block/).waitFor({ timeout: 60000 });
  // The account page, open meanwhile, shows it unread at once.
  const fresh = page.locator("#notifications li.unread", { hasText: title });
  await fresh.waitFor({ timeout: 30000 });
  const unread = async () => parseInt(await page.locator("#unread-count").innerText(), 10);
  const before = await unread();
  assert.ok(before >= 1);
  await fresh.getByRole("button", { name: "Mark read" }).click();
  await page.locator("#notifications li.read", { hasText: title }).waitFor();
  assert.equal(await unread(), before - 1);
  await page.getByRole("button", { name: "Mark all read" }).click();
  await page.locator("#unread-count", { hasText: /^0$/ }).waitFor();
  // Read marks are the node's: a reload shows the same.
  await page.reload();
  assert.equal(await unread(), 0);
  assert.equal(await page.locator("#notifications li.unread").count(), 0);
  await shot(page, "account-inbox");

  // The console's webhook page: subscribe, see the secret once, then the subscription.
  await console_.goto("/console");
  await console_.getByRole("link", { name: "Webhook subscriptions" }).click();
  await console_.waitForURL(/\/console\/webhooks$/);
  await console_.getByLabel("URL to post to").fill("http://127.0.0.1:9/civitas-hook");
  await console_.getByLabel(/Only events of this type/).fill("document_anchored");
  await console_.getByRole("button", { name: "Subscribe" }).click();
  const secret = await console_.locator("#webhook-secret").innerText();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  await console_.getByRole("link", { name: "Refresh the list" }).click();
  await console_.getByText("http://127.0.0.1:9/civitas-hook").waitFor();
  const violations = await axe(console_);
  assert.deepEqual(violations, [], JSON.stringify(violations));
  await shot(console_, "console-webhooks");
  console_.on("dialog", (dialog) => dialog.accept());
  await console_.getByRole("button", { name: "Delete" }).click();
  await console_.getByText(/is deleted/).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("the explorer hides empty blocks on request and pages back through older ones", async () => {
  const page = await newPage();
  await page.goto("/explorer");
  await page.getByRole("link", { name: "Show only blocks with transactions" }).click();
  await page.waitForURL(/empty=hide/);
  const counts = await page.locator("#blocks-body tr").evaluateAll((rows) => rows.map((r) => r.cells[2].textContent));
  assert.ok(counts.length > 0, "some blocks hold transactions");
  for (const count of counts) assert.notEqual(count, "0");
  const newest = await page.locator("#blocks-body tr td a").first().innerText();
  await page.getByRole("link", { name: "Older blocks" }).click();
  await page.waitForURL(/older=/);
  const older = await page.locator("main table").first().locator("tbody tr td a").first().innerText();
  assert.ok(parseInt(older, 10) < parseInt(newest, 10), `${older} is older than ${newest}`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a key created in the browser is offered once as a file the CLI reads, then kept unreadable", async () => {
  const page = await newPage();
  await page.goto("/sign-in");
  await page.getByRole("button", { name: "Create a key in this browser" }).click();
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download the key file" }).click();
  const file = JSON.parse(readFileSync(await (await download).path(), "utf8"));
  assert.equal(file.kind, "civitas-key");
  assert.match(file.secret_key, /^[0-9a-f]{64}$/);
  const shown = await page.locator("#sign-in-result code").innerText();
  assert.equal(file.public_key, shown);
  const kept = await page.evaluate(async () => {
    const entry = await Civitas.loadKey();
    return { extractable: entry.privateKey.extractable, publicKey: entry.publicKey };
  });
  assert.equal(kept.extractable, false);
  assert.equal(kept.publicKey, file.public_key);
  // It has an encryption key too, as `civitas keys new` makes, kept unreadable as well.
  assert.equal(file.encryption_keys.length, 1);
  assert.match(file.encryption_keys[0], /^[0-9a-f]{64}$/);
  const decryption = await page.evaluate(async () => (await Civitas.loadKey()).decryptionKeys[0].privateKey.extractable);
  assert.equal(decryption, false);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a citizen opens what two agencies' vaults hold about her, sees who read it, consents, withdraws and asks for erasure", async () => {
  const page = await newPage();
  const sent = [];
  page.on("request", (request) => sent.push({ url: request.url(), headers: request.headers(), body: request.postData() || "" }));
  await signIn(page, "citizen-ana.json");
  const response = await page.goto("/my-data");
  assert.equal(response.status(), 200);
  // The page may reach this node and the vaults the ledger names, nothing else.
  const vaults = await page.locator("#vaults li").evaluateAll((items) => items.map((li) => li.dataset.url));
  assert.equal(vaults.length, 2, "the devnet names a vault for finance and for land");
  const connect = /connect-src ([^;]*)/.exec(response.headers()["content-security-policy"])[1].split(" ");
  assert.deepEqual(connect, ["'self'", ...vaults]);

  await page.getByRole("button", { name: "Open my records" }).click();
  await page.getByText(/7 records from 2 of 2 vaults/).waitFor({ timeout: 30000 });
  const main = await page.locator("main").innerText();
  // Opened in the browser: the birth certificate (land's original and finance's copy), the
  // income statement, and the forms of her three sample permit applications, one in both its
  // versions (she corrected it to answer a request). Each current version is checked against
  // the ledger; the earlier one against the vault's word only, which the page says.
  assert.equal((main.match(/Ana Example/g) || []).length, 3, main);
  assert.equal((main.match(/matches the commitment on the ledger/g) || []).length, 6, main);
  assert.match(main, /Version 1, since corrected \(the ledger's is version 2\)/);
  // The log names who read it, for what and on which basis.
  assert.match(main, /read by\s+finance/);
  assert.match(main, /read by\s+land/);
  assert.match(main, /shared with\s+finance/);
  assert.match(main, /permit-application/);
  assert.match(main, /recipient-uses-shared-copy/);
  // Nothing sent anywhere carried the data: the vaults sent it sealed, to this browser only,
  // each request signed by her key.
  assert.ok(sent.every((r) => !r.body.includes("Ana Example") && !r.url.includes("Ana")));
  const toVaults = sent.filter((r) => vaults.some((v) => r.url.startsWith(v)));
  assert.ok(toVaults.length >= 2 && toVaults.every((r) => r.headers["civitas-signature"]), "signed reads");
  assert.ok(sent.every((r) => !r.url.startsWith(BASE + "/v1/vault")), "the node relays nothing");

  // Everything, as JSON (portability).
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download all of it (JSON)" }).click();
  const exported = JSON.parse(readFileSync(await (await download).path(), "utf8"));
  assert.equal(exported.records.length, 7);
  const forms = exported.records.filter((r) => r.schema === "permit.application");
  assert.deepEqual(forms.map((f) => f.data.permit_type).sort(), ["building-permit", "business-licence", "business-licence", "business-licence"]);
  assert.equal(forms.find((f) => f.version === 2).data.answers.floor_area, 55, "the café's form, as she corrected it");
  const birth = exported.records.find((r) => r.schema === "civil.birth-certificate" && r.agency === "land");
  assert.equal(birth.data.born, "1990-04-01");
  const income = exported.records.find((r) => r.schema === "tax.income-statement");
  assert.equal(income.held_by, "finance");

  const violations = await axe(page);
  assert.deepEqual(violations, [], JSON.stringify(violations));
  await shot(page, "my-data-opened");
  // On a phone, the opened records and their logs do not push the page sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, "my data scrolls sideways on a phone by " + overflow + " px");
  await page.setViewportSize({ width: 1280, height: 720 });

  // She asks this node to notify her of what happens to her records from now on (against a
  // devnet where she asked before, the page offers to stop instead).
  await page.locator("#watch-records").waitFor();
  const notify = page.getByRole("button", { name: "Notify me of every new read, share or erasure" });
  if (await notify.count() > 0) {
    await notify.click();
    await page.getByText(/new entries of these records' logs will be in/).waitFor({ timeout: 15000 });
  }

  // She consents to health receiving the birth certificate for a benefit claim, for 10 days.
  const consentsIn = async () => [...(await page.locator("main").innerText())
    .matchAll(/consent given to\s+health\s+\(consent (\d+)\)/g)].map((m) => Number(m[1]));
  const before = Math.max(0, ...(await consentsIn()));
  await page.selectOption("#consent-record", birth.record);
  await page.selectOption("#consent-recipient", "health");
  await page.fill("#consent-purpose", "benefit-claim");
  await page.fill("#consent-days", "10");
  await page.getByRole("button", { name: "Sign and give consent" }).click();
  await page.getByText(/Consent given in block \d+/).waitFor({ timeout: 30000 });
  // Reopened, the log shows it with its number (once the node's read model has its block),
  // which she uses to withdraw it.
  let given = null;
  for (let i = 0; i < 20 && !given; i++) {
    await page.getByRole("button", { name: "Open my records" }).click();
    await page.getByText(/7 records from 2 of 2 vaults/).waitFor({ timeout: 30000 });
    given = (await consentsIn()).find((n) => n > before) || null;
    if (!given) await page.waitForTimeout(500);
  }
  assert.ok(given, "the consent is in the log");
  await page.fill("#revoke-consent", String(given));
  await page.getByRole("button", { name: "Sign and withdraw" }).click();
  await page.getByText(new RegExp("Consent " + given + " withdrawn in block")).waitFor({ timeout: 30000 });
  // A purpose must be a code: a sentence is refused in the form, before anything is signed.
  await page.fill("#consent-purpose", "because Ana asked");
  await page.getByRole("button", { name: "Sign and give consent" }).click();
  await page.getByText(/Enter the purpose's code/).waitFor();

  // She asks finance to erase the income statement; finance's vault keeps the request.
  // (Against a devnet where she asked before, the record says so already.)
  const card = () => page.locator("section.record", { hasText: "tax.income-statement" });
  const ask = card().getByRole("button", { name: "Ask finance to erase it" });
  if (await ask.count() > 0) {
    await ask.click();
    await card().getByText(/Asked on .* records officers see your request/).waitFor({ timeout: 15000 });
  }
  // Reopened, the record says she asked, and offers no second request.
  await page.getByRole("button", { name: "Open my records" }).click();
  await card().getByText(/You asked finance to erase it on/).waitFor({ timeout: 30000 });
  assert.equal(await card().getByRole("button", { name: "Ask finance to erase it" }).count(), 0);
  // Land's records officer reads her birth certificate: her notifications (live, on her
  // account page) say so, as they say her own consent.
  await page.goto("/account");
  const inbox = page.locator("#notifications");
  execFileSync(process.env.CIVITAS_BIN || "civitas", ["vault", "read", birth.record, "--purpose", "identity-verification",
    "--basis", "holder-case-handling", "--key", join(DEVNET, "keys", "land-records.json"), "--node", BASE, "--json"]);
  await inbox.locator("li.unread", { hasText: "record accessed: land, for identity-verification" }).first().waitFor({ timeout: 30000 });
  await inbox.locator("li", { hasText: "consent given: health, for benefit-claim" }).first().waitFor({ timeout: 15000 });
  // Reloaded, the page lists it too (from the index, not the stream).
  await page.reload();
  await inbox.locator("li.unread", { hasText: "sharing record accessed: land, for identity-verification" }).first().waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();

  // Finance's caseworker sees in the console the record land gave finance on her consent.
  const official = await newPage();
  await signIn(official, "finance-caseworker.json");
  await official.goto("/console");
  const gave = official.locator("table", { hasText: "Records other agencies gave yours" });
  await gave.waitFor();
  const row = await gave.locator("tbody tr").first().innerText();
  assert.match(row, /land/);
  assert.match(row, /permit-application/);
  assert.match(row, /data-subject-consent/);
  await official.getByText("Ask another agency for a person's record").waitFor();
  const consoleViolations = await axe(official);
  assert.deepEqual(consoleViolations, [], JSON.stringify(consoleViolations));
  assert.deepEqual(official.errors, []);
  await official.context().close();
});

test("a business sees its bids and the money paid to it, down to the records", async () => {
  const page = await newPage();
  await signIn(page, "vendor-acme.json");
  await page.goto("/account");
  const main = page.locator("main");
  await main.getByText("Registered as the vendor Acme Construction").waitFor();
  assert.match(await main.innerText(), /paid to you 40,000\.00 EUR/);
  const bids = page.getByRole("table", { name: "Your bids" });
  assert.match(await bids.innerText(), /Rural clinic in Northfield\s+Under contract\s+awarded to you/);
  await shot(page, "account-business");
  await page.getByRole("link", { name: "Every record of it" }).click();
  await page.waitForURL(/\/spending\/\d+\/vendor\/[0-9a-f]{64}$/);
  await page.getByText(/their amounts add up to it/).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a key created in the browser cannot sign in until an agency registers it", async () => {
  const page = await newPage();
  await page.goto("/sign-in");
  await page.getByRole("button", { name: "Create a key in this browser" }).click();
  await page.getByText(/A new key was created in this browser/).waitFor();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText(/is not registered on this ledger/).waitFor();
  await page.context().close();
});

test("the main pages work with the keyboard alone", async () => {
  const page = await newPage();
  await page.goto("/");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");

  // Every focusable element of each main page is reached by Tab, in order, with a visible focus.
  for (const [name, path] of MAIN_PAGES()) {
    await page.goto(path);
    const expected = await page.evaluate(() => Array.from(document.querySelectorAll(
      "a[href], button:not([disabled]), input:not([type=hidden]), summary, [tabindex='0']"))
      .filter((e) => e.offsetParent !== null || e.getClientRects().length > 0).length);
    const seen = new Set();
    for (let i = 0; i < expected + 2; i++) {
      await page.keyboard.press("Tab");
      const info = await page.evaluate(() => {
        const e = document.activeElement;
        const style = getComputedStyle(e);
        const visible = style.outlineStyle !== "none" && style.outlineWidth !== "0px";
        return { key: e.outerHTML.slice(0, 120), visible, body: e === document.body };
      });
      if (info.body) continue;
      assert.ok(info.visible, name + ": focus not visible on " + info.key);
      seen.add(info.key);
    }
    assert.ok(seen.size >= Math.min(expected, 8), name + ": only " + seen.size + " of " + expected + " reachable");
  }

  // From the home page to a tender and its proof, by keyboard.
  await page.goto("/");
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if ((await page.evaluate(() => document.activeElement.textContent)) === "Procurement") break;
  }
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/procurement$/);
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if ((await page.evaluate(() => document.activeElement.textContent)) === "Rural clinic in Northfield") break;
  }
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/procurement\/tenders\/1$/);
  const main = await page.locator("main").innerText();
  assert.match(main, /Under contract/);
  assert.match(main, /short tender period/);
  assert.match(main, /Foundations and structure/);
  assert.match(main, /Acme Construction/, "bidders are named");
  // A tender document opens on the verify page, looked up by its fingerprint.
  await page.locator("a[href^='/verify?document=']").first().focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/verify\?document=[0-9a-f]{64}$/);
  await page.locator("#doc-result").getByText("Notarised and not revoked.").waitFor();

  // The console's sections open from the keyboard.
  await signIn(page, "finance-notary.json");
  await page.goto("/console");
  await page.locator("#notary-anchor summary").focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.locator("#notary-anchor").getAttribute("open"), "");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "notary-anchor-document");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a citizen applies for a permit with the keyboard alone and follows it; the cashier and the clerk see it in their queues", async () => {
  const page = await newPage();
  await signIn(page, "citizen-ana.json");
  await page.goto("/permits");
  await page.getByRole("link", { name: "Street-market stall" }).focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/permits\/types\/street-market-stall$/);
  const form = page.locator("#apply-form");
  // Checked here first: nothing is sent while a required answer is missing.
  await form.getByRole("button", { name: "Sign and apply" }).focus();
  await page.keyboard.press("Enter");
  await form.getByText("Some answers need attention").waitFor();
  assert.equal(await page.locator("#apply-field-trade").getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "apply-field-trade");
  const violations = await axe(page);
  assert.deepEqual(violations, [], JSON.stringify(violations));
  // By keyboard: a choice, a number, then the button.
  // Tab moves on until `id` has the focus (a date field takes a stop per part).
  const tabTo = async (id) => {
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate(() => document.activeElement.id)) === id) return;
    }
    assert.fail("Tab never reached #" + id);
  };
  await page.keyboard.press("f");
  await tabTo("apply-field-floor_area");
  await page.keyboard.type("6");
  await tabTo("apply-field-notes");
  await page.keyboard.type("Fruit and vegetables, one stall");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Sign and apply");
  await page.keyboard.press("Enter");
  await form.getByText(/Filed as application \d+/).waitFor({ timeout: 60000 });
  const filed = await form.locator(".result").innerText();
  const number = /application (\d+)/.exec(filed)[1];
  assert.match(filed, /APPLICATION-/, "the fee's reference is given");
  await shot(page, "permit-filed");
  await page.locator("#filed-link").focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp("/permits/applications/" + number + "$"));
  assert.match(await page.locator("#application-status").innerText(), /waiting for the fee/);
  assert.match(await page.locator("main").innerText(), /Filed; the first step is completeness/);
  // The applicant's own actions show for her key only: she may withdraw.
  await page.locator("#withdraw-form").waitFor();

  // The cashier sees it waiting for its fee, and records it in the console.
  const cashier = await newPage();
  await signIn(cashier, "land-cashier.json");
  await cashier.goto("/console");
  const waiting = cashier.getByRole("table", { name: "Waiting for the fee (cashiers), oldest first" });
  await waiting.getByRole("link", { name: number, exact: true }).waitFor();
  const fee = cashier.locator("#permits-record_fee");
  await fee.locator("summary").click();
  await fee.getByLabel("Application number").fill(number);
  await fee.getByLabel("Payment reference").fill("APPLICATION-" + number);
  await fee.getByRole("button", { name: "Sign and submit" }).click();
  await fee.getByText(/Finalized in block/).waitFor({ timeout: 60000 });
  // The clerk's queue for the stall's completeness check has it, with its deadline.
  const clerk = await newPage();
  await signIn(clerk, "land-clerk.json");
  let row;
  for (let i = 0; i < 20; i++) {
    await clerk.goto("/console");
    row = clerk.getByRole("table", { name: /Street-market stall: Completeness check/ }).getByRole("row")
      .filter({ has: clerk.getByRole("link", { name: number, exact: true }) });
    if (await row.count()) break;
    await clerk.waitForTimeout(500);
  }
  assert.match(await row.innerText(), /UTC/);
  await shot(clerk, "permit-queue");
  await page.reload();
  assert.match(await page.locator("#application-status").innerText(), /with the agency/);
  assert.match(await page.locator("ol.steps").innerText(), /Completeness check \(current, deadline/);
  for (const p of [page, cashier, clerk]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

test("an official works the queue with the keyboard alone: the clerk completes a step from the console", async () => {
  const page = await newPage();
  await signIn(page, "finance-clerk.json");
  await page.goto("/console");
  // Ana's second shop (sample application 6) waits at the business licence's completeness check.
  const queue = (step) => page.getByRole("table", { name: new RegExp("^Business licence: " + step) });
  await queue("Completeness check").getByRole("link", { name: "6", exact: true }).waitFor();
  const violations = await axe(page);
  assert.deepEqual(violations, [], JSON.stringify(violations));
  await page.locator("#permits-complete_step summary").focus();
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "permits-complete_step-application");
  await page.keyboard.type("6");
  await page.keyboard.press("Tab");
  await page.keyboard.type("completeness");
  await page.keyboard.press("Tab");
  await page.keyboard.type("all documents present");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Sign and submit");
  await page.keyboard.press("Enter");
  await page.locator("#permits-complete_step").getByText(/Finalized in block/).waitFor({ timeout: 60000 });
  // It moves to the inspection's queue.
  let moved = 0;
  for (let i = 0; i < 20 && !moved; i++) {
    await page.goto("/console");
    moved = await queue("Inspection of the premises").getByRole("link", { name: "6", exact: true }).count();
    if (!moved) await page.waitForTimeout(500);
  }
  assert.equal(moved, 1, "application 6 is in the inspection's queue");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("an applicant answers a request with a corrected form, sealed in the agency's vault", async () => {
  const page = await newPage();
  await signIn(page, "citizen-ben.json");
  await page.goto("/permits/applications/2");
  assert.match(await page.locator("#application-status").innerText(), /ventilation plan/);
  const form = page.locator("#answer-form");
  await form.waitFor();
  await form.getByLabel("What the business does").selectOption("workshop");
  await form.getByLabel("Floor area in square metres").fill("82");
  await form.getByLabel("Anything the inspector should know (optional)").fill("ventilation: two extractors, plan attached to the file");
  await form.getByRole("button", { name: "Sign and answer" }).click();
  await form.getByText("Answered; the step's clock has started again.").waitFor({ timeout: 60000 });
  await page.waitForURL(/\/permits\/applications\/2$/);
  await page.getByText(/The applicant answered/).waitFor({ timeout: 30000 });
  assert.match(await page.locator("#application-status").innerText(), /with the agency/);
  // Someone else's key shows no applicant actions.
  const other = await newPage();
  await signIn(other, "citizen-ana.json");
  await other.goto("/permits/applications/2");
  assert.equal(await other.locator("#applicant-actions").isHidden(), true);
  // The public register lists the café's licence, whose page says where it stands.
  await other.goto("/permits/register");
  await other.getByRole("cell", { name: "Café, 55 m², 12 Market Street" }).waitFor();
  await other.getByRole("link", { name: "1", exact: true }).click();
  assert.match(await other.locator("#licence-status").innerText(), /Valid until .*not suspended or revoked/);
  for (const p of [page, other]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

// An official's transaction from the command line (what a test does not exercise in the browser).
function officialTx(keyFile, args) {
  execFileSync(process.env.CIVITAS_BIN || "civitas", ["tx", ...args, "--key", join(DEVNET, "keys", keyFile), "--node", BASE]);
}

// Submits a console form whose fields are filled by `fill`, and waits until it is final.
async function consoleSubmit(page, op, fill) {
  const form = page.locator("#permits-" + op);
  await form.locator("summary").click();
  await fill(form);
  await form.getByRole("button", { name: "Sign and submit" }).click();
  await form.getByText(/Finalized in block/).waitFor({ timeout: 60000 });
}

// Opens the console until its table named by `table` links to application `number` (the read
// model follows the chain).
async function inConsoleQueue(page, table, number) {
  for (let i = 0; i < 30; i++) {
    await page.goto("/console");
    if (await page.getByRole("table", { name: table }).getByRole("link", { name: number, exact: true }).count()) return;
    await page.waitForTimeout(500);
  }
  assert.fail("application " + number + " is not in the console's table " + table);
}

// Reloads `page` until `locator`'s text matches `pattern` (the read model follows the chain).
async function reloadUntil(page, locator, pattern) {
  for (let i = 0; i < 30; i++) {
    await page.reload();
    if (pattern.test(await locator.innerText())) return;
    await page.waitForTimeout(500);
  }
  assert.match(await locator.innerText(), pattern);
}

test("an official refuses in the console and the applicant appeals; another is withdrawn", async () => {
  // Ana's second shop (sample application 6) is brought to its decision.
  const six = await (await fetch(BASE + "/v1/permits/applications/6")).json();
  if (six.step === 0) officialTx("finance-clerk.json", ["permits", "complete-step", "6", "completeness", "--reason", "all documents present"]);
  officialTx("finance-inspector.json", ["permits", "complete-step", "6", "inspection", "--reason", "premises inspected"]);
  const licensing = await newPage();
  await signIn(licensing, "finance-licensing.json");
  await inConsoleQueue(licensing, /^Business licence: Decision/, "6");
  await consoleSubmit(licensing, "decide", async (form) => {
    await form.getByLabel("Application number").fill("6");
    await form.getByLabel("Grant the licence").selectOption("false");
    await form.getByLabel("Reason").fill("the premises have no second fire exit");
  });
  // The refusal's reason, its appeal route and last day are on the application's public page.
  const ana = await newPage();
  await signIn(ana, "citizen-ana.json");
  await ana.goto("/permits/applications/6");
  await reloadUntil(ana, ana.locator("#application-status"), /refused/);
  const facts = await ana.locator("dl.facts").innerText();
  assert.match(facts, /no second fire exit/);
  assert.match(facts, /may appeal until .*UTC/);
  const violations = await axe(ana);
  assert.deepEqual(violations, [], JSON.stringify(violations));
  const appeal = ana.locator("#appeal-form");
  await appeal.waitFor();
  await appeal.getByRole("button", { name: "Sign and appeal" }).click();
  assert.equal(await ana.locator("#appeal-grounds").getAttribute("aria-invalid"), "true");
  await ana.setInputFiles("#appeal-grounds", {
    name: "grounds.txt", mimeType: "text/plain",
    buffer: Buffer.from("Grounds of appeal: a second exit opens onto the courtyard."),
  });
  await appeal.getByRole("button", { name: "Sign and appeal" }).click();
  await appeal.getByText("Appealed; the supervisor decides.").waitFor({ timeout: 60000 });
  await reloadUntil(ana, ana.locator("#application-status"), /appealed, waiting for the supervisor/);
  assert.match(await ana.locator("dl.facts").innerText(), /appealed on/);
  // Her building permit, its fee unpaid (sample application 4): she withdraws it.
  await ana.goto("/permits/applications/4");
  const withdraw = ana.locator("#withdraw-form");
  await withdraw.waitFor();
  await withdraw.getByRole("button", { name: "Sign and withdraw" }).click();
  await withdraw.getByText("Withdrawn.").waitFor({ timeout: 60000 });
  await reloadUntil(ana, ana.locator("#application-status"), /withdrawn by the applicant/);
  assert.equal(await ana.locator("#withdraw-form").isHidden(), true);
  // The supervisor has the appeal in the console's queue.
  const head = await newPage();
  await signIn(head, "finance-licensing-head.json");
  await inConsoleQueue(head, /^Appeals to decide/, "6");
  for (const p of [licensing, ana, head]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

test("the supervisor suspends and reinstates a licence in the console; its proof downloads and verifies", async () => {
  const head = await newPage();
  await signIn(head, "finance-licensing-head.json");
  await head.goto("/console");
  await consoleSubmit(head, "change_licence", async (form) => {
    await form.getByLabel("Licence number").fill("1");
    await form.getByLabel("Action").fill("suspend");
    await form.getByLabel("Reason").fill("inspection found the fire exit blocked");
  });
  const page = await newPage();
  await page.goto("/permits/licences/1");
  await reloadUntil(page, page.locator("#licence-status"), /Suspended: inspection found the fire exit blocked/);
  await head.reload();
  await consoleSubmit(head, "change_licence", async (form) => {
    await form.getByLabel("Licence number").fill("1");
    await form.getByLabel("Action").fill("reinstate");
    await form.getByLabel("Reason").fill("the fire exit is clear again");
  });
  await reloadUntil(page, page.locator("#licence-status"), /Valid until .*not suspended or revoked/);
  // Its proof bundle, downloaded, checks offline against the genesis.
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Proof bundle for licence 1" }).click();
  const bundle = await (await download).path();
  const verdict = execFileSync(process.env.CIVITAS_BIN || "civitas",
    ["verify", bundle, "--genesis", join(DEVNET, "genesis.json")]).toString();
  assert.match(verdict, /^VALID/);
  assert.match(verdict, /licence 1 \(business-licence: .*\) of finance: valid until .*, not suspended or revoked at height/);
  // Five years' validity, renewable in the last ninety days: the page says from when.
  assert.match(await page.locator("main").innerText(), /Its holder may apply to renew it from .*UTC/);
  // Its holder's renewal form names the licence; the ledger says its window has not opened.
  const ana = await newPage();
  await signIn(ana, "citizen-ana.json");
  await ana.goto("/permits/types/business-licence?renews=1");
  const form = ana.locator("#apply-form");
  assert.equal(await form.getAttribute("data-renews"), "1");
  await ana.getByText(/You are applying to renew licence 1/).waitFor();
  await form.getByLabel("What the business does").selectOption("food");
  await form.getByLabel("Floor area in square metres").fill("55");
  await ana.setInputFiles("#apply-document-0", join(DEVNET, "samples", "floor-plan-12-market-street.txt"));
  await form.getByRole("button", { name: "Sign and apply" }).click();
  await form.getByText(/Not filed: .*\(not_renewable\)/).waitFor({ timeout: 60000 });
  for (const p of [head, page, ana]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

// Last: it pays the sample contract's second milestone, which the tests above do not expect.
test("a large milestone acceptance is refused alone and finalized with a treasurer co-signing", async () => {
  const page = await newPage();
  await signIn(page, "health-procurement.json");
  await page.goto("/console");
  const accept = page.locator("#procurement-accept");
  await accept.locator("summary").click();
  await accept.getByLabel("Contract number").fill("1");
  await accept.getByLabel("Milestone number").fill("1");
  await accept.getByLabel("Acceptance note").fill("roof and fittings inspected; handed over");
  await accept.getByRole("button", { name: "Sign and submit" }).click();
  await accept.getByText(/Refused by the ledger: .*treasurer/).waitFor({ timeout: 60000 });

  const cosigning = page.locator("#cosigning");
  await cosigning.locator("summary").click();
  await cosigning.getByText("None: actions are signed by your key alone.").waitFor();
  await page.setInputFiles("#cosigner-file", join(DEVNET, "keys", "health-treasurer.json"));
  await cosigning.getByRole("button", { name: "Add co-signer" }).click();
  await cosigning.getByText(/Co-signing:/).waitFor();
  await accept.getByRole("button", { name: "Sign and submit" }).click();
  await accept.getByText(/Finalized in block/).waitFor({ timeout: 60000 });
  await shot(page, "console-cosigned");

  await page.goto("/procurement/tenders/1");
  const milestones = page.getByRole("table", { name: "Milestones and payments" });
  const second = milestones.getByRole("row").filter({ hasText: "Roof, fittings and handover" });
  assert.match(await second.innerText(), /accepted .*roof and fittings inspected/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
