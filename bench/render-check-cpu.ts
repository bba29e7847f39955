// CPU of one conveyor/render check on the generated 1,000-service repository (6,001 files, 4,000
// kustomizations): N branches each change one staging overlay off main, and each is checked
// against main with the real kubectl and the real core pool, as the check run does. Prints, per
// check after a warm-up: wall time, this process's CPU (every thread: main, core worker, collector)
// and its children's (the renders), and each thread's share.
// Run: npx tsx bench/render-check-cpu.ts [checks]   (bench/README.md, "Third pass")
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitWorkspace } from "../src/adapters/git-workspace.js";
import { Renderer } from "../src/adapters/renderer.js";
import { parseConfig, type Config } from "../src/core/config.js";
import { renderChanges } from "../src/flows/render-changes.js";
import { CorePool } from "../src/runtime/core-pool.js";
import { run, selfCpuMs } from "./lib/common.js";
import { generateRepo, overlayDir, overlayText, serviceName } from "./lib/repo.js";

const ENVS = ["staging", "qa", "production"];
const checks = Number(process.argv[2] ?? 20);

/** CPU milliseconds of each thread of this process. */
function threads(): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(task, (Number(fields[11]) + Number(fields[12])) * 10);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "bench-render-check-"));
const pool = new CorePool();
try {
  const bare = join(dir, "manifests.git");
  await run("git", ["init", "--bare", "--quiet", "--initial-branch=main", bare]);
  const environments = ENVS.map((name) => ({ name }));
  const { head: main } = await generateRepo(bare, {
    services: 1000,
    envs: ENVS,
    commits: 50,
    config: `environments:\n${ENVS.map((e) => `  - name: ${e}\n`).join("")}`,
  });
  const heads: string[] = [];
  for (let i = 0; i <= checks; i++) {
    const service = serviceName(i);
    const body = overlayText(service, "staging", "9.0.0");
    const stream = `commit refs/heads/change-${i}\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 7\nchange\nfrom ${main}\nM 100644 inline ${overlayDir(service, "staging")}/kustomization.yaml\ndata ${Buffer.byteLength(body)}\n${body}\ndone\n`;
    await run("git", ["--git-dir", bare, "fast-import", "--quiet", "--done"], { input: stream });
    heads.push((await run("git", ["--git-dir", bare, "rev-parse", `refs/heads/change-${i}`])).stdout.trim());
  }
  const workspace = new GitWorkspace({ dir: join(dir, "workspace"), remoteUrl: `file://${bare}` });
  await workspace.sync();
  const config = (parseConfig({ environments }) as { ok: true; config: Config }).config;
  const renderer = new Renderer();
  const check = (head: string) => renderChanges({ workspace, config, base: main, head, renderer, cpu: pool });
  await check(heads[0] as string);
  const [threadsBefore, before, started] = [threads(), selfCpuMs(), performance.now()];
  for (const head of heads.slice(1)) await check(head);
  const [threadsAfter, after] = [threads(), selfCpuMs()];
  const per = (ms: number) => Math.round(ms / checks);
  const shares = [...threadsAfter]
    .map(([task, ms]) => [task, per(ms - (threadsBefore.get(task) ?? 0))] as const)
    .filter(([, ms]) => ms > 0)
    .map(([task, ms]) => `${task === String(process.pid) ? "main" : task} ${ms}`);
  console.log(
    `per check (n=${checks}): wall ${per(performance.now() - started)} ms; this process ${per(after.own - before.own)} ms CPU (threads: ${shares.join(", ")}); renders and other children ${per(after.children - before.children)} ms CPU`,
  );
} finally {
  await pool.stop();
  rmSync(dir, { recursive: true, force: true });
}
