// kustomize behind a narrow interface: find a binary once, render one directory with a time limit,
// remember results by content. Renders are spawned without a shell in a minimal environment, so
// neither a crafted path nor the process's own credentials can reach the renderer; whatever it
// prints on failure is redacted before it leaves this file.
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { relative } from "node:path";
import { redact } from "./redact.js";

export interface RendererInfo {
  /** Program and leading arguments: ["kustomize", "build"] or ["kubectl", "kustomize"]. */
  command: string;
  args: string[];
  /** What the check run names, e.g. "kubectl kustomize (kustomize v5.5.0)". */
  label: string;
  version: string;
}

export type Located = { found: true; info: RendererInfo } | { found: false; reason: string };

export type RenderResult =
  | { ok: true; yaml: string; ms: number; cached: boolean }
  | { ok: false; error: string; ms: number; cached: boolean; timedOut?: boolean };

export interface RenderOptions {
  timeoutMs?: number;
  /** Content key (tree ids of everything the overlay reads); results are cached under it. */
  cacheKey?: string;
  /** The throwaway tree `dir` lives in: the render runs there, and errors name paths relative to it. */
  root?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_CHARS = 2_000;

interface Exec {
  stdout: string;
  stderr: string;
  code: number | string | null;
  timedOut: boolean;
}

function exec(command: string, args: string[], options: { cwd?: string; timeoutMs: number }): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      // Its own process group, so a timeout stops whatever the renderer started too.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
      // Nothing from Conveyor's environment (tokens, kubeconfig, proxies' credentials) is passed on.
      env: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: tmpdir(), LC_ALL: "C" },
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let overflow = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        overflow = true;
        kill();
        return;
      }
      into.push(chunk);
    };
    child.stdout.on("data", collect(stdout));
    child.stderr.on("data", collect(stderr));
    let settled = false;
    const finish = (code: number | string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        code: overflow ? "OUTPUT_TOO_LARGE" : code,
        timedOut,
      });
    };
    child.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? "ERROR"));
    child.on("close", (code, signal) => finish(code ?? signal));
  });
}

