import { describe, expect, it } from 'vitest';
import { addressesInConfigs, allocateAddress, parseBridgeAddress } from './network.js';

describe('lxc network', () => {
  it('reads the bridge address from ip -o output', () => {
    expect(parseBridgeAddress('5: lxcbr0    inet 10.0.3.1/24 brd 10.0.3.255 scope global lxcbr0')).toEqual({ address: '10.0.3.1', prefix: 24 });
    expect(parseBridgeAddress('')).toBeNull();
  });

  it('finds addresses in container configs', () => {
    expect(addressesInConfigs('lxc.net.0.ipv4.address = 10.0.3.10/24\n# lxc.net.0.ipv4.address = 1.2.3.4/8\nlxc.net.1.ipv4.address=10.0.3.11/24')).toEqual([
      '10.0.3.10',
      '10.0.3.11',
    ]);
  });

  it('allocates the lowest free address from .10, skipping the bridge and used ones', () => {
    const br = { address: '10.0.3.1', prefix: 24 };
    expect(allocateAddress(br, [])).toBe('10.0.3.10/24');
    expect(allocateAddress(br, ['10.0.3.10', '10.0.3.11'])).toBe('10.0.3.12/24');
    expect(allocateAddress({ address: '192.168.5.1', prefix: 30 }, [])).toBe('192.168.5.2/30');
    expect(allocateAddress({ address: '192.168.5.1', prefix: 30 }, ['192.168.5.2'])).toBeNull();
  });
});
