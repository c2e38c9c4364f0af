// Aisle's storefront: plain JavaScript over the JSON API, no build step, nothing fetched from
// outside. Everything shown from data is inserted as text (never as HTML); the whole search state
// lives in the URL, so back/forward and links reproduce a page.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 24;
const BRANDS_SHOWN = 8;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// The API marks matched words in snippets with <em>...</em> and escapes everything else; the
// marks become elements and the rest text, so nothing in a title can become markup.
function unescapeEntities(s) {
  return s.replace(/&(lt|gt|amp|quot|#39);/g, (m, n) => ({ lt: "<", gt: ">", amp: "&", quot: "\"", "#39": "'" })[n]);
}
function highlighted(snippet) {
  const frag = document.createDocumentFragment();
  let marked = false;
  for (const part of String(snippet).split(/(<em>|<\/em>)/)) {
    if (part === "<em>") { marked = true; continue; }
    if (part === "</em>") { marked = false; continue; }
    if (!part) continue;
    const text = document.createTextNode(unescapeEntities(part));
    frag.append(marked ? el("mark", {}, text) : text);
  }
  return frag;
}

function money(v) {
  return typeof v === "number" ? "$" + v.toFixed(2) : "";
}

// --- State in the URL -------------------------------------------------------------------------

function readState() {
  const p = new URLSearchParams(location.search);
  return {
    q: p.get("q") || "",
    brands: p.getAll("brand"),
    category: p.get("category") || "",
    min: p.get("min_price") || "",
    max: p.get("max_price") || "",
    inStock: p.get("in_stock") === "true",
    sort: p.get("sort") || "relevance",
    page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1),
    product: p.get("product") || "",
    view: p.get("view") || "",
  };
}

function stateQuery(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  for (const b of s.brands) p.append("brand", b);
  if (s.category) p.set("category", s.category);
  if (s.min !== "") p.set("min_price", s.min);
  if (s.max !== "") p.set("max_price", s.max);
  if (s.inStock) p.set("in_stock", "true");
  if (s.sort && s.sort !== "relevance") p.set("sort", s.sort);
  if (s.page > 1) p.set("page", String(s.page));
  if (s.product) p.set("product", s.product);
  if (s.view) p.set("view", s.view);
  return p;
}

function go(changes, { keepPage = false } = {}) {
  const s = Object.assign(readState(), changes);
  if (!keepPage && !("page" in changes)) s.page = 1;
  const qs = stateQuery(s).toString();
  history.pushState(null, "", qs ? "/?" + qs : "/");
  render();
}

// --- Search page --------------------------------------------------------------------------------

let lastPriceStats = null;
let brandsExpanded = false;
let renderSeq = 0;

class APIError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || ("HTTP " + status));
    this.status = status;
    this.body = body || {};
  }
}

// --- Analytics: who searches (this tab's shopper id and device), and what they do --------------
const shopperId = (() => {
  let id = null;
  try { id = sessionStorage.getItem("aisle_shopper"); } catch (e) { /* storage off */ }
  if (!id) {
    id = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + String(Math.random()).slice(2);
    try { sessionStorage.setItem("aisle_shopper", id); } catch (e) { /* storage off */ }
  }
  return id;
})();
function deviceKind() { return window.matchMedia("(max-width: 640px)").matches ? "phone" : "desktop"; }
let lastQueryId = null;
function track(type, fields) {
  const event = Object.assign({ type, session: shopperId, device: deviceKind(), at: Date.now() }, fields);
  api("/api/v1/events", { method: "POST", body: { events: [event] } }).catch(() => { /* analytics never gets in the way */ });
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: Object.assign({ Accept: "application/json", "X-Aisle-Session": shopperId, "X-Aisle-Device": deviceKind() }, headers),
    credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = { error: "the server's answer is not JSON" }; }
  if (!r.ok) throw new APIError(r.status, parsed);
  return parsed;
}

