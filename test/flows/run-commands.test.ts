// The comment flow behind every slash command: who may run what (all or nothing), the reactions,
// and the one reply that quotes each command with its result. Called as the issue_comment handler
// calls it, with the real workspace and queue and strict GitHub mocks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCommands } from "../../src/core/commands.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import { stateMarker } from "../../src/core/markers.js";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { runCommands, type CommentInput, type CommentTarget } from "../../src/flows/run-commands.js";
import { BOT, flowWorld, R, type FlowWorld } from "../helpers/flow-world.js";

const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({
    environments: [
      { name: "staging", autoMerge: true },
      { name: "production", approvers: ["lead"] },
    ],
  }),
) as Config;
const COMMENT_ID = 777;
const COMMENT_URL = `https://github.com/acme/manifests/pull/12#issuecomment-${COMMENT_ID}`;
/** A token-shaped secret in an error GitHub sends back: it must never reach a reply or a log. */
const LEAKED = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => w.cleanup());

/** A person's open PR, #12: not Conveyor's, so its commands name no change of their own. */
const PERSONS_PR: CommentTarget = {
  kind: "pr",
  number: 12,
  open: true,
  merged: false,
  author: "alice",
  labels: [],
  body: "Scale order-service in staging",
};

function comment(body: string, user = "dev", target: CommentTarget = PERSONS_PR): CommentInput {
  return { target, parsed: parseCommands(body), user, commentId: COMMENT_ID, commentUrl: COMMENT_URL };
}

const run = (input: CommentInput) => runCommands(w.services, w.scope, CONFIG, input);

function expectPermission(user: string, permission: string) {
  w.gh.scope
    .get(`${R}/collaborators/${user}/permission`)
    .reply(200, { permission, role_name: permission, user: { login: user } });
}

/** Reactions to the comment, in the order they are made. */
function expectReactions(count: number): string[] {
  const seen: string[] = [];
  for (let i = 0; i < count; i++)
    w.gh.scope
      .post(`${R}/issues/comments/${COMMENT_ID}/reactions`, (b: { content: string }) => (seen.push(b.content), true))
      .reply(201, { id: i + 1, content: "x" });
  return seen;
}

/** The one reply (a second one would be an unmocked call and fail the test). */
function expectReply(number = 12): { body?: string } {
  const seen: { body?: string } = {};
  w.gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => ((seen.body = b.body), true))
    .reply(201, { id: 1, html_url: `https://github.com/acme/manifests/pull/${number}#issuecomment-1` });
  return seen;
}

function expectIssueList(label: string, issues: Array<{ number: number; body: string }> = []) {
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: label, per_page: "100" })
    .reply(
      200,
      issues.map((i) => ({ ...i, title: "t", state: "open", labels: [{ name: label }] })),
    );
}

function deploymentJson(id: number, env: string, to: string, pr: number) {
  return {
    id,
    sha: "c".repeat(40),
    environment: env,
    created_at: "2025-06-02T09:14:05Z",
    url: `https://api.github.com${R}/deployments/${id}`,
    payload: {
      conveyor: true,
      service: "order-service",
      from: "ghcr.io/acme/order-service:1.4.0",
      to,
      pr,
      application: `order-service-${env}`,
      file: `services/order-service/overlays/${env}/kustomization.yaml`,
      base: "b".repeat(40),
      revert: false,
    },
  };
}

describe("comments Conveyor cannot read", () => {
  it.each([
    [
      "a mistyped verb: a did-you-mean and the usage of every command",
      "/promte production\n/hold",
      ["> /promte production", "❌ unknown command `promte`. Did you mean `/promote`?", "/rollback [<env>]"],
    ],
    [
      "a command missing its argument: what is missing and that command's usage",
      "/promote",
      ["> /promote", "❌ name the environment to promote to.", "Usage:\n```\n/promote <env> [--force]\n```"],
    ],
    [
      "a reason on a command that takes none",
      "/unhold production -- because",
      ["> /unhold production -- because", "❌ `--` (a reason) is only read by /hold."],
    ],
  ])("%s: the permission read, a confused reaction, one reply, nothing run (3 calls)", async (_t, body, lines) => {
    expectPermission("dev", "write");
    const reactions = expectReactions(1);
    const reply = expectReply();
    await run(comment(body));
    expect(reactions).toEqual(["confused"]);
    expect(reply.body).toMatch(/^@dev\n\nNothing was run: this comment has commands Conveyor cannot read\./);
    for (const line of lines) expect(reply.body).toContain(line);
    expect(reply.body).toMatch(/Comment `\/help` for all commands\.$/);
    expect(w.gh.calls()).toHaveLength(3);
  });
});

