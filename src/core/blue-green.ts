// Blue-green by slot, as plain decisions over an overlay's patch files. A release puts the new
// image on the idle slot (PR 1), and once that slot's Deployment is verified, switches the
// Service's selector to it (PR 2). The slot that was live keeps its image: switching back is the
// instant rollback, so a rollback is a selector change, never an image change.
import { quote } from "./names.js";
import { setPatchImage, setSelectorLabel } from "./patch-file.js";
import { SLOTS, type BlueGreenStrategy, type Slot } from "./strategy.js";
import { containerImage, findPatch, type Located, type LocatedPatch, type PatchFile } from "./strategy-layout.js";

export interface BlueGreenLayout {
  service: LocatedPatch;
  live: Slot;
  slots: Record<Slot, { patch: LocatedPatch; image: string | undefined }>;
}

/** One file's new text, as a step of a release writes it. */
export interface FileEdit {
  path: string;
  text: string;
}

export const otherSlot = (slot: Slot): Slot => (slot === "blue" ? "green" : "blue");

export function readBlueGreenLayout(
  strategy: BlueGreenStrategy,
  overlayDir: string,
  files: PatchFile[],
): Located<BlueGreenLayout> {
  const service = findPatch(files, "Service", strategy.service, overlayDir);
  if (!service.ok) return service;
  const live = service.value.summary.selector?.[strategy.label];
  if (live !== "blue" && live !== "green")
    return {
      ok: false,
      reason: `the selector of Service ${quote(strategy.service)} in ${service.value.path} must set ${strategy.label}: blue or ${strategy.label}: green (it has ${live === undefined ? "no such label" : quote(live)})`,
    };
  const slots = {} as BlueGreenLayout["slots"];
  for (const slot of SLOTS) {
    const patch = findPatch(files, "Deployment", strategy.slots[slot], overlayDir);
    if (!patch.ok) return patch;
    slots[slot] = { patch: patch.value, image: containerImage(patch.value, strategy.container) };
  }
  return { ok: true, value: { service: service.value, live, slots } };
}

export type SlotDeployPlan =
  /** Nothing to do: the live slot already runs the image. */
  | { kind: "noop"; reason: string }
  /** The idle slot already runs the image (a release whose switch has not happened): switch. */
  | { kind: "switch"; to: Slot; edit: FileEdit }
  /** PR 1: the new image on the idle slot. */
  | { kind: "deploy-idle"; slot: Slot; from: string | undefined; to: string; edit: FileEdit }
  | { kind: "reject"; reason: string };

/** What a deploy of `image` changes: the idle slot's image, or (already there) the switch. */
export function planSlotDeploy(strategy: BlueGreenStrategy, layout: BlueGreenLayout, image: string): SlotDeployPlan {
  const idle = otherSlot(layout.live);
  if (layout.slots[layout.live].image === image)
    return { kind: "noop", reason: `the live slot (${layout.live}) already runs ${image}` };
  if (layout.slots[idle].image === image) {
    const switched = planSlotSwitch(strategy, layout, idle);
    return switched.kind === "switch" ? switched : { kind: "reject", reason: switched.reason };
  }
  const patch = layout.slots[idle].patch;
  const edited = setPatchImage(patch.text, image, strategy.container);
  if (!edited.ok) return { kind: "reject", reason: `${patch.path} cannot be edited: ${edited.reason}` };
  return {
    kind: "deploy-idle",
    slot: idle,
    from: layout.slots[idle].image,
    to: image,
    edit: { path: patch.path, text: edited.text },
  };
}

export type SlotSwitchPlan =
  { kind: "switch"; to: Slot; edit: FileEdit } | { kind: "noop"; reason: string } | { kind: "reject"; reason: string };

/** PR 2 (or a rollback): the Service's selector names `to`; only the selector's bytes change. */
export function planSlotSwitch(strategy: BlueGreenStrategy, layout: BlueGreenLayout, to: Slot): SlotSwitchPlan {
  if (layout.live === to) return { kind: "noop", reason: `${to} is already the live slot` };
  if (layout.slots[to].image === undefined)
    return {
      kind: "reject",
      reason: `the ${to} slot has no image in ${layout.slots[to].patch.path}; nothing to switch to`,
    };
  const edited = setSelectorLabel(layout.service.text, strategy.label, to);
  if (!edited.ok) return { kind: "reject", reason: `${layout.service.path} cannot be edited: ${edited.reason}` };
  return { kind: "switch", to, edit: { path: layout.service.path, text: edited.text } };
}

/** The rollback of a switch: back to the slot that was live before, which kept its image. */
export function planSwitchBack(strategy: BlueGreenStrategy, layout: BlueGreenLayout): SlotSwitchPlan {
  return planSlotSwitch(strategy, layout, otherSlot(layout.live));
}

/** For /status: which slot serves, with what, and what the idle one holds. */
export function describeSlots(layout: BlueGreenLayout): string {
  const idle = otherSlot(layout.live);
  const show = (image: string | undefined) => (image ? `\`${image}\`` : "_(no image)_");
  return `live: ${layout.live} ${show(layout.slots[layout.live].image)}; idle: ${idle} ${show(layout.slots[idle].image)}`;
}
