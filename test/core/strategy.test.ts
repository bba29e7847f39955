import { describe, expect, it } from "vitest";
import { strategyFor } from "../../src/core/strategy.js";
import { expectConfigProblem, validConfig as valid } from "../helpers/config.js";

describe("strategy per service and environment", () => {
  it("is image (set the overlay's images: entry) without any config", () => {
    const config = valid(null);
    expect(strategyFor(config, "order-service", "staging")).toEqual({ kind: "image" });
    expect(strategyFor(config, "order-service", "production")).toEqual({ kind: "image" });
  });

  it("blueGreen names the slot Deployments and the Service after the service by default", () => {
    const config = valid({ services: { "order-service": { strategy: "blueGreen" } } });
    expect(strategyFor(config, "order-service", "production")).toEqual({
      kind: "blueGreen",
      service: "order-service",
      slots: { blue: "order-service-blue", green: "order-service-green" },
      label: "slot",
    });
    expect(strategyFor(config, "payments", "production")).toEqual({ kind: "image" });
  });

  it("canary names the canary and stable Deployments and runs 1 canary replica by default", () => {
    const config = valid({ services: { "order-service": { strategy: "canary" } } });
    expect(strategyFor(config, "order-service", "staging")).toEqual({
      kind: "canary",
      canary: "order-service-canary",
      stable: "order-service-stable",
      replicas: 1,
      idleReplicas: 0,
    });
  });

  it("an environment's strategy applies to every service there; a service's own wins", () => {
    const config = valid({
      environments: [{ name: "staging" }, { name: "production", strategy: "blueGreen" }],
      services: {
        web: { strategy: { staging: "canary" }, canary: { canary: "web-new", stable: "web", replicas: 2 } },
        batch: { strategy: "image" },
      },
    });
    expect(strategyFor(config, "api", "staging").kind).toBe("image");
    expect(strategyFor(config, "api", "production").kind).toBe("blueGreen");
    expect(strategyFor(config, "web", "staging")).toMatchObject({
      kind: "canary",
      canary: "web-new",
      stable: "web",
      replicas: 2,
    });
    expect(strategyFor(config, "web", "production").kind).toBe("blueGreen");
    expect(strategyFor(config, "batch", "production").kind).toBe("image");
  });

  it("configured names may use {service}", () => {
    const config = valid({
      services: {
        shop: {
          strategy: "blueGreen",
          blueGreen: { service: "{service}-live", slots: { blue: "{service}-a" }, label: "color", container: "app" },
        },
      },
    });
    expect(strategyFor(config, "shop", "staging")).toEqual({
      kind: "blueGreen",
      service: "shop-live",
      slots: { blue: "shop-a", green: "shop-green" },
      label: "color",
      container: "app",
    });
  });
});

describe("gates", () => {
  it("default to none, and a gate defaults to the source repository, main and 30 minutes", () => {
    expect(valid(null).environments[0]?.gates).toEqual([]);
    const config = valid({
      environments: [{ name: "staging", gates: [{ workflow: "e2e.yml" }] }, { name: "production" }],
    });
    expect(config.environments[0]?.gates).toEqual([
      { workflow: "e2e.yml", repository: "{source}", ref: "main", timeout: 1_800_000 },
    ]);
  });

  it("name another repository, ref and timeout", () => {
    const config = valid({
      environments: [
        {
          name: "staging",
          gates: [{ workflow: "smoke.yaml", repository: "acme/e2e-suite", ref: "release/v2", timeout: "45m" }],
        },
        { name: "production" },
      ],
    });
    expect(config.environments[0]?.gates[0]).toEqual({
      workflow: "smoke.yaml",
      repository: "acme/e2e-suite",
      ref: "release/v2",
      timeout: 2_700_000,
    });
  });
});

describe("invalid strategies and gates name the key and the reason", () => {
  const twoEnvs = [{ name: "staging" }, { name: "production" }];
  it.each([
    [{ services: { a: { strategy: "rolling" } } }, "services.a.strategy", "blueGreen"],
    [{ environments: [{ name: "a", strategy: "bluegreen" }] }, "environments.0.strategy", '"image"'],
    [
      { services: { a: { strategy: { prod: "canary" } } } },
      "services.a.strategy.prod",
      "no environment named prod (environments: staging, production)",
    ],
    [
      { services: { a: { blueGreen: { slots: { blue: "x", green: "x" } } } } },
      "services.a.blueGreen.slots",
      "two Deployments",
    ],
    [
      { services: { a: { blueGreen: { service: "Order Service" } } } },
      "services.a.blueGreen.service",
      "Kubernetes name",
    ],
    [{ services: { a: { blueGreen: { slot: "x" } } } }, "services.a.blueGreen", "Unrecognized key"],
    [{ services: { a: { canary: { canary: "a", stable: "a" } } } }, "services.a.canary", "two Deployments"],
    [{ services: { a: { canary: { replicas: 0 } } } }, "services.a.canary.replicas", "Too small"],
    [
      { services: { a: { canary: { replicas: 2, idleReplicas: 2 } } } },
      "services.a.canary.idleReplicas",
      "fewer than replicas",
    ],
    [
      { environments: [{ name: "staging", gates: [{ workflow: "../x.yml" }] }, { name: "p" }] },
      "environments.0.gates.0.workflow",
      "workflow file name",
    ],
    [
      {
        environments: [
          { name: "staging", gates: [{ workflow: "e2e.yml", repository: "https://github.com/a/b" }] },
          { name: "p" },
        ],
      },
      "environments.0.gates.0.repository",
      "owner/repo",
    ],
    [
      { environments: [{ name: "staging", gates: [{ workflow: "e2e.yml", ref: "../../etc" }] }, { name: "p" }] },
      "environments.0.gates.0.ref",
      "branch or tag",
    ],
    [
      { environments: [{ name: "staging", gates: [{ workflow: "e2e.yml", timeout: "soon" }] }, { name: "p" }] },
      "environments.0.gates.0.timeout",
      "duration",
    ],
    [
      { environments: [{ name: "staging", gates: [{ workflow: "e2e.yml", inputs: {} }] }, { name: "p" }] },
      "environments.0.gates.0",
      "Unrecognized key",
    ],
    [
      { environments: [twoEnvs[0], { name: "production", gates: [{ workflow: "e2e.yml" }] }] },
      "environments.1.gates",
      "production is the last environment",
    ],
  ])("%j -> %s", (raw, path, words) => {
    expectConfigProblem(raw, path, words);
  });
});
