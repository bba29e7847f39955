// `/status [<service>]`: a table of environments -> image, health, last change and holds, from
// what GitHub Deployments and Conveyor's issues say (and what this replica is verifying now).
// Without a service, every service with an overlay in the repository is listed, read from the
// clone Conveyor keeps of the real bare remote.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ArgoSource } from "../../../src/core/argo-source.js";
import type { DeploymentFact } from "../../../src/core/command-plan.js";
import { parseConfig, type Config } from "../../../src/core/config.js";
import { verificationOf } from "../../../src/core/verification.js";
import type { CommandRun } from "../../../src/flows/commands/execute.js";
import { status } from "../../../src/flows/commands/status.js";
import type { Services } from "../../../src/flows/services.js";
import { Verifier } from "../../../src/runtime/verifier.js";
import { flowWorld, R, recordingLog, type FlowWorld } from "../../helpers/flow-world.js";

const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({
    environments: [
      { name: "staging", autoMerge: true },
      { name: "production", approvers: ["lead"] },
    ],
  }),
) as Config;
const image = (service: string, tag: string) => `ghcr.io/acme/${service}:${tag}`;
const PR_URL = "https://github.com/acme/manifests/pull";

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => w.cleanup());

function runWith(facts: Partial<CommandRun["facts"]> = {}, services: Services = w.services): CommandRun {
  return {
    services,
    scope: w.scope,
    config: CONFIG,
    user: "dev",
    facts: { histories: {}, frozen: [], approver: {}, ...facts },
    commentUrl: `${PR_URL}/12#issuecomment-777`,
  };
}

function fact(id: number, service: string, env: string, tag: string, state: string, pr: number | null): DeploymentFact {
  return {
    id,
    sha: "c".repeat(40),
    service,
    env,
    to: image(service, tag),
    from: image(service, "1.3.0"),
    base: "b".repeat(40),
    file: `services/${service}/overlays/${env}/kustomization.yaml`,
    pr,
    state,
    createdAt: `2025-06-${String(id).padStart(2, "0")}T10:00:00Z`,
  };
}

/** A Deployment as GitHub's list endpoint returns it, payload and all. */
function listed(d: DeploymentFact) {
  return {
    id: d.id,
    sha: d.sha,
    environment: d.env,
    created_at: d.createdAt,
    url: `https://api.github.com${R}/deployments/${d.id}`,
    task: "deploy",
    payload: {
      conveyor: true,
      service: d.service,
      from: d.from,
      to: d.to,
      pr: d.pr,
      application: `${d.service}-${d.env}`,
      file: d.file,
      base: d.base,
      revert: false,
    },
  };
}

function expectHolds(bodies: string[]) {
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: "conveyor:hold", per_page: "100" })
    .reply(
      200,
      bodies.map((body, i) => ({
        number: 50 + i,
        title: "held",
        body,
        state: "open",
        labels: [{ name: "conveyor:hold" }],
      })),
    );
}

const rowsOf = (body: string | undefined) =>
  (body ?? "")
    .split("\n")
    .filter((l) => /^\| [a-z]/.test(l))
    .slice(1);

