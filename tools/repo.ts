import path from 'node:path';

/** The checkout: what tools, scripts and tests resolve the repository's files against. */
export const REPO_ROOT = path.join(__dirname, '..');
