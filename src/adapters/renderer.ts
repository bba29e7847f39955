// kustomize behind a narrow interface: find a binary once, render one directory with a time and
// an output limit, remember results by content. The overlays rendered are other people's, so a
// render gets nothing it does not need:
// - no credentials: it is spawned without a shell, in an environment of its own (PATH, an empty
//   HOME and TMPDIR that are deleted afterwards), never Conveyor's;
// - no git: git, which kustomize runs for remote bases, is told to allow no transport at all;
// - no network: where the kernel lets an unprivileged process have a network namespace of its own
//   (`unshare --user --net`), the render runs in one, where not even loopback is up. Elsewhere
//   every proxy variable points at a closed port, so Go's HTTP client reaches no host, except that
//   Go never proxies "localhost" or a loopback address: those are refused by reading the tree
//   before the render (see localAddressReference; a best effort, the namespace is the real fence);
// - no runaway: its whole process group is killed at the time limit or once it has printed more
//   than a check run could ever show.
// Whatever it prints on failure is redacted, and stripped of the throwaway paths, before it
// leaves this file.
import { spawn } from "node:child_process";
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { CST, isAlias, isMap, isScalar, isSeq, Lexer, parseAllDocuments, Parser, visit, type Document } from "yaml";
import { batchKustomization, entangled, MAX_BATCH, plainPath, splitBatch } from "../core/render-batch.js";
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
  /**
   * The overlay names remote bases that `render.allowRemote` trusts (pinned to a commit): this
   * render may fetch them with git over https, and nothing else. Without a network namespace,
   * and with the tree check for addresses on this machine still applied.
   */
  remoteGit?: boolean;
  /**
   * The overlay may share a kustomize run with other overlays when renders queue up (its tree is
   * trusted, and its kustomizations pass core/render-batch's batchableKustomization). Needs `root`.
   */
  batch?: boolean;
}

/** Kustomize runs at a time for renders that may share one. */
const SHARED_RUNS = 2;
/**
 * ... in a burst: one, so renders gather while it runs. Two runs of four overlays each cost
 * kubectl's start twice for what one run of eight does (see bench/README.md, "Fifth pass").
 */
const BURST_RUNS = 1;

/** A render, decided and ready to run. */
interface Job {
  info: RendererInfo;
  dir: string;
  root?: string;
  remoteGit?: boolean;
  isolation: { mode: Isolation };
  timeoutMs: number;
}

interface Waiting {
  job: Job;
  resolve: (result: RenderResult) => void;
  reject: (error: unknown) => void;
  since: number;
}

/**
 * In a burst, how long a render may wait for others to share its kustomize run. A change's base
 * and head never share a run (the same objects twice), so a run holds one side of the changes
 * that arrived meanwhile: about 9 overlays a run in the burst bench, against 7 with 3 s
 * (bench/README.md, "Sixth pass").
 */
const LINGER_MS = 6_000;
/** ... unless this many are waiting already (a full run) ... */
const LINGER_ENOUGH = MAX_BATCH;
/** ... or no render has arrived for this long (the burst is over: the last ones go now). */
const QUIET_MS = 1_000;
/** A burst: more than one change's trees seen within this long. */
const BUSY_WINDOW_MS = 3_000;

/**
 * How a render is kept off the network. "namespace": in a network namespace of its own (Linux,
 * unprivileged user namespaces allowed); "environment": dead proxies, no git transports, and a
 * check of the tree for local addresses. "auto" (the default) takes the namespace where it works.
 * Set with the `isolation` option or CONVEYOR_RENDER_ISOLATION; "namespace" makes renders fail
 * rather than run without one.
 */
export type Isolation = "namespace" | "environment";
export type IsolationSetting = Isolation | "auto";

const DEFAULT_TIMEOUT_MS = 30_000;
/** A check run shows 64 KiB; 16 MiB of YAML is far beyond any real overlay and still cheap to diff. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_CHARS = 2_000;
/** Where every proxy points: the discard port on loopback, which nothing serves, so connects fail at once. */
const DEAD_PROXY = "http://127.0.0.1:9";
const FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The whole environment of a render. Nothing of Conveyor's own (tokens, kubeconfig, cloud
 * credentials, proxy credentials) is passed on.
 */
