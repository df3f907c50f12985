package fetch

import (
	"fmt"
	"net/netip"
	"syscall"
)

// blockedPrefixes are ranges never dialled, beyond what netip classifies
// (loopback, private, link-local, multicast, unspecified): shared address
// space, reserved, documentation and benchmarking ranges, IPv6 transition
// prefixes that can embed an internal IPv4 address, and cloud metadata
// endpoints that sit outside those ranges.
var blockedPrefixes = func() []netip.Prefix {
	var prefixes []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",         // "this network"
		"100.64.0.0/10",     // CGNAT shared address space (holds Alibaba Cloud metadata 100.100.100.200)
		"192.0.0.0/24",      // IETF protocol assignments (holds Oracle Cloud metadata 192.0.0.192)
		"192.0.2.0/24",      // documentation
		"198.18.0.0/15",     // benchmarking
		"198.51.100.0/24",   // documentation
		"203.0.113.0/24",    // documentation
		"240.0.0.0/4",       // reserved, and the broadcast address
		"168.63.129.16/32",  // Azure wire server / metadata
		"64:ff9b::/96",      // NAT64, can embed any IPv4 address
		"64:ff9b:1::/48",    // local-use NAT64
		"100::/64",          // discard-only
		"2001::/32",         // Teredo
		"2001:db8::/32",     // documentation
		"2002::/16",         // 6to4, can embed any IPv4 address
		"fec0::/10",         // deprecated site-local
		"fd00:ec2::254/128", // AWS metadata over IPv6 (also ULA)
	} {
		prefixes = append(prefixes, netip.MustParsePrefix(s))
	}
	return prefixes
}()

// isBlockedAddr reports whether addr must not be dialled.
func isBlockedAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() ||
		addr.IsMulticast() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// checkDial is the dialer's Control function: it runs after DNS resolution
// with the exact address about to be connected to, for every connection
// including redirects.
func (f *Fetcher) checkDial(network, address string, _ syscall.RawConn) error {
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, ErrBlockedAddress)
	}
	addrPort = netip.AddrPortFrom(addrPort.Addr().Unmap(), addrPort.Port())
	for _, allowed := range f.cfg.AllowAddrs {
		if allowed == addrPort {
			return nil
		}
	}
	if isBlockedAddr(addrPort.Addr()) {
		return fmt.Errorf("dial %s %s: %w", network, address, ErrBlockedAddress)
	}
	return nil
}
