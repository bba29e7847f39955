// `npm run bench` runs every benchmark; `npm run bench -- dispatch|burst|watch` one (or several).
// `--quick` shrinks each to a smoke test (results then go to <name>.quick.json).
// Each writes bench/results/<name>.json (machine, parameters, figures) and prints a table.
import { benchBurst, DEFAULT_BURST, QUICK_BURST } from "./burst.js";
import { benchDispatch, DEFAULT_DISPATCH, QUICK_DISPATCH } from "./dispatch.js";
import { benchWatch, DEFAULT_WATCH, QUICK_WATCH } from "./watch.js";
import { log, run } from "./lib/common.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const known = ["dispatch", "burst", "watch"] as const;
const names = args.filter((a) => !a.startsWith("--"));
for (const name of names) {
  if (!(known as readonly string[]).includes(name)) {
    console.error(`unknown benchmark ${name}; choose from ${known.join(", ")}`);
    process.exit(2);
  }
}
const selected = names.length ? names : [...known];
// Conveyor runs as the image runs it: compiled, with plain node (`--source` runs the TypeScript
// through tsx instead, whose hooks and source maps cost CPU the image does not pay).
if (args.includes("--source")) process.env.BENCH_APP = "source";
else {
  const started = Date.now();
  try {
    await run("npm", ["run", "--silent", "build"], {
      cwd: new URL("../", import.meta.url).pathname,
      env: process.env as Record<string, string>,
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
  process.env.BENCH_APP = "built";
  log(
    `built dist/ in ${Math.round((Date.now() - started) / 1000)} s; Conveyor runs from it (--source: from src/ through tsx)`,
  );
}
let failed = false;
for (const name of selected) {
  const started = Date.now();
  try {
    if (name === "dispatch") await benchDispatch(quick ? QUICK_DISPATCH : DEFAULT_DISPATCH, quick);
    if (name === "burst") await benchBurst(quick ? QUICK_BURST : DEFAULT_BURST, quick);
    if (name === "watch") await benchWatch(quick ? QUICK_WATCH : DEFAULT_WATCH, quick);
    log(`${name}: done in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (error) {
    failed = true;
    console.error(
      `\n${name}: FAILED after ${Math.round((Date.now() - started) / 1000)} s: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
}
process.exit(failed ? 1 : 0);