describe("refusals run nothing", () => {
  it("a reader: every command is refused, with who may do it instead, and no reaction (2 calls)", async () => {
    expectPermission("outsider", "read");
    const reply = expectReply();
    await run(comment("/hold\n/hold production -- incident", "outsider"));
    const refusal =
      "❌ Refused: commands need write access to this repository; @outsider has read access. Who may do it instead: anyone with write access. None of this comment's commands ran.";
    expect(reply.body).toBe(
      ["@outsider", "", "> /hold", "", refusal, "", "> /hold production -- incident", "", refusal].join("\n"),
    );
    expect(w.gh.calls()).toHaveLength(2);
  });

  it("one command that moves a protected environment refuses the whole comment, brakes included", async () => {
    expectPermission("dev", "write");
    const reactions = expectReactions(1);
    const reply = expectReply();
    await run(comment("/hold\n/unhold production"));
    expect(reactions).toEqual(["confused"]);
    expect(reply.body).toContain(
      "❌ Refused: /unhold moves **production**, which only its approvers may do. Who may do it instead: @lead. None of this comment's commands ran.",
    );
    expect(reply.body).toContain("> /hold\n\n❌ Refused: /unhold moves **production**");
    // No label was added for /hold: the strict mock has none to give.
  });
});

describe("commands that run", () => {
  it("several commands: eyes, each carried out in order, one reply quoting each, then a rocket", async () => {
    expectPermission("dev", "write");
    // /status order-service needs its history in every environment and the freezes.
    for (const env of ["staging", "production"])
      w.gh.scope
        .get(`${R}/deployments`)
        .query({ task: "deploy", per_page: "50", environment: env })
        .reply(200, env === "staging" ? [deploymentJson(5, "staging", "ghcr.io/acme/order-service:1.5.0", 11)] : []);
    w.gh.scope
      .get(`${R}/deployments/5/statuses`)
      .query({ per_page: "1" })
      .reply(200, [{ state: "success" }]);
    expectIssueList("conveyor:freeze");
    const reactions = expectReactions(2);
    w.gh.scope.post(`${R}/issues/12/labels`, { labels: ["conveyor:hold"] }).reply(200, [{ name: "conveyor:hold" }]);
    expectIssueList("conveyor:hold");
    const reply = expectReply();

    await run(comment("Holding this one.\n/hold\n/status order-service\nthanks"));

    expect(reactions).toEqual(["eyes", "rocket"]);
    const body = reply.body as string;
    expect(body).toMatch(
      /^@dev\n\n> \/hold\n\n✅ On hold: Conveyor will not merge this pull request \(label `conveyor:hold`\)\. `\/unhold` resumes it\.\n\n> \/status order-service\n\n✅ Status of order-service\.\n/,
    );
    expect(body).toContain("| order-service | staging | `ghcr.io/acme/order-service:1.5.0` | verified |");
    expect(body).not.toContain("thanks");
  });

  it("a command GitHub fails: its error is redacted in the reply and the log, the next command still runs", async () => {
    expectPermission("dev", "write");
    const reactions = expectReactions(2);
    w.gh.scope.post(`${R}/issues/12/labels`).reply(500, { message: `Server Error while checking token ${LEAKED}` });
    expectIssueList("conveyor:freeze");
    let freeze: { title: string } | undefined;
    w.gh.scope.post(`${R}/issues`, (b) => ((freeze = b), true)).reply(201, { number: 40 });
    const reply = expectReply();

    await run(comment("/hold\n/hold staging -- flaky rollout"));

    expect(reactions).toEqual(["eyes", "confused"]);
    expect(reply.body).toContain("> /hold\n\n❌ Failed: Server Error while checking token [REDACTED]");
    expect(freeze?.title).toBe("Conveyor: staging is frozen");
    expect(reply.body).toContain("> /hold staging -- flaky rollout\n\n✅ **staging** is frozen ([#40](");
    expect(reply.body).not.toContain(LEAKED);
    const failure = w.logs.find((l) => l.msg === "command failed");
    expect(failure?.level).toBe("error");
    expect(JSON.stringify(failure?.obj)).toContain("[REDACTED]");
    expect(JSON.stringify(w.logs)).not.toContain(LEAKED);
  });

  it("a command refused on its own is reported; the others run and the reaction says not all succeeded", async () => {
    expectPermission("dev", "write");
    const reactions = expectReactions(2);
    w.gh.scope.post(`${R}/issues/12/labels`, { labels: ["conveyor:hold"] }).reply(200, []);
    const reply = expectReply();
    await run(comment("/retry\n/hold"));
    expect(reactions).toEqual(["eyes", "confused"]);
    expect(reply.body).toContain("> /retry\n\n❌ Refused: /retry works on a Conveyor pull request.");
    expect(reply.body).toContain("> /hold\n\n✅ On hold");
  });

  it("on a person's merged PR, the Deployment Conveyor recorded for it says which service a command is about", async () => {
    expectPermission("dev", "write");
    const merged: CommentTarget = { ...PERSONS_PR, open: false, merged: true };
    // The subject: Conveyor's Deployments of PR #12 (newest first, one status read).
    w.gh.scope
      .get(`${R}/deployments`)
      .query({ task: "deploy", per_page: "50" })
      .reply(200, [deploymentJson(6, "staging", "ghcr.io/acme/order-service:1.5.1", 12)]);
    w.gh.scope
      .get(`${R}/deployments/6/statuses`)
      .query({ per_page: "1" })
      .reply(200, [{ state: "in_progress" }]);
    for (const env of ["staging", "production"])
      w.gh.scope
        .get(`${R}/deployments`)
        .query({ task: "deploy", per_page: "50", environment: env })
        .reply(200, env === "staging" ? [deploymentJson(6, "staging", "ghcr.io/acme/order-service:1.5.1", 12)] : []);
    w.gh.scope
      .get(`${R}/deployments/6/statuses`)
      .query({ per_page: "1" })
      .reply(200, [{ state: "in_progress" }]);
    expectIssueList("conveyor:freeze");
    expectReactions(2);
    expectIssueList("conveyor:hold");
    const reply = expectReply();

    await run(comment("/status", "dev", merged));

    expect(reply.body).toContain("✅ Status of order-service.");
    expect(reply.body).toContain("| order-service | staging | `ghcr.io/acme/order-service:1.5.1` | verifying |");
  });
});

