// The floor any git-based PR bot pays on the same transport: a warm, checked-out clone that
// fetches, moves to the default branch, edits one file, commits, pushes a branch, and asks for the
// PR with one `pulls.create`. Timed like Conveyor, up to the forge's `pull_request.opened`.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { World } from "../../sandbox/world.js";
import { GIT_ENV, run } from "./common.js";
import { OWNER, prOpened, REPO } from "./world.js";

export interface FloorRun {
  branch: string;
  /** File to edit, relative to the repository root. */
  file: string;
  edit: (text: string) => string;
  title: string;
}

export interface FloorSample {
  branch: string;
  pr: number;
  /** The commit pushed (the PR's head). */
  head: string;
  ms: number;
  /** Milliseconds spent in each step ("create": pulls.create up to the opened webhook). */
  steps: { fetch: number; reset: number; commit: number; push: number; create: number };
}

const IDENTITY = {
  GIT_AUTHOR_NAME: "floor",
  GIT_AUTHOR_EMAIL: "floor@example.com",
  GIT_COMMITTER_NAME: "floor",
  GIT_COMMITTER_EMAIL: "floor@example.com",
};

export class WarmFloor {
  private constructor(
    private readonly world: World,
    private readonly token: string,
    readonly dir: string,
  ) {}

  /** Clones once (not timed): the floor is a warm clone, as Conveyor's workspace is. */
  static async clone(world: World, token: string): Promise<WarmFloor> {
    const dir = await mkdtemp(join(tmpdir(), "bench-floor-"));
    await run("git", ["clone", "--quiet", "--no-tags", world.forge.authedGitUrl(OWNER, REPO, token), dir]);
    return new WarmFloor(world, token, dir);
  }

  async run(target: FloorRun): Promise<FloorSample> {
    const env = { ...GIT_ENV, ...IDENTITY };
    const git = (args: string[]) => run("git", ["-C", this.dir, ...args], { env });
    const opened = this.world.forge
      .waitForEvent(prOpened(target.branch, this.world), 120_000)
      .then(() => performance.now());
    const marks = [performance.now()];
    const mark = () => marks.push(performance.now());
    await git(["fetch", "--quiet", "--no-tags", "origin"]);
    mark();
    await git(["reset", "--quiet", "--hard", "origin/main"]);
    mark();
    const path = join(this.dir, target.file);
    await writeFile(path, target.edit(await readFile(path, "utf8")));
    await git(["commit", "--quiet", "-a", "-m", target.title]);
    mark();
    await git(["push", "--quiet", "origin", `HEAD:refs/heads/${target.branch}`]);
    mark();
    const res = await fetch(`${this.world.forge.url}/repos/${OWNER}/${REPO}/pulls`, {
      method: "POST",
      headers: {
        authorization: `token ${this.token}`,
        "content-type": "application/json",
        accept: "application/vnd.github+json",
      },
      body: JSON.stringify({ title: target.title, head: target.branch, base: "main" }),
    });
    const created = (await res.json()) as { number: number };
    if (res.status !== 201) throw new Error(`floor: pulls.create for ${target.branch} answered ${res.status}`);
    // Timed to the forge's pull_request.opened, as Conveyor is (the forge sends it before it answers).
    marks.push(await opened);
    // Not timed: only the benchmark wants the id.
    const head = (await git(["rev-parse", "HEAD"])).stdout.trim();
    const step = (i: number) => Math.round(((marks[i + 1] as number) - (marks[i] as number)) * 10) / 10;
    return {
      branch: target.branch,
      pr: created.number,
      head,
      ms: (marks[marks.length - 1] as number) - (marks[0] as number),
      steps: { fetch: step(0), reset: step(1), commit: step(2), push: step(3), create: step(4) },
    };
  }

  close(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
