// The version Cairn reports. `etcdVersion` is the etcd API level it speaks, reported where etcd clients expect
// an etcd version (Status, /version), so they enable the features of that level.
export const CAIRN_VERSION = '0.1.0';
export const ETCD_API_VERSION = '3.5.0';
export const ETCD_CLUSTER_VERSION = '3.5.0';
