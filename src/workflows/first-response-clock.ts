/**
 * The first-response timer of one conversation: armed for an assignee, stopped by their first message to the contact.
 * Once a person has answered the contact, no timer runs again in the conversation: the first response was given.
 */
export class FirstResponseClock {
  private timer?: { agentId: string; since: number; due: number; answeredAt?: number };
  private given = false;
  /** What the run's memo last said: whether agents' messages are awaited. */
  private announced = false;

  /** Starts the timer for `agentId`, unless it already runs for them or the contact was answered already. */
  arm(agentId: string, within: number): boolean {
    if (this.given || this.timer?.agentId === agentId) return false;
    this.timer = { agentId, since: Date.now(), due: Date.now() + within };
    return true;
  }

  /** A person's message to the contact: it counts when it is the assignee's, while their timer runs. */
  heard(agentId: string): void {
    if (this.timer && this.timer.answeredAt === undefined && this.timer.agentId === agentId) this.timer.answeredAt = Date.now();
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** When the timer fires; undefined when none runs or the assignee has answered. */
  get due(): number | undefined {
    return this.timer?.answeredAt === undefined ? this.timer?.due : undefined;
  }

  get answered(): boolean {
    return this.timer?.answeredAt !== undefined;
  }

  overdue(now: number): boolean {
    return this.due !== undefined && now >= this.due;
  }

  /** The answer, once: who and after how long (ms); the timer stops for good. */
  takeAnswer(): { agentId: string; ms: number } {
    const { agentId, since, answeredAt } = this.timer!;
    this.timer = undefined;
    this.given = true;
    return { agentId, ms: answeredAt! - since };
  }

  /** The assignee let the time pass: who, and how long they had (ms). */
  takeMiss(): { agentId: string; ms: number } {
    const { agentId, since, due } = this.timer!;
    this.timer = undefined;
    return { agentId, ms: due - since };
  }

  /** The memo's new value when it should change (a timer started or ended), else undefined. */
  memoChange(): boolean | undefined {
    const awaiting = this.due !== undefined;
    if (awaiting === this.announced) return undefined;
    this.announced = awaiting;
    return awaiting;
  }

  /** Nobody's first response is awaited any more (the assignee left, or a person chose them by hand). */
  stop(): void {
    this.timer = undefined;
  }
}
