/**
 * What the flow says to a contact (and notes for agents), per language. Placeholders: {{firstName}},
 * {{lastName}}, {{email}} (the thank-you), {{invalidReplies}} (the escalation note), {{opensAt}} (out of hours),
 * {{agent}} and {{within}} (the first-response note).
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
}

export const MESSAGE_KEYS = ['question', 'invalid', 'success', 'escalationNote', 'escalationNoReply', 'escalationQueueTimeout', 'outOfHours', 'firstResponseMissed'] as const;

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
  },
};
