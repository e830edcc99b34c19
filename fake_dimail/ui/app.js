// The fake-dimail dashboard: reads and steers the fake through /_fake/ only, with same-origin fetch.
"use strict";

const INTERNAL = ["webmail_ok", "postfix", "ox", "cert"];
const BREAKABLE = ["webmail_ok", "postfix", "ox"];
const JOURNAL_ROWS = 500;  // lines kept on the page; the server keeps its own, bounded journal
const OWN_ROWS = 100;  // of the control plane's reads, shown on demand
const DOMAIN_ROWS = 300;  // more would slow the page; the filter narrows
const TABLE_ROWS = 200;  // a domain may have thousands of mailboxes, the fake thousands of users: the first ones
// The dashboard's own reads: polled every second, they would bury everything else.
const OWN_READS = /^\/_fake\/(requests|state|ui|faults|operations|domains\/[^/]+\/(mailboxes|people))?(\/|\?|$)/;
const PEOPLE_LABELS = { pending: "pending", enabled: "enabled", action_required: "action required", failed: "failed", disabled: "disabled" };
const TABS = ["status", "mailboxes", "addresses", "dns", "access"];

const view = { state: null, faults: [], operations: [], selected: null, tab: "status", lastId: null, mailboxes: {}, before: {} };

const $ = (id) => document.getElementById(id);

// An element with text children only: data never goes through innerHTML.
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (key === "onchange") node.addEventListener("change", value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// A name that may wrap after its dots, slashes and @ (and, as browsers do, after hyphens), never inside a word.
function breakable(text, cls) {
  const span = h("span", { class: cls ? `name ${cls}` : "name" });
  const parts = String(text).split(/(?<=[./@?&=])/);
  parts.forEach((part, i) => {
    span.append(part);
    if (i < parts.length - 1) span.append(document.createElement("wbr"));
  });
  return span;
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
    const [index, state, faults] = await Promise.all([
      api("GET", "/_fake/").catch(() => null), api("GET", "/_fake/state"), api("GET", "/_fake/faults")]);
    view.state = state;
    view.faults = faults;
    connected(true);
    renderHeader(index, state);
    renderDomains();
    renderUsers();
    renderFaults();
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
  const entries = Object.entries(counts);
  const held = entries.filter(([, n]) => n > 0);
  const empty = entries.filter(([, n]) => n === 0).map(([name]) => name.replaceAll("_", " "));
  // Every store is named, none cut: the empty ones in one line whose tooltip lists them.
  $("counts").replaceChildren(
    ...held.map(([name, n]) => h("span", { "data-store": name }, h("b", {}, n), " ", name.replaceAll("_", " "))),
    empty.length ? h("span", { class: "muted", title: `nothing yet in: ${empty.join(", ")}` }, `${held.length ? "· " : ""}${empty.length} empty: ${empty.join(", ")}`) : null);
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
    breakable(domain.name),
    h("span", { class: `state ${domain.state}` }, domain.state)));
  if (shown.length > DOMAIN_ROWS) items.push(h("li", { class: "muted" }, `${shown.length - DOMAIN_ROWS} more: filter to see them`));
  if (!all.length) items.push(h("li", { class: "muted" }, "no domain yet"));
  $("domains").replaceChildren(...items);
}

// The picked domain and tab are in the address (#domain=...&tab=...): a reload or a shared link shows the same.
function select(name, tab) {
  view.selected = name;
  if (tab) view.tab = tab;
  const params = new URLSearchParams();
  if (name) params.set("domain", name);
  if (name && view.tab !== "status") params.set("tab", view.tab);
  history.replaceState(null, "", `#${params}`);
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
  const items = view.state.users.slice(0, TABLE_ROWS).map((user) => {
    const domains = allowed[user.name] || [];
    return h("li", { "data-user": user.name },
      h("div", { class: "who" }, h("b", {}, breakable(user.name)),
        user.is_admin ? h("span", { class: "tag" }, "admin") : null,
        user.password_hash === null ? h("span", { class: "tag muted", title: "created with password \"no\": it cannot log in" }, "no login") : null,
        user.perms.map((perm) => h("span", { class: "tag perm" }, perm))),
      h("div", { class: "allowed" }, domains.length
        ? domains.slice(0, 20).map((d) => h("button", { class: "chip", title: `allowed on ${d}: show it`, onclick: () => select(d) }, breakable(d)))
        : h("span", { class: "muted small" }, user.is_admin ? "every domain (admin)" : "no domain"),
        domains.length > 20 ? h("span", { class: "muted small", title: domains.join(", ") }, ` and ${domains.length - 20} more`) : null));
  });
  $("user-count").textContent = `${view.state.users.length}`;
  if (view.state.users.length > TABLE_ROWS) items.push(h("li", { class: "muted" }, `and ${view.state.users.length - TABLE_ROWS} more (all in the state document)`));
  if (!items.length) items.push(h("li", { class: "muted" }, "no user: bootstrap mode, any Basic credentials act as an admin"));
  $("users").replaceChildren(...items);
  renderPlatform();
}

