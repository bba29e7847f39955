// The "### Changes" section of Conveyor's PR bodies: the source repository's commits between what
// an environment runs and what the PR brings. Golden files in test/fixtures/changelog/ (rewrite
// with UPDATE_GOLDEN=1 and read the diff); the rules around them as tables.
import { describe, expect, it } from "vitest";
import {
  behindReason,
  changelogSection,
  plain,
  rangeOf,
  type ChangelogCommit,
  type Comparison,
} from "../../src/core/changelog.js";
import { deployPrText } from "../../src/core/pr-text.js";
import { parseConfig } from "../../src/core/config.js";
import { goldenFiles } from "../helpers/golden.js";

const golden = goldenFiles(new URL("../fixtures/changelog/", import.meta.url));
const WEB = "https://github.com";
const REPO = "acme/order-service";
const sha = (n: number) => n.toString(16).padStart(2, "0").repeat(20);
const OLD = "ghcr.io/acme/order-service:1.4.0";
const NEW = "ghcr.io/acme/order-service:1.5.0";
const from = { repository: REPO, sha: sha(1) };
const to = { repository: REPO, sha: sha(90), runUrl: `${WEB}/${REPO}/actions/runs/77` };

/** `n` commits after sha(1), oldest first, as GitHub's compare lists them. */
function commits(n: number): ChangelogCommit[] {
  return Array.from({ length: n }, (_, i) => ({
    sha: sha(i + 2),
    subject: `Change number ${i + 1}`,
    author: i % 2 ? "mona" : "Hubot Builder",
    ...(i % 3 === 0 ? { pr: { number: 100 + i, title: `Feature ${i + 1}` } } : {}),
  }));
}

const range = rangeOf({ env: "production", from: OLD, fromSource: from, to: NEW, toSource: to });
const section = (comparison: Comparison) =>
  changelogSection({
    env: "production",
    from: OLD,
    to: NEW,
    range,
    history: { kind: "compared", comparison },
    web: WEB,
  });

describe("changelogSection golden files", () => {
  it("one commit, from a merged PR", () => {
    golden(
      "one-commit.md",
      section({
        status: "ahead",
        aheadBy: 1,
        behindBy: 0,
        commits: [
          {
            sha: sha(90),
            subject: "Fix rounding of totals",
            author: "mona",
            pr: { number: 42, title: "Fix rounding" },
          },
        ],
      }),
    );
  });

  it("many commits: the newest 50, newest first, then 'and N more' with the compare link", () => {
    const text = section({ status: "ahead", aheadBy: 73, behindBy: 0, commits: commits(73) });
    golden("many-commits.md", text);
    const items = text.split("\n").filter((l) => l.startsWith("- "));
    expect(items).toHaveLength(51);
    expect(items[0]).toContain("Change number 73");
    expect(items[49]).toContain("Change number 24");
    expect(items[50]).toBe(`- and 23 more: [compare](${WEB}/${REPO}/compare/${sha(1)}...${sha(90)})`);
  });

  it("no source for what runs now: says so, shows the tags, invents no range", () => {
    const none = rangeOf({ env: "production", from: OLD, fromSource: undefined, to: NEW, toSource: to });
    const text = changelogSection({ env: "production", from: OLD, to: NEW, range: none, web: WEB });
    golden("no-source.md", text);
    expect(text).not.toContain("compare");
  });

  it("diverged histories (a hotfix branch): allowed, and the PR says so", () => {
    const text = section({ status: "diverged", aheadBy: 2, behindBy: 3, commits: commits(2) });
    golden("diverged.md", text);
    expect(text).toContain("**diverged**");
  });

  it("a whole promotion PR body with its changelog", () => {
    const config = parseConfig(null);
    if (!config.ok) throw new Error("config");
    const changelog = section({ status: "ahead", aheadBy: 3, behindBy: 0, commits: commits(3) });
    const text = deployPrText(
      {
        service: "order-service",
        env: "production",
        from: OLD,
        to: NEW,
        file: "services/order-service/overlays/production/kustomization.yaml",
        source: to,
      },
      config.config,
      { evidence: ["Verified in **staging**: synced, healthy and stable (deployment 7, #12)."], web: WEB, changelog },
    );
    golden("promotion.body.md", text.body);
  });
});

