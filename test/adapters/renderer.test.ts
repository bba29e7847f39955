// The renderer against the real kustomize on this machine (.ci/run refuses to run without one).
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isLocalUrl,
  locateRenderer,
  Renderer,
  renderEnvironment,
  scrubRenderError,
} from "../../src/adapters/renderer.js";
import { SEED_DIR } from "../../sandbox/manifests-remote.js";

let root: string;
let tree: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "conveyor-renderer-test-"));
  tree = join(root, "conveyor-render-x", "head");
  cpSync(SEED_DIR, tree, { recursive: true });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(root, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** An overlay directory in the tree with this kustomization. */
function overlay(name: string, kustomization: string, files: Record<string, string> = {}): string {
  const dir = join(tree, "services", name, "overlays", "staging");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "kustomization.yaml"), kustomization);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/**
 * Whether the `sleep <marker>` a fake renderer started is still running (a zombie, or a process
 * that has since taken its pid, is not it).
 */
function sleeping(pid: number, marker: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1];
    return cmdline[0]?.endsWith("sleep") === true && cmdline[1] === marker && state !== "Z";
  } catch {
    return false;
  }
}

/** Waits (without a deadline that load could break: SIGKILL is not optional) for it to be gone. */
async function gone(pid: number, marker: string): Promise<boolean> {
  for (let i = 0; i < 3_000; i++) {
    if (!sleeping(pid, marker)) return true;
    await sleep(10);
  }
  return false;
}

describe("finding a renderer", () => {
  it("finds one on this machine and names it with its kustomize version", async () => {
    const located = await locateRenderer({ PATH: process.env.PATH });
    expect(located.found, located.found ? "" : located.reason).toBe(true);
    if (located.found) expect(located.info.label).toMatch(/kustomize v\d+\.\d+\.\d+/);
  });

  it("KUSTOMIZE_BIN wins, and one that does not run is reported, not replaced", async () => {
    const fake = script("kustomize-fake", 'if [ "$1" = version ]; then echo "v9.9.9"; exit 0; fi\nexit 1');
    expect(await locateRenderer({ KUSTOMIZE_BIN: fake })).toEqual({
      found: true,
      info: { command: fake, args: ["build"], version: "v9.9.9", label: `${fake} (kustomize v9.9.9)` },
    });
    const missing = await locateRenderer({ KUSTOMIZE_BIN: "/nonexistent/kustomize" });
    expect(missing).toEqual({
      found: false,
      reason: "KUSTOMIZE_BIN is set to /nonexistent/kustomize, but `/nonexistent/kustomize version` does not run",
    });
  });
});

