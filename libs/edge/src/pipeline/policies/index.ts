export { accessLogPolicy, type AccessLogger } from './access-log';
export { deadlinePolicy } from './deadline';
export { leaderPolicy } from './leader';
export { metricsPolicy, type PipelineMetricsSink } from './metrics';
export { authenticationPolicy, tokenOf, type IdentitySource } from './authentication';
