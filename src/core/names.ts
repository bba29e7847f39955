// Names that arrive from outside (dispatch payloads, comments, config) and end up in paths,
// branch names and Argo CD application names. One pattern for all of them keeps every path
// inside the repository.
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export function isValidName(value: unknown): value is string {
  return typeof value === "string" && NAME_PATTERN.test(value) && !value.includes("..");
}

/** A repository-relative path that cannot escape the repository. */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0 || path.length > 1024 || path.startsWith("/") || path.includes("\\") || path.includes("\0"))
    return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/** Shows untrusted text in a message without letting it break the message's markdown. */
export function quote(value: unknown, max = 100): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  // Cut by code points, not UTF-16 units: half an emoji is not text GitHub will keep.
  const points = Array.from(text);
  const clipped = points.length > max ? `${points.slice(0, max).join("")}…` : text;
  return `\`${clipped.replace(/[`\r\n]/g, " ")}\``;
}
