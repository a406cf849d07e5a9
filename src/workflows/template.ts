/**
 * Fills `{{name}}` and `{{a.b}}` placeholders from `values`; missing values become ''.
 * Pure, so both workflow code (message texts) and activities (CRM URLs) use it.
 */
export function fillTemplate(
  template: string,
  values: Record<string, unknown>,
  encode: (value: string) => string = (value) => value,
): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, name: string) => {
    const value = name
      .split('.')
      .reduce<unknown>((at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), values);
    return value === undefined || value === null ? '' : encode(String(value));
  });
}
