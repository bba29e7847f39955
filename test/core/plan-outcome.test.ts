// "A verdict is in: what now?" as tables of plain data: the verification, the config as it is now
// (or undefined when it cannot be read) and the frozen environments go in; the steps come out.
// Each row names the behaviour a person would notice on GitHub.
import { describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import { markerTag, parseHoldIssue } from "../../src/core/markers.js";
import {
  planFailed,
  planSuperseded,
  planVerified,
  type FailedPlan,
  type VerifiedPlan,
} from "../../src/core/plan-outcome.js";
import type { Verification } from "../../src/core/verification.js";

const config = (raw: unknown): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
};

/** No config file: staging (auto-merges) then production. */
const DEFAULT = config(null);
/** Three environments, rollback.auto off. */
const THREE_MANUAL = config({
  environments: [{ name: "dev", autoMerge: true }, { name: "staging" }, { name: "production" }],
  rollback: { auto: false },
});

const IMAGE = "ghcr.io/acme/api:1.5.0";
const REVISION = "3f2a9c1e0b7d4a6e8c5f1b2d3e4f5a6b7c8d9e0f";

function verification(over: Partial<Verification> = {}): Verification {
  return {
    repo: {
      owner: "acme",
      repo: "manifests",
      installationId: 1,
      cloneUrl: "https://github.com/acme/manifests.git",
      defaultBranch: "main",
    },
    service: "api",
    env: "staging",
    app: { namespace: "argocd", name: "api-staging" },
    revision: REVISION,
    base: "b".repeat(40),
    deploymentId: 501,
    pr: { number: 12, author: "alice", labels: ["conveyor", "env/staging"] },
    from: "ghcr.io/acme/api:1.4.0",
    to: IMAGE,
    file: "services/api/overlays/staging/kustomization.yaml",
    startedAt: "2025-06-02T09:14:05Z",
    policy: { soakMs: 120_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    ...over,
  };
}

const REVERT_PR = { number: 13, author: "alice", labels: ["conveyor", "env/staging", "conveyor:revert"] };
const VERIFIED = { state: "success", description: "Synced, healthy and stable" } as const;
const apiImage = { name: "ghcr.io/acme/api", registry: "ghcr.io", repository: "acme/api", tag: "1.5.0" };

describe("planVerified", () => {
  it.each<[string, Verification, Config | undefined, Record<string, number>, VerifiedPlan]>([
    [
      "promotes the image to the next environment, with the exact evidence, and comments on its PR",
      verification(),
      DEFAULT,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: {
          kind: "promote",
          env: "production",
          image: apiImage,
          evidence: "Verified in **staging**: synced, healthy and stable (deployment 501, #12).",
        },
      },
    ],
    [
      "a change pushed without a PR is promoted with evidence naming only the deployment, and nothing is commented",
      verification({ pr: undefined }),
      DEFAULT,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        next: {
          kind: "promote",
          env: "production",
          image: apiImage,
          evidence: "Verified in **staging**: synced, healthy and stable (deployment 501).",
        },
      },
    ],
    [
      "promotes a digest-pinned image as it is",
      verification({ to: `ghcr.io/acme/api@sha256:${"a".repeat(64)}` }),
      DEFAULT,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: {
          kind: "promote",
          env: "production",
          image: { ...apiImage, tag: undefined, digest: `sha256:${"a".repeat(64)}` },
          evidence: "Verified in **staging**: synced, healthy and stable (deployment 501, #12).",
        },
      },
    ],
    [
      "promotes from the middle environment to the one after it, not the last",
      verification({ env: "staging" }),
      THREE_MANUAL,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: {
          kind: "promote",
          env: "production",
          image: apiImage,
          evidence: "Verified in **staging**: synced, healthy and stable (deployment 501, #12).",
        },
      },
    ],
    [
      "a verified revert is not promoted, and the comment says why",
      verification({ pr: REVERT_PR, from: IMAGE, to: "ghcr.io/acme/api:1.4.0" }),
      DEFAULT,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 13,
        next: { kind: "note", env: "production", note: "this was a revert, which is not promoted" },
      },
    ],
    [
      "an overlay change without an image is not promoted",
      verification({ to: undefined }),
      DEFAULT,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: { kind: "note", env: "production", note: "the verified overlay has no single image to promote" },
      },
    ],
    [
      "an overlay with several images is not promoted",
      verification({ to: "ghcr.io/acme/api:1.5.0, ghcr.io/acme/sidecar:2.0.0" }),
      DEFAULT,
      {},
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: { kind: "note", env: "production", note: "the verified overlay has no single image to promote" },
      },
    ],
    [
      "a frozen next environment is not promoted into, and the note names the freeze issue and how to lift it",
      verification(),
      DEFAULT,
      { production: 40 },
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: {
          kind: "note",
          env: "production",
          note: "production is frozen (#40); no promotion until /unhold production",
        },
      },
    ],
    [
      "a freeze of another environment does not stop the promotion",
      verification(),
      DEFAULT,
      { staging: 41 },
      {
        kind: "verified",
        status: VERIFIED,
        commentOn: 12,
        next: {
          kind: "promote",
          env: "production",
          image: apiImage,
          evidence: "Verified in **staging**: synced, healthy and stable (deployment 501, #12).",
        },
      },
    ],
    [
      "the last environment has nothing next, not even a note",
      verification({ env: "production", app: { namespace: "argocd", name: "api-production" } }),
      DEFAULT,
      { production: 40 },
      { kind: "verified", status: VERIFIED, commentOn: 12 },
    ],
    [
      "an unreadable config proposes nothing, but the Deployment and the PR still hear it was verified",
      verification(),
      undefined,
      {},
      { kind: "verified", status: VERIFIED, commentOn: 12 },
    ],
    [
      "an environment no longer in the config proposes nothing",
      verification({ env: "qa" }),
      DEFAULT,
      {},
      { kind: "verified", status: VERIFIED, commentOn: 12 },
    ],
  ])("%s", (_title, v, cfg, frozen, expected) => {
    expect(planVerified({ v, config: cfg, frozen })).toEqual(expected);
  });
});

