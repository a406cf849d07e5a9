/** "pt-BR" → "pt": texts are chosen by the primary language subtag; undefined when the tag is not one. */
export function primaryLanguage(tag: string | null | undefined): string | undefined {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return primary && /^[a-z]{2,3}$/.test(primary) ? primary : undefined;
}
