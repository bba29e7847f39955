// Small helpers for the end-to-end tests: waiting for something the world does, and a manifests
// repository with many services (order-service's files, renamed).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Octokit } from "@octokit/rest";

const TEMPLATE = fileURLToPath(new URL("../../fixtures/manifests-repo/services/order-service/", import.meta.url));

/** Resolves with the probe's first truthy answer; fails with `what` (and `explain()`, if given) after the timeout. */
export async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  explain?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${explain ? `: ${await explain()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `services/<name>/...` for each name: order-service's base and overlays with its name replaced. */
export function generatedServices(names: string[]): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const text = readFileSync(path, "utf8");
        for (const name of names)
          files[`services/${name}/${relative(TEMPLATE, path)}`] = text.replaceAll("order-service", name);
      }
    }
  };
  walk(TEMPLATE);
  return files;
}

/** What the manifests repository of the local forge holds: a file's text, the merged PRs of a branch. */
export function manifestsReader(ci: Octokit, repo: { owner: string; repo: string }) {
  return {
    file: (path: string, ref = "main") =>
      ci.rest.repos
        .getContent({ ...repo, path, ref })
        .then(({ data }) => Buffer.from((data as { content: string }).content, "base64").toString()),
    mergedPrs: async (branch: string) => {
      const { data } = await ci.rest.pulls.list({ ...repo, state: "closed", head: `${repo.owner}:${branch}` });
      return data.filter((pr) => pr.merged_at).map((pr) => pr.title);
    },
  };
}