async function render() {
  const s = readState();
  $("search-input").value = s.q;
  $("page-view").hidden = true;
  if (s.view) return renderPage(s.view);
  if (s.product) return renderProduct(s.product);
  $("product-view").hidden = true;
  $("search-view").hidden = false;
  const seq = ++renderSeq;
  const p = stateQuery(Object.assign({}, s, { product: "" }));
  p.delete("page");
  p.set("page", String(s.page));
  p.set("limit", String(PAGE_SIZE));
  const t0 = performance.now();
  let res;
  try {
    res = await api("/api/v1/products/search?" + p.toString());
  } catch (e) {
    if (seq !== renderSeq) return;
    $("result-count").textContent = "";
    showNotice("Search failed: " + e.message);
    return;
  }
  if (seq !== renderSeq) return;   // a newer search started meanwhile
  lastQueryId = res.query_id || null;
  const ms = res.took_us !== undefined ? (res.took_us / 1000).toFixed(1) : (performance.now() - t0).toFixed(0);
  $("result-count").textContent = res.total.toLocaleString("en-US") + (res.total === 1 ? " result" : " results") + " (" + ms + " ms)";
  renderBreadcrumb(s, res);
  renderCategories(s, res.facets.categories);
  renderBrands(s, res.facets.brands);
  renderPrice(s, res.price_stats);
  $("in-stock").checked = s.inStock;
  $("sort").value = s.sort;
  renderProducts(res.results, (s.page - 1) * PAGE_SIZE);
  renderPager(s, res);
  $("notice").hidden = true;
  if (res.total === 0) await renderZero(s, seq);
  // When the results are on the page (Benchmarks/storefront_load.py reads it).
  if (!performance.getEntriesByName("aisle-results").length) performance.mark("aisle-results");
  document.dispatchEvent(new CustomEvent("aisle:rendered"));
}

function showNotice(text, extra) {
  const n = $("notice");
  n.replaceChildren(el("p", { text }), extra || "");
  n.hidden = false;
}

async function renderZero(s, seq) {
  if (!s.q) return showNotice("No products here.");
  let sugg = [];
  try { sugg = (await api("/api/v1/suggest?limit=5&q=" + encodeURIComponent(s.q))).suggestions; } catch (e) { /* none */ }
  if (seq !== renderSeq) return;
  const list = el("ul", {});
  for (const x of sugg) list.append(el("li", {}, el("a", { href: "/?q=" + encodeURIComponent(x.text), text: x.text, onclick: (ev) => { ev.preventDefault(); go({ q: x.text, brands: [], category: "", min: "", max: "" }); } })));
  showNotice("No results for \u201c" + s.q + "\u201d." + (sugg.length ? " Try:" : " Try fewer words or remove filters."), sugg.length ? list : null);
}

function renderBreadcrumb(s, res) {
  const nav = $("breadcrumb");
  const parts = [el("a", { href: "/", text: "All products", onclick: (e) => { e.preventDefault(); go({ category: "" }); } })];
  const path = (res.facets.categories && res.facets.categories.path) || [];
  for (const level of path) {
    const name = level.value.split(" > ").pop();
    parts.push(document.createTextNode(" \u203a "));
    parts.push(el("a", { href: "/?" + stateQuery(Object.assign({}, s, { category: level.value, page: 1 })), text: name,
      onclick: (e) => { e.preventDefault(); go({ category: level.value }); } }));
  }
  nav.replaceChildren(...parts);
}

function renderCategories(s, cats) {
  const ul = $("categories");
  const items = [];
  for (const c of (cats && cats.children) || []) {
    const name = c.value.split(" > ").pop();
    items.push(el("li", {}, el("a", {
      href: "/?" + stateQuery(Object.assign({}, s, { category: c.value, page: 1 })),
      "data-testid": "facet-option", "data-facet": "category", "data-value": c.value,
      onclick: (e) => { e.preventDefault(); go({ category: c.value }); },
    }, name + " ", el("span", { class: "facet-count", "data-testid": "facet-count", text: "(" + c.count + ")" }))));
  }
  ul.replaceChildren(...items);
}