describe("rendering", () => {
  const renderer = new Renderer();

  it("renders an overlay: the image and replica count from the overlay are applied", async () => {
    const result = await renderer.render(join(tree, "services/order-service/overlays/production"), { root: tree });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.yaml).toContain("image: ghcr.io/acme/order-service:1.4.0");
    expect(result.yaml).toContain("replicas: 3");
    expect(result.yaml).toContain("namespace: order-service-production");
  });

  it("a broken overlay fails with kustomize's message, paths relative to the tree, no token", async () => {
    const dir = join(tree, "services/broken/overlays/staging");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "kustomization.yaml"), "resources:\n  - ghp_abcdefghijklmnopqrstuvwxyz0123456789.yaml\n");
    const result = await renderer.render(dir, { root: tree });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/accumulat|no such file|not found|must build/i);
    expect(result.error).not.toContain(root);
    expect(result.error).not.toContain("ghp_abcdefghijklmnopqrstuvwxyz0123456789");
    expect(result.error).toContain("[REDACTED]");
  });

  it("remembers results by key: a re-run is served from the cache", async () => {
    const dir = join(tree, "services/user-service/overlays/staging");
    const first = await renderer.render(dir, { root: tree, cacheKey: "user-service@tree1" });
    const second = await renderer.render(dir, { root: tree, cacheKey: "user-service@tree1" });
    const other = await renderer.render(dir, { root: tree, cacheKey: "user-service@tree2" });
    expect([first.cached, second.cached, other.cached]).toEqual([false, true, false]);
    expect(second).toMatchObject({ ok: true, ms: 0 });
  });

  it("stops a hung render at the time limit, with all it started, and does not cache the timeout", async () => {
    const pidFile = join(root, "hung.pid");
    const hung = script(
      "kustomize-hung",
      `if [ "$1" = version ]; then echo v5.5.0; exit 0; fi\nsleep 3137 &\necho $! > ${pidFile}\nwait`,
    );
    const slow = new Renderer({ env: { KUSTOMIZE_BIN: hung } });
    const result = await slow.render(join(tree, "services/order-service/overlays/staging"), {
      root: tree,
      timeoutMs: 1_000,
      cacheKey: "k",
    });
    expect(result).toMatchObject({
      ok: false,
      timedOut: true,
      error: "the render did not finish within 1 s and was stopped",
    });
    // The background sleep was in the render's process group: it is killed with it. (On a machine
    // so loaded that the script was stopped before it started the sleep, there is nothing to check.)
    if (existsSync(pidFile) && readFileSync(pidFile, "utf8").trim())
      expect(await gone(Number(readFileSync(pidFile, "utf8")), "3137")).toBe(true);
    const again = await slow.render(join(tree, "services/order-service/overlays/staging"), {
      root: tree,
      timeoutMs: 1_000,
      cacheKey: "k",
    });
    expect(again.cached).toBe(false);
  });

  it("says plainly when there is no renderer", async () => {
    const none = new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } });
    expect(await none.render(tree)).toMatchObject({
      ok: false,
      error: expect.stringContaining("KUSTOMIZE_BIN is set to /nonexistent/kustomize"),
    });
  });
});

describe("scrubbing renderer errors", () => {
  it("unwraps kubectl's log line and masks credential-looking values", () => {
    const stderr =
      'E1126 03:33:05.685378   23962 run.go:72] "command failed" err="secretGenerator: password=hunter2 in \\"/tmp/conveyor-render-abc/head/services/x\\""\n';
    const scrubbed = scrubRenderError(stderr, "/tmp/conveyor-render-abc/head");
    expect(scrubbed).toMatch(/^secretGenerator: .*\[REDACTED\] in "services\/x"$/);
    expect(scrubbed).not.toContain("hunter2");
  });
});

