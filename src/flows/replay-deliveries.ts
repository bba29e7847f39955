// GitHub is the intake's durable queue. A deploy event is answered before its PR exists, so a
// crash in between would lose it, and GitHub does not redeliver an answered delivery. The leader
// therefore reads the app's recent deliveries at start-up and then every minute: answered deploy
// events this process never handled are handled again (replay mode: a PR that exists is found,
// a refusal is not said twice), and deliveries nothing answered (Conveyor was down) are
// redelivered. The decision is core/replay.ts.
import type { EventRepo } from "../adapters/github/event.js";
import { describeError } from "../adapters/github/client.js";
import { planReplay, type DeliveryRecord } from "../core/replay.js";
import { OncePer } from "../runtime/once-per.js";
import type { Log, Services } from "./services.js";
import { takeDispatch } from "./take-dispatch.js";

export interface ReplayOptions {
  /** Did this process handle the delivery (its guid)? */
  handled(guid: string): Promise<boolean>;
  /** Remember that this process handled it (a later redelivery is then a duplicate). */
  remember(guid: string): Promise<void>;
  /** How far back the first look goes (default 6 h). */
  lookbackMs?: number;
  /** How long an answered delivery is left to the replica that answered it (default 5 min). */
  settleMs?: number;
  now?: () => number;
}

export interface ReplayReport {
  replayed: number;
  redelivered: number;
}

type RepositoryPayload = {
  action?: unknown;
  client_payload?: unknown;
  repository?: {
    name?: string;
    owner?: { login?: string };
    clone_url?: string;
    html_url?: string;
    default_branch?: string;
  };
  installation?: { id?: number };
};

export class DeliveryReplayer {
  private readonly now: () => number;
  private readonly startedAt: number;
  private since: number;
  private readonly settleMs: number;
  /** Redeliveries asked for, not asked again for ten minutes. */
  private readonly asked = new OncePer(600_000, 50_000);
  private running?: Promise<ReplayReport>;

  constructor(
    private readonly services: Services,
    private readonly log: Log,
    private readonly options: ReplayOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.since = this.startedAt - (options.lookbackMs ?? 6 * 3_600_000);
    this.settleMs = options.settleMs ?? 300_000;
  }

  /** One look at GitHub's deliveries; concurrent calls share it. */
  run(): Promise<ReplayReport> {
    this.running ??= this.look().finally(() => (this.running = undefined));
    return this.running;
  }

  private async look(): Promise<ReplayReport> {
    const now = this.now();
    const since = this.since;
    const records = await this.services.github.deliveries.recent((r) => Date.parse(r.deliveredAt) < since);
    const handled = new Set<string>();
    // Only answered deploy events can be replayed: only theirs are looked up (shared memory is a call each).
    for (const record of records)
      if (
        record.event === "repository_dispatch" &&
        !handled.has(record.guid) &&
        (await this.options.handled(record.guid))
      )
        handled.add(record.guid);
    const plan = planReplay({
      records,
      since,
      settledBefore: Math.max(this.startedAt, now - this.settleMs),
      handled: (guid) => handled.has(guid),
      asked: (guid) => this.asked.has(guid),
    });
    let replayed = 0;
    for (const record of plan.replay) {
      try {
        if (await this.replay(record)) replayed++;
      } catch (error) {
        // Left for the next look: nothing is remembered about a delivery that failed to replay.
        this.log.warn({ delivery: record.guid, err: describeError(error) }, "replaying a deploy event failed");
      }
    }
    let redelivered = 0;
    for (const record of plan.redeliver) {
      try {
        await this.services.github.deliveries.redeliver(record.id);
        this.asked.take(record.guid);
        redelivered++;
      } catch (error) {
        this.log.warn({ delivery: record.guid, err: describeError(error) }, "asking GitHub to redeliver failed");
      }
    }
    if (replayed || redelivered)
      this.log.info(
        { replayed, redelivered },
        `replayed ${replayed} deploy event(s), asked for ${redelivered} redelivery(ies)`,
      );
    // The next look reads again what may still change: answers not yet settled, and redeliveries.
    this.since = Math.max(since, now - 2 * this.settleMs);
    return { replayed, redelivered };
  }

  private async replay(record: DeliveryRecord): Promise<boolean> {
    const payload = (await this.services.github.deliveries.payload(record.id)) as RepositoryPayload;
    const repository = payload.repository;
    const owner = repository?.owner?.login;
    const name = repository?.name;
    const installationId = payload.installation?.id ?? record.installationId ?? undefined;
    if (!owner || !name || installationId === undefined || typeof payload.action !== "string") return false;
    const gh = await this.services.github.repo(installationId, { owner, repo: name });
    const htmlUrl = repository.html_url ?? "";
    const repo: EventRepo = {
      gh,
      installationId,
      cloneUrl: repository.clone_url ?? `${htmlUrl}.git`,
      defaultBranch: repository.default_branch ?? "main",
      htmlUrl,
    };
    const log = this.log.child({ delivery: record.guid, replay: true });
    await takeDispatch(
      this.services,
      repo,
      { eventType: payload.action, clientPayload: payload.client_payload, deliveryId: record.guid, replay: true },
      log,
    );
    await this.options.remember(record.guid);
    return true;
  }
}
