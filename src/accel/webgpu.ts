/**
 * The WebGPU backend of the TF.js engine: `@tensorflow/tfjs-backend-webgpu` on Dawn's Node binding
 * (npm `webgpu`, which ships a prebuilt dawn.node for linux-x64/arm64, darwin and win32: nothing
 * downloaded at install). Dawn drives the GPU through Vulkan (Linux), Metal (macOS) or D3D12
 * (Windows), so any vendor's current driver will do.
 *
 * Our acceleration is not used here: tfjs's own kernels and gradients run (the replaced gradients
 * dispatch per backend, tfjs-internals.ts `useOurGradient`; our kernels are registered for wasm/cpu
 * only). The adapter is probed before tfjs sees it, so that `auto` can refuse a software adapter
 * (Mesa's llvmpipe, SwiftShader, WARP): one is used only when asked for by name, as a correctness
 * path. Why no adapter was found is explained from what the machine has (Vulkan loader, drivers).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { provideNavigatorGpu, webgpuDevice, webgpuRegistered, type GpuDeviceLike } from './tfjs-internals';

/** What we use of Dawn's GPUAdapterInfo (WebGPU's `adapter.info`). */
export interface AdapterInfoLike {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

/** What we use of a GPUAdapter. */
export interface AdapterLike {
  info: AdapterInfoLike;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
}

/** Dawn's `navigator.gpu` (GPU). */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power'; forceFallbackAdapter?: boolean }): Promise<AdapterLike | null>;
}

/** The `webgpu` package: `create(flags)` makes a GPU object; `globals` are WebGPU's classes and constants. */
export interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** The adapter the backend runs on, as the backend line and `early-exit doctor` report it. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** Why it counts as a software adapter, or null for a hardware GPU. */
  software: string | null;
  /** The native API Dawn drives on this OS. */
  api: string;
  /** Null while device errors end the process (failOnDeviceErrors), else why they are not watched. */
  watch?: string | null;
}

export const WEBGPU_PACKAGE = 'webgpu';
export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/** Dawn's backend on each OS (Dawn's Node binding picks it; its adapter info does not name it). */
export function nativeApi(platform: string = process.platform): string {
  return platform === 'darwin' ? 'Metal' : platform === 'win32' ? 'D3D12' : 'Vulkan';
}

/**
 * The minimums of WebGPU's core profile that tfjs's kernels rely on (its fused convolutions bind up
 * to six storage buffers; its matmul tiles use 256 invocations and 16 KB of workgroup memory). An
 * adapter below them is a compatibility-mode one (OpenGL ES), which tfjs cannot run on.
 */
export const REQUIRED_LIMITS: Record<string, number> = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupStorageSize: 16384,
};

/**
 * Loads Dawn's binding. The package is an ES module: Node ≥ 20.19 requires it like any other; an
 * older Node (ERR_REQUIRE_ESM) gets the binding file itself, dist/<platform>-<arch>/dawn.node,
 * which is what the package's index.js loads (it adds only a fix to GPUDevice.destroy, which tfjs
 * never calls).
 */
export function loadDawn(requireFn: NodeRequire): DawnModule {
  try {
    return requireFn(WEBGPU_PACKAGE) as DawnModule;
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code !== 'ERR_REQUIRE_ESM') throw e;
    const dir = path.dirname(requireFn.resolve(`${WEBGPU_PACKAGE}/package.json`));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return requireFn(path.join(dir, 'dist', `${process.platform}-${arch}`, 'dawn.node')) as DawnModule;
  }
}

/** Why an adapter counts as software (a CPU rasteriser behind the WebGPU API), or null. */
export function softwareAdapterReason(info: AdapterInfoLike): string | null {
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  const named = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i.exec(text);
  if (named) return `software adapter (${named[0]})`;
  if (info.isFallbackAdapter) return 'software adapter (Dawn marks it a fallback adapter)';
  if (/^(software|cpu)$/i.test(info.architecture)) return `software adapter (architecture "${info.architecture}")`;
  return null;
}

/** The limits of REQUIRED_LIMITS the adapter does not reach, as "name value < minimum". */
export function missingLimits(adapter: Pick<AdapterLike, 'limits'>): string[] {
  return Object.entries(REQUIRED_LIMITS)
    .filter(([name, min]) => typeof adapter.limits[name] === 'number' && adapter.limits[name] < min)
    .map(([name, min]) => `${name} ${adapter.limits[name]} < ${min}`);
}

