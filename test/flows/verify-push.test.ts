// verify-push: a push to the default branch that changes overlays gets one GitHub Deployment per
// (service, environment), with the images before and after read from git, and is handed to the
// verifier. Real git (a bare remote, pushes as a person makes them), strict GitHub mocks, a real
// Verifier over a fake Argo CD source.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Application } from "../../src/core/argo-types.js";
import type { AppKey, ArgoSource } from "../../src/core/argo-source.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import { verifyPush } from "../../src/flows/verify-push.js";
import { Verifier } from "../../src/runtime/verifier.js";
import { signedMarker } from "../helpers/markers.js";
import { flowWorld, R, type FlowWorld } from "../helpers/flow-world.js";

const STAGING = "services/order-service/overlays/staging/kustomization.yaml";
const PAYMENT = "services/payment-service/overlays/staging/kustomization.yaml";
const PRODUCTION = "services/order-service/overlays/production/kustomization.yaml";

class QuietArgo implements ArgoSource {
  refreshed: string[] = [];
  async start() {}
  async stop() {}
  onApplication() {
    return () => undefined;
  }
  getApplication(): Application | undefined {
    return undefined;
  }
  rolloutsFor() {
    return [];
  }
  async refresh(key: AppKey) {
    this.refreshed.push(key.name);
  }
  stats() {
    return { watchConnections: 1, reconnects: 0, relists: 0 };
  }
}

let w: FlowWorld;
let config: Config;
beforeEach(() => {
  w = flowWorld();
  const parsed = parseConfig({});
  if (!parsed.ok) throw new Error("default config is invalid");
  config = parsed.config;
});
afterEach(() => {
  w.services.verifier?.stop();
  w.cleanup();
});

