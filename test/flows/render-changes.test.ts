// render-changes: what a change renders to, with the real kustomize on a real repository, and
// what it refuses to render (anything outside the repository) and when it stops (its budget).
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import { renderChanges } from "../../src/flows/render-changes.js";
import { flowWorld, type FlowWorld } from "../helpers/flow-world.js";

const STAGING = "services/order-service/overlays/staging/kustomization.yaml";
const config = (parseConfig(null) as { ok: true; config: Config }).config;

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => w.cleanup());

async function changeOnBranch(edit: (text: string) => string) {
  const base = w.remote.head("main") as string;
  w.remote.git("branch", "change", "main");
  const head = w.remote.commit("change", { [STAGING]: edit(w.remote.show("main", STAGING) as string) }, "change");
  await w.scope.workspace.sync();
  return { base, head };
}

const render = (commits: { base: string; head: string }, extra: { budgetMs?: number; headTrusted?: boolean } = {}) =>
  renderChanges({
    workspace: w.scope.workspace,
    config,
    ...commits,
    renderer: w.services.renderer,
    cpu: w.services.cpu,
    ...extra,
  });

/** A base no check has read yet (references are remembered by content across checks). */
function unreadBase(): string {
  const BASE = "services/order-service/base/kustomization.yaml";
  return w.remote.commit("main", { [BASE]: `# ${randomUUID()}\n${w.remote.show("main", BASE) as string}` }, "base");
}

/** A branch off `base` that moves staging's image to `tag`. */
function bump(base: string, name: string, tag: string): string {
  w.remote.git("branch", name, base);
  const text = (w.remote.show("main", STAGING) as string).replace('newTag: "1.4.0"', `newTag: "${tag}"`);
  return w.remote.commit(name, { [STAGING]: text }, name);
}

