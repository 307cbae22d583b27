import type plugin from './src/code/eslint.ts';
declare const rampart: typeof plugin;
export const rules: typeof plugin.rules;
export const configs: typeof plugin.configs;
export const meta: typeof plugin.meta;
export default rampart;
