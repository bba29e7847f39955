// Slash commands through Probot, with strict GitHub mocks (every call stated, none unused) and a
// real bare git repo as the manifests remote.
import type { Probot } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signedMarker } from "../helpers/markers.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";
import { mockConfig, mockGitHub, mockInstallationToken, type GitHubMock } from "../helpers/github-mock.js";
import { createTestApp } from "../helpers/probot.js";
import { example, withRepo, type RepoTarget } from "../helpers/payloads.js";

const OWNER = "acme";
const REPO = "manifests";
const INSTALLATION = 4242;
const R = `/repos/${OWNER}/${REPO}`;
const CONFIG = `environments:
  - name: staging
    autoMerge: true
  - name: production
    approvers: [lead, "@acme/sre"]
`;
const IMAGE = "ghcr.io/acme/order-service:1.5.0";
const COMMENT_ID = 777;

let remote: ManifestsRemote;
let gh: GitHubMock;
let probot: Probot;
let target: RepoTarget;
let delivery = 0;

beforeEach(() => {
  remote = createManifestsRemote();
  gh = mockGitHub();
  probot = createTestApp().probot;
  target = { owner: OWNER, repo: REPO, cloneUrl: remote.url, installationId: INSTALLATION };
});

afterEach(() => remote.cleanup());

interface On {
  /** A PR (default) or an issue. */
  pr?: { merged?: boolean; open?: boolean; conveyor?: { service: string; env: string; to: string; revert?: boolean } };
  issue?: { labels: string[]; body: string };
  user?: string;
  bot?: boolean;
  action?: string;
  number?: number;
}

function comment(body: string, on: On = { pr: {} }) {
  const payload = withRepo(
    example("issue_comment", (p) => p.action === "created"),
    target,
  ) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const user = on.user ?? "dev";
  payload.action = on.action ?? "created";
  payload.sender = { ...payload.sender, login: user, type: on.bot ? "Bot" : "User" };
  payload.comment = {
    ...payload.comment,
    id: COMMENT_ID,
    body,
    user: { ...payload.comment.user, login: user, type: on.bot ? "Bot" : "User" },
    html_url: `https://github.com/${OWNER}/${REPO}/pull/1#issuecomment-${COMMENT_ID}`,
    performed_via_github_app: null,
  };
  const issue = payload.issue;
  issue.number = on.number ?? 12;
  if (on.issue) {
    delete issue.pull_request;
    issue.state = "open";
    issue.labels = on.issue.labels.map((name) => ({ name }));
    issue.body = on.issue.body;
  } else if (on.pr) {
    const c = on.pr.conveyor;
    issue.pull_request = {
      url: "",
      html_url: "",
      diff_url: "",
      patch_url: "",
      merged_at: on.pr.merged ? "2024-01-01T00:00:00Z" : null,
    };
    issue.state = on.pr.open === false || on.pr.merged ? "closed" : "open";
    issue.user = { ...issue.user, login: c ? "conveyor[bot]" : "dev", type: c ? "Bot" : "User" };
    issue.labels = c
      ? [{ name: "conveyor" }, { name: `env/${c.env}` }, ...(c.revert ? [{ name: "conveyor:revert" }] : [])]
      : [];
    issue.body = c
      ? `Conveyor deploys.\n\n${signedMarker({ service: c.service, env: c.env, from: "ghcr.io/acme/order-service:1.4.0", to: c.to }, "c".repeat(40))}`
      : "a human change";
  }
  return probot.receive({ id: `d-${++delivery}`, name: "issue_comment", payload: payload as never });
}

/** Token, config and the commenter's permission: how every accepted comment starts. */
function expectStart(permission: "admin" | "write" | "read" | "none", user = "dev") {
  mockInstallationToken(gh.scope, INSTALLATION);
  mockConfig(gh.scope, OWNER, REPO, CONFIG);
  gh.scope
    .get(`${R}/collaborators/${user}/permission`)
    .reply(200, { permission, role_name: permission, user: { login: user } });
}

function expectReactions(...contents: string[]) {
  const seen: string[] = [];
  for (const _ of contents)
    gh.scope
      .post(`${R}/issues/comments/${COMMENT_ID}/reactions`, (b: { content: string }) => (seen.push(b.content), true))
      .reply(201, {});
  return seen;
}

