// Services are discovered from the repository's layout: every file that matches an environment's
// overlay template (by default services/<service>/overlays/<env>/kustomization.yaml) names one.
import { strategyKindFor } from "./strategy.js";
import type { Config } from "./config.js";
import { isValidName } from "./names.js";

export function discoverServices(files: Iterable<string>, config: Config): Set<string> {
  const services = new Set<string>(Object.keys(config.services));
  if (!config.discover) return services;
  const patterns = config.environments.map((env) => templateToRegExp(`${env.path}/kustomization.yaml`, env.name));
  for (const file of files) {
    for (const pattern of patterns) {
      const service = pattern.exec(file)?.groups?.service;
      if (service && isValidName(service)) services.add(service);
    }
  }
  return services;
}

/** Compiled templates: a render check asks about every file of the repository. */
const compiled = new Map<string, RegExp>();

function templateToRegExp(template: string, env: string): RegExp {
  const key = `${template}\0${env}`;
  let pattern = compiled.get(key);
  if (!pattern) {
    if (compiled.size > 1000) compiled.clear();
    pattern = compileTemplate(template, env);
    compiled.set(key, pattern);
  }
  return pattern;
}

function compileTemplate(template: string, env: string): RegExp {
  const escaped = template.replaceAll("{env}", env).replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  let seen = false;
  const source = escaped.replaceAll("{service}", () => {
    if (seen) return "\\k<service>";
    seen = true;
    return "(?<service>[a-z0-9][a-z0-9._-]{0,61})";
  });
  return new RegExp(`^${source}$`);
}

/** Which (service, environment) an overlay file belongs to, if any. */
export function overlayOwner(file: string, config: Config): { service: string; env: string } | undefined {
  for (const env of config.environments) {
    for (const [service, settings] of Object.entries(config.services)) {
      const override = settings.paths[env.name];
      if (
        override &&
        file === `${override.replaceAll("{service}", service).replaceAll("{env}", env.name)}/kustomization.yaml`
      )
        return { service, env: env.name };
    }
    const service = templateToRegExp(`${env.path}/kustomization.yaml`, env.name).exec(file)?.groups?.service;
    if (service && isValidName(service) && !config.services[service]?.paths[env.name])
      return { service, env: env.name };
  }
  return undefined;
}

/**
 * The owner of a file Conveyor may change in an overlay: its kustomization.yaml, or (released
 * blue-green or canary) one of the patch files beside it, where the slots' images and the live
 * slot, or the canary's and stable's images, are set.
 */
export function overlayFileOwner(file: string, config: Config): { service: string; env: string } | undefined {
  const own = overlayOwner(file, config);
  if (own) return own;
  const slash = file.lastIndexOf("/");
  if (slash < 0 || !/\.ya?ml$/.test(file)) return undefined;
  const owner = overlayOwner(`${file.slice(0, slash)}/kustomization.yaml`, config);
  return owner && strategyKindFor(config, owner.service, owner.env) !== "image" ? owner : undefined;
}
