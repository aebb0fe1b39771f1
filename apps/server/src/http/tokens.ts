// Dependency-injection tokens of the HTTP side.
export const CAIRN_NODE = Symbol('CAIRN_NODE');
export const ETCD_APIS = Symbol('ETCD_APIS');
/** The gateway's Watch: a WatchSource (the member's EtcdPort and its response header). */
export const WATCH_SOURCE = Symbol('WATCH_SOURCE');
/** --max-request-bytes. */
export const MAX_REQUEST_BYTES = Symbol('MAX_REQUEST_BYTES');
export const WATCH_PROGRESS_INTERVAL_MS = Symbol('WATCH_PROGRESS_INTERVAL_MS');
export const METRICS = Symbol('METRICS');
/** () => string[]: the member's insecure exposure, reported by /health (member-auth.ts). */
export const SECURITY_WARNINGS = Symbol('SECURITY_WARNINGS');
