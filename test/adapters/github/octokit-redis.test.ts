// Conveyor's Octokit with REDIS_URL, as replicas run it: the write spacing lives in a real Redis
// (Bottleneck's clustering), so two replicas, each with its own client class, space their writes
// together; without Redis each process keeps its own (octokit.test.ts).
import Bottleneck from "bottleneck";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conveyorOctokit } from "../../../src/adapters/github/octokit.js";
import { mockGitHub } from "../../helpers/github-mock.js";
import { startRedis, type RedisServer } from "../../helpers/redis.js";

let redis: RedisServer;
const connections: Bottleneck.IORedisConnection[] = [];
beforeAll(async () => (redis = await startRedis()));
afterAll(async () => {
  await Promise.all(connections.map((c) => c.disconnect(false)));
  await redis.stop();
});

/** One replica's client: its own class (its own process, in production) and Redis connection. */
function replica(auth: string) {
  const connection = new Bottleneck.IORedisConnection({ client: redis.client() });
  connections.push(connection);
  const Octokit = conveyorOctokit({ writeIntervalMs: 300 });
  // What Probot passes with REDIS_URL: Bottleneck's full build, the connection, the app's id.
  return new Octokit({ auth, throttle: { Bottleneck, connection, id: "conveyor-test-app" } });
}

describe("conveyorOctokit with Redis", () => {
  it("spaces writes by writeIntervalMs across replicas that share a Redis", async () => {
    const gh = mockGitHub();
    const at: number[] = [];
    gh.scope
      .post("/repos/acme/manifests/issues/1/labels")
      .times(4)
      .reply(() => (at.push(performance.now()), [200, []]));
    const replicas = [replica("ghs_one"), replica("ghs_two")];
    const started = performance.now();
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        replicas[i % 2]?.rest.issues.addLabels({
          owner: "acme",
          repo: "manifests",
          issue_number: 1,
          labels: [`l${i}`],
        }),
      ),
    );
    // Four writes 300 ms apart cannot all arrive sooner than 900 ms after the first was asked
    // for; a limiter per replica would let two through at once, done in about 300 ms.
    expect(at).toHaveLength(4);
    expect(Math.max(...at) - started).toBeGreaterThanOrEqual(870);
  });
});
