import type { Workspaces } from "../adapters/workspaces.js";
import type { KeyedQueue } from "../runtime/keyed-queue.js";
import type { Verifier } from "../runtime/verifier.js";
import type { Background } from "../runtime/background.js";

/** Long-lived parts the handlers share for the life of the process. */
export interface AppServices {
  workspaces: Workspaces;
  queue: KeyedQueue;
  /** Work that continues after its webhook was answered. */
  background: Background;
  /** Present when an Argo CD source is configured; without it merges are not verified. */
  verifier?: Verifier;
}
