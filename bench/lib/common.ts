// Shared pieces of the benchmarks: machine description, percentiles, git, result files, tables.
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));

export interface Machine {
  nproc: number;
  cpu: string;
  memoryMiB: number;
  node: string;
  git: string;
  platform: string;
  date: string;
  /** 1-minute load average when the benchmark started (other work on the machine skews figures). */
  loadAverage1m: number;
}

export async function machine(): Promise<Machine> {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    git: (await run("git", ["--version"])).stdout.trim(),
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** Nearest-rank percentile (p in 0..100) of a sample. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const load1m = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;

export function summary(values: number[]): {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
} {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    mean: round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)),
  };
}

export const GIT_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  LANG: "C",
  LC_ALL: "C",
};

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: Record<string, string> } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? GIT_ENV, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${cmd} ${args.slice(0, 3).join(" ")} failed: ${stderr || error.message}`));
        else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` so that a benchmark never runs unbounded. */
export function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function writeResult(name: string, result: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, JSON.stringify(result, null, 2) + "\n");
  return path;
}

export function table(rows: Array<[string, string | number, string?]>): string {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => String(r[1]).length));
  return rows
    .map(([k, v, note]) => `  ${k.padEnd(w0)}  ${String(v).padStart(w1)}${note ? `  ${note}` : ""}`)
    .join("\n");
}

export function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/**
 * A process's ppid and CPU clock ticks from /proc/<pid>/stat: its own (user + system) and those
 * of the children it has waited for. Fields after the command name (which may hold spaces) start
 * at field 3. Throws where /proc is missing or the process is gone.
 */
function procStat(pid: number | "self"): { ppid: number; own: number; waited: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    ppid: Number(fields[1]),
    own: Number(fields[11]) + Number(fields[12]),
    waited: Number(fields[13]) + Number(fields[14]),
  };
}

/** CPU milliseconds of this process, and of its children it has waited for (kubectl, git). */
export function selfCpuMs(): { own: number; children: number } {
  const { own, waited } = procStat("self");
  return { own: own * 10, children: waited * 10 };
}

/**
 * CPU seconds a process has used, with the children it has waited for (git, kubectl): user +
 * system, from /proc (Linux). Undefined where /proc is missing or the process is gone.
 */
export function cpuSeconds(pid: number | "self"): number | undefined {
  try {
    const { own, waited } = procStat(pid);
    return Math.round(((own + waited) / 100) * 10) / 10;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process and all its descendants (`total`): its own, those it has waited for,
 * and those still running (a long-lived `git cat-file` would otherwise not count until it
 * exits); `own` is the process's alone (every thread of it: for Node, JavaScript, the garbage
 * collector's helpers and libuv's pool), without its children.
 */
export function cpuSecondsOfTree(pid: number): { total: number; own: number } | undefined {
  const stats = new Map<number, { ppid: number; own: number; waited: number }>();
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    try {
      stats.set(Number(entry), procStat(Number(entry)));
    } catch {
      // Gone meanwhile.
    }
  }
  const root = stats.get(pid);
  if (!root) return undefined;
  let ticks = root.own + root.waited;
  const pending = [pid];
  while (pending.length) {
    const parent = pending.pop() as number;
    for (const [child, s] of stats)
      if (s.ppid === parent) {
        ticks += s.own + s.waited;
        pending.push(child);
      }
  }
  return { total: Math.round((ticks / 100) * 10) / 10, own: Math.round((root.own / 100) * 10) / 10 };
}
