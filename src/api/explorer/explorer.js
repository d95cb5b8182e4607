// The explorer: a read-only page over the node's public REST API (docs/explorer.md). Everything a peer or a
// client wrote (memos, addresses, reasons) reaches the page through textContent only, never as markup, and
// the page's Content-Security-Policy allows no script but this file.

const FEED_ROWS = 50;
const FEED_RENDER_MS = 250;
/** The applied rate is counted per second over the last 10: ten counters, whatever the rate. */
const RATE_SECONDS = 10;
/** A stream the node refused (e.g. 429: four pages already open from this address) is asked for again. */
const FEED_RETRY_MS = 10_000;
const STATUS_POLL_MS = 3_000;
const PENDING_POLL_MS = 1_000;
const HISTORY_PAGE = 25;
/** A full record book lists 10,000 members; the page shows the first of them, and says how many more. */
const MEMBER_ROWS = 500;
const ADDRESS = /^tly1[02-9ac-hj-np-z]{59}$/;
const TRANSFER_ID = /^[0-9a-f]{64}$/;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path) {
  let response;
  try {
    response = await fetch(path, { headers: { accept: "application/json" } });
  } catch {
    throw new ApiError(0, "UNREACHABLE", "the node did not answer");
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok && response.status !== 503) {
    throw new ApiError(
      response.status,
      body?.code ?? "HTTP_ERROR",
      body?.message ?? `HTTP ${response.status}`,
    );
  }
  return body;
}

/** An element with attributes and children; strings become text nodes, so nothing is ever parsed as HTML. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

const short = (text) => (text.length > 20 ? `${text.slice(0, 10)}…${text.slice(-6)}` : text);
const accountLink = (address) => el("a", { href: `#/account/${address}`, title: address }, short(address));
const transferLink = (id) => el("a", { href: `#/transfer/${id}`, title: id, class: "mono" }, short(id));
const badge = (status) => el("span", { class: `badge ${status}`, "data-test": "status" }, status);
const row = (label, ...value) => el("tr", {}, el("th", {}, label), el("td", {}, ...value));
const table = (test, ...rows) => el("table", { class: "facts", "data-test": test }, ...rows);

function showMessage(text) {
  const message = document.getElementById("message");
  message.textContent = text ?? "";
  message.hidden = text === undefined;
}

// ---- the node's status, always in the header --------------------------------------------------------------

async function refreshStatus() {
  try {
    const [info, health] = await Promise.all([api("/v1/node"), api("/v1/health")]);
    document.getElementById("node-network").textContent = info.network;
    document.getElementById("node-peer-id").textContent = `node ${info.peerId}`;
    document.getElementById("node-summary").textContent =
      ` · ${info.broadcast.mode} · ${info.peers.connected} connected of ${info.peers.members} members · v${info.version}`;
    const healthBadge = document.getElementById("node-health");
    healthBadge.textContent =
      health.status === "ready" ? "ready" : `${health.status}: ${health.reason ?? ""}`;
    healthBadge.className = `badge ${health.status === "ready" ? "applied" : "pending"}`;
    return info;
  } catch (e) {
    const healthBadge = document.getElementById("node-health");
    healthBadge.textContent = e.code === "UNREACHABLE" ? "unreachable" : e.code;
    healthBadge.className = "badge rejected";
    return undefined;
  }
}

// ---- the live feed: one event stream for the page's life, shown on the home view --------------------------

const feed = {
  /** id → the newest event of that transfer, oldest first (a Map keeps insertion order). */
  rows: new Map(),
  /** Applied verdicts per second, by `Math.floor(ms / 1000) % RATE_SECONDS`, and which second each holds. */
  appliedPerSecond: new Array(RATE_SECONDS).fill(0),
  secondOf: new Array(RATE_SECONDS).fill(-1),
  /** "connecting", "connected", "retrying" (the browser reconnects) or "refused" (we ask again later). */
  state: "connecting",
  dirty: false,
};

