// Which step a merged canary change was, read from the overlay's tracks before and after it: the
// verifier judges that Deployment, and the verdict gives stable the image (canary), promotes
// (stable) or does nothing (idle). And how a rollback goes back: the canary, or stable.
import { describe, expect, it } from "vitest";
import { readCanaryLayout, type CanaryLayout } from "../../src/core/canary.js";
import { parseConfig } from "../../src/core/config.js";
import { planTrackRollback, trackStepOf } from "../../src/core/plan-canary.js";
import { strategyFor, type CanaryStrategy } from "../../src/core/strategy.js";
import { seedFile, seedPatches } from "../helpers/strategy-overlays.js";

const DIR = "services/catalog-service/overlays/staging";
const CANARY = `${DIR}/track-canary.yaml`;
const STABLE = `${DIR}/track-stable.yaml`;
const IMG = "ghcr.io/acme/catalog-service";
const parsed = parseConfig({ services: { "catalog-service": { strategy: "canary" } } });
if (!parsed.ok) throw new Error("config");
const strategy = strategyFor(parsed.config, "catalog-service", "staging") as CanaryStrategy;

function layout(canary?: { image: string; replicas: number }, stable?: string): CanaryLayout {
  const replace: Record<string, string> = {};
  if (canary)
    replace[CANARY] = seedFile(CANARY)
      .replace(`${IMG}:2.0.0`, canary.image)
      .replace("replicas: 0 #", `replicas: ${canary.replicas} #`);
  if (stable) replace[STABLE] = seedFile(STABLE).replace(`${IMG}:2.0.0 #`, `${stable} #`);
  const read = readCanaryLayout(strategy, DIR, seedPatches(DIR, replace));
  if (!read.ok) throw new Error(read.reason);
  return read.value;
}
const started = layout({ image: `${IMG}:2.1.0`, replicas: 1 });
const promoted = layout({ image: `${IMG}:2.1.0`, replicas: 0 }, `${IMG}:2.1.0`);

describe("trackStepOf", () => {
  it.each([
    ["PR 1: the canary runs a new image", layout(), started, "canary", `${IMG}:2.0.0`, `${IMG}:2.1.0`],
    [
      "PR 2: stable took the image (the canary scaled down too)",
      started,
      promoted,
      "stable",
      `${IMG}:2.0.0`,
      `${IMG}:2.1.0`,
    ],
    ["a revert: the canary back to stable's image and 0", started, layout(), "idle", `${IMG}:2.1.0`, `${IMG}:2.0.0`],
  ])("%s", (_title, before, after, kind, from, to) => {
    const deployment = kind === "stable" ? "catalog-service-stable" : "catalog-service-canary";
    expect(trackStepOf(strategy, before, after)).toEqual({ step: { kind, deployment }, from, to });
  });
  it("nothing about the tracks changed: no track step", () => {
    expect(trackStepOf(strategy, started, started)).toBeUndefined();
  });
});

describe("planTrackRollback", () => {
  it("a running canary goes back to stable's image and its idle count; stable is not edited", () => {
    const plan = planTrackRollback(strategy, started, `${IMG}:2.1.0`, `${IMG}:2.0.0`);
    expect(plan).toEqual({
      kind: "change",
      edits: [{ path: CANARY, text: seedFile(CANARY) }],
      what: "canary",
      image: `${IMG}:2.0.0`,
    });
  });
  it("after PR 2, stable goes back to the earlier image", () => {
    expect(planTrackRollback(strategy, promoted, `${IMG}:2.1.0`, `${IMG}:2.0.0`)).toEqual({
      kind: "change",
      edits: [{ path: STABLE, text: seedFile(STABLE) }],
      what: "stable",
      image: `${IMG}:2.0.0`,
    });
  });
  it("an image neither track runs needs nothing", () => {
    expect(planTrackRollback(strategy, layout(), `${IMG}:2.1.0`, `${IMG}:2.0.0`)).toMatchObject({ kind: "noop" });
  });
});
