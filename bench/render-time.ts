// Render time per overlay for a typical service (the seed order-service: Deployment + Service,
// base + overlay with namespace, replicas and image), through the same path as the check run:
// export both commits, render each affected overlay at base and head, analyse. Then the same
// commits again, served from the cache. The YAML is read and analysed in the core pool's worker
// threads; the longest the event loop waited meanwhile is printed too.
// Run: npx tsx bench/render-time.ts [rounds]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseConfig, type Config } from "../src/core/config.js";
import { GitWorkspace } from "../src/adapters/git-workspace.js";
import { Renderer } from "../src/adapters/renderer.js";
import { renderChanges } from "../src/flows/render-changes.js";
import { CorePool } from "../src/runtime/core-pool.js";
import { createManifestsRemote } from "../sandbox/manifests-remote.js";

const rounds = Number(process.argv[2] ?? 10);
const remote = createManifestsRemote();
const dir = mkdtempSync(join(tmpdir(), "conveyor-bench-"));
try {
  const workspace = new GitWorkspace({ dir: join(dir, "ws"), remoteUrl: remote.url });
  const config = (parseConfig(null) as { ok: true; config: Config }).config;
  const base = remote.head("main") as string;
  const heads: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const path = "services/order-service/base/deployment.yaml";
    remote.git("branch", "-f", `b${i}`, "main");
    heads.push(
      remote.commit(
        `b${i}`,
        { [path]: (remote.show("main", path) as string).replace("containerPort: 8080", `containerPort: ${9000 + i}`) },
        "port",
      ),
    );
  }
  await workspace.sync();
  const renderer = new Renderer();
  const cpu = new CorePool();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  console.log(
    (await renderer.locate()).found
      ? `renderer: ${((await renderer.locate()) as { info: { label: string } }).info.label}`
      : "no renderer",
  );
  const perRender: number[] = [];
  const totals: number[] = [];
  const cachedTotals: number[] = [];
  for (const head of heads) {
    let t = performance.now();
    const result = await renderChanges({ workspace, config, base, head, renderer, cpu });
    totals.push(performance.now() - t);
    if (result.kind !== "rendered") throw new Error("no renderer");
    for (const o of result.overlays) if (o.ms?.after) perRender.push(o.ms.after);
    t = performance.now();
    await renderChanges({ workspace, config, base, head, renderer, cpu });
    cachedTotals.push(performance.now() - t);
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[Math.floor(s.length / 2)]?.toFixed(0)} ms, min ${s[0]?.toFixed(0)} ms, max ${s[s.length - 1]?.toFixed(0)} ms (n=${s.length})`;
  };
  console.log(`one kustomize render (one overlay, one commit): ${stats(perRender)}`);
  console.log(`whole check, a base change -> 2 overlays x 2 commits, uncached: ${stats(totals)}`);
  console.log(`same commits again (cache hits, export + analysis only): ${stats(cachedTotals)}`);
  loopDelay.disable();
  console.log(`longest event-loop delay meanwhile: ${(loopDelay.max / 1e6).toFixed(0)} ms`);
  await cpu.stop();
} finally {
  remote.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
