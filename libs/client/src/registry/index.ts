export { RegistryClient, type RegistryClientOptions } from './registry-client';
export { Registration, type RegisterOptions } from './registration';
export { RegistrySession, type SessionOptions } from './session';
export {
  ServiceSubscription,
  type SubscribeOptions,
  type InstanceChange,
  type ServiceView,
} from './subscription';
export * from './types';
