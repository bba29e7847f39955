// The clone over HTTP (the local forge runs git's own http-backend): where branches are is read
// with one request and only branches read are fetched; pushes send a pack made here, with the
// same leases and per-ref answers as `git push`; the token shows up nowhere.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GitWorkspace, type TreeEntry } from "../../src/adapters/git-workspace.js";
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

const remoteDirs = new Map<string, string>();
const remoteDir = (name: string) => remoteDirs.get(name) as string;

async function repo(): Promise<{ name: string; ws: GitWorkspace; spawned: SpawnSpy }> {
  const name = `manifests-${++repoCount}`;
  remoteDirs.set(name, (await forge.createRepo("acme", name)).path);
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

  it("a commit it says it has is whole even while a fetch is bringing it", async () => {
    // git unpacked a small fetch into loose objects, the commit before its trees: a deploy that
    // asked at that moment got the commit and `ls-tree` failed ("Could not read <tree>").
    const { name, ws } = await repo();
    await ws.sync();
    for (let round = 0; round < 5; round++) {
      const files: Record<string, string> = {};
      for (let d = 0; d < 20; d++) for (let f = 0; f < 3; f++) files[`r${round}/d${d}/f${f}.yaml`] = `${d} ${f}\n`;
      const main = await forge.seed("acme", name, files, "many files", { silent: true });
      let fetched = false;
      const fetching = ws
        .remoteBranches()
        .then((branches) => branches("main"))
        .finally(() => (fetched = true));
      // Another event asks again and again while the fetch runs, and reads the commit at once.
      let seen: TreeEntry[] | undefined;
      while (!fetched && !seen) if (await ws.hasCommits([main])) seen = await ws.treeEntries(main);
      expect(await fetching).toBe(main);
      for (const entries of [seen, await ws.treeEntries(main)])
        if (entries) expect(entries.filter((e) => e.path.startsWith(`r${round}/`))).toHaveLength(60);
    }
  });

  it("records a branch it already has the commit of without upsetting a fetch under way", async () => {
    const { name, ws } = await repo();
    const main = (await (await ws.remoteBranches())("main")) as string;
    for (let round = 0; round < 5; round++) {
      const files: Record<string, string> = {};
      for (let d = 0; d < 40; d++) files[`r${round}/d${d}.yaml`] = `${d}\n`;
      await forge.seed("acme", name, files, "many files", { silent: true });
      // A branch at a commit the clone has: recorded without a fetch, while a full fetch runs.
      execFileSync("git", ["--git-dir", remoteDir(name), "update-ref", `refs/heads/same-${round}`, main]);
      const syncing = ws.sync();
      const branches = await ws.remoteBranches();
      expect(await branches(`same-${round}`)).toBe(main);
      await syncing;
    }
  });

  it("commits of different files at once, while the default branch moves, all land whole", async () => {
    const { name, ws } = await repo();
    const services = ["a", "b", "c", "d", "e"];
    const overlay = (s: string) => `services/${s}/overlays/staging/kustomization.yaml`;
    await forge.seed("acme", name, Object.fromEntries(services.map((s) => [overlay(s), "newTag: 0\n"])), "seed", {
      silent: true,
    });
    const made = new Map<string, string>();
    await Promise.all(
      services.map(async (s) => {
        for (let round = 1; round <= 5; round++) {
          const branches = await ws.remoteBranches();
          const main = (await branches("main")) as string;
          const branch = `conveyor/staging/${s}`;
          const commit = await ws.commitFile({
            parent: main,
            path: overlay(s),
            text: `newTag: ${round}\n`,
            message: `${s} ${round}`,
          });
          expect(await ws.pushBranch(branch, commit, await branches(branch))).toBe(true);
          made.set(s, commit);
          // Someone merges meanwhile; the render check of the PR fetches everything.
          await forge.seed("acme", name, { [`bump-${s}-${round}.txt`]: "x\n" }, "bump", { silent: true });
          await ws.sync();
          expect(await ws.changedFiles(main, commit)).toEqual([overlay(s)]);
          expect((await ws.treeEntries(commit)).find((e) => e.path === overlay(s))).toBeDefined();
          expect(await ws.readFile(commit, overlay(s))).toBe(`newTag: ${round}\n`);
        }
      }),
    );
    // What landed is whole: a fresh clone reads every branch's file.
    const fresh = new GitWorkspace({
      dir: join(mkdtempSync(join(tmpdir(), "ws-")), "clone"),
      remoteUrl: forge.gitUrl("acme", name),
      token: async () => token,
    });
    await fresh.sync();
    for (const s of services) {
      expect(await fresh.remoteBranch(`conveyor/staging/${s}`)).toBe(made.get(s));
      expect(await fresh.readFile(made.get(s) as string, overlay(s))).toBe("newTag: 5\n");
    }
  });

  it("rolls up the packs its fetches keep, and still reads what it made and has not pushed", async () => {
    const { name, ws, spawned } = await repo();
    const first = (await (await ws.remoteBranches())("main")) as string;
    const unpushed = await ws.commitFile({ parent: first, path: "mine.txt", text: "mine\n", message: "mine" });
    let main = first;
    for (let round = 0; round < 20; round++) {
      main = await forge.seed("acme", name, { [`f${round}.txt`]: `${round}\n` }, "bump", { silent: true });
      expect(await (await ws.remoteBranches())("main")).toBe(main);
    }
    const packs = readdirSync(join(ws.dir, "objects", "pack")).filter((f) => f.endsWith(".pack"));
    expect(gitCalls(spawned, "fetch")).toBe(21);
    expect(gitCalls(spawned, "repack")).toBeGreaterThan(0);
    expect(packs.length).toBeLessThan(16);
    expect(await ws.readFile(main, "f19.txt")).toBe("19\n");
    expect(await ws.readFile(unpushed, "mine.txt")).toBe("mine\n");
    expect(await ws.pushBranch("conveyor/mine", unpushed, undefined)).toBe(true);
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
