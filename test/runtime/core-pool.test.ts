// The core pool runs YAML-heavy core decisions in worker threads: the answers are the core's own,
// a job's error is its own, a job that runs too long or a worker that dies costs that job only,
// and the event loop keeps turning while a worker parses.
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import { parseDispatch } from "../../src/core/dispatch.js";
import type { OverlayRender } from "../../src/core/render-report.js";
import { CorePool, type CoreJobInput, type CoreJobName } from "../../src/runtime/core-pool.js";
import { coreJobs } from "../../src/runtime/core-worker.js";

const config = (raw: unknown = null): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
};

const OVERLAY = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/acme/api # the api
    newTag: "1.4.0"
`;

/** kustomize output of `count` small ConfigMaps: linear work for the parser, about a second per 4,000. */
function manyConfigMaps(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = Array.from({ length: 20 }, (_, k) => `  key${k}: "value ${i} ${k}"`).join("\n");
    docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: team\ndata:\n${data}\n`);
  }
  return docs.join("---\n");
}

const heavyRender = (count: number): OverlayRender => ({
  dir: "services/api/overlays/staging",
  service: "api",
  env: "staging",
  because: ["the overlay"],
  before: { kind: "absent" },
  after: { kind: "rendered", yaml: manyConfigMaps(count) },
});

const pools: CorePool[] = [];
const pool = (options?: ConstructorParameters<typeof CorePool>[0]) => {
  const made = new CorePool(options);
  pools.push(made);
  return made;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.stop()));
});

