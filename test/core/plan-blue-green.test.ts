// Which step a merged blue-green change was, read from the overlay's slots before and after it:
// the verifier judges that slot's Deployment, and the verdict switches (idle) or promotes (live).
import { describe, expect, it } from "vitest";
import { readBlueGreenLayout, type BlueGreenLayout } from "../../src/core/blue-green.js";
import { parseConfig } from "../../src/core/config.js";
import { slotStepOf } from "../../src/core/plan-blue-green.js";
import { strategyFor, type BlueGreenStrategy } from "../../src/core/strategy.js";
import { seedFile, seedPatches } from "../helpers/strategy-overlays.js";

const DIR = "services/cart-service/overlays/staging";
const parsed = parseConfig({ services: { "cart-service": { strategy: "blueGreen" } } });
if (!parsed.ok) throw new Error("config");
const strategy = strategyFor(parsed.config, "cart-service", "staging") as BlueGreenStrategy;

function layout(replace: Record<string, string> = {}): BlueGreenLayout {
  const read = readBlueGreenLayout(strategy, DIR, seedPatches(DIR, replace));
  if (!read.ok) throw new Error(read.reason);
  return read.value;
}
const green = (image: string) => ({
  [`${DIR}/slot-green.yaml`]: seedFile(`${DIR}/slot-green.yaml`).replace("ghcr.io/acme/cart-service:1.3.0", image),
});
const switched = { [`${DIR}/service.yaml`]: seedFile(`${DIR}/service.yaml`).replace("slot: blue #", "slot: green #") };
const IMG = "ghcr.io/acme/cart-service";

describe("slotStepOf", () => {
  it("PR 1 merged: the idle slot's image moved, its Deployment is judged", () => {
    expect(slotStepOf(strategy, layout(), layout(green(`${IMG}:1.5.0`)))).toEqual({
      step: { kind: "idle", slot: "green", deployment: "cart-service-green" },
      from: `${IMG}:1.3.0`,
      to: `${IMG}:1.5.0`,
    });
  });
  it("PR 2 merged: the live slot moved, from the old live slot's image to the new one's", () => {
    const after = { ...green(`${IMG}:1.5.0`), ...switched };
    expect(slotStepOf(strategy, layout(green(`${IMG}:1.5.0`)), layout(after))).toEqual({
      step: { kind: "live", slot: "green", deployment: "cart-service-green" },
      from: `${IMG}:1.4.0`,
      to: `${IMG}:1.5.0`,
    });
  });
  it("nothing about the slots changed: no slot step", () => {
    expect(slotStepOf(strategy, layout(), layout())).toBeUndefined();
  });
});
