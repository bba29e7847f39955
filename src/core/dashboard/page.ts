// The web dashboard's pages, as HTML text: readable without JavaScript (there is none), with
// headings, real tables (caption, scoped headers) and colours that keep their contrast. Every
// value that came from GitHub or a person is escaped here.
import { humanDuration, WINDOWS, type EnvMetrics, type WindowDays } from "./delivery-metrics.js";
import type { Dashboard, TimelineEntry } from "./matrix.js";
import type { Cell } from "./model.js";
import { barChart, escapeXml as esc } from "./svg.js";

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff;margin:0;line-height:1.45}
header{background:#13294b;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center;justify-content:space-between}
header a,header button{color:#fff}
header form{margin:0}
header button{background:none;border:1px solid #fff;border-radius:4px;padding:.2rem .6rem;font:inherit;cursor:pointer}
main{padding:1rem 1.2rem;max-width:76rem}
a{color:#0b4f9c}
table{border-collapse:collapse;margin:.5rem 0 1.2rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #9a9a9a;padding:.35rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eef1f5}
.state{font-weight:600;border-radius:3px;padding:0 .3rem}
.verified{background:#d7f0dc;color:#0d4a1c}.failed{background:#fbdcd9;color:#7a1109}
.verifying{background:#fff2c2;color:#5c4300}.held{background:#f3dcf7;color:#5a1466}
.frozen{background:#d9e8fb;color:#0d3a73}.none{background:#eeeeee;color:#3a3a3a}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #c8c8c8;border-radius:4px;padding:.5rem}
figcaption{font-weight:600;margin-bottom:.25rem}
.figure{font-size:1.4rem;font-weight:700}
.muted{color:#4a4a4a}
nav.windows a[aria-current]{font-weight:700;text-decoration:none;color:#1b1b1b}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#0b4f9c;padding:.3rem}
`;

export interface PageUser {
  login: string;
}

export function layout(input: { title: string; user?: PageUser; body: string }): string {
  const account = input.user
    ? `<span>Signed in as <strong>${esc(input.user.login)}</strong></span><form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form>`
    : "";
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(input.title)} · Conveyor</title>`,
    `<style>${STYLE}</style></head><body>`,
    '<a class="skip" href="#main">Skip to content</a>',
    `<header><a href="/dashboard"><strong>Conveyor</strong></a>${account}</header>`,
    `<main id="main"><h1>${esc(input.title)}</h1>${input.body}</main>`,
    "</body></html>",
  ].join("\n");
}

/** No OAuth client configured: the page is off and says how to turn it on. */
export function offPage(): string {
  return layout({
    title: "Dashboard is off",
    body: [
      "<p>The web dashboard needs people to sign in with GitHub, and no OAuth client is configured.</p>",
      "<p>To turn it on, set <code>GITHUB_CLIENT_ID</code> and <code>GITHUB_CLIENT_SECRET</code> to the GitHub App's own OAuth client ",
      "(the App's settings page, <em>Client secrets</em>), add <code>&lt;this server&gt;/dashboard/callback</code> as the App's callback URL, and restart Conveyor. ",
      "<code>CONVEYOR_PUBLIC_URL</code> sets the address people reach this server at, when it is behind a proxy.</p>",
      "<p>The dashboard issue (label <code>conveyor:dashboard</code>) in each manifests repository shows the same matrix on GitHub.</p>",
    ].join(""),
  });
}

export function signInPage(): string {
  return layout({
    title: "Conveyor dashboard",
    body: '<p>See every environment of the manifests repositories you can read.</p><p><a href="/dashboard/login">Sign in with GitHub</a></p>',
  });
}

export function messagePage(title: string, text: string, user?: PageUser): string {
  return layout({ title, user, body: `<p>${esc(text)}</p><p><a href="/dashboard">Back to the dashboard</a></p>` });
}

const stateWords: Record<Cell["state"], string> = {
  verified: "verified",
  verifying: "verifying",
  failed: "failed",
  held: "held",
  frozen: "frozen",
  none: "not deployed",
};

const repoPath = (repo: string) => `/dashboard/${repo.split("/").map(encodeURIComponent).join("/")}`;
const when = (iso: string | null) =>
  iso ? `<time datetime="${esc(iso)}">${esc(iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC"))}</time>` : "";

export function matrixTable(d: Dashboard): string {
  const head = d.environments.map((e) => `<th scope="col">${esc(e)}</th>`).join("");
  const rows = d.rows
    .map((row, i) => {
      const service = d.services[i] as string;
      const cells = row
        .map((c) => {
          const links = [
            c.pr !== null ? `<a href="${esc(d.htmlUrl)}/pull/${c.pr}">PR #${c.pr}</a>` : "",
            c.deployment !== null
              ? `<a href="${esc(d.htmlUrl)}/deployments/${encodeURIComponent(c.env)}">deployment ${c.deployment}</a>`
              : "",
          ].filter(Boolean);
          const under =
            c.state !== c.verdict && c.verdict !== "none"
              ? ` <span class="muted">(last change ${c.verdict})</span>`
              : "";
          return [
            `<td data-state="${c.state}"><span class="state ${c.state}">${stateWords[c.state]}</span>${under}`,
            c.image ? `<br><code>${esc(c.image)}</code>` : "",
            c.since ? `<br><span class="muted">since ${when(c.since)}</span>` : "",
            links.length ? `<br>${links.join(" · ")}` : "",
            "</td>",
          ].join("");
        })
        .join("");
      return `<tr><th scope="row"><a href="${repoPath(d.repo)}/services/${encodeURIComponent(service)}">${esc(service)}</a></th>${cells}</tr>`;
    })
    .join("");
  return `<table class="matrix"><caption>Services by environment in ${esc(d.repo)}</caption><thead><tr><th scope="col">Service</th>${head}</tr></thead><tbody>${rows || `<tr><td colspan="${d.environments.length + 1}">No services found yet.</td></tr>`}</tbody></table>`;
}

function lists(d: Dashboard): string {
  const pr = (n: number | null) => (n !== null ? ` (<a href="${esc(d.htmlUrl)}/pull/${n}">#${n}</a>)` : "");
  const issue = (n: number) => `<a href="${esc(d.htmlUrl)}/issues/${n}">#${n}</a>`;
  const list = (items: string[], empty: string) =>
    items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>` : `<p class="muted">${empty}</p>`;
  return [
    "<h2>Promotions waiting</h2>",
    list(
      [
        ...d.waiting.map(
          (w) =>
            `${esc(w.service)} <code>${esc(w.image)}</code> to <strong>${esc(w.env)}</strong>: waiting for a reviewer${pr(w.pr)}`,
        ),
        ...d.candidates.map(
          (c) =>
            `${esc(c.service)} <code>${esc(c.image)}</code> is verified in ${esc(c.from)}, not yet proposed for <strong>${esc(c.env)}</strong>${pr(c.pr)}`,
        ),
      ],
      "Nothing is waiting.",
    ),
    "<h2>Holds and freezes</h2>",
    list(
      [
        ...d.freezes.map(
          (f) =>
            `<strong>${esc(f.env)}</strong> is frozen${f.by ? ` by @${esc(f.by)}` : ""}${f.reason ? `: ${esc(f.reason)}` : ""} (${issue(f.issue)}, since ${when(f.since)})`,
        ),
        ...d.holds.map(
          (h) =>
            `${esc(h.service)} is held in <strong>${esc(h.env)}</strong>${h.image ? ` (image <code>${esc(h.image)}</code>)` : ""}${h.reason ? `: ${esc(h.reason)}` : ""} (${issue(h.issue)}, since ${when(h.since)})`,
        ),
      ],
      "No holds or freezes.",
    ),
    "<h2>Recent failures</h2>",
    list(
      d.failures.map(
        (f) =>
          `${when(f.at)}: ${esc(f.service)} <code>${esc(f.image ?? "overlay change")}</code> in <strong>${esc(f.env)}</strong>: ${esc(f.reason)}${pr(f.pr)}`,
      ),
      "No failures.",
    ),
  ].join("");
}

export function overviewPage(user: PageUser, dashboards: Dashboard[]): string {
  if (!dashboards.length)
    return layout({
      title: "Conveyor dashboard",
      user,
      body: "<p>You can read no repository where Conveyor is installed.</p>",
    });
  return layout({
    title: "Conveyor dashboard",
    user,
    body: dashboards
      .map(
        (d) =>
          `<section><h2><a href="${repoPath(d.repo)}">${esc(d.repo)}</a></h2>${matrixTable(d)}<p><a href="${repoPath(d.repo)}">Delivery metrics, holds and failures of ${esc(d.repo)}</a></p></section>`,
      )
      .join(""),
  });
}

const pct = (v: number) => `${Math.round(v * 100)} %`;

/** The four metrics of one environment as charts, each with its headline figure. */
export function metricCharts(m: EnvMetrics, idPrefix: string): string {
  const label = (start: string) => start.slice(5);
  const unit = m.windowDays > 30 ? "week" : "day";
  const bars = m.buckets;
  const figure = (title: string, headline: string, chart: string) =>
    `<figure><figcaption>${esc(title)}</figcaption><div class="figure">${esc(headline)}</div>${chart}</figure>`;
  const id = `${idPrefix}-${m.env}-${m.windowDays}`;
  return [
    figure(
      "Deployment frequency",
      `${m.deployments} in ${m.windowDays} days (${m.perDay.toFixed(2)} a day)`,
      barChart({
        id: `${id}-frequency`,
        title: `Deployments to ${m.env} per ${unit}`,
        summary: `${m.deployments} deployments to ${m.env} in the last ${m.windowDays} days, ${m.failures} of them failed.`,
        bars: bars.map((b) => ({ label: label(b.start), value: b.deployments, part: b.failures })),
        format: (v) => String(Math.round(v)),
        valueLabel: "deployed",
        partLabel: "failed",
      }),
    ),
    figure(
      "Lead time for changes",
      m.leadTime === null
        ? "no change named its source commit"
        : `median ${humanDuration(m.leadTime)} (${m.leadTimeSamples} changes)`,
      barChart({
        id: `${id}-lead`,
        title: `Lead time to ${m.env} per ${unit}`,
        summary:
          m.leadTime === null
            ? `No change verified in ${m.env} in the last ${m.windowDays} days named its source commit.`
            : `Median lead time from source commit to verified in ${m.env}: ${humanDuration(m.leadTime)}.`,
        bars: bars.map((b) => ({ label: label(b.start), value: b.leadTime })),
        format: humanDuration,
      }),
    ),
    figure(
      "Change failure rate",
      m.changeFailureRate === null
        ? "no deployments"
        : `${pct(m.changeFailureRate)} (${m.failures} of ${m.deployments})`,
      barChart({
        id: `${id}-cfr`,
        title: `Change failure rate in ${m.env} per ${unit}`,
        summary:
          m.changeFailureRate === null
            ? `No deployments to ${m.env} in the last ${m.windowDays} days.`
            : `${m.failures} failed verifications out of ${m.deployments} deployments: ${pct(m.changeFailureRate)}.`,
        bars: bars.map((b) => ({ label: label(b.start), value: b.deployments ? b.failures / b.deployments : null })),
        format: pct,
      }),
    ),
    figure(
      "Time to restore",
      m.timeToRestore === null
        ? m.unrestored
          ? `${m.unrestored} failure(s) not restored yet`
          : "no failures to restore"
        : `median ${humanDuration(m.timeToRestore)} (${m.restored} restored${m.unrestored ? `, ${m.unrestored} open` : ""})`,
      barChart({
        id: `${id}-ttr`,
        title: `Time to restore in ${m.env} per ${unit}`,
        summary:
          m.timeToRestore === null
            ? `No failure in ${m.env} was restored by a verified revert in the last ${m.windowDays} days.`
            : `Median time from a failed verification to the verified revert in ${m.env}: ${humanDuration(m.timeToRestore)}.`,
        bars: bars.map((b) => ({ label: label(b.start), value: b.timeToRestore })),
        format: humanDuration,
      }),
    ),
  ].join("");
}

export function repoPage(user: PageUser, d: Dashboard, metrics: EnvMetrics[], windowDays: WindowDays): string {
  const windows = WINDOWS.map((w) =>
    w === windowDays
      ? `<a href="?window=${w}" aria-current="page">${w} days</a>`
      : `<a href="?window=${w}">${w} days</a>`,
  ).join(" · ");
  const charts = metrics
    .map((m) => `<section><h3>${esc(m.env)}</h3><div class="charts">${metricCharts(m, "m")}</div></section>`)
    .join("");
  return layout({
    title: d.repo,
    user,
    body: [
      matrixTable(d),
      lists(d),
      `<h2>Delivery metrics</h2><nav class="windows" aria-label="Window">Window: ${windows}</nav>`,
      charts,
    ].join(""),
  });
}

const kindWords: Record<TimelineEntry["kind"], string> = {
  deployed: "deployed",
  verified: "verified",
  failed: "failed",
  reverted: "reverted",
  "revert-verified": "revert verified",
  superseded: "superseded",
};

export function servicePage(
  user: PageUser,
  repo: string,
  htmlUrl: string,
  service: string,
  timeline: TimelineEntry[],
): string {
  const rows = timeline
    .map(
      (e) =>
        `<tr><td>${when(e.at)}</td><td>${esc(e.env)}</td><td><span class="state ${e.kind === "failed" ? "failed" : e.kind.includes("verified") ? "verified" : "verifying"}">${kindWords[e.kind]}</span></td><td>${e.image ? `<code>${esc(e.image)}</code>` : ""}</td><td>${esc(e.text)}</td><td>${e.pr !== null ? `<a href="${esc(htmlUrl)}/pull/${e.pr}">#${e.pr}</a>` : ""}</td></tr>`,
    )
    .join("");
  return layout({
    title: `${service} in ${repo}`,
    user,
    body: [
      `<p><a href="${repoPath(repo)}">Back to ${esc(repo)}</a></p>`,
      "<h2>History</h2>",
      `<table class="timeline"><caption>Deployments, verifications and reverts of ${esc(service)}, newest first</caption>`,
      '<thead><tr><th scope="col">When</th><th scope="col">Environment</th><th scope="col">What</th><th scope="col">Image</th><th scope="col">Detail</th><th scope="col">PR</th></tr></thead>',
      `<tbody>${rows || '<tr><td colspan="6">No deployments yet.</td></tr>'}</tbody></table>`,
    ].join(""),
  });
}