// dimail's platform-wide rows: rate-limit profiles, databases, crash logs.
function renderPlatform() {
  const state = view.state;
  const parts = [];
  if (state.rate_limits.length) parts.push(table("Rate limits", ["name", "limits"],
    state.rate_limits.map((r) => [r.name, r.limits.map(([seconds, emails]) => `${emails} mails / ${seconds} s`).join(", ") || "—"]), ""));
  if (state.databases.length) parts.push(table("Databases", ["name", "schema"], state.databases.map((d) => [d.name, d.schema_name]), ""));
  if (state.crashes.length) parts.push(table("Crash logs", ["name"], state.crashes.map((c) => [c.name]), ""));
  $("platform").replaceChildren(...parts);
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

function table(caption, headings, rows, empty, attrs) {
  const more = rows.length > TABLE_ROWS ? h("p", { class: "muted" }, `and ${rows.length - TABLE_ROWS} more (all in the state document)`) : null;
  return h("div", attrs || {}, h("h3", {}, caption, " ", h("span", { class: "muted" }, rows.length)),
    rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))),
          h("tbody", {}, rows.slice(0, TABLE_ROWS).map((cells) => cells instanceof Node ? cells : h("tr", {}, cells.map((c) => h("td", {}, c))))))
      : h("p", { class: "muted" }, empty),
    more);
}

// People's side: what its next status fetch would conclude (GET /_fake/domains/{d}/people changes nothing).
function peopleBadge(people) {
  if (!people) return h("span", { class: "pstatus", id: "people-status" }, "…");
  const label = people.changed ? PEOPLE_LABELS[people.status] : `${PEOPLE_LABELS[people.status]} (unchanged)`;
  return h("span", { class: `pstatus ${people.status}`, id: "people-status", title: people.why }, label);
}

function peopleBox(domain, people) {
  if (!people) return h("div", { class: "people" }, h("p", { class: "muted" }, "People's status could not be read."));
  const before = view.before[domain.name] || "pending";
  const chooser = h("select", { "aria-label": "what People shows now", onchange: (e) => { view.before[domain.name] = e.target.value; renderDetail(); } },
    ["pending", "enabled", "action_required", "failed"].map((s) => h("option", { value: s, selected: s === before }, PEOPLE_LABELS[s])));
  const failingRows = people.failing.map((f) => [
    f.check, f.internal ? "internal" : "DNS",
    h("span", { class: f.fixable ? "fixable" : "unfixable", title: f.internal ? (f.fixable ? "dimail's /fix repairs it" : "/fix leaves it failing: dimail's operators must repair it") : "a DNS record: the domain's owner must publish it; /fix never changes DNS" }, f.fixable ? "/fix repairs it" : "not by /fix"),
    f.code ? h("span", {}, h("code", {}, f.code), " ", f.detail) : ""]);
  return h("div", { class: `people ${people.status}`, id: "people" },
    h("h3", {}, "What People shows after its next status fetch ", peopleBadge(people)),
    h("p", { class: "why" }, people.why, people.fix_state ? ` (/fix would answer ${people.fix_state})` : null),
    h("dl", {},
      h("dt", {}, "People sends"), h("dd", {}, people.calls.map((call) => h("code", { class: "call" }, call))),
      h("dt", {}, "pending mailboxes"), h("dd", { id: "people-pending" }, people.pending_mailboxes),
      h("dt", {}, "People shows now"), h("dd", {}, chooser, h("span", { class: "muted small" }, " (dimail cannot know: People keeps it)"))),
    people.stale ? h("p", { class: "stale", id: "people-stale" },
      `The checks below are dimail's last answer (People would show ${PEOPLE_LABELS[people.last_status]} from it); `,
      `DNS or dimail's side changed since: /check would now answer ${people.state ?? "500"}. Press check to see it.`) : null,
    people.failing.length ? table("Failing in the answer People reads", ["check", "", "fixable", "first error (People lists the DNS ones)"], failingRows, "") : null);
}

