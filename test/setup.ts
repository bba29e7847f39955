// Runs around every test file: strict GitHub mocks check themselves after each test, so a test
// that made an unexpected call, or expected one that never came, fails without saying so itself.
import { afterEach } from "vitest";
import { verifyGitHubMocks } from "./helpers/github-mock.js";

afterEach(() => verifyGitHubMocks());
