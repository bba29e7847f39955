// The sandbox's demo: what a person would see happen, as a timeline. It acts only the way people
// and CI do (a dispatch, a review, a merge); everything else is Conveyor reacting to webhooks.
import { Octokit } from "@octokit/rest";
import type { WebhookDelivery } from "./forge/index.js";
import { OWNER, REPO, type World } from "./world.js";
import { runChatOpsScenario } from "./scenario-chatops.js";

export interface Narrator {
  (line: string): void;
}

type Pull = {
  number: number;
  title: string;
  body?: string | null;
  html_url: string;
  head: { sha: string; ref: string };
  merged?: boolean;
};

export async function runScenario(world: World, say: Narrator): Promise<void> {
  const started = Date.now();
  const stamp = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  const line = (text: string) => say(`${stamp()}  ${text}`);
  const ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  const reviewer = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.reviewer });
  const repo = { owner: OWNER, repo: REPO };
  const stopNarrating = narrateEvents(world, line);

  try {
    const service = world.serviceRepos["order-service"];
    const source = (sha: string) =>
      service
        ? { repository: service.repository, sha, run_url: `${world.forge.webUrl}/${service.repository}/actions/runs/1` }
        : undefined;
    const tip = service?.commits[service.commits.length - 1]?.sha;
    line(
      `CI of order-service finished: dispatching deploy {image: ghcr.io/acme/order-service:1.5.0${tip ? `, source: ${service?.repository}@${tip.slice(0, 7)}` : ""}}`,
    );
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy",
      client_payload: {
        service: "order-service",
        image: "ghcr.io/acme/order-service:1.5.0",
        ...(tip ? { source: source(tip) } : {}),
      },
    });
    await deploymentState(world, "staging", "order-service", "success", 60_000);

    const production = await pullRequest(world, "conveyor/production/order-service", 30_000);
    const changes = (production.body ?? "").split("\n").filter((l) => l.startsWith("- [`"));
    if (changes.length)
      line(`the production PR lists the ${changes.length} commits since production's image, e.g. ${changes[0]}`);
    line(`production waits for a reviewer; people steer Conveyor from ${production.html_url}:`);
    await runChatOpsScenario(world, (text) => line(`  ${text}`));
    line(`reviewer approves and merges ${production.html_url}`);
    await reviewer.rest.pulls.createReview({
      ...repo,
      pull_number: production.number,
      event: "APPROVE",
      body: "Staging is verified, ship it.",
    });
    await reviewer.rest.pulls.merge({
      ...repo,
      pull_number: production.number,
      sha: production.head.sha,
      merge_method: "merge",
    });
    await deploymentState(world, "production", "order-service", "success", 60_000);

    const bad = service
      ? await world.forge.seed(
          "acme",
          "order-service",
          { "src/client.ts": "v2\n" },
          "Switch to the v2 payment client",
          {
            silent: true,
          },
        )
      : undefined;
    line("CI of order-service finished again: dispatching a bad build, ghcr.io/acme/order-service:1.6.0-bad");
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy",
      client_payload: {
        service: "order-service",
        image: "ghcr.io/acme/order-service:1.6.0-bad",
        ...(bad ? { source: source(bad) } : {}),
      },
    });
    await deploymentState(world, "staging", "order-service", "failure", 60_000);
    await deploymentState(
      world,
      "staging",
      "order-service",
      "success",
      60_000,
      (d) => d.to === "ghcr.io/acme/order-service:1.5.0",
    );
    const app = world.argo.get("order-service-staging") as { status?: { health?: { status?: string } } } | undefined;
    line(`staging is back on ghcr.io/acme/order-service:1.5.0 and Argo CD says ${app?.status?.health?.status ?? "?"}`);
    await blueGreenRelease(world, line);
    line(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    line(`all of it at a glance: ${world.dashboardUrl} (sign in as reviewer: ${world.signInUrl("reviewer")})`);
  } finally {
    stopNarrating();
  }
}

/**
 * cart-service is released blue-green (with the demo's config): the new image goes to the idle
 * slot, that slot is verified, then the Service switches to it; the old slot keeps its image.
 */