// dimail's v1 listing shows rows no mailbox of this domain is: say why (faithful quirks).
function listingQuirk(domain, mailbox) {
  const [local, host] = mailbox.email.split("@");
  if (host !== domain.name) return `dimail lists the whole OX context: ${mailbox.email} belongs to another domain of the context ${domain.context_name}. A faithful quirk; People's import skips other domains.`;
  if (local === "oxadmin") return "dimail lists the OX context's admin (oxadmin): an OX user with no Dovecot mailbox, so broken / unknown. A faithful quirk of dimail; People's import skips oxadmin.";
  if (mailbox.status === "broken") return mailbox.active === "unknown"
    ? "an OX user without a Dovecot mailbox: dimail shows it broken / unknown"
    : "a Dovecot mailbox without its OX user on a webmail domain (or with one on a domain without webmail): dimail shows it broken";
  return null;
}

function mailboxesTab(domain, mailboxes, people) {
  const state = view.state;
  const name = domain.name;
  const listing = mailboxes.map((m) => {
    const quirk = listingQuirk(domain, m);
    const peopleShows = quirk ? "—" : ({ yes: "enabled", no: "disabled" }[m.active] || "—");
    return h("tr", { class: quirk ? "quirk" : null, title: quirk, "data-email": m.email },
      h("td", {}, breakable(m.email), quirk ? h("span", { class: "tag quirk-tag", title: quirk }, "quirk") : null),
      h("td", {}, h("span", { class: `state ${m.status}` }, m.status)), h("td", {}, m.active),
      h("td", {}, m.displayName ?? ""), h("td", {}, peopleShows));
  });
  const mine = (row) => row.domain === name;
  const secondaries = state.secondaries.filter((s) => s.domain === name || s.secondary_domain === name);
  return [
    people ? h("p", { class: "note" }, h("b", {}, "People's pending mailboxes"), " (created in People, not in dimail yet) at its next status fetch: ", people.pending_mailboxes, ".") : null,
    table("Mailboxes (dimail's v1 listing)", ["address", "status", "active", "name", "People shows"], listing, "no mailbox", { id: "mailbox-table" }),
    table("App passwords", ["mailbox", "name", "type", "last use", "client"],
      state.app_passwords.filter(mine).map((p) => [breakable(`${p.local}@${p.domain}`), p.name, p.type, p.last_use ?? "never", p.client ?? "—"]),
      "no app password (their secrets are never shown)", { id: "app-passwords" }),
    table("Secondary accounts", ["mailbox", "may open", "display name"],
      secondaries.map((s) => [breakable(`${s.local}@${s.domain}`), breakable(`${s.secondary_local}@${s.secondary_domain}`), s.display_name ?? "—"]),
      "no secondary account", { id: "secondaries" }),
    table("ProConnect identities", ["identity", "opens"],
      state.identities.filter(mine).map((i) => [breakable(i.proconnect), breakable(`${i.local}@${i.domain}`)]), "no identity", { id: "identities" }),
    table("Login codes", ["mailbox", "uses", "expires"],
      state.codes.filter(mine).map((c) => [breakable(`${c.local}@${c.domain}`), `${c.nbuse} / ${c.maxuse ?? "∞"}`, c.expires_at ? new Date(c.expires_at * 1000).toLocaleString() : "never"]),
      "no login code (codes are never shown)", { id: "codes" }),
    table("Mail queue", ["queue id", "for"], state.mailqueue.filter(mine).map((q) => [q.queue_id, breakable(`${q.local}@${q.domain}`)]), "empty", { id: "mailqueue" }),
  ];
}

