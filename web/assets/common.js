// What the node's pages share: building elements (never from HTML strings, so nothing a
// response holds is ever run as markup), the node's JSON API with its refusals, status
// messages in a live region, formatting, and a small SVG bar chart.

import { Client, Refused } from "/sdk/src/client.js";

export { Refused };

/** The node that served the page, through the SDK's client; reads are never cached. */
const node = new Client(location.origin, {
  fetch: (url, options) => fetch(url, { ...options, cache: "no-store" }),
});

/**
 * An element: `attrs` are attributes (`class`, `data-*`, `aria-*`, …; `hidden` and other
 * booleans as true/false), `children` strings or nodes (null and undefined skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "rect", "line", "text", "title", "desc", "path"].includes(tag);
  const node = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * GETs `path` from the node and answers its JSON; throws the SDK's `Refused` (the node's
 * code and message, or code `network` when the node cannot be reached).
 * `token`: sent as `Authorization: Bearer TOKEN`.
 */
export function api(path, { token } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return node.request("GET", path, { headers });
}

/**
 * Shows `message` in the live region `region` as an error (`kind` "error"), a success
 * ("ok") or a plain note ("note"); an empty message clears it.
 */
export function say(region, message, kind = "note") {
  region.replaceChildren();
  if (message) region.append(h("p", { class: kind }, message));
}

/** The text a refusal shows: its message, and its code for support. */
export function refusalText(error) {
  if (error instanceof Refused) return `${error.reason} (${error.code})`;
  return String(error && error.message ? error.message : error);
}

/** Fen as yuan, with the currency: 7760 → "¥77.60". */
export function formatAmount(fen) {
  const yuan = Math.trunc(fen / 100).toLocaleString("en");
  const cents = String(fen % 100).padStart(2, "0");
  return `¥${yuan}.${cents}`;
}

/** Milliseconds since 1970 as a UTC time: "2026-05-03 12:34:56 UTC". */
export function formatTime(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** `n` and the noun, plural unless one: "1 claim", "3 claims". */
export function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** A byte count: "412 B", "3.1 kB". */
export function formatBytes(n) {
  return n < 1000 ? `${n} B` : `${(n / 1000).toFixed(1)} kB`;
}

/**
 * A hex id (`0x…` field element or bare digest) in a `<code>`: shortened to its ends
 * unless `full`, the whole value in `title` and `data-value`.
 */
export function hexId(value, { full = false } = {}) {
  const text = String(value);
  const prefix = text.startsWith("0x") ? 2 : 0;
  const short = !full && text.length > prefix + 16;
  const shown = short ? `${text.slice(0, prefix + 8)}…${text.slice(-6)}` : text;
  return h(
    "code",
    { class: full ? "hex full" : "hex", title: short ? text : null, "data-value": text },
    shown,
  );
}

/** The consortium's members' names by id, from the genesis. */
export async function memberNames() {
  const { genesis } = await api("/v1/genesis");
  return new Map(genesis.members.map((m) => [m.id, m.name]));
}

/** A member as "10 · Insurer A" where its name is known. */
export function memberLabel(id, names) {
  const name = names && names.get(id);
  return name ? `${id} · ${name}` : String(id);
}

/**
 * Replaces `tbody`'s rows (adds to them with `append`) with one per item of `rows`: an
 * array of cells, or `{ cells, attrs }` with the row's attributes. A cell is a string, a
 * node, or `{ value, number, header }` (`number`: right-aligned, `header`: the row's
 * `<th scope="row">`). `empty`: the text of the one row shown when there is none.
 */
export function fillTable(tbody, rows, empty, { append = false } = {}) {
  const columns = tbody.closest("table").querySelectorAll("thead th").length || 1;
  if (!append) tbody.replaceChildren();
  if (rows.length === 0 && !append) {
    tbody.append(h("tr", {}, h("td", { colspan: columns, class: "muted" }, empty)));
    return;
  }
  for (const { cells, attrs } of rows.map((r) => (Array.isArray(r) ? { cells: r } : r))) {
    tbody.append(
      h(
        "tr",
        attrs || {},
        cells.map((cell) => {
          const spec = cell !== null && typeof cell === "object" && !(cell instanceof Node)
            ? cell
            : { value: cell };
          return h(
            spec.header ? "th" : "td",
            { scope: spec.header ? "row" : null, class: spec.number ? "number" : null },
            spec.value,
          );
        }),
      ),
    );
  }
}

/**
 * A bar chart as an accessible SVG figure: `labels` along the x axis, one bar a label for
 * each of `series` (`{ name, values }`, at most two, side by side). `title` names it and
 * `summary` says in words what it shows, for those who cannot see it; every bar also has a
 * tooltip with its value. `format` writes values (axis and tooltips).
 */
export function barChart({ title, summary, labels, series, format = String }) {
  const width = 640;
  const height = 220;
  const margin = { top: 12, right: 12, bottom: 36, left: 64 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  // Gridlines at 0, half and the top: an even top above 1, so that half is whole too.
  const highest = Math.max(1, ...series.flatMap((s) => s.values));
  const max = highest > 1 ? Math.ceil(highest / 2) * 2 : 1;
  const ticks = max > 1 ? [0, max / 2, max] : [0, max];
  const step = plotW / Math.max(1, labels.length);
  const barW = Math.min(32, Math.max(1, (step * 0.8) / series.length));
  const groupW = barW * series.length;
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  const y = (v) => margin.top + plotH - (v / max) * plotH;

  const svg = h("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(h("title", { id: `${id}-title` }, title), h("desc", { id: `${id}-desc` }, summary));
  for (const v of ticks) {
    svg.append(
      h("line", { class: v === 0 ? "axis" : "grid", x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v) }),
      h("text", { x: margin.left - 6, y: y(v) + 4, "text-anchor": "end" }, format(Math.round(v))),
    );
  }
  // At most about 12 labels along the axis, so that they never overlap.
  const every = Math.max(1, Math.ceil(labels.length / 12));
  labels.forEach((label, i) => {
    const x0 = margin.left + i * step + (step - groupW) / 2;
    series.forEach((s, k) => {
      const v = s.values[i];
      const top = y(v);
      svg.append(
        h(
          "rect",
          {
            class: k === 0 ? "bar" : "bar second",
            x: x0 + k * barW,
            y: top,
            width: barW,
            height: Math.max(0, margin.top + plotH - top),
          },
          h("title", {}, `${label}: ${s.name} ${format(v)}`),
        ),
      );
    });
    if (i % every === 0) {
      svg.append(
        h("text", { x: margin.left + i * step + step / 2, y: height - margin.bottom + 16, "text-anchor": "middle" }, label),
      );
    }
  });
  const legend = h(
    "ul",
    { class: "legend", "aria-hidden": "true" },
    series.map((s, k) => h("li", {}, h("span", { class: k === 0 ? "swatch" : "swatch second" }), s.name)),
  );
  return h("figure", { class: "chart" }, svg, series.length > 1 ? legend : null);
}

/** `parent`'s children replaced by `children`, those null or undefined left out. */
export function show(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}
