/**
 * The acceleration tier's one entry: backend choice and everything we put under tfjs to make it
 * fast (our SIMD kernels, replaced gradients, fused ops, heads on the host). The engine imports
 * from here only; lint rejects a deeper import.
 */
export { describeChoice, explainLoadError, selectBackend, BACKEND_PREFERENCES, type BackendChoice, type BackendPreference } from './backend';
export { batchNormActivation } from './fused-bn';
export { EarlyExitAdam } from './fused-adam';
export { hostSupports, runHostLayers, type HostTensor } from './host-layers';