function addressesTab(domain) {
  const state = view.state;
  const mine = (row) => row.domain === domain.name;
  return [
    table("Aliases", ["alias", "destination"], state.aliases.filter(mine).map((a) => [breakable(`${a.local}@${a.domain}`), breakable(a.destination)]), "no alias", { id: "aliases" }),
    table("Forwards", ["address", "relayed to"], state.forwards.filter(mine).map((f) => [breakable(`${f.local}@${f.domain}`), breakable(f.nexthop)]), "no forward", { id: "forwards" }),
    table("Public aliases", ["address", "delivers to", "description"],
      state.public_aliases.filter(mine).map((p) => [breakable(`${p.local}@${p.domain}`), breakable(p.destination), p.description || "—"]),
      domain.public_alias ? "no public alias yet" : "no public alias (the domain does not allow them)", { id: "public-aliases" }),
  ];
}

function accessTab(domain) {
  const state = view.state;
  const context = state.contexts.find((c) => c.domains.includes(domain.name));
  const move = state.moves.find((m) => m.domain === domain.name);
  return [
    table("Allowed users", ["user"], byDomain(state.allows, domain.name).map((a) => [breakable(a.user)]), "nobody but admins", { id: "allowed" }),
    h("h3", {}, "OX context"),
    context
      ? h("p", {}, h("code", {}, context.name), ` (id ${context.id}), its domains: `, context.domains.map((d, i) => [i ? ", " : "", breakable(d)]), ` · ${context.users.length} OX users`)
      : h("p", { class: "muted" }, "none: the domain has no webmail"),
    move ? h("p", { class: "stale" }, move.moving_from ? `Moving here from ${move.moving_from}: ` : `Moving to ${move.moving_to}: `,
      `every operation declaring it answers 410 until the move completes (${byDomain(state.mailbox_moves, domain.name).length} mailboxes still to move).`) : null,
  ];
}

function dnsTab(domain) {
  const zone = view.state.zones[domain.name] || [];
  return [table("DNS zone", ["target", "type", "value"], zone.map((r) => [r.target || "@", r.type, h("span", { class: "value", title: r.value }, r.value)]),
    "empty: the name does not exist in DNS", { id: "zone" })];
}

async function renderDetail() {
  const domain = view.state && view.state.domains.find((d) => d.name === view.selected);
  const head = $("detail-head");
  const body = $("detail-body");
  if (!domain) {
    if (view.selected && view.state) {
      head.replaceChildren();
      body.replaceChildren(h("p", { class: "muted" }, `${view.selected} is no longer a dimail domain.`));
    }
    return;
  }
  const d = enc(domain.name);
  const before = view.before[domain.name] || "pending";
  let mailboxes = view.mailboxes[domain.name] || [];
  let people = null;
  try {
    [mailboxes, people] = await Promise.all([
      api("GET", `/_fake/domains/${d}/mailboxes`), api("GET", `/_fake/domains/${d}/people?before=${before}`)]);
    view.mailboxes[domain.name] = mailboxes;
  } catch (error) {
    say(error.message, true);
  }
  if (view.selected !== domain.name) return;  // another domain was picked meanwhile
  const state = view.state;
  const mine = (row) => row.domain === domain.name;
  const counts = {
    status: failing(domain).length || null,
    mailboxes: mailboxes.length,
    addresses: state.aliases.filter(mine).length + state.forwards.filter(mine).length + state.public_aliases.filter(mine).length,
    dns: (state.zones[domain.name] || []).length,
    access: byDomain(state.allows, domain.name).length,
  };
  const titles = { status: "Status & checks", mailboxes: "Mailboxes", addresses: "Addresses", dns: "DNS zone", access: "Access" };
  const move = state.moves.find((m) => m.domain === domain.name);
  head.replaceChildren(
    h("h2", {}, breakable(domain.name), " ", h("span", { class: `state ${domain.state}`, id: "domain-state", title: "dimail's state after its last check" }, domain.state),
      domain.active ? h("span", { class: "tag", title: "valid once: dimail never resets it" }, "active") : null,
      move ? h("span", { class: "tag warn" }, "moving") : null,
      h("span", { class: "people-line" }, "People: ", peopleBadge(people))),
    h("div", { class: "muted small meta" }, `features: ${domain.features.join(", ")} · OX context: ${domain.context_name ?? "—"}`),
    h("div", { class: "tabs", role: "tablist" }, TABS.map((tab) => h("button", {
      role: "tab", "data-tab": tab, "aria-selected": tab === view.tab ? "true" : "false",
      onclick: () => select(domain.name, tab),
    }, titles[tab], counts[tab] === null ? null : h("span", { class: tab === "status" ? "count bad" : "count" }, counts[tab])))));
  const panes = {
    status: () => [peopleBox(domain, people), steering(domain), h("h3", {}, "dimail's last check"), checksTable(domain)],
    mailboxes: () => mailboxesTab(domain, mailboxes, people),
    addresses: () => addressesTab(domain),
    dns: () => dnsTab(domain),
    access: () => accessTab(domain),
  };
  // Every tab is in the page (a search finds it), the picked one shown.
  body.replaceChildren(...TABS.map((tab) => h("div", { class: "pane", "data-pane": tab, role: "tabpanel", hidden: tab !== view.tab }, panes[tab]())));
}

