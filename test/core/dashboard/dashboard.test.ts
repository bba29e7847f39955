import { describe, expect, it } from "vitest";
import { deliveryMetrics, humanDuration } from "../../../src/core/dashboard/delivery-metrics.js";
import { buildDashboard, serviceTimeline } from "../../../src/core/dashboard/matrix.js";
import type { DashboardInput, DeploymentHistory } from "../../../src/core/dashboard/model.js";
import { matrixTable, metricCharts, repoPage, servicePage } from "../../../src/core/dashboard/page.js";
import { barChart } from "../../../src/core/dashboard/svg.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const at = (hoursAgo: number) => new Date(NOW - hoursAgo * 3_600_000).toISOString();
let nextId = 1;
function dep(
  service: string,
  env: string,
  image: string,
  createdHoursAgo: number,
  statuses: Array<[string, number]>,
  extra: Partial<DeploymentHistory> = {},
): DeploymentHistory {
  return {
    id: nextId++,
    service,
    env,
    image,
    from: null,
    pr: 10 + nextId,
    revert: false,
    sha: "a".repeat(40),
    createdAt: at(createdHoursAgo),
    statuses: statuses.map(([state, hoursAgo]) => ({ state, at: at(hoursAgo), description: `${state} note` })),
    ...extra,
  };
}

const envs = [
  { name: "staging", approvers: [], autoMerge: true },
  { name: "production", approvers: ["reviewer"], autoMerge: false },
];
const base = (over: Partial<DashboardInput>): DashboardInput => ({
  repo: "acme/manifests",
  htmlUrl: "https://github.com/acme/manifests",
  environments: envs,
  services: ["order-service", "user-service"],
  deployments: [],
  holds: [],
  freezes: [],
  waiting: [],
  verifying: [],
  ...over,
});

describe("buildDashboard: the state of every service x environment", () => {
  const cases: Array<{ name: string; input: Partial<DashboardInput>; expected: Record<string, string> }> = [
    { name: "nothing deployed", input: {}, expected: { "order-service/staging": "none" } },
    {
      name: "a verified deployment",
      input: {
        deployments: [
          dep("order-service", "staging", "img:1", 5, [
            ["in_progress", 5],
            ["success", 4],
          ]),
        ],
      },
      expected: { "order-service/staging": "verified", "order-service/production": "none" },
    },
    {
      name: "in progress is verifying",
      input: { deployments: [dep("order-service", "staging", "img:1", 1, [["in_progress", 1]])] },
      expected: { "order-service/staging": "verifying" },
    },
    {
      name: "a Deployment without any status yet is verifying",
      input: { deployments: [dep("order-service", "staging", "img:1", 1, [])] },
      expected: { "order-service/staging": "verifying" },
    },
    {
      name: "failure and error are failed",
      input: {
        deployments: [
          dep("order-service", "staging", "img:2", 1, [["failure", 1]]),
          dep("user-service", "staging", "img:3", 1, [["error", 1]]),
        ],
      },
      expected: { "order-service/staging": "failed", "user-service/staging": "failed" },
    },
    {
      name: "a hold wins over the verdict, a freeze over both",
      input: {
        deployments: [dep("order-service", "production", "img:2", 1, [["failure", 1]])],
        holds: [{ service: "order-service", env: "production", issue: 4, since: at(1) }],
        freezes: [{ env: "staging", issue: 5, since: at(2), by: "reviewer" }],
      },
      expected: {
        "order-service/production": "held",
        "order-service/staging": "frozen",
        "user-service/staging": "frozen",
      },
    },
    {
      name: "a service only Deployments know of still gets a row",
      input: { deployments: [dep("ghost-service", "staging", "img:9", 1, [["success", 1]])] },
      expected: { "ghost-service/staging": "verified" },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = buildDashboard(base(c.input));
      const states = Object.fromEntries(d.rows.flat().map((cell) => [`${cell.service}/${cell.env}`, cell.state]));
      for (const [key, state] of Object.entries(c.expected)) expect(states[key], key).toBe(state);
    });
  }

  it("keeps image, since, PR and deployment of the newest change; the verdict under a hold", () => {
    const newest = dep("order-service", "staging", "img:2", 1, [["failure", 0.5]]);
    const d = buildDashboard(
      base({
        deployments: [newest, dep("order-service", "staging", "img:1", 9, [["success", 8]])],
        holds: [{ service: "order-service", env: "staging", issue: 3, since: at(0.4), image: "img:2" }],
      }),
    );
    const cell = d.rows[0]![0]!;
    expect(cell).toMatchObject({ state: "held", verdict: "failed", image: "img:2", since: at(0.4), pr: newest.pr });
  });

  it("offers verified images not yet proposed for the next environment, never a revert or a held image", () => {
    const d = buildDashboard(
      base({
        deployments: [
          dep("order-service", "staging", "img:2", 2, [["success", 1]]),
          dep("user-service", "staging", "u:1", 3, [["success", 2]], { revert: true }),
        ],
      }),
    );
    expect(d.candidates).toEqual([
      expect.objectContaining({ service: "order-service", env: "production", from: "staging", image: "img:2" }),
    ]);
    const proposed = buildDashboard(
      base({
        deployments: [dep("order-service", "staging", "img:2", 2, [["success", 1]])],
        waiting: [{ service: "order-service", env: "production", image: "img:2", pr: 7 }],
      }),
    );
    expect(proposed.candidates).toEqual([]);
    const heldThere = buildDashboard(
      base({
        deployments: [dep("order-service", "staging", "img:2", 2, [["success", 1]])],
        holds: [{ service: "order-service", env: "production", image: "img:2", issue: 9, since: at(1) }],
      }),
    );
    expect(heldThere.candidates).toEqual([]);
  });

  it("lists recent failures newest first", () => {
    const d = buildDashboard(
      base({
        deployments: [
          dep("order-service", "staging", "img:2", 5, [["failure", 4]]),
          dep("user-service", "staging", "u:2", 3, [["failure", 1]]),
        ],
      }),
    );
    expect(d.failures.map((f) => f.service)).toEqual(["user-service", "order-service"]);
    expect(d.failures[0]!.reason).toBe("failure note");
  });
});