describe("/status <service>", () => {
  it("one row per environment: image, health, when and by which PR, holds and freezes (1 call)", async () => {
    expectHolds([
      "held image: `ghcr.io/acme/order-service:1.6.0`\n\n<!-- conveyor:hold:order-service:staging -->",
      "<!-- conveyor:hold:payment-service:production -->",
    ]);
    const outcome = await status(
      runWith({
        frozen: ["production"],
        histories: {
          "order-service/staging": [
            fact(6, "order-service", "staging", "1.6.0", "failure", 13),
            fact(5, "order-service", "staging", "1.5.0", "success", 12),
          ],
          "order-service/production": [],
        },
      }),
      "order-service",
    );
    expect(outcome.ok).toBe(true);
    expect(outcome.text).toBe("Status of order-service. Frozen: production.");
    expect(outcome.details?.summary).toBe("Environments");
    expect(rowsOf(outcome.details?.body)).toEqual([
      `| order-service | staging | \`ghcr.io/acme/order-service:1.6.0\` | failed | 2025-06-06T10:00:00Z ([#13](${PR_URL}/13)) | held |`,
      "| order-service | production | - | - | - | frozen |",
    ]);
  });

  it("a change this replica is verifying right now shows as verifying, whatever its Deployment last said", async () => {
    const silent: ArgoSource = {
      start: async () => undefined,
      stop: async () => undefined,
      onApplication: () => () => undefined,
      getApplication: () => undefined,
      rolloutsFor: () => [],
      refresh: async () => undefined,
      stats: () => ({ watchConnections: 0, reconnects: 0, relists: 0 }),
    };
    const verifier = new Verifier({
      source: silent,
      outcomes: {
        verified: async () => undefined,
        failed: async () => undefined,
        superseded: async () => undefined,
      },
      isAncestor: async () => false,
      log: recordingLog(w.logs),
    });
    const env = CONFIG.environments[1] as Config["environments"][number];
    verifier.track(
      verificationOf({
        config: CONFIG,
        env,
        repo: { owner: "acme", repo: "manifests", installationId: 4242, cloneUrl: w.remote.url, defaultBranch: "main" },
        change: { service: "order-service", env: "production", file: "f", revision: "d".repeat(40) },
        deploymentId: 9,
        startedAt: new Date().toISOString(),
      }),
    );
    expectHolds([]);
    const outcome = await status(
      runWith(
        {
          histories: {
            "order-service/production": [fact(9, "order-service", "production", "1.5.0", "pending", null)],
          },
        },
        { ...w.services, verifier },
      ),
      "order-service",
    );
    expect(outcome.text).toBe("Status of order-service.");
    expect(rowsOf(outcome.details?.body)).toEqual([
      "| order-service | staging | - | - | - | - |",
      "| order-service | production | `ghcr.io/acme/order-service:1.5.0` | verifying | 2025-06-09T10:00:00Z | - |",
    ]);
  });
});

