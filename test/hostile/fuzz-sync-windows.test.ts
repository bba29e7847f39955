// Property-based tests over what Conveyor reads from Argo CD AppProjects: cron schedules, Go
// durations, glob selectors and whole sync windows. Projects are written by cluster admins, but
// a mistyped or odd window must still never throw, hang the event loop or overflow GitHub's
// 140-character Deployment description. Seeds and run counts: README.md here.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Application, AppProject, SyncWindow } from "../../src/core/argo-types.js";
import { parseCron } from "../../src/core/cron.js";
import { globMatch } from "../../src/core/glob.js";
import { parseGoDuration, syncWindowState, syncWindowWait } from "../../src/core/sync-windows.js";
import { anyString, settings } from "./arbitraries.js";

const cronField = fc.oneof(
  fc.constantFrom("*", "?", "*/5", "1-5", "mon-fri", "jan", "0", "59", "7", "1,15", "5/20", "*/0", "-1", "x"),
  fc.integer({ min: -2, max: 70 }).map(String),
);
const cronLike = fc.oneof(
  { weight: 3, arbitrary: fc.array(cronField, { minLength: 5, maxLength: 5 }).map((f) => f.join(" ")) },
  { weight: 1, arbitrary: fc.array(cronField, { minLength: 0, maxLength: 7 }).map((f) => f.join(" ")) },
  { weight: 1, arbitrary: anyString(4) },
);
const durationLike = fc.oneof(
  fc.constantFrom("1h", "30m", "1h30m", "1.5h", "500ms", "0", "-1h", "1d", "", "h", "20000ms"),
  fc
    .tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom("s", "m", "h", "ms", "us", "x"))
    .map(([n, u]) => `${n}${u}`),
  anyString(3),
);
const globLike = fc.oneof(
  fc.constantFrom("*", "*-prod", "web", "{a,b}-*", "[a-z]*", "[!x]?", "\\*", "[", "{", "*a*a*a*a*b"),
  anyString(4),
);
const zone = fc.constantFrom(undefined, "", "UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Nope/Zone");

const windowArb: fc.Arbitrary<SyncWindow> = fc.record(
  {
    kind: fc.constantFrom("allow", "deny", "", "block"),
    schedule: cronLike,
    duration: durationLike,
    applications: fc.array(globLike, { maxLength: 3 }),
    namespaces: fc.array(globLike, { maxLength: 2 }),
    clusters: fc.array(globLike, { maxLength: 2 }),
    manualSync: fc.boolean(),
    timeZone: zone,
    andOperator: fc.boolean(),
    description: anyString(6),
  },
  { requiredKeys: ["kind", "schedule", "duration"] },
) as fc.Arbitrary<SyncWindow>;

const app = (name: string, namespace: string, automated: boolean): Application => ({
  metadata: { name, namespace: "argocd" },
  spec: {
    destination: { namespace, server: "https://kubernetes.default.svc", name: "in-cluster" },
    syncPolicy: automated ? { automated: {} } : {},
  },
});

const instant = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) })
  .map((ms) => new Date(ms).toISOString());

describe("sync window inputs", () => {
  it("parseCron: no throw; a refusal says why, an accepted schedule allows some value in every field", () => {
    fc.assert(
      fc.property(cronLike, (expression) => {
        const parsed = parseCron(expression);
        if (!parsed.ok) {
          expect(parsed.error.length).toBeGreaterThan(0);
          return;
        }
        const { minute, hour, dayOfMonth, month, dayOfWeek } = parsed.schedule;
        for (const field of [minute, hour, dayOfMonth, month, dayOfWeek]) expect(field.allowed).toContain(true);
      }),
      settings(1000),
    );
  });

  it("parseGoDuration: no throw; a finite number or undefined", () => {
    fc.assert(
      fc.property(durationLike, (text) => {
        const ms = parseGoDuration(text);
        if (ms !== undefined) expect(Number.isFinite(ms)).toBe(true);
      }),
      settings(1000),
    );
  });

  it("globMatch: no throw; a pattern without special characters matches exactly itself", () => {
    fc.assert(
      // Names and namespaces are at most 253 characters in Kubernetes.
      fc.property(globLike, anyString(3), (pattern, text) => {
        const value = [...text].slice(0, 253).join("");
        expect(typeof globMatch(pattern, value)).toBe("boolean");
        const plain = value.replace(/[*?[\]{}\\,!]/g, "");
        expect(globMatch(plain, plain)).toBe(true);
        expect(globMatch(plain, `${plain}x`)).toBe(false);
        expect(globMatch(`*${plain}`, `anything ${plain}`)).toBe(true);
      }),
      settings(1000),
    );
  });

  it("syncWindowState: no throw on any project; a hold names its windows and fits GitHub's 140 characters", () => {
    fc.assert(
      fc.property(
        fc.array(windowArb, { maxLength: 5 }),
        fc.constantFrom("web-prod", "cart-staging", ""),
        fc.constantFrom("default", "shop", ""),
        fc.boolean(),
        instant,
        (windows, name, namespace, automated, now) => {
          const project: AppProject = { spec: { syncWindows: windows } };
          const state = syncWindowState({
            project,
            app: app(name, namespace, automated),
            now,
            since: "2019-12-31T00:00:00Z",
          });
          if (!state.denied) return;
          expect(state.windows.length).toBeGreaterThan(0);
          if (state.until !== undefined) expect(Date.parse(state.until)).toBeGreaterThan(Date.parse(now));
          const text = syncWindowWait(state, now);
          expect([...text].length).toBeLessThanOrEqual(140);
          expect(text).toMatch(/sync window/);
        },
      ),
      settings(300),
    );
  }, 120_000);
});