describe("deliveryMetrics", () => {
  const history = [
    // Newest first, as GitHub lists them.
    dep("order-service", "staging", "img:1", 20, [["success", 19]], { revert: true }),
    dep("order-service", "staging", "img:2", 30, [["failure", 29]]),
    dep("order-service", "staging", "img:1", 50, [["success", 49]], { sourceCommittedAt: at(52) }),
    dep("user-service", "staging", "u:1", 24 * 20, [["success", 24 * 20 - 1]], { sourceCommittedAt: at(24 * 20 + 5) }),
    dep("order-service", "production", "img:1", 40, [["success", 39]], { sourceCommittedAt: at(52) }),
  ];
  const table: Array<{
    env: string;
    window: 7 | 30 | 90;
    deployments: number;
    failures: number;
    cfr: number | null;
    lead: number | null;
    ttr: number | null;
    buckets: number;
  }> = [
    { env: "staging", window: 7, deployments: 3, failures: 1, cfr: 1 / 3, lead: 3 * 3600, ttr: 10 * 3600, buckets: 7 },
    {
      env: "staging",
      window: 30,
      deployments: 4,
      failures: 1,
      cfr: 1 / 4,
      lead: 4.5 * 3600,
      ttr: 10 * 3600,
      buckets: 30,
    },
    {
      env: "staging",
      window: 90,
      deployments: 4,
      failures: 1,
      cfr: 1 / 4,
      lead: 4.5 * 3600,
      ttr: 10 * 3600,
      buckets: 13,
    },
    { env: "production", window: 7, deployments: 1, failures: 0, cfr: 0, lead: 13 * 3600, ttr: null, buckets: 7 },
    { env: "qa", window: 7, deployments: 0, failures: 0, cfr: null, lead: null, ttr: null, buckets: 7 },
  ];
  for (const row of table) {
    it(`${row.env} over ${row.window} days`, () => {
      const m = deliveryMetrics({ deployments: history, env: row.env, windowDays: row.window, now: NOW });
      expect(m.deployments).toBe(row.deployments);
      expect(m.failures).toBe(row.failures);
      expect(m.changeFailureRate).toBe(row.cfr);
      expect(m.leadTime).toBe(row.lead);
      expect(m.timeToRestore).toBe(row.ttr);
      expect(m.buckets).toHaveLength(row.buckets);
      expect(m.buckets.reduce((n, b) => n + b.deployments, 0)).toBe(row.deployments);
    });
  }

  it("a failure without a verified revert is open, not restored", () => {
    const m = deliveryMetrics({
      deployments: [
        dep("order-service", "staging", "img:1", 1, [["in_progress", 1]], { revert: true }),
        dep("order-service", "staging", "img:2", 2, [["failure", 1.5]]),
      ],
      env: "staging",
      windowDays: 7,
      now: NOW,
    });
    expect(m).toMatchObject({ failures: 1, restored: 0, unrestored: 1, timeToRestore: null });
  });

  it("writes durations as people read them", () => {
    expect([45, 125, 3 * 3600 + 300, 2 * 86_400 + 3600].map(humanDuration)).toEqual([
      "45 s",
      "2 min 5 s",
      "3 h 5 min",
      "2 d 1 h",
    ]);
  });
});

