// Who may run which slash command on what, as plain-data tables. Each row is one comment: its text,
// what it is written on, who wrote it, and what Conveyor does (or the refusal it answers with).
// The facts the planner sees are gathered the way the comment handler gathers them: from
// `requirements`, the approver lists through `approverCheck` plus a team membership table, and a
// fixed deployment history; so a row also proves that `requirements` asks for what the plan needs.
import { describe, expect, it } from "vitest";
import { parseCommands } from "../../src/core/commands.js";
import { findEnvironment, parseConfig, type Config } from "../../src/core/config.js";
import {
  approverCheck,
  historyKey,
  planCommands,
  requirements,
  type Action,
  type CommandPlan,
  type DeploymentFact,
  type Facts,
  type Permission,
  type Requirements,
  type Subject,
} from "../../src/core/command-plan.js";

const config = (raw: unknown): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
};

/** No config file: staging auto-merges, production has no approvers. */
const DEFAULT = config(null);
/** Production moves only for alice and the @acme/sre team. */
const GUARDED = config({
  environments: [
    { name: "staging", autoMerge: true },
    { name: "production", approvers: ["alice", "@acme/sre"] },
  ],
});
const CONFIGS = { default: DEFAULT, guarded: GUARDED };

/** Who is in which team (what the handler asks GitHub for an `@org/team` approver). */
const TEAMS: Record<string, string[]> = { "acme/sre": ["carol"] };

/** Repository permission of everyone who comments below. */
const PEOPLE: Record<string, Permission> = {
  alice: "write",
  ALICE: "write",
  carol: "write",
  bob: "write",
  erin: "maintain",
  dave: "admin",
};

const api = (tag: string) => `ghcr.io/acme/api:${tag}`;

function deployment(
  id: number,
  env: string,
  to: string | null,
  from: string | null,
  state: string,
  pr: number | null,
): DeploymentFact {
  return {
    id,
    sha: `sha-${id}`,
    service: "api",
    env,
    to,
    from,
    base: `base-${id}`,
    file: `services/api/overlays/${env}/kustomization.yaml`,
    pr,
    state,
    createdAt: `2025-06-01T10:${String(id % 60).padStart(2, "0")}:00Z`,
  };
}

/** What GitHub Deployments say, newest first: 1.6.0 failed in staging; production runs 1.5.0. */
const HISTORY: Record<string, DeploymentFact[]> = {
  "api/staging": [
    deployment(203, "staging", api("1.6.0"), api("1.5.0"), "failure", 14),
    deployment(202, "staging", api("1.5.0"), api("1.4.0"), "success", 12),
    deployment(201, "staging", api("1.4.0"), api("1.3.0"), "success", 11),
  ],
  "api/production": [
    deployment(303, "production", api("1.5.0"), api("1.4.0"), "success", 31),
    deployment(302, "production", api("1.4.0"), api("1.3.0"), "success", 20),
    deployment(301, "production", api("1.3.0"), null, "success", 13),
  ],
};

const conveyorPr = (
  number: number,
  state: { open: boolean; merged: boolean },
  env: string,
  to: string,
  from: string,
  kind: "deploy" | "revert" = "deploy",
): Subject => ({
  kind: "pr",
  number,
  ...state,
  conveyor: { service: "api", env, kind, to, from },
});
const OPEN = { open: true, merged: false };
const MERGED = { open: false, merged: true };
const CLOSED = { open: false, merged: false };

/** The subjects the rows comment on. */
const ON = {
  /** Conveyor's merged staging deploy of 1.5.0, verified there (deployment 202), since superseded by 1.6.0. */
  verifiedPr: conveyorPr(12, MERGED, "staging", api("1.5.0"), api("1.4.0")),
  /** Conveyor's merged staging deploy of 1.6.0, whose rollout failed (deployment 203). */
  failedPr: conveyorPr(14, MERGED, "staging", api("1.6.0"), api("1.5.0")),
  /** Conveyor's open staging deploy of 1.7.0, never deployed anywhere. */
  openPr: conveyorPr(15, OPEN, "staging", api("1.7.0"), api("1.6.0")),
  /** Conveyor's open revert of 1.6.0 in staging. */
  revertPr: conveyorPr(16, OPEN, "staging", api("1.5.0"), api("1.6.0"), "revert"),
  /** Conveyor's staging deploy of 1.7.0, closed without merging. */
  closedPr: conveyorPr(17, CLOSED, "staging", api("1.7.0"), api("1.6.0")),
  /** Conveyor's merged production deploy of 1.4.0 (deployment 302), since superseded by 1.5.0. */
  oldProductionPr: conveyorPr(20, MERGED, "production", api("1.4.0"), api("1.3.0")),
  /** A person's open PR: Conveyor knows nothing about what it changes. */
  personPr: { kind: "pr", number: 30, open: true, merged: false } as Subject,
  /** A person's merged PR that Conveyor recorded as deployment 303 (1.5.0 in production). */
  personMergedPr: {
    kind: "pr",
    number: 31,
    open: false,
    merged: true,
    conveyor: { service: "api", env: "production", kind: "deploy", to: api("1.5.0"), from: api("1.4.0") },
  } as Subject,
  /** The issue that freezes production. */
  freezeIssue: { kind: "freeze-issue", number: 40, env: "production" } as Subject,
  /** The issue that holds api in staging after 1.6.0 failed there. */
  stagingHoldIssue: { kind: "hold-issue", number: 41, service: "api", env: "staging" } as Subject,
  /** The issue that holds api in production. */
  productionHoldIssue: { kind: "hold-issue", number: 42, service: "api", env: "production" } as Subject,
} satisfies Record<string, Subject>;

interface World {
  histories?: Record<string, DeploymentFact[]>;
  frozen?: string[];
}

