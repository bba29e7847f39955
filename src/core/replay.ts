// Which of the app's recent webhook deliveries (GitHub's record, newest first) still need
// something: answered deploy events this process never handled are replayed (handling them again
// changes nothing when their PR exists), and deliveries no attempt of which was answered are
// redelivered. Pure: GitHub's listing and what this process remembers come in as data.

export interface DeliveryRecord {
  /** This attempt (GitHub's delivery id). */
  id: number;
  /** The event (X-GitHub-Delivery), the same for every attempt. */
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  /** The receiver's HTTP status; 0 when nothing answered. */
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
}

export interface ReplayInput {
  records: DeliveryRecord[];
  /** Deliveries older than this (ms since the epoch) are left alone. */
  since: number;
  /** Answered deliveries younger than this are left to whoever answered them (still working on them). */
  settledBefore: number;
  /** This process handled the delivery (or replayed it already). */
  handled(guid: string): boolean;
  /** This process asked for a redelivery of it recently. */
  asked(guid: string): boolean;
}

export interface ReplayPlan {
  /** Answered repository_dispatch deliveries to handle again, oldest first. */
  replay: DeliveryRecord[];
  /** The latest attempt of each delivery nothing answered, oldest first. */
  redeliver: DeliveryRecord[];
}

const answered = (r: DeliveryRecord) => r.statusCode >= 200 && r.statusCode < 300;

export function planReplay(input: ReplayInput): ReplayPlan {
  const byGuid = new Map<string, DeliveryRecord[]>();
  for (const record of input.records) {
    if (!(Date.parse(record.deliveredAt) >= input.since)) continue;
    const attempts = byGuid.get(record.guid) ?? [];
    attempts.push(record);
    byGuid.set(record.guid, attempts);
  }
  const replay: DeliveryRecord[] = [];
  const redeliver: DeliveryRecord[] = [];
  for (const [guid, attempts] of byGuid) {
    attempts.sort((a, b) => Date.parse(a.deliveredAt) - Date.parse(b.deliveredAt) || a.id - b.id);
    const ok = attempts.find(answered);
    if (ok) {
      if (
        ok.event === "repository_dispatch" &&
        Date.parse(ok.deliveredAt) < input.settledBefore &&
        !input.handled(guid)
      )
        replay.push(ok);
      continue;
    }
    if (!input.asked(guid)) redeliver.push(attempts[attempts.length - 1] as DeliveryRecord);
  }
  const byTime = (a: DeliveryRecord, b: DeliveryRecord) =>
    Date.parse(a.deliveredAt) - Date.parse(b.deliveredAt) || a.id - b.id;
  return { replay: replay.sort(byTime), redeliver: redeliver.sort(byTime) };
}
