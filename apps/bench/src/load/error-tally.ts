// Counts failed requests and keeps the first few distinct messages, so a report can say why.
const KEPT_MESSAGES = 5;

export class ErrorTally {
  count = 0;
  readonly messages = new Map<string, number>();

  add(error: Error): void {
    this.count++;
    const seen = this.messages.get(error.message);
    if (seen !== undefined) this.messages.set(error.message, seen + 1);
    else if (this.messages.size < KEPT_MESSAGES) this.messages.set(error.message, 1);
  }

  summary(): string[] {
    return [...this.messages].map(([message, times]) => `${times}× ${message}`);
  }
}