/** Gathers facts the way the comment handler does, then plans. */
function plan(
  body: string,
  subject: Subject,
  login: string,
  cfg: Config,
  world: World = {},
  permission: Permission = PEOPLE[login] ?? "write",
): CommandPlan {
  const parsed = parseCommands(body, { requireNamespace: cfg.commands.requireNamespace });
  expect(parsed.errors).toEqual([]);
  const needs = requirements(parsed.commands, subject, cfg);
  const facts: Facts = { histories: {}, frozen: [], approver: {} };
  if (permission === "admin" || permission === "maintain" || permission === "write") {
    for (const env of needs.approverEnvs) facts.approver[env] = isApprover(cfg, env, login);
    for (const { service, env } of needs.histories)
      facts.histories[historyKey(service, env)] = (world.histories ?? HISTORY)[historyKey(service, env)] ?? [];
    if (needs.freezes) facts.frozen = world.frozen ?? [];
  }
  return planCommands({ commands: parsed.commands, subject, config: cfg, commenter: { login, permission }, facts });
}

function isApprover(cfg: Config, env: string, login: string): boolean {
  const { direct, teams } = approverCheck(login, findEnvironment(cfg, env)?.approvers ?? []);
  return direct || teams.some((t) => (TEAMS[`${t.org}/${t.team}`] ?? []).includes(login));
}

