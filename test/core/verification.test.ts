// Verification records: the GitHub Deployment Conveyor creates for a merged change (its payload is
// the durable record a restarted replica resumes from), the verification built from it, and who
// is told about it. Tables of plain data; payloads go through JSON as they do through GitHub.
import { describe, expect, it } from "vitest";
import { findEnvironment, parseConfig, type Config } from "../../src/core/config.js";
import {
  changeFromDeployment,
  deploymentFor,
  humanOf,
  verificationOf,
  type ChangeRecord,
  type Verification,
  type VerificationPolicy,
} from "../../src/core/verification.js";

const config = (raw: unknown): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
};

const DEFAULT = config(null);
const CUSTOM = config({
  environments: [
    { name: "dev", soak: "30s", timeouts: { sync: "1m", health: 90, suspended: "2h", degradedGrace: "250ms" } },
    { name: "staging" },
    { name: "production", soak: "10m" },
  ],
  argocd: { application: "{env}-{service}", namespace: "gitops" },
});

const API = "ghcr.io/acme/api";
const REVISION = "3f2a9c1e0b7d4a6e8c5f1b2d3e4f5a6b7c8d9e0f";
const BASE = "b".repeat(40);

function change(over: Partial<ChangeRecord> = {}): ChangeRecord {
  return {
    service: "api",
    env: "staging",
    file: "services/api/overlays/staging/kustomization.yaml",
    revision: REVISION,
    base: BASE,
    from: `${API}:1.4.0`,
    to: `${API}:1.5.0`,
    pr: 12,
    ...over,
  };
}

