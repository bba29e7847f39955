// The config parts of release strategies (blue-green slots, two-Deployment canary) and E2E gates.
// Kept beside config.ts so the main schema only names them; resolution per service and
// environment lives in strategy.ts.
import { z } from "zod";
import { duration } from "./duration.js";
import { NAME_PATTERN } from "./names.js";

export const STRATEGY_KINDS = ["image", "blueGreen", "canary"] as const;
export type StrategyKind = (typeof STRATEGY_KINDS)[number];

const kind = z.enum(STRATEGY_KINDS, {
  error: () => 'must be one of "image" (set the overlay\'s images: entry), "blueGreen" or "canary"',
});

/** Kubernetes object names (Deployments, Services) and labels; `{service}` stands for the service. */
const objectName = z
  .string()
  .min(1)
  .max(253)
  .refine((value) => NAME_PATTERN.test(value.replaceAll("{service}", "x")), {
    message: "must be a lowercase Kubernetes name (a-z, 0-9, '.', '_', '-'); {service} stands for the service",
  });

const labelKey = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/, "must be a lowercase label key (a-z, 0-9, '.', '_', '-', '/')");

export const blueGreenSchema = z
  .object({
    service: objectName
      .default("{service}")
      .describe("The Service whose selector names the live slot (default: the service's name)."),
    slots: z
      .object({
        blue: objectName.default("{service}-blue").describe("The blue slot's Deployment."),
        green: objectName.default("{service}-green").describe("The green slot's Deployment."),
      })
      .strict()
      .prefault({})
      .refine((slots) => slots.blue !== slots.green, { message: "the blue and green slots must be two Deployments" }),
    label: labelKey.default("slot").describe("The selector label that names the live slot (its values: blue, green)."),
    container: objectName.optional().describe("The container to set the image of (default: the patch's only one)."),
  })
  .strict()
  .describe("Blue-green by slot: two Deployments and one Service whose selector names the live slot.");

export const canarySchema = z
  .object({
    canary: objectName.default("{service}-canary").describe("The canary Deployment (the new image first)."),
    stable: objectName
      .default("{service}-stable")
      .describe("The stable Deployment (takes the image once the canary is good)."),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1)
      .describe("Replicas of the canary while it runs a new image."),
    idleReplicas: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe("Replicas of the canary between releases (0: scaled down)."),
    container: objectName.optional().describe("The container to set the image of (default: the patch's only one)."),
  })
  .strict()
  .refine((canary) => canary.canary !== canary.stable, {
    message: "the canary and stable Deployments must be two Deployments",
  })
  .refine((canary) => canary.idleReplicas < canary.replicas, {
    message: "idleReplicas must be fewer than replicas",
    path: ["idleReplicas"],
  })
  .describe("Canary with two Deployments: a small canary beside the stable one, one Service selecting both.");

/** Per service: one kind for every environment, or a kind per environment. */
export const serviceStrategySchema = z
  .union([kind, z.record(z.string().regex(NAME_PATTERN, "must name an environment"), kind)], {
    error: () => 'must be "image", "blueGreen" or "canary", or a map from environment name to one of them',
  })
  .optional()
  .describe('The release strategy: "image", "blueGreen" or "canary", or a map from environment to one of them.');

export const environmentStrategySchema = kind
  .optional()
  .describe('The release strategy of every service here unless the service says otherwise (default "image").');

const GATE_REPOSITORY = /^(\{source\}|[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100})$/;
const WORKFLOW_FILE = /^[A-Za-z0-9._-]{1,100}\.ya?ml$/;

export const gateSchema = z
  .object({
    workflow: z
      .string()
      .regex(WORKFLOW_FILE, "must be a workflow file name in .github/workflows, like e2e.yml")
      .describe("The workflow file to dispatch (in .github/workflows of the repository)."),
    repository: z
      .string()
      .regex(GATE_REPOSITORY, 'must be owner/repo or "{source}" (the repository the deploy event came from)')
      .default("{source}")
      .describe('Where the workflow lives: owner/repo, or "{source}" for the deploy event\'s repository.'),
    ref: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[A-Za-z0-9._/-]+$/, "must be a branch or tag name")
      .refine((ref) => !ref.split("/").includes(".."), { message: "must be a branch or tag name" })
      .default("main")
      .describe("The branch or tag the workflow runs on."),
    timeout: duration.prefault("30m").describe("How long the run may take before the gate fails."),
  })
  .strict();

export const gatesSchema = z
  .array(gateSchema)
  .max(10)
  .default([])
  .describe("Workflows that must pass after this environment is verified, before the next environment's PR is opened.");

export type BlueGreenConfig = z.output<typeof blueGreenSchema>;
export type CanaryConfig = z.output<typeof canarySchema>;
export type GateConfig = z.output<typeof gateSchema>;
