// The cached manifests clone: fetched, never re-cloned; pushes that lost a race say so; tokens
// never surface in errors; paths through symlinks are refused.
import { execFileSync } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GitWorkspace } from "../../src/adapters/git-workspace.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";

const OVERLAY = "services/order-service/overlays/staging/kustomization.yaml";
let remote: ManifestsRemote;

afterEach(() => remote?.cleanup());

function workspace(url: string, token = "ghs_secretinstallationtoken1234567890") {
  return new GitWorkspace({
    dir: join(mkdtempSync(join(tmpdir(), "ws-")), "clone"),
    remoteUrl: url,
    token: async () => token,
  });
}

describe("GitWorkspace", () => {
  it("clones once, then only fetches", async () => {
    remote = createManifestsRemote();
    const ws = workspace(remote.url);
    await ws.sync();
    const objects = statSync(join(ws.dir, "objects")).ino;
    const first = await ws.remoteBranch("main");
    const second = remote.commit("main", { "README.md": "hello\n" }, "docs");
    await ws.sync();
    expect(first).not.toBe(second);
    expect(await ws.remoteBranch("main")).toBe(second);
    expect(statSync(join(ws.dir, "objects")).ino).toBe(objects);
  });

  it("events at the same time share fetches, and their overlapping pushes and fetches all land", async () => {
    remote = createManifestsRemote();
    const ws = workspace(remote.url);
    await ws.sync();
    const fetches = vi.spyOn(ws as unknown as { fetchNow(): Promise<void> }, "fetchNow");
    const spawned = vi.spyOn(ws as unknown as { spawnGit(args: string[]): Promise<unknown> }, "spawnGit");
    const latest = remote.commit("main", { "README.md": "newer\n" }, "docs");
    const done = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        await ws.sync();
        const main = (await ws.remoteBranch("main")) as string;
        const commit = await ws.commitFile({ parent: main, path: OVERLAY, text: `v${i}\n`, message: `v${i}` });
        // Pushes and fetches overlap from here on: each task fetches again right after its push.
        const pushed = await ws.pushBranch(`conveyor/staging/s${i}`, commit, undefined);
        await ws.sync();
        return { main, commit, pushed };
      }),
    );
    // Eight callers at once: one fetch under way plus one that all the others share.
    expect(fetches.mock.calls.length).toBeLessThan(8);
    // Pushes asked for while one was under way went out together.
    expect(spawned.mock.calls.filter(([args]) => args[0] === "push").length).toBeLessThan(8);
    for (const [i, { main, commit, pushed }] of done.entries()) {
      expect(main).toBe(latest);
      expect(pushed).toBe(true);
      expect(remote.head(`conveyor/staging/s${i}`)).toBe(commit);
      expect(await ws.remoteBranch(`conveyor/staging/s${i}`)).toBe(commit);
    }
  });

  it("commits one file on top of a parent without touching anything else", async () => {
    remote = createManifestsRemote();
    const ws = workspace(remote.url);
    await ws.sync();
    const main = (await ws.remoteBranch("main")) as string;
    const commit = await ws.commitFile({ parent: main, path: OVERLAY, text: "changed\n", message: "edit" });
    expect(await ws.changedFiles(main, commit)).toEqual([OVERLAY]);
    expect(await ws.readFile(commit, OVERLAY)).toBe("changed\n");
    expect(await ws.isAncestor(main, commit)).toBe(true);
  });

  it("lists a chain of its own commits exactly as git does", async () => {
    remote = createManifestsRemote();
    const ws = workspace(remote.url);
    await ws.sync();
    let commit = (await ws.remoteBranch("main")) as string;
    const files = [OVERLAY, OVERLAY.replace("staging", "production"), OVERLAY.replace("order", "cart")];
    // More commits than layers are kept over one listing, each on the one before.
    for (let i = 0; i < 12; i++)
      commit = await ws.commitFile({ parent: commit, path: files[i % 3] as string, text: `v${i}\n`, message: `${i}` });
    // A second workspace on the same clone knows none of them: it asks git.
    const fresh = new GitWorkspace({ dir: ws.dir, remoteUrl: remote.url, token: async () => "ghs_x" });
    expect(await ws.treeEntries(commit)).toEqual(await fresh.treeEntries(commit));
    expect([...(await ws.directoryTrees(commit))].sort()).toEqual([...(await fresh.directoryTrees(commit))].sort());
    expect((await ws.directoryTrees(commit)).size).toBe((await fresh.directoryTrees(commit)).size);
    expect(await ws.entriesAt(commit, files)).toEqual(await fresh.entriesAt(commit, files));
  });

  it("commits several files at once (a strategy step), in new and existing directories, as git would", async () => {
    remote = createManifestsRemote();
    const ws = workspace(remote.url);
    await ws.sync();
    const main = (await ws.remoteBranch("main")) as string;
    const other = "services/order-service/overlays/production/kustomization.yaml";
    const added = "services/order-service/overlays/staging/patches/new.yaml";
    const commit = await ws.commitFile({
      parent: main,
      path: OVERLAY,
      text: "one\n",
      more: [
        { path: other, text: "two\n" },
        { path: added, text: "three\n" },
      ],
      message: "step",
    });
    expect((await ws.changedFiles(main, commit)).sort()).toEqual([OVERLAY, added, other].sort());
    expect(await ws.readFile(commit, other)).toBe("two\n");
    expect(await ws.readFile(commit, added)).toBe("three\n");
    expect(await ws.pushBranch("conveyor/staging/order-service", commit, undefined)).toBe(true);
    // git itself reads the same tree and finds every object sound.
    remote.git("-C", remote.bare, "fsck", "--strict", "--no-dangling");
    expect(
      remote
        .git("-C", remote.bare, "diff", "--name-only", main, "conveyor/staging/order-service")
        .trim()
        .split("\n")
        .sort(),
    ).toEqual([OVERLAY, added, other].sort());
    await expect(
      ws.commitFile({
        parent: main,
        path: OVERLAY,
        text: "x",
        more: [{ path: `${OVERLAY}/inside`, text: "y" }],
        message: "m",
      }),
    ).rejects.toThrow("is a file, not a directory");
  });

  it("a push that lost a race reports false and leaves the remote branch alone", async () => {
    remote = createManifestsRemote();
    const ws = workspace(remote.url);
    await ws.sync();
    const main = (await ws.remoteBranch("main")) as string;
    const mine = await ws.commitFile({ parent: main, path: OVERLAY, text: "mine\n", message: "mine" });
    const theirs = remote.commit("conveyor/staging/order-service", { [OVERLAY]: "theirs\n" }, "someone else");
    expect(await ws.pushBranch("conveyor/staging/order-service", mine, undefined)).toBe(false);
    expect(remote.head("conveyor/staging/order-service")).toBe(theirs);
    expect(await ws.pushBranch("conveyor/staging/order-service", mine, theirs)).toBe(true);
    expect(remote.head("conveyor/staging/order-service")).toBe(mine);
    // In one push, a stale lease fails its own ref only.
    const next = await ws.commitFile({ parent: mine, path: OVERLAY, text: "next\n", message: "next" });
    const [stale, fresh] = await Promise.all([
      ws.pushBranch("conveyor/staging/order-service", next, theirs),
      ws.pushBranch("conveyor/production/order-service", next, undefined),
    ]);
    expect([stale, fresh]).toEqual([false, true]);
    expect(remote.head("conveyor/staging/order-service")).toBe(mine);
    expect(remote.head("conveyor/production/order-service")).toBe(next);
  });

  it("never shows the token in an error, even when the remote fails", async () => {
    const token = "ghs_secretinstallationtoken1234567890";
    const ws = workspace("http://127.0.0.1:9/acme/manifests.git", token);
    const error = await ws.sync().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toContain("git fetch failed");
    expect(error?.message).not.toContain(token);
    expect(error?.message).not.toContain(Buffer.from(`x-access-token:${token}`).toString("base64"));
  });

  it("refuses to read through a symbolic link", async () => {
    remote = createManifestsRemote();
    const work = mkdtempSync(join(tmpdir(), "link-"));
    execFileSync("git", ["clone", "--quiet", remote.bare, work]);
    execFileSync("ln", ["-s", "/etc", join(work, "services", "evil")]);
    execFileSync("git", ["-C", work, "add", "-A"]);
    execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "link"]);
    execFileSync("git", ["-C", work, "push", "--quiet", "origin", "HEAD:main"]);
    const ws = workspace(remote.url);
    await ws.sync();
    const main = (await ws.remoteBranch("main")) as string;
    await expect(ws.readFile(main, "services/evil/passwd")).rejects.toThrow("symbolic link");
  });

  it("exports only the directories asked for, and reads many blobs in one go", async () => {
    remote = createManifestsRemote();
    const main = remote.commit(
      "main",
      { "services/order-service/overlays/staging/patches/limits.yaml": "ünïcode: yes\nlines: 2\n" },
      "patch",
    );
    const ws = workspace(remote.url);
    await ws.sync();
    const target = mkdtempSync(join(tmpdir(), "export-"));
    await ws.exportTree(main, target, ["services/order-service/overlays/staging", "services/order-service/base"]);
    const exported = execFileSync("find", [".", "-type", "f"], { cwd: target, encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((f) => f.slice(2))
      .sort();
    const expected = (await ws.listFiles(main, "."))
      .filter(
        (f) => f.startsWith("services/order-service/overlays/staging/") || f.startsWith("services/order-service/base/"),
      )
      .sort();
    expect(exported).toEqual(expected);
    expect(exported).toContain("services/order-service/overlays/staging/patches/limits.yaml");

    const entries = (await ws.treeEntries(main)).filter((e) => e.path.endsWith(".yaml"));
    const texts = await ws.readBlobs([...entries.map((e) => e.sha), "0".repeat(40)]);
    for (const e of entries) expect(texts.get(e.sha)).toBe(await ws.readFile(main, e.path));
    expect(texts.get(entries.find((e) => e.path.endsWith("limits.yaml"))?.sha ?? "")).toBe("ünïcode: yes\nlines: 2\n");
    expect(texts.has("0".repeat(40))).toBe(false);
  });
});