export function renderEnvironment(
  path: string,
  home: string,
  options: { remoteGit?: boolean } = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: path,
    // Empty, private and deleted afterwards: no ~/.gitconfig, ~/.netrc, ~/.kube or plugin dirs;
    // kustomize clones remote bases under TMPDIR.
    HOME: home,
    TMPDIR: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    KUBECONFIG: join(home, ".kube", "config"),
    LC_ALL: "C",
    // kustomize is Go, and a render is a short run: starting the binary is most of its cost. No
    // garbage collection until the heap nears 256 MiB (then Go collects as usual, so a huge
    // overlay is still bounded), and one OS thread for Go code: about 15% less CPU per render.
    GOGC: "off",
    GOMEMLIMIT: "256MiB",
    GOMAXPROCS: "1",
    // git: no system or global config, and no transport allowed. An empty GIT_ALLOW_PROTOCOL is a
    // list naming no protocol, so git refuses every one, file:// and local paths included
    // ("transport 'file' not allowed"); it takes precedence over config. protocol.allow=never
    // says the same through config (GIT_CONFIG_COUNT, git 2.31+) for a git that ignored the
    // variable, and protocol.file.allow=never overrides file's built-in default of "always".
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ALLOW_PROTOCOL: "",
    GIT_CONFIG_COUNT: "2",
    GIT_CONFIG_KEY_0: "protocol.allow",
    GIT_CONFIG_VALUE_0: "never",
    GIT_CONFIG_KEY_1: "protocol.file.allow",
    GIT_CONFIG_VALUE_1: "never",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: "false",
    // Go's HTTP client (kustomize's remote files) and git's curl send everything to a closed port.
    // Go reads the upper- and lower-case forms; ALL_PROXY is curl's. NO_PROXY is empty so no host
    // is exempt; Go still connects directly to "localhost" and loopback addresses, which the
    // namespace, or localAddressReference, covers.
    HTTP_PROXY: DEAD_PROXY,
    HTTPS_PROXY: DEAD_PROXY,
    http_proxy: DEAD_PROXY,
    https_proxy: DEAD_PROXY,
    ALL_PROXY: DEAD_PROXY,
    all_proxy: DEAD_PROXY,
    NO_PROXY: "",
    no_proxy: "",
  };
  if (!options.remoteGit) return env;
  // Trusted remote bases: git may use https (and only https), and the network is reachable.
  for (const name of [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
  ])
    delete env[name];
  return {
    ...env,
    GIT_ALLOW_PROTOCOL: "https",
    GIT_CONFIG_COUNT: "3",
    GIT_CONFIG_KEY_2: "protocol.https.allow",
    GIT_CONFIG_VALUE_2: "always",
  };
}

interface Exec {
  stdout: string;
  stderr: string;
  code: number | string | null;
  timedOut: boolean;
}

interface ExecOptions {
  cwd?: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  maxOutputBytes?: number;
}

function exec(command: string, args: string[], options: ExecOptions): Promise<Exec> {
  const maxOutput = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      // Its own process group, so stopping it stops whatever it started too.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
      env: options.env,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let overflow = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // ESRCH: the group is gone already.
      }
    };
    const stop = () => {
      killGroup();
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited.
      }
      // A process that left the group (setsid) may still hold the pipes open: stop reading, so
      // "close" comes once the child itself is gone rather than whenever that process ends.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (overflow || timedOut) return;
      size += chunk.length;
      if (size > maxOutput) {
        overflow = true;
        stop();
        return;
      }
      into.push(chunk);
    };
    child.stdout.on("data", collect(stdout));
    child.stderr.on("data", collect(stderr));
    // Once the renderer has exited, nothing it started has any business running on.
    child.on("exit", killGroup);
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

/** Runs `fn` with a fresh, empty directory for HOME and TMPDIR, removed afterwards. */
async function withScratchHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), "conveyor-kustomize-"));
  try {
    return await fn(home);
  } finally {
    await rm(home, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** "16 MiB", "64 KiB", "1500 bytes". */
function bytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / 1024 / 1024} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** "30 s", "300 ms", "1.5 s". */
function duration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * kustomize's complaint, safe to publish: redacted, without noise, bounded, and without the
 * throwaway directories' absolute paths (`workDir` becomes ".", its siblings "../x", and each of
 * `hidden` "$TMPDIR").
 */
