// push -> verification of every overlay the push changed on the default branch; a push that fixed
// `.github/conveyor.yml` closes the issue that reported it broken.
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { CONFIG_LABEL, CONFIG_MARKER } from "../core/report-text.js";
import { CONFIG_FILE, loadConfig } from "../flows/load-config.js";
import { repoScope } from "../flows/repo-scope.js";
import type { Services } from "../flows/services.js";
import { verifyPush } from "../flows/verify-push.js";

const ZERO = /^0+$/;

export async function handlePush(context: Context<"push">, services: Services): Promise<void> {
  const { payload } = context;
  const repo = eventRepo(context);
  if (payload.ref !== `refs/heads/${repo.defaultBranch}` || payload.deleted || ZERO.test(payload.after)) return;

  const config = await loadConfig(repo.gh, context.log);
  if (!config) return;
  // Fixed, added or deleted (then the defaults apply): any of them may end a config problem.
  const touchedConfig = payload.commits.some((c) =>
    [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].includes(`.github/${CONFIG_FILE}`),
  );
  if (touchedConfig) {
    await repo.gh.issues.close({
      label: CONFIG_LABEL,
      marker: CONFIG_MARKER,
      comment: `\`.github/conveyor.yml\` is valid again as of ${payload.after.slice(0, 12)}; Conveyor is back at work.`,
    });
  }
  await verifyPush(services, repoScope(services, { ...repo, log: context.log }), config, {
    before: ZERO.test(payload.before) ? undefined : payload.before,
    after: payload.after,
    sender: payload.sender?.login,
  });
}
