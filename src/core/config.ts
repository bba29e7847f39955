// The one schema for `.github/conveyor.yml`. The JSON schema for editors is generated from it
// (`npm run schema`), and every default here reproduces the layout in DESIGN.md, so a manifests
// repo that follows that layout needs no config file at all.
import { z } from "zod";
import { duration } from "./duration.js";
import { MERGE_METHODS } from "./merge-method.js";
import { NAME_PATTERN } from "./names.js";
import {
  blueGreenSchema,
  canarySchema,
  environmentStrategySchema,
  gatesSchema,
  serviceStrategySchema,
} from "./strategy-config.js";
import { strategyProblems } from "./strategy.js";

const name = z.string().regex(NAME_PATTERN, "must be a lowercase name: a-z, 0-9, '.', '_' or '-', 1 to 63 characters");

/** A path template: `{service}` and `{env}` are the only placeholders; the result stays inside the repo. */
const pathTemplate = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.startsWith("/") && !p.split("/").some((part) => part === ".." || part === "." || part === ""), {
    message: "must be a relative path without '.', '..' or empty segments",
  })
  .refine(
    (p) =>
      /^[A-Za-z0-9._\-/{}]+$/.test(p) && (p.match(/\{[^}]*\}/g) ?? []).every((t) => t === "{service}" || t === "{env}"),
    {
      message: "may use only letters, digits, '.', '_', '-', '/' and the placeholders {service} and {env}",
    },
  );

