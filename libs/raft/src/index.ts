export * from './types';
export * from './contracts';
export * from './errors';
export { seededRandom } from './random';
export { noopLogger } from './logger';
export { MemoryStorage } from './memory-storage';
export { encodeConfChange, decodeConfChange } from './confchange-codec';
export { entrySize, describeMessage, describeEntry } from './describe';
export { makeMessage, isLocalMessage, isResponseMessage } from './message';
export { RaftNode } from './raft-node';
export {
  CAMPAIGN_TRANSFER_CONTEXT,
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_SIZE_PER_MSG,
} from './raft';
