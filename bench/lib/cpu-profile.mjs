// Preloaded into Conveyor with BENCH_APP_NODE_OPTIONS="--import <this file>" (Node refuses
// --cpu-prof in NODE_OPTIONS): profiles the whole process and writes a .cpuprofile into
// BENCH_PROFILE_DIR (default the OS temp dir) when it exits.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import process from "node:process";

const session = new Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 1000 });
session.post("Profiler.start");
process.on("exit", () => {
  session.post("Profiler.stop", (error, result) => {
    if (error) return;
    const dir = process.env.BENCH_PROFILE_DIR || tmpdir();
    writeFileSync(join(dir, `conveyor-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