describe("a render has no network and no git", () => {
  let server: Server;
  let port: number;
  const requests: string[] = [];
  const internal = "internal-service-canary-7d1f";

  beforeAll(async () => {
    // An internal service on this machine: what a render must never be able to read.
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      res.end(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: internal\ndata:\n  value: ${internal}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const modes = [
    ["by default", undefined],
    ["with the environment alone (no network namespace)", "environment"],
  ] as const;

  describe.each(modes)("%s", (_, isolation) => {
    const renderer = new Renderer({ isolation });

    // Each way kustomize fetches a URL: a resource, a patch, a generator's file, a transformer's
    // configuration (a file, inline, or the output of a kustomization).
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: internal\n";
    const patchTransformer = (url: string, indent = "") =>
      [
        "apiVersion: builtin",
        "kind: PatchTransformer",
        "metadata:",
        "  name: p",
        `path: ${url}`,
        "target:",
        "  kind: ConfigMap",
      ]
        .map((line) => indent + line)
        .join("\n");
    it.each<[string, (url: string) => string, (url: string) => Record<string, string>]>([
      ["a resource", (url) => `resources:\n  - ${url}\n`, () => ({})],
      ["a patch", (url) => `resources:\n  - cm.yaml\npatches:\n  - path: ${url}\n`, () => ({ "cm.yaml": cm })],
      [
        "a generator's file",
        (url) => `configMapGenerator:\n  - name: g\n    files:\n      - leaked=${url}\n`,
        () => ({}),
      ],
      [
        "a transformer's configuration file",
        () => "resources:\n  - cm.yaml\ntransformers:\n  - patch.yaml\n",
        (url) => ({ "cm.yaml": cm, "patch.yaml": `${patchTransformer(url)}\n` }),
      ],
      [
        "an inline transformer configuration",
        (url) => `resources:\n  - cm.yaml\ntransformers:\n  - |\n${patchTransformer(url, "    ")}\n`,
        () => ({ "cm.yaml": cm }),
      ],
      [
        "a transformer configuration a kustomization outputs",
        () => "resources:\n  - cm.yaml\ntransformers:\n  - conf\n",
        (url) => ({
          "cm.yaml": cm,
          "conf/kustomization.yaml": "resources:\n  - patch.yaml\n",
          "conf/patch.yaml": `${patchTransformer(url)}\n`,
        }),
      ],
    ])("an HTTP service on this machine named in %s sees no request", async (what, kustomization, files) => {
      const url = `http://127.0.0.1:${port}/cm.yaml`;
      const dir = overlay(`net-${isolation ?? "default"}-${what.replace(/\W+/g, "-")}`, kustomization(url), files(url));
      requests.length = 0;
      const result = await renderer.render(dir, { root: tree });
      expect(result.ok).toBe(false);
      expect(requests).toEqual([]);
      expect(JSON.stringify(result)).not.toContain(internal);
      // Without a namespace, the tree check refuses it before kustomize runs.
      if (isolation === "environment" && !result.ok)
        expect(result.error).toMatch(
          /refers to (\w+=)?http:\/\/127\.0\.0\.1:\d+\/cm\.yaml, an address on the renderer's own machine/,
        );
    });

    it("a git repository on this machine is not read: git is allowed no transport", async () => {
      // A real repository with a secret in it, named as a remote base in every form kustomize takes.
      const repo = join(root, `repo-${isolation ?? "default"}`);
      mkdirSync(join(repo, "app"), { recursive: true });
      const canary = "repo-secret-canary-51c2";
      writeFileSync(
        join(repo, "app", "cm.yaml"),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\ndata:\n  value: ${canary}\n`,
      );
      writeFileSync(join(repo, "app", "kustomization.yaml"), "resources:\n  - cm.yaml\n");
      const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
          cwd: repo,
          stdio: "ignore",
        });
      git("init", "-q");
      git("add", ".");
      git("commit", "-q", "-m", "secret");
      // Every git the render runs is logged with its exit code.
      const shims = join(root, `git-shim-${isolation ?? "default"}`);
      mkdirSync(shims, { recursive: true });
      const log = join(shims, "git.log");
      const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
      writeFileSync(
        join(shims, "git"),
        `#!/bin/sh\necho "git $*" >> ${log}\n${realGit} "$@"\nrc=$?\necho "rc=$rc" >> ${log}\nexit $rc\n`,
      );
      chmodSync(join(shims, "git"), 0o755);
      const withShim = new Renderer({
        isolation,
        env: { PATH: `${shims}:${process.env.PATH}`, KUSTOMIZE_BIN: process.env.KUSTOMIZE_BIN },
      });
      for (const [i, url] of [`file://${repo}//app`, `git::file://${repo}//app`, `file://${repo}.git//app`].entries()) {
        const dir = overlay(`git-${isolation ?? "default"}-${i}`, `resources:\n  - ${url}\n`);
        const result = await withShim.render(dir, { root: tree });
        expect(result.ok, url).toBe(false);
        expect(JSON.stringify(result)).not.toContain(canary);
        if (!result.ok) expect(result.error, url).toMatch(/transport '\w+' not allowed/);
      }
      // Whatever git was run, no fetch succeeded.
      const runs = existsSync(log) ? readFileSync(log, "utf8") : "";
      expect(runs).toMatch(/^git fetch .*\nrc=[1-9]\d*$/m);
      expect(runs).not.toMatch(/^git fetch .*\nrc=0$/m);
    });
  });

  it("with the environment alone, every other host is sent to a closed proxy port", async () => {
    const renderer = new Renderer({ isolation: "environment" });
    const dir = overlay("net-proxy", "resources:\n  - http://conveyor-render-test.invalid/cm.yaml\n");
    const result = await renderer.render(dir, { root: tree });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // Go connected to the proxy (127.0.0.1:9), not to the host: it did not even look its name up.
    expect(result.error).toMatch(/proxyconnect tcp: dial tcp 127\.0\.0\.1:9/);
  });

  it("the render's environment is its own: no credential of Conveyor's, an empty HOME, git and proxies shut", async () => {
    const dump = script(
      "kustomize-env",
      'if [ "$1" = version ]; then echo v5.5.0; exit 0; fi\nenv | sort\necho "HOME has $(ls -A "$HOME" | wc -l) entries"',
    );
    process.env.GITHUB_TOKEN_CANARY_FOR_TEST = "ghp_canaryvalue0123456789";
    try {
      const renderer = new Renderer({ env: { KUSTOMIZE_BIN: dump } });
      const result = await renderer.render(join(tree, "services/order-service/overlays/staging"), { root: tree });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const env = Object.fromEntries(
        result.yaml
          .split("\n")
          .filter((l) => /^\w+=/.test(l))
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      const home = env.HOME as string;
      expect(env).toEqual({ ...renderEnvironment(process.env.PATH as string, home), PWD: tree });
      expect(home).not.toBe(process.env.HOME);
      expect(result.yaml).toContain("HOME has 0 entries");
      expect(result.yaml).not.toContain("ghp_canaryvalue0123456789");
      expect(env.GIT_ALLOW_PROTOCOL).toBe("");
      expect(env.HTTPS_PROXY).toBe("http://127.0.0.1:9");
      // Go's collector is off for a short render, but never without a ceiling on its heap.
      expect(env).toMatchObject({ GOGC: "off", GOMEMLIMIT: "256MiB" });
      // The home is deleted once the render is done.
      expect(existsSync(home)).toBe(false);
    } finally {
      delete process.env.GITHUB_TOKEN_CANARY_FOR_TEST;
    }
  });

  it("CONVEYOR_RENDER_ISOLATION=namespace: where there is no namespace, renders fail rather than run without", async () => {
    // A PATH with no unshare on it: the namespace cannot be had.
    const fake = script("kustomize-ok", 'if [ "$1" = version ]; then echo v5.5.0; exit 0; fi\necho "kind: List"');
    const plain = overlay("plain", "resources: []\n");
    const bin = join(root, "no-unshare-bin");
    mkdirSync(bin, { recursive: true });
    const strict = new Renderer({ env: { KUSTOMIZE_BIN: fake, PATH: bin, CONVEYOR_RENDER_ISOLATION: "namespace" } });
    expect(await strict.render(plain, { root: tree })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^renders must run without a network .*`unshare --user --net` does not work here/),
    });
    const auto = new Renderer({ env: { KUSTOMIZE_BIN: fake, PATH: bin } });
    expect(await auto.isolation()).toEqual({ mode: "environment" });
    expect(await auto.render(plain, { root: tree })).toMatchObject({ ok: true, yaml: "kind: List\n" });
    const wrong = new Renderer({ env: { KUSTOMIZE_BIN: fake, CONVEYOR_RENDER_ISOLATION: "off" } });
    expect(await wrong.render(plain, { root: tree })).toMatchObject({
      ok: false,
      error: expect.stringContaining('CONVEYOR_RENDER_ISOLATION is "off"'),
    });
  });

  it("the tree check reads what kustomize loads, not what resources say, and refuses what it cannot parse safely", async () => {
    const renderer = new Renderer({ isolation: "environment" });
    // A resource that talks to a sidecar on localhost is data: it renders.
    const sidecar = overlay("sidecar", "resources:\n  - cm.yaml\n", {
      "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  path: http://localhost:4317\n",
    });
    expect(await renderer.render(sidecar, { root: tree })).toMatchObject({ ok: true });
    // A transformer configuration nested past what the parser should take is not parsed.
    const deep = overlay("deep", "resources:\n  - cm.yaml\ntransformers:\n  - deep.yaml\n", {
      "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
      "deep.yaml": `path: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
    });
    expect(await renderer.render(deep, { root: tree })).toMatchObject({
      ok: false,
      error: expect.stringMatching(
        /^services\/deep\/overlays\/staging\/deep\.yaml could not be checked .*nested deeper than 64 levels/,
      ),
    });
  });

  it("knows the local addresses Go would connect to directly, however they are spelled", () => {
    for (const url of [
      "http://127.0.0.1:8080/x",
      "HTTP://LOCALHOST/x",
      "https://user:pw@localhost:1/x",
      "http://[::1]:80/x",
      "http://[::ffff:127.0.0.1]/x",
      "http://127.1/x",
      "http://ｌｏｃａｌｈｏｓｔ/x",
      "http://%6c%6f%63%61%6c%68%6f%73%74/x",
      "key=http://127.0.0.1/x",
      "  http://0.0.0.0:3000",
    ])
      expect(isLocalUrl(url), url).toBe(true);
    for (const entry of ["https://github.com/acme/x//base", "../base", "deployment.yaml", "http-route.yaml"])
      expect(isLocalUrl(entry), entry).toBe(false);
  });
});

describe("limits", () => {
  it("output beyond 16 MiB stops the render, and everything it started, with a clear message", async () => {
    const pidFile = join(root, "flood.pid");
    const flood = script(
      "kustomize-flood",
      `if [ "$1" = version ]; then echo v5.5.0; exit 0; fi\nsleep 3163 &\necho $! > ${pidFile}\nexec yes 'data: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'`,
    );
    const renderer = new Renderer({ env: { KUSTOMIZE_BIN: flood } });
    const result = await renderer.render(join(tree, "services/order-service/overlays/staging"), {
      root: tree,
      // Far beyond what 16 MiB takes, so only the output limit can stop it.
      timeoutMs: 600_000,
    });
    expect(result).toMatchObject({
      ok: false,
      error: "the render printed more than 16 MiB, the most Conveyor reads, and was stopped",
    });
    // The pid was written before the flood began: the sleep was started, and is killed with the group.
    expect(await gone(Number(readFileSync(pidFile, "utf8")), "3163")).toBe(true);
  });

  it("a process that left the render's process group cannot keep the render from ending", async () => {
    const pidFile = join(root, "escaped.pid");
    // setsid puts the sleep in a session of its own, out of reach of the group kill; it still
    // holds the output pipe.
    const escaper = script(
      "kustomize-escaper",
      `if [ "$1" = version ]; then echo v5.5.0; exit 0; fi\nsetsid sleep 3191 &\necho $! > ${pidFile}\nwait`,
    );
    const renderer = new Renderer({ env: { KUSTOMIZE_BIN: escaper } });
    try {
      const result = await renderer.render(join(tree, "services/order-service/overlays/staging"), {
        root: tree,
        timeoutMs: 1_000,
      });
      expect(result).toMatchObject({ ok: false, timedOut: true });
    } finally {
      // It is the test's own leftover: stop it by its pid.
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : NaN;
      if (pid > 0 && sleeping(pid, "3191")) process.kill(pid, "SIGKILL");
    }
  });

  it("an error names no absolute scratch path, not even of the tree next to the one rendered", async () => {
    // The base commit's tree sits beside the head's in the same scratch directory.
    mkdirSync(join(root, "conveyor-render-x", "base"), { recursive: true });
    writeFileSync(
      join(root, "conveyor-render-x", "base", "cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    );
    const dir = overlay("escape", "resources:\n  - ../../../../../base/cm.yaml\n");
    const result = await new Renderer().render(dir, { root: tree });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).not.toContain(root);
    expect(result.error).not.toContain(tmpdir() + "/conveyor-");
    expect(result.error).toContain("../base/cm.yaml");
  });

  it("scrubs kubectl's multi-line log form and the render's own temporary directory", () => {
    const stderr = [
      'E1201 04:28:36.161849   12697 run.go:72] "command failed" err=<',
      "\taccumulating resources from '/tmp/conveyor-render-abc/head/a': failed to run 'git fetch' in /tmp/conveyor-kustomize-xyz/kustomize-1: token=abc",
      "\t: exit status 128",
      " >",
      "",
    ].join("\n");
    expect(scrubRenderError(stderr, "/tmp/conveyor-render-abc/head", ["/tmp/conveyor-kustomize-xyz"])).toBe(
      "accumulating resources from 'a': failed to run 'git fetch' in $TMPDIR/kustomize-1: token=[REDACTED]\n: exit status 128",
    );
  });
});