describe("renderChanges", () => {
  it("an image change renders both sides and names the image move", async () => {
    const result = await render(await changeOnBranch((t) => t.replace('newTag: "1.4.0"', 'newTag: "1.5.0"')));
    expect(result.kind).toBe("rendered");
    if (result.kind !== "rendered") return;
    expect(result.overlays).toHaveLength(1);
    expect(result.overlays[0]?.failure).toBeUndefined();
    expect(result.overlays[0]?.images).toEqual([
      expect.objectContaining({
        before: ["ghcr.io/acme/order-service:1.4.0"],
        after: ["ghcr.io/acme/order-service:1.5.0"],
      }),
    ]);
  });

  it.each([
    ["an internal HTTP service", "http://127.0.0.1:18081/cm.yaml", "remote"],
    [
      "another tenant's clone",
      "file:///var/lib/conveyor/workspaces/victim%252Fprivate//services/billing?ref=main",
      "remote",
    ],
    ["a directory of the host", "../../../../../../../../../../tmp/host", "leaves the repository"],
  ])("a reference to %s is not rendered, and the refusal names the file and line", async (_what, reference, reason) => {
    const result = await render(
      await changeOnBranch((t) => t.replace("  - ../../base", `  - ../../base\n  - ${reference}`)),
    );
    expect(result.kind).toBe("rendered");
    if (result.kind !== "rendered") return;
    const failure = result.overlays[0]?.failure;
    expect(failure?.side).toBe("head");
    expect(failure?.error).toContain("Not rendered");
    expect(failure?.error).toContain(`\`${STAGING}:`);
    expect(failure?.error).toContain(reason);
  });

  it("changes checked one after another against one base are each judged on their own files", async () => {
    const base = w.remote.head("main") as string;
    const BASE = "services/order-service/base/kustomization.yaml";
    const PRODUCTION = STAGING.replace("staging", "production");
    const branch = (name: string, files: Record<string, string | null>) => {
      w.remote.git("branch", name, base);
      return w.remote.commit(name, files, name);
    };
    const bump = branch("bump", {
      [STAGING]: (w.remote.show("main", STAGING) as string).replace('newTag: "1.4.0"', 'newTag: "1.5.0"'),
    });
    const hostile = branch("hostile", {
      [BASE]: (w.remote.show("main", BASE) as string).replace(
        "resources:\n",
        "resources:\n  - http://127.0.0.1:18081/cm.yaml\n",
      ),
    });
    const removed = branch("removed", { [PRODUCTION]: null });
    const component = branch("component", {
      [BASE]: `${w.remote.show("main", BASE) as string}components:\n  - ../../../components/extra\n`,
      "components/extra/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  team: payments\n",
    });
    await w.scope.workspace.sync();
    const dirs = (r: Awaited<ReturnType<typeof render>>) => (r.kind === "rendered" ? r.affected : []);

    const first = await render({ base, head: bump });
    expect(dirs(first).map((o) => o.dir)).toEqual(["services/order-service/overlays/staging"]);
    // The base's kustomization changed: both overlays read it, and its new reference is refused.
    const second = await render({ base, head: hostile });
    expect(dirs(second).map((o) => [o.dir, o.because])).toEqual([
      ["services/order-service/overlays/production", ["services/order-service/base"]],
      ["services/order-service/overlays/staging", ["services/order-service/base"]],
    ]);
    if (second.kind !== "rendered") return;
    for (const overlay of second.overlays) {
      expect(overlay.failure?.side).toBe("head");
      expect(overlay.failure?.error).toContain("Not rendered");
      expect(overlay.failure?.error).toContain("http://127.0.0.1:18081/cm.yaml");
    }
    // A deleted overlay: no closure on the head side; the staging overlay, untouched, is not checked.
    const third = await render({ base, head: removed });
    expect(dirs(third).map((o) => [o.dir, o.closure.after])).toEqual([
      ["services/order-service/overlays/production", undefined],
    ]);
    // The base now reads a new component: it is part of what the overlays read on the head side,
    // so it is written out for the render, and the render succeeds.
    const fourth = await render({ base, head: component });
    expect(dirs(fourth).map((o) => o.closure.after?.includes("components/extra"))).toEqual([true, true]);
    if (fourth.kind !== "rendered") return;
    expect(fourth.overlays.map((o) => o.failure)).toEqual([undefined, undefined]);
    // And the first change again: nothing of the others leaked into it.
    expect(dirs(await render({ base, head: bump })).map((o) => o.dir)).toEqual([
      "services/order-service/overlays/staging",
    ]);
  });

  it("a change checked while another check of the same base is still reading it is judged whole", async () => {
    const base = unreadBase();
    const [first, second] = [bump(base, "first", "1.5.0"), bump(base, "second", "1.6.0")];
    await w.scope.workspace.sync();
    // The first check's reading of the kustomizations is held until the second check has begun.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let hold = true;
    const cpu = {
      run: async (name: string, input: unknown) => {
        if (name === "kustomizationRefs" && hold) {
          hold = false;
          await held;
        }
        return w.services.cpu.run(name as never, input as never);
      },
    } as unknown as typeof w.services.cpu;
    const checks = [
      renderChanges({ workspace: w.scope.workspace, config, base, head: first, renderer: w.services.renderer, cpu }),
    ];
    for (let waited = 0; hold; waited += 5) {
      expect(waited, "the first check never read the kustomizations").toBeLessThan(30_000);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    checks.push(
      renderChanges({ workspace: w.scope.workspace, config, base, head: second, renderer: w.services.renderer, cpu }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    for (const result of await Promise.all(checks)) {
      expect(result.kind === "rendered" && result.affected.map((o) => [o.dir, o.closure.after])).toEqual([
        [
          "services/order-service/overlays/staging",
          ["services/order-service/overlays/staging", "services/order-service/base"],
        ],
      ]);
      expect(result.kind === "rendered" && result.overlays.map((o) => o.failure)).toEqual([undefined]);
    }
  });

  it("checks that start together against one base parse each kustomization once", async () => {
    const base = unreadBase();
    // Tags no other test used: references are remembered by content across checks.
    const tags = ["1.5.0", "1.6.0", "1.7.0"].map((release) => `${release}-${randomUUID().slice(0, 8)}`);
    const heads = tags.map((tag, i) => bump(base, `together-${i}`, tag));
    await w.scope.workspace.sync();
    const parsed: string[] = [];
    const cpu = {
      run: (name: string, input: unknown) => {
        if (name === "kustomizationRefs")
          for (const item of input as Array<{ dir: string; text: string }>) parsed.push(`${item.dir}\n${item.text}`);
        return w.services.cpu.run(name as never, input as never);
      },
    } as unknown as typeof w.services.cpu;
    const results = await Promise.all(
      heads.map((head) =>
        renderChanges({ workspace: w.scope.workspace, config, base, head, renderer: w.services.renderer, cpu }),
      ),
    );
    for (const result of results)
      expect(result.kind === "rendered" && result.overlays.map((o) => [o.dir, o.failure])).toEqual([
        ["services/order-service/overlays/staging", undefined],
      ]);
    // The base's kustomizations (those no earlier check read), and each head's changed one: none twice.
    for (const tag of tags) expect(parsed.filter((p) => p.includes(tag))).toHaveLength(1);
    expect(parsed.length - new Set(parsed).size).toBe(0);
  });

  it("a change whose renders used up their budget is reported as not rendered", async () => {
    const result = await render(await changeOnBranch((t) => t.replace("count: 1", "count: 2")), { budgetMs: 0 });
    expect(result.kind).toBe("rendered");
    if (result.kind !== "rendered") return;
    expect(result.overlays[0]?.failure?.error).toContain("not rendered: this change's renders used up their 0 s");
  });

  it("only trusted trees whose kustomizations stay within their own resources may share a kustomize run", async () => {
    const calls = vi.spyOn(w.services.renderer, "render");
    const sides = () =>
      calls.mock.calls.map(([dir, options]) => `${/\/(base|head)\//.exec(dir)?.[1]}:${String(options?.batch)}`).sort();
    const bump = await changeOnBranch((t) => t.replace('newTag: "1.4.0"', 'newTag: "1.5.0"'));
    // A person's change: the base (the default branch) may, the head may not.
    await render(bump);
    expect(sides()).toEqual(["base:true", "head:false"]);
    // Conveyor's own change: both may.
    calls.mockClear();
    await render(bump, { headTrusted: true });
    expect(sides()).toEqual(["base:true", "head:true"]);
    // Vars are resolved across a whole build: an overlay that declares them always renders alone.
    calls.mockClear();
    const withVars = w.remote.commit(
      "change",
      {
        [STAGING]: `${w.remote.show("change", STAGING) as string}vars:\n  - name: SERVICE\n    objref: {kind: Service, name: order-service, apiVersion: v1}\n`,
      },
      "vars",
    );
    await w.scope.workspace.sync();
    await render({ base: bump.base, head: withVars }, { headTrusted: true });
    expect(sides()).toEqual(["base:true", "head:false"]);
  });
});
