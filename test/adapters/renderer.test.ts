// The renderer against the real kustomize on this machine (.ci/run refuses to run without one).
import { chmodSync, cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateRenderer, Renderer, scrubRenderError } from "../../src/adapters/renderer.js";
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

  it("stops a hung render at the time limit, and does not cache the timeout", async () => {
    const hung = script("kustomize-hung", 'if [ "$1" = version ]; then echo v5.5.0; exit 0; fi\nsleep 30 &\nwait');
    const slow = new Renderer({ env: { KUSTOMIZE_BIN: hung } });
    const started = Date.now();
    const result = await slow.render(join(tree, "services/order-service/overlays/staging"), {
      root: tree,
      timeoutMs: 300,
      cacheKey: "k",
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({
      ok: false,
      timedOut: true,
      error: "the render did not finish within 0 s and was stopped",
    });
    const again = await slow.render(join(tree, "services/order-service/overlays/staging"), {
      root: tree,
      timeoutMs: 300,
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
