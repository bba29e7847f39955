// Headless Chromium for the dashboard's browser tests: Debian's `chromium` package (or the
// browser CHROMIUM_PATH names), driven by playwright-core, which downloads no browser of its own.
// Without a browser this throws, so the tests fail and say how to get one; they never skip.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.CHROMIUM_PATH?.trim();
  if (explicit) {
    if (existsSync(explicit)) return explicit;
    throw new Error(`CHROMIUM_PATH is ${explicit}, which does not exist`);
  }
  for (const name of CANDIDATES) {
    try {
      const path = execFileSync("/bin/sh", ["-c", `command -v ${name}`], {
        encoding: "utf8",
        env: { PATH: env.PATH ?? "" },
      }).trim();
      if (path) return path;
    } catch {
      // not on PATH: try the next name
    }
  }
  throw new Error(
    "no Chromium found for the dashboard's browser tests: install Debian's package (apt-get install chromium; .ci/run does this) or set CHROMIUM_PATH to a Chromium or Chrome binary",
  );
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    // As root (CI, containers) Chromium refuses its own sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
    timeout: 60_000,
  });
}