describe("what a comment on Conveyor's own PR is about", () => {
  const move = {
    service: "order-service",
    env: "staging",
    from: "ghcr.io/acme/order-service:1.4.0",
    to: "ghcr.io/acme/order-service:1.5.0",
  };
  const conveyorPr = (marker: string): CommentTarget => ({
    kind: "pr",
    number: 14,
    open: true,
    merged: false,
    author: BOT,
    labels: ["conveyor", "env/staging"],
    body: `Conveyor deploys **order-service** to **staging**.\n\n${marker}`,
  });

  it("its signed state names the service: /status answers for it", async () => {
    expectPermission("dev", "write");
    for (const env of ["staging", "production"])
      w.gh.scope.get(`${R}/deployments`).query({ task: "deploy", per_page: "50", environment: env }).reply(200, []);
    expectIssueList("conveyor:freeze");
    expectReactions(2);
    expectIssueList("conveyor:hold");
    const reply = expectReply(14);
    await run(
      comment("/status", "dev", conveyorPr(signedStateMarker(w.services, "acme/manifests", move, "d".repeat(40)))),
    );
    expect(reply.body).toContain("✅ Status of order-service.");
  });

  it("a marker someone wrote (unsigned) is not believed: /retry is refused and nothing is re-run", async () => {
    expectPermission("dev", "write");
    const reactions = expectReactions(2);
    const reply = expectReply(14);
    await run(comment("/retry", "dev", conveyorPr(stateMarker({ ...move, to: "ghcr.io/evil/order-service:6.6.6" }))));
    expect(reactions).toEqual(["eyes", "confused"]);
    expect(reply.body).toContain("> /retry\n\n❌ Refused: /retry works on a Conveyor pull request.");
  });
});