describe("CorePool", () => {
  it("answers every job as the core function does when called directly", async () => {
    const cpu = pool();
    const deploy = parseDispatch("deploy-api", { image: "ghcr.io/acme/api:1.5.0" });
    if (deploy.kind !== "deploy") throw new Error("bad dispatch");
    const BASE = "resources:\n  - deployment.yaml\n";
    const HOSTILE_BASE = `${BASE}  - https://github.com/acme/shared//netpol?ref=v1\n  - ../../../../../outside\n`;
    const baseFile = (text: string) => ({
      dir: "services/api/base",
      file: "services/api/base/kustomization.yaml",
      text,
    });
    const cases: { [N in CoreJobName]: CoreJobInput<N> } = {
      readImages: OVERLAY,
      planDeploy: {
        target: {
          service: "api",
          env: "staging",
          overlayFile: "services/api/overlays/staging/kustomization.yaml",
          branch: "conveyor/staging/api",
        },
        request: deploy.request,
        config: config({ services: { api: { image: "ghcr.io/acme/api" } } }),
        onDefault: OVERLAY,
        botBranch: { text: OVERLAY.replace('"1.4.0"', '"1.4.5"'), containsDefault: true },
        openPr: { number: 7 },
        evidence: ["verified in dev"],
      },
      planRevert: {
        before: OVERLAY,
        after: OVERLAY.replace('"1.4.0"', '"1.5.0"'),
        current: `${OVERLAY.replace('"1.4.0"', '"1.5.0"')}  - name: ghcr.io/acme/sidecar\n    newTag: "2"\n`,
        previousImage: "ghcr.io/acme/api:1.4.0",
      },
      analyzeOverlay: {
        dir: "services/api/overlays/staging",
        service: "api",
        env: "staging",
        because: ["the overlay"],
        before: {
          kind: "rendered",
          yaml: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.4.0\n",
        },
        after: {
          kind: "rendered",
          yaml: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter3\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.5.0\n",
        },
        ms: { before: 12, after: 15 },
        cached: false,
      },
      kustomizationRefs: [
        { dir: "services/api/base", text: HOSTILE_BASE },
        { dir: "services/api/overlays/staging", text: OVERLAY },
      ],
      referenceProblems: { allowRemote: ["github.com/acme/"], items: [baseFile(BASE), baseFile(HOSTILE_BASE)] },
    };
    for (const name of Object.keys(cases) as CoreJobName[]) {
      const input = cases[name];
      const direct = (coreJobs[name] as (input: unknown) => unknown)(input);
      expect(await cpu.run(name, input as never), name).toEqual(direct);
    }
    // The inputs above reach each decision's interesting branch, not only its refusals.
    expect(await cpu.run("planDeploy", cases.planDeploy)).toMatchObject({
      kind: "change",
      supersedes: "ghcr.io/acme/api:1.4.5",
    });
    expect(await cpu.run("planRevert", cases.planRevert)).toMatchObject({ kind: "revert", method: "reset-image" });
    expect(await cpu.run("kustomizationRefs", cases.kustomizationRefs)).toEqual([
      {
        local: ["services/api/base/deployment.yaml"],
        remote: ["https://github.com/acme/shared//netpol?ref=v1"],
      },
      { local: ["services/api/base"], remote: [] },
    ]);
    const [plain, hostile] = await cpu.run("referenceProblems", cases.referenceProblems);
    expect(plain).toEqual([]);
    expect(hostile?.length).toBeGreaterThan(0);
    expect(cpu.threads).toBeLessThanOrEqual(2);
  });

  it("rejects with the job's own error when it throws, and keeps serving", async () => {
    const cpu = pool({ size: 1 });
    let thrown: unknown;
    try {
      coreJobs.analyzeOverlay(null as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    const { name, message } = thrown as Error;
    await expect(cpu.run("analyzeOverlay", null as never)).rejects.toMatchObject({ name, message });
    await expect(cpu.run("nothing" as CoreJobName, "" as never)).rejects.toThrow("no core job named nothing");
    // An input that cannot be copied to the worker fails that call alone.
    await expect(cpu.run("readImages", (() => "") as never)).rejects.toThrow(/could not be cloned/);
    expect(await cpu.run("readImages", OVERLAY)).toEqual(coreJobs.readImages(OVERLAY));
  });

  it("stops a job that runs past the timeout, rejects it clearly, and keeps serving with a new worker", async () => {
    const cpu = pool({ size: 1, timeoutMs: 200 });
    // The worker is up (starting one on a loaded machine may take longer than the pool's 200 ms).
    expect(await cpu.run("readImages", OVERLAY, { timeoutMs: 60_000 })).toMatchObject({ ok: true });
    expect(cpu.threads).toBe(1);
    const slow = cpu.run("analyzeOverlay", heavyRender(4_000));
    // Waits behind the slow job; its own time runs on a new worker, which a loaded machine starts slowly.
    const next = cpu.run("readImages", OVERLAY, { timeoutMs: 60_000 });
    await expect(slow).rejects.toThrow(
      "core job analyzeOverlay did not finish within 200 ms; its worker thread was stopped",
    );
    expect(await next).toEqual(coreJobs.readImages(OVERLAY));
    expect(cpu.threads).toBe(1);
    // A call may allow more time than the pool's default.
    expect(await cpu.run("analyzeOverlay", heavyRender(10), { timeoutMs: 60_000 })).toMatchObject({
      added: expect.any(Array),
    });
  });

  it("fails the job of a worker that dies (here: out of its heap limit) and starts another", async () => {
    const cpu = pool({ size: 1, maxHeapMb: 24 });
    await expect(cpu.run("analyzeOverlay", heavyRender(8_000))).rejects.toThrow(/core worker thread failed: .*memory/);
    expect(cpu.threads).toBe(0);
    expect(await cpu.run("readImages", OVERLAY)).toEqual(coreJobs.readImages(OVERLAY));
    expect(cpu.threads).toBe(1);
  });

  it("keeps the event loop turning while a worker parses for seconds", async () => {
    const cpu = pool({ size: 1 });
    await cpu.run("readImages", OVERLAY); // started, so the count below covers the parse only
    const input = heavyRender(3_000);
    let ticks = 0;
    let running = true;
    const ticker = setInterval(() => {
      if (running) ticks++;
    }, 5);
    try {
      const analysis = await cpu.run("analyzeOverlay", input);
      running = false;
      expect(analysis.added).toHaveLength(3_000);
    } finally {
      clearInterval(ticker);
    }
    // Called directly, the same parse would let no tick through until it returned.
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it("rejects what runs or waits when stopped, and runs nothing after", async () => {
    const cpu = pool({ size: 1 });
    await cpu.run("readImages", OVERLAY); // started, so the next job runs at once
    const failure = (job: Promise<unknown>) =>
      job.then(
        () => "resolved",
        (error: Error) => error.message,
      );
    const running = failure(cpu.run("analyzeOverlay", heavyRender(3_000)));
    const waiting = failure(cpu.run("readImages", OVERLAY));
    await cpu.stop();
    expect(await running).toBe("the core pool stopped");
    expect(await waiting).toBe("the core pool stopped");
    await expect(cpu.run("readImages", OVERLAY)).rejects.toThrow("the core pool is stopped");
    expect(cpu.threads).toBe(0);
  });
});
