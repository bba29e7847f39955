// The state Conveyor keeps in its PR bodies: signed over the repository, what moves and the head
// it pushed, so that an edited body or a commit someone else pushed is recognised.
import { describe, expect, it } from "vitest";
import { Signer } from "../../src/adapters/signing.js";
import { stateMarker } from "../../src/core/markers.js";
import { prTrust, signedState, signedStateMarker } from "../../src/flows/pr-state.js";
import type { Services } from "../../src/flows/services.js";

const services = { signer: new Signer("test-marker-key") } as Services;
const MOVE = { service: "api", env: "production", from: "ghcr.io/acme/api:1.4.0", to: "ghcr.io/acme/api:1.5.0" };
const HEAD = "a".repeat(40);
const body = (marker: string) => `Conveyor deploys **api** to **production**.\n\n${marker}`;

describe("PR state markers", () => {
  it("a marker Conveyor signed for this head is trusted, with what it moves", () => {
    const trust = prTrust(services, "acme/manifests", {
      body: body(signedStateMarker(services, "acme/manifests", MOVE, HEAD)),
      headSha: HEAD,
    });
    expect(trust).toEqual({ kind: "trusted", state: expect.objectContaining({ ...MOVE, head: HEAD }) });
  });

  it("a commit someone else pushed afterwards: still Conveyor's words, but a foreign head", () => {
    const trust = prTrust(services, "acme/manifests", {
      body: body(signedStateMarker(services, "acme/manifests", MOVE, HEAD)),
      headSha: "b".repeat(40),
    });
    expect(trust.kind).toBe("foreign-head");
  });

  it.each([
    ["a writer changed the image in the marker", (m: string) => m.replace("1.5.0", "9.9.9")],
    ["a writer changed the environment", (m: string) => m.replace('"production"', '"staging"')],
    ["a writer moved the head to their own commit", (m: string) => m.replace(HEAD, "c".repeat(40))],
    ["the signature was removed", (m: string) => m.replace(/,"sig":"[0-9a-f]+"/, "")],
  ])("untrusted when %s", (_what, edit) => {
    const marker = edit(signedStateMarker(services, "acme/manifests", MOVE, HEAD));
    const head = marker.includes("c".repeat(40)) ? "c".repeat(40) : HEAD;
    expect(prTrust(services, "acme/manifests", { body: body(marker), headSha: head })).toEqual({ kind: "untrusted" });
    expect(signedState(services, "acme/manifests", body(marker))).toBeUndefined();
  });

  it("a marker signed for another repository, or with another key, or unsigned (written before signing), is not believed", () => {
    const other = signedStateMarker(services, "acme/other", MOVE, HEAD);
    expect(prTrust(services, "acme/manifests", { body: body(other), headSha: HEAD }).kind).toBe("untrusted");
    const stranger = signedStateMarker(
      { signer: new Signer("someone else") } as Services,
      "acme/manifests",
      MOVE,
      HEAD,
    );
    expect(prTrust(services, "acme/manifests", { body: body(stranger), headSha: HEAD }).kind).toBe("untrusted");
    expect(prTrust(services, "acme/manifests", { body: body(stateMarker(MOVE)), headSha: HEAD }).kind).toBe(
      "untrusted",
    );
  });
});
