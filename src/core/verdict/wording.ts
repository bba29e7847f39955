// Wording shared by the verdict's reasons.

// Not pr-text's formatDuration: elapsed times are arbitrary, so this one rounds to seconds and
// compounds units (2m10s), where pr-text prints a configured duration in a single unit.
export function formatDuration(ms: number): string {
  let seconds = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts: string[] = [];
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join("");
}

export function short(revision: string): string {
  return /^[0-9a-f]{40,64}$/i.test(revision) ? revision.slice(0, 7) : revision;
}

export function revisionList(revisions: string[]): string {
  return revisions.length === 0 ? "no revision" : revisions.map(short).join(", ");
}

export function quoted(message: string | undefined): string {
  return message === undefined || message === "" ? "" : `: "${message}"`;
}

/** " for 2m10s", or nothing for a state first seen just now. */
export function lasting(ms: number): string {
  return ms < 1000 ? "" : ` for ${formatDuration(ms)}`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