function renderBrands(s, brands) {
  const ul = $("brands");
  const all = brands || [];
  // Selected brands are always shown, even when they have no match under the other filters.
  const shown = new Map(all.map((b) => [b.value, b.count]));
  for (const b of s.brands) if (!shown.has(b)) shown.set(b, 0);
  const entries = [...shown.entries()];
  const visible = brandsExpanded ? entries : entries.filter(([v], i) => i < BRANDS_SHOWN || s.brands.includes(v));
  ul.replaceChildren(...visible.map(([value, count]) => {
    const id = "brand-" + Math.random().toString(36).slice(2);
    const box = el("input", { type: "checkbox", id, checked: s.brands.includes(value),
      onchange: (e) => {
        const cur = readState().brands.filter((b) => b !== value);
        if (e.target.checked) cur.push(value);
        go({ brands: cur });
      } });
    return el("li", { "data-testid": "facet-option", "data-facet": "brand", "data-value": value },
      box, el("label", { for: id }, value + " ", el("span", { class: "facet-count", "data-testid": "facet-count", text: "(" + count + ")" })));
  }));
  const more = $("brands-more");
  more.hidden = entries.length <= BRANDS_SHOWN;
  more.textContent = brandsExpanded ? "Show fewer" : "Show more (" + entries.length + ")";
}

function renderPrice(s, stats) {
  const min = $("price-min"), max = $("price-max");
  if (!stats || stats.min === null || stats.max === null) {
    min.disabled = max.disabled = true;
    $("price-label").textContent = "";
    return;
  }
  lastPriceStats = stats;
  const lo = Math.floor(stats.min), hi = Math.ceil(stats.max);
  for (const input of [min, max]) {
    input.disabled = false;
    input.min = String(lo);
    input.max = String(hi);
  }
  min.value = s.min !== "" ? s.min : String(lo);
  max.value = s.max !== "" ? s.max : String(hi);
  $("price-label").textContent = money(Number(min.value)) + " \u2013 " + money(Number(max.value));
}

function renderProducts(results, offset) {
  const ul = $("products");
  const queryId = lastQueryId;
  ul.replaceChildren(...results.map((r, i) => {
    // The stock badge only when the catalog says (no claim without data).
    const badge = r.in_stock === true ? el("span", { class: "badge in", text: "In stock" })
      : r.in_stock === false ? el("span", { class: "badge out", text: "Out of stock" }) : null;
    return el("li", { class: "card", "data-testid": "product-card", "data-product-id": r.id },
      el("a", { href: "/?product=" + encodeURIComponent(r.id), onclick: (e) => {
        e.preventDefault();
        if (queryId) track("click", { query_id: queryId, product_id: r.id, position: offset + i + 1 });
        go({ product: r.id }, { keepPage: true });
      } },
        highlighted(r.snippet !== undefined ? r.snippet : r.title)),
      el("span", { class: "brand", text: r.brand || "" }),
      el("span", { class: "price-tag", text: money(r.price) }),
      badge,
      addButton(r.id));
  }));
}

function renderPager(s, res) {
  $("prev-page").disabled = s.page <= 1;
  $("next-page").disabled = s.page >= res.pages;
  $("page-label").textContent = res.pages ? "Page " + s.page + " of " + res.pages : "";
}

// --- Product page --------------------------------------------------------------------------------

async function renderProduct(id) {
  track("view", { product_id: id });
  $("search-view").hidden = true;
  $("page-view").hidden = true;
  const view = $("product-view");
  view.hidden = false;
  view.replaceChildren(el("p", { text: "Loading\u2026" }));
  let p;
  try { p = await api("/api/v1/products/" + encodeURIComponent(id)); } catch (e) {
    view.replaceChildren(el("p", { text: "This product could not be shown: " + e.message }));
    return;
  }
  const details = el("dl", {});
  for (const [k, v] of Object.entries(p)) {
    if (["id", "title", "description"].includes(k) || v === null || typeof v === "object") continue;
    details.append(el("dt", { text: k.replace(/^attributes\./, "").replace(/_/g, " ") }), el("dd", { text: String(v) }));
  }
  view.replaceChildren(
    el("a", { href: "/", text: "\u2190 Back to results", onclick: (e) => { e.preventDefault(); history.back(); } }),
    el("h1", { text: p.title || p.id }),
    el("p", { class: "price-tag", text: money(p.price) }),
    p.in_stock === true ? el("p", { class: "badge in", text: "In stock" }) : p.in_stock === false ? el("p", { class: "badge out", text: "Out of stock" }) : "",
    el("p", { text: p.description || "" }),
    addButton(p.id),
    details,
    recommendationsBlock(p.id));
  document.dispatchEvent(new CustomEvent("aisle:rendered"));
}

