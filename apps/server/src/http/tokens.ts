// Dependency-injection tokens of the HTTP side.
export const CAIRN_NODE = Symbol('CAIRN_NODE');
export const ETCD_APIS = Symbol('ETCD_APIS');
export const METRICS = Symbol('METRICS');
