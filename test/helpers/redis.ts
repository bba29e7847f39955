// A real redis-server for a test file, on a free port, with nothing written to disk. Fails (never
// skips) when redis-server is missing: `.ci/run` installs Debian's redis-server package.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

export interface RedisServer {
  url: string;
  client(): Redis;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(): Promise<RedisServer> {
  if (spawnSync("redis-server", ["--version"]).error)
    throw new Error("redis-server is not installed (Debian: apt-get install -y redis-server); .ci/run installs it");
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  const clients: Redis[] = [];
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on("error", () => undefined);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${String(error)}`);
      probe.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  probe.disconnect();
  return {
    url,
    client() {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      client.on("error", () => undefined);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
