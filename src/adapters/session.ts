// The web dashboard's session: a cookie that holds who signed in and their user token, sealed
// with AES-256-GCM (so it is both secret and signed: an edited cookie does not open) and an
// expiry. The key is CONVEYOR_SESSION_KEY, else derived from the OAuth client secret and the
// webhook secret (stable across restarts and replicas), else random for this process.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { registerSecret } from "./redact.js";

export class SessionSealer {
  private readonly key: Buffer;

  constructor(key: string | Buffer) {
    this.key = createHash("sha256")
      .update("conveyor/session")
      .update(typeof key === "string" ? Buffer.from(key, "utf8") : key)
      .digest();
  }

  /** A cookie value that holds `value` until `expiresAt` (ms since the epoch). */
  seal(value: Record<string, unknown>, expiresAt: number): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const plain = Buffer.from(JSON.stringify({ v: value, exp: expiresAt }), "utf8");
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
  }

  /** What a cookie holds, or undefined when it was edited, sealed with another key, or expired. */
  open(cookie: string | undefined, now = Date.now()): Record<string, unknown> | undefined {
    if (!cookie || cookie.length > 8192) return undefined;
    try {
      const raw = Buffer.from(cookie, "base64url");
      if (raw.length < 29) return undefined;
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      const parsed = JSON.parse(plain) as { v?: unknown; exp?: unknown };
      if (typeof parsed.exp !== "number" || parsed.exp <= now) return undefined;
      return parsed.v && typeof parsed.v === "object" ? (parsed.v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}

export function sessionSealerFromEnv(env: NodeJS.ProcessEnv): SessionSealer {
  const explicit = env.CONVEYOR_SESSION_KEY?.trim();
  if (explicit) {
    registerSecret(explicit);
    return new SessionSealer(explicit);
  }
  const parts = [env.GITHUB_CLIENT_SECRET?.trim(), env.WEBHOOK_SECRET?.trim()].filter(Boolean);
  return new SessionSealer(parts.length ? parts.join("\n") : randomBytes(32));
}

/** Cookies of a request, by name (the first of a name wins). */
export function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