function expectReply(number = 12) {
  const seen: { body?: string } = {};
  gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => ((seen.body = b.body), true))
    .reply(201, { id: 1, html_url: "https://github.com/x" });
  return seen;
}

function deployment(id: number, env: string, to: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    sha: "c".repeat(40),
    environment: env,
    created_at: "2024-01-01T00:00:00Z",
    url: "",
    payload: {
      conveyor: true,
      service: "order-service",
      to,
      from: "ghcr.io/acme/order-service:1.4.0",
      base: "b".repeat(40),
      file: `services/order-service/overlays/${env}/kustomization.yaml`,
      pr: 12,
      ...extra,
    },
  };
}

function expectHistory(env: string, list: Array<{ d: ReturnType<typeof deployment>; state: string }>) {
  gh.scope
    .get(`${R}/deployments`)
    .query({ task: "deploy", per_page: "50", environment: env })
    .reply(
      200,
      list.map((x) => x.d),
    );
  for (const x of list)
    gh.scope
      .get(`${R}/deployments/${x.d.id}/statuses`)
      .query({ per_page: "1" })
      .reply(200, [{ state: x.state }]);
}

function expectFreezes(issues: Array<{ number: number; body: string }> = []) {
  gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:freeze", per_page: "100" }).reply(200, issues);
}

describe("which comments are read", () => {
  it.each([
    ["no command in it", "Looks good to me", {}],
    ["a bot wrote it", "/help", { bot: true }],
    ["it was edited", "/help", { action: "edited" }],
    ["a plain issue", "/help", { issue: { labels: [], body: "bug" } }],
    ["the command is in a code block", "```\n/rollback\n```", {}],
  ])("ignores a comment when %s: no API call", async (_name, body, on) => {
    await comment(body, { pr: {}, ...on } as On);
    expect(gh.calls()).toEqual([]);
  });
});

describe("acknowledgement and refusals", () => {
  it("/help: eyes, then rocket, and one reply that quotes the command; 5 calls", async () => {
    expectStart("write");
    const reactions = expectReactions("eyes", "rocket");
    const reply = expectReply();
    await comment("/help");
    expect(reactions).toEqual(["eyes", "rocket"]);
    expect(reply.body).toMatch(/^@dev\n\n> \/help\n\n✅ /);
    expect(reply.body).toContain("<details>");
    expect(reply.body).toContain("`/promote <env> [--force]`");
    expect(gh.calls()).toHaveLength(5);
  });

  it("a reader is refused, told who may do it, and nothing runs; no reaction spends a write", async () => {
    expectStart("read", "outsider");
    const reply = expectReply();
    await comment("/hold\n/status", { pr: {}, user: "outsider" });
    expect(reply.body).toContain("@outsider");
    expect(reply.body).toContain("> /hold");
    expect(reply.body).toContain("commands need write access to this repository; @outsider has read access");
    expect(reply.body).toContain("Who may do it instead: anyone with write access");
  });

  it("an outsider's flood is answered once an hour: 40 comments, one reply, no other write", async () => {
    expectStart("read", "outsider");
    const reply = expectReply();
    await comment("/promote production", { pr: {}, user: "outsider" });
    expect(reply.body).toContain("commands need write access");
    for (let i = 0; i < 39; i++) {
      mockConfig(gh.scope, OWNER, REPO, CONFIG);
      gh.scope
        .get(`${R}/collaborators/outsider/permission`)
        .reply(200, { permission: "read", role_name: "read", user: { login: "outsider" } });
      await comment(i % 2 ? "/promote production" : "/promte production", { pr: {}, user: "outsider" });
    }
    const writes = gh.calls().filter((c) => !c.startsWith("GET"));
    expect(writes).toEqual([`POST ${R}/issues/12/comments`]);
  });

  it("a typo gets the usage and a did-you-mean, after the permission check, and nothing runs", async () => {
    expectStart("write");
    expectReactions("confused");
    const reply = expectReply();
    await comment("/promte production");
    expect(reply.body).toContain("unknown command `promte`. Did you mean `/promote`?");
    expect(reply.body).toContain("Nothing was run");
  });

  it("requireNamespace: a bare /help is ignored after reading the config", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, `${CONFIG}commands:\n  requireNamespace: true\n`);
    await comment("/help");
  });

  it("a comment that moves a protected environment needs an approver for all its commands", async () => {
    expectStart("write");
    gh.scope.get("/orgs/acme/teams/sre/memberships/dev").reply(404, { message: "Not Found" });
    expectReactions("confused");
    const reply = expectReply();
    await comment("/hold\n/unhold production");
    expect(reply.body).toContain("/unhold moves **production**, which only its approvers may do");
    expect(reply.body).toContain("Who may do it instead: @lead, @acme/sre");
    expect(reply.body).toContain("None of this comment's commands ran");
  });
});

