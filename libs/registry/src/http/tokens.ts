export const REGISTRY = Symbol('cairn.registry');
