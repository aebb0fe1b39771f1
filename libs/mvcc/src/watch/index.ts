export { WatchableStore, type WatchableStoreOptions, type WatchStats } from './watchable-store';
export type { WatchEvent, WatchFilters, WatchRequest, WatchResponse, WatchSink } from './types';
