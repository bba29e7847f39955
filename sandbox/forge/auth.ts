/**
 * Credentials: user tokens, GitHub App JWTs (RS256, verified with the app's
 * public key) and installation tokens; and repository permission checks.
 */
import { verify } from "node:crypto";
import type { Account, Installation, Permission, Repo, Store, User } from "./store.js";
import { PERMISSION_RANK } from "./store.js";

export type Actor =
  | { kind: "anonymous" }
  | { kind: "user"; user: User; token: string }
  | { kind: "app" }
  | { kind: "installation"; installation: Installation; token: string };

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
  }
}

function b64json(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function looksLikeJwt(token: string): boolean {
  return token.split(".").length === 3 && token.startsWith("eyJ");
}

/** Verify an app JWT the way GitHub does: RS256 signature, iss, iat, exp (≤ 10 min). */
export function verifyAppJwt(
  token: string,
  app: { id: number; publicKeyPem: string },
  nowSec = Math.floor(Date.now() / 1000),
): void {
  const [h, p, s] = token.split(".");
  const header = h ? b64json(h) : null;
  const payload = p ? b64json(p) : null;
  if (!header || !payload || s === undefined) throw new AuthError("A JSON web token could not be decoded");
  if (header["alg"] !== "RS256") throw new AuthError("A JSON web token could not be decoded");
  let ok = false;
  try {
    ok = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), app.publicKeyPem, Buffer.from(s, "base64url"));
  } catch {
    ok = false;
  }
  if (!ok) throw new AuthError("A JSON web token could not be decoded");
  const { iat, exp, iss } = payload;
  if (String(iss) !== String(app.id)) throw new AuthError("'Issuer' claim ('iss') must be an Integer");
  if (typeof iat !== "number" || iat > nowSec + 60)
    throw new AuthError("'Issued at' claim ('iat') must be an Integer representing a time in the past");
  if (typeof exp !== "number" || exp <= nowSec)
    throw new AuthError(
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
  if (exp - iat > 660 || exp > nowSec + 660)
    throw new AuthError("'Expiration time' claim ('exp') is too far in the future");
}

/** Pull the credential out of an Authorization header (token, Bearer or Basic). */
export function credentialFrom(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(token|bearer|basic)\s+(.+)$/i.exec(header.trim());
  if (!m) return header.trim() || null;
  if (m[1]!.toLowerCase() !== "basic") return m[2]!.trim();
  const decoded = Buffer.from(m[2]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const password = colon === -1 ? decoded : decoded.slice(colon + 1);
  // `x-access-token:<token>` as GitHub; or `<token>:` / `<token>:x-oauth-basic`
  if (colon !== -1 && (password === "" || password === "x-oauth-basic")) return decoded.slice(0, colon);
  return password || null;
}

export function authenticate(store: Store, header: string | undefined): Actor {
  const cred = credentialFrom(header);
  if (!cred) return { kind: "anonymous" };
  const user = store.tokens.get(cred);
  if (user) return { kind: "user", user, token: cred };
  const inst = store.installationTokens.get(cred);
  if (inst) {
    if (inst.expiresAt <= Date.now()) throw new AuthError("Bad credentials");
    const installation = store.installations.get(inst.installationId);
    if (!installation) throw new AuthError("Bad credentials");
    return { kind: "installation", installation, token: cred };
  }
  if (looksLikeJwt(cred)) {
    if (!store.app) throw new AuthError("A JSON web token could not be decoded");
    verifyAppJwt(cred, store.app);
    return { kind: "app" };
  }
  throw new AuthError("Bad credentials");
}

/** The account acting (webhook `sender`, comment author, ...). */
export function actorAccount(store: Store, actor: Actor): Account | null {
  switch (actor.kind) {
    case "user":
      return actor.user;
    case "installation":
      return store.app?.bot ?? null;
    default:
      return null;
  }
}

export function actorLogin(store: Store, actor: Actor): string | null {
  return actorAccount(store, actor)?.login ?? (actor.kind === "app" ? `app:${store.app?.slug ?? "?"}` : null);
}

export function userPermission(repo: Repo, user: User): Permission {
  if (user.login.toLowerCase() === repo.owner.login.toLowerCase()) return "admin";
  return repo.permissions.get(user.login.toLowerCase()) ?? user.permission;
}

/** Effective permission of an actor on a repository. */
export function permissionOn(repo: Repo, actor: Actor): Permission {
  switch (actor.kind) {
    case "user":
      return userPermission(repo, actor.user);
    case "installation":
      return actor.installation.account.login.toLowerCase() === repo.owner.login.toLowerCase() ? "write" : "none";
    case "anonymous":
      return repo.private ? "none" : "read";
    default:
      return "none";
  }
}

export function atLeast(have: Permission, need: Permission): boolean {
  return PERMISSION_RANK[have] >= PERMISSION_RANK[need];
}