// --- faults ------------------------------------------------------------------

function renderFaults() {
  $("fault-count").textContent = `${view.faults.length}`;
  const rows = view.faults.map((f) => h("tr", { "data-fault": f.id, title: `fault ${f.id}` },
    h("td", {}, h("code", {}, f.method), " ", breakable(f.path),
      f.after ? h("span", { class: "muted small" }, ` after ${f.after}`) : null,
      f.delay_ms ? h("span", { class: "muted small" }, ` +${f.delay_ms} ms`) : null),
    h("td", {}, f.answer ?? "delay", h("span", { class: "muted small" }, f.times === null ? " every time" : ` ×${f.times}`)),
    h("td", { title: `${f.hits} answered by the fault, ${f.seen} matching requests seen` }, `${f.hits} / ${f.seen}`),
    h("td", {}, button("remove", () => act(`removed fault ${f.id}`, "DELETE", `/_fake/faults/${f.id}`)))));
  if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "no fault: every request gets dimail's answer")));
  $("faults").tBodies[0].replaceChildren(...rows);
}

function renderFaultPaths() {
  const method = $("fault-method").value;
  const select = $("fault-path");
  const kept = select.value;
  const seen = new Set();
  const options = [h("option", { value: "*" }, "* every path")];
  for (const op of view.operations) {
    if ((method !== "*" && op.method !== method) || seen.has(op.path)) continue;
    seen.add(op.path);
    options.push(h("option", { value: op.path, title: op.summary }, op.path));
  }
  select.replaceChildren(...options);
  select.value = seen.has(kept) || kept === "*" ? kept : (options[1] || options[0]).value;
}

