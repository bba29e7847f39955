// CPU of renders that share a kustomize run against the same renders alone, with the real
// kubectl, on overlays of the generated repository's shape (bench/lib/repo.ts): for a run of N,
// N + 1 renders are asked for at once of a renderer with one shared run and no wait, so the first
// goes alone and the N others together. Prints kustomize's CPU (this process's waited-for
// children) per render, each way, and Conveyor's own CPU (this process) per render for the split.
// Run: npx tsx bench/render-batch-cpu.ts   (bench/README.md, "Fourth pass")
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Renderer } from "../src/adapters/renderer.js";
import { selfCpuMs } from "./lib/common.js";
import { baseFiles, overlayDir, overlayText, serviceName } from "./lib/repo.js";

const scratch = mkdtempSync(join(tmpdir(), "conveyor-bench-batch-"));
let made = 0;
/** One service's base and production overlay, in a tree of its own (as each check has). */
function member(): { root: string; dir: string } {
  const service = serviceName(++made);
  const root = join(scratch, `tree-${made}`);
  const files = {
    ...baseFiles(service),
    [`${overlayDir(service, "production")}/kustomization.yaml`]: overlayText(service, "production", "1.2.3"),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { root, dir: overlayDir(service, "production") };
}

async function measure(n: number, rounds: number) {
  let alone = 0;
  let shared = 0;
  let own = 0;
  for (let round = 0; round < rounds; round++) {
    const members = Array.from({ length: n + 1 }, member);
    const single = new Renderer();
    let before = selfCpuMs();
    for (const m of members.slice(1)) {
      const r = await single.render(join(m.root, m.dir), { root: m.root });
      if (!r.ok) throw new Error(r.error);
    }
    alone += selfCpuMs().children - before.children;
    const renderer = new Renderer({ sharedRuns: 1, lingerMs: 0 });
    const first = members[0] as { root: string; dir: string };
    // The first render goes alone: measured apart and taken off.
    before = selfCpuMs();
    const lone = await new Renderer().render(join(first.root, first.dir), { root: first.root });
    if (!lone.ok) throw new Error(lone.error);
    const loneCpu = selfCpuMs().children - before.children;
    before = selfCpuMs();
    const results = await Promise.all(
      members.map((m) => renderer.render(join(m.root, m.dir), { root: m.root, batch: true })),
    );
    const after = selfCpuMs();
    if (results.some((r) => !r.ok) || renderer.batches.members !== n)
      throw new Error(`not shared: ${JSON.stringify(renderer.batches)}`);
    shared += after.children - before.children - loneCpu;
    own += after.own - before.own;
  }
  const per = (ms: number) => (ms / rounds / n).toFixed(1);
  console.log(
    `${String(n).padStart(3)} renders: alone ${per(alone)} ms each, shared ${per(shared)} ms each (Conveyor ${per(own)} ms each, with the lone first)`,
  );
}

try {
  await new Renderer().locate();
  for (const n of [2, 4, 8, 16]) await measure(n, 5);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
