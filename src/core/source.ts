// The source chain: what Conveyor remembers about where an image came from, from the deploy event
// to every PR, marker and Deployment after it. Records are read back through `parseSource`, so a
// hand-edited payload or marker yields no source rather than a wrong one.
import { parseSource, type DispatchSource } from "./dispatch.js";

export type { DispatchSource } from "./dispatch.js";

export function hasSource(source: DispatchSource | undefined): source is DispatchSource {
  return source !== undefined && Object.values(source).some((value) => value !== undefined);
}

/** The source with the image's digest added, when the image names one and the source does not. */
export function withDigest(source: DispatchSource, digest: string | undefined): DispatchSource {
  return digest !== undefined && source.digest === undefined ? { ...source, digest } : source;
}

/** A source as stored in a marker or Deployment payload (GitHub's snake_case for the run URL). */
export function sourceRecord(source: DispatchSource): Record<string, string> {
  const record: Record<string, string> = {};
  if (source.repository !== undefined) record.repository = source.repository;
  if (source.sha !== undefined) record.sha = source.sha;
  if (source.runUrl !== undefined) record.run_url = source.runUrl;
  if (source.digest !== undefined) record.digest = source.digest;
  return record;
}

/** A stored source read back; undefined when absent, empty or not valid. */
export function sourceFromRecord(value: unknown): DispatchSource | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = parseSource(value);
  return parsed.ok && hasSource(parsed.value) ? parsed.value : undefined;
}
