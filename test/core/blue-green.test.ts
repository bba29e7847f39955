import { describe, expect, it } from "vitest";
import {
  describeSlots,
  planSlotDeploy,
  planSlotSwitch,
  planSwitchBack,
  readBlueGreenLayout,
  type BlueGreenLayout,
} from "../../src/core/blue-green.js";
import { strategyFor, type BlueGreenStrategy } from "../../src/core/strategy.js";
import { patchFilePaths } from "../../src/core/strategy-layout.js";
import { validConfig } from "../helpers/config.js";
import { seedFile, seedPatches } from "../helpers/strategy-overlays.js";

const DIR = "services/cart-service/overlays/production";
const strategy = strategyFor(
  validConfig({ services: { "cart-service": { strategy: "blueGreen" } } }),
  "cart-service",
  "production",
) as BlueGreenStrategy;

function layout(replace: Record<string, string> = {}): BlueGreenLayout {
  const read = readBlueGreenLayout(strategy, DIR, seedPatches(DIR, replace));
  if (!read.ok) throw new Error(read.reason);
  return read.value;
}

/** The seed overlay after a switch to green: green live, blue idle. */
const greenLive = () =>
  layout({ [`${DIR}/service.yaml`]: seedFile(`${DIR}/service.yaml`).replace("slot: blue", "slot: green") });

describe("the seed's blue-green overlay", () => {
  it("lists its slot and Service patches", () => {
    expect(patchFilePaths(DIR, seedFile(`${DIR}/kustomization.yaml`))).toEqual([
      `${DIR}/slot-blue.yaml`,
      `${DIR}/slot-green.yaml`,
      `${DIR}/service.yaml`,
    ]);
  });
  it("reads the live slot from the Service's selector, and each slot's image", () => {
    const read = layout();
    expect(read.live).toBe("blue");
    expect(read.slots.blue.image).toBe("ghcr.io/acme/cart-service:1.4.0");
    expect(read.slots.green.image).toBe("ghcr.io/acme/cart-service:1.3.0");
    expect(describeSlots(read)).toBe(
      "live: blue `ghcr.io/acme/cart-service:1.4.0`; idle: green `ghcr.io/acme/cart-service:1.3.0`",
    );
  });
});

describe("planSlotDeploy: PR 1 puts the image on the idle slot", () => {
  it.each([
    ["blue live", layout, "green", "slot-green.yaml", "ghcr.io/acme/cart-service:1.3.0"],
    ["green live", greenLive, "blue", "slot-blue.yaml", "ghcr.io/acme/cart-service:1.4.0"],
  ] as const)("%s: the image goes to %s", (_, read, idle, file, from) => {
    const plan = planSlotDeploy(strategy, read(), "ghcr.io/acme/cart-service:1.5.0");
    expect(plan).toMatchObject({ kind: "deploy-idle", slot: idle, from, to: "ghcr.io/acme/cart-service:1.5.0" });
    if (plan.kind !== "deploy-idle") return;
    expect(plan.edit.path).toBe(`${DIR}/${file}`);
    expect(plan.edit.text).toBe(seedFile(`${DIR}/${file}`).replace(from, "ghcr.io/acme/cart-service:1.5.0"));
  });

  it("changes nothing when the live slot already runs the image", () => {
    expect(planSlotDeploy(strategy, layout(), "ghcr.io/acme/cart-service:1.4.0")).toEqual({
      kind: "noop",
      reason: "the live slot (blue) already runs ghcr.io/acme/cart-service:1.4.0",
    });
  });

  it("goes straight to the switch when the idle slot already runs the image", () => {
    const plan = planSlotDeploy(strategy, layout(), "ghcr.io/acme/cart-service:1.3.0");
    expect(plan).toMatchObject({ kind: "switch", to: "green", edit: { path: `${DIR}/service.yaml` } });
  });
});

describe("planSlotSwitch: PR 2 changes only the selector's bytes", () => {
  it("switches blue to green", () => {
    const plan = planSlotSwitch(strategy, layout(), "green");
    expect(plan).toEqual({
      kind: "switch",
      to: "green",
      edit: {
        path: `${DIR}/service.yaml`,
        text: seedFile(`${DIR}/service.yaml`).replace("slot: blue # the live slot", "slot: green # the live slot"),
      },
    });
  });
  it("is nothing to do when the slot is already live", () => {
    expect(planSlotSwitch(strategy, layout(), "blue")).toEqual({
      kind: "noop",
      reason: "blue is already the live slot",
    });
  });
  it("is refused towards a slot without an image", () => {
    const empty = layout({
      [`${DIR}/slot-green.yaml`]: seedFile(`${DIR}/slot-green.yaml`).replace(/\n\s+image: .*\n/, "\n"),
    });
    expect(planSlotSwitch(strategy, empty, "green")).toMatchObject({
      kind: "reject",
      reason: expect.stringContaining("no image"),
    });
  });
});

describe("planSwitchBack: the rollback is the switch back, never an image change", () => {
  it("after a switch to green, goes back to blue, which kept the old image", () => {
    const read = greenLive();
    const plan = planSwitchBack(strategy, read);
    expect(plan).toMatchObject({ kind: "switch", to: "blue", edit: { path: `${DIR}/service.yaml` } });
    if (plan.kind === "switch") expect(plan.edit.text).toBe(seedFile(`${DIR}/service.yaml`));
  });
});

describe("an overlay that does not have the blue-green layout is refused with what to add", () => {
  it.each([
    [
      "no Service patch",
      { [`${DIR}/service.yaml`]: "kind: ConfigMap\nmetadata: {name: x}\n" },
      "has no patch file for Service `cart-service`",
    ],
    [
      "a selector without the slot",
      {
        [`${DIR}/service.yaml`]:
          "kind: Service\nmetadata: {name: cart-service}\nspec:\n  selector: {app: cart-service}\n",
      },
      "must set slot: blue or slot: green (it has no such label)",
    ],
    [
      "an unknown slot",
      { [`${DIR}/service.yaml`]: "kind: Service\nmetadata: {name: cart-service}\nspec:\n  selector: {slot: purple}\n" },
      "(it has `purple`)",
    ],
    [
      "two patches of one slot",
      { [`${DIR}/slot-green.yaml`]: seedFile(`${DIR}/slot-blue.yaml`) },
      "both patch Deployment `cart-service-blue`",
    ],
  ])("%s", (_, replace, words) => {
    const read = readBlueGreenLayout(strategy, DIR, seedPatches(DIR, replace));
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.reason).toContain(words);
  });
});
