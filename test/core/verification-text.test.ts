// The texts Conveyor writes while it verifies a merged change and when it reverts one, pinned as
// golden files in test/fixtures/verification-text/. Rewrite them with UPDATE_GOLDEN=1 and read the
// diff: each file is what a person sees on the PR, so it must read well as GitHub Markdown.
import { describe, expect, it } from "vitest";
import { goldenFiles } from "../helpers/golden.js";
import {
  failedComment,
  revertPrText,
  verificationStartedComment,
  verifiedComment,
  type Timeline,
} from "../../src/core/verification-text.js";

const GOLDEN = new URL("../fixtures/verification-text/", import.meta.url);

const golden = goldenFiles(GOLDEN);

const api = (tag: string) => `ghcr.io/acme/api:${tag}`;
const REVISION = "3f2a9c1e0b7d4a6e8c5f1b2d3e4f5a6b7c8d9e0f";
const TIMELINE: Timeline = {
  merged: "2025-06-02T09:14:05Z",
  synced: "2025-06-02T09:15:41Z",
  healthy: "2025-06-02T09:16:20Z",
  verified: "2025-06-02T09:18:20Z",
};
const DEGRADED = 'api-staging is Degraded for 1m15s: "Deployment "api" exceeded its progress deadline"';

describe("verification started", () => {
  it.each([
    [
      "started-staging.md",
      "staging, 2m soak",
      { service: "api", env: "staging", app: "api-staging", revision: REVISION, deploymentId: 202, soakMs: 120_000 },
    ],
    [
      "started-production.md",
      "production, 90s soak",
      {
        service: "api",
        env: "production",
        app: "api-production",
        revision: REVISION,
        deploymentId: 303,
        soakMs: 90_000,
      },
    ],
  ])("%s: %s", (file, _what, input) => {
    const text = verificationStartedComment(input);
    expect(text).toContain(`\`${REVISION.slice(0, 12)}\``);
    expect(text).not.toContain(REVISION);
    golden(file, text);
  });
});

describe("verified", () => {
  const base = { service: "api", env: "staging", app: "api-staging", image: api("1.5.0"), timeline: TIMELINE };
  it.each([
    [
      "verified-next-pr.md",
      "the promotion PR to the next environment is open",
      { ...base, next: { env: "production", pr: 21 } },
      "Next: promotion to **production** in #21.",
    ],
    [
      "verified-next-frozen.md",
      "the next environment is frozen: a note instead of a PR",
      {
        ...base,
        next: { env: "production", note: "production is frozen (#40); no promotion until /unhold production" },
      },
      "Next: production is frozen (#40); no promotion until /unhold production.",
    ],
    [
      "verified-revert.md",
      "a verified revert is not promoted",
      { ...base, image: api("1.4.0"), next: { env: "production", note: "this was a revert, which is not promoted" } },
      "Next: this was a revert, which is not promoted.",
    ],
    [
      "verified-next-nothing.md",
      "a next environment without PR or note",
      { ...base, next: { env: "production" } },
      "Next: no promotion to production.",
    ],
    [
      "verified-last-env.md",
      "the last environment",
      { ...base, env: "production", app: "api-production" },
      "production is the last environment.",
    ],
    [
      "verified-partial-timeline.md",
      "no image and no sync/health times known: those rows are left out",
      {
        service: "api",
        env: "production",
        app: "api-production",
        timeline: { merged: TIMELINE.merged, verified: TIMELINE.verified },
      },
      "production is the last environment.",
    ],
  ])("%s: %s", (file, _what, input, lastLine) => {
    const text = verifiedComment(input);
    expect(text.split("\n").at(-1)).toBe(lastLine);
    golden(file, text);
  });

  it("lists the timeline in order and leaves out the steps it has no time for", () => {
    const rows = (timeline: Timeline) =>
      verifiedComment({ ...base, timeline })
        .split("\n")
        .filter((line) => /^\| [a-z]/.test(line) && !line.startsWith("| step"));
    expect(rows(TIMELINE)).toEqual([
      "| merged | 2025-06-02T09:14:05Z |",
      "| synced | 2025-06-02T09:15:41Z |",
      "| healthy | 2025-06-02T09:16:20Z |",
      "| stable (verified) | 2025-06-02T09:18:20Z |",
    ]);
    expect(rows({ merged: TIMELINE.merged, healthy: TIMELINE.healthy, verified: TIMELINE.verified })).toEqual([
      "| merged | 2025-06-02T09:14:05Z |",
      "| healthy | 2025-06-02T09:16:20Z |",
      "| stable (verified) | 2025-06-02T09:18:20Z |",
    ]);
  });
});

