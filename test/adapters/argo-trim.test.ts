import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectName, rolloutRefs } from "../../src/adapters/argo/refs.js";
import { trimApplication } from "../../src/adapters/argo/trim.js";
import type { Application, AppProject } from "../../src/core/argo-types.js";
import { syncWindowState, windowMatches } from "../../src/core/sync-windows.js";
import { focusOnResources, observe, verdictFor, type VerdictInput } from "../../src/core/verdict/index.js";

// Real Argo CD objects (test/fixtures/argo/README.md says where each comes from).
const FIXTURES = new URL("../fixtures/argo/", import.meta.url);
const fixture = <T>(name: string): T => parse(readFileSync(new URL(name, FIXTURES), "utf8")) as T;
const APPS = [
  "app-01-synced-healthy.yaml",
  "app-02-outofsync-degraded.yaml",
  "app-03-progressing-operation-running.yaml",
  "app-04-synced-healthy-operation-succeeded.yaml",
  "app-05-multisource-operation-succeeded.yaml",
  "app-06-sync-failed-DERIVED.yaml",
];
const project = fixture<AppProject>("appproject-sync-windows.yaml");
const OTHER = "2222222222222222222222222222222222222222";
const MIN = 60_000;

/** The questions the verifier asks of an app, in the ways it asks them. */
function readings(app: Application): unknown[] {
  const status = app.status;
  const revisions = [status?.sync?.revision, status?.operationState?.syncResult?.revision, OTHER];
  const finished = Date.parse(status?.operationState?.finishedAt ?? "2024-03-05T07:30:00Z");
  const deployments = (status?.resources ?? []).filter((r) => r.kind === "Deployment" && r.name);
  const judged = [
    app,
    ...deployments.map((r) => focusOnResources(app, [{ kind: "Deployment", name: r.name ?? "", group: "apps" }])),
  ];
  const out: unknown[] = [rolloutRefs(app), projectName(app)];
  for (const window of project.spec?.syncWindows ?? []) out.push(windowMatches(window, app));
  for (const minutes of [-5, 2, 45]) {
    const now = new Date(finished + minutes * MIN).toISOString();
    out.push(syncWindowState({ project, app, now, since: new Date(finished - 60 * MIN).toISOString() }));
    for (const revision of revisions.filter((r): r is string => r !== undefined))
      for (const ancestry of [true, false, undefined])
        for (const subject of judged) {
          const input: VerdictInput = {
            app: subject,
            rollouts: [],
            target: { revision, images: status?.summary?.images ?? [] },
            isAncestor: (a, d) => (a === d ? true : ancestry),
            startedAt: new Date(finished - 10 * MIN).toISOString(),
            now,
            deadlines: { syncMs: 30 * MIN, healthMs: 15 * MIN, suspendedMs: 60 * MIN },
            soakMs: MIN,
            history: [],
            degradedGraceMs: 2 * MIN,
          };
          out.push(verdictFor(input), observe(input));
        }
  }
  return out;
}

/** The fixture in a state none of them shows: a failed hook, and a Rollout and Deployments among its resources. */
function failedHook(app: Application): Application {
  const copy = structuredClone(app);
  const status = (copy.status ??= {});
  status.operationState = {
    ...status.operationState,
    phase: "Failed",
    message: "one or more synchronization tasks completed unsuccessfully",
    syncResult: {
      ...status.operationState?.syncResult,
      resources: [
        {
          group: "batch",
          kind: "Job",
          name: "migrate",
          status: "Synced",
          hookPhase: "Failed",
          message: "backoff limit",
        },
      ],
    },
  };
  status.resources = [
    ...(status.resources ?? []),
    { group: "argoproj.io", kind: "Rollout", name: "web", status: "Synced", health: { status: "Degraded" } },
    { group: "example.com", kind: "Rollout", name: "not-argo", status: "Synced" },
    { group: "apps", kind: "Deployment", name: "web-blue", status: "Synced", health: { status: "Healthy" } },
    { group: "extensions", kind: "Deployment", name: "web-blue", status: "Synced", health: { status: "Degraded" } },
  ];
  return copy;
}

describe("trimApplication", () => {
  it.each(APPS)("%s: the verdict, observations, Rollout lookup and sync windows read the same", (name) => {
    for (const app of [fixture<Application>(name), failedHook(fixture<Application>(name))])
      expect(readings(trimApplication(app))).toEqual(readings(app));
  });

  it("drops what nothing reads: managed fields, kubectl's last applied copy, the source, the history", () => {
    const app = fixture<Application & Record<string, unknown>>("app-01-synced-healthy.yaml");
    const metadata = app.metadata as Record<string, unknown> & { annotations: Record<string, string> };
    metadata.managedFields = [{ manager: "argocd-controller", operation: "Update", fieldsV1: { "f:status": {} } }];
    metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] = JSON.stringify(app);
    const before = JSON.stringify(app);

    const kept = trimApplication(app) as Record<string, unknown> & Application;
    expect(JSON.stringify(app)).toBe(before); // the input is not changed
    expect(kept.metadata).not.toHaveProperty("managedFields");
    expect(kept.metadata).not.toHaveProperty("uid");
    expect(kept.metadata).not.toHaveProperty("ownerReferences");
    expect(kept.metadata?.annotations).not.toHaveProperty("kubectl.kubernetes.io/last-applied-configuration");
    expect(kept.metadata?.annotations?.["argocd.argoproj.io/compare-options"]).toBe("ServerSideDiff=true");
    // The reflector compares resource versions.
    expect((kept.metadata as { resourceVersion?: string }).resourceVersion).toBe("722811357");
    expect(kept.spec).not.toHaveProperty("source");
    expect(kept.status).not.toHaveProperty("history");
    expect(kept.status?.operationState?.syncResult).not.toHaveProperty("source");
    expect(kept.status?.resources?.length).toBe(app.status?.resources?.length);
    expect(JSON.stringify(kept).length).toBeLessThan(before.length / 5);
  });

  it("keeps values of an unexpected shape as they came, and an automated policy of {} or null as it is", () => {
    const odd = { metadata: { name: "x" }, spec: { syncPolicy: { automated: {} } }, status: { resources: "bad" } };
    expect(trimApplication(odd)).toEqual(odd);
    const off = { spec: { syncPolicy: { automated: null } }, status: "weird" };
    expect(trimApplication(off)).toEqual(off);
  });
});
