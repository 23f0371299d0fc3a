/** The TF.js backend preferences an experiment or setting may name (no tfjs here; see backend.ts). */
export type BackendPreference = 'auto' | 'gpu' | 'native-cpu' | 'wasm' | 'cpu' | 'webgpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'gpu', 'native-cpu', 'wasm', 'cpu', 'webgpu'];
