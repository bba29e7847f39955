import { describe, expect, it } from "vitest";
import {
  describeCanary,
  planCanaryPromote,
  planCanaryRevert,
  planCanaryStart,
  readCanaryLayout,
  type CanaryLayout,
} from "../../src/core/canary.js";
import { strategyFor, type CanaryStrategy } from "../../src/core/strategy.js";
import { validConfig } from "../helpers/config.js";
import { seedFile, seedPatches } from "../helpers/strategy-overlays.js";

const DIR = "services/catalog-service/overlays/staging";
const CANARY = `${DIR}/track-canary.yaml`;
const STABLE = `${DIR}/track-stable.yaml`;
const strategy = strategyFor(
  validConfig({ services: { "catalog-service": { strategy: "canary" } } }),
  "catalog-service",
  "staging",
) as CanaryStrategy;

function layout(replace: Record<string, string> = {}): CanaryLayout {
  const read = readCanaryLayout(strategy, DIR, seedPatches(DIR, replace));
  if (!read.ok) throw new Error(read.reason);
  return read.value;
}

/** The seed overlay while 2.1.0 runs on one canary replica (after PR 1). */
const running = () =>
  layout({
    [CANARY]: seedFile(CANARY)
      .replace("replicas: 0", "replicas: 1")
      .replace("catalog-service:2.0.0", "catalog-service:2.1.0"),
  });

describe("the seed's canary overlay", () => {
  it("reads both tracks: stable on 2.0.0, the canary idle", () => {
    const read = layout();
    expect(read.stable.image).toBe("ghcr.io/acme/catalog-service:2.0.0");
    expect(read.canary).toMatchObject({ image: "ghcr.io/acme/catalog-service:2.0.0", replicas: 0 });
    expect(describeCanary(strategy, read)).toBe(
      "stable `ghcr.io/acme/catalog-service:2.0.0`; canary idle (0 replicas)",
    );
    expect(describeCanary(strategy, running())).toBe(
      "stable `ghcr.io/acme/catalog-service:2.0.0`; canary `ghcr.io/acme/catalog-service:2.1.0` on 1 replicas",
    );
  });
});

describe("PR 1: the canary takes the image and its replicas", () => {
  it("sets the canary's image and scales it from 0 to 1; stable is not edited", () => {
    const plan = planCanaryStart(strategy, layout(), "ghcr.io/acme/catalog-service:2.1.0");
    expect(plan).toEqual({
      kind: "change",
      from: "ghcr.io/acme/catalog-service:2.0.0",
      to: "ghcr.io/acme/catalog-service:2.1.0",
      edits: [
        {
          path: CANARY,
          text: seedFile(CANARY)
            .replace("replicas: 0 #", "replicas: 1 #")
            .replace("catalog-service:2.0.0", "catalog-service:2.1.0"),
        },
      ],
    });
  });
  it("a newer image while a canary runs only changes the image", () => {
    const plan = planCanaryStart(strategy, running(), "ghcr.io/acme/catalog-service:2.2.0");
    expect(plan.kind).toBe("change");
    if (plan.kind === "change") expect(plan.edits[0]?.text).toContain("replicas: 1 #");
  });
  it("nothing to do when stable already runs the image", () => {
    expect(planCanaryStart(strategy, layout(), "ghcr.io/acme/catalog-service:2.0.0").kind).toBe("noop");
  });
});

describe("PR 2: stable takes the canary's image, the canary scales back to its idle count", () => {
  it("edits both patch files", () => {
    const plan = planCanaryPromote(strategy, running());
    expect(plan).toMatchObject({ kind: "change", to: "ghcr.io/acme/catalog-service:2.1.0" });
    if (plan.kind !== "change") return;
    expect(plan.edits.map((e) => e.path)).toEqual([STABLE, CANARY]);
    expect(plan.edits[0]?.text).toBe(seedFile(STABLE).replace("catalog-service:2.0.0", "catalog-service:2.1.0"));
    expect(plan.edits[1]?.text).toContain("replicas: 0 # 1 while a canary runs");
    expect(plan.edits[1]?.text).toContain("catalog-service:2.1.0");
  });
});

describe("a failing canary is reverted; stable is never touched", () => {
  it("puts the canary back on the stable image and 0 replicas", () => {
    const plan = planCanaryRevert(strategy, running());
    expect(plan).toEqual({
      kind: "change",
      from: "ghcr.io/acme/catalog-service:2.1.0",
      to: "ghcr.io/acme/catalog-service:2.0.0",
      edits: [{ path: CANARY, text: seedFile(CANARY) }],
    });
  });
  it("the idle count is configurable", () => {
    const two = strategyFor(
      validConfig({
        services: { "catalog-service": { strategy: "canary", canary: { replicas: 3, idleReplicas: 1 } } },
      }),
      "catalog-service",
      "staging",
    ) as CanaryStrategy;
    const plan = planCanaryStart(two, layout(), "ghcr.io/acme/catalog-service:2.1.0");
    if (plan.kind === "change") expect(plan.edits[0]?.text).toContain("replicas: 3 #");
    else throw new Error(plan.reason);
  });
});

describe("an overlay without both tracks is refused", () => {
  it("names the missing Deployment patch", () => {
    const read = readCanaryLayout(
      strategy,
      DIR,
      seedPatches(DIR, { [STABLE]: "kind: Service\nmetadata: {name: s}\n" }),
    );
    expect(read).toEqual({
      ok: false,
      reason: `${DIR} has no patch file for Deployment \`catalog-service-stable\`: list one under patches: in its kustomization.yaml (see the README's overlay layout for release strategies)`,
    });
  });
});
