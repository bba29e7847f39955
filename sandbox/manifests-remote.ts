// A real manifests repository on disk: a bare repo seeded from fixtures/manifests-repo, used as
// the git remote of the app under test (file:// URL, so no HTTP is involved).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SEED_DIR = fileURLToPath(new URL("../fixtures/manifests-repo/", import.meta.url));

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

export interface ManifestsRemote {
  root: string;
  bare: string;
  url: string;
  git(...args: string[]): string;
  /** A file's text on a branch, or undefined. */
  show(branch: string, path: string): string | undefined;
  head(branch: string): string | undefined;
  branches(): string[];
  /** Commits files straight to a branch, as a person would. */
  commit(branch: string, files: Record<string, string | null>, message: string): string;
  cleanup(): void;
}

export function createManifestsRemote(extra: Record<string, string> = {}): ManifestsRemote {
  const root = mkdtempSync(join(tmpdir(), "conveyor-remote-"));
  const bare = join(root, "manifests.git");
  const git = (...args: string[]) =>
    execFileSync("git", args, { env: GIT_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  git("init", "--bare", "--quiet", "--initial-branch=main", bare);

  const commit = (branch: string, files: Record<string, string | null>, message: string) => {
    const work = mkdtempSync(join(root, "work-"));
    try {
      const exists = git("--git-dir", bare, "branch", "--list", branch).trim() !== "";
      if (exists) git("clone", "--quiet", "--branch", branch, bare, work);
      else {
        git("init", "--quiet", `--initial-branch=${branch}`, work);
        git("-C", work, "remote", "add", "origin", bare);
      }
      for (const [path, text] of Object.entries(files)) {
        const target = join(work, path);
        if (text === null) rmSync(target, { force: true });
        else {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, text);
        }
      }
      git("-C", work, "add", "-A");
      git("-C", work, "commit", "--quiet", "-m", message);
      git("-C", work, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
      return git("-C", work, "rev-parse", "HEAD").trim();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };

  const seed = mkdtempSync(join(root, "seed-"));
  cpSync(SEED_DIR, seed, { recursive: true });
  for (const [path, text] of Object.entries(extra)) {
    mkdirSync(dirname(join(seed, path)), { recursive: true });
    writeFileSync(join(seed, path), text);
  }
  git("init", "--quiet", "--initial-branch=main", seed);
  git("-C", seed, "add", "-A");
  git("-C", seed, "commit", "--quiet", "-m", "seed manifests");
  git("-C", seed, "push", "--quiet", bare, "main");
  rmSync(seed, { recursive: true, force: true });

  return {
    root,
    bare,
    url: `file://${bare}`,
    git: (...args) => git("--git-dir", bare, ...args),
    show(branch, path) {
      try {
        return execFileSync("git", ["--git-dir", bare, "show", `${branch}:${path}`], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        });
      } catch {
        return undefined;
      }
    },
    head(branch) {
      try {
        return git("--git-dir", bare, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`).trim();
      } catch {
        return undefined;
      }
    },
    branches: () =>
      git("--git-dir", bare, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        .split("\n")
        .filter(Boolean)
        .sort(),
    commit,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
