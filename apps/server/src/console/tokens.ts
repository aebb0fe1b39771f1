// Dependency-injection tokens of the console module.
export const CONSOLE_NODE = Symbol('CONSOLE_NODE');
export const CONSOLE_APIS = Symbol('CONSOLE_APIS');
export const CONSOLE_OPTIONS = Symbol('CONSOLE_OPTIONS');
