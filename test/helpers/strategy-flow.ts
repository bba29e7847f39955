// Flow tests of a release strategy (blue-green, canary) over a FlowWorld: the config that gives
// one service that strategy, and a deploy event for it.
import { parseConfig, type Config } from "../../src/core/config.js";
import { parseImageRef } from "../../src/core/image-ref.js";
import type { DispatchSource } from "../../src/core/dispatch.js";
import { proposeDeploy } from "../../src/flows/propose-deploy.js";
import type { FlowWorld } from "./flow-world.js";

export function strategyConfig(service: string, strategy: "blueGreen" | "canary"): Config {
  const result = parseConfig({ services: { [service]: { strategy } } });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

/** A deploy event for `service` with `image` (a full reference), as the dispatch handler sends it. */
export function deployEvent(w: FlowWorld, config: Config, service: string, image: string, source: DispatchSource = {}) {
  const ref = parseImageRef(image);
  if (!ref.ok) throw new Error(ref.reason);
  return proposeDeploy(w.services, w.scope, {
    config,
    mode: "dispatch",
    request: { service, image: ref.value, source },
  });
}