export function describeAdapter(info: AdapterInfoLike, api = nativeApi()): WebGpuAdapter {
  return {
    vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '',
    isFallbackAdapter: !!info.isFallbackAdapter, software: softwareAdapterReason(info), api,
  };
}

/** "nvidia hopper, NVIDIA H200" / "mesa software, llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" */
export function adapterLabel(a: WebGpuAdapter): string {
  const who = [a.vendor, a.architecture].filter(Boolean).join(' ');
  const what = a.description || a.device;
  return [who, what].filter(Boolean).join(', ') || 'unnamed adapter';
}

/** What a Linux machine offers Vulkan: the loader, the drivers (ICD files) and NVIDIA's pieces. */
export interface VulkanEnvironment {
  /** libvulkan.so.1 (Debian: libvulkan1) is on the library path */
  loader: boolean;
  /** ICD manifest files found (full paths), including VK_ICD_FILENAMES / VK_DRIVER_FILES */
  icds: string[];
  /** NVIDIA's Vulkan ICD manifest (nvidia_icd.json) */
  nvidiaIcd: boolean;
  /** libGLX_nvidia.so.0, the library NVIDIA's ICD points at */
  libGLXNvidia: boolean;
}

export const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** The library-path entries `ldconfig -p` lists (empty when it cannot run). */
function ldconfigLibraries(): string {
  for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try { return execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }); } catch { /* next */ }
  }
  return '';
}

export function vulkanEnvironment(env: NodeJS.ProcessEnv = process.env): VulkanEnvironment {
  const icds: string[] = [];
  for (const dir of ICD_DIRS) {
    try { for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) icds.push(path.join(dir, f)); } catch { /* no such folder */ }
  }
  for (const v of [env.VK_ICD_FILENAMES, env.VK_DRIVER_FILES]) for (const f of (v ?? '').split(path.delimiter).filter(Boolean)) if (!icds.includes(f)) icds.push(f);
  const libs = ldconfigLibraries();
  return {
    loader: /libvulkan\.so\.1\b/.test(libs),
    icds,
    nvidiaIcd: icds.some((f) => /nvidia/i.test(path.basename(f))),
    libGLXNvidia: /libGLX_nvidia\.so/.test(libs),
  };
}

/** Why Dawn returned no adapter, from what the machine has. */
export function explainNoAdapter(platform: string = process.platform, vk: () => VulkanEnvironment = vulkanEnvironment): string {
  if (platform === 'darwin') return 'no WebGPU adapter: Dawn found no Metal device';
  if (platform === 'win32') return 'no WebGPU adapter: Dawn found no D3D12 adapter (update the GPU driver)';
  const v = vk();
  const drivers = 'install the GPU driver with its Vulkan part (NVIDIA: the proprietary driver, whose nvidia_icd.json points at libGLX_nvidia.so.0 — in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics; AMD/Intel: Mesa\'s mesa-vulkan-drivers)';
  if (!v.loader) return `no WebGPU adapter: the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: libvulkan1); then ${drivers}`;
  if (!v.icds.length) return `no WebGPU adapter: no Vulkan driver is installed (no ICD file in ${ICD_DIRS.join(', ')}); ${drivers}`;
  return `no WebGPU adapter: Dawn accepted none of the Vulkan drivers installed (${v.icds.map((f) => path.basename(f)).join(', ')}); `
    + 'a driver that lacks a Vulkan feature Dawn requires is skipped, and Dawn names the feature in a warning on stderr '
    + '(Mesa\'s lavapipe before 23, e.g. Debian bookworm\'s 22.3, lacks shaderUniform*ArrayDynamicIndexing: install mesa-vulkan-drivers from bookworm-backports)';
}

/** The adapter Dawn offers for compute (what tfjs-backend-webgpu will ask for), or why there is none. */
export async function probeAdapter(gpu: GpuLike): Promise<{ adapter: AdapterLike; info: WebGpuAdapter } | { reason: string }> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { reason: explainNoAdapter() };
  return { adapter, info: describeAdapter(adapter.info) };
}

/** Shortens a load error of the WebGPU packages to its cause. */
export function explainWebgpuLoadError(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException & { message?: string };
  const msg = String(e?.message ?? err).split('\n')[0];
  if (e?.code === 'MODULE_NOT_FOUND' && msg.includes(`'${WEBGPU_PACKAGE}`)) {
    return `${WEBGPU_PACKAGE} (Dawn's Node binding) is not installed: it is an optional dependency (about 130 MB of prebuilt dawn.node files); install it with npm install ${WEBGPU_PACKAGE}@0.6.2`;
  }
  if (e?.code === 'MODULE_NOT_FOUND' && msg.includes(TFJS_WEBGPU_PACKAGE)) return `${TFJS_WEBGPU_PACKAGE} is not installed (npm ci installs it)`;
  if (e?.code === 'ERR_DLOPEN_FAILED') return `Dawn's binding (dawn.node) failed to load: ${msg}`;
  return null;
}