async function addFault(event) {
  event.preventDefault();
  const answer = $("fault-answer").value;
  const times = $("fault-times").value.trim();
  const body = {
    method: $("fault-method").value, path: $("fault-path").value,
    answer: /^\d+$/.test(answer) ? Number(answer) : answer,
    times: times === "" ? null : Number(times), after: Number($("fault-after").value || 0),
  };
  await act(`fault added: ${body.method} ${body.path} answers ${body.answer}`, "POST", "/_fake/faults", body);
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

function statusClass(entry) {
  if (entry.status === null) return "s-none";
  return `s-${String(entry.status)[0]}`;
}

function journalRow(entry) {
  const own = OWN_READS.test(entry.path) && entry.method === "GET";
  const time = new Date(entry.time * 1000).toLocaleTimeString([], { hour12: false }) + "." + String(Math.floor(entry.time * 1000) % 1000).padStart(3, "0");
  const status = entry.status === null ? "—" : entry.status;
  const classes = ["entry", statusClass(entry), own ? "own" : "", entry.status >= 400 || entry.status === null ? "bad" : "", entry.fault ? "faulted" : ""];
  return h("tr", { class: classes.join(" ").replace(/\s+/g, " ").trim(), "data-id": entry.id, title: "click: what was sent and answered", onclick: () => toggleBodies(entry.id) },
    h("td", { class: "muted" }, entry.id), h("td", {}, time), h("td", {}, entry.method), h("td", { class: "path" }, breakable(entry.path)),
    h("td", {}, entry.user ?? "—"), h("td", {}, status), h("td", {}, entry.duration_ms.toFixed(1)), h("td", {}, entry.fault ?? ""));
}

function shownBody(part) {
  if (!part) return h("p", { class: "muted" }, "—");
  const text = part.body === null ? "(empty)" : typeof part.body === "string" ? part.body : JSON.stringify(part.body, null, 2);
  return [h("div", { class: "muted small" }, `${part.content_type ?? "no content type"} · ${part.size} bytes`), h("pre", {}, text)];
}

// A line's bodies, read on demand from the journal (`bodies=1`: secrets come back redacted).
async function toggleBodies(id) {
  const row = document.querySelector(`#journal tr.entry[data-id="${id}"]`);
  if (!row) return;
  const open = row.nextElementSibling;
  if (open && open.classList.contains("bodies")) {
    open.remove();
    row.classList.remove("open");
    return;
  }
  let entry = null;
  try {
    const found = await api("GET", `/_fake/requests?since=${id - 1}&limit=1&bodies=1`);
    entry = found.find((e) => e.id === id) || null;
  } catch (error) {
    say(error.message, true);
    return;
  }
  const cell = entry
    ? h("td", { colspan: 8 }, h("div", { class: "exchange" },
        h("div", {}, h("h4", {}, "request ", h("code", {}, entry.method), " ", breakable(entry.path)),
          h("div", { class: "small" }, `auth: ${entry.auth ?? "none"} · operation: ${entry.operation ?? "— (a redirect, a 404 or a fault)"}`),
          shownBody(entry.request)),
        h("div", {}, h("h4", {}, `response ${entry.status ?? "— (no answer)"}`, entry.fault ? ` (injected: ${entry.fault})` : ""), shownBody(entry.response))))
    : h("td", { colspan: 8, class: "muted" }, "no longer in the journal (it keeps the newest 10,000 requests)");
  row.classList.add("open");
  row.after(h("tr", { class: "bodies", "data-for": id }, cell));
}

function filterJournal() {
  const wanted = $("journal-status").value;
  document.body.dataset.status = wanted;
}

function trim(rows, most) {
  for (let i = most; i < rows.length; i++) {
    const next = rows[i].nextElementSibling;
    if (next && next.classList.contains("bodies")) next.remove();
    rows[i].remove();
  }
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
      trim(body.querySelectorAll("tr.entry.own"), OWN_ROWS);  // a poll a second must not push the others out
      trim(body.querySelectorAll("tr.entry:not(.own)"), JOURNAL_ROWS);
      connected(true);
      // Someone else's request may have changed the state (or a fault's hits): show it.
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

async function loadOperations() {
  try {
    view.operations = await api("GET", "/_fake/operations");
  } catch (error) {
    say(error.message, true);
  }
  renderFaultPaths();
}

function start() {
  $("domain-filter").addEventListener("input", renderDomains);
  $("journal-hide").addEventListener("change", (e) => document.body.classList.toggle("show-own", !e.target.checked));
  $("journal-path").addEventListener("change", restartJournal);
  $("journal-status").addEventListener("change", filterJournal);
  $("journal-clear").addEventListener("click", async () => {
    try { await api("DELETE", "/_fake/requests"); } catch (error) { say(error.message, true); }
    $("journal").tBodies[0].replaceChildren();
  });
  $("fault-method").addEventListener("change", renderFaultPaths);
  $("fault-form").addEventListener("submit", addFault);
  $("faults-clear").addEventListener("click", () => act("removed every fault", "DELETE", "/_fake/faults"));
  $("reset").addEventListener("click", async () => {
    const seed = $("seed").value;
    if (!confirm(`Reset the fake${seed ? ` to the ${seed} seed` : ""}? Every domain, user, mailbox, zone and fault goes.`)) return;
    select(null);
    view.mailboxes = {};
    $("detail-head").replaceChildren();
    $("detail-body").replaceChildren(h("p", { class: "muted" }, "Reset: pick a domain on the left."));
    await act("reset", "POST", seed ? `/_fake/reset?seed=${enc(seed)}` : "/_fake/reset");
  });
  const linked = new URLSearchParams(location.hash.slice(1));
  if (TABS.includes(linked.get("tab"))) view.tab = linked.get("tab");
  loadOperations();
  refresh().then(() => {
    const domains = view.state ? view.state.domains : [];
    const wanted = linked.get("domain");
    if (wanted && domains.some((d) => d.name === wanted)) select(wanted);
    else if (domains.length) select(domains[0].name);
  });
  pollJournal();
}

start();
