// The fake-dimail dashboard: reads and steers the fake through /_fake/ only, with same-origin fetch.
"use strict";

const INTERNAL = ["webmail_ok", "postfix", "ox", "cert"];
const BREAKABLE = ["webmail_ok", "postfix", "ox"];
const JOURNAL_ROWS = 500;  // lines kept on the page; the server keeps its own, bounded journal
const OWN_ROWS = 100;  // of the control plane's reads, shown on demand
const DOMAIN_ROWS = 300;  // more would slow the page; the filter narrows
const TABLE_ROWS = 200;  // a domain may have thousands of mailboxes, the fake thousands of users: the first ones
// The dashboard's own reads: polled every second, they would bury everything else.
const OWN_READS = /^\/_fake\/(requests|state|ui|domains\/[^/]+\/mailboxes)?(\/|\?|$)/;

const view = { state: null, selected: null, lastId: null, mailboxes: {} };

const $ = (id) => document.getElementById(id);

// An element with text children only: data never goes through innerHTML.
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function say(text, bad) {
  const box = $("message");
  box.textContent = text;
  box.className = bad ? "bad" : "";
  box.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { box.hidden = true; }, bad ? 8000 : 2500);
}

async function api(method, path, body) {
  const init = { method, headers: { accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const detail = data && data.detail !== undefined ? data.detail : data;
    throw new Error(`${method} ${path} answered ${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return data;
}

// One steering click: the call, what it did, then the page again.
async function act(label, method, path, body) {
  try {
    await api(method, path, body);
    say(label);
  } catch (error) {
    say(error.message, true);
  }
  await refresh();
}

const enc = encodeURIComponent;

// --- the whole state ---------------------------------------------------------

async function refresh() {
  try {
    const [index, state] = await Promise.all([api("GET", "/_fake/").catch(() => null), api("GET", "/_fake/state")]);
    view.state = state;
    connected(true);
    renderHeader(index, state);
    renderDomains();
    renderUsers();
    await renderDetail();
  } catch (error) {
    connected(false, error.message);
  }
}

// Someone else's requests: one state read for a burst, at most one a second (the document grows with the fake).
let refreshTimer = null;
let refreshedAt = 0;
function refreshSoon() {
  if (refreshTimer !== null) return;
  const wait = Math.max(250, refreshedAt + 1000 - Date.now());
  refreshTimer = setTimeout(async () => {
    refreshedAt = Date.now();
    await refresh();
    refreshTimer = null;
  }, wait);
}

function connected(yes, why) {
  const pill = $("connection");
  pill.textContent = yes ? "live" : "disconnected";
  pill.className = yes ? "pill ok" : "pill broken";
  pill.title = why || "";
}

function renderHeader(index, state) {
  if (index) $("version").textContent = `${index.version} imitating dimail ${index.imitates}`;
  const counts = index ? index.counts : Object.fromEntries(
    Object.entries(state).filter(([, rows]) => Array.isArray(rows)).map(([name, rows]) => [name, rows.length]));
  $("counts").replaceChildren(...Object.entries(counts).map(([name, n]) => h("span", {}, h("b", {}, n), " ", name)));
  $("counts").title = Object.entries(counts).map(([name, n]) => `${n} ${name}`).join(", ");  // when the header cuts them
}

function byDomain(rows, domain) {
  return rows.filter((row) => row.domain === domain);
}

function failing(domain) {
  return Object.entries(domain.checks).filter(([, result]) => !result.ok);
}

function renderDomains() {
  const filter = $("domain-filter").value.trim().toLowerCase();
  const all = view.state.domains;
  const shown = all.filter((d) => d.name.includes(filter));
  $("domain-count").textContent = `${all.length}`;
  const items = shown.slice(0, DOMAIN_ROWS).map((domain) => h("li", {
      class: domain.name === view.selected ? "selected" : null,
      "data-domain": domain.name,
      title: domain.state === "broken" ? `failing: ${failing(domain).map(([name]) => name).join(", ")}` : null,
      onclick: () => select(domain.name),
    },
    h("span", { class: "name" }, domain.name),
    h("span", { class: `state ${domain.state}` }, domain.state)));
  if (shown.length > DOMAIN_ROWS) items.push(h("li", { class: "muted" }, `${shown.length - DOMAIN_ROWS} more: filter to see them`));
  if (!all.length) items.push(h("li", { class: "muted" }, "no domain yet"));
  $("domains").replaceChildren(...items);
}

// The picked domain is in the address (#domain=...): a reload or a shared link shows the same one.
function select(name) {
  view.selected = name;
  history.replaceState(null, "", name ? `#domain=${enc(name)}` : "#");
  renderDomains();
  renderDetail();
}

function lines(items, most = 6) {
  if (!items.length) return h("span", { class: "muted" }, "—");
  const shown = items.slice(0, most).map((item) => h("div", {}, item));
  if (items.length > most) shown.push(h("div", { class: "muted", title: items.join(", ") }, `and ${items.length - most} more`));
  return shown;
}

function renderUsers() {
  const allowed = {};
  for (const { user, domain } of view.state.allows) (allowed[user] ||= []).push(domain);
  const rows = view.state.users.slice(0, TABLE_ROWS).map((user) => h("tr", {},
    h("td", {}, user.name, user.is_admin ? h("span", { class: "tag" }, "admin") : null,
      user.password_hash === null ? h("span", { class: "tag muted" }, "no login") : null),
    h("td", {}, lines(user.perms)),
    h("td", {}, lines(allowed[user.name] || []))));
  $("user-count").textContent = `${view.state.users.length}`;
  if (view.state.users.length > TABLE_ROWS) rows.push(h("tr", {}, h("td", { colspan: 3, class: "muted" }, `and ${view.state.users.length - TABLE_ROWS} more (all in the state document)`)));
  $("users").tBodies[0].replaceChildren(...rows);
  if (!rows.length) $("users").tBodies[0].append(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "no user: bootstrap mode, any Basic credentials act as an admin")));
}

// --- one domain --------------------------------------------------------------

function button(label, onclick, kind) {
  return h("button", { class: kind || null, onclick }, label);
}

function steering(domain) {
  const d = enc(domain.name);
  const platform = domain.platform;
  const change = (label, body) => act(label, "PATCH", `/_fake/domains/${d}/platform`, body);
  const toggled = (list, item) => list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
  return h("div", { class: "steering" },
    h("div", {}, h("span", { class: "label" }, "dimail"),
      button("check", () => act(`checked ${domain.name}`, "POST", `/_fake/domains/${d}/check`), "primary"),
      button("fix", () => act(`fixed ${domain.name}`, "POST", `/_fake/domains/${d}/fix`), "primary")),
    h("div", {}, h("span", { class: "label" }, "DNS"),
      ["spec", "wrong", "exists"].map((preset) => button(`publish ${preset}`,
        () => act(`published ${preset} records for ${domain.name}`, "POST", `/_fake/dns/${d}/publish?records=${preset}`))),
      button("clear DNS", () => act(`cleared the zone of ${domain.name}`, "DELETE", `/_fake/dns/${d}`))),
    h("div", {}, h("span", { class: "label" }, "break"),
      BREAKABLE.map((item) => {
        const broken = platform.broken.includes(item);
        return button(`${broken ? "unbreak" : "break"} ${item}`,
          () => change(`${broken ? "repaired" : "broke"} ${item}`, { broken: toggled(platform.broken, item) }),
          broken ? "on" : null);
      }),
      platform.certificate
        ? button("revoke certificate", () => change("revoked the certificate", { certificate: false }))
        : button("issue certificate", () => change("issued the certificate", { certificate: true }))),
    h("div", {}, h("span", { class: "label" }, "unfixable"),
      INTERNAL.map((item) => {
        const unfixable = platform.unfixable.includes(item);
        return button(`make ${item} ${unfixable ? "fixable" : "unfixable"}`,
          () => change(`${item} is ${unfixable ? "fixable" : "unfixable"} by /fix`, { unfixable: toggled(platform.unfixable, item) }),
          unfixable ? "on" : null);
      })),
    h("p", { class: "muted small" }, "DNS and dimail's side change what the next check finds: press check (or fix) to see it."));
}

function checksTable(domain) {
  const rows = Object.entries(domain.checks).map(([name, result]) => h("tr", { class: result.ok ? "pass" : "fail" },
    h("td", {}, name), h("td", { class: "muted" }, result.internal ? "internal" : "DNS"),
    h("td", {}, result.ok ? "ok" : "fails"),
    h("td", {}, result.errors.map(([code, detail]) => h("div", {}, h("code", {}, code), " ", detail)))));
  return h("table", { class: "checks" }, h("thead", {}, h("tr", {}, h("th", {}, "check"), h("th", {}, ""), h("th", {}, ""), h("th", {}, "errors (code, dimail's text)"))), h("tbody", {}, rows));
}

function table(caption, headings, rows, empty) {
  const more = rows.length > TABLE_ROWS ? h("p", { class: "muted" }, `and ${rows.length - TABLE_ROWS} more (all in the state document)`) : null;
  return h("div", {}, h("h3", {}, caption, " ", h("span", { class: "muted" }, rows.length)),
    rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))),
          h("tbody", {}, rows.slice(0, TABLE_ROWS).map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))))
      : h("p", { class: "muted" }, empty),
    more);
}

