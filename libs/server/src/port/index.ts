// The typed in-process etcd port every feature uses (see etcd-port.ts).
export * from './etcd-port';
export { createNodeEtcdPort } from './node-port';
export { LocalEtcdPort, type LocalEtcdPortOptions } from './local-etcd-port';
