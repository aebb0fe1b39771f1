// Helpers shared by the cross-process suites (compat, crash, cluster, chaos).
export { allocatePort, allocatePorts } from './ports';
export { ManagedProcess, spawnManaged, liveProcesses, terminateAll, type ExitStatus } from './processes';
export { makeTempDir, removeTempDirs } from './temp-dirs';
export {
  currentTarget,
  targetOf,
  assertTargetInstalled,
  repoRoot,
  ETCDCTL_BINARY,
  type Target,
  type TargetKind,
} from './target';
export {
  Member,
  MemberStartError,
  planCluster,
  planJoiningMember,
  launchMember,
  waitReady,
  isHealthy,
  startCluster,
  startMember,
  stopMember,
  killMember,
  restartMember,
  type ClientTls,
  type ClusterOptions,
  type PlanOptions,
  type RestartOptions,
} from './members';
export {
  etcdctl,
  etcdctlAt,
  spawnEtcdctl,
  describeResult,
  type EtcdctlResult,
  type EtcdctlOptions,
} from './etcdctl';
export { parseExactJson, at, str, b64, fromB64, type ExactJson } from './exact-json';
export { waitFor, sleep } from './wait';
export { cleanupAll } from './cleanup';
export { seededRandom, seedFromEnv } from './random';
export {
  createCertAuthority,
  issueServerCert,
  issueClientCert,
  revokeCerts,
  readPem,
  certificateCn,
  createJwtKeyPair,
  type JwtKeyPair,
  type CertAuthority,
  type CertAuthorityOptions,
  type IssuedCert,
  type IssueOptions,
  type KeyType,
} from './certs';
export { GatewayStream, gatewayPost, type GatewayAnswer } from './gateway';
export { releaseTarget } from './releases';
export { buildGo, BUILD_GO_SCRIPT } from './go';
