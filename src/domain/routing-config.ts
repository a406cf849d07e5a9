import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type RoutingConfig, routingConfigSchema } from './routing-config-schema';

export * from './routing-config-schema';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a routing config object; the error lists every problem with its path. */
export function parseRoutingConfig(raw: unknown, source = 'routing config'): RoutingConfig {
  const result = routingConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`${source} is invalid:\n${problems.join('\n')}`);
  }
  return result.data;
}

export function loadRoutingConfigFile(path: string): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read routing config ${path}`, { cause });
  }
  return parseRoutingConfig(parseYaml(text), path);
}
