/**
 * What the flow says to a contact (and notes for agents), per language. Placeholders: {{firstName}},
 * {{lastName}}, {{email}} (the thank-you), {{invalidReplies}} (the escalation note), {{opensAt}} (out of hours),
 * {{agent}} and {{within}} (the first-response note), {{wait}} and {{position}} (the queue notices).
 */
export interface MessageSet {
  question: string;
  invalid: string;
  success: string;
  /** A note for agents when the contact sent too many replies that were not an email address. */
  escalationNote: string;
  /** A note for agents when the contact did not answer the email question in time. */
  escalationNoReply: string;
  /** A note for agents when nobody on the routing chain took the conversation within the queue's maximum wait. */
  escalationQueueTimeout: string;
  /** To a contact who writes outside business hours: the team is away, and opens {{opensAt}} ("tomorrow at 09:00"). */
  outOfHours: string;
  /** A note for agents when the assignee did not write to the contact within the tier's first-response time. */
  firstResponseMissed: string;
  /** To a queued contact when the wait can be estimated: {{wait}} is e.g. "15 minutes", in the same language. */
  queued: string;
  /** To a queued contact when it cannot: too few recent assignments of their tier to tell. */
  queuedFewMinutes: string;
}

export const MESSAGE_KEYS = [
  'question',
  'invalid',
  'success',
  'escalationNote',
  'escalationNoReply',
  'escalationQueueTimeout',
  'outOfHours',
  'firstResponseMissed',
  'queued',
  'queuedFewMinutes',
] as const;

/** Shipped languages; routing.yaml can override any text and add languages. */
export const SHIPPED_MESSAGES: Record<'en' | 'es' | 'pt', MessageSet> = {
  en: {
    question: 'Hello! To route you to the right person, could you share your email address?',
    invalid: "That doesn't look like an email address. Could you send it again? (e.g. name@example.com)",
    success: 'Thanks! We saved your email and are connecting you with an agent.',
    escalationNote: 'Escalated: the contact sent {{invalidReplies}} replies that were not a valid email address.',
    escalationNoReply: 'Escalated: the contact did not reply to the email question.',
    escalationQueueTimeout: 'Escalated: nobody on the routing chain became available in time.',
    outOfHours: 'Thanks for your message! Our team is away right now. We are back {{opensAt}} and will answer you then.',
    firstResponseMissed: 'Reassigned: no reply from {{agent}} within {{within}}.',
    queued: "All our agents are busy right now. You're in the queue and we'll connect you as soon as someone is free. Expected wait: about {{wait}}.",
    queuedFewMinutes: "All our agents are busy right now. You're in the queue and we'll connect you in a few minutes.",
  },
  es: {
    question: '¡Hola! Para dirigirte a la persona adecuada, ¿podrías compartir tu correo electrónico?',
    invalid: 'Eso no parece una dirección de correo electrónico. ¿Podrías enviarla de nuevo? (p. ej., nombre@ejemplo.com)',
    success: '¡Gracias! Guardamos tu correo y te estamos conectando con un agente.',
    escalationNote: 'Escalado: el contacto envió {{invalidReplies}} respuestas que no eran un correo electrónico válido.',
    escalationNoReply: 'Escalado: el contacto no respondió a la pregunta por su correo electrónico.',
    escalationQueueTimeout: 'Escalado: nadie de la cadena de asignación quedó disponible a tiempo.',
    outOfHours: '¡Gracias por tu mensaje! Nuestro equipo no está disponible ahora. Volvemos {{opensAt}} y te responderemos entonces.',
    firstResponseMissed: 'Reasignado: {{agent}} no respondió en {{within}}.',
    queued: 'Todos nuestros agentes están ocupados en este momento. Estás en la cola y te atenderemos en cuanto alguien quede libre. Tiempo de espera aproximado: {{wait}}.',
    queuedFewMinutes: 'Todos nuestros agentes están ocupados en este momento. Estás en la cola y te atenderemos en unos minutos.',
  },
  pt: {
    question: 'Olá! Para direcionar você à pessoa certa, pode nos informar o seu e-mail?',
    invalid: 'Isso não parece um endereço de e-mail. Pode enviar novamente? (ex.: nome@exemplo.com)',
    success: 'Obrigado! Salvamos o seu e-mail e estamos conectando você a um atendente.',
    escalationNote: 'Escalado: o contato enviou {{invalidReplies}} respostas que não eram um e-mail válido.',
    escalationNoReply: 'Escalado: o contato não respondeu à pergunta sobre o e-mail.',
    escalationQueueTimeout: 'Escalado: ninguém da cadeia de atribuição ficou disponível a tempo.',
    outOfHours: 'Obrigado pela sua mensagem! Nossa equipe não está disponível agora. Voltamos {{opensAt}} e responderemos você então.',
    firstResponseMissed: 'Reatribuído: {{agent}} não respondeu em {{within}}.',
    queued: 'Todos os nossos atendentes estão ocupados no momento. Você está na fila e será atendido assim que alguém ficar livre. Tempo de espera aproximado: {{wait}}.',
    queuedFewMinutes: 'Todos os nossos atendentes estão ocupados no momento. Você está na fila e será atendido em alguns minutos.',
  },
};

/**
 * A wait in the contact's language, as a number and a unit ("15 minutes", "1,5 horas"): minutes up to an hour, hours
 * beyond. Intl knows each language's plurals and decimal mark; the texts' own words frame it.
 */
export function waitWords(wait: { value: number; unit: 'minute' | 'hour' }, language: string): string {
  return new Intl.NumberFormat(language, { style: 'unit', unit: wait.unit, unitDisplay: 'long', maximumFractionDigits: 1 }).format(wait.value);
}
