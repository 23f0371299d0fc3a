/**
 * The acceleration tier's one entry: backend choice and everything we put under tfjs to make it
 * fast (our SIMD kernels, replaced gradients, fused ops, heads on the host). The engine imports
 * from here only; lint rejects a deeper import.
 */
export { describeChoice, explainLoadError, probeBackends, selectBackend, AUTO_ORDER, BACKEND_PREFERENCES, type BackendChoice, type BackendPreference, type BackendProbe } from './backend';
export { vulkanEnvironment, type VulkanEnvironment, type WebGpuAdapter } from './webgpu';
export { batchNormActivation } from './fused-bn';
export { EarlyExitAdam } from './fused-adam';
export { hostSupports, runHostLayers, type HostTensor } from './host-layers';
