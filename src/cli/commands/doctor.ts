import * as path from 'node:path';
import type { CliCommand } from '../registry';

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

export const doctorCommand: CliCommand = {
  name: 'doctor',
  usage: 'doctor [--json]',
  summary: 'List the engines and backends that can train here, why the others cannot, and what auto picks.',
  help: [
    'Starts the torch engine\'s Python (EARLY_EXIT_PYTHON, else python3) and reports its torch and devices;',
    'initialises every TF.js backend by name, in the order `auto` tries them, then `auto` itself. For WebGPU it',
    'prints the adapter Dawn offers (vendor, architecture, description, whether it is a software one) and',
    'on Linux the Vulkan loader and drivers found. --json prints the same as one object.',
  ].join('\n'),
  async run(args) {
    const { diagnose } = await import('../../worker/doctor');
    const d = await diagnose();
    if (args.flags.json) {
      console.log(JSON.stringify(d, null, 2));
      return 0;
    }
    const t = d.tfjs, p = d.torch;
    const out: string[] = [`early-exit doctor: Node ${d.node} on ${d.platform}-${d.arch}`, ''];
    out.push(`torch engine (training.backend "torch"; ${p.python.command}, from ${p.python.source}):`);
    if (p.error) out.push(`  no: ${p.error}`);
    else {
      out.push(`  Python ${p.pythonVersion} at ${p.executable}, torch ${p.torch}`);
      out.push(`  CUDA: ${p.cuda ? `yes (CUDA ${p.cuda.version}; ${p.cuda.names.join(', ')})` : 'no'}; Apple MPS: ${yesNo(p.mps)}; CPU: yes`);
    }
    out.push('', `TF.js engine (tfjs ${t.tfjs}), backends in the order auto tries them after torch on CUDA (runs: yes, by name only, no):`);
    const kindW = Math.max(...t.backends.map((b) => b.kind.length));
    const use = (b: (typeof t.backends)[number]) => (!b.available ? 'no' : b.auto ? 'yes' : 'by name only');
    for (const b of t.backends) out.push(`  ${b.kind.padEnd(kindW)}  ${use(b).padEnd(12)}  ${b.detail}`);
    const picked = t.backends.find((b) => b.kind === t.auto.kind);
    out.push('', p.auto ? `auto picks the torch engine on CUDA (${p.cuda!.names[0]})` : `auto picks ${t.auto.kind}${picked ? `: ${picked.detail}` : ''}${p.error || !p.cuda ? ' (the torch engine has no CUDA device here)' : ''}`);
    const gpu = t.backends.find((b) => b.adapter)?.adapter;
    if (gpu) {
      out.push('', `WebGPU adapter (Dawn over ${gpu.api}): vendor "${gpu.vendor}", architecture "${gpu.architecture}", device "${gpu.device}", description "${gpu.description}", fallback adapter: ${yesNo(gpu.isFallbackAdapter)}${gpu.software ? ` — ${gpu.software}` : ' — a hardware GPU'}`);
    }
    if (t.vulkan) {
      const v = t.vulkan;
      out.push(`Vulkan: loader libvulkan.so.1 ${yesNo(v.loader)}; drivers (ICD files): ${v.icds.length ? v.icds.map((f) => path.basename(f)).join(', ') : 'none'}; NVIDIA ICD ${yesNo(v.nvidiaIcd)}; libGLX_nvidia ${yesNo(v.libGLXNvidia)}`);
    }
    console.log(out.join('\n'));
    return 0;
  },
};