const REASON = "Degraded for 2m: Deployment api exceeded its progress deadline";

describe("planFailed", () => {
  const holdOfApi = (image: string) => ({
    marker: "conveyor:hold:api:staging",
    title: "Conveyor: api is held in staging",
    body: expect.stringContaining(`held image: \`${image}\``) as unknown as string,
  });

  it.each<[string, Verification, Config | undefined, FailedPlan]>([
    [
      "rollback.auto (the default): a revert with the reason, a hold of the image, a comment on the PR",
      verification(),
      DEFAULT,
      {
        kind: "failed",
        status: { state: "failure", description: REASON },
        revert: { kind: "revert", reason: REASON },
        hold: holdOfApi(IMAGE),
        commentOn: 12,
      },
    ],
    [
      "rollback.auto off: no revert, a note that says so, and the image is still held",
      verification(),
      THREE_MANUAL,
      {
        kind: "failed",
        status: { state: "failure", description: REASON },
        revert: { kind: "note", note: "No revert PR was opened (rollback.auto is off)." },
        hold: holdOfApi(IMAGE),
        commentOn: 12,
      },
    ],
    [
      "an unreadable config: no revert, a note that says why, and the image is still held",
      verification(),
      undefined,
      {
        kind: "failed",
        status: { state: "failure", description: REASON },
        revert: { kind: "note", note: "No revert PR was opened: the config could not be read." },
        hold: holdOfApi(IMAGE),
        commentOn: 12,
      },
    ],
    [
      "a failed revert is not reverted (that would bring back the image that failed first) and holds nothing",
      verification({ pr: REVERT_PR, from: IMAGE, to: "ghcr.io/acme/api:1.4.0" }),
      DEFAULT,
      {
        kind: "failed",
        status: { state: "failure", description: REASON },
        revert: {
          kind: "note",
          note: "This was a revert, and Conveyor does not revert a revert: a person has to decide what runs here now.",
        },
        commentOn: 13,
      },
    ],
    [
      "an overlay change without an image holds nothing",
      verification({ to: undefined }),
      DEFAULT,
      {
        kind: "failed",
        status: { state: "failure", description: REASON },
        revert: { kind: "revert", reason: REASON },
        commentOn: 12,
      },
    ],
    [
      "a change pushed without a PR is held but commented nowhere",
      verification({ pr: undefined }),
      DEFAULT,
      {
        kind: "failed",
        status: { state: "failure", description: REASON },
        revert: { kind: "revert", reason: REASON },
        hold: holdOfApi(IMAGE),
      },
    ],
  ])("%s", (_title, v, cfg, expected) => {
    expect(planFailed({ v, config: cfg, reason: REASON })).toEqual(expected);
  });

  it.each([
    ["a tag", IMAGE],
    ["a digest", `ghcr.io/acme/api@sha256:${"c".repeat(64)}`],
  ])("the hold issue, once its marker is added, reads back as the service, environment and image (%s)", (_, image) => {
    const { hold } = planFailed({ v: verification({ to: image }), config: DEFAULT, reason: REASON });
    if (!hold) throw new Error("no hold planned");
    // How the issue is written (adapters/github/issues.ts upsert): the body, then the hidden marker.
    const issueBody = `${hold.body}\n\n${markerTag(hold.marker)}`;
    expect(parseHoldIssue(issueBody)).toEqual({ service: "api", env: "staging", image });
    expect(hold.body).toContain(`The rollout of api in **staging** failed: ${REASON}`);
  });
});