/**
 * A WebGPU device reports a rejected kernel (a validation error, out of memory) as an event and
 * carries on: the kernel's output is then zeros and everything computed from it is wrong, silently.
 * The first such error, or the loss of the device (a driver reset), ends the process with the
 * device's message: a run fails loudly (its finished epochs and checkpoint are kept) instead of
 * training on garbage. Null, or why errors cannot be watched.
 */
export function failOnDeviceErrors(device: GpuDeviceLike | null): string | null {
  if (!device) return "device errors are not watched (tfjs's webgpu backend has no device field)";
  let failed = false;
  const fail = (what: string) => {
    if (failed) return;
    failed = true;
    process.nextTick(() => { throw new Error(`webgpu: ${what}; results after it would be wrong, so this process stops`); });
  };
  device.addEventListener('uncapturederror', (e) => fail(`the device rejected a kernel: ${String(e?.error?.message ?? e).split('\n')[0]}`));
  device.lost?.then((info) => { if (info?.reason !== 'destroyed') fail(`the device was lost: ${info?.message || info?.reason || 'no reason given'}`); }, () => undefined);
  return null;
}

/** Dawn's GPU object behind tfjs's webgpu backend once it has been taken (one per process, see initWebgpu). */
let taken: { gpu: GpuLike; info: WebGpuAdapter } | null = null;

function refuseSoftware(info: WebGpuAdapter, softwareOk: boolean): void {
  if (info.software && !softwareOk) {
    throw new Error(`${info.software}: ${adapterLabel(info)} — auto never picks one (it is a CPU rasteriser, far slower than wasm); ask for training.backend "webgpu" to use it anyway`);
  }
}

/**
 * Makes tfjs's webgpu backend the active one, on the adapter Dawn offers. `softwareOk`: take a
 * software adapter (only when the backend was asked for by name). Throws with the reason when the
 * backend cannot be used; the process is then left as it was (no navigator.gpu, tfjs untouched).
 * Once taken, the same GPU object and tfjs backend serve every later selection in the process:
 * a device lives only as long as the GPU object it came from is referenced, so it is never replaced.
 */
export async function initWebgpu(requireFn: NodeRequire, softwareOk: boolean): Promise<WebGpuAdapter> {
  if (taken && tf.findBackendFactory('webgpu')) {
    refuseSoftware(taken.info, softwareOk);
    if (!(await tf.setBackend('webgpu'))) throw new Error(`the webgpu backend did not initialise on ${adapterLabel(taken.info)}`);
    return taken.info;
  }
  const dawn = loadDawn(requireFn);
  if (typeof dawn?.create !== 'function') throw new Error(`${WEBGPU_PACKAGE} loaded but has no create(): not Dawn's Node binding`);
  const gpu = dawn.create([]);
  const probe = await probeAdapter(gpu);
  if ('reason' in probe) throw new Error(probe.reason);
  const { adapter, info } = probe;
  refuseSoftware(info, softwareOk);
  const short = missingLimits(adapter);
  if (short.length) throw new Error(`missing feature: ${adapterLabel(info)} is below WebGPU's core limits (${short.join(', ')}; a compatibility-mode adapter), which tfjs's kernels need`);
  const restore = provideNavigatorGpu(gpu, dawn.globals ?? {});
  try {
    requireFn(TFJS_WEBGPU_PACKAGE);
    const why = webgpuRegistered();
    if (why) throw new Error(why);
    if (!(await tf.setBackend('webgpu'))) throw new Error(`the webgpu backend did not initialise on ${adapterLabel(info)} (tfjs printed why above)`);
    await tf.ready();
    // large enough to run on the device (tfjs hands small inputs to its CPU kernels)
    const product = tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])));
    const probeValue = (await product.data())[0]; // a synchronous read needs OffscreenCanvas, which Node lacks
    product.dispose();
    if (probeValue !== 64) throw new Error(`the webgpu backend computed a wrong result on ${adapterLabel(info)}`);
    info.watch = failOnDeviceErrors(webgpuDevice(tf.backend()));
  } catch (e) {
    if (tf.engine().backendName === 'webgpu') await tf.setBackend('cpu');
    restore();
    throw e;
  }
  taken = { gpu, info };
  return info;
}