// "You might also like": bought together first, then similar products (the server composes them).
// Filled in when the answer comes; nothing is shown when there is none or it fails.
function recommendationsBlock(id, heading = "You might also like") {
  const section = el("section", { class: "recommendations", "data-testid": "recommendations", hidden: true });
  api("/api/v1/products/" + encodeURIComponent(id) + "/recommendations?limit=8").then((res) => {
    const recs = (res && res.recommendations) || [];
    if (!recs.length) return;
    const ul = el("ul", { class: "rec-list" });
    for (const r of recs) {
      ul.append(el("li", { class: "card rec", "data-testid": "recommendation", "data-product-id": r.id, "data-source": r.source },
        el("a", { href: "/?product=" + encodeURIComponent(r.id), onclick: (e) => { e.preventDefault(); go({ product: r.id }); } }, r.title || r.id),
        el("span", { class: "brand", text: r.brand || "" }),
        el("span", { class: "price-tag", text: money(r.price) }),
        el("span", { class: "rec-source", text: r.source === "bought_together" ? "Often bought together" : "Similar" })));
    }
    section.replaceChildren(el("h2", { text: heading }), ul);
    section.hidden = false;
    document.dispatchEvent(new CustomEvent("aisle:recommendations"));
  }).catch(() => { /* recommendations never get in the way */ });
  return section;
}

// --- Suggestions as you type -----------------------------------------------------------------------

let suggestTimer = null;
let suggestSeq = 0;
let active = -1;

function closeSuggestions() {
  const list = $("suggestions");
  list.hidden = true;
  list.replaceChildren();
  $("search-input").setAttribute("aria-expanded", "false");
  active = -1;
}

function pick(text) {
  closeSuggestions();
  go({ q: text, brands: [], category: "", min: "", max: "", product: "", view: "" });
}

async function suggest(q) {
  const seq = ++suggestSeq;
  if (q.trim().length < 2) return closeSuggestions();
  let res;
  try { res = await api("/api/v1/suggest?limit=8&q=" + encodeURIComponent(q)); } catch (e) { return closeSuggestions(); }
  if (seq !== suggestSeq) return;
  const list = $("suggestions");
  const items = res.suggestions.map((s, i) => el("li", {
    role: "option", id: "suggestion-" + i, "data-testid": "suggestion", "data-value": s.text, "aria-selected": "false",
    onmousedown: (e) => { e.preventDefault(); pick(s.text); },
  }, s.text.slice(0, s.completion_start), el("span", { class: "completion", text: s.text.slice(s.completion_start) })));
  const products = res.products.slice(0, 4).map((p) => el("li", { role: "option", "data-product-id": p.id,
    onmousedown: (e) => { e.preventDefault(); closeSuggestions(); go({ product: p.id }); } }, String(p.title || p.id)));
  const all = items.length || products.length ? [...items, ...(products.length ? [el("li", { class: "section", role: "presentation", text: "Products" })] : []), ...products] : [];
  list.replaceChildren(...all);
  list.hidden = all.length === 0;
  $("search-input").setAttribute("aria-expanded", all.length ? "true" : "false");
  active = -1;
}

function options() { return [...$("suggestions").querySelectorAll("li[role=option]")]; }

