/**
 * How respond.io's API names a contact: `id:<number>` for contacts that came from respond.io (their ids are
 * numbers), else `email:` or `phone:` from what we know of them; undefined when there is nothing to name them by.
 */
export function contactIdentifier(contact: { id: string; email?: string | null; phone?: string | null }): string | undefined {
  if (/^\d{1,20}$/.test(contact.id)) return `id:${contact.id}`;
  if (contact.email) return `email:${contact.email}`;
  const phone = contact.phone?.replace(/[\s()-]/g, '');
  if (phone && /^\+\d{6,15}$/.test(phone)) return `phone:${phone}`;
  return undefined;
}