/** kustomize's complaint, safe to publish: redacted, without noise, bounded. */
export function scrubRenderError(stderr: string, workDir?: string): string {
  let text = redact(stderr);
  // kubectl wraps kustomize's message in a klog line: E1126 03:33:05.68 23962 run.go:72] "command failed" err="..."
  const klog = /^[EWF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "command failed" err="((?:[^"\\]|\\.)*)"\s*$/m.exec(text);
  if (klog)
    text = (klog[1] as string)
      .replace(/\\(["\\])/g, "$1")
      .replace(/\\n/g, "\n")
      .replace(/\\t/g, "\t");
  // The throwaway directory means nothing to a reader; paths are shown relative to the repo.
  if (workDir)
    text = text
      .split(`${workDir.replace(/\/$/, "")}/`)
      .join("")
      .split(workDir)
      .join(".");
  // Values that look like credentials in key=value or key: value form (a secretGenerator literal
  // echoed back in an error, say) are masked; the key stays so the message still makes sense.
  text = text.replace(
    /\b([\w.-]*(?:password|passwd|secret|token|apikey|api_key|private_key|credential)s?[\w.-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi,
    "$1$2[REDACTED]",
  );
  text = text.replace(/^Error: /, "").trim();
  return text.length > MAX_ERROR_CHARS
    ? `${text.slice(0, MAX_ERROR_CHARS)}… (${text.length - MAX_ERROR_CHARS} more characters)`
    : text;
}

async function versionOf(command: string, args: string[]): Promise<string | undefined> {
  const result = await exec(command, args, { timeoutMs: 10_000 });
  if (result.code !== 0) return undefined;
  return result.stdout;
}

/**
 * Finds a renderer: KUSTOMIZE_BIN if set, else `kustomize` on PATH, else `kubectl kustomize`.
 * A KUSTOMIZE_BIN that does not run is reported as such, not silently replaced.
 */
export async function locateRenderer(env: NodeJS.ProcessEnv = process.env): Promise<Located> {
  const configured = env.KUSTOMIZE_BIN?.trim();
  if (configured) {
    const out = await versionOf(configured, ["version"]);
    if (out === undefined)
      return {
        found: false,
        reason: `KUSTOMIZE_BIN is set to ${configured}, but \`${configured} version\` does not run`,
      };
    const version = kustomizeVersion(out);
    return {
      found: true,
      info: { command: configured, args: ["build"], version, label: `${configured} (kustomize ${version})` },
    };
  }
  const standalone = await versionOf("kustomize", ["version"]);
  if (standalone !== undefined) {
    const version = kustomizeVersion(standalone);
    return { found: true, info: { command: "kustomize", args: ["build"], version, label: `kustomize ${version}` } };
  }
  const kubectl = await versionOf("kubectl", ["version", "--client", "--output=json"]);
  if (kubectl !== undefined) {
    let version = "unknown version";
    try {
      const parsed = JSON.parse(kubectl) as { kustomizeVersion?: string };
      if (parsed.kustomizeVersion) version = parsed.kustomizeVersion;
    } catch {
      // An unusual kubectl build: it still renders; the version is just not known.
    }
    return {
      found: true,
      info: { command: "kubectl", args: ["kustomize"], version, label: `kubectl kustomize (kustomize ${version})` },
    };
  }
  return {
    found: false,
    reason: "no kustomize renderer found: KUSTOMIZE_BIN is not set, and neither `kustomize` nor `kubectl` is on PATH",
  };
}

/** "v5.5.0", from `kustomize version` output in any of its historical shapes. */
function kustomizeVersion(out: string): string {
  return /v\d+\.\d+\.\d+[\w.+-]*/.exec(out)?.[0] ?? (out.trim().split("\n")[0] || "unknown version");
}

/** Renders overlays; finds its binary on first use and keeps a small LRU of results. */
export class Renderer {
  private located?: Promise<Located>;
  private readonly cache = new Map<string, RenderResult>();
  private cachedChars = 0;

  constructor(
    private readonly options: {
      env?: NodeJS.ProcessEnv;
      maxEntries?: number;
      maxCachedChars?: number;
      timeoutMs?: number;
    } = {},
  ) {}

  locate(): Promise<Located> {
    this.located ??= locateRenderer(this.options.env ?? process.env);
    return this.located;
  }

  /** Renders `dir` (an overlay directory inside a throwaway tree). */
  async render(dir: string, options: RenderOptions = {}): Promise<RenderResult> {
    const located = await this.locate();
    if (!located.found) return { ok: false, error: located.reason, ms: 0, cached: false };
    const key = options.cacheKey === undefined ? undefined : `${located.info.label}\0${options.cacheKey}`;
    const hit = key === undefined ? undefined : this.cache.get(key);
    if (key !== undefined && hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { ...hit, ms: 0, cached: true };
    }
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = performance.now();
    const target = options.root ? relative(options.root, dir) || "." : dir;
    const run = await exec(located.info.command, [...located.info.args, target], { cwd: options.root, timeoutMs });
    const ms = Math.round(performance.now() - started);
    let result: RenderResult;
    if (run.timedOut)
      result = {
        ok: false,
        error: `the render did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`,
        ms,
        cached: false,
        timedOut: true,
      };
    else if (run.code === "OUTPUT_TOO_LARGE")
      result = {
        ok: false,
        error: `the rendered output is larger than ${MAX_OUTPUT_BYTES / 1024 / 1024} MB`,
        ms,
        cached: false,
      };
    else if (run.code !== 0)
      result = {
        ok: false,
        error:
          scrubRenderError(run.stderr || `exited with ${String(run.code)}`, options.root) ||
          "the renderer failed without a message",
        ms,
        cached: false,
      };
    else result = { ok: true, yaml: run.stdout, ms, cached: false };
    // A timeout may be the machine, not the overlay: only deterministic outcomes are remembered.
    if (key !== undefined && !(!result.ok && result.timedOut)) this.remember(key, result);
    return result;
  }

  private remember(key: string, result: RenderResult): void {
    const size = result.ok ? result.yaml.length : result.error.length;
    const maxChars = this.options.maxCachedChars ?? 32 * 1024 * 1024;
    if (size > maxChars) return;
    this.cache.set(key, result);
    this.cachedChars += size;
    const maxEntries = this.options.maxEntries ?? 256;
    for (const [oldest, value] of this.cache) {
      if (this.cache.size <= maxEntries && this.cachedChars <= maxChars) break;
      this.cache.delete(oldest);
      this.cachedChars -= value.ok ? value.yaml.length : value.error.length;
    }
  }
}