describe("planSuperseded", () => {
  it.each([
    ["names the newer commit by its first 12 characters", "2222222222223333333333334444444444445555", "222222222222"],
    ["a short revision is named as it is", "abc123", "abc123"],
  ])("%s", (_title, by, shown) => {
    expect(planSuperseded(by)).toEqual({
      kind: "superseded",
      status: { state: "inactive", description: `Superseded by ${shown}` },
    });
  });
});

describe("a blue-green release's verdicts", () => {
  const idle = { kind: "idle", slot: "green", deployment: "api-green" } as const;
  it("a verified idle slot is switched to in the same environment, not promoted", () => {
    expect(planVerified({ v: verification({ slot: idle }), config: DEFAULT, frozen: {} }).next).toEqual({
      kind: "switch",
      env: "staging",
      slot: "green",
    });
  });
  it("a verified switch (the live slot moved) promotes as usual", () => {
    const live = { ...idle, kind: "live" } as const;
    expect(planVerified({ v: verification({ slot: live }), config: DEFAULT, frozen: {} }).next).toMatchObject({
      kind: "promote",
      env: "production",
    });
  });
  it("a failed idle slot is held and never reverted: it serves no traffic", () => {
    const plan = planFailed({ v: verification({ slot: idle }), config: DEFAULT, reason: "Degraded" });
    expect(plan.revert).toEqual({
      kind: "note",
      note: "The new image is on the idle slot (green) only, which serves no traffic: nothing is switched to it and nothing needs reverting.",
    });
    expect(plan.hold?.body).toContain(`held image: \`${IMAGE}\``);
  });
});

describe("a canary release's verdicts", () => {
  const canary = { kind: "canary", deployment: "api-canary" } as const;
  it("a verified canary gives stable its image in the same environment, not promoted yet", () => {
    expect(planVerified({ v: verification({ track: canary }), config: DEFAULT, frozen: {} }).next).toEqual({
      kind: "stable",
      env: "staging",
      image: IMAGE,
    });
  });
  it("a verified stable promotes to the next environment", () => {
    const stable = { kind: "stable", deployment: "api-stable" } as const;
    expect(planVerified({ v: verification({ track: stable }), config: DEFAULT, frozen: {} }).next).toMatchObject({
      kind: "promote",
      env: "production",
    });
  });
  it("a canary back to idle (a revert, a scale-down) is followed by nothing", () => {
    const idle = { kind: "idle", deployment: "api-canary" } as const;
    expect(planVerified({ v: verification({ track: idle }), config: DEFAULT, frozen: {} }).next).toBeUndefined();
  });
  it("a failed canary is reverted and its image held", () => {
    const plan = planFailed({ v: verification({ track: canary }), config: DEFAULT, reason: "Degraded" });
    expect(plan.revert).toEqual({ kind: "revert", reason: "Degraded" });
    expect(plan.hold?.body).toContain(`held image: \`${IMAGE}\``);
  });
});
