// The clone over HTTP (the local forge runs git's own http-backend): where branches are is read
// with one request and only branches read are fetched; pushes send a pack made here, with the
// same leases and per-ref answers as `git push`; the token shows up nowhere.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GitWorkspace } from "../../src/adapters/git-workspace.js";
import { startForge, type Forge } from "../../sandbox/forge/index.js";

const OVERLAY = "services/order-service/overlays/staging/kustomization.yaml";
let forge: Forge;
let token: string;
let repoCount = 0;

beforeAll(async () => {
  forge = await startForge({ dataDir: mkdtempSync(join(tmpdir(), "forge-")), log: () => undefined });
  token = forge.token("admin");
});
afterAll(() => forge?.close());

type Spawn = (args: string[]) => Promise<unknown>;
type SpawnSpy = { mock: { calls: Array<Parameters<Spawn>> } };

async function repo(): Promise<{ name: string; ws: GitWorkspace; spawned: SpawnSpy }> {
  const name = `manifests-${++repoCount}`;
  await forge.createRepo("acme", name);
  await forge.seed("acme", name, { [OVERLAY]: "newTag: 1\n", "README.md": "hi\n" }, "seed", { silent: true });
  const ws = new GitWorkspace({
    dir: join(mkdtempSync(join(tmpdir(), "ws-")), "clone"),
    remoteUrl: forge.gitUrl("acme", name),
    token: async () => token,
  });
  const spawned: SpawnSpy = vi.spyOn(ws as unknown as { spawnGit: Spawn }, "spawnGit");
  return { name, ws, spawned };
}

const gitCalls = (spawned: SpawnSpy, command: string) =>
  spawned.mock.calls.filter(([args]) => args[0] === command).length;

describe("GitWorkspace over HTTP", () => {
  it("reads where branches are with one request and fetches only the branches read", async () => {
    const { name, ws, spawned } = await repo();
    const first = await ws.remoteBranches();
    const main1 = await first("main");
    expect(main1).toMatch(/^[0-9a-f]{40}$/);
    expect(gitCalls(spawned, "fetch")).toBe(1); // the clone itself

    const main2 = await forge.seed("acme", name, { [OVERLAY]: "newTag: 2\n" }, "bump", { silent: true });
    const other = await forge.seed("acme", name, { "x.yaml": "x\n" }, "theirs", { branch: "other", silent: true });
    const second = await ws.remoteBranches();
    expect(await second("main")).toBe(main2);
    expect(await ws.readFile(main2, OVERLAY)).toBe("newTag: 2\n");
    expect(await ws.remoteBranch("main")).toBe(main2);
    expect(await second("conveyor/staging/none")).toBeUndefined();
    // "other" was never read: its commit was not fetched.
    expect(await ws.hasCommits([other])).toBe(false);
    expect(await second("other")).toBe(other);
    expect(await ws.hasCommits([other])).toBe(true);
    expect(gitCalls(spawned, "fetch")).toBe(3);

    // Nothing new: no fetch at all.
    const third = await ws.remoteBranches();
    expect(await third("main")).toBe(main2);
    expect(gitCalls(spawned, "fetch")).toBe(3);
  });

  it("pushes a pack made here, leased per ref, without starting git push", async () => {
    const { name, ws, spawned } = await repo();
    const main = (await (await ws.remoteBranches())("main")) as string;
    const mine = await ws.commitFile({ parent: main, path: OVERLAY, text: "mine\n", message: "mine" });
    const theirs = await forge.seed("acme", name, { [OVERLAY]: "theirs\n" }, "someone", {
      branch: "conveyor/staging/order-service",
      silent: true,
    });
    // The branch exists now: a push that expects it not to is refused and changes nothing.
    expect(await ws.pushBranch("conveyor/staging/order-service", mine, undefined)).toBe(false);
    const branches = await ws.remoteBranches();
    expect(await branches("conveyor/staging/order-service")).toBe(theirs);
    expect(await ws.pushBranch("conveyor/staging/order-service", mine, theirs)).toBe(true);
    expect(await (await ws.remoteBranches())("conveyor/staging/order-service")).toBe(mine);
    expect(await ws.remoteBranch("conveyor/staging/order-service")).toBe(mine);

    // A commit on top of another made here: both go in one pack; a stale lease fails its own ref only.
    const next = await ws.commitFile({ parent: mine, path: "README.md", text: "next\n", message: "next" });
    const [stale, fresh] = await Promise.all([
      ws.pushBranch("conveyor/staging/order-service", next, theirs),
      ws.pushBranch("conveyor/production/order-service", next, undefined),
    ]);
    expect([stale, fresh]).toEqual([false, true]);
    const after = await ws.remoteBranches();
    expect(await after("conveyor/staging/order-service")).toBe(mine);
    expect(await after("conveyor/production/order-service")).toBe(next);
    expect(gitCalls(spawned, "push")).toBe(0);

    // What the remote holds is whole: a fresh clone reads the file at the pushed commit.
    const fresh2 = new GitWorkspace({
      dir: join(mkdtempSync(join(tmpdir(), "ws-")), "clone"),
      remoteUrl: forge.gitUrl("acme", name),
      token: async () => token,
    });
    await fresh2.sync();
    expect(await fresh2.readFile(next, "README.md")).toBe("next\n");
    expect(await fresh2.readFile(next, OVERLAY)).toBe("mine\n");
    // The forge saw the pushes as pushes: it records them with the pusher.
    expect(
      forge.requests.some((r) => r.kind === "git" && r.path.endsWith("/git-receive-pack") && r.status === 200),
    ).toBe(true);
  });

  it("never shows the token when the remote cannot be reached or refuses it", async () => {
    const { ws } = await repo();
    await ws.sync();
    const dead = new GitWorkspace({
      dir: ws.dir,
      remoteUrl: "http://127.0.0.1:9/acme/manifests.git",
      token: async () => token,
    });
    const refused = new GitWorkspace({
      dir: ws.dir,
      remoteUrl: forge.gitUrl("acme", "manifests-1"),
      token: async () => "ghs_wrongtoken1234567890abcdefghijklmn",
    });
    for (const [w, secret] of [
      [dead, token],
      [refused, "ghs_wrongtoken1234567890abcdefghijklmn"],
    ] as const) {
      const error = await w.remoteBranches().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).toContain("git fetch failed");
      expect(error?.message).not.toContain(secret);
      expect(error?.message).not.toContain(Buffer.from(`x-access-token:${secret}`).toString("base64"));
    }
  });
});
