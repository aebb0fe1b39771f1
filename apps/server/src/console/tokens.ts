// Dependency-injection tokens of the console module.
/** The member's EtcdPort: every read, write and watch of the console. */
export const CONSOLE_PORT = Symbol('CONSOLE_PORT');
/** ConsoleMemberInfo (cluster-overview.ts): the cluster page, the request size limit, whether auth is on. */
export const CONSOLE_MEMBER = Symbol('CONSOLE_MEMBER');
export const CONSOLE_OPTIONS = Symbol('CONSOLE_OPTIONS');
