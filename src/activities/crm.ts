import { Context, log } from '@temporalio/activity';
import { JSONPath } from 'jsonpath-plus';
import { crmRequests } from '../metrics';
import type { CrmConfig } from '../routing-config';
import { fillTemplate } from '../workflows/template';
import type { ContactInput, CrmOutcome } from '../domain';

export interface CrmLookup {
  email: string;
  contact: ContactInput;
  crm: CrmConfig;
}

/** `${env:NAME}` in header values, resolved here so that secrets never enter workflow history. */
export function resolveEnvReferences(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const resolved = env[name];
    if (resolved === undefined) throw new Error(`environment variable ${name} named by the CRM config is not set`);
    return resolved;
  });
}

export function mapFields(body: unknown, mapping: Record<string, string>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [field, path] of Object.entries(mapping)) {
    const value: unknown = JSONPath({ path, json: body as object, wrap: false });
    if (value !== undefined && value !== null) fields[field] = value;
  }
  return fields;
}

/**
 * One CRM request. Outcomes are values, not exceptions: the workflow owns the retry loop so that each
 * attempt and its reason are visible in the history.
 */
export function createCrmActivities(deps: { fetch: typeof fetch; env: NodeJS.ProcessEnv; directoryUrl?: string; directoryApiKey?: string }) {
  return {
    async fetchCustomerData(lookup: CrmLookup): Promise<CrmOutcome> {
      const outcome = await lookupCustomer(lookup);
      crmRequests.inc({ outcome: outcome.outcome });
      return outcome;
    },
  };

  async function lookupCustomer({ email, contact, crm }: CrmLookup): Promise<CrmOutcome> {
    const template = crm.url ?? deps.directoryUrl;
    if (!template) return { outcome: 'error', retryable: false, reason: 'no CRM url configured and no built-in directory known' };
    const values = { email, contact };
    const url = fillTemplate(template, values, encodeURIComponent);
    let headers: Record<string, string>;
    try {
      headers = Object.fromEntries(
        Object.entries(crm.headers).map(([name, value]) => [name, resolveEnvReferences(value, deps.env)]),
      );
    } catch (error) {
      return { outcome: 'error', retryable: false, reason: (error as Error).message };
    }
    // The built-in directory sits behind the API's keys like every other route.
    if (!crm.url && deps.directoryApiKey) headers['authorization'] = `Bearer ${deps.directoryApiKey}`;
    const body = crm.body === undefined ? undefined : fillTemplate(crm.body, values, (v) => JSON.stringify(v).slice(1, -1));
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }

    let response: Response;
    try {
      response = await deps.fetch(url, {
        method: crm.method,
        headers,
        body,
        signal: AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(crm.timeout)]),
      });
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError' ? `no answer within ${crm.timeout} ms` : `request failed: ${(error as Error).message}`;
      log.warn('CRM request failed', { reason });
      return { outcome: 'error', retryable: true, reason };
    }

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
    } catch {
      return { outcome: 'error', retryable: false, status, reason: 'CRM answer is not JSON' };
    }
    return { outcome: 'found', status, fields: mapFields(json, crm.mapping) };
  }
}
