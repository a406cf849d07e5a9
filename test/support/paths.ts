/** The steps of a contact asked for an email who answers validly and is routed by the CRM's answer. */
export function askedThenRouted(tier: string): string[] {
  return ['trigger', 'check_email', 'ask_email', 'valid_reply', 'save_email', 'check_email', 'fetch_crm', `tier:${tier}`, 'assigned'];
}
