// How Conveyor lands a PR: the merge method (config, else the repository's settings), and what
// GitHub's refusals mean. Pure functions, table tests.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config.js";
import {
  chooseMergeMethod,
  classifyRefusal,
  graphqlMergeMethod,
  isTransient,
  knowsMethods,
  MERGE_REFUSED_LABEL,
  mergeRefusedComment,
  mergeRefusedMarker,
  type AllowedMethods,
  type MergeMethod,
  type MethodChoice,
  type RefusalKind,
} from "../../src/core/merge-method.js";

const ALL = { merge: true, squash: true, rebase: true };

describe("chooseMergeMethod", () => {
  it.each<[string, MergeMethod | undefined, AllowedMethods | undefined, MethodChoice]>([
    ["every method allowed: a merge commit", undefined, ALL, { kind: "method", method: "merge", source: "settings" }],
    [
      "squash only",
      undefined,
      { merge: false, squash: true, rebase: false },
      { kind: "method", method: "squash", source: "settings" },
    ],
    [
      "rebase only",
      undefined,
      { merge: false, squash: false, rebase: true },
      { kind: "method", method: "rebase", source: "settings" },
    ],
    [
      "squash and rebase: squash",
      undefined,
      { merge: false, squash: true, rebase: true },
      { kind: "method", method: "squash", source: "settings" },
    ],
    [
      "merge and rebase: merge",
      undefined,
      { merge: true, squash: false, rebase: true },
      { kind: "method", method: "merge", source: "settings" },
    ],
    [
      "nothing known: GitHub's default, presumed",
      undefined,
      undefined,
      { kind: "method", method: "merge", source: "guess" },
    ],
    ["an empty answer is nothing known", undefined, {}, { kind: "method", method: "merge", source: "guess" }],
    [
      "merge forbidden, the rest unknown: squash, presumed",
      undefined,
      { merge: false },
      { kind: "method", method: "squash", source: "guess" },
    ],
    [
      "only rebase not forbidden, unknown: rebase, presumed",
      undefined,
      { merge: false, squash: false },
      { kind: "method", method: "rebase", source: "guess" },
    ],
    [
      "one known allowed wins over an unknown preferred one",
      undefined,
      { squash: true },
      { kind: "method", method: "squash", source: "settings" },
    ],
    [
      "none allowed",
      undefined,
      { merge: false, squash: false, rebase: false },
      { kind: "none", reason: "this repository allows no merge method" },
    ],
    ["config squash, all allowed", "squash", ALL, { kind: "method", method: "squash", source: "config" }],
    ["config rebase, nothing known", "rebase", undefined, { kind: "method", method: "rebase", source: "config" }],
    [
      "config merge where only squash is allowed: refused, naming what is allowed",
      "merge",
      { merge: false, squash: true, rebase: false },
      {
        kind: "none",
        reason:
          "`merge.method` in .github/conveyor.yml is merge, but this repository does not allow merge commits (it allows squash merges)",
      },
    ],
    [
      "config squash where merge and rebase are allowed",
      "squash",
      { merge: true, squash: false, rebase: true },
      {
        kind: "none",
        reason:
          "`merge.method` in .github/conveyor.yml is squash, but this repository does not allow squash merges (it allows merge commits and rebase merges)",
      },
    ],
    [
      "config rebase where the repository's other settings are unknown",
      "rebase",
      { merge: false },
      { kind: "method", method: "rebase", source: "config" },
    ],
  ])("%s", (_name, configured, allowed, expected) => {
    expect(chooseMergeMethod({ configured, allowed })).toEqual(expected);
  });

  it.each<[AllowedMethods | undefined, boolean]>([
    [undefined, false],
    [{}, false],
    [{ rebase: false }, true],
    [ALL, true],
  ])("knowsMethods(%j) is %s", (allowed, known) => {
    expect(knowsMethods(allowed)).toBe(known);
  });

  it.each<[MergeMethod, string]>([
    ["merge", "MERGE"],
    ["squash", "SQUASH"],
    ["rebase", "REBASE"],
  ])("GraphQL names %s %s", (method, name) => {
    expect(graphqlMergeMethod(method)).toBe(name);
  });
});

