import { Context, log } from '@temporalio/activity';
import { JSONPath } from 'jsonpath-plus';
import { crmRequests } from '../observability/metrics';
import { type Deadline, deadline } from '../net/deadline';
import { ConfigError, type CrmConfig, type RoutingConfig } from '../domain/routing-config';
import type { RuleVersions } from '../db/rule-versions';
import { fillTemplate } from '../workflows/template';
import type { ContactInput, CrmOutcome } from '../domain/conversation';

export interface CrmLookup {
  email: string;
  contact: ContactInput;
  /** The version of the rules the run started with: the CRM settings are read from the registry under it. */
  rulesVersion?: string;
  /**
   * Runs started before rule versions carried their CRM settings: used only when they are exactly those of a
   * recorded config, else the worker's own are.
   */
  crm?: CrmConfig;
}

/** The setting that lists the environment variables CRM headers may name. */
const CRM_ENV_SETTING = 'VIP_ROUTER_CRM_ENV';

/**
 * Names `${env:NAME}` must never reach, even when an operator lists them: the service's own secrets, its database's
 * and Temporal's connection settings.
 */
const SERVICE_SECRETS = [/^VIP_ROUTER_/, /^TEMPORAL_/, /^RESPONDIO_/, /^PG/, /^DATABASE_URL$/, /^OUTBOUND_WEBHOOK_SECRET$/];

/** The operator's list of variables CRM headers may name; a service secret in it is a configuration error. */
export function checkCrmEnvNames(names: readonly string[]): string[] {
  const refused = names.filter((name) => SERVICE_SECRETS.some((pattern) => pattern.test(name)));
  if (refused.length > 0) {
    throw new ConfigError(`${CRM_ENV_SETTING} lists ${refused.join(', ')}: the service's own secrets cannot be sent to a CRM`);
  }
  return [...names];
}

/** A value the CRM step refuses to send: its outcome is a final error naming why. */
class CrmRefusal extends Error {}

/**
 * `${env:NAME}` in header values, resolved here so that secrets never enter workflow history; only names the
 * operator listed are looked up, and the environment is not read for any other.
 */
function resolveEnvReferences(value: string, env: NodeJS.ProcessEnv, allowed: ReadonlySet<string>): string {
  return value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    if (!allowed.has(name)) throw new CrmRefusal(`environment variable ${name} named by the CRM config is not listed in ${CRM_ENV_SETTING}`);
    const resolved = env[name];
    if (resolved === undefined) throw new CrmRefusal(`environment variable ${name} named by the CRM config is not set`);
    return resolved;
  });
}

/**
 * The CRM url with its placeholders filled, encoded so that no value can leave its place: `/` and `.` are encoded
 * too, and the url as fetch will send it (dot segments resolved) must still start with the configured url up to its
 * first placeholder. Undefined when it does not.
 */
