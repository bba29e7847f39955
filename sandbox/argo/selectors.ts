import { isObject, type JsonObject } from "./json.js";

type Requirement = (labels: Record<string, string>) => boolean;

/** Parses a Kubernetes label selector (=, ==, !=, in, notin, exists, !exists). */
export function parseLabelSelector(selector: string): (object: JsonObject) => boolean {
  const requirements: Requirement[] = [];
  // Commas inside "in (a,b)" are not separators.
  const parts = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part === "") continue;
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, key = "", op, list = ""] = m;
      const values = list.split(",").map((v) => v.trim());
      requirements.push(
        op === "in" ? (l) => key in l && values.includes(l[key] ?? "") : (l) => !values.includes(l[key] ?? "\u0000"),
      );
    } else if ((m = part.match(/^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/))) {
      const [, key = "", op, value = ""] = m;
      requirements.push(op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      const key = m[1] ?? "";
      requirements.push((l) => !(key in l));
    } else {
      const key = part;
      requirements.push((l) => key in l);
    }
  }
  return (object) => {
    const metadata = isObject(object.metadata) ? object.metadata : {};
    const labels: Record<string, string> = {};
    if (isObject(metadata.labels))
      for (const [k, v] of Object.entries(metadata.labels)) if (typeof v === "string") labels[k] = v;
    return requirements.every((r) => r(labels));
  };
}

/** Supports the field selectors every resource has: metadata.name and metadata.namespace. */
export function parseFieldSelector(selector: string): (object: JsonObject) => boolean {
  const checks = selector
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = part.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
      if (!m) throw new Error(`invalid field selector ${part}`);
      const [, field = "", op, value = ""] = m;
      if (field !== "metadata.name" && field !== "metadata.namespace")
        throw new Error(`field label not supported: ${field}`);
      const prop = field.slice("metadata.".length);
      return (o: JsonObject) => {
        const actual = isObject(o.metadata) ? o.metadata[prop] : undefined;
        return op === "!=" ? actual !== value : actual === value;
      };
    });
  return (object) => checks.every((c) => c(object));
}
