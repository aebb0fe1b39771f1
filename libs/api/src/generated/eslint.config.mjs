// Generated code is exempt from lint: its style is proto-loader-gen-types', not ours. Regenerate, never edit.
export default [{ ignores: ['**/*'] }];