function connectFeed() {
  // Only verdicts: at thousands of transfers a second the page must not take every intermediate change.
  const stream = new EventSource("/v1/events?status=applied,rejected");
  stream.addEventListener("open", () => {
    feed.state = "connected";
    feed.dirty = true;
  });
  stream.addEventListener("error", () => {
    // A dropped connection is retried by the browser; a refused one (an HTTP error) is closed for good.
    if (stream.readyState === EventSource.CLOSED) {
      feed.state = "refused";
      setTimeout(connectFeed, FEED_RETRY_MS);
    } else feed.state = "retrying";
    feed.dirty = true;
  });
  stream.addEventListener("transfer", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (typeof event?.id !== "string" || !TRANSFER_ID.test(event.id)) return;
    feed.rows.delete(event.id);
    feed.rows.set(event.id, { ...event, atMs: Date.now() });
    while (feed.rows.size > FEED_ROWS) feed.rows.delete(feed.rows.keys().next().value);
    if (event.status === "applied") countApplied(Math.floor(Date.now() / 1000));
    feed.dirty = true;
  });
}

function countApplied(second) {
  const slot = second % RATE_SECONDS;
  if (feed.secondOf[slot] !== second) {
    feed.secondOf[slot] = second;
    feed.appliedPerSecond[slot] = 0;
  }
  feed.appliedPerSecond[slot]++;
}

function startFeed() {
  connectFeed();
  // The state line every tick (the rate decays when nothing arrives); the rows only when something changed.
  setInterval(() => {
    renderFeedState();
    if (feed.dirty) renderFeed();
  }, FEED_RENDER_MS);
}

function renderFeedState() {
  const line = document.getElementById("feed-state");
  if (line === null) return;
  const now = Math.floor(Date.now() / 1000);
  const recent = feed.appliedPerSecond.reduce(
    (sum, count, i) => sum + (now - feed.secondOf[i] < RATE_SECONDS ? count : 0),
    0,
  );
  const rate = (recent / RATE_SECONDS).toFixed(1);
  line.textContent = {
    connecting: "connecting…",
    connected: `connected · ${rate} applied/s over the last 10 s`,
    retrying: "connection lost, reconnecting…",
    refused: "the node refused the event stream (too many open pages?); asking again in 10 s",
  }[feed.state];
}

function renderFeed() {
  const body = document.getElementById("feed-rows");
  if (body === null) return;
  feed.dirty = false;
  renderFeedState();
  const rows = [...feed.rows.values()]
    .reverse()
    .map((e) =>
      el(
        "tr",
        { "data-test": "feed-row", "data-id": e.id },
        el("td", {}, new Date(e.atMs).toLocaleTimeString()),
        el("td", {}, badge(e.status)),
        el("td", {}, typeof e.source === "string" && ADDRESS.test(e.source) ? accountLink(e.source) : "?"),
        el("td", {}, Number.isSafeInteger(e.seq) ? e.seq : "?"),
        el("td", {}, transferLink(e.id)),
        el("td", {}, typeof e.reason?.code === "string" ? e.reason.code : ""),
      ),
    );
  body.replaceChildren(...rows);
  document.getElementById("feed-empty").hidden = rows.length > 0;
}

function homeView(info) {
  return [
    el("h2", {}, "Live transfers"),
    el("p", { id: "feed-state", class: "muted", "data-test": "feed-state" }, "connecting…"),
    el(
      "table",
      { class: "list", "data-test": "feed" },
      el(
        "thead",
        {},
        el("tr", {}, ...["time", "status", "source", "seq", "id", "reason"].map((h) => el("th", {}, h))),
      ),
      el("tbody", { id: "feed-rows" }),
    ),
    el("p", { id: "feed-empty", class: "muted" }, "No transfer applied or rejected since this page opened."),
    info === undefined ? undefined : nodeFacts(info),
  ];
}