function move(delta) {
  const opts = options();
  if (!opts.length) return;
  active = (active + delta + opts.length) % opts.length;
  opts.forEach((o, i) => o.setAttribute("aria-selected", i === active ? "true" : "false"));
  $("search-input").setAttribute("aria-activedescendant", opts[active].id || "");
}


// --- Cart, account, checkout, orders ------------------------------------------------------------
// The session is an HttpOnly, SameSite=Strict cookie set by the server: scripts never see it, and
// other sites' pages cannot send it (state-changing requests from elsewhere carry no session).

let account = null;   // the session: {kind, customer_id} or null

async function ensureSession() {
  try { account = await api("/api/v1/sessions/current"); } catch (e) {
    if (e.status !== 401) throw e;
    account = await api("/api/v1/sessions", { method: "POST", body: {} });
  }
}

async function refreshAccount() {
  try { account = await api("/api/v1/sessions/current"); } catch (e) { account = null; }
  const customer = account && account.kind === "customer";
  $("login-link").hidden = customer;
  $("logout").hidden = !customer;
  $("orders-link").hidden = !customer;
  await refreshCartCount();
}

async function refreshCartCount() {
  let n = 0;
  try { n = (await api("/api/v1/cart")).item_count || 0; } catch (e) { n = 0; }
  $("cart-count").textContent = String(n);
}

function addButton(id) {
  return el("button", { type: "button", "data-testid": "add-to-cart", "data-product-id": id, onclick: async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      await ensureSession();
      await api("/api/v1/cart/items", { method: "POST", body: { product_id: id, quantity: 1 } });
      track("add_to_cart", { product_id: id, quantity: 1 });
      b.textContent = "Added";
      await refreshCartCount();
    } catch (err) {
      b.textContent = err.status === 404 || err.status === 409 ? "Unavailable" : "Could not add";
    } finally {
      setTimeout(() => { b.disabled = false; b.textContent = "Add to cart"; }, 1200);
    }
  } }, "Add to cart");
}

function pageView(...children) {
  $("search-view").hidden = true;
  $("product-view").hidden = true;
  const v = $("page-view");
  v.hidden = false;
  v.replaceChildren(...children);
  document.dispatchEvent(new CustomEvent("aisle:rendered"));
}

async function renderPage(view) {
  if (view === "cart") return renderCart();
  if (view === "login") return renderLogin();
  if (view === "orders") return renderOrders();
  if (view === "checkout") return renderCheckout();
  pageView(el("p", { text: "Unknown page." }));
}

function warningText(w) {
  switch (w.code) {
    case "price_changed": return "Price changed from $" + w.was + " to $" + w.now;
    case "out_of_stock": return "Out of stock";
    case "not_enough_stock": return "Only " + w.available + " left";
    case "unavailable": return "No longer available";
    default: return w.code;
  }
}

async function renderCart(message) {
  let cart;
  try { cart = await api("/api/v1/cart"); } catch (e) {
    if (e.status === 401) return pageView(el("h1", { text: "Your cart" }), el("p", { text: "Your cart is empty." }));
    return pageView(el("h1", { text: "Your cart" }), el("p", { class: "error", text: "The cart is not available: " + e.message }));
  }
  const lines = el("ul", { class: "cart-lines" });
  for (const it of cart.items) {
    const qty = el("input", { type: "number", min: "0", max: "99", value: String(it.quantity), "aria-label": "Quantity of " + (it.name || it.product_id),
      onchange: async (e) => {
        const q = Math.max(0, Math.min(99, parseInt(e.target.value, 10) || 0));
        try { await api("/api/v1/cart/items/" + encodeURIComponent(it.product_id), { method: "PATCH", body: { quantity: q } }); } catch (err) { /* shown below */ }
        await refreshCartCount();
        renderCart();
      } });
    const remove = el("button", { type: "button", onclick: async () => {
      try { await api("/api/v1/cart/items/" + encodeURIComponent(it.product_id), { method: "DELETE" }); } catch (err) { /* gone already */ }
      await refreshCartCount();
      renderCart();
    } }, "Remove");
    const li = el("li", { class: "cart-line", "data-testid": "cart-line", "data-product-id": it.product_id },
      el("span", { text: it.name || it.product_id }), qty,
      el("span", { text: it.subtotal !== null && it.subtotal !== undefined ? "$" + it.subtotal : "\u2014" }), remove);
    for (const w of it.warnings || []) li.append(el("span", { class: "warning", role: "note", text: warningText(w) }));
    lines.append(li);
  }
  const checkout = el("button", { type: "button", "data-testid": "checkout", disabled: cart.items.length === 0,
    onclick: () => go({ view: account && account.kind === "customer" ? "checkout" : "login" }) }, "Check out");
  pageView(el("h1", { text: "Your cart" }), message ? el("p", { class: "error", role: "alert", text: message }) : "",
    cart.items.length ? lines : el("p", { text: "Your cart is empty." }),
    el("p", { class: "total", text: "Total: $" + cart.total }), checkout,
    // For the cart: what goes with its first line.
    cart.items.length ? recommendationsBlock(cart.items[0].product_id, "Goes well with your cart") : "");
}