export function fillCrmUrl(template: string, values: Record<string, unknown>): string | undefined {
  const placeholder = template.search(/\{\{/);
  const prefix = placeholder === -1 ? template : template.slice(0, placeholder);
  const filled = fillTemplate(template, values, (value) => encodeURIComponent(value).replaceAll('.', '%2E'));
  try {
    const url = new URL(filled).href;
    return url.startsWith(new URL(prefix).href) ? url : undefined;
  } catch {
    return undefined;
  }
}

function mapFields(body: unknown, mapping: Record<string, string>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [field, path] of Object.entries(mapping)) {
    let value: unknown;
    try {
      // No script expressions: a mapping selects fields, it never runs code.
      value = JSONPath({ path, json: body as object, wrap: false, eval: false });
    } catch (error) {
      throw new CrmRefusal(`the CRM mapping of ${field} (${path}) cannot be used: ${(error as Error).message}`, { cause: error });
    }
    if (value !== undefined && value !== null) fields[field] = value;
  }
  return fields;
}

export interface CrmDeps {
  fetch: typeof fetch;
  env: NodeJS.ProcessEnv;
  /** The variables `${env:NAME}` may name (VIP_ROUTER_CRM_ENV). */
  envNames?: readonly string[];
  /** Where the CRM settings of a run's rules version are read. */
  rules: RuleVersions;
  /** This worker's own routing config: the CRM settings of runs whose own are not recorded. */
  current?: RoutingConfig;
  directoryUrl?: string;
  directoryApiKey?: string;
}

/**
 * One CRM request. Outcomes are values, not exceptions: the workflow owns the retry loop so that each
 * attempt and its reason are visible in the history.
 */
export function createCrmActivities(deps: CrmDeps) {
  const envNames = new Set(checkCrmEnvNames(deps.envNames ?? []));
  return {
    async fetchCustomerData(lookup: CrmLookup): Promise<CrmOutcome> {
      const settings = await crmSettings(lookup).catch((error: unknown): CrmOutcome => ({
        outcome: 'error',
        retryable: true,
        reason: `cannot read the routing rules: ${(error as Error).message}`,
      }));
      const outcome = 'outcome' in settings ? settings : await withNote(request(lookup, settings.crm), settings.note);
      crmRequests.inc({ outcome: outcome.outcome });
      return outcome;
    },
  };

  /** The run's CRM settings, from the registry: never from the lookup's own settings unless they are recorded ones. */
  async function crmSettings({ rulesVersion, crm }: CrmLookup): Promise<{ crm: CrmConfig; note?: string } | CrmOutcome> {
    if (rulesVersion !== undefined) {
      const rules = await deps.rules.rules(rulesVersion);
      if (rules) return { crm: rules.crm };
      return { outcome: 'error', retryable: false, reason: `the run's rules version ${rulesVersion.slice(0, 12)} is not recorded` };
    }
    if (crm && (await deps.rules.knowsCrm(crm))) return { crm };
    const unrecorded = "the run's CRM settings are not those of any recorded routing config";
    if (!deps.current) return { outcome: 'error', retryable: false, reason: `${unrecorded}, and this worker has no routing config of its own` };
    const note = `${unrecorded}: the worker's own were used`;
    log.warn(note);
    return { crm: deps.current.crm, note };
  }

  async function withNote(outcome: Promise<CrmOutcome>, note: string | undefined): Promise<CrmOutcome> {
    return note ? { ...(await outcome), note } : outcome;
  }

  async function request({ email, contact }: Pick<CrmLookup, 'email' | 'contact'>, crm: CrmConfig): Promise<CrmOutcome> {
    const template = crm.url ?? deps.directoryUrl;
    if (!template) return { outcome: 'error', retryable: false, reason: 'no CRM url configured and no built-in directory known' };
    const values = { email, contact };
    const url = fillCrmUrl(template, values);
    if (url === undefined) {
      return { outcome: 'error', retryable: false, reason: 'the CRM url, filled in, leaves the configured url: refused' };
    }
    let headers: Record<string, string>;
    try {
      headers = Object.fromEntries(
        Object.entries(crm.headers).map(([name, value]) => [name, resolveEnvReferences(value, deps.env, envNames)]),
      );
    } catch (error) {
      if (!(error instanceof CrmRefusal)) throw error;
      return { outcome: 'error', retryable: false, reason: error.message };
    }
    // The built-in directory sits behind the API's keys like every other route.
    if (!crm.url && deps.directoryApiKey) headers['authorization'] = `Bearer ${deps.directoryApiKey}`;
    const body = crm.body === undefined ? undefined : fillTemplate(crm.body, values, (v) => JSON.stringify(v).slice(1, -1));
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }

    const within = deadline(crm.timeout, Context.current().cancellationSignal);
    try {
      return await answer(await deps.fetch(url, { method: crm.method, headers, body, signal: within.signal }), crm, within);
    } catch (error) {
      const reason = within.expired ? `no answer within ${crm.timeout} ms` : `request failed: ${(error as Error).message}`;
      log.warn('CRM request failed', { reason });
      return { outcome: 'error', retryable: true, reason };
    } finally {
      within.dispose();
    }
  }

  /** The CRM's answer as an outcome; its body is read within the request's deadline. */
  async function answer(response: Response, crm: CrmConfig, within: Deadline): Promise<CrmOutcome> {
    const status = response.status;
    if (status === 404) return { outcome: 'not_found', status };
    if (status >= 500 || status === 429 || status === 408) {
      return { outcome: 'error', retryable: true, status, reason: `CRM answered ${status}` };
    }
    if (status >= 400 || status < 200 || status >= 300) {
      return { outcome: 'error', retryable: false, status, reason: `CRM answered ${status}` };
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (error) {
      if (within.expired) throw error;
      return { outcome: 'error', retryable: false, status, reason: 'CRM answer is not JSON' };
    }
    try {
      return { outcome: 'found', status, fields: mapFields(json, crm.mapping) };
    } catch (error) {
      if (!(error instanceof CrmRefusal)) throw error;
      return { outcome: 'error', retryable: false, status, reason: error.message };
    }
  }
}
