import { describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import { effectivePolicy, evaluatePolicy } from "../../src/core/render-policy.js";

function config(raw: unknown): Config {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

const PROD = "services/order-service/overlays/production";
const STAGING = "services/order-service/overlays/staging";
const images = (...refs: string[]) =>
  refs.map((image) => ({ resource: "Deployment order-service-production/order-service", image }));

describe("which environments are protected", () => {
  it("by default, those with approvers; `policy.protected` overrides either way", () => {
    const c = config({
      environments: [
        { name: "staging" },
        { name: "canary", policy: { protected: true } },
        { name: "production", approvers: ["@acme/sre"] },
        { name: "dr", approvers: ["bob"], policy: { protected: false } },
      ],
    });
    expect(c.environments.map((e) => effectivePolicy(e).protected)).toEqual([false, true, true, false]);
    expect(effectivePolicy(c.environments[0] as Config["environments"][number])).toEqual({
      protected: false,
      mutableTags: ["latest"],
      requireDigest: false,
      allowedRegistries: [],
    });
  });

  it("rejects unknown policy keys", () => {
    expect(parseConfig({ environments: [{ name: "x", policy: { mutable: ["latest"] } }] }).ok).toBe(false);
  });
});

describe("policy on rendered images", () => {
  const protectedProd = config({
    environments: [{ name: "staging" }, { name: "production", approvers: ["@acme/sre"] }],
  });

  const cases: Array<[string, Config, string, string[], string[]]> = [
    [
      "`latest` in a protected environment",
      protectedProd,
      "production",
      ["ghcr.io/acme/order-service:latest"],
      ["mutable-tag"],
    ],
    ["no tag at all means latest", protectedProd, "production", ["ghcr.io/acme/order-service"], ["mutable-tag"]],
    [
      "`latest` pinned by digest is fine",
      protectedProd,
      "production",
      [`ghcr.io/acme/order-service:latest@sha256:${"a".repeat(64)}`],
      [],
    ],
    [
      "`latest` in an unprotected environment is fine",
      protectedProd,
      "staging",
      ["ghcr.io/acme/order-service:latest"],
      [],
    ],
    [
      "a versioned tag in a protected environment is fine",
      protectedProd,
      "production",
      ["ghcr.io/acme/order-service:1.5.0"],
      [],
    ],
    [
      "a configured list of mutable tags",
      config({
        environments: [{ name: "production", policy: { protected: true, mutableTags: ["latest", "main", "stable"] } }],
      }),
      "production",
      ["ghcr.io/acme/order-service:main", "ghcr.io/acme/order-service:1.0"],
      ["mutable-tag"],
    ],
    [
      "digest required",
      config({ environments: [{ name: "production", policy: { requireDigest: true } }] }),
      "production",
      ["ghcr.io/acme/order-service:1.5.0", `ghcr.io/acme/order-service@sha256:${"b".repeat(64)}`],
      ["digest-required"],
    ],
    [
      "registries by host and by path prefix; Docker Hub is docker.io",
      config({
        environments: [
          { name: "production", policy: { allowedRegistries: ["ghcr.io/acme", "registry.internal:5000"] } },
        ],
      }),
      "production",
      [
        "ghcr.io/acme/order-service:1",
        "registry.internal:5000/x/y:2",
        "ghcr.io/acme-evil/x:1",
        "nginx:1.27",
        "ghcr.io/acmeco/y:1",
      ],
      ["registry", "registry", "registry"],
    ],
  ];

  it.each(cases)("%s", (_name, c, env, refs, rules) => {
    const dir = env === "staging" ? STAGING : PROD;
    const found = evaluatePolicy({ config: c, overlays: [{ dir, env, images: images(...refs) }] });
    expect(found.map((v) => v.rule)).toEqual(rules);
    for (const v of found) expect(v.overlay).toBe(dir);
  });

  it("says what is wrong and where, in words a reviewer can act on", () => {
    const [v] = evaluatePolicy({
      config: protectedProd,
      overlays: [{ dir: PROD, env: "production", images: images("ghcr.io/acme/order-service:latest") }],
    });
    expect(v?.message).toBe(
      "`ghcr.io/acme/order-service:latest` in Deployment order-service-production/order-service uses the mutable tag `latest`, which production (protected) does not allow; pin a version or a digest",
    );
  });

  it("an image used by several resources is reported once per overlay", () => {
    const found = evaluatePolicy({
      config: protectedProd,
      overlays: [
        {
          dir: PROD,
          env: "production",
          images: [...images("x/y:latest"), { resource: "CronJob z", image: "x/y:latest" }],
        },
      ],
    });
    expect(found).toHaveLength(1);
  });
});

describe("promotion PRs touch only overlay files", () => {
  const c = config(null);
  it("overlay files only: nothing to say", () => {
    expect(
      evaluatePolicy({ config: c, overlays: [], promotion: { changedFiles: [`${STAGING}/kustomization.yaml`] } }),
    ).toEqual([]);
  });

  it("anything else is named", () => {
    const found = evaluatePolicy({
      config: c,
      overlays: [],
      promotion: {
        changedFiles: [
          `${STAGING}/kustomization.yaml`,
          "services/order-service/base/deployment.yaml",
          `${STAGING}/patch.yaml`,
        ],
      },
    });
    expect(found.map((v) => v.message)).toEqual([
      "this promotion PR changes `services/order-service/base/deployment.yaml`, which is not an overlay file; a promotion may change overlays only",
      "this promotion PR changes `services/order-service/overlays/staging/patch.yaml`, which is not an overlay file; a promotion may change overlays only",
    ]);
  });

  it("a blue-green overlay's patch files (slots, Service) are overlay files; its base is not", () => {
    const bg = config({ services: { "order-service": { strategy: "blueGreen" } } });
    const found = evaluatePolicy({
      config: bg,
      overlays: [],
      promotion: {
        changedFiles: [
          `${STAGING}/slot-green.yaml`,
          `${STAGING}/service.yaml`,
          "services/order-service/base/service.yaml",
        ],
      },
    });
    expect(found.map((v) => v.message)).toEqual([
      "this promotion PR changes `services/order-service/base/service.yaml`, which is not an overlay file; a promotion may change overlays only",
    ]);
  });

  it("a person's PR is not held to it", () => {
    expect(evaluatePolicy({ config: c, overlays: [] })).toEqual([]);
  });
});