describe("/hold and /unhold", () => {
  it("/hold on a PR labels it conveyor:hold", async () => {
    expectStart("write");
    const reactions = expectReactions("eyes", "rocket");
    gh.scope.post(`${R}/issues/12/labels`, { labels: ["conveyor:hold"] }).reply(200, []);
    const reply = expectReply();
    await comment("/hold");
    expect(reactions).toEqual(["eyes", "rocket"]);
    expect(reply.body).toContain("On hold");
  });

  it("/hold production -- why: opens the freeze issue saying who, when and why (anyone with write may brake)", async () => {
    expectStart("write");
    expectReactions("eyes", "rocket");
    gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:freeze", per_page: "100" }).reply(200, []);
    let created: { title: string; body: string; labels: string[] } | undefined;
    gh.scope.post(`${R}/issues`, (b) => ((created = b), true)).reply(201, { number: 40 });
    const reply = expectReply();
    await comment("/hold production -- release on Monday");
    expect(created?.title).toBe("Conveyor: production is frozen");
    expect(created?.labels).toEqual(["conveyor:freeze"]);
    expect(created?.body).toContain("Frozen by: @dev");
    expect(created?.body).toMatch(/When: \d{4}-\d\d-\d\dT/);
    expect(created?.body).toContain("Why: `release on Monday`");
    expect(created?.body).toContain("<!-- conveyor:freeze:production -->");
    expect(reply.body).toContain("**production** is frozen");
  });

  it("/unhold on the freeze issue by an approver closes it and merges what waited", async () => {
    expectStart("write", "lead");
    expectReactions("eyes", "rocket");
    const freeze = { number: 40, body: "frozen\n\n<!-- conveyor:freeze:production -->" };
    gh.scope
      .get(`${R}/issues`)
      .query({ state: "open", labels: "conveyor:freeze", per_page: "100" })
      .reply(200, [freeze]);
    gh.scope.post(`${R}/issues/40/comments`).reply(201, {});
    gh.scope.patch(`${R}/issues/40`, { state: "closed", state_reason: "completed" }).reply(200, {});
    gh.scope.get(`${R}/pulls`).query({ state: "open", per_page: "100" }).reply(200, []);
    const reply = expectReply(40);
    await comment("/unhold", { issue: { labels: ["conveyor:freeze"], body: freeze.body }, user: "lead", number: 40 });
    expect(reply.body).toContain("**production** is unfrozen");
  });

  it("/unhold on a failed rollout's hold issue lifts that hold and names the open deploy PR", async () => {
    expectStart("write");
    expectReactions("eyes", "rocket");
    const hold = {
      number: 41,
      body: "The rollout failed.\n\nheld image: `ghcr.io/acme/order-service:1.5.0`\n\n<!-- conveyor:hold:order-service:staging -->",
    };
    gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:hold", per_page: "100" }).reply(200, [hold]);
    let lifted: { body: string } | undefined;
    gh.scope.post(`${R}/issues/41/comments`, (b) => ((lifted = b), true)).reply(201, {});
    gh.scope.patch(`${R}/issues/41`, { state: "closed", state_reason: "completed" }).reply(200, {});
    gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", head: `${OWNER}:conveyor/staging/order-service`, per_page: "5" })
      .reply(200, []);
    const reply = expectReply(41);
    await comment("/unhold", { issue: { labels: ["conveyor:hold"], body: hold.body }, number: 41 });
    expect(lifted?.body).toBe("Lifted by @dev with `/unhold`.");
    expect(reply.body).toContain("Resumed: lifted the hold on order-service in **staging**.");
  });

  const productionHold =
    "held image: `ghcr.io/acme/order-service:1.5.0`\n\n<!-- conveyor:hold:order-service:production -->";

  it("on a production hold issue, /unhold needs an approver of production", async () => {
    expectStart("write", "dev");
    gh.scope.get("/orgs/acme/teams/sre/memberships/dev").reply(404, { message: "Not Found" });
    expectReactions("confused");
    const reply = expectReply(42);
    await comment("/unhold", { issue: { labels: ["conveyor:hold"], body: productionHold }, number: 42 });
    expect(reply.body).toContain("moves **production**, which only its approvers may do");
    expect(reply.body).toContain("@lead, @acme/sre");
  });

  it("on a hold issue, /hold says it is held already and what would freeze the environment", async () => {
    expectStart("write", "dev");
    expectReactions("eyes", "confused");
    const reply = expectReply(42);
    await comment("/hold", { issue: { labels: ["conveyor:hold"], body: productionHold }, number: 42 });
    expect(reply.body).toContain(
      "order-service is already held in production; /hold production freezes the whole environment",
    );
  });

  it("a team approver is checked with the team membership API", async () => {
    expectStart("write", "sam");
    gh.scope.get("/orgs/acme/teams/sre/memberships/sam").reply(200, { state: "active", role: "member" });
    expectReactions("eyes", "rocket");
    gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:freeze", per_page: "100" }).reply(200, []);
    const reply = expectReply();
    await comment("/unhold production", { pr: {}, user: "sam" });
    expect(reply.body).toContain("**production** was not frozen");
  });
});

