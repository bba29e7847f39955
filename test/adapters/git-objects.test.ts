// Commits built in-process (no index, no git process) must be exactly what git itself would
// write: the same tree ids, objects `git fsck` accepts, and a pack `git index-pack` reads.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GitWorkspace } from "../../src/adapters/git-workspace.js";
import { compareNames, gitObject, packObjects, parseTree, treeObject } from "../../src/adapters/git-objects.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";

let remote: ManifestsRemote;
afterEach(() => remote?.cleanup());

const git = (dir: string, args: string[], env: Record<string, string> = {}, input?: string) =>
  execFileSync("git", ["--git-dir", dir, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });

/** The tree git's own index machinery makes for the same one-file change. */
function treeByGit(dir: string, parent: string, path: string, text: string, mode = "100644"): string {
  const scratch = mkdtempSync(join(tmpdir(), "index-"));
  const env = { GIT_INDEX_FILE: join(scratch, "index") };
  writeFileSync(join(scratch, "blob"), text);
  const blob = git(dir, ["hash-object", "-w", join(scratch, "blob")]).trim();
  git(dir, ["read-tree", parent], env);
  git(dir, ["update-index", "--add", "--cacheinfo", `${mode},${blob},${path}`], env);
  return git(dir, ["write-tree"], env).trim();
}

async function clone(extra: Record<string, string> = {}) {
  remote = createManifestsRemote(extra);
  const ws = new GitWorkspace({ dir: join(mkdtempSync(join(tmpdir(), "ws-")), "clone"), remoteUrl: remote.url });
  await ws.sync();
  return { ws, main: (await ws.remoteBranch("main")) as string };
}

describe("commits built without an index", () => {
  it("match git's own trees, for a changed file, a new file in new directories, and names that sort around '/'", async () => {
    // "a-b" sorts before the directory "a" (compared as "a/"), and "a.txt" before it too.
    // Names beyond ASCII sort by their UTF-8 bytes, which JavaScript's own order gets wrong for
    // U+E000..U+FFFF against characters outside the basic plane.
    const { ws, main } = await clone({
      "sort/a-b": "x\n",
      "sort/a.txt": "y\n",
      "sort/a/inner.yaml": "z\n",
      "uni/\ue000.yaml": "private\n",
      "uni/\u{1f600}.yaml": "emoji\n",
      "uni/z.yaml": "z\n",
    });
    const cases: Array<[string, string]> = [
      ["services/order-service/overlays/staging/kustomization.yaml", "changed\n"],
      ["services/new-service/overlays/qa/kustomization.yaml", "new: yes\n"],
      ["sort/a/inner.yaml", "changed: yes\n"],
      ["sort/a/b", "beside\n"],
      ["top.yaml", "ünïcode\n"],
      ["uni/é.yaml", "new\n"],
      ["uni/\ue000.yaml", "changed\n"],
    ];
    for (const [path, text] of cases) {
      const commit = await ws.commitFile({ parent: main, path, text, message: `edit ${path}` });
      expect(git(ws.dir, ["rev-parse", `${commit}^{tree}`]).trim()).toBe(treeByGit(ws.dir, main, path, text));
      expect(git(ws.dir, ["rev-parse", `${commit}^`]).trim()).toBe(main);
      expect(git(ws.dir, ["log", "-1", "--format=%an <%ae>|%cn|%B", commit]).trim()).toBe(
        `conveyor[bot] <conveyor[bot]@users.noreply.github.com>|conveyor[bot]|edit ${path}`,
      );
      expect(await ws.readFile(commit, path)).toBe(text);
      expect(await ws.changedFiles(main, commit)).toEqual([path]);
    }
    // The whole-tree listing of a commit made here (derived from its parent's) is git's own.
    await ws.treeEntries(main);
    const edited = await ws.commitFile({ parent: main, path: cases[0]![0], text: "again\n", message: "again" });
    const other = new GitWorkspace({ dir: ws.dir, remoteUrl: remote.url });
    expect(await ws.treeEntries(edited)).toEqual(await other.treeEntries(edited));
    expect([...(await ws.directoryTrees(edited))].sort()).toEqual([...(await other.directoryTrees(edited))].sort());
    expect(await ws.treeEntries(edited)).not.toEqual(await ws.treeEntries(main));
    // Every object is well formed (fsck checks tree order, modes and headers).
    expect(() => git(ws.dir, ["fsck", "--strict", "--no-dangling"])).not.toThrow();
  });

  it("keeps an executable file executable, and refuses a path through a file", async () => {
    const { ws, main: first } = await clone({ "bin/run.sh": "#!/bin/sh\n" });
    const work = mkdtempSync(join(tmpdir(), "exec-"));
    execFileSync("git", ["clone", "--quiet", remote.bare, work]);
    execFileSync("chmod", ["+x", join(work, "bin/run.sh")]);
    execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "x"]);
    execFileSync("git", ["-C", work, "push", "--quiet", "origin", "HEAD:main"]);
    await ws.sync();
    const main = (await ws.remoteBranch("main")) as string;
    expect(main).not.toBe(first);
    const commit = await ws.commitFile({ parent: main, path: "bin/run.sh", text: "#!/bin/sh\necho\n", message: "m" });
    expect(git(ws.dir, ["ls-tree", commit, "bin/run.sh"])).toMatch(/^100755 blob /);
    expect(git(ws.dir, ["rev-parse", `${commit}^{tree}`]).trim()).toBe(
      treeByGit(ws.dir, main, "bin/run.sh", "#!/bin/sh\necho\n", "100755"),
    );
    await expect(
      ws.commitFile({ parent: main, path: "bin/run.sh/inside.yaml", text: "x\n", message: "m" }),
    ).rejects.toThrow("is a file, not a directory");
    await expect(ws.commitFile({ parent: main, path: "../escape.yaml", text: "x\n", message: "m" })).rejects.toThrow(
      "invalid path",
    );
  });
});