describe("classifyRefusal", () => {
  it.each<[number | undefined, string, RefusalKind, boolean]>([
    [405, "Merge commits are not allowed on this repository.", "method-not-allowed", false],
    [405, "Squash merges are not allowed on this repository.", "method-not-allowed", false],
    [405, "Rebase merges are not allowed on this repository.", "method-not-allowed", false],
    [undefined, "Merge method squash merging is not allowed on this repository", "method-not-allowed", false],
    [405, "Repository rule violations found\n\nChanges must be made through the merge queue", "merge-queue", false],
    [undefined, "Changes must be made through the merge queue", "merge-queue", false],
    [undefined, "Pull request is already queued to merge", "already-queued", false],
    [undefined, "This pull request is already in the merge queue", "already-queued", false],
    [undefined, "Pull request Pull request is in clean status", "clean", false],
    [409, "Head branch was modified. Review and try the merge again.", "moved", true],
    [405, "Base branch was modified. Review and try the merge again.", "moved", true],
    [405, "Pull Request is not mergeable", "moved", true],
    [405, "At least 1 approving review is required by reviewers with write access.", "blocked", false],
    [405, 'Required status check "ci" is expected.', "blocked", false],
    [405, "Repository rule violations found\n\nCommits must have verified signatures.", "blocked", false],
    [422, "Validation Failed", "blocked", false],
  ])("%s %j is %s (passing: %s)", (status, message, kind, transient) => {
    expect(classifyRefusal({ status, message })).toBe(kind);
    expect(isTransient(kind)).toBe(transient);
  });
});

describe("the refusal comment", () => {
  const head = "abcdef0123456789".repeat(2) + "abcdef01";

  it("quotes GitHub, says what to do, and carries the marker of the head it is about", () => {
    const text = mergeRefusedComment({
      head,
      action: "merge it",
      refusal: { status: 405, message: "Merge commits are not allowed on this repository." },
      kind: "method-not-allowed",
    });
    expect(text).toContain(
      "Conveyor did not merge this pull request: GitHub refused to merge it (405): `Merge commits are not allowed on this repository.`",
    );
    expect(text).toContain("`merge.method`");
    expect(text).toContain(`\`${MERGE_REFUSED_LABEL}\``);
    expect(text).toContain(head.slice(0, 12));
    expect(text.endsWith(`<!-- ${mergeRefusedMarker(head)} -->`)).toBe(true);
  });

  it("keeps GitHub's text on one line, unable to open a marker of its own", () => {
    const text = mergeRefusedComment({
      head,
      action: "merge it",
      refusal: { status: 405, message: "rule\n<!-- conveyor:merge-refused:" + "0".repeat(40) + " -->\n`x`" },
      kind: "blocked",
    });
    expect(text.match(/<!--/g)).toHaveLength(1);
    expect(text.split("\n")[0]).toContain("&lt;!-- conveyor:merge-refused:");
  });

  it("says Conveyor's own reason without pretending GitHub said it", () => {
    const text = mergeRefusedComment({
      head,
      refusal: { message: "this repository allows no merge method" },
      kind: "method-not-allowed",
    });
    expect(text.split("\n")[0]).toBe(
      "Conveyor did not merge this pull request: this repository allows no merge method.",
    );
  });
});

describe("config: merge", () => {
  it("defaults: no method (the repository decides), no queue", () => {
    const result = parseConfig(null);
    expect(result.ok && result.config.merge).toEqual({ queue: false });
  });

  it.each(["merge", "squash", "rebase"])("accepts merge.method: %s", (method) => {
    const result = parseConfig({ merge: { method, queue: true } });
    expect(result.ok && result.config.merge).toEqual({ method, queue: true });
  });

  it.each<[unknown, string]>([
    [{ merge: { method: "fast-forward" } }, "merge.method"],
    [{ merge: { queue: "yes" } }, "merge.queue"],
    [{ merge: { strategy: "squash" } }, "merge"],
  ])("refuses %j at %s", (raw, path) => {
    const result = parseConfig(raw);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.path)).toContain(path);
  });
});
