// The deploy PR Conveyor opens: title, body and commit message, pinned as golden files in
// test/fixtures/pr-text/ (next to the new-pr.* set written by plan-deploy.test.ts). Rewrite them
// with UPDATE_GOLDEN=1 and read the diff: the body is what a reviewer reads before merging.
import { describe, expect, it } from "vitest";
import { goldenFiles } from "../helpers/golden.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import { deployPrText, describeSource, type ImageMove } from "../../src/core/pr-text.js";

const GOLDEN = new URL("../fixtures/pr-text/", import.meta.url);

const golden = goldenFiles(GOLDEN);

const config = (raw: unknown): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
};

/** No config file: staging auto-merges, production (5m soak) is merged by a reviewer. */
const DEFAULT = config(null);
/** Production has approvers and a 10m soak. */
const GUARDED = config({
  environments: [
    { name: "staging", autoMerge: true, soak: "90s" },
    { name: "production", approvers: ["alice", "@acme/sre"], soak: "10m" },
  ],
});

const api = (tag: string) => `ghcr.io/acme/api:${tag}`;
const SHA = "8d3c1f0a9b7e6d5c4b3a29180f7e6d5c4b3a2918";
const RUN = "https://github.com/acme/api/actions/runs/4242";
const WEB = "https://github.com";
const GHES = "https://ghe.example.com";
const file = (env: string) => `services/api/overlays/${env}/kustomization.yaml`;

const cases: Array<{
  name: string;
  what: string;
  move: ImageMove;
  config: Config;
  evidence?: string[];
  title: string;
}> = [
  {
    name: "first-deploy",
    what: "a first deploy: the overlay had no entry, the environment auto-merges, full source details",
    move: {
      service: "api",
      env: "staging",
      from: undefined,
      to: api("1.0.0"),
      file: file("staging"),
      source: { repository: "acme/api", sha: SHA, runUrl: RUN },
    },
    config: GUARDED,
    title: "Deploy api 1.0.0 to staging",
  },
  {
    name: "promotion-approvers",
    what: "a promotion after verification: evidence, approvers, no source details, the last environment",
    move: {
      service: "api",
      env: "production",
      from: api("1.4.0"),
      to: api("1.5.0"),
      file: file("production"),
      source: {},
    },
    config: GUARDED,
    evidence: ["Verified in **staging**: synced, healthy and stable (deployment 202, #12)."],
    title: "Deploy api 1.5.0 to production",
  },
  {
    name: "promotion-forced",
    what: "a promotion forced with /promote --force: no approvers, a reviewer merges",
    move: {
      service: "api",
      env: "production",
      from: api("1.4.0"),
      to: api("1.6.0"),
      file: file("production"),
      source: {},
    },
    config: DEFAULT,
    evidence: ["Not verified in **staging**: forced by @alice with /promote production --force."],
    title: "Deploy api 1.6.0 to production",
  },
  {
    name: "source-commit-only",
    what: "a deploy event that names only a commit, no repository or run",
    move: {
      service: "api",
      env: "staging",
      from: api("1.5.0"),
      to: api("1.6.0"),
      file: file("staging"),
      source: { sha: SHA },
    },
    config: DEFAULT,
    title: "Deploy api 1.6.0 to staging",
  },
  {
    name: "digest",
    what: "an image pinned by digest",
    move: {
      service: "api",
      env: "staging",
      from: api("1.6.0"),
      to: `ghcr.io/acme/api@sha256:${"4e".repeat(32)}`,
      file: file("staging"),
      source: { repository: "acme/api", runUrl: RUN },
    },
    config: DEFAULT,
    title: `Deploy api sha256:${"4e".repeat(32)} to staging`,
  },
];

describe("deployPrText golden files", () => {
  it.each(cases.map((c) => [c.name, c.what, c] as const))("%s: %s", (name, _what, c) => {
    const text = deployPrText(c.move, c.config, { evidence: c.evidence, web: WEB });
    expect(text.title).toBe(c.title);
    expect(text.labels).toEqual(["conveyor", `env/${c.move.env}`]);
    golden(`${name}.title.txt`, `${text.title}\n`);
    golden(`${name}.body.md`, text.body);
    golden(`${name}.commit.txt`, text.commitMessage);
  });
});