async function renderDetail() {
  const domain = view.state && view.state.domains.find((d) => d.name === view.selected);
  const panel = $("detail");
  if (!domain) {
    if (view.selected && view.state) panel.replaceChildren(h("p", { class: "muted" }, `${view.selected} is no longer a dimail domain.`));
    return;
  }
  let mailboxes = view.mailboxes[domain.name] || [];
  try {
    mailboxes = await api("GET", `/_fake/domains/${enc(domain.name)}/mailboxes`);
    view.mailboxes[domain.name] = mailboxes;
  } catch (error) {
    say(error.message, true);
  }
  if (view.selected !== domain.name) return;  // another domain was picked meanwhile
  const zone = view.state.zones[domain.name] || [];
  panel.replaceChildren(
    h("h2", {}, domain.name, " ", h("span", { class: `state ${domain.state}`, id: "domain-state" }, domain.state),
      domain.active ? h("span", { class: "tag" }, "active") : null,
      h("span", { class: "muted small" }, ` features: ${domain.features.join(", ")} · OX context: ${domain.context_name ?? "—"}`)),
    steering(domain),
    checksTable(domain),
    table("Mailboxes (v1 listing)", ["address", "status", "active", "name"],
      mailboxes.map((m) => [m.email, h("span", { class: `state ${m.status}` }, m.status), m.active, m.displayName ?? ""]),
      "no mailbox"),
    h("div", { class: "columns" },
      table("Aliases", ["alias", "destination"],
        byDomain(view.state.aliases, domain.name).map((a) => [`${a.local}@${a.domain}`, a.destination]), "no alias"),
      table("Allowed users", ["user"], byDomain(view.state.allows, domain.name).map((a) => [a.user]), "nobody but admins")),
    table("DNS zone", ["target", "type", "value"], zone.map((r) => [r.target || "@", r.type, h("span", { class: "value", title: r.value }, r.value)]),
      "empty: the name does not exist in DNS"));
}