describe("changelogSection: what it says without a list", () => {
  it.each([
    [
      "a first deploy",
      rangeOf({ env: "staging", from: undefined, fromSource: undefined, to: NEW, toSource: to }),
      "nothing ran in staging before",
    ],
    [
      "no source for the new image",
      rangeOf({ env: "staging", from: OLD, fromSource: from, to: NEW, toSource: {} }),
      "no source commit for `order-service:1.5.0` (the deploy event named none)",
    ],
    [
      "images of different repositories",
      rangeOf({
        env: "staging",
        from: OLD,
        fromSource: { repository: "acme/other", sha: sha(1) },
        to: NEW,
        toSource: to,
      }),
      "different repositories (acme/other and acme/order-service)",
    ],
  ])("%s", (_title, r, expected) => {
    const text = changelogSection({ env: "staging", from: OLD, to: NEW, range: r, web: WEB });
    expect(text).toContain(expected);
    expect(text).not.toContain("/compare/");
  });

  it("unavailable (no installation on the service repository): says why, links the two commits", () => {
    const text = changelogSection({
      env: "production",
      from: OLD,
      to: NEW,
      range,
      history: { kind: "unavailable", reason: "Conveyor is not installed on acme/order-service" },
      web: "https://ghe.example.com",
    });
    expect(text).toBe(
      `### Changes\n${REPO} [\`0101010\`](https://ghe.example.com/${REPO}/commit/${sha(1)}) → [\`5a5a5a5\`](https://ghe.example.com/${REPO}/commit/${sha(90)}): the changelog is unavailable: Conveyor is not installed on acme/order-service.`,
    );
  });

  it("the same commit rebuilt: no commits in between", () => {
    expect(section({ status: "identical", aheadBy: 0, behindBy: 0, commits: [] })).toContain(
      "the same commit; the image was rebuilt",
    );
  });
});

describe("behindReason: commit order", () => {
  const reason = (status: Comparison["status"], behindBy = 3) =>
    behindReason({
      image: NEW,
      source: to,
      current: OLD,
      currentSource: from,
      where: "staging",
      comparison: { status, aheadBy: status === "behind" ? 0 : 1, behindBy, commits: [] },
    });
  it("refuses a commit behind the deployed one, saying by how many", () => {
    expect(reason("behind")).toBe(
      `${NEW} was built from ${REPO}@${sha(90).slice(0, 12)}, which is behind by 3 commits the commit of ${OLD} in staging (${sha(1).slice(0, 12)}); an older build never replaces a newer one (send a rollback instead)`,
    );
    expect(reason("behind", 1)).toContain("behind by 1 commit the");
  });
  it.each(["ahead", "diverged", "identical"] as const)("allows %s", (status) => {
    expect(reason(status, status === "diverged" ? 2 : 0)).toBeUndefined();
  });
});

describe("plain: text from the source repository", () => {
  it.each([
    ["an @mention does not notify", "Thanks @alice", "Thanks @\u200balice"],
    ["#123 does not link a manifests issue", "Fix (#123)", "Fix (#\u200b123)"],
    [
      "markup and HTML are escaped",
      "<!-- conveyor:x --> *bold* [a](b)",
      "\\<\\!-- conveyor:x --\\> \\*bold\\* \\[a\\](b)",
    ],
    ["only the first line", "subject\n\nbody @bob", "subject"],
    ["clipped by code points", "é".repeat(5), "éé…"],
  ])("%s", (_title, input, expected) => {
    expect(plain(input, input.startsWith("é") ? 2 : 100)).toBe(expected);
  });
});
