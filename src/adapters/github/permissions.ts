// Who may do what: a user's permission on a repository and team membership.
import type { Permission } from "../../core/command-plan.js";
import { statusOf, type Octokit, type RepoRef } from "./client.js";

export class Permissions {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  /** The user's permission on the repository (1 call); "none" when GitHub does not know them. */
  async of(username: string): Promise<Permission> {
    try {
      const { data } = await this.octokit.rest.repos.getCollaboratorPermissionLevel({ ...this.ref, username });
      const role = (data as { role_name?: string }).role_name;
      if (role === "maintain" || role === "triage") return role;
      return data.permission === "admin" || data.permission === "write" || data.permission === "read"
        ? data.permission
        : "none";
    } catch (error) {
      if (statusOf(error) === 404) return "none";
      throw error;
    }
  }

  /** Is the user an active member of org/team? (1 call; 404 and 403 mean no or cannot tell: no.) */
  async isTeamMember(org: string, team: string, username: string): Promise<boolean> {
    try {
      const { data } = await this.octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: team, username });
      return data.state === "active";
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 403) return false;
      throw error;
    }
  }
}
