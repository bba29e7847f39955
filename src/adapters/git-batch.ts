// One long-lived `git cat-file --batch` per clone: objects and refs are read by asking it, not by
// starting a git for each question. Questions are answered in order; the process is started on
// first use and stopped after a while without questions. It sees objects and refs written after
// it started (git looks again for packs and loose objects it does not know, and reads refs afresh).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

export interface BatchObject {
  id: string;
  type: string;
  body: Buffer;
}

interface Waiting {
  resolve: (object: BatchObject | undefined) => void;
  reject: (error: Error) => void;
}

const IDLE_MS = 30_000;

export class GitBatch {
  private child?: ChildProcessWithoutNullStreams;
  private readonly waiting: Waiting[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private idle?: NodeJS.Timeout;

  constructor(
    private readonly gitDir: string,
    private readonly env: Record<string, string>,
  ) {}

  /**
   * The object a name stands for (an id, `<ref>^{commit}`, `<commit>:<path>`), or undefined when
   * there is none. Names are Conveyor's own (ids, branch names it checked): never a line break.
   */
  read(name: string): Promise<BatchObject | undefined> {
    if (/[\n\r]/.test(name)) return Promise.reject(new Error("an object name cannot hold a line break"));
    const child = this.start();
    clearTimeout(this.idle);
    this.hold(true);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${name}\n`);
    });
  }

  /** Stops the process (it is started again when needed). */
  close(): void {
    clearTimeout(this.idle);
    const child = this.child;
    this.child = undefined;
    child?.stdin.end();
    this.fail(new Error("git cat-file was stopped"));
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn("git", ["--git-dir", this.gitDir, "cat-file", "--batch"], {
      env: this.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child = child;
    this.buffer = Buffer.alloc(0);
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.drain();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()).slice(-2000));
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.fail(new Error(`git cat-file ${why}${stderr ? `: ${stderr.trim()}` : ""}`));
    };
    child.on("error", (error) => gone(`failed: ${error.message}`));
    child.on("close", (code) => gone(`exited with ${String(code)}`));
    child.stdin.on("error", () => undefined);
    return child;
  }

  private drain(): void {
    for (;;) {
      const waiting = this.waiting[0];
      if (!waiting) break;
      const eol = this.buffer.indexOf(10);
      if (eol < 0) return;
      const header = this.buffer.subarray(0, eol).toString("utf8");
      const parts = header.split(" ");
      if (parts[parts.length - 1] === "missing" || parts[parts.length - 1] === "ambiguous") {
        this.buffer = this.buffer.subarray(eol + 1);
        this.waiting.shift();
        waiting.resolve(undefined);
        continue;
      }
      const [id, type, size] = parts as [string, string, string];
      const length = Number(size);
      if (this.buffer.length < eol + 1 + length + 1) return;
      const body = Buffer.from(this.buffer.subarray(eol + 1, eol + 1 + length));
      this.buffer = this.buffer.subarray(eol + 1 + length + 1);
      this.waiting.shift();
      waiting.resolve({ id, type, body });
    }
    if (this.waiting.length === 0) {
      // Nothing asked: the process must not keep this one alive, and stops after a while.
      this.hold(false);
      clearTimeout(this.idle);
      this.idle = setTimeout(() => this.close(), IDLE_MS);
      this.idle.unref();
    }
  }

  private hold(on: boolean): void {
    const child = this.child;
    if (!child) return;
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ ref(): void; unref(): void }>)
      if (on) handle.ref();
      else handle.unref();
  }

  private fail(error: Error): void {
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
  }
}
