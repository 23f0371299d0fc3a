/** The engines and backends an experiment or setting may name (no tfjs here; see accel/backend.ts and engine/torch). */

/** TF.js backends, fastest first after `auto`. */
export type TfjsBackendPreference = 'auto' | 'gpu' | 'native-cpu' | 'wasm' | 'cpu' | 'webgpu';
export const TFJS_BACKEND_PREFERENCES: readonly TfjsBackendPreference[] = ['auto', 'gpu', 'native-cpu', 'wasm', 'cpu', 'webgpu'];

/** `training.backend`: a TF.js backend, or `torch` (the PyTorch engine, a Python process). */
export type BackendPreference = TfjsBackendPreference | 'torch';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'torch', 'gpu', 'native-cpu', 'wasm', 'cpu', 'webgpu'];

/** `training.device`: where the torch engine trains (`auto`: CUDA, else Apple MPS, else the CPU). */
export type TorchDevice = 'auto' | 'cuda' | 'mps' | 'cpu';
export const TORCH_DEVICES: readonly TorchDevice[] = ['auto', 'cuda', 'mps', 'cpu'];