function nodeFacts(info) {
  const params = Object.entries(info.broadcast.params ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return [
    el("h2", {}, "This node"),
    table(
      "node-facts",
      row("network", info.network),
      row("peer id", el("span", { class: "mono" }, info.peerId)),
      row("genesis", el("span", { class: "mono" }, info.genesis ?? "")),
      row("broadcast", `${info.broadcast.mode} (${params})`),
      row("peers", `${info.peers.connected} connected, ${info.peers.members} members`),
      row("sync", `${info.sync?.state ?? "?"}, ${info.sync?.behind ?? 0} behind`),
      row("protocols", info.protocols.map((p) => `${p.id}/${p.version}`).join(", ")),
    ),
  ];
}

// ---- an account and its history ---------------------------------------------------------------------------

async function accountView(address, isCurrent) {
  const account = await api(`/v1/accounts/${encodeURIComponent(address)}`);
  const history = el("tbody", {});
  const more = el("button", { type: "button", "data-test": "history-more", hidden: "" }, "Older transfers");
  let cursor;
  const loadPage = async () => {
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
    if (cursor !== undefined) query.set("before", cursor);
    const page = await api(`/v1/accounts/${encodeURIComponent(address)}/transfers?${query}`);
    if (!isCurrent()) return;
    for (const item of page.transfers) history.append(historyRow(item));
    cursor = page.next;
    more.hidden = cursor === undefined;
  };
  more.addEventListener("click", () => loadPage().catch((e) => showMessage(e.message)));
  await loadPage();
  const definition = account.definition;
  return [
    el("h2", {}, definition === undefined ? "Account" : "Shared account"),
    table(
      "account",
      row("address", el("span", { class: "mono", "data-test": "account-address" }, account.address)),
      row("balance", el("span", { "data-test": "account-balance" }, account.balance)),
      row("next seq", el("span", { "data-test": "account-next-seq" }, account.nextSeq)),
      row(
        "incoming not yet taken in",
        account.pendingDeps.length === 0 ? "none" : account.pendingDeps.map((id) => [transferLink(id), " "]),
      ),
      definition === undefined ? undefined : row("label", definition.label),
      definition === undefined
        ? undefined
        : row(
            "owners",
            definition.owners.map((o) => el("div", { class: "mono" }, o)),
          ),
    ),
    el("h2", {}, "Transfers, newest first"),
    el(
      "table",
      { class: "list", "data-test": "history" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["seq", "direction", "status", "amount", "counterparty", "memo", "id"].map((h) =>
            el("th", {}, h),
          ),
        ),
      ),
      history,
    ),
    more,
  ];
}

function historyRow(item) {
  const t = item.transfer;
  const total = t.outputs.reduce((sum, o) => sum + BigInt(o.amount), 0n);
  const counterparty =
    item.direction === "out" ? t.outputs.map((o) => [accountLink(o.to), " "]) : accountLink(t.source);
  return el(
    "tr",
    { "data-test": "history-row", "data-id": item.id },
    el("td", {}, t.seq),
    el("td", {}, item.direction),
    el("td", {}, badge(item.status)),
    el("td", {}, total.toString()),
    el("td", {}, counterparty),
    el("td", { class: "memo" }, t.memo ?? ""),
    el("td", {}, transferLink(item.id)),
  );
}

// ---- one transfer -----------------------------------------------------------------------------------------

async function transferView(id, isCurrent, rerender) {
  let view;
  try {
    view = await api(`/v1/transfers/${id}`);
  } catch (e) {
    if (e.status === 404)
      return [
        el("h2", {}, "Transfer"),
        el("p", { "data-test": "not-found" }, `This node knows no transfer ${id}.`),
      ];
    throw e;
  }
  const t = view.transfer;
  if (view.status === "pending" || view.status === "delivered") {
    // Until a verdict: look again while this view is shown.
    setTimeout(() => {
      if (isCurrent()) rerender();
    }, PENDING_POLL_MS);
  }
  const auth = t.authorization;
  return [
    el("h2", {}, "Transfer ", badge(view.status)),
    table(
      "transfer",
      row("id", el("span", { class: "mono" }, view.id)),
      view.reason === undefined
        ? undefined
        : row(
            "rejected because",
            el("span", { "data-test": "reason" }, `${view.reason.code}: ${view.reason.message}`),
          ),
      row("source", accountLink(t.source)),
      row("seq", el("span", { "data-test": "transfer-seq" }, t.seq)),
      row(
        "outputs",
        t.outputs.map((o) => el("div", { "data-test": "output" }, accountLink(o.to), ` ${o.amount}`)),
      ),
      row("deps", (t.deps ?? []).length === 0 ? "none" : t.deps.map((d) => el("div", {}, transferLink(d)))),
      row("memo", el("span", { class: "memo", "data-test": "memo" }, t.memo ?? "")),
      auth === undefined
        ? row("signature", el("span", { class: "mono" }, t.signature ?? ""))
        : row(
            "certificate",
            `${auth.definition.label}: owner ${auth.requester}'s request; owners ${auth.certificate.signers.join(", ")} of ${auth.definition.owners.length} signed in round ${auth.certificate.round}`,
          ),
      row("network", t.network),
    ),
  ];
}