function describeAction(action: Action): string {
  switch (action.kind) {
    case "promote":
      return `promote ${action.image} to ${action.env}${action.force ? " (forced)" : ""}`;
    case "revert":
      return `revert ${action.service} in ${action.env}: deployment ${action.deployment.id} back to ${action.target ?? "the previous overlay"}${action.originalPr !== undefined ? ` (after #${action.originalPr})` : ""}`;
    case "hold-pr":
      return `hold #${action.pr}`;
    case "unhold-pr":
      return `unhold #${action.pr}${action.service ? ` (${action.service} in ${action.env})` : ""}`;
    case "unhold-image":
      return `unhold ${action.service} in ${action.env}`;
    case "freeze":
      return `freeze ${action.env}${action.reason ? ` -- ${action.reason}` : ""}`;
    case "unfreeze":
      return `unfreeze ${action.env}`;
    case "retry-edit":
      return `retry the edit of #${action.pr}: ${action.image} to ${action.env}`;
    case "retry-verification":
      return `retry the verification of deployment ${action.deployment.id}`;
    case "status":
      return `status of ${action.service ?? "every service"}`;
    case "help":
      return "help";
  }
}

/** One line per step; a refused comment is one line starting "REFUSED COMMENT". */
function outcome(result: CommandPlan): string[] {
  if (result.kind === "refuse") return [`REFUSED COMMENT: ${result.refusal.reason}`];
  return result.steps.map((step) =>
    "action" in step ? describeAction(step.action) : `refused: ${step.refusal.reason}`,
  );
}

interface Row {
  title: string;
  body: string;
  on: Subject;
  by: string;
  permission?: Permission;
  config?: keyof typeof CONFIGS;
  world?: World;
  expected: string[];
}

/** `it.each` with "%s" prints a title whole; "$title" would clip it at 40 characters. */
const titled = <T extends { title: string }>(rows: T[]): Array<[string, T]> => rows.map((row) => [row.title, row]);

const check = (row: Row) => {
  expect(outcome(plan(row.body, row.on, row.by, CONFIGS[row.config ?? "guarded"], row.world, row.permission))).toEqual(
    row.expected,
  );
};

describe("planCommands: every verb needs write access to the repository", () => {
  const verbs: Array<{ verb: string; body: string; on: Subject; runs: string[] }> = [
    {
      verb: "/promote <env>",
      body: "/promote production",
      on: ON.verifiedPr,
      runs: [`promote ${api("1.5.0")} to production`],
    },
    {
      verb: "/rollback",
      body: "/rollback",
      on: ON.failedPr,
      runs: [`revert api in staging: deployment 203 back to ${api("1.5.0")} (after #14)`],
    },
    {
      verb: "/rollback <service> <env>",
      body: "/rollback api production",
      on: ON.personPr,
      runs: [`revert api in production: deployment 303 back to ${api("1.4.0")}`],
    },
    { verb: "/hold", body: "/hold", on: ON.openPr, runs: ["hold #15"] },
    { verb: "/hold <env>", body: "/hold production", on: ON.openPr, runs: ["freeze production"] },
    { verb: "/unhold", body: "/unhold", on: ON.openPr, runs: ["unhold #15 (api in staging)"] },
    { verb: "/unhold <env>", body: "/unhold production", on: ON.freezeIssue, runs: ["unfreeze production"] },
    { verb: "/retry", body: "/retry", on: ON.openPr, runs: [`retry the edit of #15: ${api("1.7.0")} to staging`] },
    { verb: "/status", body: "/status", on: ON.openPr, runs: ["status of api"] },
    { verb: "/help", body: "/help", on: ON.personPr, runs: ["help"] },
  ];
  const permissions: Permission[] = ["none", "read", "triage", "write", "maintain", "admin"];
  const rows: Row[] = verbs.flatMap(({ verb, body, on, runs }) =>
    permissions.map((permission): Row => {
      const allowed = permission === "write" || permission === "maintain" || permission === "admin";
      return {
        title: `${verb} by someone with ${permission} access is ${allowed ? "run" : "refused"}`,
        body,
        on,
        by: "pat",
        permission,
        config: "default",
        expected: allowed
          ? runs
          : [`REFUSED COMMENT: commands need write access to this repository; @pat has ${permission} access`],
      };
    }),
  );
  it.each(titled(rows))("%s", (_title, row) => check(row));
});

describe("planCommands: environments with approvers move only for their approvers", () => {
  const notApprover = (verb: string) => [
    `REFUSED COMMENT: ${verb} moves **production**, which only its approvers may do`,
  ];
  const rows: Row[] = [
    {
      title: "/promote production by alice, listed by login: promotes",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "alice",
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "/promote production by ALICE: logins match whatever their case",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "ALICE",
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "/promote production by carol, a member of @acme/sre: promotes",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "carol",
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "/promote production by bob, a writer who is no approver: refused",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "bob",
      expected: notApprover("/promote"),
    },
    {
      title: "/promote production by dave, a repository admin who is no approver: refused",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "dave",
      expected: notApprover("/promote"),
    },
    {
      title: "/promote staging by bob: staging has no approvers",
      body: "/promote staging",
      on: ON.verifiedPr,
      by: "bob",
      expected: [`promote ${api("1.5.0")} to staging`],
    },
    {
      title: "/rollback on a merged production change by alice: reverts it",
      body: "/rollback",
      on: ON.personMergedPr,
      by: "alice",
      expected: [`revert api in production: deployment 303 back to ${api("1.4.0")} (after #31)`],
    },
    {
      title: "/rollback on a merged production change by bob: refused",
      body: "/rollback",
      on: ON.personMergedPr,
      by: "bob",
      expected: notApprover("/rollback"),
    },
    {
      title: "/rollback production on a staging PR by bob: refused (the environment named, not the PR's)",
      body: "/rollback production",
      on: ON.verifiedPr,
      by: "bob",
      expected: notApprover("/rollback"),
    },
    {
      title: "/rollback api production by carol (@acme/sre): back to the previous verified image",
      body: "/rollback api production",
      on: ON.personPr,
      by: "carol",
      expected: [`revert api in production: deployment 303 back to ${api("1.4.0")}`],
    },
    {
      title: "/rollback api production by bob: refused",
      body: "/rollback api production",
      on: ON.personPr,
      by: "bob",
      expected: notApprover("/rollback"),
    },
    {
      title: "/rollback api staging by bob: staging has no approvers",
      body: "/rollback api staging",
      on: ON.personPr,
      by: "bob",
      expected: [`revert api in staging: deployment 203 back to ${api("1.5.0")}`],
    },
    {
      title: "/unhold production by alice: unfreezes production",
      body: "/unhold production",
      on: ON.personPr,
      by: "alice",
      expected: ["unfreeze production"],
    },
    {
      title: "/unhold production by bob: refused",
      body: "/unhold production",
      on: ON.personPr,
      by: "bob",
      expected: notApprover("/unhold"),
    },
    {
      title: "/unhold on the production freeze issue by carol: unfreezes production",
      body: "/unhold",
      on: ON.freezeIssue,
      by: "carol",
      expected: ["unfreeze production"],
    },
    {
      title: "/unhold on the production freeze issue by bob: refused",
      body: "/unhold",
      on: ON.freezeIssue,
      by: "bob",
      expected: notApprover("/unhold"),
    },
    {
      title: "/unhold on a production hold issue by alice: lifts the hold on the image",
      body: "/unhold",
      on: ON.productionHoldIssue,
      by: "alice",
      expected: ["unhold api in production"],
    },
    {
      title: "/unhold on a production hold issue by bob: refused",
      body: "/unhold",
      on: ON.productionHoldIssue,
      by: "bob",
      expected: notApprover("/unhold"),
    },
    {
      title: "/unhold on a staging hold issue by bob: staging has no approvers",
      body: "/unhold",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: ["unhold api in staging"],
    },
    {
      title: "/unhold staging by bob: staging has no approvers",
      body: "/unhold staging",
      on: ON.personPr,
      by: "bob",
      expected: ["unfreeze staging"],
    },
    {
      title: "/hold production by bob: a brake is any writer's to pull",
      body: "/hold production",
      on: ON.personPr,
      by: "bob",
      expected: ["freeze production"],
    },
    {
      title: "/hold production -- reason by bob: freezes with the reason",
      body: "/hold production -- release on Monday",
      on: ON.personPr,
      by: "bob",
      expected: ["freeze production -- release on Monday"],
    },
    {
      title: "/hold on the production freeze issue by bob: freezes production (again)",
      body: "/hold",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["freeze production"],
    },
    {
      title: "/hold on a Conveyor PR into production by bob: holds the PR",
      body: "/hold",
      on: conveyorPr(21, OPEN, "production", api("1.5.0"), api("1.4.0")),
      by: "bob",
      expected: ["hold #21"],
    },
    {
      title:
        "/unhold on a Conveyor PR into production by bob: refused (it would lift production's failed-rollout hold)",
      body: "/unhold",
      on: conveyorPr(21, OPEN, "production", api("1.5.0"), api("1.4.0")),
      by: "bob",
      expected: notApprover("/unhold"),
    },
    {
      title: "/unhold on a Conveyor PR into production by alice: resumes the PR and lifts its hold",
      body: "/unhold",
      on: conveyorPr(21, OPEN, "production", api("1.5.0"), api("1.4.0")),
      by: "alice",
      expected: ["unhold #21 (api in production)"],
    },
    {
      title: "/retry on a Conveyor PR into production by bob: refused (it moves production again)",
      body: "/retry",
      on: conveyorPr(21, OPEN, "production", api("1.5.0"), api("1.4.0")),
      by: "bob",
      expected: notApprover("/retry"),
    },
  ];
  it.each(titled(rows))("%s", (_title, row) => check(row));
});

describe("planCommands: /promote needs a verified Deployment in the previous environment, or --force from an approver", () => {
  const rows: Row[] = [
    {
      title: "verified in staging (deployment 202): promotes",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "bob",
      config: "default",
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "a person's merged change Conveyor recorded: promotes what it deployed",
      body: "/promote production",
      on: ON.personMergedPr,
      by: "bob",
      config: "default",
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "its staging rollout failed: refused",
      body: "/promote production",
      on: ON.failedPr,
      by: "bob",
      config: "default",
      expected: [`refused: \`${api("1.6.0")}\` is not verified in staging yet (no successful deployment of it there)`],
    },
    {
      title: "never deployed to staging (an open PR): refused",
      body: "/promote production",
      on: ON.openPr,
      by: "bob",
      config: "default",
      expected: [`refused: \`${api("1.7.0")}\` is not verified in staging yet (no successful deployment of it there)`],
    },
    {
      title: "its staging Deployment is still in progress: refused",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "bob",
      config: "default",
      world: {
        histories: { "api/staging": [deployment(202, "staging", api("1.5.0"), api("1.4.0"), "in_progress", 12)] },
      },
      expected: [`refused: \`${api("1.5.0")}\` is not verified in staging yet (no successful deployment of it there)`],
    },
    {
      title: "verified only in production, not in staging: refused",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "bob",
      config: "default",
      world: { histories: { "api/staging": [], "api/production": HISTORY["api/production"] as DeploymentFact[] } },
      expected: [`refused: \`${api("1.5.0")}\` is not verified in staging yet (no successful deployment of it there)`],
    },
    {
      title: "verified in staging once, failed there on a later rollout: still promotes on the older success",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "bob",
      config: "default",
      world: {
        histories: {
          "api/staging": [
            deployment(204, "staging", api("1.5.0"), api("1.4.0"), "failure", 12),
            deployment(202, "staging", api("1.5.0"), api("1.4.0"), "success", 12),
          ],
        },
      },
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "production is frozen: refused, even when verified",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "alice",
      world: { frozen: ["production"] },
      expected: ["refused: production is frozen; /unhold production first"],
    },
    {
      title: "production is frozen: refused, even with --force",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "alice",
      world: { frozen: ["production"] },
      expected: ["refused: production is frozen; /unhold production first"],
    },
    {
      title: "another environment is frozen: promotes",
      body: "/promote production",
      on: ON.verifiedPr,
      by: "alice",
      world: { frozen: ["staging"] },
      expected: [`promote ${api("1.5.0")} to production`],
    },
    {
      title: "--force by alice (approver by login): promotes unverified",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "alice",
      expected: [`promote ${api("1.6.0")} to production (forced)`],
    },
    {
      title: "--force by carol (@acme/sre): promotes unverified",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "carol",
      expected: [`promote ${api("1.6.0")} to production (forced)`],
    },
    {
      title: "--force by bob (no approver): the comment is refused",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "bob",
      expected: ["REFUSED COMMENT: /promote moves **production**, which only its approvers may do"],
    },
    {
      title: "--force by dave (admin, no approver): the comment is refused",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "dave",
      expected: ["REFUSED COMMENT: /promote moves **production**, which only its approvers may do"],
    },
    {
      title: "without --force, not even an approver promotes unverified",
      body: "/promote production",
      on: ON.failedPr,
      by: "alice",
      expected: [`refused: \`${api("1.6.0")}\` is not verified in staging yet (no successful deployment of it there)`],
    },
    {
      title: "no approvers configured: --force by an admin promotes unverified",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "dave",
      config: "default",
      expected: [`promote ${api("1.6.0")} to production (forced)`],
    },
    {
      title: "no approvers configured: --force by a maintainer is refused",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "erin",
      config: "default",
      expected: [
        `refused: \`${api("1.6.0")}\` is not verified in staging, and only approvers of production may force it`,
      ],
    },
    {
      title: "no approvers configured: --force by a writer is refused",
      body: "/promote production --force",
      on: ON.failedPr,
      by: "bob",
      config: "default",
      expected: [
        `refused: \`${api("1.6.0")}\` is not verified in staging, and only approvers of production may force it`,
      ],
    },
    {
      title: "--force on a verified image: promotes (the flag changes nothing)",
      body: "/promote production --force",
      on: ON.verifiedPr,
      by: "bob",
      config: "default",
      expected: [`promote ${api("1.5.0")} to production (forced)`],
    },
    {
      title: "the first environment has no previous one: promotes without evidence",
      body: "/promote staging",
      on: ON.openPr,
      by: "bob",
      expected: [`promote ${api("1.7.0")} to staging`],
    },
    {
      title: "an unknown environment: refused with the list",
      body: "/promote prod",
      on: ON.verifiedPr,
      by: "bob",
      expected: ["refused: prod is not an environment here (environments: staging, production)"],
    },
  ];
  it.each(titled(rows))("%s", (_title, row) => check(row));

  it.each(
    [
      {
        title: "verified: the evidence names the deployment, the PR and who promoted",
        body: "/promote production",
        on: ON.verifiedPr,
        by: "alice",
        evidence: "Verified in **staging** (deployment 202, #12); promoted by /promote from @alice.",
      },
      {
        title: "verified, the flag given anyway: the evidence is still the verification",
        body: "/promote production --force",
        on: ON.verifiedPr,
        by: "alice",
        evidence: "Verified in **staging** (deployment 202, #12); promoted by /promote from @alice.",
      },
      {
        title: "forced: the evidence says it was not verified and who forced it",
        body: "/promote production --force",
        on: ON.failedPr,
        by: "carol",
        evidence: "Not verified in **staging**: forced by @carol with /promote production --force.",
      },
      {
        title: "the first environment: no evidence",
        body: "/promote staging",
        on: ON.openPr,
        by: "alice",
        evidence: undefined,
      },
    ].map((row) => [row.title, row] as const),
  )("evidence for the promotion PR, %s", (_title, { body, on, by, evidence }) => {
    const result = plan(body, on, by, GUARDED);
    expect(result.kind).toBe("run");
    if (result.kind !== "run") return;
    const step = result.steps[0];
    expect(step && "action" in step && step.action.kind === "promote" ? step.action.evidence : "not a promotion").toBe(
      evidence,
    );
  });
});

describe("planCommands: what a command does depends on what it is written on", () => {
  const rows: Row[] = [
    // An open Conveyor PR.
    { title: "open Conveyor PR, /hold: holds the PR", body: "/hold", on: ON.openPr, by: "bob", expected: ["hold #15"] },
    {
      title: "open Conveyor PR, /unhold: resumes the PR and names its change",
      body: "/unhold",
      on: ON.openPr,
      by: "bob",
      expected: ["unhold #15 (api in staging)"],
    },
    {
      title: "open Conveyor PR, /rollback: refused, close it instead",
      body: "/rollback",
      on: ON.openPr,
      by: "bob",
      expected: ["refused: this pull request is not merged; close it instead of rolling it back"],
    },
    {
      title: "open Conveyor PR, /status: the PR's service",
      body: "/status",
      on: ON.openPr,
      by: "bob",
      expected: ["status of api"],
    },
    {
      title: "open Conveyor PR, /status web: the service named",
      body: "/status web",
      on: ON.openPr,
      by: "bob",
      expected: ["status of web"],
    },
    // A merged Conveyor PR.
    {
      title: "merged Conveyor PR, /rollback: reverts its deployment to the image before it",
      body: "/rollback",
      on: ON.failedPr,
      by: "bob",
      expected: [`revert api in staging: deployment 203 back to ${api("1.5.0")} (after #14)`],
    },
    {
      title: "merged Conveyor PR that staging moved on from, /rollback: refused, names the other form",
      body: "/rollback",
      on: ON.verifiedPr,
      by: "bob",
      expected: [
        `refused: staging has moved on since (it runs \`${api("1.6.0")}\`); use /rollback api staging [<image>]`,
      ],
    },
    {
      title: "merged Conveyor PR that production moved on from, /rollback by an approver: refused",
      body: "/rollback",
      on: ON.oldProductionPr,
      by: "alice",
      expected: [
        `refused: production has moved on since (it runs \`${api("1.5.0")}\`); use /rollback api production [<image>]`,
      ],
    },
    {
      title: "merged staging PR, /rollback production: reverts production if it runs that image",
      body: "/rollback production",
      on: ON.verifiedPr,
      by: "alice",
      expected: [`revert api in production: deployment 303 back to ${api("1.4.0")} (after #31)`],
    },
    {
      title: "merged staging PR, /rollback production of an image production never ran: refused",
      body: "/rollback production",
      on: ON.failedPr,
      by: "alice",
      expected: [`refused: \`${api("1.6.0")}\` was never deployed to production`],
    },
    {
      title: "merged Conveyor PR, /hold: refused, it is closed",
      body: "/hold",
      on: ON.failedPr,
      by: "bob",
      expected: ["refused: this pull request is closed; there is nothing to hold"],
    },
    {
      title: "merged Conveyor PR, /unhold: refused, it is closed",
      body: "/unhold",
      on: ON.failedPr,
      by: "bob",
      expected: ["refused: this pull request is closed; there is nothing to hold"],
    },
    {
      title: "closed, unmerged Conveyor PR, /hold: refused",
      body: "/hold",
      on: ON.closedPr,
      by: "bob",
      expected: ["refused: this pull request is closed; there is nothing to hold"],
    },
    {
      title: "closed, unmerged Conveyor PR, /rollback: refused, nothing was merged",
      body: "/rollback",
      on: ON.closedPr,
      by: "bob",
      expected: ["refused: this pull request is not merged; close it instead of rolling it back"],
    },
    // A revert PR.
    {
      title: "revert PR, /promote: refused, reverts are not promoted",
      body: "/promote production",
      on: ON.revertPr,
      by: "alice",
      expected: ["refused: a revert is not promoted"],
    },
    {
      title: "revert PR, /rollback: refused, it is already a revert",
      body: "/rollback",
      on: ON.revertPr,
      by: "bob",
      expected: ["refused: this is already a revert"],
    },
    { title: "revert PR, /hold: holds the PR", body: "/hold", on: ON.revertPr, by: "bob", expected: ["hold #16"] },
    // A person's PR.
    {
      title: "a person's open PR, /hold: holds the PR",
      body: "/hold",
      on: ON.personPr,
      by: "bob",
      expected: ["hold #30"],
    },
    {
      title: "a person's open PR, /unhold: resumes the PR",
      body: "/unhold",
      on: ON.personPr,
      by: "bob",
      expected: ["unhold #30"],
    },
    {
      title: "a person's open PR, /promote: refused, it names no image",
      body: "/promote staging",
      on: ON.personPr,
      by: "bob",
      expected: ["refused: this pull request is not a Conveyor deploy, so it names no image to promote"],
    },
    {
      title: "a person's open PR, /rollback: refused, asks for service and environment",
      body: "/rollback",
      on: ON.personPr,
      by: "bob",
      expected: ["refused: on this pull request, name what to roll back: /rollback <service> <env> [<image>]"],
    },
    {
      title: "a person's open PR, /rollback api staging: back to the last verified image",
      body: "/rollback api staging",
      on: ON.personPr,
      by: "bob",
      expected: [`revert api in staging: deployment 203 back to ${api("1.5.0")}`],
    },
    {
      title: "a person's open PR, /rollback to a named image",
      body: `/rollback api production ${api("1.3.0")}`,
      on: ON.personPr,
      by: "alice",
      expected: [`revert api in production: deployment 303 back to ${api("1.3.0")}`],
    },
    {
      title: "a person's open PR, /rollback to a named image whose rollout failed: goes back to it",
      body: `/rollback api staging ${api("1.6.0")}`,
      on: ON.personPr,
      by: "bob",
      world: {
        histories: {
          "api/staging": [
            deployment(204, "staging", api("1.7.0"), api("1.6.0"), "success", 15),
            ...(HISTORY["api/staging"] as DeploymentFact[]),
          ],
        },
      },
      expected: [`revert api in staging: deployment 204 back to ${api("1.6.0")}`],
    },
    {
      title: "a person's open PR, /rollback to the image already running: refused",
      body: `/rollback api production ${api("1.5.0")}`,
      on: ON.personPr,
      by: "alice",
      expected: [`refused: production already runs \`${api("1.5.0")}\``],
    },
    {
      title: "a person's open PR, /rollback to an image never deployed: refused",
      body: `/rollback api production ${api("9.9.9")}`,
      on: ON.personPr,
      by: "alice",
      expected: [`refused: \`${api("9.9.9")}\` was never deployed to production for api`],
    },
    {
      title: "a person's open PR, /rollback of a service never deployed: refused",
      body: "/rollback web staging",
      on: ON.personPr,
      by: "bob",
      expected: ["refused: Conveyor has no record of deploying web to staging"],
    },
    {
      title: "a person's open PR, /rollback with no earlier verified image: refused",
      body: "/rollback api staging",
      on: ON.personPr,
      by: "bob",
      world: {
        histories: {
          "api/staging": [
            deployment(203, "staging", api("1.6.0"), api("1.5.0"), "failure", 14),
            deployment(202, "staging", api("1.5.0"), api("1.4.0"), "failure", 12),
          ],
        },
      },
      expected: ["refused: no earlier verified image of api in staging to go back to"],
    },
    {
      title: "a person's open PR, /status: every service",
      body: "/status",
      on: ON.personPr,
      by: "bob",
      expected: ["status of every service"],
    },
    {
      title: "a person's merged PR Conveyor recorded, /rollback: reverts the recorded deployment",
      body: "/rollback",
      on: ON.personMergedPr,
      by: "alice",
      expected: [`revert api in production: deployment 303 back to ${api("1.4.0")} (after #31)`],
    },
    // The freeze issue.
    {
      title: "freeze issue, /unhold (approver): unfreezes its environment",
      body: "/unhold",
      on: ON.freezeIssue,
      by: "alice",
      expected: ["unfreeze production"],
    },
    {
      title: "freeze issue, /hold: freezes its environment",
      body: "/hold",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["freeze production"],
    },
    {
      title: "freeze issue, /unhold staging: unfreezes the environment named",
      body: "/unhold staging",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["unfreeze staging"],
    },
    {
      title: "freeze issue, /promote: refused, it is no PR",
      body: "/promote staging",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["refused: /promote works on a Conveyor pull request or a merged change"],
    },
    {
      title: "freeze issue, /rollback: refused, asks for service and environment",
      body: "/rollback",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["refused: on this pull request, name what to roll back: /rollback <service> <env> [<image>]"],
    },
    {
      title: "freeze issue, /retry: refused",
      body: "/retry",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["refused: /retry works on a Conveyor pull request"],
    },
    {
      title: "freeze issue, /status: every service",
      body: "/status",
      on: ON.freezeIssue,
      by: "bob",
      expected: ["status of every service"],
    },
    // The hold issue.
    {
      title: "hold issue, /unhold: lifts the hold on the image",
      body: "/unhold",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: ["unhold api in staging"],
    },
    {
      title: "hold issue, /hold: refused, points at /hold <env>",
      body: "/hold",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: ["refused: api is already held in staging; /hold staging freezes the whole environment"],
    },
    {
      title: "hold issue, /hold staging: freezes the environment",
      body: "/hold staging",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: ["freeze staging"],
    },
    {
      title: "hold issue, /unhold staging: unfreezes staging and leaves the image held",
      body: "/unhold staging",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: ["unfreeze staging"],
    },
    {
      title: "hold issue, /rollback api staging: reverts",
      body: "/rollback api staging",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: [`revert api in staging: deployment 203 back to ${api("1.5.0")}`],
    },
    {
      title: "hold issue, /status: every service (not just the held one)",
      body: "/status",
      on: ON.stagingHoldIssue,
      by: "bob",
      expected: ["status of every service"],
    },
    { title: "hold issue, /help", body: "/help", on: ON.stagingHoldIssue, by: "bob", expected: ["help"] },
  ];
  it.each(titled(rows))("%s", (_title, row) => check(row));
});

describe("planCommands: /retry re-runs the edit of an open PR, or the failed verification of a merged one", () => {
  const staging = (...deployments: DeploymentFact[]): World => ({ histories: { "api/staging": deployments } });
  const rows: Row[] = [
    {
      title: "open Conveyor deploy PR: re-runs the edit",
      body: "/retry",
      on: ON.openPr,
      by: "bob",
      expected: [`retry the edit of #15: ${api("1.7.0")} to staging`],
    },
    {
      title: "merged PR whose verification failed: re-runs the verification",
      body: "/retry",
      on: ON.failedPr,
      by: "bob",
      expected: ["retry the verification of deployment 203"],
    },
    {
      title: "merged PR whose verification errored: re-runs the verification",
      body: "/retry",
      on: ON.failedPr,
      by: "bob",
      world: staging(deployment(203, "staging", api("1.6.0"), api("1.5.0"), "error", 14)),
      expected: ["retry the verification of deployment 203"],
    },
    {
      title: "merged PR that was verified: refused",
      body: "/retry",
      on: ON.verifiedPr,
      by: "bob",
      expected: ["refused: the last verification of this change is success, not failed"],
    },
    {
      title: "merged PR still being verified: refused",
      body: "/retry",
      on: ON.failedPr,
      by: "bob",
      world: staging(deployment(203, "staging", api("1.6.0"), api("1.5.0"), "in_progress", 14)),
      expected: ["refused: the last verification of this change is in_progress, not failed"],
    },
    {
      title: "merged PR verified after a failed attempt: the newest Deployment decides, refused",
      body: "/retry",
      on: ON.failedPr,
      by: "bob",
      world: staging(
        deployment(205, "staging", api("1.6.0"), api("1.5.0"), "success", 14),
        deployment(203, "staging", api("1.6.0"), api("1.5.0"), "failure", 14),
      ),
      expected: ["refused: the last verification of this change is success, not failed"],
    },
    {
      title: "merged PR whose retry failed again: re-runs the newest Deployment",
      body: "/retry",
      on: ON.failedPr,
      by: "bob",
      world: staging(
        deployment(205, "staging", api("1.6.0"), api("1.5.0"), "failure", 14),
        deployment(203, "staging", api("1.6.0"), api("1.5.0"), "failure", 14),
      ),
      expected: ["retry the verification of deployment 205"],
    },
    {
      title: "merged PR with no Deployment recorded: refused",
      body: "/retry",
      on: ON.failedPr,
      by: "bob",
      world: staging(),
      expected: ["refused: nothing has failed on this pull request that Conveyor can re-run"],
    },
    {
      title: "closed, unmerged Conveyor PR: refused",
      body: "/retry",
      on: ON.closedPr,
      by: "bob",
      expected: ["refused: nothing has failed on this pull request that Conveyor can re-run"],
    },
    {
      title: "open revert PR: refused (only deploy PRs re-run their edit)",
      body: "/retry",
      on: ON.revertPr,
      by: "bob",
      expected: ["refused: nothing has failed on this pull request that Conveyor can re-run"],
    },
    {
      title: "merged revert PR whose verification failed: re-runs the verification",
      body: "/retry",
      on: conveyorPr(16, MERGED, "staging", api("1.5.0"), api("1.6.0"), "revert"),
      by: "bob",
      world: staging(deployment(204, "staging", api("1.5.0"), api("1.6.0"), "failure", 16)),
      expected: ["retry the verification of deployment 204"],
    },
    {
      title: "a person's open PR: refused",
      body: "/retry",
      on: ON.personPr,
      by: "bob",
      expected: ["refused: /retry works on a Conveyor pull request"],
    },
  ];
  it.each(titled(rows))("%s", (_title, row) => check(row));
});

describe("planCommands: a comment needs the highest permission among its commands, or none of them runs", () => {
  const rows: Row[] = [
    {
      title: "bob: /hold production with /promote production: nothing runs, not even the brake",
      body: "/hold production\n/promote production",
      on: ON.verifiedPr,
      by: "bob",
      expected: ["REFUSED COMMENT: /promote moves **production**, which only its approvers may do"],
    },
    {
      title: "bob: /help, /status and /rollback api production: nothing runs",
      body: "/help\n/status\n/rollback api production",
      on: ON.verifiedPr,
      by: "bob",
      expected: ["REFUSED COMMENT: /rollback moves **production**, which only its approvers may do"],
    },
    {
      title: "alice: /help, /status and /rollback api production: all run, in order",
      body: "/help\n/status\n/rollback api production",
      on: ON.verifiedPr,
      by: "alice",
      expected: ["help", "status of api", `revert api in production: deployment 303 back to ${api("1.4.0")}`],
    },
    {
      title: "bob: commands that need no approver all run",
      body: "/hold staging\n/rollback api staging\n/status",
      on: ON.personPr,
      by: "bob",
      expected: [
        "freeze staging",
        `revert api in staging: deployment 203 back to ${api("1.5.0")}`,
        "status of every service",
      ],
    },
    {
      title: "bob: the first command that needs an approver names the refusal",
      body: "/unhold production\n/promote production",
      on: ON.verifiedPr,
      by: "bob",
      expected: ["REFUSED COMMENT: /unhold moves **production**, which only its approvers may do"],
    },
    {
      title: "a triage user: /help alone is refused",
      body: "/help",
      on: ON.personPr,
      by: "tina",
      permission: "triage",
      expected: ["REFUSED COMMENT: commands need write access to this repository; @tina has triage access"],
    },
    {
      title: "alice: a command refused on its own merits does not stop the others",
      body: "/promote production\n/promote prod\n/rollback",
      on: ON.verifiedPr,
      by: "alice",
      expected: [
        `promote ${api("1.5.0")} to production`,
        "refused: prod is not an environment here (environments: staging, production)",
        `refused: staging has moved on since (it runs \`${api("1.6.0")}\`); use /rollback api staging [<image>]`,
      ],
    },
    {
      title: "no approvers configured, a maintainer: --force is refused alone, the rest runs",
      body: "/hold staging\n/promote production --force",
      on: ON.failedPr,
      by: "erin",
      config: "default",
      expected: [
        "freeze staging",
        `refused: \`${api("1.6.0")}\` is not verified in staging, and only approvers of production may force it`,
      ],
    },
    {
      title: "alice: /hold production then /promote production: the freeze is not yet a fact, both run",
      body: "/hold production\n/promote production",
      on: ON.verifiedPr,
      by: "alice",
      expected: ["freeze production", `promote ${api("1.5.0")} to production`],
    },
    {
      title: "bob: a namespaced command is named by its first word in the refusal",
      body: "/conveyor promote production",
      on: ON.verifiedPr,
      by: "bob",
      expected: ["REFUSED COMMENT: /conveyor moves **production**, which only its approvers may do"],
    },
  ];
  it.each(titled(rows))("%s", (_title, row) => check(row));

  it.each(
    [
      {
        title: "too little repository access: anyone with write access",
        body: "/help",
        by: "tina",
        permission: "read" as Permission,
        who: "anyone with write access",
      },
      {
        title: "not an approver: the approvers, logins with @",
        body: "/promote production",
        by: "bob",
        permission: "write" as Permission,
        who: "@alice, @acme/sre",
      },
    ].map((row) => [row.title, row] as const),
  )("a refused comment says who may do it instead: %s", (_title, { body, by, permission, who }) => {
    const result = plan(body, ON.verifiedPr, by, GUARDED, {}, permission);
    expect(result).toMatchObject({ kind: "refuse", required: "write", refusal: { who } });
  });

  it.each(
    [
      {
        title: "with approvers",
        cfg: GUARDED,
        by: "alice",
        who: "an approver of production, with `/promote production --force`: @alice, @acme/sre",
      },
      {
        title: "without approvers",
        cfg: DEFAULT,
        by: "bob",
        who: "an approver of production, with `/promote production --force`: a repository admin",
      },
    ].map((row) => [row.title, row] as const),
  )("an unverified /promote says who may force it, %s", (_title, { cfg, by, who }) => {
    const result = plan("/promote production", ON.failedPr, by, cfg);
    expect(result.kind === "run" ? result.steps[0] : result).toMatchObject({ refusal: { who } });
  });
});

describe("planCommands: a rollback reverts to the state the target image was deployed at", () => {
  it("/rollback <service> <env> reverts the newest deployment, based where the target was deployed", () => {
    const result = plan("/rollback api production", ON.personPr, "alice", GUARDED);
    const step = result.kind === "run" ? result.steps[0] : undefined;
    expect(step && "action" in step ? step.action : step).toEqual({
      kind: "revert",
      service: "api",
      env: "production",
      deployment: { ...HISTORY["api/production"]?.[0], from: api("1.4.0"), base: "sha-302" },
      target: api("1.4.0"),
    });
  });
});

describe("requirements: the handler fetches only what the plan needs", () => {
  const rows: Array<{
    title: string;
    body: string;
    on: Subject;
    config?: keyof typeof CONFIGS;
    expected: Requirements;
  }> = [
    {
      title: "/help needs nothing",
      body: "/help",
      on: ON.verifiedPr,
      expected: { histories: [], approverEnvs: [], freezes: false },
    },
    {
      title: "/hold production needs nothing, not even where approvers exist",
      body: "/hold production",
      on: ON.verifiedPr,
      expected: { histories: [], approverEnvs: [], freezes: false },
    },
    {
      title: "/promote production: the previous environment's history, the approvers, the freezes",
      body: "/promote production",
      on: ON.verifiedPr,
      expected: { histories: [{ service: "api", env: "staging" }], approverEnvs: ["production"], freezes: true },
    },
    {
      title: "/promote production without approvers: no approver check",
      body: "/promote production",
      on: ON.verifiedPr,
      config: "default",
      expected: { histories: [{ service: "api", env: "staging" }], approverEnvs: [], freezes: true },
    },
    {
      title: "/promote production --force without approvers: asks anyway",
      body: "/promote production --force",
      on: ON.verifiedPr,
      config: "default",
      expected: { histories: [{ service: "api", env: "staging" }], approverEnvs: ["production"], freezes: true },
    },
    {
      title: "/promote staging (first environment): no history",
      body: "/promote staging",
      on: ON.verifiedPr,
      expected: { histories: [], approverEnvs: [], freezes: true },
    },
    {
      title: "/promote on a person's PR: no history (no change to look up)",
      body: "/promote production",
      on: ON.personPr,
      expected: { histories: [], approverEnvs: ["production"], freezes: true },
    },
    {
      title: "/rollback on a merged PR: its environment's history",
      body: "/rollback",
      on: ON.failedPr,
      expected: { histories: [{ service: "api", env: "staging" }], approverEnvs: [], freezes: false },
    },
    {
      title: "/rollback production on a staging PR: production's history and approvers",
      body: "/rollback production",
      on: ON.failedPr,
      expected: { histories: [{ service: "api", env: "production" }], approverEnvs: ["production"], freezes: false },
    },
    {
      title: "/rollback web production: the named service's history",
      body: "/rollback web production",
      on: ON.failedPr,
      expected: { histories: [{ service: "web", env: "production" }], approverEnvs: ["production"], freezes: false },
    },
    {
      title: "/rollback api prod: an unknown environment needs nothing",
      body: "/rollback api prod",
      on: ON.personPr,
      expected: { histories: [], approverEnvs: [], freezes: false },
    },
    {
      title: "/retry: the PR's environment history",
      body: "/retry",
      on: ON.failedPr,
      expected: { histories: [{ service: "api", env: "staging" }], approverEnvs: [], freezes: false },
    },
    {
      title: "/retry on a person's PR: nothing",
      body: "/retry",
      on: ON.personPr,
      expected: { histories: [], approverEnvs: [], freezes: false },
    },
    {
      title: "/status on a Conveyor PR: every environment of its service, and the freezes",
      body: "/status",
      on: ON.failedPr,
      expected: {
        histories: [
          { service: "api", env: "staging" },
          { service: "api", env: "production" },
        ],
        approverEnvs: [],
        freezes: true,
      },
    },
    {
      title: "/status web: every environment of web",
      body: "/status web",
      on: ON.personPr,
      expected: {
        histories: [
          { service: "web", env: "staging" },
          { service: "web", env: "production" },
        ],
        approverEnvs: [],
        freezes: true,
      },
    },
    {
      title: "/status on a freeze issue: only the freezes",
      body: "/status",
      on: ON.freezeIssue,
      expected: { histories: [], approverEnvs: [], freezes: true },
    },
    {
      title: "/unhold on the production freeze issue: the approvers",
      body: "/unhold",
      on: ON.freezeIssue,
      expected: { histories: [], approverEnvs: ["production"], freezes: false },
    },
    {
      title: "/unhold on a production hold issue: the approvers",
      body: "/unhold",
      on: ON.productionHoldIssue,
      expected: { histories: [], approverEnvs: ["production"], freezes: false },
    },
    {
      title: "/unhold on a production PR: its approvers (it lifts production's hold)",
      body: "/unhold",
      on: conveyorPr(21, OPEN, "production", api("1.5.0"), api("1.4.0")),
      expected: { histories: [], approverEnvs: ["production"], freezes: false },
    },
    {
      title: "several commands: each history and approver check once",
      body: "/status\n/promote production\n/rollback\n/retry\n/rollback api production",
      on: ON.failedPr,
      expected: {
        histories: [
          { service: "api", env: "staging" },
          { service: "api", env: "production" },
        ],
        approverEnvs: ["production"],
        freezes: true,
      },
    },
  ];
  it.each(titled(rows))("%s", (_title, { body, on, config: name, expected }) => {
    const { commands, errors } = parseCommands(body);
    expect(errors).toEqual([]);
    expect(requirements(commands, on, CONFIGS[name ?? "guarded"])).toEqual(expected);
  });
});

describe("approverCheck: logins match directly, @org/team entries become team look-ups", () => {
  it.each(
    [
      { title: "a listed login", login: "alice", approvers: ["alice"], direct: true, teams: [] },
      { title: "a listed login in another case", login: "Alice", approvers: ["ALICE"], direct: true, teams: [] },
      { title: "an unlisted login", login: "bob", approvers: ["alice"], direct: false, teams: [] },
      {
        title: "a team is looked up, not matched as a login",
        login: "carol",
        approvers: ["@acme/sre"],
        direct: false,
        teams: [{ org: "acme", team: "sre" }],
      },
      {
        title: "a login equal to the team's org is no approver",
        login: "acme",
        approvers: ["@acme/sre"],
        direct: false,
        teams: [{ org: "acme", team: "sre" }],
      },
      {
        title: "a login equal to the team's name is no approver",
        login: "sre",
        approvers: ["@acme/sre"],
        direct: false,
        teams: [{ org: "acme", team: "sre" }],
      },
      {
        title: "logins and teams mixed, in order",
        login: "alice",
        approvers: ["@acme/sre", "alice", "@acme/release-managers"],
        direct: true,
        teams: [
          { org: "acme", team: "sre" },
          { org: "acme", team: "release-managers" },
        ],
      },
      { title: "no approvers", login: "alice", approvers: [], direct: false, teams: [] },
    ].map((row) => [row.title, row] as const),
  )("%s", (_title, { login, approvers, direct, teams }) => {
    expect(approverCheck(login, approvers)).toEqual({ direct, teams });
  });

  it("reads the approvers as parseConfig accepts them", () => {
    expect(approverCheck("carol", findEnvironment(GUARDED, "production")?.approvers ?? [])).toEqual({
      direct: false,
      teams: [{ org: "acme", team: "sre" }],
    });
  });
});

describe("historyKey", () => {
  it.each([
    ["api", "staging", "api/staging"],
    ["order-service", "production", "order-service/production"],
  ])("%s in %s is %s", (service, env, key) => {
    expect(historyKey(service, env)).toBe(key);
  });
});
