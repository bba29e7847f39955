// verdictFor with Argo CD sync windows: a window that holds the sync is a wait, and the sync
// deadline counts from its end. Real Application objects (test/fixtures/argo), windows in the
// AppProject CRD's shape, and the window state the verifier computes (syncWindowState).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Application, AppProject, SyncWindow } from "../../src/core/argo-types.js";
import { syncWindowState } from "../../src/core/sync-windows.js";
import { observe, verdictFor, type VerdictInput } from "../../src/core/verdict/index.js";

const fixture = (name: string): Application =>
  parse(readFileSync(new URL(`../fixtures/argo/${name}`, import.meta.url), "utf8").replace(/^# SOURCE:.*\n/, ""));

const MERGE = "2024-03-05T07:30:00.000Z";
const t = (minutes: number, base = MERGE) => new Date(Date.parse(base) + minutes * 60_000).toISOString();
const MIN = 60_000;
const X = "ea8759964626a583667a2bfd08f334ec2070040a"; // app-01's synced revision
const PARENT = "3333333333333333333333333333333333333333";

function patched(a: Application, patch: (copy: Application) => void): Application {
  const copy = structuredClone(a);
  patch(copy);
  return copy;
}

// app-01 (velero-test, namespace test-lla, project sre): the merged revision X is compared but
// not applied yet (the last sync was of its parent).
const pending = (automated: boolean) =>
  patched(fixture("app-01-synced-healthy.yaml"), (a) => {
    a.status!.sync = { status: "OutOfSync", revision: X };
    a.status!.operationState!.syncResult!.revision = PARENT;
    a.status!.operationState!.operation!.sync!.revision = PARENT;
    a.spec!.syncPolicy = automated ? { automated: { prune: true } } : {};
  });
const autoPending = pending(true);

/** The "sre" project with a deny window over test-lla from 07:00 to 09:00 UTC. */
const freeze = (over: Partial<SyncWindow> = {}): AppProject => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "AppProject",
  metadata: { name: "sre", namespace: "argocd" },
  spec: {
    syncWindows: [{ kind: "deny", schedule: "0 7 * * *", duration: "2h", namespaces: ["test-lla"], ...over }],
  },
});

/** The input the verifier builds: windows judged since the later of the merge and two sync timeouts ago. */
function input(app: Application, now: string, project?: AppProject, startedAt = MERGE): VerdictInput {
  const syncMs = 30 * MIN;
  const since = new Date(Math.max(Date.parse(startedAt), Date.parse(now) - 2 * syncMs)).toISOString();
  return {
    app,
    rollouts: [],
    target: { revision: X },
    isAncestor: () => false,
    startedAt,
    now,
    deadlines: { syncMs, healthMs: 15 * MIN, suspendedMs: 60 * MIN },
    soakMs: 5 * MIN,
    history: [],
    degradedGraceMs: 2 * MIN,
    ...(project ? { syncWindow: syncWindowState({ project, app, now, since }) } : {}),
  };
}

describe("verdictFor while a sync window holds the app", () => {
  it("without windows, auto-sync that has not applied the change 45 min after the merge fails the rollout", () => {
    expect(verdictFor(input(autoPending, t(45)))).toMatchObject({ kind: "failed", code: "sync-deadline" });
  });

  it("inside a deny window, the same app is waiting, says which window and until when, and the deadline moves", () => {
    const verdict = verdictFor(input(autoPending, t(45), freeze()));
    expect(verdict).toMatchObject({
      kind: "waiting",
      code: "sync-window",
      reason: "Argo CD sync window #0 (deny, '0 7 * * *' for 2h) holds the sync until 09:00 UTC",
      deadline: "2024-03-05T09:30:00.000Z",
    });
  });

  it("after the window, the sync deadline counts from its end", () => {
    const waiting = verdictFor(input(autoPending, "2024-03-05T09:20:00.000Z", freeze()));
    expect(waiting).toMatchObject({ kind: "waiting", code: "awaiting-sync", deadline: "2024-03-05T09:30:00.000Z" });

    const failed = verdictFor(input(autoPending, "2024-03-05T09:31:00.000Z", freeze()));
    expect(failed).toMatchObject({ kind: "failed", code: "sync-deadline" });
    expect(failed.kind === "failed" && failed.reason).toContain(
      "31m after sync window #0 (deny, '0 7 * * *' for 2h) ended",
    );
  });

  it("names the window by its description", () => {
    const verdict = verdictFor(input(autoPending, t(45), freeze({ description: "quarter-end freeze" })));
    expect(verdict).toMatchObject({
      code: "sync-window",
      reason: "Argo CD sync window 'quarter-end freeze' (deny) holds the sync until 09:00 UTC",
    });
  });

  it("a window over other namespaces holds nothing", () => {
    expect(verdictFor(input(autoPending, t(45), freeze({ namespaces: ["other"] })))).toMatchObject({
      kind: "failed",
      code: "sync-deadline",
    });
  });

  it("an operation Argo CD keeps Running because a window blocks it is a wait, not a stuck sync", () => {
    const base = "2025-01-29T08:40:00Z";
    const blocked = patched(fixture("app-03-progressing-operation-running.yaml"), (a) => {
      a.status!.operationState!.message = "Sync operation blocked by sync window";
    });
    const project: AppProject = {
      spec: { syncWindows: [{ kind: "deny", schedule: "0 8 * * *", duration: "3h", clusters: ["cluster1"] }] },
    };
    expect(verdictFor(input(blocked, t(45, base), undefined, base))).toMatchObject({
      kind: "failed",
      code: "sync-deadline",
    });
    expect(verdictFor(input(blocked, t(45, base), project, base))).toMatchObject({
      kind: "waiting",
      code: "sync-window",
      reason: "Argo CD sync window #0 (deny, '0 8 * * *' for 3h) holds the sync until 11:00 UTC",
    });
  });

  it("with auto-sync off, a window that allows manual syncs leaves the manual sync to people", () => {
    const manual = pending(false);
    expect(verdictFor(input(manual, t(10), freeze()))).toMatchObject({ code: "sync-window" });
    expect(verdictFor(input(manual, t(10), freeze({ manualSync: true })))).toMatchObject({
      code: "manual-sync-needed",
    });
  });

  it("a change already synced and healthy is verified, whatever the windows say", () => {
    const synced = patched(fixture("app-01-synced-healthy.yaml"), (a) => {
      a.status!.sync = { status: "Synced", revision: X };
      a.status!.operationState = {
        phase: "Succeeded",
        startedAt: t(2),
        finishedAt: t(3),
        syncResult: { revision: X },
        operation: { sync: { revision: X } },
      };
      a.status!.reconciledAt = t(3);
    });
    const at = input(synced, t(12), freeze());
    const history = [observe({ ...input(synced, t(4)), now: t(4) })];
    expect(verdictFor({ ...at, history })).toMatchObject({ kind: "verified" });
  });
});