function field(label, attrs) {
  const id = "f-" + (attrs.name || Math.random().toString(36).slice(2));
  return el("label", { for: id }, label, el("input", Object.assign({ id }, attrs)));
}

async function renderLogin(message) {
  const login = el("form", { "aria-label": "Log in", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    try {
      await api("/api/v1/sessions", { method: "POST", body: { email: f.email.value, password: f.password.value } });
      await refreshAccount();
      go({ view: "cart" });
    } catch (err) {
      renderLogin(err.status === 429 ? "Too many attempts; try again later." : "Wrong email or password.");
    }
  } },
    field("Email", { type: "email", name: "email", required: true, autocomplete: "username", "data-testid": "login-email" }),
    field("Password", { type: "password", name: "password", required: true, autocomplete: "current-password", "data-testid": "login-password" }),
    el("button", { type: "submit", "data-testid": "login-submit" }, "Log in"));
  const register = el("form", { "aria-label": "Create an account", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    try {
      await api("/api/v1/customers", { method: "POST", body: { name: f.name.value, email: f.email.value, password: f.password.value } });
      await api("/api/v1/sessions", { method: "POST", body: { email: f.email.value, password: f.password.value } });
      await refreshAccount();
      go({ view: "cart" });
    } catch (err) {
      renderLogin(err.status === 409 ? "That email is already registered: log in." : "Could not register: " + err.message);
    }
  } },
    field("Name", { type: "text", name: "name", required: true, autocomplete: "name" }),
    field("Email", { type: "email", name: "email", required: true, autocomplete: "email" }),
    field("Password", { type: "password", name: "password", required: true, minlength: "8", autocomplete: "new-password" }),
    el("button", { type: "submit" }, "Create account"));
  pageView(el("h1", { text: "Log in" }), message ? el("p", { class: "error", role: "alert", text: message }) : "", login,
    el("h2", { text: "New here?" }), register);
}

async function renderCheckout(message) {
  let cart;
  try { cart = await api("/api/v1/cart"); } catch (e) { return go({ view: "cart" }); }
  const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(36).slice(2);
  const form = el("form", { "aria-label": "Shipping address", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const address = { name: f.name.value, line1: f.line1.value, city: f.city.value, postal_code: f.postal_code.value, country: f.country.value };
    f.querySelector("button").disabled = true;
    try {
      const order = await api("/api/v1/orders", { method: "POST", headers: { "Idempotency-Key": key },
        body: { shipping_address: address, payment_method_id: "pm_card_visa", expected_total: cart.total } });
      await refreshCartCount();
      pageView(el("h1", { text: "Thank you!" }),
        el("p", {}, "Your order ", el("strong", { "data-testid": "order-id", text: String(order.id) }), " is placed (" + order.status + ")."),
        el("a", { href: "/?view=orders", onclick: (ev) => { ev.preventDefault(); go({ view: "orders" }); } }, "See your orders"));
    } catch (err) {
      if (err.status === 409) return renderCart(err.body.code === "totals_changed" ? "Prices changed; please review your cart." : "Something in your cart is out of stock; please review it.");
      if (err.status === 401) return go({ view: "login" });
      renderCheckout("The order could not be placed: " + err.message);
    }
  } },
    field("Name", { name: "name", required: true, autocomplete: "name" }),
    field("Address", { name: "line1", required: true, autocomplete: "address-line1" }),
    field("City", { name: "city", required: true, autocomplete: "address-level2" }),
    field("Postal code", { name: "postal_code", required: true, autocomplete: "postal-code" }),
    field("Country (2 letters)", { name: "country", required: true, maxlength: "2", value: "US", autocomplete: "country" }),
    el("button", { type: "submit" }, "Place order ($" + cart.total + ")"));
  pageView(el("h1", { text: "Checkout" }), message ? el("p", { class: "error", role: "alert", text: message }) : "", form);
}

