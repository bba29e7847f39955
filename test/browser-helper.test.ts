import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findChromium } from "./helpers/browser.js";

describe("finding Chromium for the browser tests", () => {
  it("fails, naming the package to install, when there is none", () => {
    const empty = mkdtempSync(join(tmpdir(), "no-browser-"));
    expect(() => findChromium({ PATH: empty })).toThrow(/no Chromium found .*apt-get install chromium/);
    expect(findChromium({ PATH: process.env.PATH })).toMatch(/chrom/);
  });

  it("uses CHROMIUM_PATH, and says so when it points nowhere", () => {
    const dir = mkdtempSync(join(tmpdir(), "browser-"));
    const binary = join(dir, "chrome");
    writeFileSync(binary, "");
    expect(findChromium({ CHROMIUM_PATH: binary })).toBe(binary);
    expect(() => findChromium({ CHROMIUM_PATH: join(dir, "missing") })).toThrow(/does not exist/);
  });
});