function runningVerifier(): Verifier {
  const v = new Verifier({
    source: new QuietArgo(),
    tickMs: 600_000,
    isAncestor: async () => false,
    outcomes: { verified: async () => undefined, failed: async () => undefined, superseded: async () => undefined },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  v.start();
  w.services.verifier = v;
  return v;
}

/** The overlay on main with its tag changed, as a file map for a commit. */
function bump(file: string, tag: string): Record<string, string> {
  return { [file]: (w.remote.show("main", file) as string).replace('newTag: "1.4.0"', `newTag: "${tag}"`) };
}

/** Pushes a commit to main, as a merge or a person does; returns the push's before and after. */
function push(files: Record<string, string | null>, message = "change"): { before: string; after: string } {
  const before = w.remote.head("main") as string;
  const after = w.remote.commit("main", files, message);
  return { before, after };
}

function mergedPr(number: number, opts: { author?: string; type?: string; labels?: string[]; mergedBy?: string } = {}) {
  return {
    number,
    html_url: `https://github.com/acme/manifests/pull/${number}`,
    state: "closed",
    merged_at: "2026-01-01T00:00:00Z",
    head: { sha: "f".repeat(40), ref: "some-branch" },
    base: { sha: "e".repeat(40) },
    body: "",
    user: { login: opts.author ?? "alice", type: opts.type ?? "User" },
    merged_by: { login: opts.mergedBy ?? "bob" },
    labels: (opts.labels ?? []).map((name) => ({ name })),
  };
}

function expectPrFor(sha: string, prs: unknown[]) {
  w.gh.scope.get(`${R}/commits/${sha}/pulls`).reply(200, prs);
}

/** Mocks one Deployment's creation and in_progress status; captures what was created. */
function expectDeployment(id: number, created: Array<Record<string, unknown>>) {
  // First: is this commit's change already recorded there? (No.)
  w.gh.scope
    .get(`${R}/deployments`)
    .query((q) => typeof q.sha === "string" && q.task === "deploy" && typeof q.environment === "string")
    .reply(200, []);
  w.gh.scope
    .post(`${R}/deployments`, (b) => (created.push(b), true))
    .reply(201, (_uri, body) => ({
      id,
      sha: (body as { ref: string }).ref,
      environment: (body as { environment: string }).environment,
      created_at: "2026-01-01T00:00:00Z",
      url: "",
    }));
  w.gh.scope
    .post(`${R}/deployments/${id}/statuses`, (b: { state: string }) => b.state === "in_progress")
    .reply(201, {});
}

function expectComments(number: number, bodies: string[], times = 1) {
  w.gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => (bodies.push(b.body), true))
    .times(times)
    .reply(201, { id: 1, html_url: "c" });
}

describe("verifyPush", () => {
  it("a merged PR that changed one overlay: one Deployment for that service and environment, images read from git", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.5.0"), "Merge pull request #12");
    const created: Array<Record<string, unknown>> = [];
    const comments: string[] = [];
    expectPrFor(after, [mergedPr(12, { labels: ["conveyor", "env/staging"] })]);
    expectDeployment(701, created);
    expectComments(12, comments);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });

    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      ref: after,
      environment: "staging",
      description: "order-service: ghcr.io/acme/order-service:1.5.0",
      payload: {
        conveyor: true,
        service: "order-service",
        from: "ghcr.io/acme/order-service:1.4.0",
        to: "ghcr.io/acme/order-service:1.5.0",
        pr: 12,
        application: "order-service-staging",
        file: STAGING,
        base: before,
        revert: false,
      },
    });
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain(`Merged as \`${after.slice(0, 12)}\``);
    expect(comments[0]).toContain("(deployment 701)");
    expect(v.inFlight()).toMatchObject([
      { service: "order-service", env: "staging", revision: after, deploymentId: 701, pr: { number: 12 } },
    ]);
  });

  it("the same push again (a redelivery, another replica) finds its Deployment and records nothing twice", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.5.0"), "Merge pull request #12");
    expectPrFor(after, [mergedPr(12, { labels: ["conveyor", "env/staging"] })]);
    w.gh.scope
      .get(`${R}/deployments`)
      .query({ sha: after, environment: "staging", task: "deploy", per_page: "100" })
      .reply(200, [
        {
          id: 700,
          sha: after,
          environment: "staging",
          created_at: "2026-01-01T00:00:00Z",
          url: "",
          payload: { conveyor: true, service: "order-service" },
        },
      ]);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });

    expect(w.gh.calls().filter((c) => !c.startsWith("GET"))).toEqual([]);
    expect(v.inFlight()).toEqual([]);
    expect(w.logs.some((l) => l.msg === "this push's change is already recorded")).toBe(true);
  });

  it("one push that changed two overlays: one Deployment each, one PR lookup", async () => {
    const v = runningVerifier();
    const { before, after } = push({ ...bump(STAGING, "1.5.0"), ...bump(PAYMENT, "2.0.0") });
    const created: Array<Record<string, unknown>> = [];
    const comments: string[] = [];
    expectPrFor(after, [mergedPr(20)]);
    expectDeployment(711, created);
    expectDeployment(712, created);
    expectComments(20, comments, 2);

    await verifyPush(w.services, w.scope, config, { before, after });

    const summary = created
      .map((c) => {
        const p = c.payload as Record<string, unknown>;
        return `${String(p.service)}/${String(c.environment)} ${String(p.from)} -> ${String(p.to)}`;
      })
      .sort();
    expect(summary).toEqual([
      "order-service/staging ghcr.io/acme/order-service:1.4.0 -> ghcr.io/acme/order-service:1.5.0",
      "payment-service/staging ghcr.io/acme/payment-service:1.4.0 -> ghcr.io/acme/payment-service:2.0.0",
    ]);
    expect(
      v
        .inFlight()
        .map((x) => `${x.service}/${x.env}`)
        .sort(),
    ).toEqual(["order-service/staging", "payment-service/staging"]);
    expect(w.gh.calls().filter((c) => c.endsWith("/pulls"))).toHaveLength(1);
  });

  it("several commits to the same overlay in one push: one Deployment, from the image before the push to the last one", async () => {
    runningVerifier();
    const before = w.remote.head("main") as string;
    w.remote.commit("main", bump(STAGING, "1.4.5"), "first");
    const after = w.remote.commit(
      "main",
      { [STAGING]: (w.remote.show("main", STAGING) as string).replace('newTag: "1.4.5"', 'newTag: "1.6.0"') },
      "second",
    );
    const created: Array<Record<string, unknown>> = [];
    expectPrFor(after, []);
    expectDeployment(721, created);

    await verifyPush(w.services, w.scope, config, { before, after });

    expect(created).toHaveLength(1);
    expect(created[0]?.payload).toMatchObject({
      from: "ghcr.io/acme/order-service:1.4.0",
      to: "ghcr.io/acme/order-service:1.6.0",
    });
  });

  it("a push touching no overlay makes no call and watches nothing", async () => {
    const v = runningVerifier();
    const { before, after } = push({ "README.md": "# manifests\n", "services/order-service/notes.txt": "x\n" });
    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });
    expect(w.gh.calls()).toEqual([]);
    expect(v.inFlight()).toEqual([]);
  });

  it("a push that created the default branch makes no call", async () => {
    const v = runningVerifier();
    const { after } = push(bump(STAGING, "1.5.0"));
    await verifyPush(w.services, w.scope, config, { before: undefined, after });
    expect(w.gh.calls()).toEqual([]);
    expect(v.inFlight()).toEqual([]);
  });

  it("without an Argo CD source it only logs which overlays changed: no Deployment, no comment", async () => {
    const { before, after } = push({ ...bump(STAGING, "1.5.0"), ...bump(PRODUCTION, "1.5.0") });
    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });
    expect(w.gh.calls()).toEqual([]);
    const line = w.logs.find((l) => l.msg === "overlays changed, but no Argo CD source is configured: not verifying");
    expect(line?.level).toBe("info");
    expect(line?.obj).toMatchObject({ repo: "acme/manifests" });
    expect([...((line?.obj as { overlays: string[] }).overlays ?? [])].sort()).toEqual([PRODUCTION, STAGING]);
  });

  it("a direct push (no PR): the Deployment records no PR and nobody is commented on", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(PRODUCTION, "1.5.0"));
    const created: Array<Record<string, unknown>> = [];
    expectPrFor(after, []);
    expectDeployment(731, created);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });

    expect(created[0]).toMatchObject({ environment: "production", production_environment: true });
    expect(created[0]?.payload).toMatchObject({ pr: null, revert: false, application: "order-service-production" });
    expect(v.inFlight()[0]?.pr).toBeUndefined();
    expect(w.gh.calls()).toEqual([
      `GET ${R}/commits/${after}/pulls`,
      `GET ${R}/deployments`,
      `POST ${R}/deployments`,
      `POST ${R}/deployments/731/statuses`,
    ]);
  });

  it("Conveyor's PR named the image's source in its signed marker: the Deployment and the verification keep it", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.5.0"), "Merge pull request #12");
    const source = {
      repository: "acme/order-service",
      sha: "a".repeat(40),
      runUrl: "https://github.com/acme/order-service/actions/runs/3",
    };
    const move = { service: "order-service", env: "staging", from: "ghcr.io/acme/order-service:1.4.0", source };
    const created: Array<Record<string, unknown>> = [];
    const pr = (to: string) => ({
      ...mergedPr(12, { author: "conveyor[bot]", type: "Bot", labels: ["conveyor", "env/staging"] }),
      body: `Conveyor deploys.\n\n${signedMarker({ ...move, to }, "f".repeat(40))}`,
    });
    expectPrFor(after, [pr("ghcr.io/acme/order-service:1.5.0")]);
    expectDeployment(751, created);
    // The service repository is not in this installation: it hears nothing.
    w.gh.scope.get("/repos/acme/order-service/installation").reply(404, { message: "Not Found" });
    expectComments(12, []);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });

    expect(created[0]?.payload).toMatchObject({
      source: { repository: "acme/order-service", sha: "a".repeat(40), run_url: source.runUrl },
    });
    expect(v.inFlight()[0]?.source).toEqual(source);
  });

  it("a source is not believed from a marker that does not verify, or that moved another image", async () => {
    runningVerifier();
    const source = { repository: "acme/evil", sha: "b".repeat(40) };
    const move = { service: "order-service", env: "staging", from: "ghcr.io/acme/order-service:1.4.0", source };
    const signed = signedMarker({ ...move, to: "ghcr.io/acme/order-service:1.5.0" }, "f".repeat(40));
    for (const [i, body] of [
      // Edited after signing: the source swapped.
      signed.replace("acme/evil", "acme/order-service"),
      // Signed, but for another image than the one the push brought.
      signedMarker({ ...move, to: "ghcr.io/acme/order-service:9.9.9" }, "f".repeat(40)),
    ].entries()) {
      const overlay = (w.remote.show("main", STAGING) as string).replace(/newTag: "[^"]*"/, `newTag: "1.5.${i + 1}"`);
      const { before, after } = push({ [STAGING]: overlay }, "Merge pull request #12");
      const created: Array<Record<string, unknown>> = [];
      expectPrFor(after, [
        { ...mergedPr(12, { author: "conveyor[bot]", type: "Bot", labels: ["conveyor", "env/staging"] }), body },
      ]);
      expectDeployment(760 + i, created);
      expectComments(12, []);
      await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });
      expect(created[0]?.payload).not.toHaveProperty("source");
    }
  });

  it("a revert PR's merge is recorded with revert: true", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.3.0"), "Revert order-service in staging");
    const created: Array<Record<string, unknown>> = [];
    expectPrFor(after, [
      mergedPr(33, { author: "conveyor[bot]", type: "Bot", labels: ["conveyor", "env/staging", "conveyor:revert"] }),
    ]);
    expectDeployment(741, created);
    expectComments(33, []);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "carol" });

    expect(created[0]?.payload).toMatchObject({ pr: 33, revert: true });
    expect(v.inFlight()[0]?.pr?.labels).toContain("conveyor:revert");
  });

  it("a person's PR: its author is the one told about the rollout, not whoever merged it", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.5.0"));
    expectPrFor(after, [mergedPr(12, { author: "alice", mergedBy: "bob" })]);
    expectDeployment(751, []);
    expectComments(12, []);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "bob" });

    expect(v.inFlight()[0]?.pr).toEqual({ number: 12, author: "alice", labels: [] });
  });

  it("a bot's PR: the human who merged it (the pusher) is the one told", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.5.0"));
    expectPrFor(after, [mergedPr(14, { author: "conveyor[bot]", type: "Bot", labels: ["conveyor", "env/staging"] })]);
    expectDeployment(761, []);
    expectComments(14, []);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "carol" });

    expect(v.inFlight()[0]?.pr).toMatchObject({ number: 14, author: "carol" });
  });

  it("a bot's PR merged by a bot (Conveyor's own auto-merge): nobody is named", async () => {
    const v = runningVerifier();
    const { before, after } = push(bump(STAGING, "1.5.0"));
    expectPrFor(after, [mergedPr(15, { author: "conveyor[bot]", type: "Bot" })]);
    expectDeployment(771, []);
    expectComments(15, []);

    await verifyPush(w.services, w.scope, config, { before, after, sender: "conveyor[bot]" });

    expect(v.inFlight()[0]?.pr).toMatchObject({ number: 15 });
    expect(v.inFlight()[0]?.pr?.author).toBeUndefined();
  });
});