async function renderOrders() {
  let res;
  try { res = await api("/api/v1/orders?limit=20"); } catch (e) {
    if (e.status === 401) return go({ view: "login" });
    return pageView(el("p", { class: "error", text: "Orders are not available: " + e.message }));
  }
  const orders = res.orders || res.items || [];
  const list = el("ul", {});
  for (const o of orders) {
    list.append(el("li", { "data-testid": "order", "data-order-id": String(o.id) },
      "Order " + o.id + " \u2014 " + o.status + " \u2014 $" + o.total));
  }
  pageView(el("h1", { text: "Your orders" }), orders.length ? list : el("p", { text: "No orders yet." }));
}

// --- Wiring --------------------------------------------------------------------------------------

function debounced(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

document.addEventListener("DOMContentLoaded", () => {
  const input = $("search-input");
  input.addEventListener("input", () => {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(() => suggest(input.value), 120);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); move(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
    else if (e.key === "Escape") { closeSuggestions(); }
    else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      const opt = options()[active];
      if (opt.dataset.productId) { closeSuggestions(); go({ product: opt.dataset.productId }); } else pick(opt.dataset.value);
    }
  });
  input.addEventListener("blur", () => setTimeout(closeSuggestions, 100));
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    closeSuggestions();
    go({ q: input.value.trim(), brands: [], category: "", min: "", max: "", product: "", view: "" });
  });
  const priceChanged = debounced(() => {
    let lo = Number($("price-min").value), hi = Number($("price-max").value);
    if (lo > hi) [lo, hi] = [hi, lo];
    const st = lastPriceStats;
    go({ min: st && lo <= Math.floor(st.min) ? "" : String(lo), max: st && hi >= Math.ceil(st.max) ? "" : String(hi) });
  }, 250);
  for (const id of ["price-min", "price-max"]) {
    $(id).addEventListener("input", () => { $("price-label").textContent = money(Number($("price-min").value)) + " \u2013 " + money(Number($("price-max").value)); });
    $(id).addEventListener("change", priceChanged);
  }
  $("in-stock").addEventListener("change", (e) => go({ inStock: e.target.checked }));
  $("sort").addEventListener("change", (e) => go({ sort: e.target.value }));
  $("next-page").addEventListener("click", () => go({ page: readState().page + 1 }));
  $("prev-page").addEventListener("click", () => go({ page: Math.max(1, readState().page - 1) }));
  $("brands-more").addEventListener("click", () => { brandsExpanded = !brandsExpanded; render(); });
  document.querySelector("[data-nav=home]").addEventListener("click", (e) => { e.preventDefault(); go({ q: "", brands: [], category: "", min: "", max: "", product: "", view: "" }); });
  for (const a of document.querySelectorAll("[data-view]")) {
    a.addEventListener("click", (e) => { e.preventDefault(); go({ view: a.dataset.view, product: "" }); });
  }
  $("logout").addEventListener("click", async () => {
    try { await api("/api/v1/sessions/current", { method: "DELETE" }); } catch (e) { /* already out */ }
    await refreshAccount();
    go({ view: "" });
  });
  window.addEventListener("popstate", render);
  refreshAccount();
  render();
});
