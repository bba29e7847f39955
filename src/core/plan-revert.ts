// "How do we take this change back?" A byte-exact revert of the overlay when nothing touched it
// since; otherwise the previous image is set again on top of whatever the overlay is now.
import { readImages, setImages } from "./set-image.js";
import { parseImageRef } from "./image-ref.js";

export interface RevertInput {
  /** The overlay before the failed change (undefined when the change created it). */
  before: string | undefined;
  /** The overlay as the failed change left it. */
  after: string | undefined;
  /** The overlay on the default branch now. */
  current: string | undefined;
  /** The image the environment ran before the failed change. */
  previousImage?: string;
}

export type RevertPlan =
  | { kind: "revert"; text: string; method: "revert" | "reset-image" }
  | { kind: "noop"; reason: string }
  | { kind: "impossible"; reason: string };

export function planRevert(input: RevertInput): RevertPlan {
  if (input.current === undefined || input.before === undefined)
    return { kind: "impossible", reason: "the overlay did not exist before the change or no longer exists" };
  if (input.current === input.before)
    return { kind: "noop", reason: "the overlay is already back to its previous content" };
  if (input.current === input.after) return { kind: "revert", text: input.before, method: "revert" };

  // The overlay moved on since the failed change: set the previous image on top of it.
  if (!input.previousImage || input.previousImage.includes(", "))
    return { kind: "impossible", reason: "the overlay changed since and the previous image is not known" };
  const previous = parseImageRef(input.previousImage);
  if (!previous.ok) return { kind: "impossible", reason: `the previous image ${input.previousImage} cannot be parsed` };
  const images = readImages(input.current);
  if (!images.ok) return { kind: "impossible", reason: images.reason };
  const entry = images.images.find(
    (i) => (i.newName ?? i.name) === previous.value.name || i.name === previous.value.name,
  );
  if (!entry) return { kind: "impossible", reason: `the overlay no longer has an entry for ${previous.value.name}` };
  const edited = setImages(input.current, [
    { name: entry.name, newTag: previous.value.tag, digest: previous.value.digest },
  ]);
  if (!edited.ok) return { kind: "impossible", reason: edited.reason };
  if (!edited.changed) return { kind: "noop", reason: `the overlay already runs ${input.previousImage}` };
  return { kind: "revert", text: edited.text, method: "reset-image" };
}