/** What GitHub hands back: the payload went through JSON. */
const throughGitHub = (payload: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;

describe("deploymentFor: the Deployment recorded for a change", () => {
  it.each<[string, Config, ChangeRecord, ReturnType<typeof deploymentFor>]>([
    [
      "a staging deploy: its environment, a description naming the image, not production, the full payload",
      DEFAULT,
      change(),
      {
        environment: "staging",
        description: `api: ${API}:1.5.0`,
        production: false,
        payload: {
          conveyor: true,
          service: "api",
          from: `${API}:1.4.0`,
          to: `${API}:1.5.0`,
          pr: 12,
          application: "api-staging",
          file: "services/api/overlays/staging/kustomization.yaml",
          base: BASE,
          revert: false,
        },
      },
    ],
    [
      "the last environment is the production environment",
      DEFAULT,
      change({ env: "production", file: "services/api/overlays/production/kustomization.yaml" }),
      {
        environment: "production",
        description: `api: ${API}:1.5.0`,
        production: true,
        payload: expect.objectContaining({ application: "api-production" }) as Record<string, unknown>,
      },
    ],
    [
      "a retry says so in the description and records which Deployment it retries",
      DEFAULT,
      change({ retryOf: 501 }),
      {
        environment: "staging",
        description: `api: ${API}:1.5.0 (retry)`,
        production: false,
        payload: expect.objectContaining({ retryOf: 501 }) as Record<string, unknown>,
      },
    ],
    [
      "a person's overlay change without an image, pushed without a PR: nulls, never missing keys",
      DEFAULT,
      { service: "api", env: "staging", file: "services/api/overlays/staging/kustomization.yaml", revision: REVISION },
      {
        environment: "staging",
        description: "api: overlay change",
        production: false,
        payload: {
          conveyor: true,
          service: "api",
          from: null,
          to: null,
          pr: null,
          application: "api-staging",
          file: "services/api/overlays/staging/kustomization.yaml",
          base: null,
          revert: false,
        },
      },
    ],
    [
      "a revert is recorded as one",
      DEFAULT,
      change({ revert: true, from: `${API}:1.5.0`, to: `${API}:1.4.0` }),
      {
        environment: "staging",
        description: `api: ${API}:1.4.0`,
        production: false,
        payload: expect.objectContaining({ revert: true, from: `${API}:1.5.0`, to: `${API}:1.4.0` }) as Record<
          string,
          unknown
        >,
      },
    ],
    [
      "the Argo CD application name follows the configured template",
      CUSTOM,
      change({ env: "dev" }),
      {
        environment: "dev",
        description: `api: ${API}:1.5.0`,
        production: false,
        payload: expect.objectContaining({ application: "dev-api" }) as Record<string, unknown>,
      },
    ],
  ])("%s", (_title, cfg, c, expected) => {
    const record = deploymentFor(cfg, c);
    expect(record).toEqual(expected);
    if (c.retryOf === undefined) expect(record.payload).not.toHaveProperty("retryOf");
  });
});

describe("verificationOf: the verification's policy comes from its environment", () => {
  const REPO: Verification["repo"] = {
    owner: "acme",
    repo: "manifests",
    installationId: 7,
    cloneUrl: "https://github.com/acme/manifests.git",
    defaultBranch: "main",
  };

  it.each<[string, Config, string, string | undefined, { namespace: string; name: string }, VerificationPolicy]>([
    [
      "staging by default: 2m soak, 10m to sync, 15m to be healthy, 1h suspended, 1m degraded grace",
      DEFAULT,
      "staging",
      undefined,
      { namespace: "argocd", name: "api-staging" },
      { soakMs: 120_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    ],
    [
      "production by default soaks 5m",
      DEFAULT,
      "production",
      undefined,
      { namespace: "argocd", name: "api-production" },
      { soakMs: 300_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    ],
    [
      "configured durations in every unit, the namespace and name template",
      CUSTOM,
      "dev",
      undefined,
      { namespace: "gitops", name: "dev-api" },
      { soakMs: 30_000, syncMs: 60_000, healthMs: 90_000, suspendedMs: 7_200_000, degradedGraceMs: 250 },
    ],
    [
      "read back from a Deployment: the application it recorded wins over today's template",
      CUSTOM,
      "production",
      "api-prod-legacy",
      { namespace: "gitops", name: "api-prod-legacy" },
      { soakMs: 600_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    ],
  ])("%s", (_title, cfg, envName, application, app, policy) => {
    const env = findEnvironment(cfg, envName);
    if (!env) throw new Error(`no ${envName}`);
    const c = change({ env: envName });
    const pr = { number: 12, author: "alice", labels: ["conveyor"] };
    const v = verificationOf({
      config: cfg,
      env,
      repo: REPO,
      change: c,
      deploymentId: 601,
      startedAt: "2025-06-02T09:14:05Z",
      pr,
      ...(application ? { application } : {}),
    });
    expect(v).toEqual({
      repo: REPO,
      service: "api",
      env: envName,
      app,
      revision: REVISION,
      base: BASE,
      deploymentId: 601,
      pr,
      from: `${API}:1.4.0`,
      to: `${API}:1.5.0`,
      file: c.file,
      startedAt: "2025-06-02T09:14:05Z",
      policy,
    });
  });
});

describe("changeFromDeployment: a Deployment read back after a restart", () => {
  it.each<[string, Config, ChangeRecord]>([
    ["a deploy with a PR", DEFAULT, change()],
    [
      "a person's push without PR or image",
      DEFAULT,
      { service: "api", env: "staging", file: "a/k.yaml", revision: REVISION },
    ],
    ["a revert", DEFAULT, change({ revert: true, from: `${API}:1.5.0`, to: `${API}:1.4.0` })],
    ["a first deploy (nothing before it)", DEFAULT, change({ from: undefined, base: undefined })],
    ["a custom application name", CUSTOM, change({ env: "production" })],
  ])("round-trips deploymentFor's payload: %s", (_title, cfg, c) => {
    const record = deploymentFor(cfg, c);
    const back = changeFromDeployment({
      sha: c.revision,
      environment: record.environment,
      payload: throughGitHub(record.payload),
    });
    expect(back).toEqual({
      service: c.service,
      env: c.env,
      file: c.file,
      revision: c.revision,
      base: c.base,
      from: c.from,
      to: c.to,
      pr: c.pr,
      revert: c.revert ?? false,
      application: record.payload.application,
    });
  });

  it("keeps a canary change's track, so a restarted replica judges the same Deployment", () => {
    const track = { kind: "canary", deployment: "api-canary" } as const;
    const record = deploymentFor(DEFAULT, change({ track }));
    const back = changeFromDeployment({
      sha: REVISION,
      environment: "staging",
      payload: throughGitHub(record.payload),
    });
    expect(back?.track).toEqual(track);
    const env = findEnvironment(DEFAULT, "staging");
    if (!back || !env) throw new Error("not read back");
    const repo = { owner: "acme", repo: "manifests", installationId: 7, cloneUrl: "x", defaultBranch: "main" };
    const resumed = verificationOf({ config: DEFAULT, env, repo, change: back, deploymentId: 1, startedAt: REVISION });
    expect(resumed.track).toEqual(track);
    // A hand-made track is believed only in its exact shape.
    const forged = { ...record.payload, track: { kind: "stable", deployment: "../x" } };
    expect(changeFromDeployment({ sha: REVISION, environment: "staging", payload: forged })?.track).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>]>([
    ["an empty payload (a Deployment someone else made)", {}],
    ["another tool's payload", { service: "api", file: "k.yaml", to: `${API}:1.5.0` }],
    ["conveyor as a string, not true", { conveyor: "true", service: "api", file: "k.yaml" }],
    ["no service", { conveyor: true, file: "k.yaml" }],
    ["a service that is not text", { conveyor: true, service: 7, file: "k.yaml" }],
    ["no overlay file", { conveyor: true, service: "api" }],
  ])("rejects a payload that is not Conveyor's: %s", (_title, payload) => {
    expect(changeFromDeployment({ sha: REVISION, environment: "staging", payload })).toBeUndefined();
  });

  it("reads wrongly typed optional fields as absent instead of trusting them", () => {
    expect(
      changeFromDeployment({
        sha: REVISION,
        environment: "staging",
        payload: {
          conveyor: true,
          service: "api",
          file: "k.yaml",
          from: 1,
          to: ["x"],
          pr: "12",
          base: {},
          revert: "yes",
        },
      }),
    ).toEqual({
      service: "api",
      env: "staging",
      file: "k.yaml",
      revision: REVISION,
      base: undefined,
      from: undefined,
      to: undefined,
      pr: undefined,
      revert: false,
      application: undefined,
    });
  });
});

describe("humanOf: the person to tell", () => {
  it.each<[string, Array<string | undefined>, string | undefined]>([
    ["the author of a person's PR", ["alice", "bob"], "alice"],
    ["whoever merged a bot's PR", ["conveyor[bot]", "bob"], "bob"],
    ["skips every bot", ["conveyor[bot]", "renovate[bot]", "carol"], "carol"],
    ["skips unknown and empty logins", [undefined, "", "dave"], "dave"],
    ["nobody when only bots were involved", ["conveyor[bot]", "dependabot[bot]"], undefined],
    ["nobody when nobody is known", [undefined, undefined], undefined],
    ["nobody when asked about no one", [], undefined],
    ["a login that merely contains 'bot' is a person", ["robot-rita"], "robot-rita"],
  ])("%s", (_title, logins, expected) => {
    expect(humanOf(...logins)).toBe(expected);
  });
});