describe("/promote", () => {
  const on: On = { pr: { merged: true, conveyor: { service: "order-service", env: "staging", to: IMAGE } } };

  it("refuses an image not verified in the environment before, and says who may force it", async () => {
    expectStart("write", "lead");
    expectHistory("staging", [{ d: deployment(5, "staging", IMAGE), state: "failure" }]);
    expectFreezes();
    expectReactions("eyes", "confused");
    const reply = expectReply();
    await comment("/promote production", { ...on, user: "lead" });
    expect(reply.body).toContain("`ghcr.io/acme/order-service:1.5.0` is not verified in staging yet");
    expect(reply.body).toContain("`/promote production --force`: @lead, @acme/sre");
  });

  it("opens the production PR when staging verified the image, with the evidence", async () => {
    expectStart("write", "lead");
    expectHistory("staging", [{ d: deployment(5, "staging", IMAGE), state: "success" }]);
    expectFreezes();
    expectReactions("eyes", "rocket");
    let created: { title: string; body: string } | undefined;
    gh.scope
      .post(`${R}/pulls`, (b) => ((created = b), true))
      .reply(201, { number: 30, html_url: "", head: { sha: "x" }, body: "" });
    gh.scope.post(`${R}/issues/30/labels`, { labels: ["conveyor", "env/production"] }).reply(200, []);
    const reply = expectReply();
    await comment("/promote production", { ...on, user: "lead" });
    expect(created?.title).toBe("Deploy order-service 1.5.0 to production");
    expect(created?.body).toContain("Verified in **staging** (deployment 5, #12); promoted by /promote from @lead.");
    expect(
      remote.show("conveyor/production/order-service", "services/order-service/overlays/production/kustomization.yaml"),
    ).toContain('newTag: "1.5.0"');
    expect(reply.body).toContain("Opened [#30]");
  });

  it("--force by an approver opens it anyway and says so", async () => {
    expectStart("write", "lead");
    expectHistory("staging", []);
    expectFreezes();
    expectReactions("eyes", "rocket");
    let created: { body: string } | undefined;
    gh.scope
      .post(`${R}/pulls`, (b) => ((created = b), true))
      .reply(201, { number: 31, html_url: "", head: { sha: "x" }, body: "" });
    gh.scope.post(`${R}/issues/31/labels`).reply(200, []);
    const reply = expectReply();
    await comment("/promote production --force", { ...on, user: "lead" });
    expect(created?.body).toContain("forced by @lead");
    expect(reply.body).toContain("(forced)");
  });

  it("is refused into a frozen environment", async () => {
    expectStart("write", "lead");
    expectHistory("staging", []);
    expectFreezes([{ number: 40, body: "<!-- conveyor:freeze:production -->" }]);
    expectReactions("eyes", "confused");
    const reply = expectReply();
    await comment("/promote production", { ...on, user: "lead" });
    expect(reply.body).toContain("production is frozen; /unhold production first");
  });

  it("on a PR that is not Conveyor's, says there is nothing to promote", async () => {
    expectStart("write", "lead");
    expectFreezes();
    expectReactions("eyes", "confused");
    const reply = expectReply();
    await comment("/promote production", { pr: {}, user: "lead" });
    expect(reply.body).toContain("this pull request is not a Conveyor deploy");
  });
});

