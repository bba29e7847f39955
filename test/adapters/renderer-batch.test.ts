// Renders that queue up share a kustomize run (the real kustomize on this machine): each overlay
// must come back exactly as it renders alone, or be rendered alone.
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Renderer, type RenderResult } from "../../src/adapters/renderer.js";
import { SEED_DIR } from "../../sandbox/manifests-remote.js";

const scratch = mkdtempSync(join(tmpdir(), "conveyor-batch-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let trees = 0;
/** A tree of its own (a member's root), with these files. */
function tree(files: Record<string, string>, from?: string): string {
  const root = join(scratch, `tree-${++trees}`);
  if (from) cpSync(from, root, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

interface Member {
  root: string;
  dir: string;
}

/** Renders each member alone, with a renderer of its own. */
async function alone(members: Member[]): Promise<RenderResult[]> {
  const renderer = new Renderer();
  const results: RenderResult[] = [];
  for (const m of members) results.push(await renderer.render(join(m.root, m.dir), { root: m.root }));
  return results;
}

/**
 * Renders the members at once through a renderer with one shared run: the first goes alone at
 * once, the rest wait for it and go together.
 */
async function together(members: Member[]): Promise<{ results: RenderResult[]; renderer: Renderer }> {
  const renderer = new Renderer({ sharedRuns: 1, lingerMs: 0 });
  const results = await Promise.all(
    members.map((m) => renderer.render(join(m.root, m.dir), { root: m.root, batch: true })),
  );
  return { results, renderer };
}

const yamlOf = (r: RenderResult) => (r.ok ? r.yaml : `error: ${r.error}`);

describe("renders that share a kustomize run", () => {
  it("give every overlay of the seed repository exactly what it renders alone", async () => {
    const overlays: string[] = [];
    for (const service of readdirSync(join(SEED_DIR, "services")))
      for (const env of readdirSync(join(SEED_DIR, "services", service, "overlays")))
        overlays.push(`services/${service}/overlays/${env}`);
    expect(overlays.length).toBeGreaterThanOrEqual(10);
    // Each overlay in a tree of its own, as each change's check has its own.
    const members = overlays.map((dir) => ({ root: tree({}, SEED_DIR), dir }));
    const expected = await alone(members);
    for (const r of expected) expect(r.ok).toBe(true);
    const { results, renderer } = await together(members);
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    // All but the first were answered by one run.
    expect(renderer.batches).toEqual({ runs: 1, members: overlays.length - 1, entangled: 0 });
  });

  it("give back generated names, existing and empty annotations, cluster-scoped objects and empty overlays as alone", async () => {
    const members: Member[] = [
      {
        dir: "app",
        root: tree({
          "app/kustomization.yaml": `namePrefix: p-
namespace: team-a
resources: [objects.yaml]
configMapGenerator:
  - name: settings
    literals: [mode=fast]
secretGenerator:
  - name: keys
    literals: [k=v]
commonAnnotations:
  owner: team-a
`,
          "app/objects.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    zeta: "1"
    alpha: "2"
spec:
  template:
    spec:
      containers:
        - name: api
          image: api
          envFrom:
            - configMapRef: {name: settings}
            - secretRef: {name: keys}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules: []
`,
        }),
      },
      {
        dir: "plain",
        root: tree({
          "plain/kustomization.yaml": "resources: [cm.yaml]\n",
          "plain/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: plain-config
  annotations: {}
  labels: {tier: x}
data:
  text: |
    ---
    not a separator
`,
        }),
      },
      { dir: "empty", root: tree({ "empty/kustomization.yaml": "namespace: nothing\n" }) },
      {
        dir: "overlays/prod",
        root: tree({
          "base/kustomization.yaml": "resources: [svc.yaml]\n",
          "base/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n",
          "components/extra/kustomization.yaml":
            'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs: {extra: "yes"}\n',
          "overlays/prod/kustomization.yaml":
            "namespace: prod\nresources: [../../base]\ncomponents: [../../components/extra]\n",
        }),
      },
    ];
    // The first goes alone: the others share one run.
    const all = [{ dir: "o", root: tree({ "o/kustomization.yaml": "namespace: first\n" }) }, ...members];
    const expected = await alone(all);
    for (const r of expected) expect(yamlOf(r)).not.toMatch(/^error/);
    const { results, renderer } = await together(all);
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    expect(renderer.batches).toEqual({ runs: 1, members: members.length, entangled: 0 });
  });

  it("render alone an overlay whose reference another overlay's resource would have taken", async () => {
    // Alone, "shared" stays as written (nothing in the overlay is called that); in a combined
    // build kustomize points it at the other overlay's ConfigMap, named p-shared.
    const refers = {
      dir: "refers",
      root: tree({
        "refers/kustomization.yaml": "resources: [d.yaml]\n",
        "refers/d.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      volumes:
        - name: v
          configMap: {name: shared}
`,
      }),
    };
    const defines = {
      dir: "defines",
      root: tree({
        "defines/kustomization.yaml": "namePrefix: p-\nresources: [cm.yaml]\n",
        "defines/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata: {x: '2'}\n",
      }),
    };
    const first = { dir: "o", root: tree({ "o/kustomization.yaml": "namespace: first\n" }) };
    const members = [first, refers, defines];
    const expected = await alone(members);
    expect(yamlOf(expected[1] as RenderResult)).toContain("name: shared\n");
    const { results, renderer } = await together(members);
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    expect(renderer.batches).toEqual({ runs: 1, members: 2, entangled: 1 });
  });

  it("give an overlay that fails its own error, and the others their renders", async () => {
    const good = (n: number) => ({
      dir: `good-${n}`,
      root: tree({
        [`good-${n}/kustomization.yaml`]: "resources: [cm.yaml]\n",
        [`good-${n}/cm.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${n}\n`,
      }),
    });
    const broken = { dir: "broken", root: tree({ "broken/kustomization.yaml": "resources: [missing.yaml]\n" }) };
    const members = [good(1), good(2), broken, good(3)];
    const expected = await alone(members);
    expect(expected[2]?.ok).toBe(false);
    const { results, renderer } = await together(members);
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    // The shared run failed, so nothing was answered by it.
    expect(renderer.batches.runs).toBe(0);
  });

  it("never put two overlays of one tree in a run, and never wait with a run free", async () => {
    const root = tree({}, SEED_DIR);
    const renderer = new Renderer({ sharedRuns: 2 });
    const dirs = ["services/cart-service/overlays/staging", "services/cart-service/overlays/production"];
    const results = await Promise.all(dirs.map((d) => renderer.render(join(root, d), { root, batch: true })));
    expect(results.every((r) => r.ok)).toBe(true);
    // Two runs were free: both went at once, alone.
    expect(renderer.batches.runs).toBe(0);
    const expected = await alone(dirs.map((dir) => ({ root, dir })));
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    const one = new Renderer({ sharedRuns: 1 });
    const three = [...dirs, "services/user-service/overlays/staging"];
    const again = await Promise.all(three.map((d) => one.render(join(root, d), { root, batch: true })));
    expect(again.map(yamlOf)).toEqual((await alone(three.map((dir) => ({ root, dir })))).map(yamlOf));
    // Same tree: each waited for its own run.
    expect(one.batches.runs).toBe(0);
  });

  it("never put one overlay at two commits in a run (a change's base and head hold the same objects)", async () => {
    // kubectl behind a script that counts the renders it is asked for.
    const log = join(scratch, "runs.log");
    const bin = join(scratch, "counting-kustomize");
    writeFileSync(
      bin,
      `#!/bin/sh\nif [ "$1" = version ]; then exec kubectl version --client; fi\necho run >> ${log}\nshift\nexec kubectl kustomize "$@"\n`,
    );
    chmodSync(bin, 0o755);
    const renderer = new Renderer({ sharedRuns: 1, env: { ...process.env, KUSTOMIZE_BIN: bin } });
    const dir = "services/cart-service/overlays/staging";
    const base = tree({}, SEED_DIR);
    const head = tree({}, SEED_DIR);
    const first = { dir: "o", root: tree({ "o/kustomization.yaml": "namespace: first\n" }) };
    const results = await Promise.all(
      [first, { root: base, dir }, { root: head, dir }].map((m) =>
        renderer.render(join(m.root, m.dir), { root: m.root, batch: true }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    // One run each: none wasted on a shared run kustomize would refuse.
    expect(existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []).toHaveLength(3);
    expect(renderer.batches.runs).toBe(0);
  });

  /** Three changes' renders, each of its base and head: six trees of the seed repository. */
  const threeChanges = () =>
    ["cart-service", "user-service", "order-service"]
      .map((s) => `services/${s}/overlays/staging`)
      .flatMap((dir) => [
        { root: tree({}, SEED_DIR), dir },
        { root: tree({}, SEED_DIR), dir },
      ]);

  it("in a burst, wait briefly for other changes' renders and share a run with them", async () => {
    // Three changes, each rendering its base and head (six trees): more than one change at a
    // time is a burst, so the renders that find a run free still wait for company.
    const members = threeChanges();
    const expected = await alone(members);
    // kubectl behind a script that notes when each run starts and ends.
    const log = join(scratch, "burst-runs.log");
    const bin = join(scratch, "timed-kustomize");
    writeFileSync(
      bin,
      `#!/bin/sh\nif [ "$1" = version ]; then exec kubectl version --client; fi\necho start >> ${log}\nshift\nkubectl kustomize "$@"\ncode=$?\necho end >> ${log}\nexit $code\n`,
    );
    chmodSync(bin, 0o755);
    const renderer = new Renderer({ sharedRuns: 2, lingerMs: 400, env: { ...process.env, KUSTOMIZE_BIN: bin } });
    const results = await Promise.all(
      members.map((m) => renderer.render(join(m.root, m.dir), { root: m.root, batch: true })),
    );
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    // Once the burst is seen, one run at a time, so that renders gather while it runs: after
    // the first two (alone, at once), no run starts before the one before it ended.
    const events = readFileSync(log, "utf8").trim().split("\n");
    let running = 0;
    let ended = 0;
    let most = 0;
    for (const event of events) {
      running += event === "start" ? 1 : -1;
      if (event === "end") ended++;
      else if (ended >= 2) most = Math.max(most, running);
    }
    expect(events.filter((e) => e === "start").length).toBeGreaterThan(2);
    expect(most).toBe(1);
    // The first two went at once (one change's worth of trees is no burst); the four others
    // waited for each other, and at least three of them shared a run (which three went
    // together depends on which two went first: one overlay is never in a run twice).
    expect(renderer.batches.runs).toBeGreaterThanOrEqual(1);
    expect(renderer.batches.members).toBeGreaterThanOrEqual(3);
    expect(renderer.batches.entangled).toBe(0);
  });

  it("in a burst, stop waiting for company once renders stop arriving", async () => {
    const members = threeChanges();
    const expected = await alone(members);
    // Company could be waited for a minute; but nothing arrives after these six.
    const renderer = new Renderer({ sharedRuns: 1, lingerMs: 60_000, quietMs: 300 });
    let timer: NodeJS.Timeout | undefined;
    const results = await Promise.race([
      Promise.all(members.map((m) => renderer.render(join(m.root, m.dir), { root: m.root, batch: true }))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("renders still waited 30 s after the last one arrived")), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(results.map(yamlOf)).toEqual(expected.map(yamlOf));
    expect(renderer.batches.members).toBeGreaterThanOrEqual(3);
  });
});
