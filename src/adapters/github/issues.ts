// Issues, comments, labels and reactions of one repository. Conveyor's own issues (holds,
// freezes, config and error reports) are found by a hidden marker in their body, so titles can
// change without creating duplicates; the marker's text belongs to core/markers.ts.
import { markerTag } from "../../core/markers.js";
import { statusOf, type Octokit, type RepoRef } from "./client.js";

export interface IssueSummary {
  number: number;
  title: string;
  body: string;
  createdAt?: string;
}

export type Reaction = "eyes" | "rocket" | "+1" | "confused";

/**
 * One upsert at a time per (repository, marker) in this process: "look, then create" by two
 * events at once would otherwise open the same issue twice.
 */
const upserts = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = upserts.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const tail = next.catch(() => undefined);
  upserts.set(key, tail);
  void tail.then(() => {
    if (upserts.get(key) === tail) upserts.delete(key);
  });
  return next;
}

export class Issues {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  async comment(issueNumber: number, body: string): Promise<{ id: number; url: string }> {
    const { data } = await this.octokit.rest.issues.createComment({ ...this.ref, issue_number: issueNumber, body });
    return { id: data.id, url: data.html_url };
  }

  /** Is there a comment carrying this marker on the issue or PR? (1 call per 100 comments.) */
  async hasComment(issueNumber: number, marker: string): Promise<boolean> {
    const tag = markerTag(marker);
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      ...this.ref,
      issue_number: issueNumber,
      per_page: 100,
    });
    return comments.some((c) => (c.body ?? "").includes(tag));
  }

  /** Open issues (not PRs) with a label (1 call, at most 100). */
  async listOpen(label: string): Promise<IssueSummary[]> {
    const { data } = await this.octokit.rest.issues.listForRepo({
      ...this.ref,
      state: "open",
      labels: label,
      per_page: 100,
    });
    return data
      .filter((issue) => !issue.pull_request)
      .map((issue) => ({
        number: issue.number,
        title: issue.title,
        body: issue.body ?? "",
        createdAt: issue.created_at,
      }));
  }

  /** The open issue with this label and marker, if any (1 call). */
  async findOpen(label: string, marker: string): Promise<IssueSummary | undefined> {
    const tag = markerTag(marker);
    return (await this.listOpen(label)).find((issue) => issue.body.includes(tag));
  }

  /** One open issue per marker: updated when it exists (and differs), created otherwise (2 calls). */
  upsert(input: {
    label: string;
    marker: string;
    title: string;
    body: string;
  }): Promise<{ number: number; created: boolean }> {
    return serialized(`${this.ref.owner}/${this.ref.repo}#${input.marker}`, () => this.upsertNow(input));
  }

  private async upsertNow(input: {
    label: string;
    marker: string;
    title: string;
    body: string;
  }): Promise<{ number: number; created: boolean }> {
    const body = `${input.body}\n\n${markerTag(input.marker)}`;
    const existing = await this.findOpen(input.label, input.marker);
    if (existing) {
      if (existing.body !== body || existing.title !== input.title) {
        await this.octokit.rest.issues.update({ ...this.ref, issue_number: existing.number, title: input.title, body });
      }
      return { number: existing.number, created: false };
    }
    const created = await this.octokit.rest.issues.create({
      ...this.ref,
      title: input.title,
      body,
      labels: [input.label],
    });
    return { number: created.data.number, created: true };
  }

  /** The newest issue, open or closed, with this label and marker (1 call, the latest 100). */
  async findAny(label: string, marker: string): Promise<(IssueSummary & { open: boolean }) | undefined> {
    const tag = markerTag(marker);
    const { data } = await this.octokit.rest.issues.listForRepo({
      ...this.ref,
      state: "all",
      labels: label,
      sort: "created",
      direction: "desc",
      per_page: 100,
    });
    const issue = data.find((i) => !i.pull_request && (i.body ?? "").includes(tag));
    return issue
      ? { number: issue.number, title: issue.title, body: issue.body ?? "", open: issue.state === "open" }
      : undefined;
  }

  /** Opens an issue with one label (1 call). */
  async create(input: { title: string; body: string; label: string }): Promise<number> {
    const { data } = await this.octokit.rest.issues.create({
      ...this.ref,
      title: input.title,
      body: input.body,
      labels: [input.label],
    });
    return data.number;
  }

  /** Edits an issue's title and body, and reopens it when asked (1 call). */
  async edit(issueNumber: number, input: { title: string; body: string; reopen?: boolean }): Promise<void> {
    await this.octokit.rest.issues.update({
      ...this.ref,
      issue_number: issueNumber,
      title: input.title,
      body: input.body,
      ...(input.reopen ? { state: "open" as const } : {}),
    });
  }

  /** Closes the open issues with this label and marker (1 call, plus 2 per issue closed). */
  async close(input: { label: string; marker: string; comment: string }): Promise<number> {
    return (await this.closeAll(input)).length;
  }

  /** As `close`, returning the issues it closed (what their bodies said). */
  async closeAll(input: { label: string; marker: string; comment: string }): Promise<IssueSummary[]> {
    const tag = markerTag(input.marker);
    const open = (await this.listOpen(input.label)).filter((issue) => issue.body.includes(tag));
    for (const issue of open) await this.closeOne(issue.number, input.comment);
    return open;
  }

  /** Comments on an issue, then closes it as completed (2 calls). */
  async closeOne(issueNumber: number, comment: string): Promise<void> {
    await this.octokit.rest.issues.createComment({ ...this.ref, issue_number: issueNumber, body: comment });
    await this.octokit.rest.issues.update({
      ...this.ref,
      issue_number: issueNumber,
      state: "closed",
      state_reason: "completed",
    });
  }

  async addLabels(issueNumber: number, labels: string[]): Promise<void> {
    await this.octokit.rest.issues.addLabels({ ...this.ref, issue_number: issueNumber, labels });
  }

  /** Removes a label (1 call); true when it was there. */
  async removeLabel(issueNumber: number, name: string): Promise<boolean> {
    try {
      await this.octokit.rest.issues.removeLabel({ ...this.ref, issue_number: issueNumber, name });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Reacts to an issue comment (1 call); reactions are courtesy, so failures are swallowed. */
  async react(commentId: number, content: Reaction): Promise<void> {
    try {
      await this.octokit.rest.reactions.createForIssueComment({ ...this.ref, comment_id: commentId, content });
    } catch {
      // A missing reaction must not stop the command it acknowledges.
    }
  }
}