// --- the journal -------------------------------------------------------------

function journalQuery() {
  const params = new URLSearchParams();
  if (view.lastId !== null) params.set("since", view.lastId);
  else params.set("limit", JOURNAL_ROWS);
  const path = $("journal-path").value.trim();
  if (path) params.set("path", path);
  return `/_fake/requests?${params}`;
}

function journalRow(entry) {
  const own = OWN_READS.test(entry.path) && entry.method === "GET";
  const time = new Date(entry.time * 1000).toLocaleTimeString([], { hour12: false }) + "." + String(Math.floor(entry.time * 1000) % 1000).padStart(3, "0");
  const status = entry.status === null ? "—" : entry.status;
  return h("tr", { class: [own ? "own" : "", entry.status >= 400 || entry.status === null ? "bad" : ""].join(" ").trim() || null, "data-id": entry.id },
    h("td", { class: "muted" }, entry.id), h("td", {}, time), h("td", {}, entry.method), h("td", { class: "path" }, entry.path),
    h("td", {}, entry.user ?? "—"), h("td", {}, status), h("td", {}, entry.duration_ms.toFixed(1)), h("td", {}, entry.fault ?? ""));
}

function trim(rows, most) {
  for (let i = most; i < rows.length; i++) rows[i].remove();
}

async function pollJournal() {
  let delay = 1000;
  if (!$("journal-pause").checked) {
    try {
      const entries = await api("GET", journalQuery());
      const body = $("journal").tBodies[0];
      let changed = false;
      for (const entry of entries) {
        body.prepend(journalRow(entry));
        view.lastId = Math.max(view.lastId ?? 0, entry.id);
        if (!(OWN_READS.test(entry.path) && entry.method === "GET")) changed = true;
      }
      trim(body.querySelectorAll("tr.own"), OWN_ROWS);  // a poll a second must not push the others out
      trim(body.querySelectorAll("tr:not(.own)"), JOURNAL_ROWS);
      connected(true);
      // Someone else's request may have changed the state: show it.
      if (changed && view.lastSeen !== undefined) refreshSoon();
      view.lastSeen = view.lastId;
    } catch (error) {
      connected(false, error.message);
      delay = 3000;
    }
  }
  setTimeout(pollJournal, delay);
}

function restartJournal() {
  view.lastId = null;
  view.lastSeen = undefined;
  $("journal").tBodies[0].replaceChildren();
}

// --- wiring ------------------------------------------------------------------

function start() {
  $("domain-filter").addEventListener("input", renderDomains);
  $("journal-hide").addEventListener("change", (e) => document.body.classList.toggle("show-own", !e.target.checked));
  $("journal-path").addEventListener("change", restartJournal);
  $("journal-clear").addEventListener("click", async () => {
    try { await api("DELETE", "/_fake/requests"); } catch (error) { say(error.message, true); }
    $("journal").tBodies[0].replaceChildren();
  });
  $("reset").addEventListener("click", async () => {
    const seed = $("seed").value;
    if (!confirm(`Reset the fake${seed ? ` to the ${seed} seed` : ""}? Every domain, user, mailbox and zone goes.`)) return;
    select(null);
    view.mailboxes = {};
    $("detail").replaceChildren(h("p", { class: "muted" }, "Reset: pick a domain on the left."));
    await act("reset", "POST", seed ? `/_fake/reset?seed=${enc(seed)}` : "/_fake/reset");
  });
  const linked = new URLSearchParams(location.hash.slice(1)).get("domain");
  refresh().then(() => {
    const domains = view.state ? view.state.domains : [];
    if (linked && domains.some((d) => d.name === linked)) select(linked);
    else if (domains.length) select(domains[0].name);
  });
  pollJournal();
}

start();