async function blueGreenRelease(world: World, line: (text: string) => void): Promise<void> {
  const ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  const read = async (path: string) => {
    const { data } = await ci.rest.repos.getContent({ owner: OWNER, repo: REPO, path });
    return Buffer.from((data as { content: string }).content, "base64").toString();
  };
  const dir = "services/cart-service/overlays/staging";
  const live = () => read(`${dir}/service.yaml`).then((text) => /slot:\s*(\w+)/.exec(text)?.[1] ?? "?");
  line(`cart-service is released blue-green: staging's Service selects the ${await live()} slot`);
  line("CI of cart-service finished: dispatching deploy {image: ghcr.io/acme/cart-service:1.5.0}");
  await ci.rest.repos.createDispatchEvent({
    owner: OWNER,
    repo: REPO,
    event_type: "deploy-cart-service",
    client_payload: { image: "ghcr.io/acme/cart-service:1.5.0" },
  });
  const idle = await deploymentState(world, "staging", "cart-service", "success", 60_000);
  const slot = (idle.slot as { slot?: string } | undefined)?.slot ?? "?";
  line(`the idle ${slot} slot runs 1.5.0 and is healthy; now the switch`);
  await deploymentState(world, "staging", "cart-service", "success", 60_000);
  const old = slot === "green" ? "blue" : "green";
  const kept = /image:\s*(\S+)/.exec(await read(`${dir}/slot-${old}.yaml`))?.[1] ?? "?";
  line(`staging's Service now selects ${await live()}; ${old} keeps ${kept} for an instant switch back`);
}

/** Prints what Conveyor does, as GitHub would show it: PRs, merges, deployments, comments. */
function narrateEvents(world: World, line: (text: string) => void): () => void {
  let seen = 0;
  const timer = setInterval(() => {
    const events = world.forge.events;
    for (; seen < events.length; seen++) {
      const text = describe(events[seen] as WebhookDelivery);
      if (text) line(text);
    }
  }, 50);
  return () => clearInterval(timer);
}

function describe(d: WebhookDelivery): string | undefined {
  const p = d.payload as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  switch (`${d.event}.${d.action ?? ""}`) {
    case "pull_request.opened":
      return `PR #${p.pull_request.number} opened by ${p.pull_request.user.login}: "${p.pull_request.title}"  ${p.pull_request.html_url}`;
    case "pull_request.synchronize":
      return `PR #${p.pull_request.number} updated (new commit ${String(p.pull_request.head.sha).slice(0, 7)})`;
    case "pull_request.closed":
      return p.pull_request.merged
        ? `PR #${p.pull_request.number} merged by ${p.pull_request.merged_by?.login ?? p.sender.login}`
        : `PR #${p.pull_request.number} closed`;
    case "deployment_status.created":
      // The history recorded before the demo starts is not news.
      if (p.sender?.login === "admin") return undefined;
      return `${p.repository?.full_name === `${OWNER}/${REPO}` ? "deployment" : `${p.repository?.full_name} deployment`} ${p.deployment.id} (${p.deployment.payload?.service} -> ${p.deployment.environment}): ${p.deployment_status.state} — ${p.deployment_status.description}`;
    case "issue_comment.created":
      return p.comment.user.type === "Bot"
        ? `comment on #${p.issue.number}: ${String(p.comment.body).split("\n")[0]}`
        : undefined;
    case "check_run.completed":
      return `check ${p.check_run.name} on ${p.repository?.full_name === `${OWNER}/${REPO}` ? "" : `${p.repository?.full_name}@`}${String(p.check_run.head_sha).slice(0, 7)}: ${p.check_run.conclusion} — ${p.check_run.output?.title ?? ""}`;
    case "issues.opened":
      return `issue #${p.issue.number} opened: "${p.issue.title}"`;
    default:
      return undefined;
  }
}

export async function pullRequest(world: World, branch: string, timeoutMs: number): Promise<Pull> {
  const ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await ci.rest.pulls.list({ owner: OWNER, repo: REPO, state: "open", head: `${OWNER}:${branch}` });
    if (data[0]) return data[0] as Pull;
    if (Date.now() > deadline) throw new Error(`no open PR from ${branch} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits for the next deployment status (one not delivered yet, and not a redelivery of an old
 * one) of a service in an environment; returns the deployment's payload.
 */
export async function deploymentState(
  world: World,
  env: string,
  service: string,
  state: string,
  timeoutMs: number,
  match: (payload: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  const earlier = new Set(world.forge.events);
  const delivery = await world.forge.waitForEvent((d) => {
    // A redelivery re-sends an old status (e.g. the seeded history's, which reached no app before
    // it started): not a new one.
    if (earlier.has(d) || d.redelivery) return false;
    const p = d.payload as {
      deployment?: { environment?: string; payload?: Record<string, unknown> };
      deployment_status?: { state?: string };
      repository?: { full_name?: string };
    };
    // The manifests repository's: service repositories have Deployments of their own.
    return (
      d.event === "deployment_status" &&
      p.repository?.full_name === `${OWNER}/${REPO}` &&
      p.deployment?.environment === env &&
      p.deployment?.payload?.service === service &&
      p.deployment_status?.state === state &&
      match(p.deployment.payload ?? {})
    );
  }, timeoutMs);
  return (delivery.payload as { deployment: { payload: Record<string, unknown> } }).deployment.payload;
}