const approver = z
  .string()
  .regex(
    /^(@[A-Za-z0-9-]+\/[A-Za-z0-9_.-]+|[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/,
    "must be a GitHub login or @org/team",
  );

const timeouts = z
  .object({
    sync: duration.prefault(600).describe("How long Argo CD may take to sync the merged revision."),
    health: duration.prefault(900).describe("How long the application may take to become Healthy after syncing."),
    suspended: duration.prefault(3600).describe("How long a paused canary (Suspended) may wait."),
    degradedGrace: duration.prefault(60).describe("How long Degraded may last before it counts as a failure (a blip)."),
  })
  .strict();

const environment = z
  .object({
    name,
    path: pathTemplate.default("services/{service}/overlays/{env}").describe("Overlay directory template."),
    autoMerge: z.boolean().default(false).describe("Merge Conveyor's PRs into this environment automatically."),
    approvers: z.array(approver).default([]).describe("Who may move this environment (users or @org/team)."),
    soak: duration.prefault(120).describe("How long the application must stay Healthy before it is verified."),
    timeouts: timeouts.prefault({}),
    directDeploy: z.boolean().default(false).describe("Allow deploy events to name this environment directly."),
    strategy: environmentStrategySchema,
    gates: gatesSchema,
    policy: z
      .object({
        protected: z
          .boolean()
          .optional()
          .describe("Refuse mutable tags here; default: true when the environment has approvers."),
        mutableTags: z
          .array(z.string().min(1).max(128))
          .default(["latest"])
          .describe("Tags that can move under you; refused in protected environments."),
        requireDigest: z.boolean().default(false).describe("Every rendered image must be pinned by digest."),
        allowedRegistries: z
          .array(z.string().min(1).max(255))
          .default([])
          .describe(
            'Registries (or registry/path prefixes like "ghcr.io/acme") images may come from; empty allows any.',
          ),
      })
      .strict()
      .prefault({})
      .describe("Checks on the rendered overlay, reported in the conveyor/render check run."),
  })
  .strict();

/**
 * A trusted source of remote kustomize references: a host and path prefix such as
 * "github.com/acme/". Scheme, `git::` and `git@host:` forms are accepted and mean the same
 * prefix; file:// and plain http:// never are (see src/core/kustomization-references.ts).
 */
const remotePrefix = z
  .string()
  .min(1)
  .max(255)
  .regex(/^\S+$/, "must not contain whitespace")
  .refine((p) => !/^(?:git::)?(?:file|http):/i.test(p), {
    message: "file:// and plain http:// sources are never rendered; use an https or ssh host/path prefix",
  })
  .regex(
    /^(?:git::)?(?:(?:https|ssh):\/\/)?(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d{1,5})?(?:[/:][A-Za-z0-9._~+-]*)*$/,
    'must be a host/path prefix like "github.com/acme/" (https://, ssh://, git:: and git@host: forms are accepted)',
  )
  .refine((p) => !p.split(/[/:]/).some((segment) => segment === "." || segment === ".."), {
    message: "must not contain '.' or '..' segments",
  });

const service = z
  .object({
    image: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe("Image repository this service deploys; dispatches for other images are refused."),
    paths: z.record(name, pathTemplate).default({}).describe("Per-environment overlay directory overrides."),
    strategy: serviceStrategySchema,
    blueGreen: blueGreenSchema.optional(),
    canary: canarySchema.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    environments: z
      .array(environment)
      .min(1)
      .prefault([
        { name: "staging", autoMerge: true },
        { name: "production", soak: "5m" },
      ])
      .describe("Environments in promotion order.")
      .refine((envs) => new Set(envs.map((e) => e.name)).size === envs.length, {
        message: "environment names must be unique",
      }),
    services: z
      .record(name, service)
      .default({})
      .describe("Per-service settings; services are also discovered from the overlay layout."),
    discover: z.boolean().default(true).describe("Discover services from services/*/overlays/*/kustomization.yaml."),
    argocd: z
      .object({
        application: z
          .string()
          .regex(/^[a-z0-9.{}_-]+$/, "may use a-z, 0-9, '.', '-', '_' and the placeholders {service} and {env}")
          .default("{service}-{env}")
          .describe("Argo CD Application name template."),
        namespace: name.default("argocd"),
      })
      .strict()
      .prefault({}),
    rollback: z
      .object({
        auto: z.boolean().default(true).describe("Open a revert PR when a rollout fails."),
        autoMerge: z.boolean().default(true).describe("Merge revert PRs where the environment auto-merges."),
      })
      .strict()
      .prefault({}),
    // How Conveyor's automatic merges land. Without `method`, the repository's settings decide
    // (merge commit, else squash, else rebase); `queue` enqueues instead of merging.
    merge: z
      .object({
        method: z
          .enum(MERGE_METHODS)
          .optional()
          .describe(
            "How Conveyor merges its PRs: merge, squash or rebase. Default: the first of these the repository allows.",
          ),
        queue: z
          .boolean()
          .default(false)
          .describe(
            "The default branch requires a merge queue: add PRs to it instead of merging them. Without it, Conveyor switches to the queue when GitHub says the branch requires one.",
          ),
      })
      .strict()
      .prefault({})
      .describe("How Conveyor merges its pull requests on GitHub."),
    dashboard: z
      .object({
        issue: z
          .boolean()
          .default(true)
          .describe(
            "Keep one 'Conveyor dashboard' issue (label conveyor:dashboard) current, and open it again if it is closed.",
          ),
      })
      .strict()
      .prefault({})
      .describe("The dashboard issue in the manifests repository."),
    commands: z
      .object({ requireNamespace: z.boolean().default(false).describe("Only accept `/conveyor <verb>` commands.") })
      .strict()
      .prefault({}),
    // What the conveyor/render check lets kustomize fetch. Remote references (URLs, git repos) in
    // a PR's kustomizations are refused unless they fall under one of these prefixes AND are
    // pinned with ?ref=<full commit sha>; the default, [], refuses every remote reference.
    render: z
      .object({
        allowRemote: z
          .array(remotePrefix)
          .default([])
          .describe(
            'Trusted prefixes for remote kustomize references, e.g. "github.com/acme/"; a remote reference must also be pinned with ?ref=<full commit sha>. Empty: remote references are never rendered.',
          ),
      })
      .strict()
      .prefault({})
      .describe("How the conveyor/render check treats what kustomizations reference."),
  })
  .strict()
  .superRefine((config, context) => {
    for (const problem of strategyProblems(config)) context.addIssue({ code: "custom", ...problem });
  });

export type Config = z.output<typeof configSchema>;
export type EnvironmentConfig = Config["environments"][number];

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Validates a parsed config file; `null` (no file) yields the defaults. */
export function parseConfig(raw: unknown): ConfigResult {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      // Both may quote what the file says: clipped, so a hostile file cannot fill the issue.
      path: clip(issue.path.length ? issue.path.map(String).join(".") : "(root)"),
      message: clip(issue.message),
    })),
  };
}

export function findEnvironment(config: Config, env: string): EnvironmentConfig | undefined {
  return config.environments.find((e) => e.name === env);
}

/** The environment after `env` in promotion order, if any. */
export function nextEnvironment(config: Config, env: string): EnvironmentConfig | undefined {
  const index = config.environments.findIndex((e) => e.name === env);
  return index >= 0 ? config.environments[index + 1] : undefined;
}

/** Overlay directory of a service in an environment (names are validated before they get here). */
export function overlayDir(config: Config, service: string, env: EnvironmentConfig): string {
  const template = config.services[service]?.paths[env.name] ?? env.path;
  return template.replaceAll("{service}", service).replaceAll("{env}", env.name);
}

export function applicationName(config: Config, service: string, env: string): string {
  return config.argocd.application.replaceAll("{service}", service).replaceAll("{env}", env);
}

function clip(text: string, max = 200): string {
  const points = Array.from(text);
  return points.length > max ? `${points.slice(0, max).join("")}…` : text;
}
