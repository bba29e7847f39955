/** Plain JSON values as they travel through the simulated API server. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    if (keys.length !== otherKeys.length) return false;
    return keys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 3339 with seconds precision, the format every Kubernetes timestamp uses. */
export function rfc3339(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}
