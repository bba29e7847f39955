// Signs what Conveyor writes into text that people can edit (the state marker in its PR bodies),
// so it can tell its own words from a writer's later edits. HMAC-SHA256 with a key only the
// process holds: CONVEYOR_MARKER_KEY, else derived from the webhook secret (stable across
// restarts and replicas), else random for this process (then markers do not survive a restart,
// and Conveyor re-plans those PRs instead of trusting them).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { registerSecret } from "./redact.js";

export class Signer {
  private readonly key: Buffer;

  constructor(key: string | Buffer) {
    this.key = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  }

  /** The signature of `text`: 32 hex characters (128 bits of HMAC-SHA256). */
  sign(text: string): string {
    return createHmac("sha256", this.key).update(text, "utf8").digest("hex").slice(0, 32);
  }

  verify(text: string, signature: string | undefined): boolean {
    if (!signature || !/^[0-9a-f]{32}$/.test(signature)) return false;
    return timingSafeEqual(Buffer.from(this.sign(text), "hex"), Buffer.from(signature, "hex"));
  }
}

/** The process's signer, from the environment as described above. */
export function signerFromEnv(env: NodeJS.ProcessEnv): { signer: Signer; stable: boolean } {
  const explicit = env.CONVEYOR_MARKER_KEY?.trim();
  if (explicit) {
    registerSecret(explicit);
    return { signer: new Signer(explicit), stable: true };
  }
  const webhookSecret = env.WEBHOOK_SECRET?.trim();
  if (webhookSecret) {
    return {
      signer: new Signer(createHmac("sha256", webhookSecret).update("conveyor/pr-state").digest()),
      stable: true,
    };
  }
  return { signer: new Signer(randomBytes(32)), stable: false };
}