// ---- peers ------------------------------------------------------------------------------------------------

async function peersView() {
  const peers = await api("/v1/node/peers");
  const connected = new Set(peers.connected);
  const samples = Object.entries(peers.samples ?? {});
  return [
    el("h2", {}, `Members (${peers.members.length}, ${peers.membership ?? ""} membership)`),
    el(
      "table",
      { class: "list", "data-test": "members" },
      el(
        "thead",
        {},
        el("tr", {}, ...["peer id", "connected", "address", "known since"].map((h) => el("th", {}, h))),
      ),
      el(
        "tbody",
        {},
        peers.members
          .slice(0, MEMBER_ROWS)
          .map((m) =>
            el(
              "tr",
              { "data-test": "member" },
              el("td", { class: "mono" }, m.peerId),
              el("td", {}, connected.has(m.peerId) ? "yes" : "no"),
              el("td", { class: "mono" }, (m.addrs ?? [])[0] ?? ""),
              el("td", {}, m.since ?? ""),
            ),
          ),
      ),
    ),
    peers.members.length > MEMBER_ROWS
      ? el("p", { class: "muted" }, `and ${peers.members.length - MEMBER_ROWS} more`)
      : undefined,
    el("h2", {}, "This node's broadcast samples (one fresh draw)"),
    table("samples", ...samples.map(([name, ids]) => row(name, `${ids.length} peers`))),
  ];
}

// ---- routing ----------------------------------------------------------------------------------------------

let generation = 0;
let lastInfo;

async function render() {
  const current = ++generation;
  const isCurrent = () => current === generation;
  const view = document.getElementById("view");
  showMessage(undefined);
  const [, kind, arg] = /^#\/([a-z]*)\/?(.*)$/.exec(location.hash) ?? [];
  try {
    let children;
    if (kind === "account") {
      if (!ADDRESS.test(arg)) throw new ApiError(400, "INVALID_ADDRESS", `not an address: ${arg}`);
      children = await accountView(arg, isCurrent);
    } else if (kind === "transfer") {
      if (!TRANSFER_ID.test(arg)) throw new ApiError(400, "INVALID_ID", `not a transfer id: ${arg}`);
      children = await transferView(arg, isCurrent, render);
    } else if (kind === "peers") children = await peersView();
    else {
      lastInfo ??= await refreshStatus();
      children = homeView(lastInfo);
    }
    if (!isCurrent()) return;
    view.replaceChildren(...children.flat().filter((c) => c !== undefined));
    renderFeed();
  } catch (e) {
    if (!isCurrent()) return;
    view.replaceChildren();
    showMessage(`${e.code ?? "ERROR"}: ${e.message}`);
  }
}

function onSearch(event) {
  event.preventDefault();
  const input = document.getElementById("search-input");
  const query = input.value.trim();
  if (ADDRESS.test(query)) location.hash = `#/account/${query}`;
  else if (TRANSFER_ID.test(query.toLowerCase())) location.hash = `#/transfer/${query.toLowerCase()}`;
  else showMessage("Look up an address (tly1…, 63 characters) or a transfer id (64 hex digits).");
}

document.getElementById("search").addEventListener("submit", onSearch);
window.addEventListener("hashchange", render);
startFeed();
const refreshHeader = () =>
  refreshStatus().then((info) => {
    lastInfo = info ?? lastInfo;
  });
refreshHeader();
setInterval(refreshHeader, STATUS_POLL_MS);
render();
