/**
 * Extracts the response schemas of the GitHub REST operations (and the webhook
 * payloads) that the local forge serves from GitHub's OpenAPI description,
 * with every $ref inlined, into test/fixtures/openapi/github-operations.json.
 *
 * @octokit/openapi is ~400 MB, so it is not a dependency. To refresh:
 *
 *   npm install --no-save @octokit/openapi
 *   npx tsx scripts/extract-openapi.ts
 *   npm prune
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "node_modules/@octokit/openapi/generated/api.github.com.json");
const target = join(root, "test/fixtures/openapi/github-operations.json");

/** Operations the forge serves. */
export const SERVED_OPERATIONS = [
  "apps/get-authenticated",
  "apps/list-installations",
  "apps/get-repo-installation",
  "apps/create-installation-access-token",
  "apps/list-repos-accessible-to-installation",
  "apps/list-installations-for-authenticated-user",
  "apps/list-installation-repos-for-authenticated-user",
  "apps/list-webhook-deliveries",
  "apps/get-webhook-delivery",
  "apps/redeliver-webhook-delivery",
  "users/get-authenticated",
  "repos/get",
  "repos/update",
  "repos/get-branch",
  "repos/get-content",
  "repos/create-dispatch-event",
  "repos/get-collaborator-permission-level",
  "repos/get-commit",
  "repos/list-commits",
  "repos/list-pull-requests-associated-with-commit",
  "repos/compare-commits",
  "repos/create-deployment",
  "repos/list-deployments",
  "repos/get-deployment",
  "repos/create-deployment-status",
  "repos/list-deployment-statuses",
  "repos/get-combined-status-for-ref",
  "repos/create-commit-status",
  "git/get-ref",
  "git/create-ref",
  "git/update-ref",
  "git/delete-ref",
  "pulls/list",
  "pulls/get",
  "pulls/create",
  "pulls/update",
  "pulls/merge",
  "pulls/list-files",
  "pulls/create-review",
  "pulls/list-reviews",
  "pulls/request-reviewers",
  "pulls/list-requested-reviewers",
  "issues/create",
  "issues/list-for-repo",
  "issues/get",
  "issues/update",
  "issues/create-comment",
  "issues/list-comments",
  "issues/get-comment",
  "issues/update-comment",
  "issues/add-labels",
  "issues/remove-label",
  "issues/create-label",
  "issues/list-labels-for-repo",
  "reactions/create-for-issue-comment",
  "reactions/list-for-issue-comment",
  "checks/create",
  "checks/update",
  "checks/get",
  "checks/list-for-ref",
  "actions/create-workflow-dispatch",
  "actions/get-workflow-run",
  "actions/list-workflow-runs-for-repo",
  "actions/list-workflow-runs",
] as const;

/** Webhook payloads the forge emits (keys of `x-webhooks`). */
export const EMITTED_WEBHOOKS = [
  "push",
  "pull-request-opened",
  "pull-request-closed",
  "pull-request-synchronize",
  "pull-request-edited",
  "pull-request-reopened",
  "issue-comment-created",
  "issues-opened",
  "repository-dispatch-sample.collected",
  "workflow-run-requested",
  "workflow-run-in-progress",
  "workflow-run-completed",
] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Keywords that only document a schema; dropped to keep the fixture small. */
const DROP = new Set(["description", "example", "examples", "title", "externalDocs", "x-github", "summary"]);

function resolvePointer(doc: JsonObject, ref: string): Json {
  if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
  let node: Json = doc;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || Array.isArray(node)) throw new Error(`bad $ref ${ref}`);
    node = (node as JsonObject)[key] ?? null;
  }
  return node;
}

/** Inline every $ref; a ref that recurses into itself becomes `{}` (anything). */
function inline(doc: JsonObject, node: Json, stack: string[] = []): Json {
  if (Array.isArray(node)) return node.map((n) => inline(doc, n, stack));
  if (node === null || typeof node !== "object") return node;
  const ref = node["$ref"];
  if (typeof ref === "string") {
    if (stack.includes(ref)) return {};
    return inline(doc, resolvePointer(doc, ref), [...stack, ref]);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROP.has(key)) continue;
    // `properties` maps names to schemas: never drop a property called "description".
    if (key === "properties" && value && typeof value === "object" && !Array.isArray(value)) {
      const props: JsonObject = {};
      for (const [name, schema] of Object.entries(value)) props[name] = inline(doc, schema, stack);
      out[key] = props;
      continue;
    }
    out[key] = inline(doc, value, stack);
  }
  return out;
}

function main(): void {
  const doc = JSON.parse(readFileSync(source, "utf8")) as JsonObject;
  const paths = doc["paths"] as Record<string, Record<string, JsonObject>>;
  const operations: JsonObject = {};
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = op["operationId"];
      if (typeof id !== "string" || !(SERVED_OPERATIONS as readonly string[]).includes(id)) continue;
      const responses: JsonObject = {};
      for (const [status, response] of Object.entries(op["responses"] as JsonObject)) {
        if (status.startsWith("3")) continue;
        const resolved = inline(doc, response) as JsonObject;
        const content = resolved["content"] as JsonObject | undefined;
        const json = (content?.["application/json"] ?? null) as JsonObject | null;
        responses[status] = json?.["schema"] ?? null;
      }
      operations[id] = { method: method.toUpperCase(), path, responses };
    }
  }
  const missing = SERVED_OPERATIONS.filter((id) => !(id in operations));
  if (missing.length) throw new Error(`operations not found: ${missing.join(", ")}`);

  const hooks = doc["x-webhooks"] as Record<string, Record<string, JsonObject>>;
  const webhooks: JsonObject = {};
  for (const name of EMITTED_WEBHOOKS) {
    const post = hooks[name]?.["post"];
    if (!post) throw new Error(`webhook not found: ${name}`);
    const body = inline(doc, post["requestBody"] ?? null) as JsonObject;
    const content = body["content"] as JsonObject;
    webhooks[name] = (content["application/json"] as JsonObject)["schema"] ?? null;
  }

  const info = doc["info"] as JsonObject;
  const fixture = {
    source: "@octokit/openapi api.github.com.json",
    version: info["version"] ?? null,
    operations,
    webhooks,
  };
  mkdirSync(dirname(target), { recursive: true });
  const text = JSON.stringify(fixture);
  writeFileSync(target, text + "\n");
  console.log(
    `wrote ${target}: ${Object.keys(operations).length} operations, ${Object.keys(webhooks).length} webhooks, ${(text.length / 1024).toFixed(0)} KiB`,
  );
}

main();
