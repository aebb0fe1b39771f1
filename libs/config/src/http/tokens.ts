export const CONFIG_CENTER = Symbol('CONFIG_CENTER');
