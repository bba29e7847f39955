// repository_dispatch -> a PR per (service, environment). Checks the event, the config and the
// rules, answers, and leaves the edit to the background: in a burst it waits its turn in the
// repository's queue far longer than GitHub waits for a webhook answer.
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { parseDispatch } from "../core/dispatch.js";
import { loadConfig } from "../flows/load-config.js";
import { proposeDeploy } from "../flows/propose-deploy.js";
import { repoScope } from "../flows/repo-scope.js";
import { reportRejection } from "../flows/report-rejection.js";
import type { Services } from "../flows/services.js";

export async function handleRepositoryDispatch(
  context: Context<"repository_dispatch">,
  services: Services,
): Promise<void> {
  const { payload } = context;
  const intent = parseDispatch(payload.action, payload.client_payload);
  if (intent.kind === "ignore") {
    context.log.debug({ action: payload.action }, `repository_dispatch ignored: ${intent.reason}`);
    return;
  }
  const repo = eventRepo(context);
  const config = await loadConfig(repo.gh, context.log);
  if (!config) return;
  const report = { eventType: payload.action, deliveryId: context.id };
  if (intent.kind === "reject") {
    // Reported after the answer: finding the sender's installation and writing there may take
    // longer than GitHub waits.
    const scope = repoScope(services, { ...repo, log: context.log });
    services.background.start("reject", scope.log, () =>
      reportRejection(services, scope, { ...report, rejection: intent }),
    );
    return;
  }

  const { request } = intent;
  const scope = repoScope(services, {
    ...repo,
    log: context.log.child({ repo: repo.gh.fullName, service: request.service }),
  });
  services.background.start("deploy", scope.log, async () => {
    const outcome = await proposeDeploy(services, scope, { config, request, mode: "dispatch" });
    if (outcome.kind === "reject") await reportRejection(services, scope, { ...report, rejection: outcome });
    else if (outcome.kind === "noop") scope.log.info({}, `nothing to do: ${outcome.reason}`);
  });
}