describe("SVG charts", () => {
  it("draws one bar per bucket, the failed part in the alert colour, and says its figures in <desc>", () => {
    const svg = barChart({
      id: "c1",
      title: "Deployments",
      summary: "3 deployments, 1 failed",
      bars: [
        { label: "03-08", value: 2, part: 1 },
        { label: "03-09", value: 0 },
        { label: "03-10", value: 1 },
      ],
      format: String,
      partLabel: "failed",
    });
    expect(svg).toContain('role="img" aria-labelledby="c1-title c1-desc"');
    expect(svg).toContain('<desc id="c1-desc">3 deployments, 1 failed</desc>');
    expect(svg.match(/fill="#1f5fa8"><title>/g)).toHaveLength(2);
    expect(svg).toContain("<title>03-08: 1 failed</title>");
    expect(svg).not.toContain("no data");
  });

  it("says when a window has no data, and escapes every text", () => {
    const svg = barChart({
      id: "x",
      title: "<script>",
      summary: "a & b",
      bars: [{ label: '"q"', value: null }],
      format: String,
    });
    expect(svg).toContain("no data in this window");
    expect(svg).toContain("&lt;script&gt;");
    expect(svg).toContain("a &amp; b");
    expect(svg).not.toContain("<script>");
  });

  it("tells a window of zeros from a window without data", () => {
    const chart = (values: Array<number | null>) =>
      barChart({
        id: "z",
        title: "t",
        summary: "s",
        bars: values.map((value, i) => ({ label: String(i), value })),
        format: String,
      });
    expect(chart([0, null, 0])).toContain("zero throughout");
    expect(chart([null, null])).toContain("no data in this window");
  });

  it("renders four charts per environment", () => {
    const m = deliveryMetrics({ deployments: [], env: "staging", windowDays: 30, now: NOW });
    const html = metricCharts(m, "t");
    expect(html.match(/<svg /g)).toHaveLength(4);
    for (const title of ["Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"])
      expect(html).toContain(`<figcaption>${title}</figcaption>`);
  });
});

describe("pages", () => {
  it("the matrix is a table with a caption and scoped headers; hostile text is escaped", () => {
    const d = buildDashboard(
      base({
        deployments: [dep("order-service", "staging", 'img:<img src=x onerror="alert(1)">', 1, [["success", 1]])],
        holds: [{ service: "user-service", env: "staging", issue: 3, since: at(1), reason: "<b>bad</b>" }],
      }),
    );
    const html = matrixTable(d);
    expect(html).toContain("<caption>Services by environment in acme/manifests</caption>");
    expect(html).toContain('<th scope="col">staging</th>');
    expect(html).toContain(
      '<th scope="row"><a href="/dashboard/acme/manifests/services/order-service">order-service</a></th>',
    );
    expect(html).not.toContain("<img");
    const page = repoPage({ login: "reviewer" }, d, [], 30);
    expect(page).toContain("&lt;b&gt;bad&lt;/b&gt;");
    expect(page).toContain('<a href="?window=30" aria-current="page">30 days</a>');
    expect(page).not.toContain("<script");
  });

  it("a service's history lists deployments, verdicts and reverts newest first", () => {
    const deployments = [
      dep("order-service", "staging", "img:1", 2, [["success", 1]], { revert: true }),
      dep("order-service", "staging", "img:2", 4, [["failure", 3]]),
      dep("user-service", "staging", "u:1", 5, [["success", 4]]),
    ];
    const timeline = serviceTimeline(deployments, "order-service");
    expect(timeline.map((e) => e.kind)).toEqual(["revert-verified", "reverted", "failed", "deployed"]);
    const html = servicePage(
      { login: "r" },
      "acme/manifests",
      "https://github.com/acme/manifests",
      "order-service",
      timeline,
    );
    expect(html).toContain("<h1>order-service in acme/manifests</h1>");
    expect(html).toContain("revert verified");
  });
});
