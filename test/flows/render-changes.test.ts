// render-changes: what a change renders to, with the real kustomize on a real repository, and
// what it refuses to render (anything outside the repository) and when it stops (its budget).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

const render = (commits: { base: string; head: string }, extra: { budgetMs?: number } = {}) =>
  renderChanges({
    workspace: w.scope.workspace,
    config,
    ...commits,
    renderer: w.services.renderer,
    cpu: w.services.cpu,
    ...extra,
  });

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

  it("a change whose renders used up their budget is reported as not rendered", async () => {
    const result = await render(await changeOnBranch((t) => t.replace("count: 1", "count: 2")), { budgetMs: 0 });
    expect(result.kind).toBe("rendered");
    if (result.kind !== "rendered") return;
    expect(result.overlays[0]?.failure?.error).toContain("not rendered: this change's renders used up their 0 s");
  });
});
