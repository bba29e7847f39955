// The sandbox's chat-ops part: people steering Conveyor from PR comments. Runs after a deploy of
// order-service reached production's PR (as in runScenario, or on its own: it dispatches first).
import { Octokit } from "@octokit/rest";
import { deploymentState, pullRequest, type Narrator } from "./scenario.js";
import { OWNER, REPO, type World } from "./world.js";

const repo = { owner: OWNER, repo: REPO };

/** Posts a comment as one of the forge users and waits for Conveyor's reply to it. */
export async function command(
  world: World,
  as: keyof World["tokens"],
  issue: number,
  body: string,
  timeoutMs = 30_000,
): Promise<{ reply: string; reactions: string[] }> {
  const user = new Octokit({ baseUrl: world.forge.url, auth: world.tokens[as] });
  const { data: posted } = await user.rest.issues.createComment({ ...repo, issue_number: issue, body });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data: comments } = await user.rest.issues.listComments({ ...repo, issue_number: issue, per_page: 100 });
    const reply = comments.find(
      (c) => c.id > posted.id && c.user?.type === "Bot" && (c.body ?? "").startsWith(`@${as}`),
    );
    if (reply) {
      const { data: reactions } = await user.rest.reactions.listForIssueComment({ ...repo, comment_id: posted.id });
      return { reply: reply.body ?? "", reactions: reactions.map((r) => r.content) };
    }
    if (Date.now() > deadline)
      throw new Error(`no reply from Conveyor to ${JSON.stringify(body)} on #${issue} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function runChatOpsScenario(world: World, say: Narrator): Promise<void> {
  const ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  const first = (text: string) => text.split("\n").find((l) => /^(✅|❌)/.test(l)) ?? text.split("\n")[0] ?? "";

  let production: { number: number } | undefined = await ci.rest.pulls
    .list({ ...repo, state: "open", head: `${OWNER}:conveyor/production/order-service` })
    .then((r) => r.data[0]);
  if (!production) {
    say("chat-ops: dispatching deploy-order-service 1.5.0 so there is something to steer");
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    await deploymentState(world, "staging", "order-service", "success", 60_000);
    production = await pullRequest(world, "conveyor/production/order-service", 30_000);
  }
  const pr = production.number;

  say(`outsider (read access) comments "/promote production" on #${pr}`);
  say(`  Conveyor: ${first((await command(world, "outsider", pr, "/promote production")).reply)}`);

  say(`reviewer comments "/hold production -- demo freeze" on #${pr}`);
  say(`  Conveyor: ${first((await command(world, "reviewer", pr, "/hold production -- demo freeze")).reply)}`);

  say(`reviewer comments "/status order-service" on #${pr}`);
  const status = await command(world, "reviewer", pr, "/status order-service");
  for (const row of status.reply.split("\n").filter((l) => l.startsWith("| order-service"))) say(`  ${row}`);

  say(`reviewer comments "/unhold production" on #${pr}`);
  say(`  Conveyor: ${first((await command(world, "reviewer", pr, "/unhold production")).reply)}`);
}