describe("reading without a process per question", () => {
  it("lists changed files like git diff, and finds the merge base of a commit made on top of another", async () => {
    const { ws, main } = await clone({
      "a/one.yaml": "1\n",
      "a/two.yaml": "2\n",
      "b/x": "x\n",
      "file-then-dir": "f\n",
    });
    const next = remote.commit(
      "main",
      {
        "a/one.yaml": "changed\n",
        "a/two.yaml": null,
        "c/new/deep.yaml": "new\n",
        "file-then-dir": null,
        "b/x": "x\n",
      },
      "many",
    );
    const last = remote.commit("main", { "file-then-dir/inside": "now a directory\n" }, "dir");
    await ws.sync();
    for (const [from, to] of [
      [main, next],
      [next, last],
      [main, last],
      [last, main],
    ] as const) {
      const byGit = git(ws.dir, ["diff", "--name-only", "--no-renames", from, to]).split("\n").filter(Boolean);
      expect((await ws.changedFiles(from, to)).sort()).toEqual(byGit.sort());
    }
    expect(await ws.mergeBase(main, next)).toBe(main);
    expect(await ws.mergeBase(last, next)).toBe(next);
    expect(await ws.mergeBase(main, last)).toBe(main);
    expect(await ws.isAncestor(next, last)).toBe(true);
    expect(await ws.isAncestor(last, main)).toBe(false);
  });
});

describe("objects and packs", () => {
  it("orders names as git does, by their UTF-8 bytes", () => {
    const alphabet = [
      "a",
      "b",
      "/",
      "-",
      ".",
      "é",
      "\u00ff",
      "\u0800",
      "\ud7ff",
      "\ue000",
      "\uffee",
      "\u{1f600}",
      "\u{10000}",
    ];
    let seed = 11;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const word = () =>
      Array.from({ length: 1 + Math.floor(next() * 4) }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
    for (let i = 0; i < 2_000; i++) {
      const [a, b] = [word(), word()];
      expect(Math.sign(compareNames(a, b)), `${a} vs ${b}`).toBe(
        Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    }
  });

  it("give a made tree's entries as they read back from its bytes, and refuse an id that is not one", () => {
    const id = (n: number) => n.toString(16).padStart(40, "0");
    const tree = treeObject([
      { mode: "100644", name: "z.yaml", id: id(1) },
      { mode: "40000", name: "a", id: id(2) },
      { mode: "040000", name: "a-b", id: id(3) },
      { mode: "100755", name: "é", id: id(4) },
      { mode: "120000", name: "a.link", id: id(5) },
    ]);
    expect(tree.items).toEqual(parseTree(tree.body));
    expect(tree.items.map((i) => i.name)).toEqual(["a-b", "a.link", "a", "z.yaml", "é"]);
    expect(() => treeObject([{ mode: "100644", name: "x", id: "not-an-id" }])).toThrow(/40 hexadecimal/);
  });

  it("hash like git and pack into something git index-pack accepts", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pack-")), "repo.git");
    execFileSync("git", ["init", "--bare", "--quiet", dir]);
    const big = gitObject("blob", Buffer.from("x".repeat(100_000)));
    const small = gitObject("blob", Buffer.from("hello\n"));
    expect(small.id).toBe(git(dir, ["hash-object", "--stdin"], {}, "hello\n").trim());
    const tree = treeObject([
      { mode: "100644", name: "hello", id: small.id },
      { mode: "100644", name: "big", id: big.id },
    ]);
    const packFile = join(dir, "test.pack");
    writeFileSync(packFile, packObjects([small, big, tree]));
    git(dir, ["index-pack", packFile]);
    const listed = git(dir, ["verify-pack", "-v", packFile.replace(/\.pack$/, ".idx")]);
    for (const object of [small, big, tree]) expect(listed).toContain(object.id);
  });
});
