import type { Workspaces } from "../adapters/workspaces.js";
import type { KeyedQueue } from "../runtime/keyed-queue.js";

/** Long-lived parts the handlers share for the life of the process. */
export interface AppServices {
  workspaces: Workspaces;
  queue: KeyedQueue;
}
