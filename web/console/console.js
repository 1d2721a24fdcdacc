// The insurer's console: log in with an operator token (kept in sessionStorage, this tab
// only), then the node's insurer's report (settled claims, refusals, totals per day) and
// enrolments from /v1/console/*. Every value is put in the page as text, never as markup.

import {
  Refused,
  api,
  barChart,
  fillTable,
  formatAmount,
  formatTime,
  h,
  hexId,
  refusalText,
  say,
} from "/assets/common.js";

const TOKEN_KEY = "zkclaim.console.token";
/** Days the chart shows, up to the last day with an outcome. */
const CHART_DAYS = 30;

const $ = (id) => document.getElementById(id);
const status = $("status");

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function showLogin() {
  $("dashboard").hidden = true;
  $("login").hidden = false;
}

function logOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of ["summary", "days-chart", "days", "settled", "refused", "enrolments"]) {
    $(id).replaceChildren();
  }
  $("token").value = "";
  showLogin();
  say(status, "Logged out. The token was removed from this browser.", "ok");
  $("token").focus();
}

/** Loads everything the dashboard shows with `token`; throws the node's refusal. */
async function load(token) {
  const [insurer, report, { enrolments }] = await Promise.all([
    api("/v1/console/insurer", { token }),
    api("/v1/console/claims?limit=100", { token }),
    api("/v1/console/enrolments", { token }),
  ]);
  $("insurer-title").textContent = insurer.name
    ? `Insurer ${insurer.insurer} · ${insurer.name}`
    : `Insurer ${insurer.insurer}`;
  renderSummary(report, enrolments);
  renderDays(report.days);
  renderClaims(report);
  renderEnrolments(enrolments);
  $("login").hidden = true;
  $("dashboard").hidden = false;
}

function renderSummary(report, enrolments) {
  const total = (key) => report.days.reduce((sum, d) => sum + d[key], 0);
  const active = enrolments.filter((e) => e.revoked_ms === undefined).length;
  const card = (value, label) =>
    h("div", { class: "card" }, h("span", { class: "value" }, value), h("span", { class: "label" }, label));
  $("summary").replaceChildren(
    card(total("settled"), "claims settled"),
    card(formatAmount(total("amount")), "paid out"),
    card(total("refused"), "claims refused"),
    card(active, "active enrolments"),
  );
}

/** `YYYY-MM-DD` plus `n` days. */
function addDays(day, n) {
  const t = new Date(`${day}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

function renderDays(days) {
  const chart = $("days-chart");
  chart.replaceChildren();
  if (days.length > 0) {
    // Every day of the last CHART_DAYS up to the last with an outcome, quiet ones as 0.
    const byDay = new Map(days.map((d) => [d.day, d]));
    const last = days[days.length - 1].day;
    const first = days[0].day > addDays(last, 1 - CHART_DAYS) ? days[0].day : addDays(last, 1 - CHART_DAYS);
    const labels = [];
    for (let day = first; day <= last; day = addDays(day, 1)) labels.push(day);
    const of = (key) => labels.map((day) => (byDay.has(day) ? byDay.get(day)[key] : 0));
    const settled = of("settled");
    const refused = of("refused");
    chart.append(
      barChart({
        title: "Claims settled and refused per day",
        summary: `From ${first} to ${last}: ${settled.reduce((a, b) => a + b, 0)} settled, ` +
          `${refused.reduce((a, b) => a + b, 0)} refused. The table below lists each day.`,
        labels: labels.map((day) => day.slice(5)),
        series: [
          { name: "settled", values: settled },
          { name: "refused", values: refused },
        ],
      }),
    );
  }
  fillTable(
    $("days"),
    [...days].reverse().map((d) => [
      { value: d.day, header: true },
      { value: d.settled, number: true },
      { value: formatAmount(d.amount), number: true },
      { value: d.refused, number: true },
    ]),
    "No claims yet.",
  );
}

function renderClaims(report) {
  fillTable(
    $("settled"),
    report.settled.map((c) => ({
      attrs: { "data-nullifier": c.nullifier, "data-amount": c.claim_amount, "data-height": c.height },
      cells: [
        { value: hexId(c.nullifier), header: true },
        { value: formatAmount(c.claim_amount), number: true },
        formatTime(c.time_ms),
        { value: h("a", { href: `/explorer/#block-${c.height}` }, String(c.height)), number: true },
        hexId(c.tx_id),
      ],
    })),
    "No settled claims yet.",
  );
  fillTable(
    $("refused"),
    report.refused.map((c) => ({
      attrs: { "data-nullifier": c.nullifier, "data-code": c.code },
      cells: [
        { value: hexId(c.nullifier), header: true },
        { value: formatAmount(c.claim_amount), number: true },
        formatTime(c.time_ms),
        h("code", {}, c.code),
        c.reason,
      ],
    })),
    "No refusals.",
  );
}

function renderEnrolments(enrolments) {
  const percent = (bp) => `${(bp / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
  fillTable(
    $("enrolments"),
    [...enrolments].reverse().map((e) => ({
      attrs: { "data-claimant-tag": e.claimant_tag },
      cells: [
        { value: hexId(e.claimant_tag), header: true },
        hexId(e.policy_hash),
        `${e.terms.period_start} – ${e.terms.period_end}`,
        `${percent(e.terms.rate_bp)} above ${formatAmount(e.terms.deductible)}, up to ${formatAmount(e.terms.cap)}`,
        e.claims_until,
        formatTime(e.enrolled_ms),
        e.revoked_ms === undefined
          ? h("span", { class: "badge ok" }, "active")
          : h("span", { class: "badge bad", title: formatTime(e.revoked_ms) }, "revoked"),
      ],
    })),
    "No enrolments yet.",
  );
}

/** Shows why the console could not load; back to the login when the token is refused. */
function refused(error) {
  if (error instanceof Refused && error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
    $("token").setAttribute("aria-invalid", "true");
    say(status, `This token is not accepted: ${refusalText(error)}`, "error");
    $("token").focus();
  } else {
    say(status, refusalText(error), "error");
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  if (!token) {
    input.setAttribute("aria-invalid", "true");
    say(status, "Enter the operator token.", "error");
    input.focus();
    return;
  }
  say(status, "Logging in…");
  try {
    await load(token);
  } catch (error) {
    refused(error);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  input.value = "";
  input.removeAttribute("aria-invalid");
  say(status, "Logged in.", "ok");
  $("insurer-title").setAttribute("tabindex", "-1");
  $("insurer-title").focus();
});

$("logout").addEventListener("click", logOut);

$("refresh").addEventListener("click", async () => {
  const token = storedToken();
  if (!token) return showLogin();
  say(status, "Refreshing…");
  try {
    await load(token);
    say(status, `Up to date at ${formatTime(Date.now())}.`, "ok");
  } catch (error) {
    refused(error);
  }
});

const token = storedToken();
if (token) {
  say(status, "Loading…");
  load(token).then(() => say(status, ""), refused);
} else {
  showLogin();
}