describe("failed", () => {
  const base = { service: "api", env: "staging", app: "api-staging", reason: DEGRADED };
  it.each([
    [
      "failed-revert-pr.md",
      "the author is told, the revert PR named, and where to lift the hold",
      { ...base, author: "alice", revert: { pr: 22 }, holdIssue: 23 },
      "Conveyor opened revert PR #22.",
    ],
    [
      "failed-revert-note.md",
      "no revert PR could be made: the note says why",
      {
        ...base,
        author: "alice",
        revert: { note: "No revert PR: the overlay changed since and the previous image is not known." },
      },
      "No revert PR: the overlay changed since and the previous image is not known.",
    ],
    [
      "failed-no-author.md",
      "no author to mention, rollback.auto off",
      { ...base, revert: { note: "No revert PR was opened (rollback.auto is off)." } },
      "No revert PR was opened (rollback.auto is off).",
    ],
    [
      "failed-no-revert-info.md",
      "nothing said about a revert: the rollback.auto default",
      { ...base, author: "alice" },
      "No revert PR was opened (rollback.auto is off).",
    ],
  ])("%s: %s", (file, _what, input, revertLine) => {
    const text = failedComment(input);
    expect(text.split("\n")).toContain(revertLine);
    expect(text).toContain(`**Reason:** ${DEGRADED}`);
    golden(file, text);
  });
});

describe("revert PR", () => {
  const base = { service: "api", env: "staging", reason: DEGRADED, deploymentId: 203 };
  it.each([
    [
      "revert-pr",
      "a plain revert of a failed rollout after its PR",
      { ...base, from: api("1.5.0"), to: api("1.6.0"), originalPr: 14, method: "revert" as const },
    ],
    [
      "revert-pr-reset-image",
      "the overlay moved on: the previous image (pinned by digest) is set instead",
      { ...base, from: `ghcr.io/acme/api@sha256:${"4e".repeat(32)}`, to: api("1.6.0"), method: "reset-image" as const },
    ],
    ["revert-pr-unknown-images", "neither image known", { ...base, method: "revert" as const }],
    [
      "revert-pr-rollback-command",
      "asked for with /rollback (the reason is the comment, not a failure)",
      {
        ...base,
        env: "production",
        from: api("1.4.0"),
        to: api("1.5.0"),
        originalPr: 31,
        deploymentId: 303,
        reason: "`/rollback`",
        requestedBy: "alice",
        method: "revert" as const,
      },
    ],
  ])("%s: %s", (name, _what, input) => {
    const text = revertPrText(input);
    golden(`${name}.title.txt`, `${text.title}\n`);
    golden(`${name}.body.md`, text.body);
    golden(`${name}.commit.txt`, text.commitMessage);
  });

  it("keeps the reason in the commit message to 500 characters", () => {
    const reason = "x".repeat(600);
    const { commitMessage, body } = revertPrText({
      service: "api",
      env: "staging",
      reason,
      deploymentId: 1,
      method: "revert",
    });
    expect(commitMessage.endsWith(`Rollout failed: ${"x".repeat(500)}`)).toBe(true);
    expect(body).toContain(reason);
  });
});