describe("/rollback, /retry, /status", () => {
  it("/rollback on a merged Conveyor PR opens the revert PR of its deployment", async () => {
    const base = remote.head("main") as string;
    const file = "services/order-service/overlays/staging/kustomization.yaml";
    const before = remote.show("main", file) as string;
    const revision = remote.commit(
      "main",
      { [file]: before.replace('newTag: "1.4.0"', 'newTag: "1.5.0"') },
      "deploy 1.5.0",
    );
    expectStart("write");
    expectHistory("staging", [
      {
        d: {
          ...deployment(5, "staging", IMAGE),
          sha: revision,
          payload: { ...deployment(5, "staging", IMAGE).payload, base },
        },
        state: "success",
      },
    ]);
    expectReactions("eyes", "rocket");
    let created: { title: string; head: string } | undefined;
    gh.scope
      .post(`${R}/pulls`, (b) => ((created = b), true))
      .reply(201, { number: 33, html_url: "", head: { sha: "x" }, body: "" });
    gh.scope.post(`${R}/issues/33/labels`, { labels: ["conveyor", "env/staging", "conveyor:revert"] }).reply(200, []);
    const reply = expectReply();
    await comment("/rollback", {
      pr: { merged: true, conveyor: { service: "order-service", env: "staging", to: IMAGE } },
    });
    expect(created?.head).toBe("conveyor/revert/staging/order-service");
    expect(remote.show("conveyor/revert/staging/order-service", file)).toBe(before);
    expect(reply.body).toContain("Opened revert [#33]");
  });

  it("/rollback <service> <env> <image> refuses an image never deployed there (approver needed for production)", async () => {
    expectStart("write", "lead");
    expectHistory("production", [{ d: deployment(8, "production", IMAGE), state: "success" }]);
    expectReactions("eyes", "confused");
    const reply = expectReply();
    await comment("/rollback order-service production ghcr.io/acme/order-service:0.9.0", { pr: {}, user: "lead" });
    expect(reply.body).toContain(
      "`ghcr.io/acme/order-service:0.9.0` was never deployed to production for order-service",
    );
  });

  it("/retry on a PR that is not Conveyor's is refused", async () => {
    expectStart("write");
    expectReactions("eyes", "confused");
    const reply = expectReply();
    await comment("/retry");
    expect(reply.body).toContain("/retry works on a Conveyor pull request");
  });

  it("/status order-service: a table per environment in a collapsed block", async () => {
    expectStart("write");
    expectHistory("staging", [{ d: deployment(5, "staging", IMAGE), state: "success" }]);
    expectHistory("production", []);
    expectFreezes([{ number: 40, body: "<!-- conveyor:freeze:production -->" }]);
    gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:hold", per_page: "100" }).reply(200, []);
    expectReactions("eyes", "rocket");
    const reply = expectReply();
    await comment("/status order-service");
    expect(reply.body).toContain(
      "| order-service | staging | `ghcr.io/acme/order-service:1.5.0` | verified | 2024-01-01T00:00:00Z ([#12](",
    );
    expect(reply.body).toContain("| order-service | production | - | - | - | frozen |");
    expect(reply.body).toContain("<details>");
  });
});
