import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Application, AppProject, SyncWindow } from "../../src/core/argo-types.js";
import { globMatch } from "../../src/core/glob.js";
import {
  parseGoDuration,
  syncWindowState,
  syncWindowWait,
  windowMatches,
  zoneOffsetMs,
  type SyncWindowState,
} from "../../src/core/sync-windows.js";

// The AppProject from Argo CD's sync window docs (test/fixtures/argo/README.md):
//   #0 allow '10 1 * * *' 1h, applications *-prod, manualSync
//   #1 allow '0 9 * * *' 8h, applications *
//   #2 deny  '0 22 * * *' 1h Europe/Amsterdam, namespaces default
//   #3 allow '0 23 * * *' 1h, clusters in-cluster, cluster1
const FIXTURE = new URL("../fixtures/argo/", import.meta.url);
const docsProject = parse(
  readFileSync(new URL("appproject-sync-windows.yaml", FIXTURE), "utf8")
    .split("\n")
    .filter((line) => !line.startsWith("# SOURCE:"))
    .join("\n"),
) as AppProject;

const docsWindows = (docsProject.spec?.syncWindows ?? []) as SyncWindow[];

/** The docs' project with only some of its windows (keeping their IDs is not needed for these). */
const projectOf = (windows: SyncWindow[]): AppProject => ({ ...docsProject, spec: { syncWindows: windows } });

const app = (
  name: string,
  destination: { namespace?: string; server?: string; name?: string },
  options: { automated?: boolean; operation?: "automated" | "manual" } = {},
): Application => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Application",
  metadata: { name, namespace: "argocd" },
  spec: {
    project: "default",
    destination,
    syncPolicy: options.automated === false ? {} : { automated: { prune: true, selfHeal: true } },
  },
  ...(options.operation
    ? {
        operation: {
          sync: { revision: "main" },
          initiatedBy: options.operation === "automated" ? { automated: true } : { username: "admin" },
        },
      }
    : {}),
});

const IN_CLUSTER = "https://kubernetes.default.svc";
const checkout = app("checkout-staging", { namespace: "shop", server: IN_CLUSTER, name: "cluster2" });
const web = app("web", { namespace: "default", server: "https://10.0.0.1:6443", name: "cluster9" });
const ordersProd = app("orders-prod", { namespace: "orders", server: "https://10.0.0.2:6443" });

const state = (project: AppProject | undefined, application: Application, now: string, since?: string) =>
  syncWindowState({ project, app: application, now, ...(since ? { since } : {}) });

const held = (s: SyncWindowState) => (s.denied ? s : undefined);

