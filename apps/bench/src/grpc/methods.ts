// Full gRPC method paths of the etcd v3 RPCs the benchmark calls.
export const Methods = {
  put: '/etcdserverpb.KV/Put',
  range: '/etcdserverpb.KV/Range',
  leaseGrant: '/etcdserverpb.Lease/LeaseGrant',
  leaseRevoke: '/etcdserverpb.Lease/LeaseRevoke',
  leaseKeepAlive: '/etcdserverpb.Lease/LeaseKeepAlive',
  watch: '/etcdserverpb.Watch/Watch',
  status: '/etcdserverpb.Maintenance/Status',
  authenticate: '/etcdserverpb.Auth/Authenticate',
  authEnable: '/etcdserverpb.Auth/AuthEnable',
  userAdd: '/etcdserverpb.Auth/UserAdd',
  userGrantRole: '/etcdserverpb.Auth/UserGrantRole',
  roleAdd: '/etcdserverpb.Auth/RoleAdd',
  roleGrantPermission: '/etcdserverpb.Auth/RoleGrantPermission',
} as const;
