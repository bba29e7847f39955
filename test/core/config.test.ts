import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { applicationName, nextEnvironment, overlayDir, parseConfig, type Config } from "../../src/core/config.js";
import { configJsonSchema } from "../../src/core/config-json-schema.js";
import { expectConfigProblem } from "../helpers/config.js";

function valid(raw: unknown): Config {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

describe("config defaults reproduce DESIGN.md's layout", () => {
  const config = valid(null);
  it("staging auto-merges, production waits for a reviewer, in that order", () => {
    expect(config.environments.map((e) => [e.name, e.autoMerge])).toEqual([
      ["staging", true],
      ["production", false],
    ]);
    expect(nextEnvironment(config, "staging")?.name).toBe("production");
    expect(nextEnvironment(config, "production")).toBeUndefined();
  });
  it("overlays live at services/<service>/overlays/<env>, apps are <service>-<env> in argocd", () => {
    expect(overlayDir(config, "order-service", config.environments[1]!)).toBe(
      "services/order-service/overlays/production",
    );
    expect(applicationName(config, "order-service", "staging")).toBe("order-service-staging");
    expect(config.argocd.namespace).toBe("argocd");
  });
  it("durations are milliseconds, with defaults for soak and timeouts", () => {
    expect(config.environments[0]).toMatchObject({
      soak: 120_000,
      timeouts: { sync: 600_000, health: 900_000, suspended: 3_600_000, degradedGrace: 60_000 },
    });
    expect(config.environments[1]?.soak).toBe(300_000);
  });
});

describe("config values", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["250ms", 250],
    [45, 45_000],
  ])("soak %j is %d ms", (soak, ms) => {
    expect(valid({ environments: [{ name: "dev", soak }] }).environments[0]?.soak).toBe(ms);
  });

  it("render.allowRemote is empty by default: no remote kustomize reference is rendered", () => {
    expect(valid(null).render).toEqual({ allowRemote: [] });
  });

  it.each([
    "github.com/acme/",
    "github.com/acme",
    "https://github.com/acme/",
    "git@github.com:acme/",
    "git::https://gitlab.example.com/platform/",
    "ssh://git@git.example.com:2222/team/",
    "gitlab.example.com",
  ])("render.allowRemote accepts the prefix %j", (prefix) => {
    expect(valid({ render: { allowRemote: [prefix] } }).render.allowRemote).toEqual([prefix]);
  });

  it("per-service path overrides and images apply", () => {
    const config = valid({
      services: { legacy: { image: "ghcr.io/acme/legacy", paths: { staging: "apps/legacy/{env}" } } },
    });
    expect(overlayDir(config, "legacy", config.environments[0]!)).toBe("apps/legacy/staging");
    expect(overlayDir(config, "other", config.environments[0]!)).toBe("services/other/overlays/staging");
  });
});

describe("invalid config names the key and the reason", () => {
  it.each([
    [{ environments: [] }, "environments", "Too small"],
    [{ environments: [{ name: "Prod" }] }, "environments.0.name", "lowercase name"],
    [{ environments: [{ name: "a" }, { name: "a" }] }, "environments", "unique"],
    [{ environments: [{ name: "a", soak: "soon" }] }, "environments.0.soak", "duration"],
    [{ environments: [{ name: "a", path: "../outside/{service}" }] }, "environments.0.path", "without '.', '..'"],
    [{ environments: [{ name: "a", path: "/abs/{service}" }] }, "environments.0.path", "relative path"],
    [{ environments: [{ name: "a", path: "services/{svc}/x" }] }, "environments.0.path", "placeholders"],
    [{ environments: [{ name: "a", approvers: ["not a user!"] }] }, "environments.0.approvers.0", "login or @org/team"],
    [{ services: { "Bad Name": {} } }, "services.Bad Name", ""],
    [{ argocd: { application: "{service}/../x" } }, "argocd.application", "placeholders"],
    [{ render: { allowRemote: ["github.com/acme/ x"] } }, "render.allowRemote.0", "whitespace"],
    [{ render: { allowRemote: ["file:///var/lib/conveyor/"] } }, "render.allowRemote.0", "file:// and plain http://"],
    [{ render: { allowRemote: ["http://github.com/acme/"] } }, "render.allowRemote.0", "use an https or ssh"],
    [{ render: { allowRemote: ["github.com/acme/../evil/"] } }, "render.allowRemote.0", "'..' segments"],
    [{ render: { allowRemote: ["acme"] } }, "render.allowRemote.0", 'host/path prefix like "github.com/acme/"'],
    [{ render: { allowRemote: ["github.com/acme/x?ref=main"] } }, "render.allowRemote.0", "host/path prefix"],
    [{ render: { allowRemote: ["oci://ghcr.io/acme/"] } }, "render.allowRemote.0", "host/path prefix"],
    [{ render: { allowRemote: [""] } }, "render.allowRemote.0", "Too small"],
    [{ render: { allowRemote: "github.com/acme/" } }, "render.allowRemote", "array"],
    [{ render: { allowRemotes: [] } }, "render", "Unrecognized key"],
    [{ unknownKey: true }, "(root)", "Unrecognized key"],
    ["just a string", "(root)", "object"],
  ])("%j -> %s", (raw, path, words) => {
    expectConfigProblem(raw, path, words);
  });
});

describe("the committed JSON schema for editors", () => {
  it("is what `npm run schema` generates from the zod schema", () => {
    const committed = JSON.parse(readFileSync(new URL("../../schema/conveyor.schema.json", import.meta.url), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});
