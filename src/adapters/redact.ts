// Secrets must never reach logs, errors or GitHub. Everything that leaves an adapter as text
// (git stderr, HTTP error bodies) goes through here first.
const PATTERNS: Array<[RegExp, string]> = [
  [/\b(gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,})\b/g, "[REDACTED]"],
  [/(https?:\/\/)[^/\s:@]+(:[^@\s/]*)?@/g, "$1[REDACTED]@"],
  [/\b(authorization:\s*(?:basic|bearer|token))\s+[A-Za-z0-9+/=._-]+/gi, "$1 [REDACTED]"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, "[REDACTED PRIVATE KEY]"],
  [/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, "[REDACTED JWT]"],
];

const known = new Set<string>();

/** Registers a secret value (a token, a webhook secret) so it is scrubbed wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) known.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of known) out = out.split(secret).join("[REDACTED]");
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