describe("deployPrText: what the body promises about merging and what follows", () => {
  const line = (body: string, start: string) => body.split("\n").find((l) => l.startsWith(start));
  it.each([
    [
      "an auto-merging environment: Conveyor merges",
      GUARDED,
      "staging",
      "- Conveyor merges this PR automatically once its checks pass (staging auto-merges).",
    ],
    [
      "an environment with approvers: a reviewer, the approvers named",
      GUARDED,
      "production",
      "- A reviewer merges this PR (approvers: alice, @acme/sre).",
    ],
    ["no approvers and no auto-merge: a reviewer", DEFAULT, "production", "- A reviewer merges this PR."],
  ])("%s", (_title, cfg, env, expected) => {
    const { body } = deployPrText(
      { service: "api", env, from: api("1.4.0"), to: api("1.5.0"), file: file(env), source: {} },
      cfg,
    );
    expect(line(body, "- ")).toBe(expected);
  });

  it.each([
    [
      "staging in the default config: 2m, then production",
      DEFAULT,
      "staging",
      ["for 2m.", "Then it opens the promotion PR to **production**"],
    ],
    [
      "production in the default config: 5m, the last environment",
      DEFAULT,
      "production",
      ["for 5m.", "production is the last environment; if the rollout fails Conveyor opens a revert PR."],
    ],
    ["staging with a 90s soak", GUARDED, "staging", ["for 90s."]],
  ])("%s", (_title, cfg, env, fragments) => {
    const { body } = deployPrText(
      { service: "api", env, from: api("1.4.0"), to: api("1.5.0"), file: file(env), source: {} },
      cfg,
    );
    for (const fragment of fragments) expect(body).toContain(fragment);
  });

  it("has no Evidence section without evidence", () => {
    expect(deployPrText(cases[0]!.move, GUARDED).body).not.toContain("### Evidence");
    expect(deployPrText(cases[0]!.move, GUARDED, { evidence: [] }).body).not.toContain("### Evidence");
  });
});

describe("describeSource: where a deploy came from", () => {
  it.each([
    [
      "repository, commit and run",
      { repository: "acme/api", sha: SHA, runUrl: RUN },
      `[acme/api](https://github.com/acme/api) at [\`${SHA.slice(0, 12)}\`](https://github.com/acme/api/commit/${SHA}), [CI run](${RUN})`,
    ],
    ["repository only", { repository: "acme/api" }, "[acme/api](https://github.com/acme/api)"],
    ["commit only", { sha: SHA }, `commit \`${SHA.slice(0, 12)}\``],
    ["run only", { runUrl: RUN }, `[CI run](${RUN})`],
    ["nothing", {}, "a deploy event with no source details"],
    [
      "a digest",
      { repository: "acme/api", digest: `sha256:${"4e".repeat(32)}` },
      "[acme/api](https://github.com/acme/api), digest `sha256:4e4e4e4e4e4e…`",
    ],
  ])("%s", (_title, source, expected) => {
    expect(describeSource(source, WEB)).toBe(expected);
  });

  it("links the GitHub Enterprise Server Conveyor talks to, and a run there only", () => {
    const run = `${GHES}/acme/api/actions/runs/7`;
    expect(describeSource({ repository: "acme/api", sha: SHA, runUrl: run }, GHES)).toBe(
      `[acme/api](${GHES}/acme/api) at [\`${SHA.slice(0, 12)}\`](${GHES}/acme/api/commit/${SHA}), [CI run](${run})`,
    );
    // A run on github.com is not a link when Conveyor talks to another server.
    expect(describeSource({ runUrl: RUN }, GHES)).toBe(`CI run \`${RUN}\``);
  });

  it("links nothing without the server's address", () => {
    expect(describeSource({ repository: "acme/api", sha: SHA, runUrl: RUN })).toBe(
      `acme/api at \`${SHA.slice(0, 12)}\`, CI run \`${RUN}\``,
    );
  });
});
