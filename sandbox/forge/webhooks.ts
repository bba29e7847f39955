/**
 * Webhook delivery: GitHub App style POSTs, signed with the webhook secret,
 * delivered one at a time per repository, awaited, recorded.
 */
import { createHmac, randomUUID } from "node:crypto";

export interface WebhookDelivery {
  /** X-GitHub-Delivery (GitHub's `guid`: the same for every attempt of one event). */
  id: string;
  /** This attempt's number (GitHub's delivery `id`), unique across attempts. */
  attempt: number;
  /** A redelivery asked for through the API (POST /app/hook/deliveries/{id}/attempts). */
  redelivery: boolean;
  event: string;
  action: string | null;
  /** "owner/repo", or null for events without a repository */
  repo: string | null;
  payload: Record<string, unknown>;
  /** HTTP status of the receiver's answer; null when not delivered. */
  status: number | null;
  error: string | null;
  deliveredAt: string | null;
  /** How long the receiver took to answer (or to fail), in seconds. */
  duration: number;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

export function sign(secret: string, body: string, algo: "sha256" | "sha1" = "sha256"): string {
  return `${algo}=${createHmac(algo, secret).update(body).digest("hex")}`;
}

export class WebhookDispatcher {
  readonly deliveries: WebhookDelivery[] = [];
  target: WebhookTarget | null;
  private attempts = 0;
  private chains = new Map<string, Promise<void>>();
  private inFlight = new Set<Promise<void>>();
  private listeners = new Set<(d: WebhookDelivery) => void>();
  private emitListeners = new Set<(d: WebhookDelivery) => void>();

  constructor(
    target: WebhookTarget | undefined,
    private readonly hookTarget: () => { appId: number } | null,
    private readonly log: (msg: string) => void,
  ) {
    this.target = target ?? null;
  }

  /** Queue a delivery; deliveries for one repository go out in order. */
  emit(event: string, payload: Record<string, unknown>): WebhookDelivery {
    return this.queue(randomUUID(), event, payload, false);
  }

  /** A new attempt of a recorded delivery (same guid, a new attempt number); undefined if there is no such attempt. */
  redeliver(attempt: number): WebhookDelivery | undefined {
    const first = this.deliveries.find((d) => d.attempt === attempt);
    return first ? this.queue(first.id, first.event, first.payload, true) : undefined;
  }

  private queue(guid: string, event: string, payload: Record<string, unknown>, redelivery: boolean): WebhookDelivery {
    const repo = payload["repository"] as { full_name?: string } | undefined;
    const delivery: WebhookDelivery = {
      id: guid,
      attempt: ++this.attempts,
      redelivery,
      duration: 0,
      event,
      action: typeof payload["action"] === "string" ? payload["action"] : null,
      repo: repo?.full_name ?? null,
      payload,
      status: null,
      error: null,
      deliveredAt: null,
    };
    this.deliveries.push(delivery);
    for (const fn of this.emitListeners) fn(delivery);
    const key = delivery.repo ?? "";
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.deliver(delivery));
    this.chains.set(key, next);
    this.inFlight.add(next);
    void next.finally(() => {
      this.inFlight.delete(next);
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return delivery;
  }

  /** Resolves once no delivery is queued or in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Called synchronously whenever an event is queued. */
  onEmit(fn: (d: WebhookDelivery) => void): () => void {
    this.emitListeners.add(fn);
    return () => this.emitListeners.delete(fn);
  }

  /** Called after each delivery attempt. */
  onDelivery(fn: (d: WebhookDelivery) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async deliver(d: WebhookDelivery): Promise<void> {
    const target = this.target;
    const started = performance.now();
    try {
      if (!target) {
        d.error = "no webhook URL configured";
        return;
      }
      const body = JSON.stringify(d.payload);
      const hook = this.hookTarget();
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/forge",
        "x-github-event": d.event,
        "x-github-delivery": d.id,
        "x-github-hook-id": "1",
        "x-hub-signature": sign(target.secret, body, "sha1"),
        "x-hub-signature-256": sign(target.secret, body),
      };
      if (hook) {
        headers["x-github-hook-installation-target-type"] = "integration";
        headers["x-github-hook-installation-target-id"] = String(hook.appId);
      }
      const res = await fetch(target.url, { method: "POST", headers, body, signal: AbortSignal.timeout(30_000) });
      d.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 400) this.log(`forge: webhook ${d.event} ${d.id} answered ${res.status}`);
    } catch (err) {
      d.error = err instanceof Error ? err.message : String(err);
      this.log(`forge: webhook ${d.event} ${d.id} failed: ${d.error}`);
    } finally {
      d.deliveredAt = new Date().toISOString();
      d.duration = Math.round(performance.now() - started) / 1000;
      for (const fn of this.listeners) {
        try {
          fn(d);
        } catch {
          // listeners must not break delivery
        }
      }
    }
  }
}
