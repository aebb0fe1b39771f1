// The subscribers connected to this member: opening a subscription (SSE, gRPC stream, SDK) with its
// listener record, long-polls, and ending them all on shutdown. One subscriber's view: subscription.ts.
import type { CallContext } from '@cairn/server';
import { AppFeeds } from './app-feed';
import { checkName } from './checks';
import { ConfigError } from './errors';
import { isValidSubscriberId } from './keys';
import type { ListenerTracking } from './listener-tracking';
import type { ConfigStore } from './store';
import { ConfigSubscription, type SubscribeParams } from './subscription';
import type { ConfigWatchEvent } from './types';

export interface SubscriptionHandle {
  close(): void;
  lastRevision(): number;
}

export class Subscribers {
  private readonly open = new Set<ConfigSubscription>();
  private closed = false;
  /** One watch per app with subscribers on this member, shared by them. */
  readonly feeds: AppFeeds;

  constructor(
    private readonly store: ConfigStore,
    private readonly listeners: ListenerTracking,
  ) {
    this.feeds = new AppFeeds(store);
  }

  /**
   * Stream an app's config as it applies to `params.labels`: a snapshot (or, when resuming from a revision
   * MVCC still has, only what changed since), then a change event per revision that changes it.
   */
  async subscribe(
    ctx: CallContext,
    params: SubscribeParams & { host?: string; trackListener?: boolean },
    send: (event: ConfigWatchEvent) => void,
    onEnd: (err?: Error) => void = () => undefined,
  ): Promise<SubscriptionHandle> {
    if (this.closed) throw new ConfigError('unavailable', 'the config center is shutting down');
    checkName('namespace', params.namespace);
    checkName('app', params.app);
    if (params.subscriberId && !isValidSubscriberId(params.subscriberId)) {
      throw new ConfigError('bad-request', `invalid subscriber ID "${params.subscriberId}"`);
    }
    const sub = new ConfigSubscription(this.store, this.feeds, ctx, params, send, (err) => {
      finish();
      onEnd(err);
    });
    this.open.add(sub);
    const closeStream =
      params.trackListener && params.subscriberId
        ? this.listeners.openStream(params.namespace, params.app, params.subscriberId)
        : undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.open.delete(sub);
      sub.close();
      closeStream?.();
    };
    try {
      await sub.start();
    } catch (err) {
      finish();
      throw err;
    }
    return { close: finish, lastRevision: () => sub.lastRevision };
  }

  /** Long-poll: events after `revision` (a snapshot when 0), waiting up to `timeoutMs` for the first. */
  async poll(
    ctx: CallContext,
    params: SubscribeParams,
    timeoutMs: number,
  ): Promise<{ revision: number; events: ConfigWatchEvent[] }> {
    const events: ConfigWatchEvent[] = [];
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const handle = await this.subscribe(
      ctx,
      { ...params, trackListener: false },
      (event) => {
        if (event.kind === 'resumed') return;
        events.push(event);
        // Let the rest of this revision batch arrive before answering.
        setImmediate(wake);
      },
      () => wake(),
    );
    const timer = setTimeout(wake, Math.max(0, timeoutMs));
    try {
      await woken;
    } finally {
      clearTimeout(timer);
      handle.close();
    }
    const last = events.length > 0 ? events[events.length - 1].revision : 0;
    return { revision: Math.max(last, handle.lastRevision(), params.revision ?? 0), events };
  }

  /** Ends every subscription (their listener records go with the member lease's revoke). */
  close(): void {
    this.closed = true;
    for (const sub of [...this.open]) sub.close();
    this.open.clear();
    this.feeds.close();
  }
}