export function scrubRenderError(stderr: string, workDir?: string, hidden: string[] = []): string {
  let text = redact(stderr);
  // kubectl wraps kustomize's message in a klog line: E1126 03:33:05.68 23962 run.go:72] "command failed" err="..."
  const klog = /^[EWF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "command failed" err="((?:[^"\\]|\\.)*)"\s*$/m.exec(text);
  // ... or, for a message of several lines, in err=< then the lines tab-indented, then " >".
  const klogBlock = /^[EWF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "command failed" err=<\n((?:\t.*(?:\n|$))*)\s*>\s*$/m.exec(
    text,
  );
  if (klog)
    text = (klog[1] as string)
      .replace(/\\(["\\])/g, "$1")
      .replace(/\\n/g, "\n")
      .replace(/\\t/g, "\t");
  else if (klogBlock) text = (klogBlock[1] as string).replace(/^\t/gm, "");
  // The throwaway directories mean nothing to a reader; paths are shown relative to the repo.
  const replace = (from: string, to: string) => {
    if (from.length > 1) text = text.split(from).join(to);
  };
  for (const dir of hidden) {
    replace(`${dir.replace(/\/+$/, "")}/`, "$TMPDIR/");
    replace(dir.replace(/\/+$/, ""), "$TMPDIR");
  }
  if (workDir) {
    const dir = workDir.replace(/\/+$/, "");
    replace(`${dir}/`, "");
    replace(dir, ".");
    // The tree's siblings (the other commit's tree, in the same scratch directory).
    const parent = dirname(dir);
    if (parent !== dir && parent !== "/" && parent !== ".") replace(`${parent}/`, "../");
  }
  // Any other scratch directory of Conveyor's.
  text = text.replace(new RegExp(`${escapeRegExp(tmpdir().replace(/\/+$/, ""))}/conveyor-[\\w.-]+`, "g"), "$TMPDIR");
  // Values that look like credentials in key=value or key: value form (a secretGenerator literal
  // echoed back in an error, say) are masked; the key stays so the message still makes sense.
  // A file name is not a key: "open secret.txt: no such file" names a file and says nothing secret.
  text = text.replace(
    /\b([\w.-]*(?:password|passwd|secret|token|apikey|api_key|private_key|credential)s?[\w.-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi,
    (whole, key: string, separator: string) => (FILE_NAME.test(key) ? whole : `${key}${separator}[REDACTED]`),
  );
  text = text.replace(/^Error: /, "").trim();
  return text.length > MAX_ERROR_CHARS
    ? `${text.slice(0, MAX_ERROR_CHARS)}… (${text.length - MAX_ERROR_CHARS} more characters)`
    : text;
}

/** Keys that are file names (kustomize names files in its errors), not credentials. */
const FILE_NAME = /\.(txt|ya?ml|json|env|pem|crt|cert|cer|key|pub|conf|cfg|ini|properties|toml|xml|p12|jks|asc|gpg)$/i;

// --- The tree check for environment-only isolation --------------------------------------------

/**
 * Keys whose string values kustomize loads as a file, a directory or a URL: a kustomization's
 * resources, bases, components, crds, configurations, generators/transformers/validators,
 * openapi.path, patches[].path, patchesStrategicMerge, patchesJson6902[].path,
 * replacements[].path, generators' files/envs/env, and the same fields of builtin plugin
 * configurations (PatchTransformer's path, ...). Matched case-insensitively, as Go's JSON
 * decoding matches field names.
 */
const LOAD_KEYS = new Set([
  "resources",
  "bases",
  "components",
  "crds",
  "configurations",
  "generators",
  "transformers",
  "validators",
  "path",
  "paths",
  "patchesstrategicmerge",
  "files",
  "envs",
  "env",
  "valuesfile",
  "additionalvaluesfiles",
]);
/** Keys whose entries may be whole YAML documents inline (a transformer's configuration, a patch). */
const INLINE_KEYS = new Set(["generators", "transformers", "validators", "patchesstrategicmerge"]);
/** Keys of a kustomization naming more kustomizations (directories) or resource files. */
const REFERENCE_KEYS = new Set(["resources", "bases", "components"]);
/** Keys of a kustomization naming plugin configurations: files, or kustomizations that output them. */
const CONFIG_KEYS = new Set(["generators", "transformers", "validators"]);
const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const MAX_CHECKED_FILES = 20_000;
/** Per file, and in all, of what is parsed: far beyond any kustomization, bounded work on the event loop. */
const MAX_PARSED_FILE_BYTES = 1024 * 1024;
const MAX_PARSED_BYTES = 8 * 1024 * 1024;
/** Deeper nesting than this is refused unparsed: the `yaml` composer recurses once per level. */
const MAX_NESTING = 64;

/**
 * Whether `entry` (a load path, possibly "key=path") is an http(s) URL whose host Go's HTTP
 * client would connect to directly, proxies notwithstanding: "localhost" or a loopback address.
 * Deliberately broad: any IP literal, anything naming "localhost", any host Go would have to
 * decode (percent escapes, non-ASCII, which IDNA may map to ASCII). Such a URL could not be
 * fetched anyway; refusing it early costs nothing.
 */
export function isLocalUrl(entry: string): boolean {
  const candidates = [entry.trim()];
  const eq = entry.indexOf("=");
  if (eq >= 0) candidates.push(entry.slice(eq + 1).trim());
  return candidates.some((candidate) => {
    const match = /^https?:\/\/([^/?#]*)/i.exec(candidate);
    if (!match) return false;
    const authority = match[1] as string;
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    if (/[^\x21-\x7e]|%|\\/.test(hostPort)) return true;
    const host = (hostPort.startsWith("[") ? hostPort : hostPort.replace(/:[^:]*$/, ""))
      .normalize("NFKC")
      .toLowerCase();
    return host === "" || host.startsWith("[") || host.includes("localhost") || /^[\d.]+$/.test(host);
  });
}

/** The documents of `text`, or why it is not parsed: too large, or nested too deep. */
function parseBounded(text: string): Document[] | string {
  if (text.length > MAX_PARSED_FILE_BYTES) return `larger than ${bytes(MAX_PARSED_FILE_BYTES)}`;
  // The lexer and CST parser are iterative: measure the nesting before composing documents.
  const parser = new Parser();
  for (const lexeme of new Lexer().lex(text)) {
    for (const _token of parser.next(lexeme)) {
      // Only the stack matters here.
    }
    if (parser.stack.length > MAX_NESTING && parser.stack.filter(CST.isCollection).length > MAX_NESTING)
      return `nested deeper than ${MAX_NESTING} levels`;
  }
  return parseAllDocuments(text) as Document[];
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

/** Each string under `key` in a load position: the value itself, or the entries of a list. */
function loadEntries(doc: Document, value: unknown): string[] {
  const resolve = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  const resolved = resolve(value);
  const nodes = isSeq(resolved) ? resolved.items.map(resolve) : [resolved];
  return nodes.map(scalarText).filter((text): text is string => text !== undefined);
}

/** The first local URL in a load position of `docs`, looking into inline documents too; or why it cannot be told. */
function localUrlIn(docs: Document[], depth = 0): { url: string } | { unchecked: string } | undefined {
  let found: { url: string } | { unchecked: string } | undefined;
  for (const doc of docs) {
    visit(doc, {
      Pair(_, pair) {
        const key = scalarText(pair.key)?.toLowerCase();
        if (key === undefined || !LOAD_KEYS.has(key)) return undefined;
        for (const text of loadEntries(doc, pair.value)) {
          if (isLocalUrl(text)) found = { url: text };
          else if (depth < 3 && INLINE_KEYS.has(key) && text.includes("\n")) {
            const inner = parseBounded(text);
            found =
              typeof inner === "string" ? { unchecked: `an inline document ${inner}` } : localUrlIn(inner, depth + 1);
          }
          if (found !== undefined) return visit.BREAK;
        }
        return undefined;
      },
    });
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A kustomization's local entries under `keys` (top level, any case), resolved against `dir`. */
function entriesNamed(docs: Document[], keys: Set<string>, dir: string): string[] {
  const found: string[] = [];
  for (const doc of docs) {
    if (!isMap(doc.contents)) continue;
    for (const pair of doc.contents.items) {
      const key = scalarText(pair.key)?.toLowerCase();
      if (key === undefined || !keys.has(key)) continue;
      for (const entry of loadEntries(doc, pair.value))
        if (!entry.includes("\n") && !/^[a-z][\w+.-]*:/i.test(entry.trim())) found.push(join(dir, entry.trim()));
    }
  }
  return found;
}

type TreeCheck = { file: string; url: string } | { file: string; unchecked: string } | undefined;

/**
 * Used only when the render cannot have a network namespace: the first place where rendering
 * `dir` would have kustomize load a URL on this machine, which no proxy setting stops; or a file
 * that could not be checked. Follows what kustomize reads: each kustomization from `dir` on
 * (resources, bases, components, inside `root`), and whatever it names as generator, transformer
 * or validator configuration, all of it: such a file, or every file of such a kustomization,
 * whatever its extension. Resource files are data and are not read. Symbolic links are never
 * followed. A best effort: a value assembled during the build (replacements, JSON patches) is not
 * seen here.
 */
export async function localAddressReference(root: string, dir: string = root): Promise<TreeCheck> {
  const top = root.replace(/\/+$/, "");
  const inside = (path: string) => path === top || path.startsWith(`${top}/`);
  let files = 0;
  let parsed = 0;
  const done = new Set<string>();
  const check = async (path: string, always: boolean): Promise<TreeCheck | { docs: Document[] }> => {
    const file = relative(root, path);
    if (++files > MAX_CHECKED_FILES) return { file, unchecked: `more than ${MAX_CHECKED_FILES} files to check` };
    const size = (await lstat(path)).size;
    if (size > MAX_PARSED_FILE_BYTES) return { file, unchecked: `larger than ${bytes(MAX_PARSED_FILE_BYTES)}` };
    const text = await readFile(path, "utf8");
    // A URL needs "://", unless spelled with escapes ("\x2f") or a tag (!!binary).
    if (!always && !/:\/\/|\\|!/.test(text)) return { docs: [] };
    if ((parsed += size) > MAX_PARSED_BYTES)
      return { file, unchecked: `more than ${bytes(MAX_PARSED_BYTES)} to check` };
    const docs = parseBounded(text);
    if (typeof docs === "string") return { file, unchecked: docs };
    const found = localUrlIn(docs);
    return found === undefined ? { docs } : { file, ...found };
  };
  // (path, whether what it holds is plugin configuration)
  const pending: Array<[string, boolean]> = [[dir, false]];
  while (pending.length) {
    const [path, config] = pending.pop() as [string, boolean];
    const seen = `${config}\0${path}`;
    if (done.has(seen) || !inside(path)) continue;
    done.add(seen);
    let stat;
    try {
      stat = await lstat(path);
    } catch {
      continue; // nothing there: kustomize will say so
    }
    if (stat.isFile()) {
      if (!config) continue;
      const result = await check(path, true);
      if (result && !("docs" in result)) return result;
      continue;
    }
    if (!stat.isDirectory()) continue;
    const names = (await readdir(path, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    const kustomization = KUSTOMIZATION_FILES.find((name) => names.includes(name));
    if (config) {
      // A kustomization whose output is configuration: anything in it may become a configuration.
      const walk = [path];
      while (walk.length) {
        const current = walk.pop() as string;
        for (const entry of await readdir(current, { withFileTypes: true })) {
          const file = join(current, entry.name);
          if (entry.isDirectory()) walk.push(file);
          else if (entry.isFile() && !(current === path && entry.name === kustomization)) {
            const result = await check(file, false);
            if (result && !("docs" in result)) return result;
          }
        }
      }
    }
    if (kustomization === undefined) continue;
    const result = await check(join(path, kustomization), true);
    if (result === undefined || !("docs" in result)) {
      if (result) return result;
      continue;
    }
    for (const named of entriesNamed(result.docs, REFERENCE_KEYS, path)) pending.push([named, config]);
    for (const named of entriesNamed(result.docs, CONFIG_KEYS, path)) pending.push([named, true]);
  }
  return undefined;
}

// --- Finding and running the renderer ----------------------------------------------------------

function pathOf(env: NodeJS.ProcessEnv): string {
  return env.PATH ?? process.env.PATH ?? FALLBACK_PATH;
}

async function versionOf(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const result = await withScratchHome((home) =>
    exec(command, args, { timeoutMs: 10_000, env: renderEnvironment(pathOf(env), home) }),
  );
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
    const out = await versionOf(configured, ["version"], env);
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
  const standalone = await versionOf("kustomize", ["version"], env);
  if (standalone !== undefined) {
    const version = kustomizeVersion(standalone);
    return { found: true, info: { command: "kustomize", args: ["build"], version, label: `kustomize ${version}` } };
  }
  const kubectl = await versionOf("kubectl", ["version", "--client", "--output=json"], env);
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

/** The command line that runs `command args` with no network: util-linux's unshare, no fork. */
const inNamespace = (command: string, args: string[]) => ["--user", "--net", "--", command, ...args];

/** Whether the renderer runs in a network namespace of its own here (it runs its `version`). */
async function namespaceWorks(info: RendererInfo, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (process.platform !== "linux") return false;
  const version = info.args[0] === "kustomize" ? ["version", "--client"] : ["version"];
  return (await versionOf("unshare", inNamespace(info.command, version), env)) !== undefined;
}

type IsolationResolved = { mode: Isolation } | { error: string };

/** Renders overlays; finds its binary on first use and keeps a small LRU of results. */
export class Renderer {
  private located?: Promise<Located>;
  private isolated?: Promise<IsolationResolved>;
  private readonly cache = new Map<string, RenderResult>();
  private cachedChars = 0;
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private readonly arrivals: Array<{ at: number; root: string }> = [];
  private lingerTimer?: NodeJS.Timeout;
  /** Shared runs that answered, the overlays they answered for, and those rendered again alone. */
  readonly batches = { runs: 0, members: 0, entangled: 0 };
  /** Since start: kustomize processes started (shared runs included), and renders the cache answered. */
  readonly counts = { processes: 0, cached: 0 };

  constructor(
    private readonly options: {
      env?: NodeJS.ProcessEnv;
      maxEntries?: number;
      maxCachedChars?: number;
      timeoutMs?: number;
      /** Bytes of output (stdout and stderr) after which a render is stopped; 16 MiB by default. */
      maxOutputBytes?: number;
      /** Default: CONVEYOR_RENDER_ISOLATION, else "auto". */
      isolation?: IsolationSetting;
      /** Kustomize runs at a time for renders that may be batched (2 by default; 1 in a burst). */
      sharedRuns?: number;
      /** In a burst, how long a render may wait for others to share its run (6 s by default; 0: never). */
      lingerMs?: number;
      /** ... as long as another render arrived within this long (1 s by default). */
      quietMs?: number;
    } = {},
  ) {}

  private get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  locate(): Promise<Located> {
    this.located ??= locateRenderer(this.env);
    return this.located;
  }

  /** How renders are kept off the network here, decided on first use. */
  async isolation(): Promise<IsolationResolved> {
    this.isolated ??= (async (): Promise<IsolationResolved> => {
      const setting = this.options.isolation ?? (this.env.CONVEYOR_RENDER_ISOLATION?.trim() || "auto");
      if (setting === "environment") return { mode: "environment" };
      if (setting !== "auto" && setting !== "namespace")
        return {
          error: `CONVEYOR_RENDER_ISOLATION is "${setting}"; it must be "auto", "namespace" or "environment"`,
        };
      const located = await this.locate();
      if (located.found && (await namespaceWorks(located.info, this.env))) return { mode: "namespace" };
      if (setting === "namespace")
        return {
          error:
            "renders must run without a network (CONVEYOR_RENDER_ISOLATION=namespace), but `unshare --user --net` does not work here: allow unprivileged user namespaces, or set CONVEYOR_RENDER_ISOLATION=auto",
        };
      return { mode: "environment" };
    })();
    return this.isolated;
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
      this.counts.cached++;
      return { ...hit, ms: 0, cached: true };
    }
    const isolated = await this.isolation();
    if ("error" in isolated && !options.remoteGit) return { ok: false, error: isolated.error, ms: 0, cached: false };
    const isolation: IsolationResolved = options.remoteGit || "error" in isolated ? { mode: "environment" } : isolated;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let result: RenderResult;
    const refused = isolation.mode === "environment" ? await this.refusal(options.root ?? dir, dir) : undefined;
    const job: Job = {
      info: located.info,
      dir,
      root: options.root,
      remoteGit: options.remoteGit,
      isolation,
      timeoutMs,
    };
    if (refused !== undefined) result = { ok: false, error: refused, ms: 0, cached: false };
    else if (options.batch && job.root !== undefined && !options.remoteGit && plainPath(relative(job.root, dir)))
      result = await this.shared(job);
    else result = await this.alone(job);
    // A timeout may be the machine, not the overlay: only deterministic outcomes are remembered.
    if (key !== undefined && !(!result.ok && result.timedOut)) this.remember(key, result);
    return result;
  }

  /** One kustomize run for one overlay. */
  private async alone(job: Job): Promise<RenderResult> {
    const { dir, root, timeoutMs } = job;
    const maxOutputBytes = this.options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const started = performance.now();
    const target = root ? relative(root, dir) || "." : dir;
    let home = "";
    this.counts.processes++;
    const run = await withScratchHome((scratchHome) => {
      home = scratchHome;
      return exec(...this.commandLine(job, target), {
        cwd: root,
        timeoutMs,
        maxOutputBytes,
        env: renderEnvironment(pathOf(this.env), scratchHome, { remoteGit: job.remoteGit }),
      });
    });
    const ms = Math.round(performance.now() - started);
    if (run.timedOut)
      return {
        ok: false,
        error: `the render did not finish within ${duration(timeoutMs)} and was stopped`,
        ms,
        cached: false,
        timedOut: true,
      };
    if (run.code === "OUTPUT_TOO_LARGE")
      return {
        ok: false,
        error: `the render printed more than ${bytes(maxOutputBytes)}, the most Conveyor reads, and was stopped`,
        ms,
        cached: false,
      };
    if (run.code !== 0)
      return {
        ok: false,
        error:
          scrubRenderError(run.stderr || `exited with ${String(run.code)}`, root, [home]) ||
          "the renderer failed without a message",
        ms,
        cached: false,
      };
    return { ok: true, yaml: run.stdout, ms, cached: false };
  }

  private commandLine(job: Job, target: string): [string, string[]] {
    const { command, args } = job.info;
    return job.isolation.mode === "namespace"
      ? ["unshare", inNamespace(command, [...args, target])]
      : [command, [...args, target]];
  }

  /**
   * A render that may share a kustomize run with others (see core/render-batch). At most
   * `sharedRuns` such runs at a time. While only one change renders, a render that finds a run
   * free goes at once, alone: a single change waits for nothing. While several changes render
   * (a burst), one run goes at a time; a render waits up to `lingerMs` for others to share its
   * run, or until a run's worth are waiting, or until none has arrived for `quietMs`, and renders
   * that find the run busy wait for it and go together.
   */
  private shared(job: Job): Promise<RenderResult> {
    const now = Date.now();
    this.arrivals.push({ at: now, root: job.root as string });
    while ((this.arrivals[0]?.at ?? now) < now - BUSY_WINDOW_MS) this.arrivals.shift();
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject, since: now });
      this.drain();
    });
  }

  /** How long the oldest waiting render may still wait for company: 0 to go now. */
  private lingering(): number {
    const lingerMs = this.options.lingerMs ?? LINGER_MS;
    const oldest = this.waiting[0];
    if (!oldest || lingerMs <= 0 || this.waiting.length >= LINGER_ENOUGH || !this.inBurst()) return 0;
    const latest = this.arrivals[this.arrivals.length - 1]?.at ?? oldest.since;
    const quietMs = this.options.quietMs ?? QUIET_MS;
    return Math.max(0, Math.min(oldest.since + lingerMs, latest + quietMs) - Date.now());
  }

  /** Several changes' trees (a change renders two, its base and head) seen lately: a burst. */
  private inBurst(): boolean {
    const since = Date.now() - BUSY_WINDOW_MS;
    return new Set(this.arrivals.filter((a) => a.at >= since).map((a) => a.root)).size > 2;
  }

  private drain(): void {
    const most = this.options.sharedRuns ?? SHARED_RUNS;
    const limit = this.inBurst() ? Math.min(most, BURST_RUNS) : most;
    while (this.running < limit && this.waiting.length > 0) {
      const wait = this.lingering();
      if (wait > 0) {
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          this.drain();
        }, wait);
        return;
      }
      // One member per tree (a resource's origin names its tree), and per overlay (the same
      // overlay at two commits, a change's base and head, holds the same objects: kustomize
      // refuses two of one name), all isolated alike.
      const first = this.waiting[0] as Waiting;
      const batch: Waiting[] = [];
      const roots = new Set<string>();
      const overlays = new Set<string>();
      for (const waiting of [...this.waiting]) {
        if (batch.length >= MAX_BATCH) break;
        const { job } = waiting;
        const overlay = relative(job.root as string, job.dir);
        if (roots.has(job.root as string) || overlays.has(overlay) || job.isolation.mode !== first.job.isolation.mode)
          continue;
        roots.add(job.root as string);
        overlays.add(overlay);
        batch.push(waiting);
        this.waiting.splice(this.waiting.indexOf(waiting), 1);
      }
      this.running++;
      this.together(batch)
        // The scratch directory could not be made, say: every member still hears (settling one
        // that has an answer already changes nothing).
        .catch((error: unknown) => batch.forEach((w) => w.reject(error)))
        .finally(() => {
          this.running--;
          this.drain();
        });
    }
  }

  /** Renders `batch` in one run; whatever that cannot answer exactly is rendered alone. */
  private async together(batch: Waiting[]): Promise<void> {
    const alone = (members: Waiting[]) =>
      Promise.all(members.map((w) => this.alone(w.job).then(w.resolve, w.reject))).then(() => undefined);
    if (batch.length === 1) return alone(batch);
    const scratch = await mkdtemp(join(tmpdir(), "conveyor-batch-"));
    try {
      const roots = batch.map((w) => relative(scratch, w.job.root as string));
      let text: string;
      try {
        text = batchKustomization(batch.map((w) => relative(scratch, w.job.dir)));
      } catch {
        return await alone(batch);
      }
      await writeFile(join(scratch, "kustomization.yaml"), text);
      const result = await this.alone({
        ...(batch[0] as Waiting).job,
        dir: scratch,
        root: scratch,
        timeoutMs: Math.min(...batch.map((w) => w.job.timeoutMs)),
      });
      const parts = result.ok ? splitBatch(result.yaml, roots) : undefined;
      if (!parts) return await alone(batch);
      const crossed = entangled(parts);
      this.batches.runs++;
      this.batches.members += batch.length;
      batch.forEach((w, i) => {
        if (!crossed[i]) w.resolve({ ok: true, yaml: parts[i] as string, ms: result.ms, cached: false });
      });
      const separate = batch.filter((_, i) => crossed[i]);
      this.batches.entangled += separate.length;
      await alone(separate);
    } finally {
      await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Without a namespace: why the tree must not be rendered, if it names a local address. */
  private async refusal(root: string, dir: string): Promise<string | undefined> {
    const found = await localAddressReference(root, dir).catch((error: NodeJS.ErrnoException): TreeCheck => ({
      file: relative(root, dir) || ".",
      unchecked: `the tree could not be read: ${error.code ?? "error"}`,
    }));
    if (found === undefined) return undefined;
    if ("unchecked" in found)
      return `${found.file} could not be checked for references to addresses on this machine (${found.unchecked}), and renders cannot run in a network namespace here`;
    return scrubRenderError(
      `${found.file} refers to ${found.url}, an address on the renderer's own machine; renders have no network access`,
    );
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