describe("/status without a service", () => {
  it("lists every service with an overlay, each with its newest Deployment per environment", async () => {
    // GitHub lists Deployments per environment, for all services: one list per (service, env),
    // then the latest status of the newest Deployment of that service only.
    const staging = [
      fact(7, "payment-service", "staging", "2.1.0", "in_progress", 21),
      fact(5, "order-service", "staging", "1.5.0", "success", 12),
      fact(3, "order-service", "staging", "1.4.0", "success", 10),
    ];
    const production = [fact(8, "order-service", "production", "1.4.0", "success", 11)];
    w.gh.scope
      .get(`${R}/deployments`)
      .query({ task: "deploy", per_page: "50", environment: "staging" })
      .times(5)
      .reply(200, staging.map(listed));
    w.gh.scope
      .get(`${R}/deployments`)
      .query({ task: "deploy", per_page: "50", environment: "production" })
      .times(5)
      .reply(200, production.map(listed));
    for (const [id, state] of [
      [5, "success"],
      [8, "success"],
      [7, "in_progress"],
    ] as const)
      w.gh.scope
        .get(`${R}/deployments/${id}/statuses`)
        .query({ per_page: "1" })
        .reply(200, [{ id: 1, state }]);
    expectHolds(["<!-- conveyor:hold:payment-service:staging -->"]);

    const outcome = await status(runWith({ frozen: ["staging"] }), undefined);

    expect(outcome.text).toBe("Status of 5 services. Frozen: staging.");
    expect(rowsOf(outcome.details?.body)).toEqual([
      "| cart-service | staging | - | - | - | frozen |",
      "| cart-service | production | - | - | - | - |",
      "| catalog-service | staging | - | - | - | frozen |",
      "| catalog-service | production | - | - | - | - |",
      `| order-service | staging | \`ghcr.io/acme/order-service:1.5.0\` | verified | 2025-06-05T10:00:00Z ([#12](${PR_URL}/12)) | frozen |`,
      `| order-service | production | \`ghcr.io/acme/order-service:1.4.0\` | verified | 2025-06-08T10:00:00Z ([#11](${PR_URL}/11)) | - |`,
      `| payment-service | staging | \`ghcr.io/acme/payment-service:2.1.0\` | verifying | 2025-06-07T10:00:00Z ([#21](${PR_URL}/21)) | frozen, held |`,
      "| payment-service | production | - | - | - | - |",
      "| user-service | staging | - | - | - | frozen |",
      "| user-service | production | - | - | - | - |",
    ]);
  });

  it("a service added to the repository since the last /status is listed", async () => {
    const noDeployments = (times: number) =>
      w.gh.scope
        .get(`${R}/deployments`)
        .query((q) => q.task === "deploy" && q.per_page === "50")
        .times(times)
        .reply(200, []);
    noDeployments(10);
    expectHolds([]);
    expect((await status(runWith(), undefined)).text).toBe("Status of 5 services.");

    const overlay = (
      w.remote.show("main", "services/user-service/overlays/staging/kustomization.yaml") as string
    ).replaceAll("user-service", "search-service");
    w.remote.commit("main", { "services/search-service/overlays/staging/kustomization.yaml": overlay }, "add search");
    noDeployments(12);
    expectHolds([]);
    const outcome = await status(runWith(), undefined);
    expect(outcome.text).toBe("Status of 6 services.");
    expect(rowsOf(outcome.details?.body).map((row) => row.split(" | ").slice(0, 2).join(" | "))).toEqual([
      "| cart-service | staging",
      "| cart-service | production",
      "| catalog-service | staging",
      "| catalog-service | production",
      "| order-service | staging",
      "| order-service | production",
      "| payment-service | staging",
      "| payment-service | production",
      "| search-service | staging",
      "| search-service | production",
      "| user-service | staging",
      "| user-service | production",
    ]);
  });
});

describe("/status of a service released by blue-green or canary", () => {
  const strategies = ((r) => (r.ok ? r.config : undefined))(
    parseConfig({
      environments: [
        { name: "staging", autoMerge: true },
        { name: "production", strategy: "blueGreen" },
      ],
      services: { "catalog-service": { strategy: "canary" } },
    }),
  ) as Config;
  const run = (): CommandRun => ({ ...runWith(), config: strategies });

  it("shows the live slot and what the idle one keeps, read from the overlay's patch files", async () => {
    expectHolds([]);
    const before = await status(run(), "cart-service");
    expect(before.details?.body).toContain(
      "\n\n- cart-service in production (blueGreen): live: blue `ghcr.io/acme/cart-service:1.4.0`; idle: green `ghcr.io/acme/cart-service:1.3.0`",
    );
    expect(before.details?.body).not.toContain("cart-service in staging");

    const file = "services/cart-service/overlays/production/service.yaml";
    w.remote.commit(
      "main",
      { [file]: (w.remote.show("main", file) as string).replace("slot: blue", "slot: green") },
      "switch",
    );
    expectHolds([]);
    const after = await status(run(), "cart-service");
    expect(after.details?.body).toContain("live: green `ghcr.io/acme/cart-service:1.3.0`; idle: blue");
  });

  it("shows what the canary runs beside stable, in every environment", async () => {
    expectHolds([]);
    const outcome = await status(run(), "catalog-service");
    expect(outcome.details?.body).toContain(
      "- catalog-service in staging (canary): stable `ghcr.io/acme/catalog-service:2.0.0`; canary idle (0 replicas)",
    );
    expect(outcome.details?.body).toContain("- catalog-service in production (canary): stable");
  });

  it("a service whose overlay lacks the layout says what is missing", async () => {
    expectHolds([]);
    const outcome = await status(run(), "order-service");
    expect(outcome.details?.body).toContain(
      "- order-service in production (blueGreen): services/order-service/overlays/production has no patch file for Service `order-service`",
    );
  });
});
