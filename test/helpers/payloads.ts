// Webhook payloads built from GitHub's real examples (@octokit/webhooks-examples), pointed at the
// test's repository and installation.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
type Example = { name: string; examples: Array<Record<string, unknown>> };
const examples = JSON.parse(
  readFileSync(require.resolve("@octokit/webhooks-examples/api.github.com/index.json"), "utf8"),
) as Example[];

export function example(
  name: string,
  match: (payload: Record<string, unknown>) => boolean = () => true,
): Record<string, unknown> {
  const found = examples.find((e) => e.name === name)?.examples.find(match);
  if (!found) throw new Error(`no webhook example for ${name}`);
  return structuredClone(found);
}

export interface RepoTarget {
  owner: string;
  repo: string;
  cloneUrl: string;
  installationId: number;
}

export function withRepo(payload: Record<string, unknown>, target: RepoTarget): Record<string, unknown> {
  const repository = payload.repository as Record<string, unknown>;
  const owner = repository.owner as Record<string, unknown>;
  Object.assign(owner, { login: target.owner });
  Object.assign(repository, {
    name: target.repo,
    full_name: `${target.owner}/${target.repo}`,
    default_branch: "main",
    clone_url: target.cloneUrl,
    html_url: `https://github.com/${target.owner}/${target.repo}`,
  });
  payload.installation = { id: target.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  return payload;
}

export function dispatchPayload(
  target: RepoTarget,
  eventType: string,
  clientPayload: unknown,
): Record<string, unknown> {
  const payload = withRepo(example("repository_dispatch"), target);
  payload.action = eventType;
  payload.branch = "main";
  payload.client_payload = clientPayload;
  return payload;
}
