// Which release strategy moves a service in an environment, with the Kubernetes names it needs.
// Precedence: the service's per-environment kind, the service's kind, the environment's kind,
// then "image" (set the overlay's images: entry, as Conveyor always did).
import type { Config } from "./config.js";
import {
  blueGreenSchema,
  canarySchema,
  type BlueGreenConfig,
  type CanaryConfig,
  type StrategyKind,
} from "./strategy-config.js";

export type Slot = "blue" | "green";
export const SLOTS: readonly Slot[] = ["blue", "green"];

export interface BlueGreenStrategy {
  kind: "blueGreen";
  /** The Service whose selector names the live slot. */
  service: string;
  /** The Deployment of each slot. */
  slots: Record<Slot, string>;
  /** The selector label whose value is the live slot. */
  label: string;
  container?: string;
}

export interface CanaryStrategy {
  kind: "canary";
  canary: string;
  stable: string;
  replicas: number;
  idleReplicas: number;
  container?: string;
}

export type Strategy = { kind: "image" } | BlueGreenStrategy | CanaryStrategy;

/** The parts of a config the strategy rules read (structural, so the schema can call them). */
interface StrategyConfig {
  environments: Array<{ name: string; strategy?: StrategyKind; gates: unknown[] }>;
  services: Record<
    string,
    { strategy?: StrategyKind | Record<string, StrategyKind>; blueGreen?: BlueGreenConfig; canary?: CanaryConfig }
  >;
}

export function strategyKindFor(config: StrategyConfig, service: string, env: string): StrategyKind {
  const own = config.services[service]?.strategy;
  if (typeof own === "string") return own;
  const perEnv = own !== undefined && Object.hasOwn(own, env) ? own[env] : undefined;
  return perEnv ?? config.environments.find((e) => e.name === env)?.strategy ?? "image";
}

export function strategyFor(config: Config, service: string, env: string): Strategy {
  const kind = strategyKindFor(config, service, env);
  const named = (template: string) => template.replaceAll("{service}", service);
  const settings = config.services[service];
  if (kind === "blueGreen") {
    const bg = settings?.blueGreen ?? blueGreenSchema.parse({});
    return {
      kind,
      service: named(bg.service),
      slots: { blue: named(bg.slots.blue), green: named(bg.slots.green) },
      label: bg.label,
      ...(bg.container !== undefined ? { container: named(bg.container) } : {}),
    };
  }
  if (kind === "canary") {
    const canary = settings?.canary ?? canarySchema.parse({});
    return {
      kind,
      canary: named(canary.canary),
      stable: named(canary.stable),
      replicas: canary.replicas,
      idleReplicas: canary.idleReplicas,
      ...(canary.container !== undefined ? { container: named(canary.container) } : {}),
    };
  }
  return { kind: "image" };
}

/** Problems that span several keys, reported with the key path like the schema's own. */
export function strategyProblems(config: StrategyConfig): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const envNames = config.environments.map((e) => e.name);
  for (const [service, settings] of Object.entries(config.services)) {
    const own = settings.strategy;
    if (own === undefined || typeof own === "string") continue;
    for (const env of Object.keys(own))
      if (!envNames.includes(env))
        problems.push({
          path: ["services", service, "strategy", env],
          message: `there is no environment named ${env} (environments: ${envNames.join(", ")})`,
        });
  }
  const last = config.environments.length - 1;
  const lastEnv = config.environments[last];
  if (lastEnv && lastEnv.gates.length > 0)
    problems.push({
      path: ["environments", last, "gates"],
      message: `${lastEnv.name} is the last environment; gates run before the next environment's PR is opened, so they belong to an environment before it`,
    });
  return problems;
}