describe("parseGoDuration (Go's time.ParseDuration)", () => {
  it.each([
    ["1h", 3_600_000],
    ["8h", 28_800_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["2h45m30s", 9_930_000],
    ["300ms", 300],
    ["47.25s", 47_250],
    [".5s", 500],
    ["1.s", 1_000],
    ["-1m", -60_000],
    ["0", 0],
    ["1500us", 1.5],
  ])("%s is %d ms", (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(["", "1", "1d", "h", "1 h", "1h ", ".s", "1h-5m", "3600"])("refuses %j", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe("globMatch (gobwas/glob as Argo CD calls it)", () => {
  it.each([
    ["*", "anything", true],
    ["*-prod", "orders-prod", true],
    ["*-prod", "orders-production", false],
    ["prod-?", "prod-1", true],
    ["prod-?", "prod-12", false],
    ["[ab]-svc", "b-svc", true],
    ["[!ab]-svc", "b-svc", false],
    ["[a-c]x", "cx", true],
    ["{orders,users}-staging", "users-staging", true],
    ["{orders,users}-staging", "payments-staging", false],
    ["https://*.example.com", "https://k8s.example.com", true],
    ["\\*", "*", true],
    ["\\*", "x", false],
    ["[", "[", false], // does not compile: matches nothing
    ["a.b", "axb", false], // regex characters are literal
    ["{a,{b,c}x}-1", "cx-1", true], // nested alternatives
    ["{a,b", "a", false], // does not compile
    ["a}", "a}", true], // a lone } is a literal
    ["[]]", "]", true],
    ["?-prod", "é-prod", true], // one code point
    ["*a*a*a*a*a*a*a*a*b", "a".repeat(60), false],
  ])("%j against %j: %s", (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });

  it("takes time in proportion to the value and the pattern, never backtracking (hostile patterns)", () => {
    // A regular expression would take exponential time here; 200 such matches finish at once.
    const pattern = `${"*a".repeat(40)}*b`;
    for (let k = 0; k < 200; k++) expect(globMatch(pattern, "a".repeat(253))).toBe(false);
    expect(globMatch(pattern, `${"a".repeat(252)}b`)).toBe(true);
  });
});

describe("windowMatches (SyncWindows.Matches)", () => {
  it.each([
    ["#0 by application glob", 0, ordersProd, true],
    ["#0 not for other apps", 0, checkout, false],
    ["#1 applications '*': every app", 1, web, true],
    ["#2 by destination namespace", 2, web, true],
    ["#2 other namespaces", 2, checkout, false],
    ["#3 by cluster server? no: the cluster name in-cluster is not the server URL", 3, ordersProd, false],
    ["#3 by destination name", 3, app("a", { name: "cluster1", namespace: "x" }), true],
    ["#3 by destination name in-cluster", 3, app("a", { name: "in-cluster", namespace: "x" }), true],
  ])("%s", (_name, index, application, expected) => {
    expect(windowMatches(docsWindows[index] as SyncWindow, application)).toBe(expected);
  });

  it("matches a cluster glob against the server URL too", () => {
    expect(windowMatches({ kind: "deny", clusters: ["https://10.0.0.*"] }, web)).toBe(true);
  });

  it("ORs the selectors, or ANDs them with andOperator", () => {
    const w: SyncWindow = { kind: "deny", applications: ["web"], namespaces: ["prod-*"] };
    expect(windowMatches(w, web)).toBe(true);
    expect(windowMatches({ ...w, andOperator: true }, web)).toBe(false);
    expect(windowMatches({ ...w, andOperator: true, namespaces: ["default"] }, web)).toBe(true);
  });

  it("a window without selectors matches nothing", () => {
    expect(windowMatches({ kind: "deny", schedule: "* * * * *", duration: "1h" }, web)).toBe(false);
  });
});

describe("zoneOffsetMs", () => {
  it.each([
    ["Europe/Amsterdam", "2024-03-05T12:00:00Z", 3_600_000],
    ["Europe/Amsterdam", "2024-03-31T00:59:59Z", 3_600_000],
    ["Europe/Amsterdam", "2024-03-31T01:00:00Z", 7_200_000], // the change to summer time
    ["America/New_York", "2024-07-01T12:00:00Z", -4 * 3_600_000],
    ["Asia/Kolkata", "2024-07-01T12:00:00Z", 5.5 * 3_600_000],
    ["UTC", "2024-07-01T12:00:00Z", 0],
    ["", "2024-07-01T12:00:00Z", 0],
    ["Mars/Olympus_Mons", "2024-07-01T12:00:00Z", 0], // unknown zones are UTC, as in Argo CD
  ])("%s at %s", (zone, at, offset) => {
    expect(zoneOffsetMs(zone, Date.parse(at))).toBe(offset);
  });
});

describe("syncWindowState over the docs' AppProject", () => {
  it("no project, or no matching window: syncs are allowed", () => {
    expect(state(undefined, web, "2024-03-05T21:30:00Z")).toEqual({ denied: false });
    expect(state(projectOf([docsWindows[2] as SyncWindow]), checkout, "2024-03-05T21:30:00Z")).toEqual({
      denied: false,
    });
  });

  it("inside an allow window: allowed", () => {
    expect(state(docsProject, checkout, "2024-03-05T10:00:00Z")).toEqual({ denied: false });
  });

  it("outside every allow window: held until the next one opens, which it names", () => {
    const s = held(state(docsProject, checkout, "2024-03-05T18:00:00Z"));
    expect(s).toMatchObject({ because: "outside-allow", until: "2024-03-06T09:00:00.000Z" });
    expect(s?.windows.map((w) => w.index)).toEqual([1]);
    expect(syncWindowWait(s!, "2024-03-05T18:00:00Z")).toBe(
      "Outside Argo CD's allow sync windows (next: #1 (allow, '0 9 * * *' for 8h)) until 2024-03-06 09:00 UTC",
    );
  });

  it("of several allow windows, the one that opens first is named first", () => {
    // orders-prod matches #0 (01:10-02:10) and #1 (09:00-17:00); at 00:30 #0 opens first.
    const s = held(state(docsProject, app("orders-prod", { namespace: "orders" }), "2024-03-05T00:30:00Z"));
    expect(s).toMatchObject({ because: "outside-allow", until: "2024-03-05T01:10:00.000Z" });
    expect(s?.windows.map((w) => w.index)).toEqual([0, 1]);
  });

  it("reads the deny window's schedule in its time zone, across the change to summer time", () => {
    const deny = projectOf([docsWindows[2] as SyncWindow]);
    // 22:00 in Amsterdam is 21:00 UTC in winter ...
    expect(held(state(deny, web, "2024-03-05T21:30:00Z"))).toMatchObject({
      because: "deny",
      until: "2024-03-05T22:00:00.000Z",
    });
    expect(state(deny, web, "2024-03-05T20:30:00Z").denied).toBe(false);
    // ... and 20:00 UTC in summer.
    expect(held(state(deny, web, "2024-04-10T20:30:00Z"))).toMatchObject({ until: "2024-04-10T21:00:00.000Z" });
    expect(state(deny, web, "2024-04-10T21:30:00Z").denied).toBe(false);
  });

  it("a deny window wins over an open allow window", () => {
    const project = projectOf([
      { kind: "allow", schedule: "0 20 * * *", duration: "2h", applications: ["*"] },
      { kind: "deny", schedule: "30 20 * * *", duration: "30m", applications: ["web"], description: "db migration" },
    ]);
    const s = held(state(project, web, "2024-03-05T20:45:00Z"));
    expect(s).toMatchObject({ because: "deny", until: "2024-03-05T21:00:00.000Z" });
    expect(syncWindowWait(s!, "2024-03-05T20:45:00Z")).toBe(
      "Argo CD sync window 'db migration' (deny) holds the sync until 21:00 UTC",
    );
    expect(state(project, web, "2024-03-05T20:15:00Z").denied).toBe(false);
  });

  it("after a deny window, the hold lasts until an allow window opens", () => {
    // web (namespace default) matches #1 (allow 09:00-17:00 UTC) and #2 (deny 21:00-22:00 UTC).
    const s = held(state(docsProject, web, "2024-03-05T21:30:00Z"));
    expect(s).toMatchObject({ because: "deny", until: "2024-03-06T09:00:00.000Z" });
    expect(syncWindowWait(s!, "2024-03-05T21:30:00Z")).toBe(
      "Argo CD sync window #2 (deny, '0 22 * * *' Europe/Amsterdam for 1h) holds the sync until 2024-03-06 09:00 UTC",
    );
  });

  describe("manualSync", () => {
    const allow = projectOf([docsWindows[0] as SyncWindow]); // manualSync: true
    const at = "2024-03-05T05:00:00Z";

    it("lets a manual sync through outside its allow window, never an automated one", () => {
      expect(state(allow, app("orders-prod", {}, { automated: false }), at).denied).toBe(false);
      expect(state(allow, app("orders-prod", {}), at).denied).toBe(true);
      expect(state(allow, app("orders-prod", {}, { operation: "manual" }), at).denied).toBe(false);
      expect(state(allow, app("orders-prod", {}, { operation: "automated" }), at).denied).toBe(true);
      expect(syncWindowState({ project: allow, app: ordersProd, now: at, manual: true }).denied).toBe(false);
    });

    it("counts only when every window that holds the app allows manual syncs", () => {
      // #0 allows manual syncs, #1 does not: outside both, a manual sync is held too.
      expect(state(docsProject, app("orders-prod", {}, { automated: false }), at).denied).toBe(true);
      const denies = projectOf([
        { kind: "deny", schedule: "0 * * * *", duration: "1h", applications: ["*"], manualSync: true },
        { kind: "deny", schedule: "0 5 * * *", duration: "1h", applications: ["*"] },
      ]);
      expect(state(denies, app("x", {}, { automated: false }), "2024-03-05T05:30:00Z").denied).toBe(true);
      expect(state(denies, app("x", {}, { automated: false }), "2024-03-05T06:30:00Z").denied).toBe(false);
    });
  });

  it("finds when the last hold since a given time ended, for the sync deadline", () => {
    const deny = projectOf([docsWindows[2] as SyncWindow]);
    expect(state(deny, web, "2024-03-05T22:10:00Z", "2024-03-05T21:20:00Z")).toMatchObject({
      denied: false,
      lastDenial: { endedAt: "2024-03-05T22:00:00.000Z", windows: [{ index: 0, kind: "deny" }] },
    });
    expect(state(deny, web, "2024-03-05T22:10:00Z", "2024-03-05T22:05:00Z")).toEqual({ denied: false });
  });

  it("a window opened for a number of seconds holds the app until exactly then", () => {
    // How the sandbox makes a 20 s window: this minute's start, for the seconds gone plus 20.
    const project = projectOf([{ kind: "deny", schedule: "12 7 1 12 *", duration: "33.5s", applications: ["web"] }]);
    expect(held(state(project, web, "2026-12-01T07:12:13.500Z"))).toMatchObject({
      until: "2026-12-01T07:12:33.500Z",
    });
    expect(state(project, web, "2026-12-01T07:12:33.500Z").denied).toBe(false);
  });

  it("reports windows Argo CD cannot parse, and they hold nothing", () => {
    const project = projectOf([
      { kind: "deny", schedule: "0 25 * * *", duration: "1h", applications: ["*"] },
      { kind: "deny", schedule: "* * * * *", duration: "1 day", applications: ["*"] },
      { kind: "block", schedule: "* * * * *", duration: "1h", applications: ["*"] },
    ]);
    const s = state(project, web, "2024-03-05T10:00:00Z");
    expect(s.denied).toBe(false);
    expect(s.invalid?.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(s.invalid?.[0]?.error).toContain("cannot parse schedule '0 25 * * *'");
  });

  it("says when no end is in sight", () => {
    const project = projectOf([{ kind: "deny", schedule: "* * * * *", duration: "1h", applications: ["*"] }]);
    const s = held(state(project, web, "2024-03-05T10:00:00Z"));
    expect(s?.until).toBeUndefined();
    expect(syncWindowWait(s!, "2024-03-05T10:00:00Z")).toBe(
      "Argo CD sync window #0 (deny, '* * * * *' for 1h) holds the sync; no end found within 400 days",
    );
  });

  it("refuses a time it cannot read", () => {
    expect(() => state(docsProject, web, "yesterday")).toThrow(/unparseable time/);
  });
});

describe("syncWindowWait fits GitHub's 140 characters", () => {
  const long = "x".repeat(200);
  const many = projectOf(
    [0, 1, 2, 3].map((i) => ({
      kind: "deny",
      schedule: `${i} 20 * * *`,
      duration: "1h",
      timeZone: "America/Argentina/ComodRivadavia",
      applications: ["*"],
    })),
  );

  it.each([
    [
      "a long description",
      projectOf([{ kind: "deny", schedule: "0 23 * * *", duration: "1h", applications: ["*"], description: long }]),
      "Argo CD sync window #0 (deny) holds the sync until 2024-03-06 00:00 UTC",
    ],
    [
      "several windows",
      many,
      "Argo CD sync windows #0 (deny), #1 (deny) and 2 more hold the sync until 2024-03-06 00:03 UTC",
    ],
  ])("with %s, keeping the time", (_name, project, expected) => {
    const s = held(state(project, web, "2024-03-05T23:30:00Z"));
    const text = syncWindowWait(s!, "2024-03-05T23:30:00Z");
    expect([...text].length).toBeLessThanOrEqual(140);
    expect(text).toBe(expected);
  });
});
