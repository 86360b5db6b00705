import { cpuModelFrom, machineInfo } from './machine';

describe('machine', () => {
  it('reads the CPU model from /proc/cpuinfo text', () => {
    const cpuinfo =
      'processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n';
    expect(cpuModelFrom(cpuinfo)).toBe('AMD EPYC 7B13');
    expect(cpuModelFrom('processor\t: 0\n')).toBeUndefined();
  });

  it('describes this machine', () => {
    const info = machineInfo();
    expect(info.nproc).toBeGreaterThan(0);
    expect(info.memoryTotalGiB).toBeGreaterThan(0);
    expect(info.node).toBe(process.version);
    expect(info.loadAverage).toHaveLength(3);
    expect(info.cpuModel).not.toBe('');
  });
});
