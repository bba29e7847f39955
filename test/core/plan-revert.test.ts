import { describe, expect, it } from "vitest";
import { planRevert } from "../../src/core/plan-revert.js";

const v = (tag: string, extra = "") => `images:\n  - name: ghcr.io/acme/api # keep me\n    newTag: "${tag}"\n${extra}`;

describe("planRevert", () => {
  it("restores the overlay byte for byte when nothing touched it since", () => {
    expect(
      planRevert({
        before: v("1.0.0"),
        after: v("2.0.0"),
        current: v("2.0.0"),
        previousImage: "ghcr.io/acme/api:1.0.0",
      }),
    ).toEqual({ kind: "revert", text: v("1.0.0"), method: "revert" });
  });
  it("sets the previous image on top of later unrelated changes", () => {
    const current = v("2.0.0", "replicas:\n  - name: api\n    count: 5\n");
    expect(
      planRevert({ before: v("1.0.0"), after: v("2.0.0"), current, previousImage: "ghcr.io/acme/api:1.0.0" }),
    ).toEqual({ kind: "revert", text: v("1.0.0", "replicas:\n  - name: api\n    count: 5\n"), method: "reset-image" });
  });
  it("does nothing when the overlay is already back", () => {
    expect(planRevert({ before: v("1.0.0"), after: v("2.0.0"), current: v("1.0.0") }).kind).toBe("noop");
  });
  it("does nothing when a later change already set the previous image", () => {
    const current = v("1.0.0", "# later edit\n");
    expect(
      planRevert({ before: v("1.0.0"), after: v("2.0.0"), current, previousImage: "ghcr.io/acme/api:1.0.0" }).kind,
    ).toBe("noop");
  });
  it.each([
    ["the overlay was created by the change", { before: undefined, after: v("2.0.0"), current: v("2.0.0") }],
    [
      "the overlay moved on and the previous image is unknown",
      { before: v("1.0.0"), after: v("2.0.0"), current: v("3.0.0") },
    ],
    [
      "the overlay no longer lists the image",
      { before: v("1.0.0"), after: v("2.0.0"), current: "resources: []\n", previousImage: "ghcr.io/acme/api:1.0.0" },
    ],
  ])("is impossible when %s", (_name, input) => {
    expect(planRevert(input).kind).toBe("impossible");
  });
});
