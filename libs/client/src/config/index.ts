export { ConfigClient, type ConfigClientOptions } from './config-client';
export { ConfigSubscription, CONFIG_SERVICE, type ConfigSubscriptionEvents } from './subscription';
export { cacheFilePath, readCache } from './cache';
export type {
  AppliedConfig,
  ConfigChange,
  ConfigFormat,
  ConfigSubscribeOptions,
  ConfigCacheFile,
} from './types';
