// Do two Conveyor replicas share one GitHub write throttle through REDIS_URL?
// Needs `redis-server` on PATH (Debian: apt-get install redis-server); not part of `npm test`,
// because CI has no Redis. Run: npx tsx scripts/check-redis-throttle.ts [--default]
// Two replica processes, each a Probot app with Conveyor's Octokit (writes spaced 500 ms), send
// five writes each at once for the same installation to a stand-in API that records when each
// arrives. With a shared throttle the ten writes arrive about 500 ms apart; without it, two at a time.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { pino } from "pino";
import { Probot } from "probot";
import { conveyorOctokit } from "../src/adapters/github/octokit.js";

const WRITES = 5;
// `--default`: Octokit's own spacing (1 s) and Probot's own Redis-backed limiter, untuned.
const DEFAULT = process.argv.includes("--default") || process.env.SPACING === "default";
const INTERVAL_MS = DEFAULT ? 1000 : 500;

if (process.argv[2] === "replica") {
  const probot = new Probot({
    appId: 1,
    privateKey: process.env.KEY as string,
    baseUrl: process.env.API_URL,
    redisConfig: process.env.REDIS_URL,
    log: pino({ level: "warn" }),
    Octokit: DEFAULT ? conveyorOctokit() : conveyorOctokit({ writeIntervalMs: INTERVAL_MS }),
  });
  const octokit = await probot.auth(1);
  await Promise.all(
    Array.from({ length: WRITES }, (_, i) =>
      octokit.rest.issues.addLabels({
        owner: "acme",
        repo: "manifests",
        issue_number: 1,
        labels: [`${process.env.NAME}-${i}`],
      }),
    ),
  );
  process.exit(0);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

const arrivals: Array<{ at: number; label: string }> = [];
const api = createHttpServer((req, res) => {
  let body = "";
  req.on("data", (c: Buffer) => (body += c.toString()));
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    if (req.url?.endsWith("/access_tokens")) {
      res.statusCode = 201;
      res.end(JSON.stringify({ token: "ghs_stand_in", expires_at: new Date(Date.now() + 3_600_000).toISOString() }));
      return;
    }
    arrivals.push({ at: performance.now(), label: (JSON.parse(body) as { labels: string[] }).labels[0] as string });
    res.end("[]");
  });
});
await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
const key = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

async function round(redisUrl: string | undefined): Promise<number[]> {
  arrivals.length = 0;
  const replicas = ["a", "b"].map(
    (name) =>
      new Promise<number | null>((resolve) => {
        const child: ChildProcess = spawn(
          process.execPath,
          ["--import", "tsx", new URL(import.meta.url).pathname, "replica"],
          {
            env: {
              ...process.env,
              SPACING: DEFAULT ? "default" : "tuned",
              NAME: name,
              KEY: key,
              API_URL: apiUrl,
              ...(redisUrl ? { REDIS_URL: redisUrl } : { REDIS_URL: "" }),
            },
            stdio: "inherit",
          },
        );
        child.on("exit", resolve);
      }),
  );
  const codes = await Promise.all(replicas);
  if (codes.some((c) => c !== 0)) throw new Error(`a replica failed: ${codes.join(", ")}`);
  const times = arrivals.map((a) => a.at).sort((x, y) => x - y);
  return times.slice(1).map((t, i) => Math.round(t - (times[i] as number)));
}

const port = await freePort();
const redis = spawn(
  "redis-server",
  ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
  { stdio: "ignore" },
);
try {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const alone = await round(undefined);
  const shared = await round(`redis://127.0.0.1:${port}`);
  console.log(`writes: 2 replicas x ${WRITES}, spacing ${INTERVAL_MS} ms per installation`);
  const span = (gaps: number[]) => gaps.reduce((a, b) => a + b, 0);
  const median = (gaps: number[]) => [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] as number;
  // Arrival times carry each process's own request latency (a cold first request is slower), so
  // single gaps jitter; the span and the median show whether the replicas took turns.
  console.log(
    `without REDIS_URL, gaps between arrivals (ms): ${alone.join(", ")}  (median ${median(alone)}, span ${span(alone)})`,
  );
  console.log(
    `with REDIS_URL,    gaps between arrivals (ms): ${shared.join(", ")}  (median ${median(shared)}, span ${span(shared)})`,
  );
  const floor = (2 * WRITES - 1) * INTERVAL_MS;
  const ok = span(shared) >= floor * 0.95 && median(shared) >= INTERVAL_MS * 0.9 && span(alone) < floor * 0.6;
  console.log(ok ? "shared: the replicas took turns through Redis" : "NOT shared");
  process.exitCode = ok ? 0 : 1;
} finally {
  redis.kill();
  api.close();
}
