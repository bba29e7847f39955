// The golden-file helper itself: a missing golden file fails (it is never written silently), a
// different text fails and names the file, and only UPDATE_GOLDEN=1 writes. Each test works in its
// own temporary directory and sets UPDATE_GOLDEN itself, so it holds however the suite is run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectGolden, goldenFiles } from "./helpers/golden.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "conveyor-golden-"));
  vi.stubEnv("UPDATE_GOLDEN", "");
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe("golden files", () => {
  it("a missing golden file fails, says how to create it, and is not created", () => {
    const file = join(dir, "missing.md");
    expect(() => expectGolden(file, "text")).toThrow(/does not exist\. Create it with `UPDATE_GOLDEN=1 npx vitest run/);
    expect(existsSync(file)).toBe(false);
  });

  it("a missing golden file in a directory that does not exist fails too, through goldenFiles", () => {
    const golden = goldenFiles(pathToFileURL(join(dir, "nested", "/")));
    expect(() => golden("new.md", "text")).toThrow(/golden file .*nested\/new\.md does not exist/);
    expect(existsSync(join(dir, "nested"))).toBe(false);
  });

  it.each(["true", "yes", "0"])("UPDATE_GOLDEN=%s is not UPDATE_GOLDEN=1: the missing file still fails", (value) => {
    vi.stubEnv("UPDATE_GOLDEN", value);
    expect(() => expectGolden(join(dir, "missing.md"), "text")).toThrow(/does not exist/);
  });

  it("the same text passes; a different text fails and names the file, which is left as it was", () => {
    const file = join(dir, "body.md");
    writeFileSync(file, "line 1\nline 2\n");
    expectGolden(file, "line 1\nline 2\n");
    expect(() => expectGolden(file, "line 1\nline two\n")).toThrow(/differs from golden file .*body\.md/);
    expect(() => expectGolden(file, "line 1\nline 2")).toThrow(/differs from golden file/);
    expect(readFileSync(file, "utf8")).toBe("line 1\nline 2\n");
  });

  it("UPDATE_GOLDEN=1 writes the file (and its directory), and the next plain run compares with it", () => {
    const golden = goldenFiles(pathToFileURL(join(dir, "texts", "/")));
    vi.stubEnv("UPDATE_GOLDEN", "1");
    golden("new.md", "first\n");
    golden("changed.md", "old\n");
    golden("changed.md", "new\n");
    expect(readFileSync(join(dir, "texts", "new.md"), "utf8")).toBe("first\n");
    expect(readFileSync(join(dir, "texts", "changed.md"), "utf8")).toBe("new\n");
    vi.stubEnv("UPDATE_GOLDEN", "");
    golden("new.md", "first\n");
    expect(() => golden("changed.md", "old\n")).toThrow(/differs from golden file/);
  });
});
